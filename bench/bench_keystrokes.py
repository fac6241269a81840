"""Throughput and memory of a keystroke partition's path, old-style against new, in one run (a script, not
a test).

Why: keystrokes are by far the largest source (two events per key, every employee, all day), so reading,
replay, masking and `build_events` must keep up with millions of events per core. The script writes one
synthetic partition as raw JSONL, then runs each side in a fresh child process: old-style is `pipeline/`
as committed at --baseline (a dict per row: `read_partition`, `replay`, in-place `mask_events`,
`build_events`), new is the working tree (Arrow columns: `read_columnar`, `replay`, `mask_events`,
`build_events`). Rates are per core (process CPU time); the machine may be shared, so compare the ratios. The
new side builds `events` three times under each timing form and counts the best of each (the old side runs once).
Both sides get the same sensitive spans, and their `events` tables must be equal. Run:

    .venv/bin/python bench/bench_keystrokes.py --events 2000000
"""

from __future__ import annotations

import argparse
import gc
import heapq
import importlib.util
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DS = "2026-11-26"
BASELINE = "14276cc"  # the last commit with the dict-per-row events path
REPEATS = 3  # runs of each build_events on the new side (the best counts)

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
STAGES = ("read", "replay", "mask", "replay + mask", "build_events", "all four", "timing: population",
          "replay + mask + population")


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


def write_partition(raw: Path, n: int, devices: int, seed: int) -> int:
    """About n events from `devices` devices, interleaved by time as in one partition file, as raw JSONL
    (times as ISO-8601 for one device in three, epoch milliseconds for the others)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    per_device = [device_stream(rng, d, n // devices, start + timedelta(seconds=rng.randint(0, 600)))
                  for d in range(devices)]
    path = raw / "keystrokes" / f"ds={DS}" / "part-0000.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        for row in islice(heapq.merge(*per_device, key=lambda r: r["ts"]), n):
            ts = row["ts"]
            device = int(row["device_id"][3:])
            row["ts"] = ts.isoformat(timespec="milliseconds") if device % 3 == 0 else int(ts.timestamp() * 1000)
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
            written += 1
    return written


def spans_for(segments: list[Any]) -> tuple[dict[str, list[tuple[int, int]]], dict[str, list[tuple[int, int]]]]:
    """A detector's output stand-in, the same on both sides: one span in about one segment in ten (and a
    typed-then-deleted span in half of those), decided by the segment's id and text only."""
    final, history = {}, {}
    for seg in segments:
        rng = random.Random(seg.segment_id)
        if len(seg.final_text) > 8 and rng.random() < 0.1:
            start = rng.randrange(len(seg.final_text) - 8)
            final[seg.segment_id] = [(start, start + 8)]
            if rng.random() < 0.5:
                history[seg.segment_id] = [(0, 1)]
    return final, history


def baseline_modules(rev: str, folder: Path) -> dict[str, ModuleType]:
    """`read`, `keystrokes` and `behaviour` as committed at `rev`, imported under other names."""
    modules = {}
    for name in ("read", "keystrokes", "behaviour"):
        source = subprocess.run(["git", "show", f"{rev}:pipeline/{name}.py"], cwd=REPO, check=True,
                                capture_output=True, text=True).stdout
        path = folder / f"baseline_{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(f"baseline_{name}", path)
        assert spec is not None and spec.loader is not None
        modules[name] = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
        spec.loader.exec_module(modules[name])
    return modules


