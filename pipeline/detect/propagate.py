"""A name found once in a text is a name everywhere in that text.

Detectors see each mention on its own, and the evidence for a name is often in one place only: "my name is
Aantje Mourik but everyone calls me Aantje", "directed by Joakim Westgård and starring Westgård", "Asya spent a
year as the assistant to Asya Godina". Once any mention is found, the other mentions of its words in the same
text are the same person, so they get a finding with the same subject, hence the same pseudonym.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from wordfreq import zipf_frequency

from pipeline.detect.roster import PARTICLES

if TYPE_CHECKING:
    from pipeline.detect.engine import Finding

PERSON = "PERSON"
PROPAGATED_SCORE = 0.5
# A name word this frequent in English ("Key", "Brown", "Will") is too often the word itself to follow around.
MAX_ZIPF = 4.5
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W\d_]|[^\W\d_]")
_TITLES = frozenset("mr mrs ms miss mx dr prof sir madam dame lord lady".split())


@functools.lru_cache(maxsize=65536)
def _followable(word: str) -> bool:
    lower = word.lower()
    if len(word) < 3 or lower in PARTICLES or lower in _TITLES:
        return False
    return zipf_frequency(lower, "en") < MAX_ZIPF


@functools.lru_cache(maxsize=4096)
def _mentions(words: frozenset[str]) -> re.Pattern[str]:
    """Whole-word mentions of any of the words; the same names recur across texts, so patterns are cached."""
    return re.compile(r"(?<![\w@])(?:" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + r")(?!\w)")


def propagate_names(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """The findings plus a PERSON finding for every other whole-word, same-case mention of a found name's words."""
    words: dict[str, Finding] = {}
    for finding in findings:
        if finding.entity != PERSON:
            continue
        for match in _WORD.finditer(text, finding.start, finding.end):
            if _followable(match.group()):
                words.setdefault(match.group(), finding)
    if not words:
        return list(findings)
    covered = [(f.start, f.end) for f in findings]
    added: list[Finding] = []
    for match in _mentions(frozenset(words)).finditer(text):
        start, end = match.span()
        if any(s <= start and end <= e for s, e in covered):
            continue
        source = words[match.group()]
        subject = source.subject or " ".join(text[source.start : source.end].casefold().split())
        added.append(replace(source, start=start, end=end, score=PROPAGATED_SCORE, subject=subject))
        covered.append((start, end))
    return [*findings, *added]
