"""Keystroke replay and masking: rebuild the text a key stream typed, then hide the keys behind secrets.

Why: a keystroke log never holds the typed text as a string, so a password or a card number typed key
by key (or typed and then deleted) is invisible to text detectors until the stream is replayed.
`replay` rebuilds each field's text with a map from every character back to the event that typed it;
detection runs over that text elsewhere and hands back spans; `mask_events` then hides the keys behind
every sensitive character, so what is published is timing and key classes, never the value.

Replay model, and what it deliberately does not model:
- A stream is one (device_id, session_id), replayed in (ts, input order). Only key-downs edit; key-ups
  are paired with the key-down they release so masking can hide both.
- A segment is one stretch of typing into one field. It ends at Enter (except where Enter inserts a
  newline), at a change of field, field kind, app or window title, or after an idle gap between
  key-downs. A new segment starts from an empty field: text left from an earlier visit is unknown.
- Home/End go to the start/end of the current line (with Control/Meta: of the whole text);
  ArrowUp/ArrowDown move one line keeping the column (from the first/last line: to the start/end);
  PageUp/PageDown go to the start/end of the text.
- The only selection tracked is select-all (SelectAll, Control/Meta+a): the next insert replaces the
  text, Backspace/Delete/cut clear it, a cursor move collapses it. Shift+arrow selections, word-wise
  deletes (Control+Backspace deletes one character here) and overwrite mode are not modelled; undo and
  other unmodelled Control/Meta shortcuts are counted in `unknown_keys` because the text may have
  changed in ways the replay cannot see.
- Control+Alt is AltGr (it types a character); any other Control/Meta chord is a shortcut, not text.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PASSWORD_KINDS = frozenset({"password"})
NEWLINE_KINDS = frozenset({"code"})  # Enter and Tab type "\n" and "\t" instead of ending/leaving
SHIFT_NEWLINE_KINDS = frozenset({"text"})  # Shift+Enter types "\n" (a line break in a chat composer)

MASKED = "<masked>"
REDACTED = "<redacted>"
UNKNOWN = "<unknown>"

# Editing operations of the named keys and modelled shortcuts.
(_BACKSPACE, _DELETE, _LEFT, _RIGHT, _UP, _DOWN, _HOME, _END, _PAGE_UP, _PAGE_DOWN, _SELECT_ALL, _PASTE,
 _CUT, _COPY, _TAB, _ENTER, _INERT) = range(17)

_INERT_KEYS = (
    "Shift", "Control", "Alt", "Meta", "CapsLock", "Escape", "AltGraph", "Fn", "NumLock", "ScrollLock",
    "Insert", "ContextMenu", "PrintScreen", "Pause", *(f"F{n}" for n in range(1, 25)),
)
_OPS: dict[str, int] = {
    "Backspace": _BACKSPACE, "Delete": _DELETE, "ArrowLeft": _LEFT, "ArrowRight": _RIGHT, "ArrowUp": _UP,
    "ArrowDown": _DOWN, "Home": _HOME, "End": _END, "PageUp": _PAGE_UP, "PageDown": _PAGE_DOWN,
    "SelectAll": _SELECT_ALL, "Paste": _PASTE, "Tab": _TAB, "Enter": _ENTER,
    **{key: _INERT for key in _INERT_KEYS},
}
NAMED_KEYS = frozenset(_OPS)
_SHORTCUTS = {"a": _SELECT_ALL, "v": _PASTE, "x": _CUT, "c": _COPY}  # with Control/Meta, case-insensitive
_NEVER_TYPES, _TYPES, _TYPES_IN_CODE = range(3)  # can a key's event put characters into the text?
_TS_OF = operator.itemgetter("ts")
_NOTHING = object()


@dataclass(frozen=True)
class Segment:
    """One stretch of typing into one field, rebuilt, with every character traced to its event."""

    segment_id: str
    employee_id: str
    device_id: str
    session_id: str
    field_id: str | None
    field_kind: str | None
    app: str | None
    window_title: str | None
    ts_start: datetime  # first key-down
    ts_end: datetime  # last key-down
    final_text: str
    final_event_ids: list[str]  # one per character of final_text
    history_text: str  # every character ever inserted, in insertion order, deleted ones included
    history_event_ids: list[str]  # one per character of history_text
    event_ids: list[str]  # every event of the segment in replay order (ups and unknown actions too)
    is_password: bool
    unknown_keys: int = 0  # keys and shortcuts the replay could not model
    unknown_pastes: int = 0  # Paste without the pasted text
    up_events: int = 0
    unknown_actions: int = 0
    key_ups: dict[str, str] = field(default_factory=dict)  # key-up event id -> id of the key-down it released


def replay(rows: list[dict[str, Any]], idle_gap_ms: int = 30_000) -> list[Segment]:
    """Rebuild every typed segment of checked keystroke rows (as `read_partition` returns them).

    Segments come out in the order they end. Events before a stream's first key-down join its first
    segment; a stream without any key-down yields no segment (its key-ups stay unpaired, which
    `mask_events` treats as unsafe).
    """
    gap = timedelta(milliseconds=idle_gap_ms)
    with _collector_paused():
        # One pass in input order: rows are read where they lie in memory, which on a big partition
        # costs less than the replay itself. Only if some stream goes back in time is a sort needed.
        segments = _replay_pass(rows, gap)
        if segments is None:
            stamps = list(map(_TS_OF, rows))
            order = sorted(range(len(rows)), key=stamps.__getitem__)  # stable: ties keep input order
            segments = _replay_pass(map(rows.__getitem__, order), gap)
    assert segments is not None  # a time-sorted pass never goes back in time
    return segments


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building acyclic per-event objects.

    Why: every new dict or list counts towards a collection, and each full collection rescans all the
    long-lived input rows; over a million-row partition that costs several times the work itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Stream:
    """One (device_id, session_id) being replayed: its open segment's text, cursor and counts."""

    __slots__ = ("app", "buf", "buf_ids", "cursor", "ended", "events", "field_id", "head", "hist", "hist_ids",
                 "key_ups", "kind", "last_down", "pending", "seen", "select_all", "title", "unknown_actions",
                 "unknown_keys", "unknown_pastes", "ups")

    def __init__(self, ts: datetime) -> None:
        self.seen = ts  # latest event time: a stream must not go back
        self.pending: dict[str, str] = {}  # key -> last unreleased key-down event id
        self.head: dict[str, Any] | None = None  # first key-down of the open segment
        self.ended = True  # the next key-down opens a segment
        self.events: list[str] = []  # events before the first key-down join the first segment
        self.key_ups: dict[str, str] = {}
        self.ups = self.unknown_actions = 0

    def open(self, row: dict[str, Any]) -> None:
        self.head = row
        self.field_id, self.kind, self.app, self.title = (row["field_id"], row["field_kind"], row["app"],
                                                          row["window_title"])
        self.last_down = row["ts"]
        self.ended = self.select_all = False
        self.buf: list[str] = []
        self.buf_ids: list[str] = []
        self.hist: list[str] = []
        self.hist_ids: list[str] = []
        self.cursor = self.unknown_keys = self.unknown_pastes = 0

    def close(self, numbering: dict[str, int]) -> Segment:
        head = self.head
        assert head is not None
        field_id = head["field_id"]
        # Numbered per id prefix, so ids stay unique even if a "/" inside an id makes two prefixes equal.
        prefix = f"{head['device_id']}/{head['session_id']}/{'-' if field_id is None else field_id}"
        n = numbering.get(prefix, 0)
        numbering[prefix] = n + 1
        segment = Segment(
            segment_id=f"{prefix}/{n}", employee_id=head["employee_id"], device_id=head["device_id"],
            session_id=head["session_id"], field_id=field_id, field_kind=self.kind, app=self.app,
            window_title=self.title, ts_start=head["ts"], ts_end=self.last_down, final_text="".join(self.buf),
            final_event_ids=self.buf_ids, history_text="".join(self.hist), history_event_ids=self.hist_ids,
            event_ids=self.events, is_password=self.kind in PASSWORD_KINDS, unknown_keys=self.unknown_keys,
            unknown_pastes=self.unknown_pastes, up_events=self.ups, unknown_actions=self.unknown_actions,
            key_ups=self.key_ups,
        )
        self.events = []
        self.key_ups = {}
        self.ups = self.unknown_actions = 0
        return segment


