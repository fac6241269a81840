"""What each text action costs: placeholder, pseudonym and surrogate side by side in one run (a script, not a test).

Why: the surrogate action (pipeline/surrogates.py) draws fake values by keyed HMAC and checks each against the
roster and the batch's detected values; that must stay cheap next to detection. The three policies differ only
in the actions of PERSON, EMAIL_ADDRESS and PHONE_NUMBER (all `replace`, all `pseudonym`, all `surrogate`).
Detection runs once; then, on one thread, for --rounds rounds alternating the variants and keeping each one's
best (process CPU time),
  redaction  `scrub.redact_batch` (what the nightly run does after detection) over the same findings,
  text path  detection time + that variant's redaction time, as texts per second;
and leak recall per label of each variant by the evaluation's rule (characters aligned by difflib) and by
surviving words (`canaries.surviving_words`, how canaries are scored under a surrogate policy): the same
detection gives the same recall by words, while character alignment counts look-alike fakes as leaks.

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
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from pipeline.canaries import surviving_words  # noqa: E402
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


def word_recall(records: list[dict[str, Any]], outputs: list[str]) -> dict[str, float]:
    """Leak recall per label when a span leaks only if a word of it is still a word of the output."""
    spans: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    for record, out in zip(records, outputs, strict=True):
        for span in record["spans"]:
            spans[span["label"]] += 1
            leaked[span["label"]] += bool(surviving_words(record["text"], span["start"], span["end"], out))
    return {label: round(1 - leaked[label] / n, 4) for label, n in sorted(spans.items())}


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
            "leak_recall_by_words": word_recall(records, outputs[name]),
        }
        print(name, json.dumps({k: v for k, v in out["variants"][name].items() if not k.startswith("leak")}), flush=True)
    print(json.dumps({k: v for k, v in out.items() if k != "variants"}), flush=True)
    for rule in ("leak_recall", "leak_recall_by_words"):
        below = {n: {k: r for k, r in v[rule].items() if r < 1.0} for n, v in out["variants"].items()}
        print(rule, "below 1.0:", json.dumps(below), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
