"""Fuzzing the raw schemas: random JSON values, strings with any code point (lone surrogates included), invalid
UTF-8 and oversized fields drive the readers, keystroke replay and masking, the events builder and the text path.
Properties: nothing crashes, every input row is accounted for, and what comes out has the output schema.

The number of examples is bounded for CI (SCRUBLINE_FUZZ_EXAMPLES, default 30 per test); docs/design.md says
how to run the long campaign."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.behaviour import build_events
from pipeline.contracts import EVENTS_SCHEMA, QUARANTINE_SCHEMA, SOURCES, STAGED_SCHEMAS, UNKNOWN
from pipeline.keystrokes import mask_events, replay
from pipeline.policy import Policy, load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.read import read_partition
from pipeline.read_columnar import read_columnar, rows_table

DS = "2026-11-26"
EXAMPLES = int(os.environ.get("SCRUBLINE_FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
REASON = re.compile(
    r"^(invalid_json|not_an_object|blank_line|invalid_utf8|duplicate_key"
    r"|(missing_field|bad_type|bad_value|bad_unicode):[a-z_]+)$"
)
KEYS = Pseudonymizer(b"f" * 32)

# Strings with any code point, surrogates included; now and then one oversized.
any_char = st.characters(exclude_categories=[])
any_text = st.text(any_char, max_size=24) | st.builds(lambda c, n: c * n, st.text(any_char, min_size=1, max_size=3),
                                                      st.integers(500, 3_000))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
timestamps = st.one_of(
    st.datetimes(min_value=datetime(1985, 1, 1), max_value=datetime(2105, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")),
    st.integers(400_000_000_000, 4_200_000_000_000),
    any_text,
)
VOCABULARY_SAMPLES = {"action": ["down", "up", "move", "click", "scroll", "drag"], "button": ["left", "right"],
                      "field_kind": ["text", "password", "code", "email"], "channel_kind": ["dm", "group", "public"],
                      "key": ["a", "B", " ", "Enter", "Backspace", "ArrowLeft", "Paste", "Shift", "Tab"]}


def field_value(name: str, kind: str, clean: bool) -> st.SearchStrategy[Any]:
    """A value of the field's kind (any code point in strings, oversized now and then); for a row that is not
    `clean`, sometimes any JSON value at all."""
    typed = {
        "str": st.sampled_from(VOCABULARY_SAMPLES.get(name, ["E1", "E2", "S1"])) | any_text,
        "ts": st.integers(1_764_115_200_000, 1_764_201_599_999) if clean else timestamps,
        "float": st.floats(allow_nan=False, allow_infinity=False, width=32) | st.integers(-5000, 5000),
        "bool": st.booleans(),
        "str_list": st.lists(st.sampled_from(["Shift", "Control", "E2"]) | any_text, max_size=3),
    }[kind]
    return typed if clean else st.one_of(typed, typed, json_values)


@st.composite
def raw_lines(draw: st.DrawFn, source: str) -> list[bytes]:
    """Up to 14 lines: half of them rows of the right shape (whose strings may still hold anything), the rest
    chaos: missing fields, values of any JSON type, cut lines, bad bytes, blank lines, non-objects."""
    contract = SOURCES[source]
    out = []
    for i in range(draw(st.integers(0, 14))):
        clean = draw(st.booleans())
        record: dict[str, Any] = {}
        for f in contract.fields:
            if not clean and draw(st.integers(0, 9)) == 0:
                continue  # a missing field
            record[f.name] = draw(field_value(f.name, f.kind, clean))
        for key in contract.key_fields:
            record[key] = f"id-{i}" if draw(st.integers(0, 4)) else "id-dup"
        try:
            line = json.dumps(record, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
        except ValueError:  # a float JSON cannot hold: written the way some producers write it
            line = json.dumps(record, allow_nan=True).encode()
        if not clean:
            line = draw(st.sampled_from([line, line, line[: len(line) // 2], b"\xff" + line, b"", b"[1]"]))
        out.append(line)
    return out


def write_partition(root: Path, source: str, lines: list[bytes]) -> None:
    folder = root / source / f"ds={DS}"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_bytes(b"".join(line.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n" for line in lines))


@pytest.mark.parametrize("source", list(SOURCES))
@FUZZ
@given(data=st.data())
def test_readers_account_for_every_line_and_agree(source: str, data: st.DataObject) -> None:
    lines = data.draw(raw_lines(source))
    with tempfile.TemporaryDirectory() as tmp:
        write_partition(Path(tmp), source, lines)
        rows, columns = read_partition(tmp, source, DS), read_columnar(tmp, source, DS)
    assert rows.input_rows == columns.input_rows == len(lines)
    assert columns.table.to_pylist() == rows.rows and columns.quarantine == rows.quarantine
    assert all(REASON.match(q["reason"]) for q in rows.quarantine), {q["reason"] for q in rows.quarantine}
    rows_table(SOURCES[source], rows.rows)  # checked rows fit the checked schema ...
    pa.Table.from_pylist(rows.quarantine, schema=QUARANTINE_SCHEMA)  # ... and quarantine rows can be stored
    for name, vocabulary in SOURCES[source].vocabulary.items():
        assert {r[name] for r in rows.rows} - {None} <= vocabulary


@pytest.mark.parametrize("source", ["keystrokes", "mouse"])
@FUZZ
@given(data=st.data())
def test_replay_masking_and_events_keep_every_event_in_the_events_schema(source: str, data: st.DataObject) -> None:
    lines = data.draw(raw_lines(source))
    with tempfile.TemporaryDirectory() as tmp:
        write_partition(Path(tmp), source, lines)
        events = read_columnar(tmp, source, DS).table
    settings_ = load_policy().events
    if source == "keystrokes":
        replayed = replay(events)
        assert len(replayed.segment_of) == events.num_rows
        events = mask_events(events, replayed, {}, {})
        assert set(events["key_class"].to_pylist()) <= {"letter", "digit", "space", "punct", "redacted", "masked",
                                                        "unknown"} | {f"named:{k}" for k in _named_keys()}
    table = build_events(source, events, settings_, KEYS, (0.1, 0.1))
    assert table.schema.equals(EVENTS_SCHEMA) and table.num_rows == events.num_rows
    vocabulary = SOURCES[source].vocabulary
    assert set(table["action"].to_pylist()) <= vocabulary["action"]
    assert set(table["button"].drop_null().to_pylist()) <= vocabulary.get("button", {UNKNOWN})


def _named_keys() -> frozenset[str]:
    from pipeline.keystrokes import NAMED_KEYS

    return NAMED_KEYS


def _small_windows() -> Policy:
    policy = load_policy()
    raw = json.loads(json.dumps(policy.raw))
    raw["nlp"].update(window_chars=1_000, window_overlap_chars=100)  # oversized fields go through windows
    return Policy(raw=raw, sha256="fuzz-small-windows")


@FUZZ
@given(data=st.data())
def test_the_text_path_publishes_or_drops_every_checked_row_in_the_text_schema(data: st.DataObject) -> None:
    from pipeline.datasets import scrub_text_rows
    from pipeline.roster import Roster

    lines = data.draw(raw_lines("chat"))
    with tempfile.TemporaryDirectory() as tmp:
        write_partition(Path(tmp), "chat", lines)
        rows = read_partition(tmp, "chat", DS).rows
    counts: dict[str, Any] = {}
    table = scrub_text_rows(DS, "chat", rows, POLICY, KEYS, Roster(), counts)
    assert table.schema.equals(STAGED_SCHEMAS["text"])
    assert table.num_rows + sum(counts["dropped"].values()) == len(rows)
    assert set(table["context"].to_pylist()) <= {"dm", "group", "public"}


POLICY = _small_windows()
