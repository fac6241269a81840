"""Names of people the roster does not know: a first/last-name lexicon read with the words around it, and
spaCy entities of other types that are really names.

en_core_web_sm misses many names: unfamiliar ones ("Rintanen"), lowercase ones ("donald trump", "emma") and
ones it files as an organisation or a nationality ("Trump" as ORG). A lexicon of given names and surnames
(Faker's lists for all its locales) finds them, but many names are also words ("Will", "Grace", "Brown"),
and many foreign-list names are English words ("Long", "Weeks"). So every lexicon hit is classed:

- distinctive: a name that is no everyday English word (its lemma is not in the model's WordNet-derived
  lemma index, or is only there as an English given name or surname): enough on its own when capitalised;
- word-like: a name that is also a word: needs evidence (a name beside it, or a cue such as "Mr", "with",
  "told", "ask" before it);
- lowercase or shouted: needs the tagger to call it a proper noun and evidence too.

A found name grows over neighbouring capitalised words that are names or no English word ("Justin Bieber",
"Willemine ten Pas"), so the surname the lexicon lacks goes with the given name it has.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

import spacy
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc, Span, Token
from wordfreq import get_frequency_dict

from pipeline.detect.registry import DetectContext, register
from pipeline.detect.roster import PARTICLES, WORD_NAMES

PERSON = "PERSON"
DISTINCT_SCORE = 0.6
EVIDENCED_SCORE = 0.55
RELABEL_SCORE = 0.6
MAX_NAME_TOKENS = 4
# Zipf frequency (log10 per billion words) from which a dictionary word is an everyday word.
import os

WORD_ZIPF = float(os.environ.get('ZIPF', '3.5'))

# Faker's curated English-speaking locales (not "en", whose long tail holds "Friend" and "Tea"): a WordNet noun
# that is one of their given names is a name first ("george").
_ENGLISH_LOCALES = ("en_GB", "en_IE", "en_NZ", "en_US")
_CALENDAR = frozenset(
    """january february march april may june july august september october november december jan feb mar apr jun
    jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu
    thur thurs fri sat sun""".split()
)
# A word before a name that says a person follows.
CUES = frozenset(
    """mr mrs ms miss mx dr prof sir madam dame lord lady uncle aunt auntie cousin grandma grandpa dear hi hey hello
    thanks thank thx ty with told tell tells telling ask asked asking asks ping pinged cc met meet meeting call
    called named name via cc'd and said says saw love loves miss missed congrats congratulations bye
    """.split()
)
# Titles and address words after which an unknown capitalised word is a name ("Mr Radebe", "thanks Jessum").
TITLE_CUES = frozenset(
    """mr mrs ms miss mx dr prof sir madam dame lord lady uncle aunt auntie cousin dear hi hey hello thanks thank
    thx ty coach president senator sen governor gov mayor judge justice officer sgt captain capt rev pastor father
    fr pope king queen prince princess dj mc""".split()
)
# spaCy labels whose spans are sometimes people: "Trump" as ORG, "Adamska" as NORP, "Kanye West" as PRODUCT.
RELABELLED = frozenset({"ORG", "NORP", "PRODUCT", "WORK_OF_ART", "EVENT", "FAC", "LAW", "LANGUAGE"})


class Kind(Enum):
    NONE = 0
    WORDLIKE = 1
    DISTINCT = 2


@dataclass(frozen=True)
class NameLexicon:
    """Lowercased given names and surnames, and the everyday words a name must not be taken for alone."""

    names: frozenset[str]
    words: frozenset[str]
    english: frozenset[str] = frozenset()

    def kind(self, token: Token) -> Kind:
        lower = token.lower_
        if lower not in self.names or len(lower) < 2 or not token.is_alpha:
            return Kind.NONE
        lemma = token.lemma_.lower()
        if lower in self.words or (lemma != lower and lemma in self.words) or token.is_stop:
            return Kind.WORDLIKE
        return Kind.DISTINCT

    def is_word(self, token: Token) -> bool:
        lower = token.lower_
        return lower in self.words or token.lemma_.lower() in self.words or token.is_stop


def _faker_names(locales: Iterable[str] | None = None) -> tuple[set[str], set[str]]:
    """(given names, surnames) of Faker's person providers, lowercased and split into words."""
    import faker.providers.person as person

    given: set[str] = set()
    family: set[str] = set()
    wanted = set(locales) if locales is not None else None
    for module in pkgutil.iter_modules(person.__path__):
        if wanted is not None and module.name not in wanted:
            continue
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute, value in vars(provider).items():
            target = given if attribute.startswith("first_names") else family if attribute.startswith("last_names") else None
            if target is None or not isinstance(value, (dict, list, tuple, set, frozenset)):
                continue
            target.update(part.lower() for name in value for part in str(name).replace("-", " ").split())
    return given, family


