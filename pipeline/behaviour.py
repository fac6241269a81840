"""Checked key and mouse rows → rows of the `events` dataset: relative, quantised time and no identities.

Keystroke rows arrive here already masked (pipeline.keystrokes.mask_events); this module only decides
what of each event leaves: the session's relative time on a coarse grid, the app's category rather than
its name or window title, the key's class (or its masked character), and normalised, quantised mouse
positions. Every choice is set in the policy's `events` section. It works on whole Arrow/NumPy columns
(a partition holds millions of events); what depends on a value (pseudonyms, app categories) is worked
out once per distinct value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.contracts import EVENTS_SCHEMA, SOURCES, UNKNOWN
from pipeline.pseudonym import Pseudonymizer
from pipeline.columns import value_codes
from pipeline.timing import draw_times, speed_banded, timing_columns

OTHER = "other"
# A chunk's staged events: the published columns plus what the night-wide timing draws need (pipeline.timing),
# kept in private staging only; `finish_events` draws over the whole night's rows and drops them.
TIMING_FIELDS = [pa.field("_base_ms", pa.int64()), pa.field("_short_gap", pa.int64()),
                 pa.field("_gap_class", pa.int64()), pa.field("_u", pa.float64())]
STAGED_EVENTS_SCHEMA = pa.schema([*EVENTS_SCHEMA, *TIMING_FIELDS])


def app_category(app: str | None, categories: dict[str, list[str]]) -> str:
    """The first category one of whose names appears in the app name; app names themselves never leave."""
    name = (app or "").casefold()
    for category, needles in categories.items():
        if any(needle.casefold() in name for needle in needles):
            return category
    return OTHER


def build_events(source: str, events: pa.Table, settings: dict[str, Any], keys: Pseudonymizer,
                 fractions: tuple[float, float], night: str = "", staged: bool = False) -> pa.Table:
    """One output row per input row, sessions in order of their (employee, device, session) ids, events
    in (time, input) order within a session. `night` (the ds) keys the timing draws (pipeline.timing).
    `staged` leaves the draws from the night's pool to `finish_events` (STAGED_EVENTS_SCHEMA): a chunk
    holds only some of the night's sessions."""
    n = events.num_rows
    if n == 0:
        return (STAGED_EVENTS_SCHEMA if staged else EVENTS_SCHEMA).empty_table()
    jitter = int(settings["jitter_ms"])
    ids = [value_codes(events[name]) for name in ("employee_id", "device_id", "session_id")]
    ts = pc.cast(events["ts"], pa.int64()).to_numpy()
    order, first = _session_order(ids, ts)
    ts = ts[order]
    of = np.repeat(np.arange(len(first)), np.diff(np.r_[first, n]))  # session of each output row
    ms = (ts - ts[first][of]) // 1000
    if jitter > 0 and settings["timing"] == "step":
        ms += np.array([keys.jitter(e, jitter) for e in events["event_id"].take(pa.array(order)).to_pylist()], np.int64)
    (employee, employees), (device, devices), (sess, sessions) = ids
    heads = order[first]
    users: dict[str, str] = {}
    user_pids, session_pids = [], []
    for e, d, s in zip(employee[heads].tolist(), device[heads].tolist(), sess[heads].tolist()):
        if employees[e] not in users:
            users[employees[e]] = keys.pid("user", employees[e])
        user_pids.append(users[employees[e]])
        session_pids.append(keys.pid("session", f"{employees[e]}/{devices[d]}/{sessions[s]}"))
    gap_class = np.zeros(n, np.int64)
    seeds = np.zeros(len(first), np.uint64)
    if settings["timing"] != "step":
        gap_class = _gap_classes(source, events, order, first)
        if settings["timing"] == "population_banded":
            gap_class = speed_banded(gap_class, ms, first, of, settings)
        seeds = np.array([keys.seed("timing", f"{night}/{s}") for s in session_pids], np.uint64)
    base, short, u = timing_columns(ms, first, of, gap_class, seeds, settings)
    splits = [keys.split(u, fractions) for u in user_pids]
    app, apps = value_codes(events["app"])
    categories = [app_category(a, settings["app_categories"]) for a in [*apps, None]]  # None: null app
    app = np.where(app < 0, len(apps), app)
    columns: dict[str, Any] = {
        "user_pid": _take(user_pids, of),
        "session_pid": _take(session_pids, of),
        "source": _take([source], np.zeros(n, np.int64)),
        "app_category": _take(categories, app[order]),
        "seq": pa.array((np.arange(n) - first[of]).astype(np.int32)),
        "t_ms": pa.array(np.zeros(n, np.int64)),  # set by finish_events
        "action": _closed(source, "action", _column(events, "action", order)),
        "split": _take(splits, of),
    }
    missing = {name: pa.nulls(n, EVENTS_SCHEMA.field(name).type) for name in ("key", "key_class", "x", "y", "button")}
    if source == "keystrokes":
        keep = settings["key_detail"] == "char"
        columns.update(missing, key=_column(events, "key", order) if keep else missing["key"],
                       key_class=_column(events, "key_class", order))
    else:
        grid = int(settings["coordinate_grid"])
        columns.update(
            missing,
            x=_normalise(_floats(events, "x", order), _floats(events, "screen_w", order), grid),
            y=_normalise(_floats(events, "y", order), _floats(events, "screen_h", order), grid),
            button=_closed(source, "button", _column(events, "button", order)),
        )
    columns.update(_base_ms=pa.array(base), _short_gap=pa.array(short), _gap_class=pa.array(gap_class), _u=pa.array(u))
    table = pa.table([columns[name] for name in STAGED_EVENTS_SCHEMA.names], schema=STAGED_EVENTS_SCHEMA)
    return table if staged else finish_events(table, settings)


