"""What every recognizer gets for one text: spaCy's doc and entities, and what the trigger pre-checks read of it.

spaCy runs only NER (and what NER needs) on every text. POS tags and lemmas come from the tagger, the attribute
ruler and the lemmatizer, which cost about as much as NER itself and are read only by the name lexicon
(pipeline/detect/names.py), and only for some tokens. So a doc arrives untagged; a recognizer reads tags through
`pos()` and `lemma()`, which raise `TagsNeeded` on an untagged doc; the engine then tags that doc (with the other
waiting docs, in one batch) and asks the recognizer again. A doc from a full spaCy pipeline is tagged already.
"""

from __future__ import annotations

import functools
import re

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc, Span, Token

from pipeline.detect.triggers import TextFeatures

# Key in Doc.user_data of docs whose tagger, attribute ruler and lemmatizer have not run yet.
UNTAGGED = "scrubline.untagged"


class TagsNeeded(Exception):
    """A recognizer read a POS tag or a lemma of a doc that is not tagged yet (the engine tags it and retries)."""


def pos(token: Token) -> str:
    """The token's coarse POS tag (token.pos_), once its doc is tagged."""
    if token.doc.user_data.get(UNTAGGED):
        raise TagsNeeded
    return token.pos_


def lemma(token: Token) -> str:
    """The token's lemma (token.lemma_), once its doc is tagged."""
    if token.doc.user_data.get(UNTAGGED):
        raise TagsNeeded
    return token.lemma_


class LemmaForms:
    """Every lemma a spaCy pipeline's rule lemmatizer and attribute ruler could give a word, whatever its POS tag.

    A superset, from the lemmatizer's suffix rules and exceptions for every POS and the attribute ruler's fixed
    lemmas: "hopes" may become "hope" or "hop", "Kristensen" only stays itself. A recognizer that only asks
    whether a token's lemma is one of some words can tell from this alone, for most tokens, that it is not, and
    leave the doc untagged. `of()` returns None for a pipeline whose lemmatizer works otherwise (read the lemma).
    """

    def __init__(self, nlp: spacy.Language) -> None:
        lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.component_names else None
        self.known = lemmatizer is not None and getattr(lemmatizer, "mode", None) == "rule"
        self.rules: set[tuple[str, str]] = set()
        self.exceptions: dict[str, set[str]] = {}
        self.patterned: list[tuple[re.Pattern[str], str]] = []  # attribute-ruler lemmas for words by regex
        if not self.known:
            return
        for rules in lemmatizer.lookups.get_table("lemma_rules", {}).values():
            self.rules.update((old, new) for old, new in rules)
        for exceptions in lemmatizer.lookups.get_table("lemma_exc", {}).values():
            for word, forms in exceptions.items():
                self.exceptions.setdefault(word, set()).update(f.lower() for f in forms)
        if "attribute_ruler" in nlp.component_names:
            for rule in nlp.get_pipe("attribute_ruler").patterns:
                lemma_value = rule["attrs"].get("LEMMA")
                if lemma_value is None:
                    continue
                for pattern in rule["patterns"]:
                    for token_spec in pattern:
                        if not self._add_ruled(token_spec.get("LOWER"), lemma_value.lower()):
                            self.known = False  # a lemma set by tag or shape alone: it could be any word's
                            return

    def _add_ruled(self, lower: object, lemma_value: str) -> bool:
        """Record an attribute-ruler lemma for the words a token pattern's LOWER allows; False if it allows any."""
        if isinstance(lower, str):
            self.exceptions.setdefault(lower, set()).add(lemma_value)
        elif isinstance(lower, dict) and isinstance(lower.get("IN"), list):
            for word in lower["IN"]:
                self.exceptions.setdefault(str(word).lower(), set()).add(lemma_value)
        elif isinstance(lower, dict) and isinstance(lower.get("REGEX"), str):
            self.patterned.append((re.compile(lower["REGEX"]), lemma_value))
        else:
            return False
        return True

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one instance per loaded lexicon, kept for the process
    def of(self, lower: str) -> frozenset[str] | None:
        """The lowercase lemmas the word (lowercased) could get, itself included; None if not knowable."""
        if not self.known:
            return None
        forms = {lower} | self.exceptions.get(lower, set())
        forms.update(value for regex, value in self.patterned if regex.search(lower))
        for old, new in self.rules:
            if lower.endswith(old) and (form := lower[: len(lower) - len(old)] + new):
                forms.add(form)
        return frozenset(forms)


class TextArtifacts(NlpArtifacts):
    """Presidio's NlpArtifacts for one text, built lazily, plus what the trigger pre-checks read of it.

    Presidio builds lemmas, keywords and token offsets for every text; only its context enhancer reads them, and the
    engine does not run it (cue words are part of the patterns), so lemmas and offsets are computed only when asked
    for and keywords not at all.
    """

    def __init__(
        self,
        doc: Doc,
        entities: list[Span],
        language: str,
        features: TextFeatures | None = None,
        score: float = 0.85,
    ) -> None:
        # NlpArtifacts.__init__ is skipped on purpose: it lemmatises and filters keywords for every text.
        self.tokens = doc
        self.entities = entities
        self.scores = [score] * len(entities)
        self.language = language
        self.nlp_engine = None
        self.features = features

    @property
    def tokens_indices(self) -> list[int]:  # type: ignore[override]
        return [token.idx for token in self.tokens]

    @property
    def lemmas(self) -> list[str]:  # type: ignore[override]
        return [lemma(token) for token in self.tokens]
