"""The columnar reader of key and mouse partitions: `read_partition`'s checks and quarantine rows, as Arrow
columns.

`read_partition` builds one dict per row, and an events partition holds millions of rows; its sources are
read with `read_columnar` instead: the same checks and quarantine rows, as Arrow columns. Lines that
pyarrow.json parses to exactly what `json.loads` gives are checked with compute kernels. Every other line
(blank, not one object, invalid UTF-8, NaN/Infinity tokens, duplicate fields, a value of an unexpected
JSON type) goes through `json.loads` and `check_row` one by one, as in `read_partition`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from pipeline.columns import value_codes
from pipeline.contracts import SOURCES, UNKNOWN, SourceContract
from pipeline.read import (
    MAX_TS,
    MIN_TS,
    PARQUET_READ_ROWS,
    READ_ERRORS,
    InputError,
    check_row,
    escaped,
    file_records,
    is_json_array,
    list_partition,
    open_binary,
    parse_line,
    parse_ts,
)

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
    """The raw text of some lines (rows, in Parquet and JSON arrays) of a file, exactly as `file_records` gives it."""
    return {i: raw for i, raw, _, _ in file_records(path) if i in wanted}


def _checked_pieces(contract: SourceContract, path: Path) -> Iterator[tuple[pa.Table, list[tuple[int, str, str]]]]:
    """(checked rows with their `_line`, quarantined (line, reason, raw)) for each piece of a file."""
    if path.name.endswith(".parquet") or is_json_array(path):  # rare for events sources, so not vectorised
        yield from _record_pieces(contract, path)
        return
    line = 1
    for block in _line_blocks(path):
        table, quarantined, lines = _check_block(contract, path, block, line)
        line += lines
        yield table, quarantined


def _record_pieces(contract: SourceContract, path: Path) -> Iterator[tuple[pa.Table, list[tuple[int, str, str]]]]:
    """A Parquet file record by record, through `file_records` and `check_row` as `read_partition` reads it."""
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    bad: list[tuple[int, str, str]] = []
    for line_no, raw, record, problem in file_records(path):
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
    except READ_ERRORS as exc:
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
    """One line the slow way: what `file_records` and `check_row` make of it."""
    if not raw.strip():
        return None, "blank_line"
    record, problem = parse_line(raw)
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
