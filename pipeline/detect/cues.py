"""Context words: a result with one of its recognizer's context words just before it scores higher.

Presidio's recognizers declare context words ("ssn", "social" for US_SSN; "driver", "license" for licences) and
score weak shapes, a bare 9-digit number or 7 digits, below the threshold, leaving it to Presidio's context
enhancer to lift them when a context word is near. That enhancer compares spaCy lemmas, so the tagger and the
lemmatizer had to run on every text, and it matches a context word anywhere inside a lemma ("lic" in "Alicia",
"us" in "just", "ip" in "trippy"). This gives the same lift from the tokens alone: when one of the five words
before the result that are no stop word or punctuation (or the result's own first token) *starts* with a context
word ("licenses", "driver", "SSN#123").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer, RecognizerResult
from spacy.attrs import IDX, LENGTH
from spacy.tokens import Doc

# As Presidio's LemmaContextAwareEnhancer: +0.35, and at least 0.4, at most 1.0, from the five words before.
BOOST = 0.35
MIN_BOOSTED = 0.4
WORDS_BEFORE = 5


class ContextBoost:
    """Raises the scores of a recognizer's results that follow one of its context words."""

    def __init__(self, recognizers: Iterable[EntityRecognizer]) -> None:
        self._cues: dict[str, re.Pattern[str]] = {}
        for recognizer in recognizers:
            words = sorted({w.strip().lower() for w in recognizer.context or [] if w.strip()}, key=len, reverse=True)
            if words:
                self._cues[recognizer.id] = re.compile("|".join(map(re.escape, words)))

    def apply(self, doc: Doc, recognizer: EntityRecognizer, results: list[RecognizerResult]) -> None:
        """Boost, in place, each of the recognizer's results that has a context word before it in the doc."""
        cue = self._cues.get(recognizer.id)
        if cue is None:
            return
        for result in results:
            if _cued(cue, doc, result.start):
                result.score = min(EntityRecognizer.MAX_SCORE, max(result.score + BOOST, MIN_BOOSTED))


def _cued(cue: re.Pattern[str], doc: Doc, start: int) -> bool:
    """A context word among the first WORDS_BEFORE + 1 words from the result's first token backwards.

    As in Presidio, stop words and punctuation are no words, and neither is a token holding a ":" (Presidio
    splits its keywords there, so such a token never matches one): a URL result reaches back six words.
    """
    ends = doc.to_array([IDX, LENGTH]).sum(axis=1) if len(doc) else []
    first = bisect_right(ends, start)  # the first token ending after the result's start
    seen = 0
    for i in range(min(first, len(doc) - 1), -1, -1):
        token = doc[i]
        if token.is_stop or token.is_punct or token.is_space or ":" in token.text:
            continue
        if cue.match(token.lower_):
            return True
        seen += 1
        if seen > WORDS_BEFORE:
            return False
    return False
