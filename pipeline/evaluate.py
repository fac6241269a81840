"""Leak recall on labelled sets, counted as ../shared/data/README.md describes.

A labelled span leaks when any identifying token of it (a run of 3+ letters/digits, or any run holding a
digit) survives: its characters are aligned unchanged between input and output by difflib. Over-redaction
is the share of letter/digit tokens outside every labelled span that do not survive.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.pseudonym import MENTION_PATTERN

TOKEN = re.compile(r"[^\W_]+")
IGNORE = "IGNORE"
# Identifiers a set leaves unlabelled that still point at people (WNUT-17's @handles and URLs): with
# `unlabelled=True` they are scored under these labels and kept out of over-redaction, as the sets' README asks.
UNLABELLED = {
    "@HANDLE (unlabelled)": re.compile(r"(?<![\w@])@\w{2,}"),
    "URL (unlabelled)": re.compile(r"\b(?:https?://|www\.)\S+"),
}


@dataclass
class LabelScore:
    spans: int = 0
    leaked: int = 0

    @property
    def recall(self) -> float:
        return 1.0 - self.leaked / self.spans if self.spans else 1.0


@dataclass
class EvalResult:
    records: int = 0
    labels: dict[str, LabelScore] = field(default_factory=lambda: defaultdict(LabelScore))
    outside_tokens: int = 0
    outside_removed: int = 0

    @property
    def over_redaction(self) -> float:
        return self.outside_removed / self.outside_tokens if self.outside_tokens else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "labels": {
                label: {"spans": s.spans, "leaked": s.leaked, "leak_recall": round(s.recall, 4)}
                for label, s in sorted(self.labels.items())
            },
            "over_redaction": round(self.over_redaction, 4),
        }


def load_records(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def surviving_chars(source: str, scrubbed: str) -> list[bool]:
    """For each character of `source`, whether difflib aligns it unchanged into `scrubbed`."""
    kept = [False] * len(source)
    matcher = difflib.SequenceMatcher(None, source, scrubbed, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.a, block.a + block.size):
            kept[i] = True
    return kept


_PSEUDONYM = re.compile(rf"<([A-Z][A-Z0-9_]*?)_{MENTION_PATTERN}>")


def _without_pseudonyms(scrubbed: str) -> str:
    """`<PERSON_p_…>` as `<PERSON>`: the pseudonym's letters come from a throwaway key, and difflib would align
    some of them with letters of the text around, so a score would change from run to run."""
    return _PSEUDONYM.sub(r"<\1>", scrubbed)


def _identifying(token: str) -> bool:
    return len(token) >= 3 or any(c.isdigit() for c in token)


def _with_unlabelled(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's spans plus its @handles and URLs that no labelled span touches."""
    spans = list(record["spans"])
    for label, pattern in UNLABELLED.items():
        for match in pattern.finditer(record["text"]):
            if not any(s["start"] < match.end() and match.start() < s["end"] for s in spans):
                spans.append({"start": match.start(), "end": match.end(), "label": label})
    return spans


def score(records: Iterable[dict[str, Any]], scrubbed: Sequence[str], unlabelled: bool = False) -> EvalResult:
    result = EvalResult()
    for record, out in zip(records, scrubbed, strict=True):
        result.records += 1
        text = record["text"]
        kept = surviving_chars(text, _without_pseudonyms(out))
        tokens = [(m.start(), m.end()) for m in TOKEN.finditer(text)]
        covered = [False] * len(text)
        for span in _with_unlabelled(record) if unlabelled else record["spans"]:
            for i in range(span["start"], span["end"]):
                covered[i] = True
            if span["label"] == IGNORE:
                continue
            score_ = result.labels[span["label"]]
            score_.spans += 1
            inside = [(a, b) for a, b in tokens if a < span["end"] and b > span["start"]]
            if any(_identifying(text[a:b]) and all(kept[a:b]) for a, b in inside):
                score_.leaked += 1
        for a, b in tokens:
            if not any(covered[a:b]):
                result.outside_tokens += 1
                result.outside_removed += not all(kept[a:b])
    return result


def evaluate(
    records: list[dict[str, Any]], scrub: Callable[[list[str]], list[str]], unlabelled: bool = False
) -> EvalResult:
    return score(records, scrub([r["text"] for r in records]), unlabelled)


def format_table(name: str, result: EvalResult) -> str:
    lines = [f"{name}: {result.records} records", f"  {'label':<16}{'spans':>8}{'leaked':>8}{'leak recall':>13}"]
    for label, s in sorted(result.labels.items()):
        lines.append(f"  {label:<16}{s.spans:>8}{s.leaked:>8}{s.recall:>13.4f}")
    lines.append(f"  over-redaction: {result.over_redaction:.4f}")
    return "\n".join(lines)
