"""Keystroke replay and masking: rebuild the text a key stream typed, then hide the keys behind secrets.

Why: a keystroke log never holds the typed text as a string, so a password or a card number typed key
by key (or typed and then deleted) is invisible to text detectors until the stream is replayed.
`replay` rebuilds each field's text with a map from every character back to the event (row) that typed
it; detection runs over that text elsewhere and hands back spans; `mask_events` then hides the keys
behind every sensitive character, so what is published is timing and key classes, never the value.

Both work on a partition's checked rows as one Arrow table (`pipeline.read_columnar.read_columnar`), with NumPy
over whole columns: a partition holds millions of events. Only segments with cursor moves, select-all or
cut go through the state machine (`_Editor`) key by key; `replay(..., fast=False)` sends every segment
there, which is what the tests compare the column arithmetic against.

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

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.columns import value_codes

PASSWORD_KINDS = frozenset({"password"})
NEWLINE_KINDS = frozenset({"code"})  # Enter and Tab type "\n" and "\t" instead of ending/leaving
SHIFT_NEWLINE_KINDS = frozenset({"text"})  # Shift+Enter types "\n" (a line break in a chat composer)

MASKED = "<masked>"
REDACTED = "<redacted>"
UNKNOWN = "<unknown>"

# What a key-down does: type its character, or one of the editing operations of named keys and shortcuts.
(_BACKSPACE, _DELETE, _LEFT, _RIGHT, _UP, _DOWN, _HOME, _END, _PAGE_UP, _PAGE_DOWN, _SELECT_ALL, _PASTE,
 _CUT, _COPY, _TAB, _ENTER, _INERT, _CHAR) = range(18)
_UNMODELLED = -1

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
# Segments with these need the state machine; the rest only append, or delete at the end (Backspace).
_NEEDS_EDITOR = (_LEFT, _RIGHT, _UP, _DOWN, _HOME, _END, _PAGE_UP, _PAGE_DOWN, _SELECT_ALL, _CUT)
_NEVER_TYPES, _TYPES, _TYPES_IN_CODE = range(3)  # can a key's event put characters into the text?
_KEY_DOWN, _KEY_UP, _OTHER_ACTION = range(3)  # what an event's `action` says
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, eq=False)
class Segment:
    """One stretch of typing into one field, rebuilt, with every character traced to its event's row."""

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
    final_rows: np.ndarray  # row of the event that typed each character of final_text
    history_text: str  # every character ever inserted, in insertion order, deleted ones included
    history_rows: np.ndarray  # one row per character of history_text
    is_password: bool
    unknown_keys: int = 0  # keys and shortcuts the replay could not model
    unknown_pastes: int = 0  # Paste without the pasted text
    up_events: int = 0
    unknown_actions: int = 0


@dataclass(frozen=True, eq=False)
class Replay:
    """What `replay` rebuilt: the segments, and per row of the input table its segment and its key-down."""

    segments: list[Segment]  # in the order they end
    segment_of: np.ndarray  # index into `segments`; -1 for a row of a stream without any key-down
    released: np.ndarray  # for a key-up, the row of the key-down it releases; else -1


def replay(events: pa.Table, idle_gap_ms: int = 30_000, *, fast: bool = True) -> Replay:
    """Rebuild every typed segment of a keystroke table (`pipeline.read_columnar.checked_schema` columns).

    Segments come out in the order they end. Events before a stream's first key-down join its first
    segment; a stream without any key-down yields no segment (its key-ups stay unpaired, which
    `mask_events` treats as unsafe). `fast=False` rebuilds every segment (and pairs every key-up) with
    the state machine instead of column arithmetic: same result, for tests.
    """
    n = events.num_rows
    if n == 0:
        return Replay([], np.zeros(0, np.int64), np.zeros(0, np.int64))
    c = _Columns(events)
    rows, position = _replay_order(c.stream, c.ts)
    s = _Sorted(c, rows)
    segs = _segment(c, s, idle_gap_ms * 1000)
    released = _pair_key_ups(c, s, fast)
    slow = np.zeros(segs.count, bool) if fast else np.ones(segs.count, bool)
    slow[segs.of_down[np.isin(segs.op, _NEEDS_EDITOR)]] = True
    texts = _append_only_texts(c, s, segs, ~slow)
    texts.update(_edited_texts(c, s, segs, slow))
    return _assemble(events, c, s, segs, texts, position, released)


