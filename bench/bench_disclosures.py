"""The disclosure model's cost and worth, measured side by side in one run (a script, not a test).

Why: the model (pipeline/detect/disclosures.py) must pay for itself. This script builds the text path three
ways from the shipped policy, in one process, on the same texts: as shipped (rules and model), rules alone
(`disclosures` family off) and model alone (`performance` family off), then
  speed    times `scrub_texts`' detector on the distinct texts of the given sets, alternating the variants
           (with and without the model) for --rounds rounds and keeping each one's best, on one thread;
  scores   leak recall per label and over-redaction of each variant on each set (pipeline.evaluate).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_disclosures.py ../shared/data/presidio_v2.jsonl \
        ../shared/data/wnut17_dev.jsonl --scores ../shared/data/workforce_dev.jsonl \
        --roster ../shared/data/workforce_dev_roster.jsonl

Only per-label figures are printed: never texts (a measure-only set's texts must not be read).
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

from pipeline.detect import Detector  # noqa: E402
from pipeline.evaluate import evaluate, load_records  # noqa: E402
from pipeline.policy import Policy, load_policy  # noqa: E402
from pipeline.pseudonym import Pseudonymizer  # noqa: E402
from pipeline.read import read_roster  # noqa: E402
from pipeline.roster import Roster  # noqa: E402
from pipeline.scrub import scrub_batch  # noqa: E402

LABELS = ("PERF", "PERFORMANCE", "HEALTH", "PRIVATE", "PERSON")


def variant(policy: Policy, off: str | None) -> Policy:
    """The policy with one recognizer family switched off (None: as shipped)."""
    if off is None:
        return policy
    raw = copy.deepcopy(policy.raw)
    raw["recognizers"][off] = False
    return Policy(raw=raw, sha256=f"{policy.sha256}-without-{off}")


def speed(texts: list[str], policies: dict[str, Policy], rounds: int) -> dict[str, float]:
    """Best texts per second (process CPU time) of each variant's detector on the same distinct texts."""
    detectors = {name: Detector(p) for name, p in policies.items()}
    best = {name: 0.0 for name in detectors}
    for _ in range(rounds):
        for name, detector in detectors.items():
            detector._recent.clear()  # each pass starts cold: no findings remembered from the last one
            gc.collect()
            c0 = time.process_time()
            detector.detect(texts)
            best[name] = max(best[name], len(texts) / (time.process_time() - c0))
    return best


def scores(records: list[dict[str, Any]], policy: Policy, roster: Roster) -> dict[str, Any]:
    keys = Pseudonymizer(secrets.token_bytes(32))
    result = evaluate(records, lambda t: ["" if r.drop_row else r.text for r in scrub_batch(list(t), policy, roster, keys)])
    labels = {k: round(v.recall, 3) for k, v in result.labels.items() if k in LABELS}
    return {**labels, "over_redaction": round(result.over_redaction, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("speed_sets", nargs="+", type=Path, help="sets whose distinct texts are timed and scored")
    parser.add_argument("--scores", nargs="*", type=Path, default=[], help="more sets, scored only")
    parser.add_argument("--roster", type=Path, help="roster for the --scores sets")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shipped = load_policy()
    policies = {"rules + model": shipped, "rules alone": variant(shipped, "disclosures"),
                "model alone": variant(shipped, "performance")}
    out: dict[str, Any] = {"scores": {}}
    texts = list(dict.fromkeys(r["text"] for path in args.speed_sets for r in load_records(path) if r["text"].strip()))
    rates = speed(texts, {k: policies[k] for k in ("rules + model", "rules alone")}, args.rounds)
    out["speed"] = {"texts": len(texts), **{k: round(v, 1) for k, v in rates.items()},
                    "ratio_with_model": round(rates["rules + model"] / rates["rules alone"], 3)}
    print(json.dumps(out["speed"]), flush=True)
    roster = read_roster(args.roster) if args.roster else Roster()
    for path in [*args.speed_sets, *args.scores]:
        records = load_records(path)
        use = roster if path in args.scores else Roster()
        for name, policy in policies.items():
            out["scores"].setdefault(path.name, {})[name] = scores(records, policy, use)
            print(path.name, name, json.dumps(out["scores"][path.name][name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
