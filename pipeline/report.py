"""The privacy report: counts only, as JSON for machines and one self-contained HTML page for reviewers.
The one exception is a small sample of published rows (already scrubbed and past every gate), there so the
reviewer reads what readers will read."""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.contracts import PIPELINE_VERSION
from pipeline.files import read_json, write_json, write_text_file


def build_report(
    ds: str,
    per_source: dict[str, dict[str, Any]],
    manifests: dict[str, dict[str, Any]],
    gates: dict[str, Any],
    reconciliation: dict[str, Any],
    history: list[dict[str, Any]] | None = None,
    trend_factor: float = 2.0,
    unknown_folders: dict[str, int] | None = None,
    key: dict[str, Any] | None = None,
    signoff: dict[str, Any] | None = None,
    data_docs: list[str] | None = None,
    sample: list[dict[str, str]] | None = None,
    held: bool = False,
) -> dict[str, Any]:
    """The night in counts: per source, per entity type, per dataset; never a value. `key` holds this run's
    key id and the one of the version it replaces; a change (also against the last earlier night) is flagged,
    as is a policy hash other than the last earlier night's. `signoff` is the night's latest reviewer decision
    (pipeline.signoff.status), or None; `data_docs` the names of the Data Docs pages beside the report;
    `sample` published rows from `sample_rows`, or None when there is none to show (a night that failed);
    `held`: the night passed its gates but is held out of readers' view until a reviewer approves it
    (`output.publish: on_signoff`)."""
    sources = {}
    for name, c in per_source.items():
        primary = c["published"].get(c["primary"], 0) if c["primary"] else 0
        text_rows = c["published"].get("text", 0)
        sources[name] = {
            "input_rows": c["input_rows"],
            "published": primary,
            "published_by_dataset": c["published"],
            "quarantined": c["quarantined"],
            "dropped": c["dropped"],
            "entities": c["entities"],
            "rows_touched": c["rows_touched"],
            "share_touched": round(c["rows_touched"] / text_rows, 4) if text_rows else 0.0,
            "files": c.get("files", 0),
            "empty_files": c.get("empty_files", 0),
            "skipped_files": c.get("skipped_files", {}),
            "unknown_values": c.get("unknown_values", {}),
        }
    entity_totals: dict[str, int] = {}
    for c in per_source.values():
        for entity, n in c["entities"].items():
            entity_totals[entity] = entity_totals.get(entity, 0) + n
    any_manifest = next(iter(manifests.values()), None)
    report = {
        "ds": ds,
        "pipeline_version": PIPELINE_VERSION,
        "published": bool(gates.get("success")) and bool(manifests) and not held,
        "held": held,
        "sources": sources,
        "entities": dict(sorted(entity_totals.items(), key=lambda kv: -kv[1])),
        "performance": per_source.get("performance", {}).get("aggregates") or None,
        "keystrokes": per_source.get("keystrokes", {}).get("segments"),
        "reconciliation": reconciliation,
        "datasets": {
            d: {
                "rows": m["rows"], "splits": m["splits"], "split_users": m.get("split_users", {}),
                "files": [{"path": f["path"], "rows": f["rows"]} for f in m["files"]],
            }
            for d, m in manifests.items()
        },
        "validation": gates.get("datasets", {}),
        "canaries": gates.get("canaries"),
        "residual": gates.get("residual"),
        "reid": gates.get("reid"),
        "policy_sha256": any_manifest["policy_sha256"] if any_manifest else None,
        "key_id": any_manifest["key_id"] if any_manifest else None,
        "inputs": {
            "unknown_source_folders": unknown_folders or {},
            "skipped_files": sum(sum(s["skipped_files"].values()) for s in sources.values()),
            "empty_files": sum(s["empty_files"] for s in sources.values()),
            "unknown_values": sum(sum(s["unknown_values"].values()) for s in sources.values()),
        },
        "key": key_change(key, history or []),
        "policy_change": policy_change(any_manifest["policy_sha256"] if any_manifest else None, history or []),
        "data_docs": sorted(data_docs or []),
        "sample": sample,
        "split_notes": split_notes(manifests),
        "signoff": signoff,
    }
    report["metrics"] = night_metrics(report)
    report["trends"] = trends(report["metrics"], [h["metrics"] for h in history or [] if "metrics" in h], trend_factor)
    report["series"] = trend_series(report, history or [])
    return report


