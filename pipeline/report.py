"""The privacy report: counts only, as JSON for machines and one self-contained HTML page for reviewers."""

from __future__ import annotations

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
    held: bool = False,
) -> dict[str, Any]:
    """The night in counts: per source, per entity type, per dataset; never a value. `key` holds this run's
    key id and the one of the version it replaces; a change (also against the last earlier night) is flagged.
    `signoff` is the night's latest reviewer decision (pipeline.signoff.status), or None; `held`: the night
    passed its gates but is held out of readers' view until a reviewer approves it (`output.publish: on_signoff`)."""
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
        "split_notes": split_notes(manifests),
        "signoff": signoff,
    }
    report["metrics"] = night_metrics(report)
    report["trends"] = trends(report["metrics"], [h["metrics"] for h in history or [] if "metrics" in h], trend_factor)
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


def load_history(reports_root: Path, ds: str, last: int = 7) -> list[dict[str, Any]]:
    """The reports of up to `last` nights before `ds`, oldest first."""
    earlier = sorted(p for p in reports_root.glob("ds=*/report.json") if p.parent.name < f"ds={ds}")
    return [read_json(p) for p in earlier[-last:]]


def render_html(report: dict[str, Any], docs_links: bool = True) -> str:
    """The report page; `docs_links` links GE's pages in `data_docs/` (only the report folder has them beside it)."""
    env = Environment(loader=PackageLoader("pipeline", "templates"), autoescape=select_autoescape(["html"]))
    top = max(report["entities"].values(), default=0)
    return env.get_template("report.html").render(report=report, entity_max=top, docs_links=docs_links)


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
