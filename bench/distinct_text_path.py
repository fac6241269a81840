"""The text path on distinct texts, side by side with spaCy NER alone, for one or more code trees (a script).

Why: issue 11 asks that detection's speed not fall, measured on texts that do not repeat (the generated corpus
repeats its templates, which the Detector's cache of recent texts rewards): presidio_v2 plus wnut17_dev. Each tree
runs in its own fresh process, one after the other, on the same texts; each process times spaCy NER alone
(nlp.pipe with the components NER needs) and then Scrubline's text path (pipeline.scrub_texts, default policy), in
process CPU time (the machine is shared), and prints the ratio NER time / text path time (higher is faster).

    .venv/bin/python bench/distinct_text_path.py --tree /path/to/main --tree .   # both, one run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = ("presidio_v2.jsonl", "wnut17_dev.jsonl")


def child(repeats: int) -> dict[str, float]:
    """Time NER alone and the text path on the distinct texts of SETS, in this process."""
    os.environ.setdefault("SCRUBLINE_HMAC_KEY", "k" * 40)
    import spacy

    from pipeline import scrub_texts
    from pipeline.policy import load_policy
    from pipeline import scrub

    texts = list(dict.fromkeys(json.loads(line)["text"] for name in SETS for line in open(DATA / name)))
    policy = load_policy()
    nlp = spacy.load(policy.model, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"])
    list(nlp.pipe(texts[:50]))  # warm up
    scrub_texts(texts[:50])
    ner = path = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        list(nlp.pipe(texts, batch_size=256))
        ner = min(ner, time.process_time() - start)
        for detector in scrub._DETECTORS.values():
            detector._recent.clear()  # no text may come from the Detector's cache of recent texts
        start = time.process_time()
        scrub_texts(texts)
        path = min(path, time.process_time() - start)
    return {"texts": len(texts), "ner_s": ner, "text_path_s": path, "ratio_ner_over_path": ner / path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", help="a code tree to measure (repeatable; default: this one)")
    parser.add_argument("--repeats", type=int, default=2, help="best of N timings per tree")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.repeats)))
        return
    trees = args.tree or [str(Path(__file__).resolve().parents[1])]
    for tree in trees:
        env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--repeats", str(args.repeats)],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        result = json.loads(out)
        print(
            f"{tree}: {result['texts']} distinct texts, NER alone {result['ner_s']:.1f} s CPU, text path "
            f"{result['text_path_s']:.1f} s CPU, NER/text path = {result['ratio_ner_over_path']:.2f}x"
        )


if __name__ == "__main__":
    main()
