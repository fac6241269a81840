"""The casual-text NER family: which texts it runs on, what it keeps of the model's guesses, and the batching."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator

import pytest
import spacy
from spacy.tokens import Doc, Span

from pipeline.detect import casual_ner, names
from pipeline.detect.engine import Detector, PreparesBatches
from pipeline.policy import Policy, load_policy


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="module")
def lexicon(policy: Policy) -> names.NameLexicon:
    return names.name_lexicon(policy.model)


@pytest.fixture(scope="module")
def shipped(policy: Policy, lexicon: names.NameLexicon) -> casual_ner.CasualTextNerRecognizer:
    return casual_ner.CasualTextNerRecognizer(casual_ner.load_casual_model(casual_ner.SHIPPED_MODEL), lexicon)


def found(recognizer: casual_ner.CasualTextNerRecognizer, text: str) -> list[str]:
    return [text[r.start : r.end] for r in recognizer.analyze(text, ["PERSON"])]


@pytest.mark.parametrize(
    "text",
    [
        "where is kishan ?",
        "lol tell brad that she is pregnant",
        "ok so i saw Kishan at the gym",  # a lowercase "i": casing is not minded
        "IS THAT IDRIS ? ! !",
        "kunjana",
    ],
)
def test_casual_casing(text: str) -> None:
    assert casual_ner.casual_casing(text)


@pytest.mark.parametrize(
    "text",
    [
        "Where is Kishan? He said he would join the Design Review.",
        "Please ask Brad Miller to send the Q3 numbers to Finance.",
        "",
        "1234 5678",
    ],
)
def test_edited_text_is_not_casual(text: str) -> None:
    assert not casual_ner.casual_casing(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("where is kishan ?", "kishan"),
        ("i really want her to tell brad that", "brad"),
        ("ok so i saw Kishan at the gym", "Kishan"),
        ("MEETING WITH JOHN SMITH AT 5", "JOHN SMITH"),
    ],
)
def test_shipped_model_finds_names_in_casual_text(
    shipped: casual_ner.CasualTextNerRecognizer, text: str, name: str
) -> None:
    assert any(name in span for span in found(shipped, text))


@pytest.mark.parametrize(
    "text",
    [
        "PR #10246 is ready for review",  # the model's guess "review" is a word, and is dropped
        "call me at noon, wifi is spotty",
        "Where is Kishan? He said he would join the Design Review.",  # edited text: the model is not run
    ],
)
def test_shipped_model_negatives(shipped: casual_ner.CasualTextNerRecognizer, text: str) -> None:
    assert found(shipped, text) == []


class CountingModel:
    """A stand-in model that calls every word after "ask" a PERSON and counts how it is called."""

    def __init__(self) -> None:
        self.nlp = spacy.blank("en")
        self.piped: list[str] = []
        self.called: list[str] = []

    def _doc(self, text: str) -> Doc:
        doc = self.nlp(text)
        doc.ents = [Span(doc, t.i, t.i + 1, label="PERSON") for t in doc[1:] if doc[t.i - 1].lower_ == "ask"]
        return doc

    def pipe(self, texts: Iterable[str], batch_size: int = 1) -> Iterator[Doc]:
        for text in texts:
            self.piped.append(text)
            yield self._doc(text)

    def __call__(self, text: str) -> Doc:
        self.called.append(text)
        return self._doc(text)


def test_prepared_batch_runs_the_model_once_and_only_on_casual_texts(lexicon: names.NameLexicon) -> None:
    model = CountingModel()
    recognizer = casual_ner.CasualTextNerRecognizer(model, lexicon)  # type: ignore[arg-type]
    casual, edited = "pls ask kishan about it", "Please ask Kishan about the Q3 Review."
    recognizer.prepare([casual, edited])
    assert model.piped == [casual]
    assert found(recognizer, casual) == ["kishan"]
    assert found(recognizer, edited) == []
    assert model.called == []  # both answered from the prepared batch
    assert found(recognizer, "ok ask zdenka then") == ["zdenka"]  # not prepared: one call of its own
    assert model.called == ["ok ask zdenka then"]


def test_a_word_the_model_calls_a_person_is_dropped(lexicon: names.NameLexicon) -> None:
    recognizer = casual_ner.CasualTextNerRecognizer(CountingModel(), lexicon)  # type: ignore[arg-type]
    assert found(recognizer, "pls ask review first") == []  # "review": an everyday word, no name
    assert found(recognizer, "pls ask trump first") == ["trump"]  # a word, but a lexicon name too


def test_detector_prepares_the_family_and_the_policy_switches_it(policy: Policy) -> None:
    detector = Detector(policy)
    preparing = [r for r in detector.recognizers if isinstance(r, PreparesBatches)]
    # the disclosure model (issue 12) prepares its batches too
    assert [r.name for r in preparing] == ["CasualTextNerRecognizer", "DisclosureRecognizer"]
    findings = detector.detect(["where is kishan ?", "where is kishan ?"])
    assert findings[0] and findings[0] == findings[1]
    raw = copy.deepcopy(policy.raw)
    raw["recognizers"]["casual_ner"] = False
    without = Detector(Policy(raw=raw, sha256="test"))
    assert not any(isinstance(r, casual_ner.CasualTextNerRecognizer) for r in without.recognizers)


class TailModel(CountingModel):
    """A stand-in model that calls everything after the first word one PERSON entity."""

    def _doc(self, text: str) -> Doc:
        doc = self.nlp(text)
        doc.ents = [Span(doc, 1, len(doc), label="PERSON")]
        return doc


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("ok sure jenna", ["jenna"]),  # trimmed to the name
        ("ok donald trump", ["donald trump"]),  # a word-like name beside a distinct one
        ("ok ask jerry_harrington", []),  # "ask" is a census surname, but stands beside no name
        ("ok sgtm", []),  # chat shorthand from the workplace terms
    ],
)
def test_model_entities_are_trimmed_to_their_names(lexicon: names.NameLexicon, text: str, kept: list[str]) -> None:
    recognizer = casual_ner.CasualTextNerRecognizer(TailModel(), lexicon)  # type: ignore[arg-type]
    assert found(recognizer, text) == kept
