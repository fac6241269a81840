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
  speed survives).

Gaps of at least `pause_ms` (pauses to think, switches between fields) keep their length, rounded to
`pause_step_ms`, in every form; the order of the events and their key classes never change. Everything
works on whole NumPy columns: keystroke partitions hold millions of events.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TIMING_FORMS = ("step", "population", "session_mean")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def publish_times(ms: np.ndarray, first: np.ndarray, of: np.ndarray, gap_class: np.ndarray, seeds: np.ndarray,
                  settings: dict[str, Any]) -> np.ndarray:
    """Published milliseconds since each session's start, for events in output order.

    `ms`: measured milliseconds since the session's first event; `first`: where each session starts;
    `of`: each row's session; `gap_class`: a small non-negative code per row naming the kind of gap that
    ends at it; `seeds`: one keyed 64-bit seed per session. The `step` form is left to the caller.
    """
    form = settings["timing"]
    if form not in ("population", "session_mean"):
        raise ValueError(f"timing form {form} is not drawn here")
    gap = np.diff(ms, prepend=ms[:1])
    gap[first] = 0
    pause_ms, pause_step = int(settings["pause_ms"]), int(settings["pause_step_ms"])
    short = gap < pause_ms
    short[first] = False
    new = np.zeros_like(gap)
    pauses = np.flatnonzero(gap >= pause_ms)  # a session's first row has gap 0: never a pause
    new[pauses] = (gap[pauses] + pause_step // 2) // pause_step * pause_step
    at = np.flatnonzero(short)
    if len(at):
        if form == "population":
            new[at] = _population_draws(gap[at], gap_class[at], _uniforms(seeds[of[at]], at - first[of[at]]))
        else:
            sessions = of[at]
            total = np.bincount(sessions, weights=gap[at], minlength=len(first))
            count = np.bincount(sessions, minlength=len(first))
            new[at] = np.rint(total[sessions] / count[sessions]).astype(np.int64)
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
