"""The input edge: raw partition files in, checked rows and quarantine rows (with a reason) out.

Every physical input row ends up in exactly one of the two lists; a reason names a field or a rule,
never a value, so reasons are safe to count in reports. Files that are not read (an unsupported extension,
a hidden file) and files without any row are counted, never skipped silently; a symlink that leads out of
the raw root is refused unless the run allows it.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq
import zstandard

from pipeline.contracts import ROSTER_FIELDS, SOURCES, UNKNOWN, SourceContract
from pipeline.errors import UserError
from pipeline.roster import Employee, Roster

# JSON Lines (`.json` may also hold one JSON array of objects), plain or compressed, and Parquet.
TEXT_FORMATS = (".jsonl", ".json")
COMPRESSIONS = ("", ".gz", ".bz2", ".zst")
SUFFIXES = (".parquet", *(f + c for f in TEXT_FORMATS for c in COMPRESSIONS))
MIN_TS = datetime(1990, 1, 1, tzinfo=UTC)
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC)
DEFAULT_BATCH_ROWS = 20_000  # rows per batch when a text partition is streamed (policy: run.batch_rows)
PARQUET_READ_ROWS = 10_000
_SURROGATE = re.compile("[\ud800-\udfff]")
_READ_ERRORS = (OSError, EOFError, zstandard.ZstdError)


class InputError(UserError, RuntimeError):
    """An input that cannot be read at all (not a row-level problem): the run stops with this message."""


@dataclass
class PartitionRows:
    source: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0  # files read (empty ones included)
    empty_files: int = 0  # files read that held no row at all
    skipped: dict[str, int] = field(default_factory=dict)  # files not read, by why (see `Listing`)

    @property
    def input_rows(self) -> int:
        return len(self.rows) + len(self.quarantine)

    @property
    def unknown_values(self) -> dict[str, int]:
        """Checked rows per field whose value was outside the field's closed vocabulary (now `unknown`)."""
        fields = SOURCES[self.source].vocabulary
        counts = Counter(name for row in self.rows for name in fields if row.get(name) == UNKNOWN)
        return {name: counts[name] for name in fields if counts[name]}


@dataclass(frozen=True)
class Listing:
    """A partition folder's files to read, in name order, and the entries not read, counted by why:
    `unsupported_extension`, `hidden_file` (a name starting with `.` or `_`), `not_a_file`."""

    files: list[Path]
    skipped: dict[str, int]


def partition_dir(raw_root: str | Path, source: str, ds: str) -> Path:
    return Path(raw_root) / source / f"ds={ds}"


def list_partition(raw_root: str | Path, source: str, ds: str, follow_symlinks: bool = False) -> Listing:
    folder = partition_dir(raw_root, source, ds)
    if not folder.is_dir():
        return Listing([], {})
    _refuse_outside(raw_root, folder.parent, follow_symlinks)
    _refuse_outside(raw_root, folder, follow_symlinks)
    files, skipped = [], Counter()
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")):
            skipped["hidden_file"] += 1
        elif not path.is_file():
            skipped["not_a_file"] += 1
        elif not path.name.endswith(SUFFIXES):
            skipped["unsupported_extension"] += 1
        else:
            _refuse_outside(raw_root, path, follow_symlinks)
            files.append(path)
    return Listing(files, dict(sorted(skipped.items())))


def partition_files(raw_root: str | Path, source: str, ds: str, follow_symlinks: bool = False) -> list[Path]:
    return list_partition(raw_root, source, ds, follow_symlinks).files


def _refuse_outside(raw_root: str | Path, path: Path, follow_symlinks: bool) -> None:
    """A symlink under the raw root that leads out of it would read (and publish) whatever it points at."""
    if follow_symlinks:
        return
    root = Path(raw_root).resolve()
    if not path.resolve().is_relative_to(root):
        where = path.relative_to(raw_root) if path.is_relative_to(raw_root) else path.name
        raise InputError(
            f"raw input {where} is a symlink to a place outside the raw root; refused "
            "(move the data under the raw root, or pass --follow-symlinks)"
        )


@dataclass(frozen=True)
class RawLayout:
    """What the raw root holds for a night: the known sources with files, and folders that are not sources."""

    sources: list[str]
    unknown_folders: dict[str, int]  # folder (or "other" for unusual names) -> files in its ds= folder


_PLAIN_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # shown by name; anything else is counted as "other"