class _Columns:
    """The columns replay reads, as NumPy codes (one integer per distinct value, -1 for null)."""

    def __init__(self, events: pa.Table) -> None:
        self.events = events
        self.n = events.num_rows
        device, _ = value_codes(events["device_id"])
        session, sessions = value_codes(events["session_id"])
        self.stream = device * (len(sessions) + 1) + session
        self.ts = pc.cast(events["ts"], pa.int64()).to_numpy()
        self.action = _actions(events)
        self.key, self.keys = value_codes(events["key"])
        context = {name: value_codes(events[name]) for name in ("field_id", "window_title", "app", "field_kind")}
        self.context = [codes for codes, _ in context.values()]  # a change of any of these ends a segment
        kind, kinds = context["field_kind"]
        self.newline_kind = _lookup([k in NEWLINE_KINDS for k in kinds], kind, False)
        self.shift_newline_kind = _lookup([k in SHIFT_NEWLINE_KINDS for k in kinds], kind, False)
        mods = events["modifiers"].combine_chunks()
        held = mods.flatten()
        parents = pc.list_parent_indices(mods).to_numpy()

        def holding(name: str) -> np.ndarray:
            out = np.zeros(self.n, bool)
            out[parents[pc.equal(held, name).to_numpy(zero_copy_only=False)]] = True
            return out

        self.shift = holding("Shift")
        control, alt = holding("Control"), holding("Alt")
        self.chord = holding("Meta") | (control & ~alt)  # Control+Alt is AltGr: it types
        self.text_null = events["text"].is_null().to_numpy(zero_copy_only=False)


def _actions(events: pa.Table) -> np.ndarray:
    codes, actions = value_codes(events["action"])
    per_value = [_KEY_DOWN if a == "down" else _KEY_UP if a == "up" else _OTHER_ACTION for a in actions]
    return _lookup(per_value, codes, _OTHER_ACTION)


def _lookup(per_value: list[Any], codes: np.ndarray, null: Any) -> np.ndarray:
    """`per_value[code]` for each code, `null` for -1."""
    return np.asarray([*per_value, null])[codes]


