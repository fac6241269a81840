"""Convert the CMU keystroke-dynamics benchmark (Killourhy and Maxion 2009, DSL-StrongPasswordData.csv) into
raw keystroke rows of the contract (docs/contracts.md), for bench/bench_reid.py (a script, not a test).

Why: the re-identification attacks must be measured on real typing, not only on the generator's. The CMU
set has 51 subjects typing the password ".tie5Roanl" 50 times in each of 8 sessions (on different days),
each repetition as hold times (H.key) and key-down-to-key-down times (DD.key.next), in seconds. Its terms
are the data set's own: it is read from a path given here and never copied into this repository.

Each repetition becomes the key-down and key-up events of its 11 keys (the capital R typed with Shift held,
as the data has no separate Shift timing), followed by a pause of `--rep-gap-ms`; every `--reps` repetitions
(in order, of those given) of a subject's session form one raw session (employee = subject, typed into a plain text field). Run:

    .venv/bin/python bench/convert_cmu_keystrokes.py /data/DSL-StrongPasswordData.csv --out /data/cmu-raw
    .venv/bin/python bench/bench_reid.py --seeds --raw /data/cmu-raw --ds 2026-11-26
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

DS = "2026-11-26"
KEYS = (("period", "."), ("t", "t"), ("i", "i"), ("e", "e"), ("five", "5"), ("Shift.r", "R"), ("o", "o"),
        ("a", "a"), ("n", "n"), ("l", "l"), ("Return", "Enter"))


def convert(rows: list[dict[str, str]], reps_per_session: int, rep_gap_ms: int, ds: str = DS) -> list[dict]:
    """Raw keystroke rows, sessions one after another from 09:00 UTC of `ds`."""
    by_session: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_session[(row["subject"], row["sessionIndex"])].append(row)
    sessions: dict[tuple[str, str, int], list[dict[str, str]]] = defaultdict(list)
    for (subject, session), reps in by_session.items():  # chunks of the repetitions present, in order
        for i, rep in enumerate(sorted(reps, key=lambda r: int(r["rep"]))):
            sessions[(subject, session, i // reps_per_session)].append(rep)
    t = datetime.fromisoformat(f"{ds}T09:00:00+00:00").timestamp() * 1000
    out = []
    for (subject, session, chunk), reps in sorted(sessions.items()):
        session_id = f"cmu-{subject}-{session}-{chunk}"
        for rep in sorted(reps, key=lambda r: int(r["rep"])):
            down = t
            for k, (name, key) in enumerate(KEYS):
                hold = float(rep[f"H.{name}"]) * 1000
                mods = ["Shift"] if key == "R" else []
                for at, action in ((down, "down"), (down + hold, "up")):
                    out.append({
                        "event_id": f"{session_id}-{rep['rep']}-{k}-{action}", "ts": int(round(at)),
                        "employee_id": subject, "device_id": "cmu-lab", "session_id": session_id, "app": "Lab",
                        "window_title": "password entry", "field_id": "entry", "field_kind": "text", "key": key,
                        "action": action, "modifiers": mods, "text": None,
                    })
                if k + 1 < len(KEYS):
                    down += float(rep[f"DD.{name}.{KEYS[k + 1][0]}"]) * 1000
            t = down + float(rep["H.Return"]) * 1000 + rep_gap_ms
        t += 600_000  # ten minutes between sessions
    return sorted(out, key=lambda r: r["ts"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, nargs="?", default=os.environ.get("SCRUBLINE_CMU_CSV"),
                        help="DSL-StrongPasswordData.csv (or any subset of its rows); default $SCRUBLINE_CMU_CSV")
    parser.add_argument("--out", type=Path, required=True, help="raw root to write keystrokes/ds=DS/ under")
    parser.add_argument("--reps", type=int, default=6, help="repetitions per raw session")
    parser.add_argument("--rep-gap-ms", type=int, default=1500, help="pause between repetitions")
    parser.add_argument("--ds", default=DS)
    args = parser.parse_args()
    if not args.csv:
        parser.error("give the CSV's path or set SCRUBLINE_CMU_CSV")
    with open(args.csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    events = convert(rows, args.reps, args.rep_gap_ms, args.ds)
    folder = args.out / "keystrokes" / f"ds={args.ds}"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / "part-0000.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(e) + "\n" for e in events)
    subjects = len({r["subject"] for r in rows})
    print(f"{len(events)} events of {subjects} subjects in {len({e['session_id'] for e in events})} sessions "
          f"written under {folder} ({datetime.now(UTC):%H:%M} UTC)")


if __name__ == "__main__":
    main()