def raw_layout(raw_root: str | Path, ds: str, follow_symlinks: bool = False) -> RawLayout:
    """Known sources that have at least one file for this night (contract order), and the other folders
    with a `ds=` folder for it. Names starting with `_` or `.` (quarantine, ground truth) are not sources."""
    root = Path(raw_root)
    sources = [name for name in SOURCES if partition_files(root, name, ds, follow_symlinks)]
    unknown: Counter[str] = Counter()
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.name in SOURCES or folder.name.startswith(("_", ".")) or not (folder / f"ds={ds}").is_dir():
                continue
            name = folder.name if _PLAIN_NAME.match(folder.name) else "other"
            unknown[name] += sum(1 for p in (folder / f"ds={ds}").iterdir() if p.is_file())
            unknown.setdefault(name, 0)
    return RawLayout(sources, dict(unknown))


def sources_present(raw_root: str | Path, ds: str, follow_symlinks: bool = False) -> list[str]:
    """Known sources that have at least one file for this night, in contract order."""
    return raw_layout(raw_root, ds, follow_symlinks).sources


def read_partition(raw_root: str | Path, source: str, ds: str, follow_symlinks: bool = False) -> PartitionRows:
    """The whole partition at once (events sources); text sources stream it with `iter_partition`."""
    return next(iter_partition(raw_root, source, ds, batch_rows=None, follow_symlinks=follow_symlinks))


def iter_partition(
    raw_root: str | Path,
    source: str,
    ds: str,
    batch_rows: int | None = DEFAULT_BATCH_ROWS,
    follow_symlinks: bool = False,
    files: slice = slice(None),
) -> Iterator[PartitionRows]:
    """The partition in batches of at most `batch_rows` input rows (checked plus quarantined), in file and
    line order; None means one batch. Every input row is in exactly one batch, and at least one batch
    (maybe empty) comes out. Batch `files` counts the files opened while it filled, so they sum to the total
    (the first batch carries the `skipped` counts). Duplicate keys are caught across batches by a 16-byte
    digest per key, so memory holds one batch only.

    `files` (a slice of the name-ordered listing) reads one chunk of the partition: the files before it are
    read for their keys only, so a row repeating a key of an earlier chunk is `duplicate_key` exactly as in
    a whole-partition read, and the chunks' rows and quarantine rows add up to the partition's.
    """
    if batch_rows is not None and batch_rows < 1:
        raise ValueError("batch_rows must be a positive integer")
    contract = SOURCES[source]
    listing = list_partition(raw_root, source, ds, follow_symlinks)
    start, stop, _ = files.indices(len(listing.files))
    seen_keys = _keys_before(contract, listing.files[:start])
    batch = PartitionRows(source=source, skipped=listing.skipped if start == 0 else {})
    yielded = False
    for path in listing.files[start:stop]:
        batch.files += 1
        rows_in_file = 0
        for line_no, raw_line, record, problem in _records(path):
            rows_in_file += 1
            if problem is None:
                row, problem = check_row(contract, record)
            if problem is None:
                key = key_digest(tuple(row[k] for k in contract.key_fields))
                if key in seen_keys:
                    problem = "duplicate_key"
                else:
                    seen_keys.add(key)
                    batch.rows.append(row)
            if problem is not None:
                batch.quarantine.append(
                    {"source": source, "file": path.name, "line": line_no, "reason": problem, "raw": raw_line}
                )
            if batch_rows is not None and batch.input_rows >= batch_rows:
                yield batch
                yielded = True
                batch = PartitionRows(source=source)
        if rows_in_file == 0:
            batch.empty_files += 1
    if batch.input_rows or batch.files or batch.empty_files or not yielded:
        yield batch


def _keys_before(contract: SourceContract, paths: list[Path]) -> set[bytes]:
    """Digests of the first occurrence of every checked row's key in files an earlier chunk reads."""
    seen: set[bytes] = set()
    for path in paths:
        for _, _, record, problem in _records(path):
            if problem is None:
                row, problem = check_row(contract, record)
                if problem is None:
                    seen.add(key_digest(tuple(row[k] for k in contract.key_fields)))
    return seen


def key_digest(key: tuple[Any, ...]) -> bytes:
    """16 bytes standing for a row key in the duplicate check (kept in memory only, never written)."""
    if all(isinstance(v, str) for v in key):  # length-prefixed, so ("ab", "c") and ("a", "bc") differ
        text = key[0] if len(key) == 1 else "".join(f"{len(v)}:{v}" for v in key)
    else:
        text = json.dumps(key, default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def open_binary(path: Path) -> IO[bytes]:
    """A raw file's bytes, decompressed by its suffix (.gz, .bz2, .zst; several zstd frames are read on)."""
    name = path.name
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".zst"):
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True, closefd=True)
    return open(path, "rb")