def _replay_order(stream: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by (stream, processing position), and each row's processing position. Streams are
    replayed in input order, unless one of them goes back in time: then all rows in (ts, input) order.
    Either way each stream's own rows come in (ts, input) order; the position decides the order in which
    segments of different streams end (their numbering, when two streams' id prefixes coincide)."""
    by_stream = np.argsort(stream, kind="stable")
    s, t = stream[by_stream], ts[by_stream]
    if not np.any((s[1:] == s[:-1]) & (t[1:] < t[:-1])):
        return by_stream, np.arange(len(stream))
    by_time = np.argsort(ts, kind="stable")
    position = np.empty(len(ts), np.int64)
    position[by_time] = np.arange(len(ts))
    return by_time[np.argsort(stream[by_time], kind="stable")], position


class _Sorted:
    """Rows in replay order: grouped by stream, each stream in its own order."""

    def __init__(self, c: _Columns, rows: np.ndarray) -> None:
        self.rows = rows
        stream = c.stream[rows]
        self.stream_start = np.r_[True, stream[1:] != stream[:-1]]
        self.stream_id = np.cumsum(self.stream_start) - 1  # dense, in replay order
        self.action = c.action[rows]
        self.downs = np.flatnonzero(self.action == _KEY_DOWN)  # sorted positions of the key-downs
        self.down_rows = rows[self.downs]


class _Segments:
    """Segment boundaries over the key-downs (segments numbered in the order they open)."""

    def __init__(self, op: np.ndarray, types_newline: np.ndarray, of_down: np.ndarray) -> None:
        self.op = op  # per key-down: what it does
        self.types_newline = types_newline  # per key-down: an Enter that types "\n"
        self.of_down = of_down  # per key-down: its segment
        self.count = int(of_down[-1]) + 1 if len(of_down) else 0
        self.first = np.flatnonzero(np.r_[True, of_down[1:] != of_down[:-1]]) if len(of_down) else of_down
        self.last = np.r_[self.first[1:], len(of_down)] - 1


def _segment(c: _Columns, s: _Sorted, gap_us: int) -> _Segments:
    """Which segment each key-down belongs to: a key-down opens a new one at its stream's first key-down,
    after an Enter that ended the previous one, after an idle gap, or when the field context changes."""
    rows = s.down_rows
    key = c.key[rows]
    single = _lookup([len(k) == 1 for k in c.keys], key, False)
    shortcut = _lookup([_SHORTCUTS.get(k.lower(), _UNMODELLED) for k in c.keys], key, _UNMODELLED)
    named = _lookup([_OPS.get(k, _UNMODELLED) for k in c.keys], key, _UNMODELLED)
    chord = c.chord[rows]
    op = np.where(single & ~chord, _CHAR, np.where(single, shortcut, named))
    enter = op == _ENTER
    types_newline = enter & (c.newline_kind[rows] | (c.shift[rows] & c.shift_newline_kind[rows]))
    opens = s.stream_start[s.downs].copy()
    opens[:1] = True
    later = np.diff(s.stream_id[s.downs]) == 0  # next key-down in the same stream
    ts = c.ts[rows]
    changed = (enter & ~types_newline)[:-1] | (np.diff(ts) > gap_us)
    for context in c.context:
        values = context[rows]
        changed |= values[1:] != values[:-1]
    opens[1:] |= ~later | changed
    return _Segments(op, types_newline, np.cumsum(opens) - 1)


def _pair_key_ups(c: _Columns, s: _Sorted, fast: bool) -> np.ndarray:
    """For each key-up, the row of the key-down it releases (else -1): per stream, the last unreleased
    key-down of the same key, or, for a one-character key, of the same key in the other case (Shift
    released before the key). Column arithmetic covers streams where that fallback never fires; the
    others are paired event by event."""
    released = np.full(c.n, -1, np.int64)
    at = np.flatnonzero(s.action != _OTHER_ACTION)  # only key-downs and key-ups hold or release keys
    group = s.stream_id[at] * (len(c.keys) + 1) + c.key[s.rows[at]]
    order = np.argsort(group, kind="stable")
    at, group = at[order], group[order]  # by (stream, key), each in replay order
    up = s.action[at] == _KEY_UP
    after_down = np.r_[False, (group[1:] == group[:-1]) & (s.action[at[:-1]] == _KEY_DOWN)]
    pairs = np.flatnonzero(up & after_down)
    released[s.rows[at[pairs]]] = s.rows[at[pairs - 1]]
    sequential = _case_fallback_streams(c, s, at, group, up & ~after_down) if fast else np.unique(s.stream_id)
    bounds = np.r_[np.flatnonzero(s.stream_start), len(s.rows)]
    for stream in sequential.tolist():
        _pair_stream(c, s, range(bounds[stream], bounds[stream + 1]), released)
    return released


def _case_fallback_streams(c: _Columns, s: _Sorted, at: np.ndarray, group: np.ndarray, unpaired: np.ndarray) -> np.ndarray:
    """Streams where a key-up that released nothing of its own key finds the other case of it held."""
    code_of = {k: i for i, k in enumerate(c.keys)}
    partner_of = [code_of.get(k.swapcase(), -1) if len(k) == 1 and k.swapcase() != k else -1 for k in c.keys]
    partner = np.asarray([*partner_of, -1])[c.key[s.rows[at]]]
    asks = np.flatnonzero(unpaired & (partner >= 0))
    if not len(asks):
        return np.zeros(0, np.int64)
    # the last event of the partner key in the same stream before the key-up: is it a key-down?
    starts = np.r_[True, group[1:] != group[:-1]]
    dense = np.cumsum(starts) - 1
    keys = group[starts]
    wanted = s.stream_id[at[asks]] * (len(c.keys) + 1) + partner[asks]
    g = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    n = len(s.rows) + 1
    before = np.searchsorted(dense * n + at, g * n + at[asks]) - 1
    held = (keys[g] == wanted) & (before >= 0) & (dense[before] == g) & (s.action[at[before]] == _KEY_DOWN)
    return np.unique(s.stream_id[at[asks[held]]])


def _pair_stream(c: _Columns, s: _Sorted, positions: range, released: np.ndarray) -> None:
    """The pairing of one stream, event by event."""
    pending: dict[str, int] = {}
    for pos in positions:
        action = s.action[pos]
        if action == _OTHER_ACTION:
            continue
        row = int(s.rows[pos])
        key = c.keys[c.key[row]]
        if action == _KEY_DOWN:
            pending[key] = row
            continue
        down = pending.pop(key, None)
        if down is None and len(key) == 1:
            down = pending.pop(key.swapcase(), None)
        released[row] = -1 if down is None else down


@dataclass
class _Text:
    """One segment's rebuilt text and counts."""

    final_text: str
    final_rows: np.ndarray
    history_text: str
    history_rows: np.ndarray
    unknown_keys: int
    unknown_pastes: int


def _append_only_texts(c: _Columns, s: _Sorted, segs: _Segments, chosen: np.ndarray) -> dict[int, _Text]:
    """Texts of the chosen segments, whose key-downs only append at the end or delete there (Backspace),
    with column arithmetic. After each inserted character or Backspace the field holds some number of
    characters (a Backspace on an empty field deletes nothing); a character survives into the final
    text unless that number later drops below what it was just after the character went in."""
    downs = np.flatnonzero(chosen[segs.of_down])
    if not len(downs):
        return {}
    op, rows, seg = segs.op[downs], s.down_rows[downs], segs.of_down[downs]
    paste = (op == _PASTE) & ~c.text_null[rows]
    tab = (op == _TAB) & c.newline_kind[rows]
    inserts = (op == _CHAR) | paste | tab | segs.types_newline[downs]
    backspace = op == _BACKSPACE
    # what each inserting key-down types: its key, "\t", "\n", or the pasted text
    typed = pa.array([*c.keys, "\t", "\n"], pa.string()).take(
        pa.array(np.where(op == _CHAR, c.key[rows], np.where(tab, len(c.keys), len(c.keys) + 1))[inserts])
    )
    if paste.any():
        pasted = pc.cast(c.events["text"].take(pa.array(rows[inserts])), pa.string()).combine_chunks()
        typed = pc.if_else(pa.array(paste[inserts]), pasted, typed)
    chars = _code_points(typed)
    steps = np.zeros(len(downs), np.int64)
    steps[inserts] = pc.utf8_length(typed).to_numpy()
    steps[backspace] = 1
    item = np.repeat(np.arange(len(downs)), steps)  # one item per character inserted or Backspace
    step = np.where(backspace[item], -1, 1)
    item_seg = seg[item]
    inserted = step > 0
    kept = _survivors(step, item_seg)[inserted]
    char_rows, char_seg = rows[item[inserted]], item_seg[inserted]
    history = chars.tobytes().decode("utf-32-le")
    final = chars[kept].tobytes().decode("utf-32-le")
    ids = np.unique(seg)
    h = np.searchsorted(char_seg, ids), np.searchsorted(char_seg, ids, side="right")
    f = np.searchsorted(char_seg[kept], ids), np.searchsorted(char_seg[kept], ids, side="right")
    final_rows = char_rows[kept]
    unknown_keys = np.bincount(seg[op == _UNMODELLED], minlength=segs.count)
    unknown_pastes = np.bincount(seg[(op == _PASTE) & ~paste], minlength=segs.count)
    return {
        o: _Text(final[fs:fe], final_rows[fs:fe], history[hs:he], char_rows[hs:he], int(unknown_keys[o]),
                 int(unknown_pastes[o]))
        for o, hs, he, fs, fe in zip(ids.tolist(), *h, *f)
    }


def _survivors(step: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """For a run of +1 (a character inserted at the end) and -1 (Backspace) steps, grouped by segment:
    whether each item is still there at the end of its segment (True for an inserted character not
    deleted later). The field holds `level` characters, clamped at 0 since Backspace on an empty field
    deletes nothing; a character survives unless the count later drops below what it was just after it."""
    if not len(step):
        return np.zeros(0, bool)
    first = np.r_[True, segment[1:] != segment[:-1]]
    last = np.r_[first[1:], True]
    rank = np.cumsum(first) - 1
    big = 2 * len(step) + 2  # offsets that keep running minima from crossing segment boundaries
    total = np.cumsum(step)
    level = total - (total - step)[first][rank]  # inserted minus deleted so far, within the segment
    floor = np.minimum.accumulate(level - rank * big) + rank * big
    held = level - np.minimum(floor, 0)
    back = rank[-1] - rank[::-1]
    lowest_from = (np.minimum.accumulate(held[::-1] - back * big) + back * big)[::-1]
    lowest_after = np.where(last, big, np.r_[lowest_from[1:], big])
    return lowest_after >= held


def _code_points(strings: pa.Array) -> np.ndarray:
    """All characters of a string array, concatenated, as code points."""
    if len(strings) == 0 or strings.buffers()[2] is None:
        return np.zeros(0, np.uint32)
    offsets = np.frombuffer(strings.buffers()[1], np.int32)[strings.offset : strings.offset + len(strings) + 1]
    utf8 = strings.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]
    return np.frombuffer(utf8.decode().encode("utf-32-le"), np.uint32)


def _edited_texts(c: _Columns, s: _Sorted, segs: _Segments, chosen: np.ndarray) -> dict[int, _Text]:
    """Texts of the chosen segments, key-down by key-down through the state machine."""
    downs = np.flatnonzero(chosen[segs.of_down])
    rows = s.down_rows[downs]
    pasted = pc.cast(c.events["text"].take(pa.array(rows)), pa.string()).to_pylist()
    op = segs.op[downs]
    types = np.where(op == _ENTER, segs.types_newline[downs], c.newline_kind[rows])  # Enter / Tab type here
    seg = segs.of_down[downs]
    last = np.r_[seg[1:] != seg[:-1], True]
    out: dict[int, _Text] = {}
    editor = _Editor()
    for o, action, key, row, text, chord, typ, ends in zip(
        seg.tolist(), op.tolist(), c.key[rows].tolist(), rows.tolist(), pasted, c.chord[rows].tolist(),
        types.tolist(), last.tolist()
    ):
        editor.press(action, c.keys[key], text, row, chord, typ)
        if ends:
            out[o] = editor.text()
            editor = _Editor()
    return out


class _Editor:
    """The state machine: one segment's field (text, cursor, select-all) as its key-downs edit it."""

    __slots__ = ("buf", "buf_rows", "cursor", "hist", "hist_rows", "select_all", "unknown_keys", "unknown_pastes")

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.buf_rows: list[int] = []
        self.hist: list[str] = []
        self.hist_rows: list[int] = []
        self.cursor = self.unknown_keys = self.unknown_pastes = 0
        self.select_all = False

    def press(self, op: int, key: str, text: str | None, row: int, chord: bool, types: bool) -> None:
        """One key-down; `types` says whether an Enter or Tab types its character in this field."""
        if op == _CHAR:
            self._insert(key, row)
        elif op == _INERT or op == _COPY:
            pass
        elif op == _UNMODELLED:
            self.unknown_keys += 1
        elif op in (_BACKSPACE, _DELETE, _CUT):
            if self.select_all:
                self._clear()
            elif op == _CUT:
                self.unknown_keys += 1  # cuts a selection the replay does not know
            elif op == _BACKSPACE and self.cursor > 0:
                self.cursor -= 1
                del self.buf[self.cursor]
                del self.buf_rows[self.cursor]
            elif op == _DELETE and self.cursor < len(self.buf):
                del self.buf[self.cursor]
                del self.buf_rows[self.cursor]
        elif op == _SELECT_ALL:
            self.select_all = True
        elif op == _PASTE:
            if text is None:
                self.unknown_pastes += 1
            else:
                self._insert(text, row)
        elif op == _TAB or op == _ENTER:
            if types:
                self._insert("\t" if op == _TAB else "\n", row)
        elif self.select_all:  # a cursor move collapses a select-all to the side it moves to
            self.select_all = False
            self.cursor = 0 if op in (_LEFT, _UP, _HOME, _PAGE_UP) else len(self.buf)
        else:
            self.cursor = _move(op, self.buf, self.cursor, chord)

    def _insert(self, typed: str, row: int) -> None:
        if not typed:
            return
        if self.select_all:
            self._clear()
        rows = [row] * len(typed)
        self.buf[self.cursor : self.cursor] = typed
        self.buf_rows[self.cursor : self.cursor] = rows
        self.cursor += len(typed)
        self.hist.extend(typed)
        self.hist_rows.extend(rows)

    def _clear(self) -> None:
        self.buf.clear()
        self.buf_rows.clear()
        self.cursor = 0
        self.select_all = False

    def text(self) -> _Text:
        return _Text("".join(self.buf), np.array(self.buf_rows, np.int64), "".join(self.hist),
                     np.array(self.hist_rows, np.int64), self.unknown_keys, self.unknown_pastes)


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


def _assemble(events: pa.Table, c: _Columns, s: _Sorted, segs: _Segments, texts: dict[int, _Text],
              position: np.ndarray, released: np.ndarray) -> Replay:
    """Segments in the order they end, numbered per id prefix, and each row's segment."""
    n, m = c.n, segs.count
    segment_of = np.full(n, -1, np.int64)
    if m == 0:
        return Replay([], segment_of, released)
    # every event joins the segment open when it comes (that of the last key-down so far in its stream);
    # events before a stream's first key-down join its first segment
    downs_so_far = np.cumsum(s.action == _KEY_DOWN)
    first_down = downs_so_far[s.stream_start] - (s.action[s.stream_start] == _KEY_DOWN)  # per stream
    has_down = np.r_[first_down[1:], len(s.downs)] > first_down
    down = np.minimum(np.maximum(downs_so_far - 1, first_down[s.stream_id]), len(s.downs) - 1)
    of_sorted = np.where(has_down[s.stream_id], segs.of_down[down], -1)
    down_stream = s.stream_id[s.downs]
    # a segment ends when the next key-down of its stream opens another; the last ones of each stream at
    # the end, in the order their streams first appeared
    heads = s.down_rows[segs.first]
    seg_stream = down_stream[segs.first]
    first_position = position[s.rows[s.stream_start]]
    ends_at = len(position) + first_position[seg_stream]
    closed_by_next = seg_stream[1:] == seg_stream[:-1]
    ends_at[:-1] = np.where(closed_by_next, position[heads[1:]], ends_at[:-1])
    order = np.argsort(ends_at)
    rank = np.empty(m, np.int64)
    rank[order] = np.arange(m)
    segment_of[s.rows] = np.where(of_sorted >= 0, rank[np.maximum(of_sorted, 0)], -1)
    counted = of_sorted >= 0
    ups = np.bincount(of_sorted[counted & (s.action == _KEY_UP)], minlength=m)
    others = np.bincount(of_sorted[counted & (s.action == _OTHER_ACTION)], minlength=m)
    names = ["employee_id", "device_id", "session_id", "field_id", "field_kind", "app", "window_title", "ts"]
    head = {name: _python_values(events[name].take(pa.array(heads))) for name in names}
    ts_end = _python_values(events["ts"].take(pa.array(s.down_rows[segs.last])))
    numbering: dict[str, int] = {}
    segments = []
    for o in order.tolist():
        h = {name: values[o] for name, values in head.items()}
        # Numbered per id prefix, so ids stay unique even if a "/" inside an id makes two prefixes equal.
        prefix = f"{h['device_id']}/{h['session_id']}/{'-' if h['field_id'] is None else h['field_id']}"
        number = numbering.get(prefix, 0)
        numbering[prefix] = number + 1
        t = texts[o]
        segments.append(Segment(
            segment_id=f"{prefix}/{number}", employee_id=h["employee_id"], device_id=h["device_id"],
            session_id=h["session_id"], field_id=h["field_id"], field_kind=h["field_kind"], app=h["app"],
            window_title=h["window_title"], ts_start=h["ts"], ts_end=ts_end[o], final_text=t.final_text,
            final_rows=t.final_rows, history_text=t.history_text, history_rows=t.history_rows,
            is_password=h["field_kind"] in PASSWORD_KINDS, unknown_keys=t.unknown_keys,
            unknown_pastes=t.unknown_pastes, up_events=int(ups[o]), unknown_actions=int(others[o]),
        ))
    return Replay(segments, segment_of, released)


def _python_values(column: pa.ChunkedArray) -> list[Any]:
    """A few rows of a column as Python values (to_pylist is slow on dictionaries and timestamps)."""
    if pa.types.is_timestamp(column.type):
        micros = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64()).to_pylist()
        return [_EPOCH + timedelta(microseconds=us) for us in micros]
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    return column.to_pylist()


def history_closure(segment: Segment, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of history_text covering everything inserted between the first and the last character of
    each final-text span: a typo fixed inside a card number, or digits deleted and retyped, are part of
    the value too, even though only the final text was scanned."""
    out = []
    for start, end in _checked(spans, len(segment.final_text)):
        inside = np.flatnonzero(np.isin(segment.history_rows, segment.final_rows[start:end]))
        out.append((int(inside[0]), int(inside[-1]) + 1))
    return out


def _checked(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Spans that fit the text; a span that does not is a detector/caller bug, so it stops the run."""
    for start, end in spans:
        if not 0 <= start <= end <= length:
            raise ValueError("a sensitive span lies outside its segment's text")
    return [(start, end) for start, end in spans if start < end]


def mask_events(events: pa.Table, replayed: Replay, sensitive: dict[str, list[tuple[int, int]]],
                history_sensitive: dict[str, list[tuple[int, int]]]) -> pa.Table:
    """`events` made publishable, rows in the same order: `key` hidden where it would reveal a secret,
    `text` all null, and a `key_class` column for behaviour models.

    `replayed` must be `replay(events)`; `sensitive` and `history_sensitive` hold (start, end) spans over
    each segment's final_text and history_text, by segment_id. Hidden: in password fields every key
    that types (printable, Paste, unknown) becomes "<masked>"; a key that typed a character inside a
    sensitive span, or inside the history between a final span's first and last character, becomes
    "<redacted>"; a key-up follows the key-down it releases, and a printable key-up that releases
    nothing, or a printable key under an unknown action, is "<redacted>" (nothing vouches for it).
    Unknown multi-character keys become "<unknown>" (they may carry IME or autocomplete text).
    Named keys (Backspace, arrows, Enter, modifiers...) stay: behaviour models need them.
    """
    by_id = {s.segment_id: s for s in replayed.segments}
    if not by_id.keys() >= sensitive.keys() | history_sensitive.keys():
        raise ValueError("sensitive spans name segments that replay did not produce")
    n = events.num_rows
    hidden = np.zeros(n, bool)
    for segment_id, spans in sensitive.items():
        seg = by_id[segment_id]
        for start, end in _checked(spans, len(seg.final_text)):
            hidden[seg.final_rows[start:end]] = True
        for start, end in history_closure(seg, spans):
            hidden[seg.history_rows[start:end]] = True
    for segment_id, spans in history_sensitive.items():
        seg = by_id[segment_id]
        for start, end in _checked(spans, len(seg.history_text)):
            hidden[seg.history_rows[start:end]] = True
    password_segment = np.array([s.is_password for s in replayed.segments] + [False])
    masked = password_segment[replayed.segment_of]  # every event of a password field's segments
    key, keys = value_codes(events["key"])
    published = [_publish(k) for k in keys]
    types = _lookup([p[2] for p in published], key, _NEVER_TYPES)
    single = _lookup([len(k) == 1 for k in keys], key, False)
    action = _actions(events)
    kind, kinds = value_codes(events["field_kind"])
    password_row = _lookup([k in PASSWORD_KINDS for k in kinds], kind, False)
    down, up = action == _KEY_DOWN, action == _KEY_UP
    releases = replayed.released >= 0
    of = np.where(releases, replayed.released, 0)  # the key-down a key-up releases
    redacted = (
        (down & hidden) | (up & ~releases & single) | (up & releases & hidden[of]) | ((action == _OTHER_ACTION) & single)
    )
    verdict = np.zeros(n, np.int64)  # 0: published as is, 1: masked, 2: redacted
    typing = types == _TYPES
    verdict[typing & up & releases & masked[of]] = 1
    verdict[typing & redacted] = 2
    verdict[typing & password_row] = 1
    in_code = types == _TYPES_IN_CODE  # Enter and Tab: hidden where they typed inside a span
    verdict[in_code & hidden[np.where(up & releases, replayed.released, np.arange(n))]] = 2
    choice = pa.array(np.where(verdict == 0, key, len(keys) + verdict - 1))
    published_keys = pa.array([p[0] for p in published] + [MASKED, REDACTED], pa.string()).take(choice)
    classes = pa.array([p[1] for p in published] + ["masked", "redacted"], pa.string()).take(choice)
    out = events.set_column(events.schema.get_field_index("key"), "key", published_keys)
    out = out.set_column(out.schema.get_field_index("text"), "text", pa.nulls(n, pa.string()))
    return out.append_column("key_class", classes)


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
