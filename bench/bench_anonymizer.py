"""Scrubline's redactor against Presidio's AnonymizerEngine on the same findings (a script).

Why: issue 15 asks either to redact through `AnonymizerEngine` with a custom operator for the keyed pseudonym,
measured against today's redactor for speed and equal output, or to drop the dependency. Detection runs once;
both redactors then apply the default policy to the same findings of the same texts, side by side in this one
process (CPU time, best of N), and every output is compared.

The Presidio side is given the findings already merged (pipeline.redact.merge_findings), because its own
conflict rule (it keeps the higher score of two overlapping types, and may leave the tail of a lower-scored
longer span) is not ours, which keeps every character of every finding out and lets a credential win any
merge. Its custom operator sees only the span's text, so each text gets its own operators with a closure from
span position to subject (the roster id that a pseudonym is keyed on).

Corpora: the distinct texts of presidio_v2 and wnut17_dev (few names of the roster, many of spaCy), and one
generated workforce night with its roster (pseudonyms keyed on roster ids).

    .venv/bin/python bench/bench_anonymizer.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = ("presidio_v2.jsonl", "wnut17_dev.jsonl")


def presidio_redactor(policy, keys) -> Callable[[str, list], str]:
    """Redact through AnonymizerEngine: replace for placeholders, a custom operator for pseudonyms."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    from pipeline.redact import merge_findings

    engine = AnonymizerEngine()

    def redact(text: str, findings: list) -> str:
        merged = merge_findings(findings)
        results, operators = [], {}
        for n, (start, end, f) in enumerate(merged):
            entity = f"{f.entity}#{n}"  # one operator per span: the custom operator sees only the span's text
            results.append(RecognizerResult(entity_type=entity, start=start, end=end, score=f.score))
            action = policy.action_for(f.entity)
            if action in ("remove", "drop_row"):
                operators[entity] = OperatorConfig("redact")  # replace with "" falls back to <ENTITY>
            elif action == "pseudonym":
                subject = f.subject
                operators[entity] = OperatorConfig("custom", {"lambda": lambda value, e=f.entity, s=subject:
                    f"<{e}_{keys.mention(s or ' '.join(value.casefold().split()))}>"})
            else:
                operators[entity] = OperatorConfig("replace", {"new_value": f"<{f.entity}>"})
        return engine.anonymize(text=text, analyzer_results=results, operators=operators).text

    return redact


def corpora(tmp: Path) -> dict[str, tuple[list[str], object]]:
    from bench_pipeline import generate_text_night, text_records  # the same generated night as the speed bench

    from pipeline.read import read_roster
    from pipeline.roster import Roster

    distinct = list(dict.fromkeys(json.loads(line)["text"] for name in SETS for line in open(DATA / name)))
    raw, _ = generate_text_night(tmp, 3000, 7)
    night = [r["text"] for r in text_records(raw, 7)]
    return {"distinct texts (presidio_v2 + wnut17_dev)": (distinct, Roster()),
            "generated night (3,000 texts, roster)": (night, read_roster(raw / "roster.jsonl"))}


def timed(fn: Callable[[], list[str]], repeats: int) -> tuple[float, list[str]]:
    best, out = float("inf"), []
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        best = min(best, time.process_time() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("SCRUBLINE_HMAC_KEY", "k" * 40)
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.redact import redact_text
    from pipeline.scrub import detect_long, detector_for

    policy, keys = load_policy(), Pseudonymizer(b"k" * 40)
    presidio = presidio_redactor(policy, keys)
    tmp = Path(tempfile.mkdtemp(prefix="scrubline-anon-"))
    try:
        for name, (texts, roster) in corpora(tmp).items():
            found = detect_long(detector_for(policy, roster), texts, *policy.window_chars)
            pairs: Sequence = list(zip(texts, found, strict=True))
            ours_s, ours = timed(lambda: [redact_text(t, f, policy, keys).text for t, f in pairs], args.repeats)
            theirs_s, theirs = timed(lambda: [presidio(t, f) for t, f in pairs], args.repeats)
            spans = sum(len(f) for f in found)
            differ = sum(a != b for a, b in zip(ours, theirs, strict=True))
            print(f"{name}: {len(texts)} texts, {spans} findings")
            print(f"  scrubline redact_text     {1e6 * ours_s / len(texts):8.1f} us/text")
            print(f"  presidio AnonymizerEngine {1e6 * theirs_s / len(texts):8.1f} us/text "
                  f"({theirs_s / ours_s:.1f}x)  outputs that differ: {differ}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
