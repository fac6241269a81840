"""What each text action costs: placeholder, pseudonym and surrogate side by side in one run (a script, not a test).

Why: the surrogate action (pipeline/surrogates.py) draws fake values by keyed HMAC and checks each against the
roster and the batch's detected values; that must stay cheap next to detection. The three policies differ only
in the actions of PERSON, EMAIL_ADDRESS and PHONE_NUMBER (all `replace`, all `pseudonym`, all `surrogate`).
Detection runs once; then, on one thread, for --rounds rounds alternating the variants and keeping each one's
best (process CPU time),
  redaction  `scrub.redact_batch` (what the nightly run does after detection) over the same findings,
  text path  detection time + that variant's redaction time, as texts per second;
and leak recall per label of each variant by the evaluation's rule (the same detection must give the same
recall: a surrogate may never keep a token of what it replaces).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_surrogates.py bench/data/workforce_eval.jsonl \
        --roster bench/data/workforce_roster.jsonl

Only figures are printed, never texts.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from pipeline.evaluate import load_records, score  # noqa: E402
from pipeline.policy import Policy, load_policy  # noqa: E402
from pipeline.pseudonym import Pseudonymizer  # noqa: E402
from pipeline.read import read_roster  # noqa: E402
from pipeline.roster import Roster  # noqa: E402
from pipeline.scrub import detect_long, detector_for, redact_batch  # noqa: E402

ENTITIES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER")
ACTIONS = {"placeholder": "replace", "pseudonym": "pseudonym", "surrogate": "surrogate"}


def variant(policy: Policy, action: str) -> Policy:
    raw = copy.deepcopy(policy.raw)
    raw["entities"].update(dict.fromkeys(ENTITIES, action))
    return Policy(raw=raw, sha256=f"{policy.sha256}-{action}")  # the detector is cached by this hash: one per variant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="+", type=Path, help="labelled sets (evaluation shape) to scrub")
    parser.add_argument("--roster", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    roster = read_roster(args.roster) if args.roster else Roster()
    records = [r for path in args.sets for r in load_records(path)]
    texts = [r["text"] for r in records]
    policies = {name: variant(load_policy(), action) for name, action in ACTIONS.items()}
    keys = Pseudonymizer(secrets.token_bytes(32))
    size, overlap = policies["placeholder"].window_chars

    detector = detector_for(policies["placeholder"], roster)
    detector.detect(texts[:50])  # warm-up: lazy pipes and caches
    detector._recent.clear()
    gc.collect()
    c0 = time.process_time()
    findings = detect_long(detector, texts, size, overlap)
    detect_s = time.process_time() - c0

    best = dict.fromkeys(policies, float("inf"))
    outputs: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for name, policy in policies.items():
            gc.collect()
            c0 = time.process_time()
            redacted = redact_batch(texts, findings, policy, roster, keys)
            best[name] = min(best[name], time.process_time() - c0)
            outputs[name] = ["" if r.drop_row else r.text for r in redacted]

    spans = sum(len(f) for f in findings)
    out: dict[str, Any] = {
        "texts": len(texts), "chars": sum(map(len, texts)), "findings": spans, "rounds": args.rounds,
        "detect_s": round(detect_s, 3), "detect_texts_per_s": round(len(texts) / detect_s, 1), "variants": {},
    }
    for name in policies:
        result = score(records, outputs[name])
        out["variants"][name] = {
            "redact_ms": round(best[name] * 1000, 2),
            "redact_us_per_text": round(best[name] * 1e6 / len(texts), 2),
            "text_path_texts_per_s": round(len(texts) / (detect_s + best[name]), 1),
            "text_path_vs_placeholder": round((detect_s + best["placeholder"]) / (detect_s + best[name]), 4),
            "leak_recall": {k: round(v.recall, 4) for k, v in sorted(result.labels.items())},
        }
        print(name, json.dumps({k: v for k, v in out["variants"][name].items() if k != "leak_recall"}), flush=True)
    print(json.dumps({k: v for k, v in out.items() if k != "variants"}), flush=True)
    same = len({json.dumps(v["leak_recall"]) for v in out["variants"].values()}) == 1
    print("leak recall identical across variants:", same, flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