def _text_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, whether the line was valid UTF-8) per line; line ends as text mode sees them
    (LF, CRLF, CR). A line with invalid bytes comes back with each of them written as a backslash escape."""
    with open_binary(path) as binary:
        handle = io.TextIOWrapper(binary, encoding="utf-8", errors="surrogateescape", newline=None)
        for i, line in enumerate(handle, start=1):
            line = line.removesuffix("\n")
            if _SURROGATE.search(line):  # only undecodable bytes become surrogates here
                yield i, escaped(line.encode("utf-8", "surrogateescape")), False
            else:
                yield i, line, True


def escaped(data: bytes) -> str:
    """Bytes that are not valid UTF-8 as text, each bad byte as a backslash escape (the quarantine's raw column)."""
    return data.decode("utf-8", "backslashreplace")


def _json_array(path: Path) -> bool:
    """Whether a `.json` file holds one JSON array (else it is read as JSON Lines, as Spark writes them)."""
    if not path.name.removesuffix(path.suffix if path.suffix in COMPRESSIONS else "").endswith(".json"):
        return False
    with open_binary(path) as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def _records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    """(line number, raw text, parsed record or None, problem or None) for each row of a file."""
    try:
        if path.name.endswith(".parquet"):
            yield from _parquet_records(path)
        elif _json_array(path):
            yield from _array_records(path)
        else:
            yield from _line_records(path)
    except _READ_ERRORS as exc:
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from None


def _parquet_records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    # Row group by row group (in slices of PARQUET_READ_ROWS), so a large file is never all in memory.
    line_no = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_READ_ROWS):
            for record in batch.to_pylist():
                line_no += 1
                yield line_no, json.dumps(record, default=str), record, None
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise InputError(f"cannot read Parquet file {path.name}: {type(exc).__name__}") from None


def _array_records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    """A `.json` file holding one array: each element is a row, numbered from 1 (the whole file is parsed)."""
    with open_binary(path) as handle:
        data = handle.read()
    try:
        records = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"cannot read {path.name}: not one JSON array of valid UTF-8") from None
    for i, record in enumerate(records, start=1):
        raw = json.dumps(record)
        yield i, raw, (record if isinstance(record, dict) else None), (None if isinstance(record, dict) else "not_an_object")


def _line_records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    for i, line, valid in _text_lines(path):
        if not valid:
            yield i, line, None, "invalid_utf8"
        elif not line.strip():
            yield i, line, None, "blank_line"
        else:
            yield (i, line, *_parsed(line))


def _parsed(line: str) -> tuple[Any, str | None]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None, "invalid_json"
    if not isinstance(record, dict):
        return None, "not_an_object"
    return record, None


