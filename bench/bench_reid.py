"""Re-identification risk and utility of each published timing form, side by side (a script, not a test).

Why: the policy's `events.timing` must be chosen on figures. For each form this replays and masks a
keystroke partition, builds the `events` rows exactly as a night does (pipeline.behaviour.build_events),
runs both attacks of pipeline.reid on them, and measures what the form keeps against the raw timing:
the correlation of each session's typing speed (key-downs per minute) and of its number of pauses, and
whether the order of events and their key classes are unchanged.

Data: generated nights (`--seeds`, each a fresh `scrubline generate` night) and, with `--raw ROOT --ds D`,
any raw keystroke partition in the contract (docs/contracts.md), for example a public data set converted
by bench/convert_cmu_keystrokes.py, read from outside the repository. Run:

    .venv/bin/python bench/bench_reid.py --seeds 0 1 2 3 4
    .venv/bin/python bench/bench_reid.py --raw /data/cmu-raw --ds 2026-11-26
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pipeline.behaviour import build_events
from pipeline.demo import generate_night
from pipeline.keystrokes import mask_events, replay
from pipeline.policy import load_policy
from pipeline.pseudonym import Pseudonymizer
from pipeline.read_columnar import read_columnar
from pipeline.reid import ATTACKS, Protocol, identification_risk

DS = "2026-11-26"
KEYS = Pseudonymizer(b"bench-reid-key-" * 3)
FORMS: dict[str, dict[str, Any]] = {
    "raw (1 ms)": {"timing": "step", "time_step_ms": 1},
    "step 10 ms (old default)": {"timing": "step", "time_step_ms": 10},
    "step 10 ms + 25 ms jitter": {"timing": "step", "time_step_ms": 10, "jitter_ms": 25},
    "step 100 ms (coarse buckets)": {"timing": "step", "time_step_ms": 100},
    "session_mean": {"timing": "session_mean"},
    "population (default)": {"timing": "population"},
    "population, 2 speed bands": {"timing": "population_banded", "speed_bands_ms": [125]},
    "population, 3 speed bands": {"timing": "population_banded"},
}


def masked_keystrokes(raw_root: Path, ds: str) -> pa.Table:
    """A raw keystroke partition, checked, replayed and masked (no findings: timing is what is measured)."""
    events = read_columnar(raw_root, "keystrokes", ds).table
    return mask_events(events, replay(events), {}, {})


def published(masked: pa.Table, form: dict[str, Any], ds: str) -> pa.Table:
    settings = {**load_policy().events, **form}
    return build_events("keystrokes", masked, settings, KEYS, (0.1, 0.1), night=ds)


def session_summary(events: pa.Table) -> dict[str, np.ndarray]:
    """Per session (in output order): key-downs per minute and the number of pauses (gaps of 1 s or more)."""
    session = events["session_pid"].to_numpy(zero_copy_only=False)
    down = (events["action"].to_numpy(zero_copy_only=False) == "down")
    t = events["t_ms"].to_numpy()
    starts = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
    ends = np.r_[starts[1:], len(t)]
    speed, pauses = [], []
    for a, b in zip(starts, ends):
        times = t[a:b][down[a:b]]
        span = times[-1] - times[0] if len(times) > 1 else 0
        speed.append(60_000 * (len(times) - 1) / span if span > 0 else np.nan)
        pauses.append(int((np.diff(times) >= 1_000).sum()))
    return {"speed": np.array(speed), "pauses": np.array(pauses, float)}


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def measure(masked: pa.Table, ds: str, protocol: Protocol) -> dict[str, dict[str, Any]]:
    raw = published(masked, FORMS["raw (1 ms)"], ds)
    raw_summary = session_summary(raw)
    out = {}
    for name, form in FORMS.items():
        events = published(masked, form, ds)
        summary = session_summary(events)
        same_order = all(events[c].equals(raw[c]) for c in ("session_pid", "seq", "action", "key_class"))
        out[name] = {
            "risk": identification_risk(events, protocol),
            "speed_r": _correlation(raw_summary["speed"], summary["speed"]),
            "pauses_r": _correlation(raw_summary["pauses"], summary["pauses"]),
            "order_and_classes_kept": same_order,
        }
    return out


def print_table(title: str, results: list[dict[str, dict[str, Any]]]) -> None:
    """Means over the data sets (nights) measured."""
    first = results[0][next(iter(FORMS))]["risk"]
    print(f"\n{title}: {len(results)} set(s); per set about {first['users']} users, {first['sessions']} sessions")
    print("| form | chance top-1 | " + " | ".join(f"{a} top-1 | {a} EER" for a in ATTACKS)
          + " | speed r | pauses r | order, classes kept |")
    print("|---" * (2 + 2 * len(ATTACKS) + 3) + "|")
    for name in FORMS:
        risks = [r[name]["risk"] for r in results]
        if not all(r["measurable"] for r in risks):
            print(f"| {name} | not measurable: {risks[0].get('why')} |")
            continue
        cells = [f"{np.mean([r['chance_top1'] for r in risks]):.1%}"]
        for a in ATTACKS:
            cells += [f"{np.mean([r[a]['top1'] for r in risks]):.1%}", f"{np.mean([r[a]['eer'] for r in risks]):.1%}"]
        cells += [f"{np.nanmean([r[name]['speed_r'] for r in results]):.2f}",
                  f"{np.nanmean([r[name]['pauses_r'] for r in results]):.2f}",
                  "yes" if all(r[name]["order_and_classes_kept"] for r in results) else "no"]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4], help="generated nights to measure")
    parser.add_argument("--employees", type=int, default=50)
    parser.add_argument("--raw", type=Path, help="a raw root holding keystrokes/ds=DS/ (e.g. a converted public set)")
    parser.add_argument("--ds", default=DS)
    parser.add_argument("--min-keys", type=int, default=20)
    args = parser.parse_args()
    protocol = Protocol(min_keys=args.min_keys)
    if args.seeds:
        results = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                generate_night(tmp, DS, employees=args.employees, seed=seed)
                results.append(measure(masked_keystrokes(Path(tmp), DS), DS, protocol))
        print_table("generated nights", results)
    if args.raw:
        print_table(f"raw partition {args.raw.name}", [measure(masked_keystrokes(args.raw, args.ds), args.ds, protocol)])


if __name__ == "__main__":
    main()