def finish_events(table: pa.Table, settings: dict[str, Any]) -> pa.Table:
    """Staged events (one chunk's, or the whole night's chunks together) → published `events` rows: the
    short gaps drawn from the pool of every row given, times put on the `time_step_ms` grid. Rows keep their
    order; each session's rows must be together, in `seq` order (as build_events stages them)."""
    if table.num_rows == 0:
        return EVENTS_SCHEMA.empty_table()
    step = int(settings["time_step_ms"])
    starts = table["seq"].to_numpy() == 0
    first = np.flatnonzero(starts)
    of = np.cumsum(starts) - 1
    base, short, gap_class, u = (table[f.name].to_numpy() for f in TIMING_FIELDS)
    ms = draw_times(base, short, gap_class, u, first, of)
    t_ms = np.maximum(0, step * np.rint(ms / step).astype(np.int64))
    table = table.set_column(table.schema.get_field_index("t_ms"), EVENTS_SCHEMA.field("t_ms"), pa.array(t_ms))
    return table.select(EVENTS_SCHEMA.names).cast(EVENTS_SCHEMA)


_GAP_KEY_CLASSES = {"letter": 0, "digit": 1, "space": 2, "punct": 3}  # named keys 4, hidden or unknown 5


def _gap_classes(source: str, events: pa.Table, order: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The kind of gap that ends at each row (output order): the previous event's action, this one's, and for
    keys this one's key class (named keys together), as a small integer code."""
    codes, actions = value_codes(events["action"])
    vocabulary = sorted(SOURCES[source].vocabulary["action"])
    action = _lookup_codes([vocabulary.index(a) if a in vocabulary else len(vocabulary) for a in actions],
                           codes, len(vocabulary))[order]
    kinds = len(vocabulary) + 1
    previous = np.r_[kinds, action[:-1]]
    previous[first] = kinds  # a session's first event: no gap before it (its code is never drawn from)
    gap = previous * kinds + action
    if source != "keystrokes":
        return gap
    codes, classes = value_codes(events["key_class"])
    per_class = [_GAP_KEY_CLASSES.get(c, 4 if c.startswith("named:") else 5) for c in classes]
    return gap * 6 + _lookup_codes(per_class, codes, 5)[order]


def _lookup_codes(per_value: list[int], codes: np.ndarray, null: int) -> np.ndarray:
    return np.asarray([*per_value, null], np.int64)[codes]


def _session_order(ids: list[tuple[np.ndarray, list[Any]]], ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows in output order (sessions sorted by their id tuples as Python sorts them, each session's events
    by time, ties in input order), and where each session starts in it."""
    session = np.zeros(len(ts), np.int64)
    size = 1
    for codes, values in ids:  # one integer per (employee, device, session)
        if size * (len(values) + 1) >= 2**62:
            session = np.unique(session, return_inverse=True)[1]
            size = int(session.max()) + 1
        session = session * (len(values) + 1) + codes + 1
        size *= len(values) + 1
    order = np.lexsort((ts, session))  # stable
    s = session[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    lengths = np.diff(np.r_[starts, len(ts)])
    heads = order[starts].tolist()
    triples = [tuple(values[codes[i]] for codes, values in ids) for i in heads]
    by_ids = np.array(sorted(range(len(triples)), key=triples.__getitem__), np.int64)
    lengths = lengths[by_ids]
    first = np.cumsum(lengths) - lengths
    within = np.arange(len(ts)) - np.repeat(first, lengths)
    return order[np.repeat(starts[by_ids], lengths) + within], first


def _take(values: list[Any], index: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(index))


def _column(events: pa.Table, name: str, order: np.ndarray) -> pa.Array:
    return pc.cast(events[name].take(pa.array(order)), pa.string()).combine_chunks()


def _closed(source: str, name: str, column: pa.Array) -> pa.Array:
    """A published column of a field with a closed vocabulary: any other value is `unknown` (the reader maps
    them already; this holds for any caller), nulls stay null."""
    vocabulary = pa.array(sorted(SOURCES[source].vocabulary[name]), pa.string())
    inside = pc.or_kleene(pc.is_in(column, value_set=vocabulary), column.is_null())
    return pc.if_else(inside, column, pa.scalar(UNKNOWN, pa.string()))


def _floats(events: pa.Table, name: str, order: np.ndarray) -> np.ndarray:
    """A float column in output order, null as NaN (checked rows never hold NaN)."""
    return events[name].take(pa.array(order)).to_numpy()


def _normalise(value: np.ndarray, extent: np.ndarray, grid: int) -> pa.Array:
    """Position as a share of the screen, rounded to 1/grid and clamped to [0, 1]; unknown stays null."""
    known = ~np.isnan(value) & ~np.isnan(extent) & (extent > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.rint(value / extent * grid) / grid + 0.0  # + 0.0: round(-0.3) is 0, not -0.0
    share = np.minimum(1.0, np.maximum(0.0, share))
    return pa.array(share.astype(np.float32), mask=~known)
