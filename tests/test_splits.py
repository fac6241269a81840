"""Splits by a keyed hash of the user: sized to the policy's fractions in expectation, one split per user,
stable across nights and datasets while the key holds, and a note in the report when a night has too few
users for a split."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.behaviour import build_events
from pipeline.datasets import text_table
from pipeline.policy import load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.redact import Redacted
from pipeline.report import build_report, render_html, split_notes
from pipeline.utterances import Utterance

KEY = Pseudonymizer(b"split-test-key-0123456789abcdef-0123")
OTHER_KEY = Pseudonymizer(b"another-key-0123456789abcdef-012345")


@pytest.mark.parametrize("fractions", [(0.1, 0.1), (0.25, 0.05), (0.0, 0.3), (0.2, 0.0)])
def test_each_split_gets_its_share_of_users_in_expectation(fractions: tuple[float, float]) -> None:
    users = [KEY.pid("user", f"E{i:06d}") for i in range(40_000)]
    shares = Counter(KEY.split(u, fractions) for u in users)
    validation, test = fractions
    # 40,000 users: the standard error of a share is below 0.0025, so 0.01 is four of them.
    assert abs(shares["validation"] / len(users) - validation) < 0.01
    assert abs(shares["test"] / len(users) - test) < 0.01
    assert abs(shares["train"] / len(users) - (1 - validation - test)) < 0.01
    if validation == 0.0:
        assert shares["validation"] == 0
    if test == 0.0:
        assert shares["test"] == 0


def test_the_default_policy_asks_for_three_splits() -> None:
    assert load_policy().split_fractions == (0.1, 0.1)


@settings(max_examples=200, deadline=None)
@given(employee=st.text(min_size=1, max_size=40), fractions=st.tuples(st.floats(0, 0.45), st.floats(0, 0.45)))
def test_adding_a_test_share_never_moves_a_validation_user(employee: str, fractions: tuple[float, float]) -> None:
    user = KEY.pid("user", employee)
    before = KEY.split(user, (fractions[0], 0.0))
    after = KEY.split(user, fractions)
    if before == "validation":
        assert after == "validation"
    if after == "train":
        assert before == "train"


def _night(day: int, employees: list[str]) -> tuple[pa.Table, pa.Table]:
    """One night's text and mouse events for `employees`, with other messages, sessions and times each night."""
    ts = datetime(2026, 11, day, 9, tzinfo=timezone.utc)
    utterances = [
        Utterance(record_key=f"m{day}-{i}", user_key=e, conversation_key=f"ch{i % 4}", context="dm", ts=ts, text=f"hi {i}")
        for i, e in enumerate(employees)
    ]
    text = text_table("chat", utterances, [Redacted(u.text) for u in utterances], KEY, (0.2, 0.2))
    epoch = int(ts.timestamp() * 1000)
    raw = pa.table({
        "event_id": [f"ev{day}-{i}" for i in range(len(employees))],
        "ts": pa.array([epoch + 10 * i for i in range(len(employees))], pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        "employee_id": employees, "device_id": ["d1"] * len(employees),
        "session_id": [f"s{day}-{i}" for i in range(len(employees))], "app": ["Code"] * len(employees),
        "window_title": [None] * len(employees), "action": ["move"] * len(employees),
        "x": [1.0] * len(employees), "y": [1.0] * len(employees), "button": [None] * len(employees),
        "screen_w": [100] * len(employees), "screen_h": [100] * len(employees),
    })
    events = build_events("mouse", raw, load_policy().events, KEY, (0.2, 0.2))
    return text, events


def _by_user(table: pa.Table) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for user, split in zip(table["user_pid"].to_pylist(), table["split"].to_pylist(), strict=True):
        out.setdefault(user, set()).add(split)
    return out


def test_a_user_keeps_one_split_across_nights_and_datasets_while_the_key_holds() -> None:
    employees = [f"E{i:04d}" for i in range(300)]
    first_text, first_events = _night(25, employees)
    # the next night: some users gone, new ones, everyone in another order, with other rows
    second_text, second_events = _night(26, employees[::-1][:250] + [f"N{i:04d}" for i in range(50)])
    assigned: dict[str, set[str]] = {}
    for table in (first_text, first_events, second_text, second_events):
        for user, splits in _by_user(table).items():
            assigned.setdefault(user, set()).update(splits)
    assert all(len(s) == 1 for s in assigned.values()), "a user is in one split, every night, in every dataset"
    assert {next(iter(s)) for s in assigned.values()} == {"train", "validation", "test"}
    moved = sum(KEY.split(KEY.pid("user", e), (0.2, 0.2)) != OTHER_KEY.split(OTHER_KEY.pid("user", e), (0.2, 0.2))
                for e in employees)
    assert moved > 50, "the split comes from the key: another key draws other users"


MANIFEST = {
    "rows": 120, "files": [], "policy_sha256": "a" * 64, "key_id": "k",
    "splits": {"train": 100, "validation": 20}, "split_users": {"train": 9, "validation": 2},
    "split_policy": {"validation": 0.1, "test": 0.1, "min_users": 5},
}
SOURCE = {"input_rows": 120, "quarantined": {}, "dropped": {}, "primary": "text", "published": {"text": 120},
          "rows_touched": 0, "entities": {}}
GATES = {"success": True, "datasets": {}, "canaries": None, "residual": None}
RECONCILED = {"input_rows": 120, "published": 120, "quarantined": 0, "dropped": 0, "balanced": True}


def test_a_night_with_too_few_users_for_a_split_gets_a_note() -> None:
    notes = {(n["dataset"], n["split"]): n for n in split_notes({"text": MANIFEST})}
    assert set(notes) == {("text", "validation"), ("text", "test")}
    assert notes[("text", "validation")]["users"] == 2 and notes[("text", "test")]["users"] == 0
    report = build_report("2026-11-26", {"chat": SOURCE}, {"text": MANIFEST}, GATES, RECONCILED)
    html = render_html(report)
    assert "Too few users for the validation split of text" in html and "Too few users for the test split of text" in html
    enough = {**MANIFEST, "split_users": {"train": 40, "validation": 6, "test": 5}}
    assert split_notes({"text": enough}) == []
    assert split_notes({"text": {**MANIFEST, "split_policy": {**MANIFEST["split_policy"], "test": 0.0}}})[0]["split"] == "validation"
    assert split_notes({"text": {**MANIFEST, "rows": 0}}) == [], "an empty dataset has no split to note"
