"""The privacy report: counts only, as JSON for machines and one self-contained HTML page for reviewers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.contracts import PIPELINE_VERSION
from pipeline.publish import write_json, write_text_file


def build_report(
    ds: str,
    per_source: dict[str, dict[str, Any]],
    manifests: dict[str, dict[str, Any]],
    validation: dict[str, dict[str, Any]],
    reconciliation: dict[str, Any],
) -> dict[str, Any]:
    """The night in counts: per source, per entity type, per dataset; never a value."""
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
        }
    entity_totals: dict[str, int] = {}
    for c in per_source.values():
        for entity, n in c["entities"].items():
            entity_totals[entity] = entity_totals.get(entity, 0) + n
    any_manifest = next(iter(manifests.values()), None)
    return {
        "ds": ds,
        "pipeline_version": PIPELINE_VERSION,
        "published": bool(validation) and all(v["success"] for v in validation.values()) and bool(manifests),
        "sources": sources,
        "entities": dict(sorted(entity_totals.items(), key=lambda kv: -kv[1])),
        "performance": per_source.get("performance", {}).get("aggregates") or None,
        "keystrokes": per_source.get("keystrokes", {}).get("segments"),
        "reconciliation": reconciliation,
        "datasets": {
            d: {"rows": m["rows"], "splits": m["splits"], "files": [{"path": f["path"], "rows": f["rows"]} for f in m["files"]]}
            for d, m in manifests.items()
        },
        "validation": validation,
        "policy_sha256": any_manifest["policy_sha256"] if any_manifest else None,
        "key_id": any_manifest["key_id"] if any_manifest else None,
    }


def render_html(report: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("pipeline", "templates"), autoescape=select_autoescape(["html"]))
    top = max(report["entities"].values(), default=0)
    return env.get_template("report.html").render(report=report, entity_max=top)


def write_report(report: dict[str, Any], folder: Path, prefix: str = "report") -> dict[str, Path]:
    return {
        "json": write_json(folder / f"{prefix}.json", report),
        "html": write_text_file(folder / f"{prefix}.html", render_html(report)),
    }