def _replay_pass(rows: Iterable[dict[str, Any]], gap: timedelta) -> list[Segment] | None:
    """Replay all streams at once in the given order; None as soon as a stream goes back in time."""
    numbering: dict[str, int] = {}
    out: list[Segment] = []
    streams: dict[tuple[str, str], _Stream] = {}
    device = session = _NOTHING  # equal to no id: the first row always looks its stream up
    for row in rows:
        if row["device_id"] != device or row["session_id"] != session:
            device, session = row["device_id"], row["session_id"]
            found = streams.get((device, session))
            if found is None:
                found = streams[device, session] = _Stream(row["ts"])
            st = found
        ts = row["ts"]
        if ts < st.seen:
            return None
        st.seen = ts
        eid = row["event_id"]
        key = row["key"]
        action = row["action"]
        if action != "down":
            st.events.append(eid)
            if action == "up":
                st.ups += 1
                down = st.pending.pop(key, None)
                if down is None and len(key) == 1:
                    down = st.pending.pop(key.swapcase(), None)  # Shift released before the key
                if down is not None:
                    st.key_ups[eid] = down
            else:
                st.unknown_actions += 1
            continue
        if (st.ended or ts - st.last_down > gap or row["field_id"] != st.field_id
                or row["window_title"] != st.title or row["app"] != st.app or row["field_kind"] != st.kind):
            if st.head is not None:
                out.append(st.close(numbering))
            st.open(row)
        st.last_down = ts
        st.events.append(eid)
        st.pending[key] = eid
        mods = row["modifiers"]
        chord = bool(mods) and ("Meta" in mods or ("Control" in mods and "Alt" not in mods))
        if len(key) == 1 and not chord:  # the hot path: a typed character
            buf = st.buf
            if st.select_all:
                buf.clear()
                st.buf_ids.clear()
                st.cursor = 0
                st.select_all = False
            cursor = st.cursor
            if cursor == len(buf):
                buf.append(key)
                st.buf_ids.append(eid)
            else:
                buf.insert(cursor, key)
                st.buf_ids.insert(cursor, eid)
            st.cursor = cursor + 1
            st.hist.append(key)
            st.hist_ids.append(eid)
            continue
        op = _SHORTCUTS.get(key.lower(), -1) if len(key) == 1 else _OPS.get(key, -1)
        if op != _INERT and op != _COPY:
            _edit(st, op, row, chord)
    for st in streams.values():
        if st.head is not None:
            out.append(st.close(numbering))
    return out


