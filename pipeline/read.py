"""The input edge: raw partition files in, checked rows and quarantine rows (with a reason) out.

Every physical input row ends up in exactly one of the two lists; a reason names a field or a rule,
never a value, so reasons are safe to count in reports.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.contracts import ROSTER_FIELDS, SOURCES, SourceContract
from pipeline.roster import Employee, Roster

SUFFIXES = (".jsonl.gz", ".jsonl", ".parquet")
MIN_TS = datetime(1990, 1, 1, tzinfo=UTC)
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC)


class InputError(RuntimeError):
    """An input that cannot be read at all (not a row-level problem): the run stops with this message."""


@dataclass
class PartitionRows:
    source: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0

    @property
    def input_rows(self) -> int:
        return len(self.rows) + len(self.quarantine)


def partition_dir(raw_root: str | Path, source: str, ds: str) -> Path:
    return Path(raw_root) / source / f"ds={ds}"


def partition_files(raw_root: str | Path, source: str, ds: str) -> list[Path]:
    folder = partition_dir(raw_root, source, ds)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))


def sources_present(raw_root: str | Path, ds: str) -> list[str]:
    """Known sources that have at least one file for this night, in contract order."""
    return [name for name in SOURCES if partition_files(raw_root, name, ds)]


def read_partition(raw_root: str | Path, source: str, ds: str) -> PartitionRows:
    contract = SOURCES[source]
    out = PartitionRows(source=source)
    seen_keys: set[tuple[Any, ...]] = set()
    for path in partition_files(raw_root, source, ds):
        out.files += 1
        for line_no, raw_line, record, problem in _records(path):
            if problem is None:
                row, problem = check_row(contract, record)
            if problem is None:
                key = tuple(row[k] for k in contract.key_fields)
                if key in seen_keys:
                    problem = "duplicate_key"
                else:
                    seen_keys.add(key)
                    out.rows.append(row)
                    continue
            out.quarantine.append(
                {"source": source, "file": path.name, "line": line_no, "reason": problem, "raw": raw_line}
            )
    return out


def _records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    """(line number, raw text, parsed record or None, problem or None) for each row of a file."""
    if path.name.endswith(".parquet"):
        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise InputError(f"cannot read Parquet file {path.name}: {type(exc).__name__}") from None
        for i, record in enumerate(table.to_pylist(), start=1):
            yield i, json.dumps(record, default=str), record, None
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for i, line in enumerate(handle, start=1):
                line = line.rstrip("\n")
                if not line.strip():
                    yield i, line, None, "blank_line"
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    yield i, line, None, "invalid_json"
                    continue
                if not isinstance(record, dict):
                    yield i, line, None, "not_an_object"
                    continue
                yield i, line, record, None
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from None


def check_row(contract: SourceContract, record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Normalise one record to the contract, or name the first rule it breaks."""
    row: dict[str, Any] = {}
    for f in contract.fields:
        value = record.get(f.name)
        if value is None:
            if f.required:
                return row, f"missing_field:{f.name}"
            row[f.name] = None
            continue
        value, ok = _coerce(f.kind, value)
        if not ok:
            return row, f"bad_type:{f.name}"
        allowed = contract.allowed.get(f.name)
        if allowed is not None and value not in allowed:
            return row, f"bad_value:{f.name}"
        row[f.name] = value
    return row, None


def _coerce(kind: str, value: Any) -> tuple[Any, bool]:
    if kind == "str":
        return value, isinstance(value, str)
    if kind == "bool":
        return value, isinstance(value, bool)
    if kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return (float(value) if ok else value), ok
    if kind == "str_list":
        return value, isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "ts":
        ts = parse_ts(value)
        return ts, ts is not None
    raise ValueError(f"unknown field kind {kind}")


def parse_ts(value: Any) -> datetime | None:
    """ISO-8601 with an offset, or epoch milliseconds; anything else (including naive times) is rejected."""
    if isinstance(value, datetime):
        ts = value if value.tzinfo else None
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        try:
            ts = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            return None
        if ts.tzinfo is None:
            return None
    else:
        return None
    if ts is None:
        return None
    ts = ts.astimezone(UTC)
    return ts if MIN_TS <= ts < MAX_TS else None


def read_roster(path: str | Path) -> Roster:
    """The employee directory from JSONL or CSV; a bad roster stops the run (it drives name detection)."""
    path = Path(path)
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
    else:
        with open(path, encoding="utf-8") as handle:
            try:
                records = [json.loads(line) for line in handle if line.strip()]
            except json.JSONDecodeError:
                raise InputError(f"roster {path.name} is not valid JSONL") from None
    employees = []
    for i, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not record.get("employee_id") or not record.get("full_name"):
            raise InputError(f"roster {path.name} row {i}: employee_id and full_name are required")
        employees.append(Employee(**{k: (record.get(k) or None) for k in ROSTER_FIELDS}))
    return Roster(tuple(employees))
