"""The input edge: raw partition files in, checked rows and quarantine rows (with a reason) out.

Every physical input row ends up in exactly one of the two lists; a reason names a field or a rule,
never a value, so reasons are safe to count in reports. Files that are not read (an unsupported extension,
a hidden file) and files without any row are counted, never skipped silently; a symlink that leads out of
the raw root is refused unless the run allows it. The raw root may be a URL (pipeline.storage): files are then
listed and streamed through fsspec, never copied whole.
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq
import zstandard

from pipeline.contracts import ROSTER_FIELDS, SOURCES, UNKNOWN, SourceContract
from pipeline.errors import UserError
from pipeline.roster import Employee, Roster
from pipeline.storage import is_remote, location, open_input

# JSON Lines (`.json` may also hold one JSON array of objects), plain or compressed, and Parquet.
TEXT_FORMATS = (".jsonl", ".json")
COMPRESSIONS = ("", ".gz", ".bz2", ".zst")
SUFFIXES = (".parquet", *(f + c for f in TEXT_FORMATS for c in COMPRESSIONS))
MIN_TS = datetime(1990, 1, 1, tzinfo=UTC)
MAX_TS = datetime(2100, 1, 1, tzinfo=UTC)
DEFAULT_BATCH_ROWS = 20_000  # rows per batch when a text partition is streamed (policy: run.batch_rows)
PARQUET_READ_ROWS = 10_000
_SURROGATE = re.compile("[\ud800-\udfff]")
READ_ERRORS = (OSError, EOFError, zstandard.ZstdError)


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

    files: list[Path]  # a UPath each under a URL root
    skipped: dict[str, int]


def partition_dir(raw_root: str | Path, source: str, ds: str) -> Path:
    return location(raw_root) / source / f"ds={ds}"


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
    if follow_symlinks or is_remote(raw_root):  # object stores have no symlinks
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
    root = location(raw_root)
    sources = [name for name in SOURCES if partition_files(raw_root, name, ds, follow_symlinks)]
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
        for line_no, raw_line, record, problem in file_records(path):
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
        for _, _, record, problem in file_records(path):
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


@contextmanager
def open_binary(path: Path) -> Iterator[IO[bytes]]:
    """A raw file's bytes, decompressed by its suffix (.gz, .bz2, .zst; several zstd frames are read on),
    streamed from the local disk or through fsspec; the file is closed when the block ends."""
    name = path.name
    with open_input(path) as handle:
        if name.endswith(".gz"):
            with gzip.GzipFile(fileobj=handle, mode="rb") as data:
                yield data
        elif name.endswith(".bz2"):
            with bz2.BZ2File(handle, "rb") as data:
                yield data
        elif name.endswith(".zst"):
            with zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True, closefd=False) as data:
                yield data
        else:
            yield handle


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


def is_json_array(path: Path) -> bool:
    """Whether a `.json` file holds one JSON array (else it is read as JSON Lines, as Spark writes them)."""
    if not path.name.removesuffix(path.suffix if path.suffix in COMPRESSIONS else "").endswith(".json"):
        return False
    with open_binary(path) as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


def file_records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    """(line number, raw text, parsed record or None, problem or None) for each row of a file."""
    try:
        if path.name.endswith(".parquet"):
            yield from _parquet_records(path)
        elif is_json_array(path):
            yield from _array_records(path)
        else:
            yield from _line_records(path)
    except READ_ERRORS as exc:
        raise InputError(f"cannot read {path.name}: {type(exc).__name__}") from None


def _parquet_records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    # Row group by row group (in slices of PARQUET_READ_ROWS), so a large file is never all in memory.
    line_no = 0
    try:
        with open_input(path) as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=PARQUET_READ_ROWS):
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
            yield (i, line, *parse_line(line))


def parse_line(line: str) -> tuple[Any, str | None]:
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
    path = location(path)
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
            record, problem = parse_line(line)
            if problem == "invalid_json":
                raise InputError(f"roster {path.name} line {i}: not valid JSON")
            yield i, record if problem is None else line