def _edit(st: _Stream, op: int, row: dict[str, Any], chord: bool) -> None:
    """Apply a named key or shortcut (op -1: one the replay cannot model) to the open segment."""
    typed = ""
    if op == -1:
        st.unknown_keys += 1
    elif op in (_BACKSPACE, _DELETE, _CUT):
        if st.select_all:
            st.buf.clear()
            st.buf_ids.clear()
            st.cursor = 0
            st.select_all = False
        elif op == _CUT:
            st.unknown_keys += 1  # cuts a selection the replay does not know
        elif op == _BACKSPACE and st.cursor > 0:
            st.cursor -= 1
            del st.buf[st.cursor]
            del st.buf_ids[st.cursor]
        elif op == _DELETE and st.cursor < len(st.buf):
            del st.buf[st.cursor]
            del st.buf_ids[st.cursor]
    elif op == _SELECT_ALL:
        st.select_all = True
    elif op == _PASTE:
        if row["text"] is None:
            st.unknown_pastes += 1
        else:
            typed = row["text"]
    elif op == _TAB:
        if st.kind in NEWLINE_KINDS:
            typed = "\t"
    elif op == _ENTER:
        mods = row["modifiers"]
        if st.kind in NEWLINE_KINDS or (mods and "Shift" in mods and st.kind in SHIFT_NEWLINE_KINDS):
            typed = "\n"
        else:
            st.ended = True
    elif st.select_all:  # a cursor move collapses a select-all to the side it moves to
        st.select_all = False
        st.cursor = 0 if op in (_LEFT, _UP, _HOME, _PAGE_UP) else len(st.buf)
    else:
        st.cursor = _move(op, st.buf, st.cursor, chord)
    if typed:
        if st.select_all:
            st.buf.clear()
            st.buf_ids.clear()
            st.cursor = 0
            st.select_all = False
        ids = [row["event_id"]] * len(typed)
        st.buf[st.cursor:st.cursor] = typed
        st.buf_ids[st.cursor:st.cursor] = ids
        st.cursor += len(typed)
        st.hist.extend(typed)
        st.hist_ids.extend(ids)


