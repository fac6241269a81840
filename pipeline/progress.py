"""What a data engineer sees of a night in the terminal: one bar per stage, then a one-screen summary.

Stages: `read + scrub` (one streaming pass: each partition is read and scrubbed batch by batch, so they share
a bar; its total is the night's partitions, with the rows done beside it), `validate` (one step per dataset),
`report` and `publish`. Totals are known for every stage, so tqdm shows an ETA. Bars and summary carry counts
and names of sources, datasets, entity types and gates only, never a value from the data.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

STAGES = ("read + scrub", "validate", "report", "publish")
_WIDTH = max(len(s) for s in STAGES)


@contextmanager
def stage(name: str, total: int, unit: str, enabled: bool, file: TextIO | None = None) -> Iterator[Any]:
    """A tqdm bar for one stage (or None when progress is off); closed when the stage ends, failed or not."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(
        desc=f"{name:<{_WIDTH}}", total=total, unit=f" {unit}", file=file or sys.stderr, dynamic_ncols=True,
        bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}{unit} [{elapsed}<{remaining}]{postfix}",
    )
    try:
        yield bar
    finally:
        bar.close()


def _n(value: int) -> str:
    return f"{value:,}"


def night_summary(report: dict[str, Any], published: dict[str, str], version: str, report_html: str) -> str:
    """The night on one screen, from its counts-only report: rows in, published, quarantined and dropped (in
    total and per source), entities by type, every gate's outcome, and where the data and the report are."""
    rec = report["reconciliation"]
    lines = [
        f"ds={report['ds']} {'committed, held for sign-off,' if report.get('held') else 'published'} as version {version}",
        f"rows: {_n(rec['input_rows'])} in, {_n(rec['published'])} published, {_n(rec['quarantined'])} quarantined, "
        f"{_n(rec['dropped'])} dropped by policy ({'reconciled' if rec['balanced'] else 'NOT reconciled'})",
    ]
    for name, s in report["sources"].items():
        lines.append(
            f"  {name:<14}{_n(s['input_rows']):>12} in {_n(s['published']):>12} published "
            f"{_n(sum(s['quarantined'].values())):>8} quarantined {_n(sum(s['dropped'].values())):>10} dropped"
        )
    entities = ", ".join(f"{entity} {_n(n)}" for entity, n in report["entities"].items()) or "none"
    lines.append(f"entities replaced: {entities}")
    lines.append("gates: " + "; ".join(_gates(report)))
    for dataset, folder in published.items():
        rows = report["datasets"].get(dataset, {}).get("rows", 0)
        splits = ", ".join(f"{s} {_n(n)}" for s, n in sorted(report["datasets"].get(dataset, {}).get("splits", {}).items()))
        lines.append(f"published {dataset}: {rows} rows in {folder}" + (f" ({splits})" if splits else ""))
    for note in report.get("split_notes") or []:
        lines.append(f"note: {note['dataset']} {note['split']} has {note['users']} users tonight "
                     f"(fewer than {note['min_users']}), {_n(note['rows'])} rows")
    lines.append(f"report: {report_html}")
    return "\n".join(lines)


def _gates(report: dict[str, Any]) -> list[str]:
    gates = []
    for dataset, v in report["validation"].items():
        passed = v["evaluated"] - v["failed"]
        gates.append(f"Great Expectations {dataset} {passed}/{v['evaluated']} {'passed' if v['success'] else 'FAILED'}")
    canaries = report.get("canaries") or {}
    labels = canaries.get("labels", {})
    caught = sum(c["caught"] for c in labels.values())
    planted = sum(c["planted"] for c in labels.values())
    gates.append(f"canaries {caught}/{planted} caught over {len(labels)} labels {'passed' if canaries.get('success') else 'FAILED'}")
    residual = report.get("residual") or {}
    hits = sum((residual.get("hits") or {}).values())
    gates.append("residual scan clean" if residual.get("success") else f"residual scan FAILED ({hits} matches)")
    if report.get("reid") is not None:
        gates.append(f"re-identification {'passed' if report['reid'].get('success') else 'FAILED'}")
    return gates