def check_row(contract: SourceContract, record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Normalise one record to the contract, or name the first rule it breaks. A value outside a field's
    closed vocabulary (keystroke and mouse `action`, `button`, `field_kind`) becomes `unknown`."""
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
        if f.kind in ("str", "str_list") and not _encodable(value):
            return row, f"bad_unicode:{f.name}"
        allowed = contract.allowed.get(f.name)
        if allowed is not None and value not in allowed:
            return row, f"bad_value:{f.name}"
        vocabulary = contract.vocabulary.get(f.name)
        if vocabulary is not None and value not in vocabulary:
            value = UNKNOWN
        row[f.name] = value
    return row, None


def _encodable(value: str | list[str]) -> bool:
    """No lone surrogate (a `\\ud800` escape in JSON): such a value cannot be written as UTF-8 or hashed."""
    values = [value] if isinstance(value, str) else value
    return not any(_SURROGATE.search(v) for v in values if not v.isascii())


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
    """The employee directory from JSONL or CSV; a bad roster stops the run (it drives name detection), with
    the line that is wrong: employee_id and full_name are required strings, other fields strings or empty,
    and no employee_id may appear twice."""
    path = Path(path)
    first_line: dict[str, int] = {}
    employees = []
    for line, record in _roster_records(path):
        where = f"roster {path.name} line {line}"
        if not isinstance(record, dict):
            raise InputError(f"{where}: not a JSON object")
        for name in ROSTER_FIELDS:
            value = record.get(name)
            if value is not None and not isinstance(value, str):
                raise InputError(f"{where}: {name} must be a string")
            if isinstance(value, str) and not _encodable(value):
                raise InputError(f"{where}: {name} holds a lone surrogate, which is not valid Unicode")
        if not record.get("employee_id") or not record.get("full_name"):
            raise InputError(f"{where}: employee_id and full_name are required")
        employee_id = record["employee_id"]
        if employee_id in first_line:
            raise InputError(f"{where}: employee_id repeats the one on line {first_line[employee_id]}")
        first_line[employee_id] = line
        employees.append(Employee(**{k: (record.get(k) or None) for k in ROSTER_FIELDS}))
    return Roster(tuple(employees))


def _roster_records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record) per roster row: CSV with a header line, else JSON Lines (blank lines skipped)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read roster {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"roster {path.name} line {line}: not valid UTF-8") from None
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = [n for n in ("employee_id", "full_name") if n not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"roster {path.name} line 1: the header lacks {', '.join(missing)}")
        for record in reader:
            yield reader.line_num, record
        return
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            record, problem = _parsed(line)
            if problem == "invalid_json":
                raise InputError(f"roster {path.name} line {i}: not valid JSON")
            yield i, record if problem is None else line


# --- columnar read (keystroke and mouse partitions) -------------------------------------------------
#
# `read_partition` builds one dict per row, and an events partition holds millions of rows; its sources are
# read with `read_columnar` instead: the same checks and quarantine rows, as Arrow columns. Lines that
# pyarrow.json parses to exactly what `json.loads` gives are checked with compute kernels. Every other line
# (blank, not one object, invalid UTF-8, NaN/Infinity tokens, duplicate fields, a value of an unexpected
# JSON type) goes through `json.loads` and `check_row` one by one, as in `read_partition`.

COLUMNAR_BLOCK_BYTES = 16 << 20  # raw bytes read at a time
_JSON_LINES = 16_384  # lines per pyarrow.json call; a call that fails is split in 16 parts ...
_JSON_SPLIT_BELOW = 8  # ... down to this many lines, which are checked one by one in Python
# pyarrow.json also takes `-NaN`, `Inf` and `-Inf`, which json.loads rejects: such lines take the slow way.
_NON_FINITE_TOKEN = re.compile(rb"[:,\[][ \t]*-?(?:NaN|Inf)")
# The ISO-8601 shapes parsed with NumPy; any other string goes to `parse_ts`.
_ISO_TS = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}|\.[0-9]{6})?(?:Z|[+-][0-9]{2}:[0-9]{2})$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_MIN_US, _MAX_US = (MIN_TS - _EPOCH) // _US, (MAX_TS - _EPOCH) // _US
_CHECKED_TYPES = {
    "str": pa.string(), "bool": pa.bool_(), "float": pa.float64(), "str_list": pa.list_(pa.string()),
    "ts": pa.timestamp("us", tz="UTC"),
}


@dataclass
class CheckedTable:
    """A partition as `read_columnar` returns it: checked rows in one table (`checked_schema`), in input
    order, and quarantine rows exactly as `read_partition` makes them."""

    source: str
    table: pa.Table
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    empty_files: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def input_rows(self) -> int:
        return self.table.num_rows + len(self.quarantine)

    @property
    def unknown_values(self) -> dict[str, int]:
        """As `PartitionRows.unknown_values`: checked rows per field whose value became `unknown`."""
        counts = {
            name: int(pc.sum(pc.equal(pc.cast(self.table[name], pa.string()), UNKNOWN)).as_py() or 0)
            for name in SOURCES[self.source].vocabulary
        }
        return {name: n for name, n in counts.items() if n}


def checked_schema(contract: SourceContract) -> pa.Schema:
    """The Arrow types of what `check_row` returns. Strings other than the row key repeat a lot (ids, apps,
    keys), so they are dictionary-encoded."""
    fields = []
    for f in contract.fields:
        kind = _CHECKED_TYPES[f.kind]
        if f.kind == "str" and f.name not in contract.key_fields:
            kind = pa.dictionary(pa.int32(), pa.string())
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def rows_table(contract: SourceContract, rows: list[dict[str, Any]]) -> pa.Table:
    """Checked rows (as `check_row` returns them) as a table of `checked_schema`."""
    return pa.Table.from_pylist(rows, schema=checked_schema(contract))


def read_columnar(raw_root: str | Path, source: str, ds: str, follow_symlinks: bool = False) -> CheckedTable:
    """`read_partition` as Arrow columns: the same checked rows in the same order, the same quarantine rows
    (reasons, files, line numbers, raw text), without a Python object per row."""
    contract = SOURCES[source]
    listing = list_partition(raw_root, source, ds, follow_symlinks)
    paths = listing.files
    pieces: list[pa.Table] = []  # checked rows, with `_file` and `_line` for the duplicate check
    bad: list[tuple[int, int, str, str]] = []  # (file, line, reason, raw)
    empty_files = 0
    for f, path in enumerate(paths):
        rows_in_file = 0
        for table, quarantined in _checked_pieces(contract, path):
            pieces.append(table.append_column("_file", pa.array(np.full(table.num_rows, f, np.int32))))
            bad.extend((f, line, reason, raw) for line, reason, raw in quarantined)
            rows_in_file += table.num_rows + len(quarantined)
        empty_files += rows_in_file == 0
    schema = checked_schema(contract).append(pa.field("_line", pa.int64())).append(pa.field("_file", pa.int32()))
    table = pa.concat_tables(pieces) if pieces else schema.empty_table()
    first = _first_of_each_key(table, contract.key_fields)
    if not first.all():
        bad.extend(_duplicates(paths, table.filter(pa.array(~first))))
        table = table.filter(pa.array(first))
    bad.sort(key=lambda b: (b[0], b[1]))
    quarantine = [
        {"source": source, "file": paths[f].name, "line": line, "reason": reason, "raw": raw}
        for f, line, reason, raw in bad
    ]
    return CheckedTable(
        source, table.drop_columns(["_line", "_file"]), quarantine, files=len(paths), empty_files=empty_files,
        skipped=listing.skipped,
    )


def value_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """Integer codes of a column's values (-1 for null) and the distinct values they stand for, so that
    work that depends on a value (a pseudonym, a key's class, comparing ids) runs once per value."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = pa.table({"c": column}).unify_dictionaries()["c"]
    if not column.num_chunks:
        return np.zeros(0, np.int64), []
    codes = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in column.chunks]
    return np.concatenate(codes).astype(np.int64), column.chunk(0).dictionary.to_pylist()


def _first_of_each_key(table: pa.Table, key_fields: tuple[str, ...]) -> np.ndarray:
    """Which rows hold the first occurrence of their key (later ones are `duplicate_key`)."""
    if len(key_fields) == 1 and len(pc.unique(table[key_fields[0]])) == table.num_rows:
        return np.ones(table.num_rows, bool)  # the usual case, settled with one hash pass
    codes = np.stack([value_codes(table[name])[0] for name in key_fields], axis=1)
    key = np.unique(codes, axis=0, return_inverse=True)[1].ravel()
    first = np.zeros(len(key), bool)
    first[np.unique(key, return_index=True)[1]] = True
    return first


def _duplicates(paths: list[Path], dup: pa.Table) -> Iterator[tuple[int, int, str, str]]:
    """Quarantine entries of rows whose key came earlier; their raw text is read again from their file."""
    files = dup["_file"].to_numpy()
    lines = dup["_line"].to_numpy()
    for f in np.unique(files):
        wanted = set(lines[files == f].tolist())
        raw = _raw_lines(paths[f], wanted)
        yield from ((int(f), line, "duplicate_key", raw[line]) for line in sorted(wanted))


def _raw_lines(path: Path, wanted: set[int]) -> dict[int, str]:
    """The raw text of some lines (rows, in Parquet and JSON arrays) of a file, exactly as `_records` gives it."""
    return {i: raw for i, raw, _, _ in _records(path) if i in wanted}


def _checked_pieces(contract: SourceContract, path: Path) -> Iterator[tuple[pa.Table, list[tuple[int, str, str]]]]:
    """(checked rows with their `_line`, quarantined (line, reason, raw)) for each piece of a file."""
    if path.name.endswith(".parquet") or _json_array(path):  # rare for events sources, so not vectorised
        yield from _record_pieces(contract, path)
        return
    line = 1
    for block in _line_blocks(path):
        table, quarantined, lines = _check_block(contract, path, block, line)
        line += lines
        yield table, quarantined


def _record_pieces(contract: SourceContract, path: Path) -> Iterator[tuple[pa.Table, list[tuple[int, str, str]]]]:
    """A Parquet file record by record, through `_records` and `check_row` as `read_partition` reads it."""
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for line_no, raw, record, problem in _records(path):
        if problem is None:
            row, problem = check_row(contract, record)
        if problem is None:
            rows.append(row)
            lines.append(line_no)
        else:
            bad.append((line_no, problem, raw))
        if len(rows) >= PARQUET_READ_ROWS:
            yield _slow_table(contract, rows, lines, path), bad
            rows, lines, bad = [], [], []
    yield _slow_table(contract, rows, lines, path), bad


def _slow_table(contract: SourceContract, rows: list[dict[str, Any]], lines: list[int], path: Path) -> pa.Table:
    try:
        table = rows_table(contract, rows)
    except (pa.ArrowException, UnicodeError):  # a lone surrogate (from a \ud800 escape) is not UTF-8
        raise InputError(f"{path.name}: a checked value cannot be stored as UTF-8") from None
    return table.append_column("_line", pa.array(lines, pa.int64()))


def _line_blocks(path: Path) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines, each line ending with one b"\\n": line ends as text mode
    sees them (\\r\\n and \\r too), and a last line without a line end gets one."""
    try:
        with open_binary(path) as handle:
            rest = b""
            while block := handle.read(COLUMNAR_BLOCK_BYTES):
                cut = block.rfind(b"\n")
                if cut < 0:  # no \n: cut after a lone \r, but not the last byte (a \n may follow it)
                    cut = block.rfind(b"\r", 0, len(block) - 1)
                if cut < 0:
                    rest += block
                    continue
                yield _text_mode_newlines(rest + block[: cut + 1])
                rest = block[cut + 1 :]
            if rest:
                last = _text_mode_newlines(rest)
                yield last if last.endswith(b"\n") else last + b"\n"
    except _READ_ERRORS as exc:
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from None


def _text_mode_newlines(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def _check_block(
    contract: SourceContract, path: Path, block: bytes, first_line: int
) -> tuple[pa.Table, list[tuple[int, str, str]], int]:
    """Check a block of whole lines: its checked rows (with `_line`), its quarantined lines, its line count."""
    data = np.frombuffer(block, np.uint8)
    ends = np.flatnonzero(data == 0x0A)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lines = pa.Array.from_buffers(
        pa.binary(), len(ends), [None, pa.py_buffer(np.append(starts, len(block)).astype(np.int32)), pa.py_buffer(block)]
    )
    fast = _json_parseable(block, data, starts, ends, lines)
    groups = np.zeros(len(ends), np.int64)  # lines whose ts fields hold the same JSON types parse together
    ts_fields = [f.name for f in contract.fields if f.kind == "ts"]
    for bit, name in enumerate(ts_fields):
        groups |= _number_after_key(data, starts, ends, lines, name).astype(np.int64) << bit
    tables: list[pa.Table] = []
    bad: list[tuple[int, str, str]] = []
    slow: list[np.ndarray] = [np.flatnonzero(~fast)]
    for group in np.unique(groups[fast]):
        numeric = {name for bit, name in enumerate(ts_fields) if group >> bit & 1}
        parsed, unparsed = _parse_json(lines, np.flatnonzero(fast & (groups == group)), _json_schema(contract, numeric))
        slow += unparsed
        if parsed:
            idx = np.concatenate([i for i, _ in parsed])
            checked, reasons = _check_columns(contract, pa.concat_tables([t for _, t in parsed]))
            ok = np.equal(reasons, None)
            tables.append(checked.filter(pa.array(ok)).append_column("_line", pa.array(first_line + idx[ok])))
            bad += [
                (first_line + i, reason, block[starts[i] : ends[i]].decode())
                for i, reason in zip(idx[~ok].tolist(), reasons[~ok].tolist())
            ]
    rows: list[dict[str, Any]] = []
    row_lines: list[int] = []
    for i in np.sort(np.concatenate(slow)).tolist():
        line = block[starts[i] : ends[i]]
        try:
            raw = line.decode()
        except UnicodeDecodeError:
            bad.append((first_line + i, "invalid_utf8", escaped(line)))
            continue
        row, problem = _check_line(contract, raw)
        if problem is None:
            rows.append(row)
            row_lines.append(first_line + i)
        else:
            bad.append((first_line + i, problem, raw))
    tables.append(_slow_table(contract, rows, row_lines, path))
    table = pa.concat_tables(tables)
    return table.take(np.argsort(table["_line"].to_numpy(), kind="stable")), bad, len(ends)


def _check_line(contract: SourceContract, raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """One line the slow way: what `_records` and `check_row` make of it."""
    if not raw.strip():
        return None, "blank_line"
    record, problem = _parsed(raw)
    if problem is not None:
        return None, problem
    row, problem = check_row(contract, record)
    return (row if problem is None else None), problem


def _json_parseable(block: bytes, data: np.ndarray, starts: np.ndarray, ends: np.ndarray, lines: pa.Array) -> np.ndarray:
    """Lines that pyarrow.json may parse: one object from the first byte to the last, valid UTF-8 (which
    pyarrow.json does not check), and no non-finite number token. pyarrow.json rejects the rest of what
    json.loads rejects (lone surrogates, duplicate fields, trailing data), or yields extra rows for it."""
    fast = (ends > starts) & (data[starts] == 0x7B) & (data[ends - 1] == 0x7D)
    if not _utf8(block):
        fast &= np.array([_utf8(block[s:e]) for s, e in zip(starts.tolist(), ends.tolist())], bool)
    for i in _lines_with_nan_or_inf(data, ends):
        if fast[i] and _NON_FINITE_TOKEN.search(block, starts[i], ends[i]):
            fast[i] = False
    return fast


def _lines_with_nan_or_inf(data: np.ndarray, ends: np.ndarray) -> list[int]:
    """Lines holding the bytes "NaN" or "Inf" (rare: each capital N or I is looked at)."""
    at = np.flatnonzero((data[:-2] == ord("N")) | (data[:-2] == ord("I")))
    nan = (data[at] == ord("N")) & (data[at + 1] == ord("a")) & (data[at + 2] == ord("N"))
    inf = (data[at] == ord("I")) & (data[at + 1] == ord("n")) & (data[at + 2] == ord("f"))
    return np.unique(np.searchsorted(ends, at[nan | inf])).tolist()


def _utf8(data: bytes) -> bool:
    try:
        data.decode()
    except UnicodeDecodeError:
        return False
    return True


def _number_after_key(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, lines: pa.Array, name: str) -> np.ndarray:
    """Lines where the first `"name":` is followed by a number (else a string, null, or something pyarrow.json
    will reject). A guess only: the parse that follows decides."""
    pattern = f'"{name}":'
    at = pc.find_substring(lines, pattern).to_numpy(zero_copy_only=False)
    p = np.where(at >= 0, starts + at + len(pattern), ends)
    for _ in range(4):
        p += (data[p] == 0x20) | (data[p] == 0x09)
    c = data[p]
    return (at >= 0) & (((c >= 0x30) & (c <= 0x39)) | (c == 0x2D))


def _json_schema(contract: SourceContract, numeric_ts: set[str]) -> pa.Schema:
    """What pyarrow.json parses each field as; a value of another JSON type fails the parse."""
    types = {**_CHECKED_TYPES, "ts": pa.string()}
    return pa.schema([(f.name, pa.float64() if f.name in numeric_ts else types[f.kind]) for f in contract.fields])


def _parse_json(lines: pa.Array, idx: np.ndarray, schema: pa.Schema) -> tuple[list[tuple[np.ndarray, pa.Table]], list[np.ndarray]]:
    """pyarrow.json over some lines: (lines, table) pieces, and the lines left for Python. A call that fails,
    or yields another number of rows than it had lines, is split until it parses or is small."""
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    parsed: list[tuple[np.ndarray, pa.Table]] = []
    slow: list[np.ndarray] = []
    todo = [idx[i : i + _JSON_LINES] for i in range(0, len(idx), _JSON_LINES)]
    while todo:
        part = todo.pop()
        table = _read_json(lines.take(pa.array(part)), options)
        if table is not None and table.num_rows == len(part):
            parsed.append((part, table))
        elif len(part) <= _JSON_SPLIT_BELOW:
            slow.append(part)
        else:
            todo += [piece for piece in np.array_split(part, 16) if len(piece)]
    return parsed, slow


def _read_json(values: pa.Array, options: pj.ParseOptions) -> pa.Table | None:
    offsets = np.frombuffer(values.buffers()[1], np.int32)[values.offset : values.offset + len(values) + 1]
    data = values.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    try:
        return pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(data.size, 1 << 20)),
            parse_options=options,
        )
    except pa.ArrowException:  # the lines go the slow way, which names a reason for each
        return None


def _check_columns(contract: SourceContract, parsed: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """`check_row` as compute kernels: the checked columns, and per row the first rule it breaks (or None).
    Like `check_row`, a row is not looked at past its first broken rule."""
    reasons = np.full(parsed.num_rows, None, object)
    open_ = np.ones(parsed.num_rows, bool)

    def broken(rows: np.ndarray, reason: str) -> None:
        hit = open_ & rows
        reasons[hit] = reason
        open_[hit] = False

    columns = []
    for f, target in zip(contract.fields, checked_schema(contract)):
        column = parsed[f.name].combine_chunks()
        null = column.is_null().to_numpy(zero_copy_only=False)
        if f.required:
            broken(null, f"missing_field:{f.name}")
        column, bad = _checked_column(f.kind, column, open_ & ~null)
        broken(bad & ~null, f"bad_type:{f.name}")
        allowed = contract.allowed.get(f.name)
        if allowed is not None:
            inside = pc.is_in(column, value_set=pa.array(sorted(allowed), column.type)).to_numpy(zero_copy_only=False)
            broken(~inside & ~null, f"bad_value:{f.name}")
        vocabulary = contract.vocabulary.get(f.name)
        if vocabulary is not None:
            inside = pc.is_in(column, value_set=pa.array(sorted(vocabulary), column.type))
            column = pc.if_else(pc.or_kleene(inside, column.is_null()), column, pa.scalar(UNKNOWN, column.type))
        columns.append(column.dictionary_encode() if pa.types.is_dictionary(target.type) else column)
    return pa.table(columns, schema=checked_schema(contract)), reasons


def _checked_column(kind: str, column: pa.Array, todo: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """A parsed column as `_coerce` leaves it, and where it breaks the field's type (only `todo` rows count)."""
    if kind == "float":
        values = column.to_numpy(zero_copy_only=False)
        return column, ~np.isfinite(values)
    if kind == "str_list":
        bad = np.zeros(len(column), bool)
        bad[pc.list_parent_indices(column).to_numpy()[column.flatten().is_null().to_numpy(zero_copy_only=False)]] = True
        return column, bad
    if kind == "ts":
        if pa.types.is_floating(column.type):
            us, ok = _epoch_ms_us(column.to_numpy(zero_copy_only=False))
        else:
            us, ok = _iso_us(column, todo)
        return pa.array(us, pa.int64(), mask=~ok).cast(pa.timestamp("us", tz="UTC")), ~ok
    return column, np.zeros(len(column), bool)


def _epoch_ms_us(ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch milliseconds → epoch microseconds as `datetime.fromtimestamp(ms / 1000)` rounds them (seconds
    split off, the fraction rounded half to even), and whether `parse_ts` accepts them."""
    with np.errstate(invalid="ignore"):
        seconds = ms / 1000
        ok = np.isfinite(seconds) & (np.abs(seconds) < 1e11)
        seconds = np.where(ok, seconds, 0.0)
        whole = np.trunc(seconds)
        us = whole.astype(np.int64) * 1_000_000 + np.rint((seconds - whole) * 1e6).astype(np.int64)
    ok &= (us >= _MIN_US) & (us < _MAX_US)
    return us, ok


def _iso_us(column: pa.Array, todo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ISO-8601 strings → epoch microseconds and whether `parse_ts` accepts them. The common shapes
    (`_ISO_TS`, years 1900-2199, valid fields) are parsed with NumPy, the rest of `todo` by `parse_ts`."""
    n = len(column)
    us = np.zeros(n, np.int64)
    ok = np.zeros(n, bool)
    shaped = pc.match_substring_regex(column, _ISO_TS).fill_null(False).to_numpy(zero_copy_only=False)
    if shaped.any():
        offsets = np.frombuffer(column.buffers()[1], np.int32)[column.offset : column.offset + n + 1]
        data = np.frombuffer(column.buffers()[2], np.uint8)
        start = offsets[:-1][shaped].astype(np.int64)
        end = offsets[1:][shaped].astype(np.int64)

        def number(at: np.ndarray, width: int) -> np.ndarray:
            value = np.zeros(len(at), np.int64)
            for i in range(width):  # past a short string's end: a value no row uses
                value = value * 10 + data[np.minimum(at + i, len(data) - 1)] - 0x30
            return value

        year, month, day = number(start, 4), number(start + 5, 2), number(start + 8, 2)
        hour, minute, second = number(start + 11, 2), number(start + 14, 2), number(start + 17, 2)
        zulu = data[end - 1] == ord("Z")
        fraction = end - start - 19 - np.where(zulu, 1, 6)  # 0, or 4 / 7 with the dot
        micro = np.where(fraction == 4, number(start + 20, 3) * 1000, np.where(fraction == 7, number(start + 20, 6), 0))
        sign = np.where(data[end - 6] == ord("-"), -1, 1)
        off_h = np.where(zulu, 0, number(end - 5, 2))
        off_m = np.where(zulu, 0, number(end - 2, 2))
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
        valid = (
            (year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12) & (day >= 1)
            & (day <= month_days + (leap & (month == 2))) & (hour <= 23) & (minute <= 59) & (second <= 59)
            & (off_h <= 23) & (off_m <= 59)
        )
        # days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
        y = year - (month <= 2)
        era = y // 400
        yoe = y - era * 400
        doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
        days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
        seconds = days * 86400 + hour * 3600 + minute * 60 + second - sign * (off_h * 3600 + off_m * 60)
        at = np.flatnonzero(shaped)[valid]
        us[at] = (seconds * 1_000_000 + micro)[valid]
        ok[at] = (us[at] >= _MIN_US) & (us[at] < _MAX_US)
        shaped[np.flatnonzero(shaped)[~valid]] = False
    rest = np.flatnonzero(todo & ~shaped)
    if len(rest):
        for i, value in zip(rest.tolist(), column.take(pa.array(rest)).to_pylist()):
            ts = parse_ts(value)
            if ts is not None:
                us[i], ok[i] = (ts - _EPOCH) // _US, True
    return us, ok
