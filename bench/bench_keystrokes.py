"""Throughput of keystroke replay and masking on a synthetic night (a script, not a test).

Why: keystrokes are by far the largest source (two events per key, every employee, all day), so
replay + masking must keep up with about a million events per second per core. Run:

    .venv/bin/python bench/bench_keystrokes.py --events 2000000
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from pipeline.contracts import KEYSTROKES
from pipeline.keystrokes import Segment, mask_events, replay
from pipeline.read import check_row

WORDS = ("the", "deploy", "is", "done", "can", "you", "review", "my", "pull", "request", "thanks", "meeting",
         "at", "noon", "ok", "sounds", "good", "ticket", "Friday", "build", "failed", "again", "lunch", "I'll",
         "check", "logs", "please", "update", "doc", "QA")
NEIGHBOURS = {c: "qwertyuiopasdfghjklzxcvbnm"[(i + 1) % 26] for i, c in enumerate("qwertyuiopasdfghjklzxcvbnm")}
SHIFTED = set('~!@#$%^&*()_+{}|:"<>?')
APPS = (("Slack", "#general - Slack", "composer", "text"), ("Slack", "Direct message - Slack", "composer", "text"),
        ("Chrome", "Jira - Google Chrome", "search", "search"), ("VS Code", "main.py - VS Code", "editor", "code"))
NO_MODS: list[str] = []
SHIFT = ["Shift"]
CONTROL = ["Control"]


def device_stream(rng: random.Random, device: int, target: int, start: datetime) -> list[dict[str, Any]]:
    """One device's session: a sign-in, then messages typed with typos, pastes and the odd pause."""
    ctx = {"employee_id": f"E{device:04d}", "device_id": f"LT-{device:04d}", "session_id": f"sess-{device:04d}"}
    rows: list[dict[str, Any]] = []
    t = start

    def press(key: str, mods: list[str], field: tuple[str, str, str, str], text: str | None = None) -> None:
        nonlocal t
        app, title, field_id, kind = field
        base = {**ctx, "app": app, "window_title": title, "field_id": field_id, "field_kind": kind}
        if mods:
            rows.append({"event_id": f"{device}-{len(rows)}", "ts": t, **base, "key": mods[0], "action": "down",
                         "modifiers": mods, "text": None})
            t += timedelta(milliseconds=rng.randint(15, 40))
        rows.append({"event_id": f"{device}-{len(rows)}", "ts": t, **base, "key": key, "action": "down",
                     "modifiers": mods, "text": text})
        t += timedelta(milliseconds=rng.randint(50, 130))
        rows.append({"event_id": f"{device}-{len(rows)}", "ts": t, **base, "key": key, "action": "up",
                     "modifiers": mods, "text": text})
        if mods:
            t += timedelta(milliseconds=rng.randint(10, 30))
            rows.append({"event_id": f"{device}-{len(rows)}", "ts": t, **base, "key": mods[0], "action": "up",
                         "modifiers": NO_MODS, "text": None})
        t += timedelta(milliseconds=rng.randint(40, 220))

    password = ("Chrome", "Sign In - Okta", "password", "password")
    for ch in f"Winter-{device}!":
        press(ch, SHIFT if ch.isupper() or ch in SHIFTED else NO_MODS, password)
    press("Enter", NO_MODS, password)
    while len(rows) < target:
        field = rng.choice(APPS)
        for _ in range(rng.randint(3, 25)):
            if rng.random() < 0.03:
                press("Paste", CONTROL, field, text=f"https://tickets.example/{rng.randint(1, 99999)}")
                continue
            word = rng.choice(WORDS)
            for ch in word:
                if ch.islower() and rng.random() < 0.04:
                    press(NEIGHBOURS[ch], NO_MODS, field)
                    press("Backspace", NO_MODS, field)
                press(ch, SHIFT if ch.isupper() or ch in SHIFTED else NO_MODS, field)
            press(" ", NO_MODS, field)
        if rng.random() < 0.1:  # go back and fix an earlier word
            for _ in range(rng.randint(2, 12)):
                press("ArrowLeft", NO_MODS, field)
            press("x", NO_MODS, field)
            press("End", NO_MODS, field)
        press("Enter", SHIFT if rng.random() < 0.1 else NO_MODS, field)
        t += timedelta(seconds=rng.choice((1, 2, 5, 40)) if rng.random() < 0.3 else rng.uniform(0.5, 3))
    return rows


def synthetic_rows(n: int, devices: int, seed: int) -> list[dict[str, Any]]:
    """About n events from `devices` devices, interleaved by time as in one partition file, and parsed
    back through JSON and `check_row` exactly as `read_partition` does: that puts each row's objects
    where a real read puts them in memory, which changes the figures below by about a factor of two."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    per_device = [device_stream(rng, d, n // devices, start + timedelta(seconds=rng.randint(0, 600)))
                  for d in range(devices)]
    lines = [json.dumps({**r, "ts": r["ts"].isoformat()})
             for r in islice(heapq.merge(*per_device, key=lambda r: r["ts"]), n)]
    del per_device
    rows = []
    for line in lines:
        row, problem = check_row(KEYSTROKES, json.loads(line))
        assert problem is None
        rows.append(row)
    return rows


def spans_for(segments: list[Segment], rng: random.Random) -> dict[str, list[tuple[int, int]]]:
    """A detector's output stand-in: one span in about one segment in ten."""
    spans = {}
    for seg in segments:
        if len(seg.final_text) > 8 and rng.random() < 0.1:
            start = rng.randrange(len(seg.final_text) - 8)
            spans[seg.segment_id] = [(start, start + 8)]
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000, help="events to generate (default 2,000,000)")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t0 = time.perf_counter()
    rows = synthetic_rows(args.events, args.devices, args.seed)
    print(f"built {len(rows):,} events from {args.devices} devices in {time.perf_counter() - t0:.1f} s")

    segments = replay(rows)
    spans = spans_for(segments, random.Random(args.seed))
    history = {sid: [(0, 1)] for sid in list(spans)[::2]}
    print(f"{len(segments):,} segments, {sum(len(s.final_text) for s in segments):,} final characters, "
          f"{len(spans):,} with a sensitive span")

    runs: list[tuple[str, Callable[[list[dict[str, Any]]], object]]] = [
        ("replay", replay),
        ("mask (copies)", lambda fresh: mask_events(fresh, segments, spans, history)),
        ("mask (in place)", lambda fresh: mask_events(fresh, segments, spans, history, in_place=True)),
        ("replay + mask (copies)", lambda fresh: mask_events(fresh, replay(fresh), spans, history)),
        ("replay + mask (in place)",
         lambda fresh: mask_events(fresh, replay(fresh), spans, history, in_place=True)),
    ]
    n = len(rows)
    for name, run in runs:
        fresh = [row.copy() for row in rows]  # in-place masking rewrites its input
        t0 = time.perf_counter()
        run(fresh)
        seconds = time.perf_counter() - t0
        del fresh
        print(f"{name:>24}: {seconds:6.2f} s  {n / seconds:12,.0f} events/s")


if __name__ == "__main__":
    main()
