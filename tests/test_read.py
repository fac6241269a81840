"""The input edge: every row is either checked and kept, or quarantined with a reason naming a rule."""

from __future__ import annotations

import gzip
import itertools
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeline.read_columnar as columnar_reader
from pipeline import read
from pipeline.contracts import SOURCES
from pipeline.read import InputError, parse_ts, read_partition, read_roster, sources_present
from pipeline.read_columnar import checked_schema, read_columnar

DS = "2026-11-26"
GOOD = {
    "message_id": "m1",
    "ts": "2026-11-26T09:14:03+01:00",
    "employee_id": "E1",
    "channel_id": "C1",
    "channel_kind": "dm",
    "recipient_ids": ["E2"],
    "thread_id": None,
    "text": "hello",
}


def write_lines(path: Path, lines: list[str], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_good_rows_are_normalised(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl.gz", [json.dumps(GOOD)], gz=True)
    part = read_partition(tmp_path, "chat", DS)
    assert part.quarantine == []
    assert part.rows[0]["ts"] == datetime(2026, 11, 26, 8, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
        (json.dumps({**GOOD, "text": 42}), "bad_type:text"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "employee_id"}), "missing_field:employee_id"),
        (json.dumps({**GOOD, "channel_kind": "secret-room"}), "bad_value:channel_kind"),
        (json.dumps({**GOOD, "ts": "2026-11-26T09:14:03"}), "bad_type:ts"),
        (json.dumps({**GOOD, "recipient_ids": "E2"}), "bad_type:recipient_ids"),
    ],
)
def test_bad_rows_are_quarantined_with_a_reason(tmp_path: Path, line: str, reason: str) -> None:
    other = json.dumps({**GOOD, "message_id": "m2"})
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD), line, other])
    part = read_partition(tmp_path, "chat", DS)
    assert [r["message_id"] for r in part.rows] == ["m1", "m2"]
    assert [(q["reason"], q["line"]) for q in part.quarantine] == [(reason, 2)]
    assert part.quarantine[0]["raw"] == line
    assert part.input_rows == 3


def test_duplicate_keys_are_quarantined(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD), json.dumps(GOOD)])
    part = read_partition(tmp_path, "chat", DS)
    assert len(part.rows) == 1 and part.quarantine[0]["reason"] == "duplicate_key"


def test_parquet_input_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "chat" / f"ds={DS}"
    folder.mkdir(parents=True)
    rows = [{**GOOD, "ts": 1764144843000}, {**GOOD, "message_id": "m2", "ts": 1764144843000}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "a.parquet")
    part = read_partition(tmp_path, "chat", DS)
    assert len(part.rows) == 2 and not part.quarantine


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "chat" / f"ds={DS}" / "a.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="a.jsonl.gz"):
        read_partition(tmp_path, "chat", DS)


