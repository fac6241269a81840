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
    manifest: dict[str, Any] | None,
    validation: dict[str, Any] | None,
) -> dict[str, Any]:
    sources = {}
    for name, c in per_source.items():
        published = c["published"]
        sources[name] = {
            "input_rows": c["input_rows"],
            "published": published,
            "quarantined": c["quarantined"],
            "dropped": c["dropped"],
            "entities": c["entities"],
            "rows_touched": c["rows_touched"],
            "share_touched": round(c["rows_touched"] / published, 4) if published else 0.0,
        }
    entity_totals: dict[str, int] = {}
    for c in per_source.values():
        for entity, n in c["entities"].items():
            entity_totals[entity] = entity_totals.get(entity, 0) + n
    return {
        "ds": ds,
        "pipeline_version": PIPELINE_VERSION,
        "published": bool(validation and validation["success"] and manifest),
        "sources": sources,
        "entities": dict(sorted(entity_totals.items(), key=lambda kv: -kv[1])),
        "performance": per_source.get("performance", {}).get("aggregates") or None,
        "reconciliation": manifest["reconciliation"] if manifest else None,
        "files": [{"path": f["path"], "rows": f["rows"]} for f in manifest["files"]] if manifest else [],
        "validation": validation,
        "policy_sha256": manifest["policy_sha256"] if manifest else None,
        "key_id": manifest["key_id"] if manifest else None,
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