def split_notes(manifests: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Splits the policy asks for that tonight's users cannot fill: a split drawn from fewer distinct users
    than `output.min_split_users` is too small to measure on (or empty), so the reviewer and the ML team see it."""
    notes = []
    for dataset, m in manifests.items():
        policy = m.get("split_policy")
        if not policy or not m["rows"]:
            continue
        users = m.get("split_users", {})
        for split in ("validation", "test"):
            if policy[split] > 0 and users.get(split, 0) < policy["min_users"]:
                notes.append({
                    "dataset": dataset, "split": split, "users": users.get(split, 0), "rows": m["splits"].get(split, 0),
                    "fraction": policy[split], "min_users": policy["min_users"], "night_users": sum(users.values()),
                })
    return notes


def key_change(key: dict[str, Any] | None, history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """This run's key id against the night's previous version and the last earlier night: a change unlinks
    pseudonyms across nights, so the reviewer sees it (expected after `scrubline rekey`, alarming otherwise)."""
    if not key:
        return None
    last = next((h.get("key_id") for h in reversed(history) if h.get("key_id")), None)
    replaced = key.get("replaces_key_id")
    return {
        "key_id": key["key_id"],
        "replaces_key_id": replaced,
        "last_night_key_id": last,
        "changed": (replaced is not None and replaced != key["key_id"]) or (last is not None and last != key["key_id"]),
    }


def policy_change(policy_sha256: str | None, history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """This night's policy hash against the last earlier night's: another policy means other rules redacted
    tonight's rows (expected after a reviewed change, alarming otherwise), so the reviewer sees it."""
    last = next((h.get("policy_sha256") for h in reversed(history) if h.get("policy_sha256")), None)
    if policy_sha256 is None or last is None:
        return None
    return {"policy_sha256": policy_sha256, "last_night_policy_sha256": last, "changed": last != policy_sha256}


def night_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The figures a reviewer compares night to night: volumes, quarantine share, entity rates."""
    sources = report["sources"]
    rows_in = sum(s["input_rows"] for s in sources.values())
    quarantined = sum(sum(s["quarantined"].values()) for s in sources.values())
    text_rows = sum(s["published_by_dataset"].get("text", 0) for s in sources.values())
    metrics: dict[str, float] = {
        "rows_in": rows_in,
        "text_rows": text_rows,
        "quarantine_share": round(quarantined / rows_in, 4) if rows_in else 0.0,
    }
    for entity, n in report["entities"].items():
        metrics[f"{entity}_per_1k_text_rows"] = round(1000 * n / text_rows, 2) if text_rows else 0.0
    return metrics


def trends(current: dict[str, float], previous: list[dict[str, float]], factor: float) -> list[dict[str, Any]]:
    """Each metric against the median of earlier nights; flagged when it moved by `factor` or more."""
    rows = []
    for name, value in current.items():
        past = sorted(p[name] for p in previous if name in p)
        if not past:
            rows.append({"metric": name, "value": value, "baseline": None, "flag": None})
            continue
        baseline = past[len(past) // 2]
        flag = None
        if baseline > 0 and value <= baseline / factor:
            flag = "dropped"
        elif value >= baseline * factor and value - baseline > (0.01 if name == "quarantine_share" else 0):
            flag = "jumped"
        rows.append({"metric": name, "value": value, "baseline": baseline, "flag": flag})
    return rows


def trend_series(report: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each of tonight's trend figures over the earlier nights and tonight, oldest first, with the flag each
    night's own report raised on it: what the report's charts draw."""
    nights = [*(h for h in history if "metrics" in h), report]
    series: dict[str, list[dict[str, Any]]] = {}
    for name in report["metrics"]:
        points = []
        for night in nights:
            if name in night["metrics"]:
                flag = next((t["flag"] for t in night.get("trends", []) if t["metric"] == name), None)
                points.append({"ds": night["ds"], "value": night["metrics"][name], "flag": flag})
        series[name] = points
    return series


SAMPLE_CHARS = 240  # a sampled text is cut near here: enough to read a sentence or two in context


def sample_order(ds: str, record_pid: str) -> bytes:
    """Where a published row falls in the night's sample order: a hash of the night and the row's keyed id, so
    each night shows other rows, from every source and split rather than the first of the sort, and a re-run
    of the night shows the same ones."""
    return hashlib.sha256(f"{ds}/{record_pid}".encode()).digest()


def sample_rows(ds: str, rows: Iterable[dict[str, str]], count: int, max_chars: int = SAMPLE_CHARS) -> list[dict[str, str]]:
    """The `count` rows (record_pid, source, split, text, from the published text dataset) first in
    `sample_order`, their text cut at a word near `max_chars`; `rows` is streamed, only `count` are held."""
    chosen = heapq.nsmallest(count, rows, key=lambda r: sample_order(ds, r["record_pid"]))
    return [{"source": r["source"], "split": r["split"], "text": _shortened(r["text"], max_chars)} for r in chosen]


def _shortened(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars - 2]  # room for " …"
    space = cut.rfind(" ")
    return (cut[:space] if space > max_chars * 3 // 4 else cut).rstrip() + " …"


def load_history(reports_root: Path, ds: str, last: int = 7) -> list[dict[str, Any]]:
    """The reports of up to `last` nights before `ds`, oldest first."""
    earlier = sorted(p for p in reports_root.glob("ds=*/report.json") if p.parent.name < f"ds={ds}")
    return [read_json(p) for p in earlier[-last:]]


CHART = {"width": 300, "height": 96, "left": 52, "right": 10, "top": 10, "bottom": 24}


def chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Where a trend's nights fall in its small line chart (the template draws it as inline SVG): x by night,
    oldest left, y from the lowest to the highest value; flagged nights are marked."""
    c = CHART
    values = [p["value"] for p in points]
    low, high = min(values), max(values)
    if low == high:  # a flat line: drawn against zero
        low, high = min(low, 0), max(high, 0) or 1
    plot_w, plot_h = c["width"] - c["left"] - c["right"], c["height"] - c["top"] - c["bottom"]
    step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0
    marks = [
        {**p, "x": round(c["left"] + (i * step if len(points) > 1 else plot_w / 2), 1),
         "y": round(c["top"] + plot_h * (high - p["value"]) / (high - low), 1)}
        for i, p in enumerate(points)
    ]
    return {
        **c, "marks": marks, "low": _label(low), "high": _label(high), "bottom_y": c["top"] + plot_h,
        "line": " ".join(f"{m['x']},{m['y']}" for m in marks),
    }


def _label(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def render_html(report: dict[str, Any], docs_links: bool = True) -> str:
    """The report page; `docs_links` links GE's pages in `data_docs/` (only the report folder has them beside it)."""
    env = Environment(loader=PackageLoader("pipeline", "templates"), autoescape=select_autoescape(["html"]))
    top = max(report["entities"].values(), default=0)
    charts = {name: chart(points) for name, points in report["series"].items() if points}
    return env.get_template("report.html").render(report=report, entity_max=top, docs_links=docs_links, charts=charts,
                                                  sample_chars=SAMPLE_CHARS)


def format_trend_table(reports: list[dict[str, Any]], signoffs: dict[str, str] | None = None) -> str:
    """A terminal table of the last nights' key figures, whether each is published (or held for sign-off), the
    latest sign-off per night (`signoffs`, by ds, from pipeline.signoff.summary) and the flags its report raised."""
    names = ["rows_in", "text_rows", "quarantine_share", "PERSON_per_1k_text_rows", "CREDENTIAL_per_1k_text_rows"]
    lines = [f"{'ds':<12}{'published':>10}" + "".join(f"{n[:22]:>24}" for n in names) + f"  {'sign-off':<28}  flags"]
    for r in reports:
        m = r.get("metrics", {})
        flags = ", ".join(f"{t['metric']} {t['flag']}" for t in r.get("trends", []) if t["flag"])
        cells = "".join(f"{m.get(n, 0):>24}" for n in names)
        signed = (signoffs or {}).get(r["ds"], "unsigned")
        published = "held" if r.get("held") else "yes" if r["published"] else "NO"
        lines.append(f"{r['ds']:<12}{published:>10}{cells}  {signed:<28}  {flags}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], folder: Path, prefix: str = "report") -> dict[str, Path]:
    return {
        "json": write_json(folder / f"{prefix}.json", report),
        "html": write_text_file(folder / f"{prefix}.html", render_html(report, docs_links=prefix == "report")),
    }