def test_sources_present_lists_known_sources_with_files(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    write_lines(tmp_path / "unknown" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    (tmp_path / "transcripts" / f"ds={DS}").mkdir(parents=True)
    assert sources_present(tmp_path, DS) == ["chat"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2026-11-26T09:00:00Z", True), (1764144843000, True), ("yesterday", False), (True, False), (10**20, False)],
)
def test_parse_ts(value: object, ok: bool) -> None:
    assert (parse_ts(value) is not None) is ok


def test_roster_needs_ids_and_names(tmp_path: Path) -> None:
    path = tmp_path / "roster.jsonl"
    path.write_text(json.dumps({"employee_id": "E1", "full_name": "Ada Lovelace"}) + "\n" + json.dumps({"employee_id": "E2"}) + "\n")
    with pytest.raises(InputError, match="line 2: employee_id and full_name are required"):
        read_roster(path)


# --- columnar read of events partitions: the same rows and quarantine as read_partition -----------

KEY_ROW = {
    "event_id": "k0", "ts": 1764144843000, "employee_id": "E1", "device_id": "D1", "session_id": "S1", "app": "Slack",
    "window_title": "#general", "field_id": "composer", "field_kind": "text", "key": "a", "action": "down",
    "modifiers": ["Shift"], "text": None,
}
MOUSE_ROW = {
    "event_id": "m0", "ts": "2026-11-26T09:14:03.250+01:00", "employee_id": "E1", "device_id": "D1",
    "session_id": "S1", "app": "Chrome", "window_title": "Jira", "action": "click", "x": 10.5, "y": 3, "button": "left",
    "screen_w": 1920, "screen_h": 1080,
}
BASE = {"keystrokes": KEY_ROW, "mouse": MOUSE_ROW, "chat": GOOD}
TS_VALUES = [
    "2026-11-26T09:14:03Z", "2026-11-26T09:14:03.123456-05:30", "2026-11-26T09:14:03.5Z", "2026-11-26T09:14:03.1234567Z",
    "2026-11-26 09:14:03+00:00", "2026-11-26T09:14:03", "2026-11-31T09:14:03Z", "2024-02-29T23:59:59+23:59",
    "2026-02-29T09:14:03Z", "2026-11-26T24:00:00Z", "2026-11-26T23:59:60Z", "1989-12-31T23:59:59.999999Z",
    "2100-01-01T00:59:59+01:00", "2100-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2026-11-26T09:14:03+24:00",
    "2026-W48-4T09:00:00Z", "20261126T091403Z", "2026-11-26T09:14:03,5Z", "２０２６-11-26T09:14:03Z", "1764144843000",
    1764144843000.5, 1764144843000.25, 631152000000, 631151999999.9995, 4102444799999.9995, 4102444800000, -5, 0,
    1e20, True, [], {}, None,
]


def tricky_lines(source: str) -> list[str | bytes]:
    """Lines on which json.loads and pyarrow.json disagree, or that sit at the edges of the checks (each
    with a key of its own, so that what passes is compared value by value)."""
    ids = (f"t{i}" for i in itertools.count())
    key = SOURCES[source].key_fields[0]

    def row(**changes: object) -> dict[str, object]:
        return {**BASE[source], key: next(ids), **changes}

    def dumped(**changes: object) -> str:
        return json.dumps(row(**changes))

    lines: list[str | bytes] = [dumped(), json.dumps(row(), separators=(",", ":")), json.dumps(row(), ensure_ascii=True)]
    lines += [dumped(ts=ts) for ts in TS_VALUES]
    lines += [dumped(**{name: value}) for name in BASE[source] for value in (None, 7, -0.0, True, "x", ["x", None], [1])]
    lines += [json.dumps({k: v for k, v in row().items() if k != name}) for name in BASE[source]]
    lines += [
        "", "   ", "\x1c", "[1, 2]", "null", "{}", "{not json", dumped() + " " + dumped(), dumped() + dumped(),
        dumped()[:-1], "\ufeff" + dumped(), "  " + dumped(), dumped() + "\t", dumped().replace('"ts"', '"t\\u0073"'),
        dumped()[:-1] + ', "ts": 1764144843001}', dumped()[:-1] + ', "extra": {"ts": "nested"}}',
        dumped()[:-1] + ', "extra": 1, "extra": 2}', dumped()[:-1] + ', "z": "\\ud800"}', dumped()[:-1] + ', "z": 1e400}',
        *(dumped()[:-1] + f', "z": {token}}}' for token in ("NaN", "-NaN", "Inf", "-Inf", "Infinity", "-Infinity")),
        dumped(ts=1764144843000).replace("1764144843000", "-NaN"), dumped().replace(": ", " : "),
        dumped().encode()[:-2] + b'\xff"}', dumped().encode()[:-2] + b'\xed\xa0\x80"}', b"\xe2\x82" + dumped().encode(),
    ]
    return lines


def write_raw(path: Path, lines: list[str | bytes], newline: bytes = b"\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = newline.join(line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass") for line in lines)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def assert_same_read(root: Path, source: str) -> None:
    old, new = read_partition(root, source, DS), read_columnar(root, source, DS)
    assert new.table.to_pylist() == old.rows
    assert new.quarantine == old.quarantine
    assert (new.files, new.input_rows) == (old.files, old.input_rows)


@pytest.mark.parametrize("source", ["keystrokes", "mouse", "chat"])
def test_columnar_read_matches_read_partition_on_tricky_lines(tmp_path: Path, source: str) -> None:
    folder = tmp_path / source / f"ds={DS}"
    lines = tricky_lines(source)
    key = SOURCES[source].key_fields[0]
    numbered = [json.dumps({**BASE[source], key: f"id-{i}"}) for i in range(30)]
    write_raw(folder / "a.jsonl", lines + numbered)
    write_raw(folder / "b.jsonl.gz", numbered[::3] + lines[::-1], newline=b"\r\n")  # duplicates of a's ids
    write_raw(folder / "c.jsonl", [*lines[:5], b"\r".join(x.encode() for x in numbered[:4])], newline=b"\r")
    pq.write_table(pa.Table.from_pylist([{**BASE[source], "ts": 1764144843000}] * 2), folder / "d.parquet")
    assert_same_read(tmp_path, source)
    assert read_columnar(tmp_path, source, DS).table.schema == checked_schema(SOURCES[source])


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_columnar_read_in_small_blocks_splits_failing_parses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newline: bytes
) -> None:
    monkeypatch.setattr(columnar_reader, "COLUMNAR_BLOCK_BYTES", 300)
    monkeypatch.setattr(columnar_reader, "_JSON_LINES", 5)
    lines = tricky_lines("keystrokes") + [json.dumps({**KEY_ROW, "event_id": f"k{i}"}) for i in range(40)]
    write_raw(tmp_path / "keystrokes" / f"ds={DS}" / "a.jsonl", lines, newline=newline)
    assert_same_read(tmp_path, "keystrokes")


