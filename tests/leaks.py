"""Search published data and every other artefact for values planted in the raw input."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq

# Ground-truth labels that must never survive into published text (foundation acceptance).
MUST_NOT_LEAK = {"EMAIL", "PHONE", "CREDENTIAL", "API_KEY", "CARD", "SSN", "ROSTER_NAME"}


def planted(ground_truth: list[dict], labels: set[str], sources: set[str]) -> set[tuple[str, str]]:
    return {
        (span["label"], span["value"])
        for record in ground_truth
        if record["source"] in sources
        for span in record["spans"]
        if span["label"] in labels
    }


def roster_values(roster: list[dict]) -> set[str]:
    values = set()
    for e in roster:
        values.update(v for v in (e["full_name"], e.get("email"), e.get("handle")) if v)
    return values


def parquet_strings(root: Path) -> list[str]:
    """Every string cell of every Parquet file under root (Parquet pages are compressed: bytes won't do)."""
    out: list[str] = []
    for path in sorted(root.rglob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            out.extend(_strings(row))
    return out


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def survivors(texts: list[str], values: set[str]) -> set[str]:
    """Planted values found in any text, as whole words (a name inside a longer word is not the name)."""
    blob = "\n".join(texts)
    found = set()
    for value in values:
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", blob):
            found.add(value)
    return found


def files_containing(root: Path, values: set[str], skip: tuple[Path, ...] = ()) -> dict[str, list[str]]:
    """For every non-Parquet file under root, the planted values its bytes contain.

    Values shorter than 6 characters (4-digit PINs, short first names) are left out: they turn up by
    chance in timestamps and ids of any log, so a hit would say nothing.
    """
    hits: dict[str, list[str]] = {}
    encoded = {v: v.encode() for v in values if len(v) >= 6}
    for path in root.rglob("*"):
        if not path.is_file() or path.suffix == ".parquet" or any(path.is_relative_to(s) for s in skip):
            continue
        data = path.read_bytes()
        found = [v for v, b in encoded.items() if b in data]
        if found:
            hits[str(path.relative_to(root))] = found
    return hits