@functools.lru_cache(maxsize=4)
def name_lexicon(model: str) -> NameLexicon:
    """The lexicon for a spaCy model: its lemma index (WordNet's words), thinned to the words common enough
    in English (wordfreq) to be meant as words, says which names are also words."""
    nlp = spacy.load(model, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "ner", "senter"])
    given, family = _faker_names()
    english, _ = _faker_names(_ENGLISH_LOCALES)
    english_given, _ = _faker_names(("en",) + _ENGLISH_LOCALES)
    frequency = get_frequency_dict("en", wordlist="best")
    floor = 10 ** (WORD_ZIPF - 9)
    words: set[str] = set(nlp.Defaults.stop_words) | WORD_NAMES | _CALENDAR
    if "lemmatizer" in nlp.pipe_names:
        index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index", {})
        for pos in ("verb", "adj", "adv", "noun"):
            words.update(
                w for w in index.get(pos, ())
                if frequency.get(w, 0.0) >= floor and not (pos == "noun" and w in english)
            )
    names = {n for n in given | family if len(n) >= 2 and n not in PARTICLES}
    return NameLexicon(
        names=frozenset(names), words=frozenset(words), english=frozenset(n for n in english_given if n not in words)
    )


class Shape(Enum):
    TITLED = 0  # "Justin", "McDonald", "O'Neil"
    LOWER = 1  # "justin"
    UPPER = 2  # "JUSTIN"
    OTHER = 3  # "iPhone", "R2D2"


def _shape(token: Token) -> Shape:
    text = token.text
    if not token.is_alpha and "'" not in text:
        return Shape.OTHER
    if text.islower():
        return Shape.LOWER
    if len(text) > 1 and text.isupper():
        return Shape.UPPER
    return Shape.TITLED if text[:1].isupper() else Shape.OTHER


def _initial(token: Token) -> bool:
    """A middle initial: "S" or "P." inside "Julieta S Almeida"."""
    text = token.text.rstrip(".")
    return len(text) == 1 and text.isupper()


def _breaks(token: Token) -> bool:
    """No name runs past this token: punctuation, or a line break after it."""
    return "\n" in token.whitespace_ or token.is_punct or token.is_space


def _after(doc: Doc, token: Token, cues: frozenset[str]) -> bool:
    """The token right before this one, on the same line, is one of the cue words."""
    if token.i == 0:
        return False
    previous = doc[token.i - 1]
    return previous.lower_.rstrip(".") in cues and "\n" not in previous.whitespace_