def test_columnar_read_of_no_files_and_empty_files(tmp_path: Path) -> None:
    assert read_columnar(tmp_path, "mouse", DS).table.num_rows == 0
    write_raw(tmp_path / "mouse" / f"ds={DS}" / "a.jsonl", [])
    assert_same_read(tmp_path, "mouse")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["keystrokes", "mouse"]), st.data())
def test_columnar_read_matches_read_partition_on_random_lines(source: str, data: st.DataObject) -> None:
    base = BASE[source]
    lines = []
    for i in range(data.draw(st.integers(0, 25))):
        row = {**base, "event_id": data.draw(st.sampled_from([f"id-{i}", "dup"]))}
        for name in data.draw(st.lists(st.sampled_from([*base, "extra"]), max_size=3)):
            row[name] = data.draw(json_values | st.sampled_from(TS_VALUES))
        line = json.dumps(row, ensure_ascii=data.draw(st.booleans()))
        lines.append(data.draw(st.sampled_from([line, line[: len(line) // 2], line + "x", " " + line, ""])))
    with tempfile.TemporaryDirectory() as tmp:
        write_raw(Path(tmp) / source / f"ds={DS}" / "a.jsonl", lines)
        assert_same_read(Path(tmp), source)


# --- issue 13: inputs that used to fail the night, leak, or be skipped silently ---------------------------------


def test_a_lone_surrogate_in_text_or_id_quarantines_the_row(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD),
        json.dumps({**GOOD, "message_id": "m2", "text": "broken \ud800 text"}),
        json.dumps({**GOOD, "message_id": "m\udfff3"}),
        json.dumps({**GOOD, "message_id": "m4", "recipient_ids": ["E\ud800"]}),
    ]
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", lines)
    part = read_partition(tmp_path, "chat", DS)
    assert [r["message_id"] for r in part.rows] == ["m1"]
    assert [(q["line"], q["reason"]) for q in part.quarantine] == [
        (2, "bad_unicode:text"), (3, "bad_unicode:message_id"), (4, "bad_unicode:recipient_ids")]
    assert part.input_rows == 4
    assert all(q["raw"].isascii() for q in part.quarantine), "the raw line keeps the JSON escape, so it can be stored"


def test_invalid_utf8_is_quarantined_with_its_bytes_escaped(tmp_path: Path) -> None:
    path = tmp_path / "keystrokes" / f"ds={DS}" / "a.jsonl"
    path.parent.mkdir(parents=True)
    good = json.dumps(KEY_ROW).encode()
    bad = json.dumps({**KEY_ROW, "event_id": "k1", "text": "caf"}).encode().replace(b"caf", b"caf\xe9")
    path.write_bytes(good + b"\n" + bad + b"\n")
    for part in (read_partition(tmp_path, "keystrokes", DS), read_columnar(tmp_path, "keystrokes", DS)):
        assert [(q["line"], q["reason"]) for q in part.quarantine] == [(2, "invalid_utf8")]
        assert "caf\\xe9" in part.quarantine[0]["raw"] and "\ufffd" not in part.quarantine[0]["raw"]
        assert part.input_rows == 2


@pytest.mark.parametrize("source", ["keystrokes", "mouse"])
def test_values_outside_a_closed_vocabulary_become_unknown_and_are_counted(tmp_path: Path, source: str) -> None:
    base = BASE[source]
    odd = {"keystrokes": {"action": "press-zz91", "field_kind": "secret-field-kind-zz91"},
           "mouse": {"action": "wiggle-zz91", "button": "button-zz91"}}[source]
    rows = [base, {**base, "event_id": "x1", **odd}, {**base, "event_id": "x2", **{k: None for k in odd if k != "action"}}]
    write_lines(tmp_path / source / f"ds={DS}" / "a.jsonl", [json.dumps(r) for r in rows])
    for part in (read_partition(tmp_path, source, DS), read_columnar(tmp_path, source, DS)):
        rows_out = part.rows if hasattr(part, "rows") else part.table.to_pylist()
        assert not part.quarantine
        assert {k: rows_out[1][k] for k in odd} == {k: "unknown" for k in odd}
        assert {k: rows_out[0][k] for k in odd} == {k: base[k] for k in odd}, "known values are kept"
        assert part.unknown_values == {k: 1 for k in odd}
        assert "zz91" not in json.dumps(rows_out, default=str)


def test_the_gates_know_the_closed_vocabularies() -> None:
    """The published-data suites check the same vocabularies the reader enforces (kept in step by this test)."""
    from pipeline.contracts import FIELD_KINDS, KEY_ACTIONS, MOUSE_ACTIONS, MOUSE_BUTTONS
    from pipeline.validate import load_suite

    def value_set(dataset: str, column: str) -> set[str]:
        return next(set(e["kwargs"]["value_set"]) for e in load_suite(dataset)["expectations"]
                    if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == column)

    assert value_set("events", "action") == KEY_ACTIONS | MOUSE_ACTIONS
    assert value_set("events", "button") == MOUSE_BUTTONS
    assert value_set("text", "context") == {"dm", "group", "public", "meeting"} | {f"typed:{k}" for k in FIELD_KINDS}


def test_unsupported_hidden_and_empty_files_are_counted(tmp_path: Path) -> None:
    folder = tmp_path / "chat" / f"ds={DS}"
    write_lines(folder / "a.jsonl", [json.dumps(GOOD)])
    (folder / "b.jsonl").write_bytes(b"")
    (folder / "notes.csv").write_text("x\n")
    (folder / "_SUCCESS").write_text("")
    (folder / ".a.jsonl.crc").write_text("")
    (folder / "sub.jsonl").mkdir()
    for part in (read_partition(tmp_path, "chat", DS), read_columnar(tmp_path, "chat", DS)):
        assert part.files == 2 and part.empty_files == 1 and part.input_rows == 1
        assert part.skipped == {"hidden_file": 2, "not_a_file": 1, "unsupported_extension": 1}


def test_unknown_source_folders_are_listed_and_not_read(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    write_lines(tmp_path / "chatt" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    write_lines(tmp_path / "Weird Name!" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    write_lines(tmp_path / "_quarantine" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    write_lines(tmp_path / "email" / "ds=2026-01-01" / "a.jsonl", [json.dumps(GOOD)])
    layout = read.raw_layout(tmp_path, DS)
    assert layout.sources == ["chat"]
    assert layout.unknown_folders == {"chatt": 1, "other": 1}, "an unusual folder name is counted, not shown"


@pytest.mark.parametrize("name", ["a.jsonl.zst", "a.jsonl.bz2", "a.json", "a.json.gz", "b.json", "b.json.zst"])
def test_json_zstd_and_bzip2_inputs_are_read(tmp_path: Path, name: str) -> None:
    import bz2

    import zstandard

    rows = [GOOD, {**GOOD, "message_id": "m2"}]
    array = name.startswith("b.")
    data = (json.dumps(rows) if array else "\n".join(json.dumps(r) for r in rows) + "\n").encode()
    if name.endswith(".zst"):
        half = len(data) // 2  # two zstd frames, as a concatenating writer makes them
        data = zstandard.ZstdCompressor().compress(data[:half]) + zstandard.ZstdCompressor().compress(data[half:])
    elif name.endswith(".bz2"):
        data = bz2.compress(data)
    elif name.endswith(".gz"):
        data = gzip.compress(data)
    path = tmp_path / "chat" / f"ds={DS}" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    for part in (read_partition(tmp_path, "chat", DS), read_columnar(tmp_path, "chat", DS)):
        rows_out = part.rows if hasattr(part, "rows") else part.table.to_pylist()
        assert [r["message_id"] for r in rows_out] == ["m1", "m2"] and not part.quarantine


def test_a_symlink_out_of_the_raw_root_is_refused_unless_allowed(tmp_path: Path) -> None:
    raw, outside = tmp_path / "raw", tmp_path / "outside"
    write_lines(outside / "secret.jsonl", [json.dumps(GOOD)])
    write_lines(outside / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    (raw / "chat" / f"ds={DS}").mkdir(parents=True)
    (raw / "chat" / f"ds={DS}" / "a.jsonl").symlink_to(outside / "secret.jsonl")
    with pytest.raises(InputError, match=r"raw input chat/ds=2026-11-26/a.jsonl is a symlink to a place outside"):
        read_partition(raw, "chat", DS)
    with pytest.raises(InputError, match="outside the raw root"):
        read.raw_layout(raw, DS)
    assert len(read_partition(raw, "chat", DS, follow_symlinks=True).rows) == 1
    (raw / "transcripts").mkdir()
    (raw / "transcripts" / f"ds={DS}").symlink_to(outside / f"ds={DS}", target_is_directory=True)
    with pytest.raises(InputError, match=r"raw input transcripts/ds=2026-11-26 is a symlink"):
        read_partition(raw, "transcripts", DS)
    inside = raw / "elsewhere.jsonl"
    write_lines(inside, [json.dumps({**GOOD, "message_id": "in"})])
    (raw / "chat" / f"ds={DS}" / "a.jsonl").unlink()
    (raw / "chat" / f"ds={DS}" / "a.jsonl").symlink_to(inside)
    assert [r["message_id"] for r in read_partition(raw, "chat", DS).rows] == ["in"], "links inside the root are fine"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"employee_id": "E1", "full_name": "A B"}, {"employee_id": "E2", "full_name": "C D"},
          {"employee_id": "E1", "full_name": "E F"}], "roster r.jsonl line 3: employee_id repeats the one on line 1"),
        ([{"employee_id": "E1", "full_name": "A B", "email": 7}], "roster r.jsonl line 1: email must be a string"),
        ([{"employee_id": "E1", "full_name": "A \ud800"}], "line 1: full_name holds a lone surrogate"),
        (["not json"], "roster r.jsonl line 1: not valid JSON"),
        ([[1, 2]], "roster r.jsonl line 1: not a JSON object"),
    ],
)
def test_a_bad_roster_is_refused_with_its_line(tmp_path: Path, lines: list, message: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    with pytest.raises(InputError) as refused:
        read_roster(path)
    assert str(refused.value).startswith(message) or message in str(refused.value)


def test_a_csv_roster_with_a_duplicate_or_bad_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("employee_id,full_name\nE1,A B\nE1,C D\n")
    with pytest.raises(InputError, match="roster r.csv line 3: employee_id repeats the one on line 2"):
        read_roster(path)
    path.write_bytes(b"employee_id,full_name\nE1,A \xff\n")
    with pytest.raises(InputError, match="roster r.csv line 2: not valid UTF-8"):
        read_roster(path)
    path.write_text("id,name\nE1,A\n")
    with pytest.raises(InputError, match="the header lacks employee_id, full_name"):
        read_roster(path)
