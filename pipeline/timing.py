"""Event timing in a published form that does not identify the typist.

Why: the gaps between key events are a biometric. Rounding them to 10 ms barely changes what an attacker
can do with them (docs/reidentification.md has the figures), so the policy's `events.timing` chooses what
a gap shorter than `pause_ms` becomes:

- `step`: the gap as measured, rounded with the rest of the time to `time_step_ms` (the old form);
- `population`: a draw from tonight's pool of gaps of the same class (the previous and this event's action,
  and this event's key class), from every typist of the night, so no gap carries its typist's rhythm. The
  draw is keyed per night and session by HMAC, so a re-run publishes the same bytes, and nobody without
  the key can tie a published gap back to the one it replaced;
- `session_mean`: every short gap of a session becomes that session's mean short gap (only the session's
  speed survives);
- `population_banded`: `population`, drawn only from sessions of the same speed band (the session's mean short
  gap against `speed_bands_ms`), so a session keeps its coarse typing speed and nothing finer.

Gaps of at least `pause_ms` (pauses to think, switches between fields) keep their length, rounded to
`pause_step_ms`, in every form; the order of the events and their key classes never change. Everything
works on whole NumPy columns: keystroke partitions hold millions of events.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TIMING_FORMS = ("step", "population", "population_banded", "session_mean")
DRAWN_FORMS = ("population", "population_banded")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def publish_times(ms: np.ndarray, first: np.ndarray, of: np.ndarray, gap_class: np.ndarray, seeds: np.ndarray,
                  settings: dict[str, Any]) -> np.ndarray:
    """Published milliseconds since each session's start, for events in output order, drawing from these
    events' own pool (one partition's night). Chunked nights split this in two: `timing_columns` per chunk,
    `draw_times` once over the whole night's columns, so the pool is the night's however it was cut.

    `ms`: measured milliseconds since the session's first event; `first`: where each session starts;
    `of`: each row's session; `gap_class`: a small non-negative code per row naming the kind of gap that
    ends at it; `seeds`: one keyed 64-bit seed per session. The `step` form is left to the caller.
    """
    if settings["timing"] not in (*DRAWN_FORMS, "session_mean"):
        raise ValueError(f"timing form {settings['timing']} is not drawn here")
    base, short, u = timing_columns(ms, first, of, gap_class, seeds, settings)
    return draw_times(base, short, gap_class, u, first, of)


def timing_columns(ms: np.ndarray, first: np.ndarray, of: np.ndarray, gap_class: np.ndarray, seeds: np.ndarray,
                   settings: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a session's events need for their published times, worked out per session: (`base`, the times
    without the gaps still to draw; `short`, the measured gap to replace by a draw from the night's pool, or -1;
    `u`, the keyed uniform of that draw). Only the `population` form leaves draws; `step` times are `ms`."""
    none = np.full(len(ms), -1, np.int64)
    form = settings["timing"]
    if form not in TIMING_FORMS:
        raise ValueError(f"timing form {form} is unknown")
    if form == "step":
        return ms, none, np.zeros(len(ms))
    gap, short = _gaps(ms, first, int(settings["pause_ms"]))
    pause_ms, pause_step = int(settings["pause_ms"]), int(settings["pause_step_ms"])
    new = np.zeros_like(gap)
    pauses = np.flatnonzero(gap >= pause_ms)  # a session's first row has gap 0: never a pause
    new[pauses] = (gap[pauses] + pause_step // 2) // pause_step * pause_step
    at = np.flatnonzero(short)
    u = np.zeros(len(ms))
    if form in DRAWN_FORMS:
        none[at] = gap[at]
        u[at] = _uniforms(seeds[of[at]], at - first[of[at]])
    elif len(at):  # session_mean
        sessions = of[at]
        total = np.bincount(sessions, weights=gap[at], minlength=len(first))
        count = np.bincount(sessions, minlength=len(first))
        new[at] = np.rint(total[sessions] / count[sessions]).astype(np.int64)
    return _since_start(new, first, of), none, u


def speed_banded(gap_class: np.ndarray, ms: np.ndarray, first: np.ndarray, of: np.ndarray,
                 settings: dict[str, Any]) -> np.ndarray:
    """Gap classes split by each session's speed band: its mean gap shorter than `pause_ms` placed among the
    `speed_bands_ms` bounds. Fixed bounds, so a band is the session's alone, whatever chunk or night it is in."""
    gap, short = _gaps(ms, first, int(settings["pause_ms"]))
    total = np.bincount(of[short], weights=gap[short], minlength=len(first))
    count = np.bincount(of[short], minlength=len(first))
    mean = np.divide(total, count, out=np.zeros(len(first)), where=count > 0)
    bounds = np.asarray(settings["speed_bands_ms"], np.float64)
    band = np.digitize(mean, bounds)
    return gap_class * (len(bounds) + 1) + band[of]


def _gaps(ms: np.ndarray, first: np.ndarray, pause_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's gap since the row before in its session (0 at a session's start), and which gaps are short."""
    gap = np.diff(ms, prepend=ms[:1])
    gap[first] = 0
    short = gap < pause_ms
    short[first] = False
    return gap, short


def draw_times(base: np.ndarray, short: np.ndarray, gap_class: np.ndarray, u: np.ndarray, first: np.ndarray,
               of: np.ndarray) -> np.ndarray:
    """Milliseconds since each session's start: `base` plus the drawn gaps, each from the pool of every
    `short` gap of its class among these rows (the night's, when they are the night's)."""
    at = np.flatnonzero(short >= 0)
    if not len(at):
        return base
    new = np.zeros(len(base), np.int64)
    new[at] = _population_draws(short[at], gap_class[at], u[at])
    return base + _since_start(new, first, of)


def _since_start(new: np.ndarray, first: np.ndarray, of: np.ndarray) -> np.ndarray:
    elapsed = np.cumsum(new)
    return elapsed - elapsed[first][of]


def _population_draws(gaps: np.ndarray, classes: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each gap, the gap at quantile `u` of all gaps of its class (the night's pool)."""
    span = int(gaps.max()) + 1  # one sort of a combined key instead of an argsort over two
    pool = np.sort(classes.astype(np.int64) * span + gaps) % span
    counts = np.bincount(classes)
    offsets = np.cumsum(counts) - counts
    pick = offsets[classes] + np.minimum((u * counts[classes]).astype(np.int64), counts[classes] - 1)
    return pool[pick]


def _uniforms(seeds: np.ndarray, position: np.ndarray) -> np.ndarray:
    """A repeatable uniform in [0, 1) per (session seed, position in the session): a SplitMix64 finaliser
    over the pair, so each value is computed alone (no sequential generator state) and fast over columns."""
    x = seeds.astype(np.uint64) + (position.astype(np.uint64) + np.uint64(1)) * _GOLDEN
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
