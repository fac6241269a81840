"""Dialogue order without exact time: `turn` numbers each utterance in its conversation (channel, meeting or
typing session) by the exact time, which stays in staging; the published `ts` is still cut to the minute.
Events keep `seq` within their session and source. The suites hold both to one place per row."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from pipeline.contracts import PUBLISHED_SCHEMAS, TEXT_SCHEMA, with_night
from pipeline.datasets import number_turns, text_table
from pipeline.pseudonym import Pseudonymizer
from pipeline.redact import Redacted
from pipeline.utterances import Utterance
from pipeline.validate import validate_table

KEYS = Pseudonymizer(b"turn-test-key-0123456789abcdef-012345")
START = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


def _staged(said: list[tuple[str, str, timedelta]]) -> pa.Table:
    """Staged text rows for (record, conversation, offset from 09:00) triples, in the order given."""
    utterances = [
        Utterance(record_key=r, user_key=f"E{i % 3}", conversation_key=c, context="dm", ts=START + dt, text=f"line {r}")
        for i, (r, c, dt) in enumerate(said)
    ]
    return text_table("chat", utterances, [Redacted(u.text) for u in utterances], KEYS, (0.1, 0.1))


def test_turns_follow_the_exact_time_within_each_conversation_and_hide_it() -> None:
    said = [(f"a{i}", "alpha", timedelta(seconds=7 * i)) for i in range(8)]  # all within 09:00-09:01
    said += [(f"b{i}", "beta", timedelta(seconds=50 - 5 * i, microseconds=i)) for i in range(5)]
    said += [("typed-0", "session:E1/dev/s1", timedelta(minutes=3)), ("typed-1", "session:E1/dev/s1", timedelta(minutes=2))]
    random.Random(7).shuffle(said)
    table = number_turns(_staged(said))
    assert table.schema.equals(TEXT_SCHEMA), "the exact time does not leave staging"
    by_record = {r: t for r, t in zip(table["text"].to_pylist(), table["turn"].to_pylist(), strict=True)}
    assert [by_record[f"line a{i}"] for i in range(8)] == list(range(1, 9))
    assert [by_record[f"line b{i}"] for i in range(5)] == [5, 4, 3, 2, 1], "later exact time, later turn"
    assert by_record["line typed-1"] == 1 and by_record["line typed-0"] == 2, "typing sessions are conversations too"
    assert len(set(table["ts"].to_pylist())) == 3, "published times are still cut to the minute"


def test_ties_in_exact_time_are_broken_the_same_way_every_run() -> None:
    said = [(f"t{i}", "gamma", timedelta(0)) for i in range(6)]
    runs = []
    for seed in range(3):
        shuffled = said[:]
        random.Random(seed).shuffle(shuffled)
        table = number_turns(_staged(shuffled))
        runs.append(sorted(zip(table["record_pid"].to_pylist(), table["turn"].to_pylist(), strict=True)))
    assert runs[0] == runs[1] == runs[2] and sorted(t for _, t in runs[0]) == list(range(1, 7))


def test_an_empty_night_numbers_nothing() -> None:
    assert number_turns(_staged([])).num_rows == 0


def _published(said: list[tuple[str, str, timedelta]]) -> pa.Table:
    return with_night(number_turns(_staged(said)), "2026-11-26")


def _failed(table: pa.Table) -> set[tuple[str, str | None]]:
    outcome = validate_table(table, "text", {"expected_rows": table.num_rows})
    return {(r.expectation, r.column) for r in outcome.results if not r.success}


def test_the_suite_holds_turns_to_one_place_each() -> None:
    table = _published([(f"a{i}", "alpha", timedelta(seconds=i)) for i in range(4)])
    assert table.schema.names == PUBLISHED_SCHEMAS["text"].names
    assert _failed(table) == set()
    turn = table.schema.get_field_index("turn")
    repeated = table.set_column(turn, table.schema.field(turn), pa.array([1, 2, 2, 3], pa.int32()))
    assert _failed(repeated) == {("expect_compound_columns_to_be_unique", None)}
    zero = table.set_column(turn, table.schema.field(turn), pa.array([0, 1, 2, 3], pa.int32()))
    assert _failed(zero) == {("expect_column_values_to_be_between", "turn")}


def test_events_keep_one_place_each_in_their_session() -> None:
    n = 4
    events = with_night(pa.table({
        "user_pid": [KEYS.pid("user", "E1")] * n, "session_pid": [KEYS.pid("session", "E1/d/s")] * n,
        "source": ["mouse"] * n, "app_category": ["ide"] * n, "seq": pa.array(range(n), pa.int32()),
        "t_ms": pa.array([0, 10, 20, 30], pa.int64()), "action": ["move"] * n, "key": pa.nulls(n, pa.string()),
        "key_class": pa.nulls(n, pa.string()), "x": pa.array([0.5] * n, pa.float32()), "y": pa.array([0.5] * n, pa.float32()),
        "button": pa.nulls(n, pa.string()), "split": ["train"] * n,
    }, schema=pa.schema(list(PUBLISHED_SCHEMAS["events"])[:-1])), "2026-11-26")

    def failed(table: pa.Table) -> set[tuple[str, str | None]]:
        outcome = validate_table(table, "events", {"expected_rows": n})
        return {(r.expectation, r.column) for r in outcome.results if not r.success}

    assert failed(events) == set()
    seq = events.schema.get_field_index("seq")
    assert failed(events.set_column(seq, events.schema.field(seq), pa.array([0, 1, 1, 2], pa.int32()))) == {
        ("expect_compound_columns_to_be_unique", None)}
