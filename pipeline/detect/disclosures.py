"""Disclosures without a shape: health, private life and performance talk found by a trained model.

Names, numbers and keys have shapes; "my partner and I broke up", "private room for insulin injections" or "in a
final round with" another employer do not, and no list of phrasings holds them all. The shipped model
(`models/disclosures/`, rebuilt by `training/disclosures/`) is a small tok2vec and NER trained from scratch on a
corpus composed for it (templates and fillers in many registers and a few languages, with look-alikes); its
HEALTH, PRIVATE and PERFORMANCE entities are the disclosing phrases. It runs batched: the Detector hands it each
batch's texts first (`prepare`). It reads only texts that hold a cue word of some class (lexicons/
disclosure_cues.yaml) and are long enough to disclose anything (`MIN_WORDS`), and keeps only phrases that hold a
cue of their own class: trained on composed text, the model alone also marks phrases in text unlike anything it
saw (song lyrics, support tickets), and the cue words keep it to where a disclosure can be. Measured choices in
docs/detection.md.
The policy's `nlp.disclosure_model` may name another model folder or installed pipeline.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from importlib import resources

import spacy
import yaml
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pipeline.detect.casual_ner import load_casual_model
from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import tagged_result

SHIPPED_MODEL = "disclosures"
ENTITIES = ("HEALTH", "PRIVATE", "PERFORMANCE")
SCORE = 0.6
BATCH_SIZE = 128
MIN_WORDS = 3  # "ok", "lgtm", "thanks Ann" disclose nothing; most chat lines are that short
SHORT_CUE = 4
CUE_REACH = 0  # characters either side of a phrase where its cue may stand: 0, the phrase must hold it
_WORD = re.compile(r"\w+")


@functools.cache
def cues() -> dict[str, re.Pattern[str]]:
    """Per entity, one regex of its cue words from lexicons/disclosure_cues.yaml: each the start of a word, or the
    whole word when it has at most SHORT_CUE characters ("son" is not "song", "ex" not "extend")."""
    path = resources.files("pipeline.detect").joinpath("lexicons", "disclosure_cues.yaml")
    lexicon = yaml.safe_load(path.read_text(encoding="utf-8"))

    def entry(word: str) -> str:
        source = r"\s+".join(map(re.escape, word.split()))
        return source + (r"(?![^\W_])" if len(word) <= SHORT_CUE else "")

    return {
        label: re.compile(r"(?<![^\W_])(?:" + "|".join(entry(str(w)) for w in words) + r")", re.IGNORECASE)
        for label, words in lexicon.items()
    }


def worth_reading(text: str) -> bool:
    """Whether a text can hold a disclosure: a few words long, with a cue word of some class."""
    return len(_WORD.findall(text, 0, 400)) >= MIN_WORDS and any(c.search(text.replace("_", " ")) for c in cues().values())


def cued(text: str, start: int, end: int, label: str) -> bool:
    """Whether the phrase (and CUE_REACH characters either side) holds a cue word of its own class."""
    cue = cues().get(label)
    window = text[max(0, start - CUE_REACH) : end + CUE_REACH].replace("_", " ")
    return bool(cue and cue.search(window))


class DisclosureRecognizer(LocalRecognizer):
    """The disclosure model's entities, found batched in `prepare` and handed out per text in `analyze`."""

    def __init__(self, nlp: spacy.Language, supported_language: str = "en") -> None:
        self.nlp = nlp
        self._found: dict[str, list[tuple[int, int, str]]] = {}
        super().__init__(supported_entities=list(ENTITIES), name="DisclosureRecognizer",
                         supported_language=supported_language)

    def load(self) -> None:
        """The model arrives loaded."""

    def prepare(self, texts: Sequence[str]) -> None:
        wanted = [t for t in texts if worth_reading(t)]
        docs = self.nlp.pipe(wanted, batch_size=BATCH_SIZE)
        self._found = {text: _phrases(doc) for text, doc in zip(wanted, docs, strict=True)}

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        found = self._found.get(text)
        if found is None:  # a text no batch prepared: one model call
            found = _phrases(self.nlp(text)) if worth_reading(text) else []
        return [tagged_result(self, label, start, end, SCORE) for start, end, label in found
                if not entities or label in entities]


def _phrases(doc: spacy.tokens.Doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents
            if e.label_ in ENTITIES and cued(doc.text, e.start_char, e.end_char, e.label_)]


@register("disclosures")
def disclosure_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    name = context.policy.raw["nlp"].get("disclosure_model", SHIPPED_MODEL)
    return [DisclosureRecognizer(load_casual_model(name), supported_language=context.policy.language)]
