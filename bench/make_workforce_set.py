"""Build the labelled workforce evaluation set from one generated night's ground truth.

Why: the shared sets (presidio_v2, WNUT-17) hold no roster names, credentials or performance talk, which are
what this pipeline exists to remove. The generator plants those in chat, meeting transcripts and review
comments and records every planted span; this script turns one night into a labelled set in the shape of
../shared/data (id, source, text, spans with start/end/label) plus the night's roster, and adds chat lines
that carry nothing sensitive, so that over-redaction is measured on ordinary work talk too.

The seed differs from every seed the tests use, so the set is not the data the unit tests were written against.

    .venv/bin/python bench/make_workforce_set.py            # writes bench/data/workforce_{eval,roster}.jsonl
    .venv/bin/scrubline eval bench/data/workforce_eval.jsonl --roster bench/data/workforce_roster.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from pipeline.demo import GROUND_TRUTH_DIR, PART_FILE, TRUTH_ID_FIELDS, generate_night

SEED = 20261127
DS = "2026-03-02"
EMPLOYEES = 80
SOURCES = ("chat", "transcripts", "performance")  # the text the nightly run scrubs, and review comments
HARMLESS_LINES = 1200  # unlabelled chat lines, sampled from the night's messages that carry nothing
OUT = Path(__file__).resolve().parent / "data"


def _records(night: Path) -> list[dict[str, Any]]:
    """Planted texts of the wanted sources, in the shared-data shape (no values: offsets say enough)."""
    records = []
    truth = night / GROUND_TRUTH_DIR / f"ds={DS}" / "planted.jsonl"
    for line in truth.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["source"] not in SOURCES:
            continue
        spans = [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in row["spans"]]
        records.append({"id": row["id"], "source": row["source"], "text": row["text"], "spans": spans})
    return records


def _harmless(night: Path, planted_ids: set[str], rng: random.Random) -> list[dict[str, Any]]:
    """Chat messages with no planted value: every roster name form in a text lies inside a planted span
    (see pipeline.demo), so these hold nothing to remove. Distinct texts only."""
    path = night / "chat" / f"ds={DS}" / PART_FILE
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    texts: dict[str, str] = {}
    for row in rows:
        record_id = f"chat:{row[TRUTH_ID_FIELDS['chat']]}"
        if record_id not in planted_ids and row["text"].strip():
            texts.setdefault(row["text"], record_id)
    chosen = rng.sample(sorted(texts), min(HARMLESS_LINES, len(texts)))
    return [{"id": texts[t], "source": "chat", "text": t, "spans": []} for t in chosen]


def build(out: Path = OUT) -> dict[str, int]:
    """Write workforce_eval.jsonl and workforce_roster.jsonl under `out`; return counts."""
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        night = Path(tmp)
        generate_night(night, DS, employees=EMPLOYEES, seed=SEED)
        records = _records(night)
        records += _harmless(night, {r["id"] for r in records}, rng)
        roster = (night / "roster.jsonl").read_text(encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "workforce_eval.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    (out / "workforce_roster.jsonl").write_text(roster, encoding="utf-8")
    return {"records": len(records), "spans": sum(len(r["spans"]) for r in records)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the two JSONL files")
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