class NameLexiconRecognizer(LocalRecognizer):
    """Given names and surnames from the lexicon, with the evidence each kind needs, grown to the full name."""

    def __init__(self, lexicon: NameLexicon, supported_language: str = "en") -> None:
        self.lexicon = lexicon
        super().__init__(supported_entities=[PERSON], name="NameLexiconRecognizer", supported_language=supported_language)

    def load(self) -> None:
        """The lexicon arrives built."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if (entities and PERSON not in entities) or nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        doc: Doc = nlp_artifacts.tokens
        kinds = [self.lexicon.kind(t) for t in doc]
        results: list[RecognizerResult] = []
        taken_until = -1
        for token in doc:
            if token.i < taken_until or kinds[token.i] is Kind.NONE:
                continue
            score = self._seed_score(doc, token, kinds)
            if score is None:
                continue
            start, end = self._grow(doc, token, kinds)
            taken_until = end
            results.append(self._result(doc[start:end], score))
        return results

    def _seed_score(self, doc: Doc, token: Token, kinds: list[Kind]) -> float | None:
        """The score of a token that starts a name here, or None."""
        kind, shape = kinds[token.i], _shape(token)
        if shape is Shape.TITLED:
            if kind is Kind.DISTINCT:
                return DISTINCT_SCORE
            if kind is Kind.WORDLIKE:
                return EVIDENCED_SCORE if self._evidence(doc, token, kinds) else None
            unknown_proper = token.pos_ == "PROPN" and not self.lexicon.is_word(token)
            return EVIDENCED_SCORE if unknown_proper and _after(doc, token, TITLE_CUES) else None
        if shape is Shape.OTHER or kind is not Kind.DISTINCT or len(token) < 3:
            return None
        if token.lower_ in self.lexicon.english:
            return EVIDENCED_SCORE
        return EVIDENCED_SCORE if token.pos_ == "PROPN" and self._evidence(doc, token, kinds) else None

    def _evidence(self, doc: Doc, token: Token, kinds: list[Kind]) -> bool:
        """A lexicon name right next to it, written the same way, or a cue word right before it."""
        shape = _shape(token)
        for i in (token.i - 1, token.i + 1):
            if 0 <= i < len(doc) and kinds[i] is not Kind.NONE and _shape(doc[i]) is shape:
                if not _breaks(doc[min(i, token.i)]):
                    return True
        return _after(doc, token, CUES)

    def _grow(self, doc: Doc, token: Token, kinds: list[Kind]) -> tuple[int, int]:
        """Token bounds of the whole name around a seed: neighbouring names and words that are no everyday
        word, written the same way, initials, and particles between capitalised words."""
        shape = _shape(token)

        def joins(t: Token) -> bool:
            if _shape(t) is not shape or t.is_stop:
                return _initial(t) and shape is Shape.TITLED
            if kinds[t.i] is not Kind.NONE:
                return True
            if shape is Shape.TITLED:
                return not self.lexicon.is_word(t)
            return shape is Shape.LOWER and t.pos_ == "PROPN" and not self.lexicon.is_word(t)

        start, end = token.i, token.i + 1
        while end < len(doc) and end - start < MAX_NAME_TOKENS and not _breaks(doc[end - 1]):
            nxt = doc[end]
            if joins(nxt):
                end += 1
            elif (
                shape is Shape.TITLED and nxt.lower_ in PARTICLES and end + 1 < len(doc)
                and not _breaks(nxt) and _shape(doc[end + 1]) is Shape.TITLED
            ):
                end += 2
            else:
                break
        while start > 0 and end - start < MAX_NAME_TOKENS and not _breaks(doc[start - 1]) and joins(doc[start - 1]):
            start -= 1
        return start, end

    def _result(self, span: Span, score: float) -> RecognizerResult:
        return RecognizerResult(
            entity_type=PERSON,
            start=span.start_char,
            end=span.end_char,
            score=score,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


class NameEntityRelabelRecognizer(LocalRecognizer):
    """spaCy ORG, NORP, PRODUCT ... spans that are names: short, capitalised, and holding a lexicon name."""

    def __init__(self, lexicon: NameLexicon, supported_language: str = "en") -> None:
        self.lexicon = lexicon
        super().__init__(
            supported_entities=[PERSON], name="NameEntityRelabelRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """Nothing to load: it reads the entities spaCy already found."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if (entities and PERSON not in entities) or nlp_artifacts is None or nlp_artifacts.tokens is None:
            return []
        results = []
        for ent in nlp_artifacts.tokens.ents:
            if ent.label_ in RELABELLED and self._name_like(ent):
                results.append(
                    RecognizerResult(
                        entity_type=PERSON,
                        start=ent.start_char,
                        end=ent.end_char,
                        score=RELABEL_SCORE,
                        recognition_metadata={
                            RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                        },
                    )
                )
        return results

    def _name_like(self, ent: Span) -> bool:
        words = [t for t in ent if t.is_alpha]
        if not words or len(words) > 3 or not all(_shape(t) is Shape.TITLED or t.lower_ in PARTICLES for t in words):
            return False
        return any(self.lexicon.kind(t) is not Kind.NONE for t in words)


@register("names")
def name_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    lexicon = name_lexicon(context.policy.model)
    language = context.policy.language
    return [
        NameLexiconRecognizer(lexicon, supported_language=language),
        NameEntityRelabelRecognizer(lexicon, supported_language=language),
    ]
