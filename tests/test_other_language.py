"""Words of a text in another language are not names (pipeline.detect.other_language), but names in such a text
still are: Faker's name lists, titles, capitals inside a sentence and an English sentence around keep them."""

from __future__ import annotations

import pytest

from pipeline.detect.other_language import is_word_of_the_text, language_of_word
from pipeline.scrub import scrub_texts


def _at(text: str, part: str) -> tuple[str, int, int]:
    start = text.index(part)
    return text, start, start + len(part)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("La fecha de entrega es el viernes, no hay cambios", "viernes"),
        ("Die Besprechung mit dem Kunden ist verschoben", "Besprechung"),
        ("bis morgen in der Besprechung", "bis morgen"),
        ("Merci pour la réunion de ce matin", "de ce matin"),
        ("ik sta in de keuken en kook", "keuken"),
        ("a reunião foi ótima, obrigado", "reunião foi ótima"),
        ("Kreeg net een tip van iemand op het werk", "Kreeg"),
    ],
)
def test_words_of_the_sentence_language_are_vetoed(text: str, part: str) -> None:
    assert is_word_of_the_text(*_at(text, part))


@pytest.mark.parametrize(
    ("text", "part", "why"),
    [
        ("ask Fröhlich about the budget before Friday", "Fröhlich", "an English sentence: a surname"),
        ("Frau Schüler hat die Unterlagen geschickt und ist morgen weg", "Schüler", "a title before it"),
        ("la señora Viernes está de vacaciones hasta el lunes", "Viernes", "a title before it"),
        ("Danke Jürgen, bis morgen in der Besprechung", "Jürgen", "in Faker's German first names"),
        ("el informe de Cabeza está listo para el lunes", "Cabeza", "in Faker's Spanish surnames"),
        ("ele mora em Goiânia com a família", "Goiânia", "capitalised inside a sentence"),
        ("see fecha", "fecha", "nothing else in the text shows the language"),
        ("the meeting is at noon with the team", "meeting", "an English word"),
    ],
)
def test_names_and_english_words_are_not(text: str, part: str, why: str) -> None:
    assert not is_word_of_the_text(*_at(text, part)), why


def test_a_word_is_of_a_language_when_common_there_and_rare_in_english() -> None:
    assert language_of_word("vergadering") == "nl" and language_of_word("besprechung") == "de"
    assert language_of_word("Pedro") is None  # common in every language's text, English included
    assert language_of_word("budget") is None


def test_end_to_end_the_words_stay_and_the_names_go() -> None:
    texts = [
        "Danke Jürgen, bis morgen in der Besprechung",
        "La fecha de entrega es el viernes, habla con Pilar Ortega si hay cambios",
    ]
    german, spanish = scrub_texts(texts)
    assert "Jürgen" not in german and "Besprechung" in german
    assert "fecha de entrega" in spanish and "viernes" in spanish
    assert "Pilar" not in spanish and "Ortega" not in spanish