def _move(op: int, buf: list[str], cursor: int, chord: bool) -> int:
    """The cursor after a move key; `chord` (Control/Meta) makes Home/End go to the text's ends."""
    if op == _LEFT:
        return cursor - 1 if cursor > 0 else 0
    if op == _RIGHT:
        return cursor + 1 if cursor < len(buf) else cursor
    if op == _PAGE_UP or (op == _HOME and chord):
        return 0
    if op == _PAGE_DOWN or (op == _END and chord):
        return len(buf)
    start = _line_start(buf, cursor)
    if op == _HOME:
        return start
    if op == _END:
        return _line_end(buf, cursor)
    column = cursor - start
    if op == _UP:
        if start == 0:
            return 0
        return min(_line_start(buf, start - 1) + column, start - 1)
    end = _line_end(buf, cursor)  # _DOWN
    if end == len(buf):
        return end
    return min(end + 1 + column, _line_end(buf, end + 1))


def _line_start(buf: list[str], cursor: int) -> int:
    while cursor > 0 and buf[cursor - 1] != "\n":
        cursor -= 1
    return cursor


def _line_end(buf: list[str], cursor: int) -> int:
    while cursor < len(buf) and buf[cursor] != "\n":
        cursor += 1
    return cursor


def history_closure(segment: Segment, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of history_text covering everything inserted between the first and the last character of
    each final-text span: a typo fixed inside a card number, or digits deleted and retyped, are part of
    the value too, even though only the final text was scanned."""
    if not spans:
        return []
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for pos, eid in enumerate(segment.history_event_ids):
        first.setdefault(eid, pos)
        last[eid] = pos
    out = []
    for start, end in _checked(spans, len(segment.final_text)):
        eids = set(segment.final_event_ids[start:end])
        out.append((min(first[e] for e in eids), max(last[e] for e in eids) + 1))
    return out


def _checked(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Spans that fit the text; a span that does not is a detector/caller bug, so it stops the run."""
    for start, end in spans:
        if not 0 <= start <= end <= length:
            raise ValueError("a sensitive span lies outside its segment's text")
    return [(start, end) for start, end in spans if start < end]


def mask_events(rows: list[dict[str, Any]], segments: list[Segment], sensitive: dict[str, list[tuple[int, int]]],
                history_sensitive: dict[str, list[tuple[int, int]]], *, in_place: bool = False
                ) -> list[dict[str, Any]]:
    """Publishable copies of `rows` (same order): `key` hidden where it would reveal a secret, `text`
    always None, and a `key_class` for behaviour models. With `in_place` the rows themselves are
    rewritten and returned: no per-event copy (several times faster on a big partition), and the raw
    keys do not stay in memory beside the masked ones; for callers that are done with the raw rows.

    `segments` must be `replay(rows)`; `sensitive` and `history_sensitive` hold (start, end) spans over
    each segment's final_text and history_text, by segment_id. Hidden: in password fields every key
    that types (printable, Paste, unknown) becomes "<masked>"; a key that typed a character inside a
    sensitive span, or inside the history between a final span's first and last character, becomes
    "<redacted>"; a key-up follows the key-down it releases, and a printable key-up that releases
    nothing, or a printable key under an unknown action, is "<redacted>" (nothing vouches for it).
    Unknown multi-character keys become "<unknown>" (they may carry IME or autocomplete text).
    Named keys (Backspace, arrows, Enter, modifiers...) stay: behaviour models need them.
    """
    by_id = {s.segment_id: s for s in segments}
    if not by_id.keys() >= sensitive.keys() | history_sensitive.keys():
        raise ValueError("sensitive spans name segments that replay did not produce")
    hidden: set[str] = set()
    masked: set[str] = set()
    released: dict[str, str] = {}
    for seg in segments:
        if seg.key_ups:
            released.update(seg.key_ups)
        if seg.is_password:
            masked.update(seg.event_ids)
        final = sensitive.get(seg.segment_id)
        if final:
            for start, end in _checked(final, len(seg.final_text)):
                hidden.update(seg.final_event_ids[start:end])
            for start, end in history_closure(seg, final):
                hidden.update(seg.history_event_ids[start:end])
        past = history_sensitive.get(seg.segment_id)
        if past:
            for start, end in _checked(past, len(seg.history_text)):
                hidden.update(seg.history_event_ids[start:end])
    with _collector_paused():
        return _masked_rows(rows, hidden, masked, released, in_place)


def _masked_rows(rows: list[dict[str, Any]], hidden: set[str], masked: set[str], released: dict[str, str],
                 in_place: bool) -> list[dict[str, Any]]:
    """The per-event half of `mask_events`: the hot loop, so constants are bound to locals."""
    published: dict[str, tuple[str, str, int]] = {}  # per call: raw key values never outlive it
    password_kinds, types_always, types_in_code = PASSWORD_KINDS, _TYPES, _TYPES_IN_CODE
    out: list[dict[str, Any]] = []
    append = out.append
    for row in rows:
        key = row["key"]
        entry = published.get(key)
        if entry is None:
            entry = published[key] = _publish(key)
        pub_key, pub_class, types = entry
        if types == types_always:
            action = row["action"]
            if row["field_kind"] in password_kinds:
                pub_key, pub_class = MASKED, "masked"
            elif action == "down":
                if row["event_id"] in hidden:
                    pub_key, pub_class = REDACTED, "redacted"
            elif action == "up":
                down = released.get(row["event_id"])
                if down is None:
                    if len(key) == 1:
                        pub_key, pub_class = REDACTED, "redacted"
                elif down in hidden:
                    pub_key, pub_class = REDACTED, "redacted"
                elif down in masked:
                    pub_key, pub_class = MASKED, "masked"
            elif len(key) == 1:
                pub_key, pub_class = REDACTED, "redacted"
        elif types == types_in_code:
            eid = row["event_id"]
            if row["action"] == "up":
                eid = released.get(eid, eid)
            if eid in hidden:
                pub_key, pub_class = REDACTED, "redacted"
        if not in_place:
            row = row.copy()
        row["key"] = pub_key
        row["key_class"] = pub_class
        row["text"] = None
        append(row)
    return out


def _publish(key: str) -> tuple[str, str, int]:
    """(published key, class, whether it can type) for a key that nothing sensitive touched."""
    if len(key) == 1:
        if key.isalpha():
            return key, "letter", _TYPES
        if key.isdigit():
            return key, "digit", _TYPES
        if key.isspace():
            return key, "space", _TYPES
        return key, "punct", _TYPES
    if key == "Paste":
        return key, "named:Paste", _TYPES
    if key == "Enter" or key == "Tab":
        return key, f"named:{key}", _TYPES_IN_CODE
    if key in NAMED_KEYS:
        return key, f"named:{key}", _NEVER_TYPES
    return UNKNOWN, "unknown", _TYPES