def peak_rss_mib() -> float:
    """This process's peak resident memory. /proc's VmHWM starts afresh at exec; getrusage's ru_maxrss keeps
    the peak of the process this one was forked from (here: the parent that built the partition)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(results: dict[str, Any], stage: str, fn: Any) -> Any:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    results[stage] = {"cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall}
    return out


def child(side: str, raw: Path, rev: str, out: Path) -> None:
    """One side's whole path over the partition, in this fresh process; timings, peak RSS and the events
    table go to `out`."""
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer

    policy, keys = load_policy(), Pseudonymizer(b"bench-keystrokes-key-0123456789abcdef")
    # `build_events` as the old path published (10 ms steps, a validation share only), so both sides must give the
    # same table; the new side then also builds it under the policy's default timing (population draws) to time that step.
    default, fraction = policy.events, policy.split_fractions[0]
    settings = {**default, "timing": "step"}
    gap = int(settings["idle_gap_ms"])
    results: dict[str, Any] = {}
    if side == "old":
        with tempfile.TemporaryDirectory() as folder:
            old = baseline_modules(rev, Path(folder))
        rss_before = peak_rss_mib()
        rows = timed(results, "read", lambda: old["read"].read_partition(raw, "keystrokes", DS).rows)
        n = len(rows)
        segments = timed(results, "replay", lambda: old["keystrokes"].replay(rows, idle_gap_ms=gap))
        final, history = spans_for(segments)
        masked = timed(results, "mask", lambda: old["keystrokes"].mask_events(rows, segments, final, history,
                                                                              in_place=True))
        events = timed(results, "build_events",
                       lambda: old["behaviour"].build_events("keystrokes", masked, settings, keys, fraction))
    else:
        from pipeline.behaviour import build_events
        from pipeline.keystrokes import mask_events, replay
        from pipeline.read_columnar import read_columnar

        rss_before = peak_rss_mib()
        table = timed(results, "read", lambda: read_columnar(raw, "keystrokes", DS).table)
        n = table.num_rows
        replayed = timed(results, "replay", lambda: replay(table, idle_gap_ms=gap))
        final, history = spans_for(replayed.segments)
        masked = timed(results, "mask", lambda: mask_events(table, replayed, final, history))
        # The timing step's cost is a difference of two timings, so each is the best of REPEATS, taken in turn:
        # one run each on a shared machine put it anywhere from 2.5 to 10 M events/s.
        best: dict[str, dict[str, float]] = {}
        for _ in range(REPEATS):
            events = timed(results, "build_events",
                           lambda: build_events("keystrokes", masked, settings, keys, (fraction, 0.0)))
            timed(results, "build_events (population)",
                  lambda: build_events("keystrokes", masked, default, keys, (fraction, 0.0), night=DS))
            for stage in ("build_events", "build_events (population)"):
                if stage not in best or results[stage]["cpu_s"] < best[stage]["cpu_s"]:
                    best[stage] = results[stage]
        step, population = best["build_events"], best["build_events (population)"]
        results["build_events"] = step
        del results["build_events (population)"]
        # the timing step alone: what population draws cost beyond the old build_events
        results["timing: population"] = {k: max(population[k] - step[k], 1e-9) for k in ("cpu_s", "wall_s")}
        results["population build_events"] = population
    import pyarrow.parquet as pq

    pq.write_table(events, out.with_suffix(".parquet"))
    results["events"] = n
    results["rss_before_mib"] = rss_before
    results["peak_rss_mib"] = peak_rss_mib()
    out.write_text(json.dumps(results))


def run_side(side: str, raw: Path, rev: str, folder: Path) -> dict[str, Any]:
    out = folder / f"{side}.json"
    subprocess.run([sys.executable, __file__, "--child", side, "--raw", str(raw), "--baseline", rev,
                    "--out", str(out)], check=True)
    return json.loads(out.read_text())


def combined(r: dict[str, Any], parts: tuple[str, ...]) -> dict[str, float]:
    return {k: sum(r[p][k] for p in parts) for k in ("cpu_s", "wall_s")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000, help="events to generate (default 2,000,000)")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline", default=BASELINE, help=f"commit of the old-style path (default {BASELINE})")
    parser.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    parser.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.raw, args.baseline, args.out)
        return

    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        n = write_partition(folder / "raw", args.events, args.devices, args.seed)
        size = (folder / "raw" / "keystrokes" / f"ds={DS}" / "part-0000.jsonl").stat().st_size
        print(f"wrote {n:,} events from {args.devices} devices ({size / 2**20:,.0f} MiB JSONL) in "
              f"{time.perf_counter() - t0:.1f} s; old-style = pipeline/ at {args.baseline}, new = working tree")
        results = {side: run_side(side, folder / "raw", args.baseline, folder) for side in ("old", "new")}
        same = pq.read_table(folder / "old.parquet").equals(pq.read_table(folder / "new.parquet"))
    for r in results.values():
        r["replay + mask"] = combined(r, ("replay", "mask"))
        r["all four"] = combined(r, ("read", "replay", "mask", "build_events"))
    new = results["new"]
    new["replay + mask + population"] = combined(new, ("replay", "mask", "timing: population"))
    old = results["old"]
    print(f"\n{'events/s per core (CPU)':<28}{'old-style':>14}{'new':>14}{'new/old':>10}{'new, wall':>14}")
    for stage in STAGES:
        w = new["events"] / new[stage]["cpu_s"]
        if stage in old:
            o = old["events"] / old[stage]["cpu_s"]
            ratio = f"{w / o:>9.1f}x"
        else:  # the new timing step has no old-style counterpart
            o, ratio = float("nan"), f"{'-':>10}"
        print(f"{stage:<28}{o:>14,.0f}{w:>14,.0f}{ratio}{new['events'] / new[stage]['wall_s']:>14,.0f}")
    pop = new["population build_events"]
    print(f"{'build_events, population':<28}{'':>14}{new['events'] / pop['cpu_s']:>14,.0f}")
    print(f"{'peak RSS (MiB)':<28}{old['peak_rss_mib']:>14,.0f}{new['peak_rss_mib']:>14,.0f}"
          f"{new['peak_rss_mib'] / old['peak_rss_mib']:>9.2f}x")
    print(f"{'  above start (MiB)':<28}{old['peak_rss_mib'] - old['rss_before_mib']:>14,.0f}"
          f"{new['peak_rss_mib'] - new['rss_before_mib']:>14,.0f}")
    print(f"\nevents tables identical: {'yes' if same else 'NO'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
