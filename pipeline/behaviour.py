"""Checked key and mouse rows → rows of the `events` dataset: relative, quantised time and no identities.

Keystroke rows arrive here already masked (pipeline.keystrokes.mask_events); this module only decides
what of each event leaves: the session's relative time on a coarse grid, the app's category rather than
its name or window title, the key's class (or its masked character), and normalised, quantised mouse
positions. Every choice is set in the policy's `events` section.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from pipeline.contracts import EVENTS_SCHEMA
from pipeline.pseudonym import Pseudonymizer

OTHER = "other"
_MS = timedelta(milliseconds=1)


def app_category(app: str | None, categories: dict[str, list[str]]) -> str:
    """The first category one of whose names appears in the app name; app names themselves never leave."""
    name = (app or "").casefold()
    for category, needles in categories.items():
        if any(needle.casefold() in name for needle in needles):
            return category
    return OTHER


def _sessions(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    grouped: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((row["employee_id"], row["device_id"], row["session_id"]), []).append(row)
    return grouped


def _relative_ms(ts: datetime, start: datetime) -> int:
    return (ts - start) // _MS


def build_events(source: str, rows: list[dict[str, Any]], settings: dict[str, Any], keys: Pseudonymizer,
                 validation_fraction: float) -> pa.Table:
    """One output row per input row, sessions in order, events in (time, input) order within a session."""
    step, jitter = int(settings["time_step_ms"]), int(settings["jitter_ms"])
    grid = int(settings["coordinate_grid"])
    with_chars = settings["key_detail"] == "char"
    categories = settings["app_categories"]
    out: dict[str, list[Any]] = {name: [] for name in EVENTS_SCHEMA.names}
    for (employee, device, session), events in sorted(_sessions(rows).items()):
        events.sort(key=lambda r: r["ts"])  # stable: ties keep input order
        user_pid = keys.pid("user", employee)
        session_pid = keys.pid("session", f"{employee}/{device}/{session}")
        split = "validation" if keys.bucket(user_pid) < validation_fraction else "train"
        start = events[0]["ts"]
        for seq, row in enumerate(events):
            ms = _relative_ms(row["ts"], start) + keys.jitter(row["event_id"], jitter)
            out["user_pid"].append(user_pid)
            out["session_pid"].append(session_pid)
            out["source"].append(source)
            out["app_category"].append(app_category(row.get("app"), categories))
            out["seq"].append(seq)
            out["t_ms"].append(max(0, step * round(ms / step)))
            out["action"].append(row["action"])
            out["split"].append(split)
            if source == "keystrokes":
                out["key"].append(row["key"] if with_chars else None)
                out["key_class"].append(row["key_class"])
                out["x"].append(None)
                out["y"].append(None)
                out["button"].append(None)
            else:
                out["key"].append(None)
                out["key_class"].append(None)
                out["x"].append(_normalise(row.get("x"), row.get("screen_w"), grid))
                out["y"].append(_normalise(row.get("y"), row.get("screen_h"), grid))
                out["button"].append(row.get("button"))
    return pa.Table.from_pydict(out, schema=EVENTS_SCHEMA)


def _normalise(value: float | None, extent: float | None, grid: int) -> float | None:
    """Position as a share of the screen, rounded to 1/grid and clamped to [0, 1]; unknown stays null."""
    if value is None or not extent or extent <= 0:
        return None
    return min(1.0, max(0.0, round(value / extent * grid) / grid))
