"""Keystroke replay rebuilds what was typed; masking hides every key behind a sensitive character."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import DS, Night

from pipeline.contracts import KEYSTROKES
from pipeline.keystrokes import (
    NAMED_KEYS,
    Replay,
    Segment,
    history_closure,
    mask_events,
    replay,
)
from pipeline.read_columnar import read_columnar, rows_table

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CLASSES = {"letter", "digit", "punct", "space", "masked", "redacted", "unknown"}


class Stream:
    """Builds checked keystroke rows (as `check_row` returns them): one press is a down and an up. The
    event id of row i is "e<i>"."""

    def __init__(self, field_kind: str | None = "text", field_id: str | None = "composer", app: str = "Slack",
                 window_title: str = "#general - Slack", device_id: str = "LT-1", session_id: str = "s1") -> None:
        self.rows: list[dict[str, Any]] = []
        self.t = T0
        self.ctx = {"employee_id": "E1", "device_id": device_id, "session_id": session_id, "app": app,
                    "window_title": window_title, "field_id": field_id, "field_kind": field_kind}

    def event(self, key: str, action: str = "down", mods: list[str] | None = None, text: str | None = None,
              after_ms: int = 100, **ctx: Any) -> str:
        self.t += timedelta(milliseconds=after_ms)
        self.ctx.update(ctx)
        eid = f"e{len(self.rows)}"
        self.rows.append({"event_id": eid, "ts": self.t, **self.ctx, "key": key, "action": action,
                          "modifiers": mods if mods is not None else [], "text": text})
        return eid

    def press(self, key: str, mods: list[str] | None = None, text: str | None = None, after_ms: int = 100,
              **ctx: Any) -> str:
        eid = self.event(key, "down", mods, text, after_ms, **ctx)
        self.event(key, "up", mods, text, 40)
        return eid

    def type(self, text: str, **ctx: Any) -> list[str]:
        return [self.press(ch, ["Shift"] if ch.isupper() else [], **ctx) for ch in text]


def replayed(rows: list[dict[str, Any]], **kwargs: Any) -> Replay:
    return replay(rows_table(KEYSTROKES, rows), **kwargs)


def segments_of(rows: list[dict[str, Any]], **kwargs: Any) -> list[Segment]:
    return replayed(rows, **kwargs).segments


def one(stream: Stream, **kwargs: Any) -> Segment:
    segments = segments_of(stream.rows, **kwargs)
    assert len(segments) == 1
    return segments[0]


def ids(rows: np.ndarray) -> list[str]:
    """Event ids of table rows (a Stream's row i is event "e<i>")."""
    return [f"e{r}" for r in rows.tolist()]


def key_ups(result: Replay) -> dict[str, str]:
    """Key-up event id -> id of the key-down it released."""
    return {f"e{up}": f"e{down}" for up, down in enumerate(result.released.tolist()) if down >= 0}


def masked(rows: list[dict[str, Any]], final: dict[str, list[tuple[int, int]]] | None = None,
           history: dict[str, list[tuple[int, int]]] | None = None) -> list[dict[str, Any]]:
    """Replay and mask the rows; the published rows as dicts."""
    table = rows_table(KEYSTROKES, rows)
    return mask_events(table, replay(table), final or {}, history or {}).to_pylist()


# --- replay -------------------------------------------------------------------------------------


def test_plain_typing_rebuilds_text_and_traces_every_character() -> None:
    s = Stream()
    typed = s.type("Hi there")
    seg = one(s)
    assert seg.final_text == seg.history_text == "Hi there"
    assert ids(seg.final_rows) == ids(seg.history_rows) == typed
    assert replayed(s.rows).segment_of.tolist() == [0] * len(s.rows)
    assert seg.up_events == 8 and seg.unknown_keys == 0
    assert seg.segment_id == "LT-1/s1/composer/0"
    assert (seg.ts_start, seg.ts_end) == (s.rows[0]["ts"], s.rows[-2]["ts"])
    assert not seg.is_password and seg.employee_id == "E1" and seg.app == "Slack"


def test_backspace_and_delete_in_the_middle() -> None:
    s = Stream()
    typed = s.type("abcd")
    for _ in range(2):
        s.press("ArrowLeft")
    s.press("Backspace")  # removes b
    s.press("Delete")  # removes c
    x = s.press("x")
    seg = one(s)
    assert seg.final_text == "axd"
    assert ids(seg.final_rows) == [typed[0], x, typed[3]]
    assert seg.history_text == "abcdx"
    assert ids(seg.history_rows) == [*typed, x]


def test_backspace_and_delete_at_the_edges_do_nothing() -> None:
    s = Stream()
    s.press("Backspace")
    s.type("ab")
    s.press("Delete")
    s.press("Home")
    s.press("Backspace")
    s.press("ArrowLeft")
    s.press("ArrowRight")
    s.press("ArrowRight")
    s.press("ArrowRight")
    s.type("c")
    assert one(s).final_text == "abc"


def test_arrows_home_and_end() -> None:
    s = Stream()
    s.type("bd")
    s.press("Home")
    s.type("a")
    s.press("ArrowRight")
    s.type("c")
    s.press("End")
    s.type("e")
    s.press("ArrowUp")  # single line: to the start
    s.type(">")
    s.press("ArrowDown")  # single line: to the end
    s.type("<")
    assert one(s).final_text == ">abcde<"


def test_lines_in_a_code_field() -> None:
    s = Stream(field_kind="code", field_id="editor", app="VS Code", window_title="main.py")
    s.type("abcd")
    s.press("Enter")
    s.type("ef")
    s.press("ArrowUp")  # column 2 of line 1
    s.type("X")
    s.press("End")
    s.type("Y")
    s.press("ArrowDown")  # column 6 is past the end of "ef": end of line 2
    s.type("Z")
    s.press("Home")
    s.press("Tab")
    s.press("Home", ["Control"])  # start of the text
    s.type("^")
    s.press("End", ["Meta"])
    s.type("$")
    seg = one(s)
    assert seg.final_text == "^abXcdY\n\tefZ$"
    assert seg.segment_id == "LT-1/s1/editor/0"


@pytest.mark.parametrize("select", [("SelectAll", []), ("a", ["Control"]), ("A", ["Meta", "Shift"])])
def test_select_all_then_retype_replaces_everything(select: tuple[str, list[str]]) -> None:
    s = Stream()
    old = s.type("secret")
    s.press(*select)
    s.press("Shift")  # a modifier keeps the selection
    new = s.type("ok")
    seg = one(s)
    assert seg.final_text == "ok" and ids(seg.final_rows) == new
    assert seg.history_text == "secretok" and ids(seg.history_rows) == [*old, *new]


@pytest.mark.parametrize("key", ["Backspace", "Delete"])
def test_select_all_then_delete_clears_everything(key: str) -> None:
    s = Stream()
    s.type("secret")
    s.press("a", ["Control"])
    s.press(key)
    s.press(key)
    s.type("x")
    seg = one(s)
    assert seg.final_text == "x" and seg.history_text == "secretx"


def test_select_all_then_cut_clears_and_a_move_collapses() -> None:
    s = Stream()
    s.type("abc")
    s.press("a", ["Control"])
    s.press("ArrowLeft")  # collapses to the start
    s.type(">")
    s.press("SelectAll")
    s.press("End")
    s.type("<")
    assert one(s).final_text == ">abc<"
    s.press("SelectAll")
    s.press("x", ["Control"])
    s.type("z")
    assert one(s).final_text == "z"


def test_shortcuts_type_nothing_and_unmodelled_ones_are_counted() -> None:
    s = Stream()
    s.type("ab")
    s.press("c", ["Control"])  # copy: harmless
    s.press("z", ["Meta"])  # undo: the replay cannot follow it
    s.press("x", ["Control"])  # cut without select-all: unknown selection
    s.press("@", ["Control", "Alt"])  # AltGr types
    seg = one(s)
    assert seg.final_text == "ab@"
    assert seg.unknown_keys == 2


def test_paste_inserts_its_text_and_maps_it_to_the_paste_event() -> None:
    s = Stream()
    a = s.type("key ")
    p = s.press("Paste", ["Control"], text="AKIA123")
    s.press("ArrowLeft")
    v = s.press("v", ["Meta"], text="--")  # a paste logged as Meta+v
    seg = one(s)
    assert seg.final_text == "key AKIA12--3"
    assert ids(seg.final_rows) == [*a, p, p, p, p, p, p, v, v, p]
    assert seg.history_text == "key AKIA123--"
    assert seg.unknown_pastes == 0


def test_paste_without_text_is_counted_not_fatal() -> None:
    s = Stream()
    s.type("a")
    s.press("Paste", ["Control"])
    s.press("v", ["Control"])
    seg = one(s)
    assert seg.final_text == "a" and seg.unknown_pastes == 2


def test_paste_after_select_all_replaces() -> None:
    s = Stream()
    s.type("old")
    s.press("SelectAll")
    s.press("Paste", text="new")
    assert one(s).final_text == "new"


def test_field_switch_window_change_and_app_change_split_segments() -> None:
    s = Stream(field_id="to")
    s.type("bob", field_kind="email")
    s.type("hi", field_id="body", field_kind="text")
    s.type("yo", window_title="#random - Slack")
    s.type("q", app="Chrome")
    s.type("x", field_id="to", field_kind="email")  # back to the first field: a new segment
    segs = segments_of(s.rows)
    assert [x.final_text for x in segs] == ["bob", "hi", "yo", "q", "x"]
    assert [x.segment_id for x in segs] == ["LT-1/s1/to/0", "LT-1/s1/body/0", "LT-1/s1/body/1",
                                            "LT-1/s1/body/2", "LT-1/s1/to/1"]
    assert [x.window_title for x in segs][1:3] == ["#general - Slack", "#random - Slack"]
    assert len({x.segment_id for x in segs}) == 5


def test_idle_gap_splits_and_a_gap_of_exactly_the_limit_does_not() -> None:
    s = Stream()
    s.type("ab")
    s.press("c", after_ms=1_000 - 40)  # exactly 1 s after the previous key-down
    s.press("d", after_ms=1_001 - 40)
    assert [x.final_text for x in segments_of(s.rows, idle_gap_ms=1_000)] == ["abc", "d"]
    assert [x.final_text for x in segments_of(s.rows)] == ["abcd"]


def test_enter_ends_a_chat_message_but_types_a_newline_in_code() -> None:
    chat = Stream()
    chat.type("hi")
    enter = chat.press("Enter")
    chat.type("next")
    result = replayed(chat.rows)
    first, second = result.segments
    assert (first.final_text, second.final_text) == ("hi", "next")
    enter_row = int(enter[1:])
    assert result.segment_of[enter_row] == result.segment_of[enter_row + 1] == 0  # its up too
    code = Stream(field_kind="code")
    code.type("a")
    code.press("Enter")
    code.type("b")
    assert one(code).final_text == "a\nb"


@pytest.mark.parametrize("kind", ["search", "password", None, "email"])
def test_enter_ends_the_segment_in_other_fields(kind: str | None) -> None:
    s = Stream(field_kind=kind)
    s.type("a")
    s.press("Enter", ["Shift"] if kind == "search" else [])
    s.type("b")
    assert [x.final_text for x in segments_of(s.rows)] == ["a", "b"]


def test_shift_enter_types_a_newline_in_a_chat_field() -> None:
    s = Stream()
    s.type("line one")
    br = s.press("Enter", ["Shift"])
    s.type("two")
    seg = one(s)
    assert seg.final_text == "line one\ntwo"
    assert ids(seg.final_rows)[8] == br


def test_tab_is_ignored_outside_code() -> None:
    s = Stream()
    s.type("a")
    s.press("Tab")
    s.type("b")
    assert one(s).final_text == "ab"


def test_modifiers_and_inert_keys_type_nothing() -> None:
    s = Stream()
    for key in ("Shift", "Control", "Alt", "Meta", "CapsLock", "Escape", "F5"):
        s.press(key)
    s.type("A")
    seg = one(s)
    assert seg.final_text == "A" and seg.unknown_keys == 0


def test_unknown_keys_and_actions_are_counted_never_inserted() -> None:
    s = Stream()
    s.type("a")
    s.press("Dead")
    s.press("")
    s.event("b", action="press")
    s.press("MediaPlayPause")
    s.type("c")
    seg = one(s)
    assert seg.final_text == "ac"
    assert seg.unknown_keys == 3 and seg.unknown_actions == 1


def test_up_events_are_ignored_but_counted_and_paired() -> None:
    s = Stream()
    s.event("Shift", mods=["Shift"])
    a = s.event("A", mods=["Shift"])
    s.event("Shift", "up")
    a_up = s.event("a", "up")  # Shift released first: the up reports the unshifted key
    b = s.event("b")
    c = s.event("c")  # rollover: c goes down before b comes up
    b_up = s.event("b", "up")
    c_up = s.event("c", "up")
    stray = s.event("z", "up")
    seg = one(s)
    pairs = key_ups(replayed(s.rows))
    assert seg.final_text == "Abc"
    assert seg.up_events == 5
    assert pairs[a_up] == a and pairs[b_up] == b and pairs[c_up] == c
    assert stray not in pairs


def test_events_sorted_by_time_then_input_order() -> None:
    s = Stream()
    s.type("abc")
    rows = list(reversed(s.rows))
    assert segments_of(rows)[0].final_text == "abc"
    tied = Stream()
    tied.type("xy")
    for r in tied.rows:
        r["ts"] = T0
    assert segments_of(tied.rows)[0].final_text == "xy"


def test_streams_are_separate_and_ids_stay_unique() -> None:
    a = Stream(device_id="a/b", session_id="c")
    a.type("one")
    b = Stream(device_id="a", session_id="b/c")
    b.type("two")
    interleaved = [r for pair in zip(a.rows, b.rows, strict=True) for r in pair]
    segs = segments_of(interleaved)
    assert [x.final_text for x in segs] == ["one", "two"]
    assert len({x.segment_id for x in segs}) == 2


def test_a_stream_of_only_ups_gives_no_segment() -> None:
    s = Stream()
    s.event("a", "up")
    result = replayed(s.rows)
    assert result.segments == [] and result.segment_of.tolist() == [-1] and result.released.tolist() == [-1]


def test_leading_ups_join_the_first_segment() -> None:
    s = Stream()
    stray = s.event("q", "up")
    s.type("a")
    seg = one(s)
    assert replayed(s.rows).segment_of[int(stray[1:])] == 0 and seg.up_events == 2


# --- masking ------------------------------------------------------------------------------------


def published_down_keys(out: list[dict[str, Any]]) -> str:
    return "".join(r["key"] for r in out if r["action"] == "down" and len(r["key"]) == 1)


def test_password_field_is_masked_but_named_keys_stay() -> None:
    s = Stream(field_kind="password", field_id="pw", app="Chrome", window_title="Sign In")
    s.type("Hunter")
    s.press("Backspace")
    s.press("Paste", ["Control"], text="r2!")
    s.press("Enter")
    segs = segments_of(s.rows)
    out = masked(s.rows)
    assert segs[0].is_password and segs[0].final_text == "Hunter2!"
    assert [r["key"] for r in out if r["key_class"] != "masked"] == ["Backspace"] * 2 + ["Enter"] * 2
    assert all(r["key"] == "<masked>" for r in out if r["key_class"] == "masked")
    assert sum(r["key_class"] == "masked" for r in out) == 2 * 7
    shift = Stream(field_kind="password")
    shift.event("Shift", mods=["Shift"])
    shift.event("Shift", "up")
    assert [r["key_class"] for r in masked(shift.rows)] == ["named:Shift"] * 2
    assert all(r["text"] is None for r in out)


def test_a_final_span_masks_exactly_its_events_and_their_ups() -> None:
    s = Stream()
    s.type("card ")
    digits = s.type("4111")
    s.type(" ok")
    seg = one(s)
    out = masked(s.rows, {seg.segment_id: [(5, 9)]})
    redacted = {r["event_id"] for r in out if r["key"] == "<redacted>"}
    ups = {f"e{int(d[1:]) + 1}" for d in digits}
    assert redacted == set(digits) | ups
    assert all(r["key_class"] == "redacted" for r in out if r["event_id"] in redacted)
    assert published_down_keys(out) == "card  ok"
    assert [r["key_class"] for r in out[:2]] == ["letter", "letter"]


def test_a_string_typed_then_deleted_is_masked_through_its_history_span() -> None:
    s = Stream()
    s.type("pin ")
    secret = s.type("9876")
    for _ in range(4):
        s.press("Backspace")
    s.type("later")
    seg = one(s)
    assert seg.final_text == "pin later" and seg.history_text == "pin 9876later"
    out = masked(s.rows, {}, {seg.segment_id: [(4, 8)]})
    assert published_down_keys(out) == "pin later"
    assert not any(r["key"] in "9876" for r in out)
    assert {r["event_id"] for r in out if r["key"] == "<redacted>"} >= set(secret)
    assert [r["key"] for r in out if r["action"] == "down"].count("Backspace") == 4


def test_a_typo_fixed_inside_a_final_span_is_masked_too() -> None:
    s = Stream()
    s.type("4111 11")
    typo = s.press("7")
    s.press("Backspace")
    s.type("11")
    seg = one(s)
    assert seg.final_text == "4111 1111"
    assert history_closure(seg, [(0, 9)]) == [(0, 10)]
    out = masked(s.rows, {seg.segment_id: [(0, 9)]})
    assert published_down_keys(out) == ""
    assert typo in {r["event_id"] for r in out if r["key"] == "<redacted>"}


def test_pasted_text_never_survives() -> None:
    s = Stream()
    s.type("token ")
    plain = s.press("Paste", ["Meta"], text="hello")
    secret = s.press("Paste", ["Meta"], text="ghp_abc")
    s.press("Paste", ["Meta"])
    seg = one(s)
    out = masked(s.rows, {seg.segment_id: [(11, 18)]})
    assert all(r["text"] is None for r in out)
    by_id = {r["event_id"]: r for r in out}
    assert (by_id[plain]["key"], by_id[plain]["key_class"]) == ("Paste", "named:Paste")
    assert by_id[secret]["key"] == by_id[f"e{int(secret[1:]) + 1}"]["key"] == "<redacted>"
    assert "ghp_abc" not in json.dumps(out, default=str) and "hello" not in json.dumps(out, default=str)


def test_masking_keeps_every_row_and_column_but_the_raw_key_and_text() -> None:
    s = Stream()
    s.type("pin 1234")
    s.press("Paste", ["Control"], text="secret")
    table = rows_table(KEYSTROKES, s.rows)
    seg = one(s)
    out = mask_events(table, replay(table), {seg.segment_id: [(4, 8)]}, {})
    assert table["text"].to_pylist()[-1] == "secret"  # the input table is left as it was
    assert out.num_rows == table.num_rows and out.schema.names == [*table.schema.names, "key_class"]
    for name in table.schema.names:
        if name not in ("key", "text"):
            assert out[name].to_pylist() == table[name].to_pylist()
    assert out["text"].null_count == out.num_rows
    assert "1234" not in published_down_keys(out.to_pylist())


def test_key_classes() -> None:
    s = Stream()
    s.type("a1 ,é")
    s.press("Backspace")
    s.press("Dead")
    s.press("Autocompleted text")  # a multi-character key may be text: never published
    out = masked(s.rows)
    downs = [(r["key"], r["key_class"]) for r in out if r["action"] == "down"]
    assert downs == [("a", "letter"), ("1", "digit"), (" ", "space"), (",", "punct"), ("é", "letter"),
                     ("Backspace", "named:Backspace"), ("<unknown>", "unknown"), ("<unknown>", "unknown")]


def test_keys_nothing_vouches_for_are_redacted() -> None:
    s = Stream()
    s.type("a")
    stray = s.event("7", "up")
    pressed = s.event("8", "press")
    s.event("Shift", "up")
    out = {r["event_id"]: r for r in masked(s.rows)}
    assert out[stray]["key"] == out[pressed]["key"] == "<redacted>"
    only_ups = Stream()
    only_ups.event("x", "up")
    assert masked(only_ups.rows)[0]["key"] == "<redacted>"


def test_a_key_up_after_leaving_a_password_field_stays_masked() -> None:
    s = Stream(field_kind="password", field_id="pw")
    s.event("p")
    s.event("Tab")
    s.event("u", field_kind="email", field_id="user")
    p_up = s.event("p", "up")  # released while the username field has focus
    out = {r["event_id"]: r for r in masked(s.rows)}
    assert out[p_up]["key"] == "<masked>"


def test_a_newline_inside_a_span_is_redacted() -> None:
    s = Stream(field_kind="code")
    s.type("k=")
    enter = s.press("Enter")
    s.type("v")
    seg = one(s)
    out = {r["event_id"]: r for r in masked(s.rows, {seg.segment_id: [(1, 4)]})}
    assert out[enter]["key"] == "<redacted>"


def test_bad_spans_stop_without_naming_values() -> None:
    s = Stream()
    s.type("hunter2")
    seg = one(s)
    for final, hist in (({"nope": [(0, 1)]}, {}), ({seg.segment_id: [(3, 99)]}, {}),
                        ({}, {seg.segment_id: [(-1, 2)]}), ({seg.segment_id: [(4, 2)]}, {})):
        with pytest.raises(ValueError) as info:
            masked(s.rows, final, hist)
        assert "hunter" not in str(info.value)


def test_generated_night_replays_the_planted_texts_and_masks_them(night: Night) -> None:
    table = read_columnar(night.raw, "keystrokes", DS).table
    result = replay(table)
    truth = {t["id"]: t for t in night.ground_truth if t["source"] == "keystrokes"}
    spans: dict[str, list[tuple[int, int]]] = {}
    for seg in result.segments:
        planted = truth.get(f"keystrokes:{seg.session_id}:{seg.field_id}")
        if planted:
            assert seg.final_text == planted["text"]
            spans[seg.segment_id] = [(p["start"], p["end"]) for p in planted["spans"]]
    assert len(spans) == len(truth)
    out = mask_events(table, result, spans, {}).to_pylist()
    assert all(r["text"] is None for r in out)
    for i, seg in enumerate(result.segments):  # published keys of each segment no longer spell any planted value
        typed = "".join(r["key"] for r, owner in zip(out, result.segment_of.tolist(), strict=True)
                        if owner == i and r["action"] == "down" and len(r["key"]) == 1)
        for start, end in spans.get(seg.segment_id, []):
            assert seg.final_text[start:end] not in typed


# --- properties ---------------------------------------------------------------------------------

KINDS = ["text", "search", "password", "code", "email", None]
MODIFIERS = ["Shift", "Control", "Alt", "Meta"]
keys = st.one_of(
    st.characters(codec="utf-8", exclude_categories=["Cs"]),
    st.sampled_from(sorted(NAMED_KEYS)),
    st.sampled_from(["Dead", "Unidentified", "", "Fn2", "ab", "SS", "ß", "İ"]),
)
# Keys of append-only segments (the column arithmetic), with case pairs for Shift-released-first key-ups.
appending_keys = st.one_of(
    st.sampled_from(list("aAbB1 ,é")),
    st.sampled_from(["Backspace", "Backspace", "Delete", "Enter", "Tab", "Paste", "Shift", "Control", "Dead", "v", "c"]),
)


def raw_events(key: st.SearchStrategy[str]) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    return st.lists(
        st.tuples(
            key,
            st.sampled_from(["down", "down", "down", "up", "up", "keypress"]),
            st.one_of(st.none(), st.lists(st.sampled_from(MODIFIERS), max_size=3, unique=True)),
            st.one_of(st.none(), st.text(max_size=6)),
            st.integers(min_value=-500, max_value=40_000),  # ms since the previous event; may go back
            st.sampled_from(KINDS),
            st.sampled_from(["f1", "f2", None]),
            st.sampled_from(["w1", "w2"]),
            st.sampled_from(["d1", "d2", "d/s", "d"]),  # ("d/s", "s") and ("d", "s/s") share an id prefix
            st.sampled_from(["s", "s/s"]),
        ),
        max_size=80,
    )


def build(events: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    rows, t = [], T0
    for n, (key, action, mods, text, after_ms, kind, field_id, title, device, session) in enumerate(events):
        t += timedelta(milliseconds=after_ms)
        rows.append({"event_id": f"e{n}", "ts": t, "employee_id": "E1", "device_id": device, "session_id": session,
                     "app": "App", "window_title": title, "field_id": field_id, "field_kind": kind, "key": key,
                     "action": action, "modifiers": mods, "text": text})
    return rows


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(raw_events(keys), st.data())
def test_replay_and_mask_never_crash_and_trace_every_character(events: list[tuple[Any, ...]],
                                                              data: st.DataObject) -> None:
    rows = build(events)
    result = replayed(rows, idle_gap_ms=30_000)
    segments = result.segments
    assert len({seg.segment_id for seg in segments}) == len(segments)
    for i, seg in enumerate(segments):
        assert len(seg.final_text) == len(seg.final_rows)
        assert len(seg.history_text) == len(seg.history_rows)
        for row in [*seg.final_rows.tolist(), *seg.history_rows.tolist()]:
            assert result.segment_of[row] == i and rows[row]["action"] == "down"
        finals = Counter(zip(seg.final_text, seg.final_rows.tolist(), strict=True))
        assert not finals - Counter(zip(seg.history_text, seg.history_rows.tolist(), strict=True))
    assert all(result.segment_of[i] >= 0 for i, r in enumerate(rows) if r["action"] == "down")
    for up, down in enumerate(result.released.tolist()):
        assert down < 0 or (rows[up]["action"] == "up" and rows[down]["action"] == "down")
    final_spans = {s.segment_id: [tuple(sorted(data.draw(st.lists(
        st.integers(0, len(s.final_text)), min_size=2, max_size=2))))] for s in segments}
    history_spans = {s.segment_id: [tuple(sorted(data.draw(st.lists(
        st.integers(0, len(s.history_text)), min_size=2, max_size=2))))] for s in segments}
    out = masked(rows, final_spans, history_spans)
    assert [r["event_id"] for r in out] == [r["event_id"] for r in rows]
    for r in out:
        assert r["text"] is None
        assert r["key_class"] in CLASSES or r["key_class"] == f"named:{r['key']}"


def plain(result: Replay) -> tuple[Any, ...]:
    """Everything a Replay holds, comparable with ==."""
    segments = [
        {**vars(seg), "final_rows": seg.final_rows.tolist(), "history_rows": seg.history_rows.tolist()}
        for seg in result.segments
    ]
    return segments, result.segment_of.tolist(), result.released.tolist()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(raw_events(keys), raw_events(appending_keys)), st.sampled_from([30_000, 1_000, 0]))
def test_column_arithmetic_matches_the_state_machine(events: list[tuple[Any, ...]], gap: int) -> None:
    """Regression for the fast path: append-only segments rebuilt with column arithmetic, and key-ups
    paired with it, are exactly what the state machine and event-by-event pairing give."""
    table = rows_table(KEYSTROKES, build(events))
    assert plain(replay(table, gap, fast=True)) == plain(replay(table, gap, fast=False))


def test_a_table_read_in_pieces_replays_like_one_piece() -> None:
    s = Stream()
    s.type("Hello")
    s.press("Backspace")
    s.type("p!")
    table = rows_table(KEYSTROKES, s.rows)
    pieces = pa.concat_tables([rows_table(KEYSTROKES, s.rows[:7]), rows_table(KEYSTROKES, s.rows[7:])])
    assert pieces["key"].num_chunks == 2  # two chunks, each with its own dictionary
    assert plain(replay(pieces)) == plain(replay(table))
    assert replay(pieces).segments[0].final_text == "Hellp!"


printable = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"])


@given(st.text(printable, max_size=60), st.sampled_from(KINDS))
def test_typing_without_edits_reproduces_the_string(text: str, kind: str | None) -> None:
    s = Stream(field_kind=kind)
    typed = s.type(text)
    segments = segments_of(s.rows)
    if not text:
        assert segments == []
        return
    (seg,) = segments
    assert seg.final_text == seg.history_text == text
    assert ids(seg.final_rows) == typed


EDITS = ["Backspace", "Delete", "ArrowLeft", "ArrowRight", "Home", "End", "SelectAll"]


def reference(ops: list[str]) -> str:
    """The same single-line editing, with plain strings: obviously right, slow."""
    text, cursor, selected = "", 0, False
    for op in ops:
        if op == "SelectAll":
            selected = True
            continue
        if selected:
            selected = False
            if op in ("Backspace", "Delete"):
                text, cursor = "", 0
                continue
            if len(op) == 1:
                text, cursor = "", 0
            else:
                cursor = 0 if op in ("ArrowLeft", "Home") else len(text)
                continue
        if len(op) == 1:
            text, cursor = text[:cursor] + op + text[cursor:], cursor + 1
        elif op == "Backspace" and cursor:
            text, cursor = text[:cursor - 1] + text[cursor:], cursor - 1
        elif op == "Delete":
            text = text[:cursor] + text[cursor + 1:]
        elif op == "ArrowLeft":
            cursor = max(cursor - 1, 0)
        elif op == "ArrowRight":
            cursor = min(cursor + 1, len(text))
        elif op == "Home":
            cursor = 0
        elif op == "End":
            cursor = len(text)
    return text


@given(st.lists(st.one_of(st.sampled_from("ab1 "), st.sampled_from(EDITS)), min_size=1, max_size=60))
def test_single_line_editing_matches_a_plain_string_model(ops: list[str]) -> None:
    s = Stream(field_kind="search")
    for op in ops:
        s.press(op)
    assert one(s).final_text == reference(ops)


secret_edits = st.lists(st.one_of(
    st.sampled_from("abc "), st.sampled_from("0123456789"), st.sampled_from(EDITS),
    st.just("paste-digits"), st.just("paste-letters")), min_size=1, max_size=60)


@given(secret_edits, st.booleans())
def test_no_digit_of_a_detected_secret_is_ever_published(ops: list[str], late_ups: bool) -> None:
    """Digits play the secret: a perfect detector flags every digit of the final and history text;
    whatever the edits, no published key (down or up) and no text may show a digit again."""
    s = Stream()
    held = []
    for op in ops:
        if op.startswith("paste"):
            s.event("Paste", mods=["Control"], text="42" if op == "paste-digits" else "zz")
        else:
            s.event(op, mods=["Shift"] if op == "a" else [])
        held.append(op if not op.startswith("paste") else "Paste")
        if not late_ups:
            s.event(held.pop(), "up", text=s.rows[-1]["text"])
    for key in held:  # released all at the end
        s.event(key, "up", text="42")
    seg = one(s)
    final = [(i, i + 1) for i, ch in enumerate(seg.final_text) if ch.isdigit()]
    history = [(i, i + 1) for i, ch in enumerate(seg.history_text) if ch.isdigit()]
    out = masked(s.rows, {seg.segment_id: final}, {seg.segment_id: history})
    assert not any(ch.isdigit() for r in out for ch in r["key"] if len(r["key"]) == 1)
    assert all(r["text"] is None for r in out)
