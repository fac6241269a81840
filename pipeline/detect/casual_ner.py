"""Names in text whose casing says nothing: a second NER model, trained on social-media text, run only there.

en_core_web_sm learned names from edited text, where a capital marks them; in chat typed all in lowercase or
all in capitals it misses most of them ("tell brad", "where's kishan", "MEETING WITH JOHN SMITH"). The shipped
model (`models/person_social/`, rebuilt by `training/person_social/`) is en_core_web_sm's own NER fine-tuned on the
person names of WNUT-17's training tweets and on lowercased and upper-cased copies of them; only its PERSON
entities are used. It finds names in edited text too, but there it adds mostly over-redaction, so it runs only
on texts whose casing is unreliable (`casual_casing`): a third to a half of social-media texts and a quarter of
presidio_v2's. The policy's `nlp.casual_model` may name another installed spaCy pipeline or a model folder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import spacy
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc, Token

from pipeline.detect.names import NameLexicon, name_lexicon, workplace_terms
from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import tagged_result

PERSON = "PERSON"
SCORE = 0.6
SHIPPED_MODEL = "person_social"
BATCH_SIZE = 64
# A text is casual when, after its first word, fewer than this share of words are capitalised.
CAPITALISED_SHARE = 0.1
_WORD = re.compile(r"[^\W\d_]+")


def casual_casing(text: str) -> bool:
    """Whether capitals in the text say little about names: mostly lowercase ("lol tell brad"), a lowercase
    "i" ("i saw kishan"), or mostly shouted ("IS THAT IDRIS")."""
    words = _WORD.findall(text)
    if len(words) < 2:
        return bool(words)
    rest = words[1:]
    if sum(w[0].isupper() for w in rest) < CAPITALISED_SHARE * len(rest) or "i" in rest:
        return True
    return sum(len(w) > 1 and w.isupper() for w in words) * 2 > len(words)


def load_casual_model(name: str) -> spacy.Language:
    """The shipped model by its folder name, or any installed spaCy pipeline or model folder."""
    shipped = resources.files("pipeline.detect").joinpath("models", name)
    source = Path(str(shipped)) if shipped.is_dir() else name
    return spacy.load(source)


class CasualTextNerRecognizer(LocalRecognizer):
    """PERSON entities of the casual-text model, on casual texts only. The detector hands it each batch's
    texts first (`prepare`), so the model runs batched rather than once per text."""

    def __init__(self, nlp: spacy.Language, lexicon: NameLexicon, supported_language: str = "en") -> None:
        self.nlp = nlp
        self.lexicon = lexicon
        self._found: dict[str, list[tuple[int, int]]] = {}
        super().__init__(
            supported_entities=[PERSON], name="CasualTextNerRecognizer", supported_language=supported_language
        )

    def load(self) -> None:
        """The model arrives loaded."""

    def prepare(self, texts: Sequence[str]) -> None:
        """Run the model over the batch's casual texts; their names wait for `analyze`."""
        casual = [t for t in texts if casual_casing(t)]
        docs = self.nlp.pipe(casual, batch_size=BATCH_SIZE)
        self._found = {text: self._people(doc) for text, doc in zip(casual, docs, strict=True)}

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if entities and PERSON not in entities:
            return []
        spans = self._found.get(text)
        if spans is None:  # a text no batch prepared: one model call
            spans = self._people(self.nlp(text)) if casual_casing(text) else []
        return [tagged_result(self, PERSON, start, end, SCORE) for start, end in spans]

    def _people(self, doc: Doc) -> list[tuple[int, int]]:
        """The model's PERSON entities, trimmed to the words in them that can be a name: a lexicon name ("brad",
        "trump") or a word English has next to no use for ("kishan"). Its other guesses in work chat are words
        ("ready for review", "pretty sure jenna" for "jenna") or software ("a config issue")."""
        people = []
        for ent in doc.ents:
            if ent.label_ != PERSON:
                continue
            strong = [self._distinct(t) for t in ent]
            named = [
                t
                for k, t in enumerate(ent)
                if strong[k] or (self._word_like(t) and (len(ent) == 1 or any(strong[max(k - 1, 0) : k + 2])))
            ]
            if named:
                people.append((named[0].idx, named[-1].idx + len(named[-1])))
        return people

    def _candidate(self, token: Token) -> bool:
        lower = token.lower_
        return token.is_alpha and len(lower) >= 3 and not token.is_stop and lower not in workplace_terms()

    def _distinct(self, token: Token) -> bool:
        """A name that is no everyday word ("kishan", "gaby"), or a word English has next to no use for."""
        if not self._candidate(token):
            return False
        lower = token.lower_
        if lower in self.lexicon.names:
            return lower not in self.lexicon.words
        return self.lexicon.unheard_of(lower)

    def _word_like(self, token: Token) -> bool:
        """A name that is also a word ("trump", "ask"): it counts as the whole entity, or beside a distinct name."""
        return self._candidate(token) and token.lower_ in self.lexicon.names


@register("casual_ner")
def casual_ner_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    name = context.policy.raw["nlp"].get("casual_model", SHIPPED_MODEL)
    lexicon = name_lexicon(context.policy.model)
    return [CasualTextNerRecognizer(load_casual_model(name), lexicon, supported_language=context.policy.language)]
