"""Words of the language a text is written in, taken for names: spaCy's English model calls "Geburtsdatum",
"fecha", "nació" or "vergadering" a person when a sentence is German, Spanish or Dutch.

A word counts as a word of language L when wordfreq finds it common in L and rare in English ("fecha": Zipf 5.1
in Spanish, 1.2 in English), and it is no first or last name of L's Faker name lists (which keep "Müller",
"Cabeza", "Fröhlich"). Names are common in every language's text, so most of them fail the frequency test anyway
("Pedro", "Hans", "Jürgen"). The veto applies only when the text around is in L too: in an English sentence,
"ask Fröhlich" is a surname.
"""

from __future__ import annotations

import functools
import importlib
import re

from wordfreq import zipf_frequency

# Languages checked, with the Faker locales whose name lists are kept as names.
LANGUAGES = {
    "de": ("de_DE", "de_AT", "de_CH"),
    "fr": ("fr_FR", "fr_CA", "fr_CH"),
    "es": ("es_ES", "es_MX", "es_CO"),
    "pt": ("pt_BR", "pt_PT"),
    "nl": ("nl_NL", "nl_BE"),
    "it": ("it_IT",),
}
COMMON_ZIPF = 3.3  # at least about 2 per million words in L
RARE_IN_ENGLISH = 2.3  # at most about 1 per 5 million words in English
MARGIN = 2.5  # and this much more common in L than in English (a hundredfold and more)
CONTEXT_ZIPF, CONTEXT_MARGIN = 4.0, 1.5  # a word that shows the sentence is in L ("le", "ist", "op", "el")
# Parts of surnames that are words of every sentence ("De Vries", "da Silva", "van der Berg"): not names alone.
PARTICLES = frozenset({"de", "da", "di", "do", "dos", "das", "del", "della", "dal", "van", "von", "der", "den", "ter",
                       "ten", "la", "le", "du", "des", "y", "e", "zu", "vom", "zur", "het"})
CONTEXT_WORDS = 1  # other words of L the text must hold
CONTEXT_CHARS = 200  # ... within this many characters: the finding's sentence, not a long text's every word
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# A title before the finding says it is a name, whatever it means as a word ("Frau Schüler", "Señora Cabeza").
_TITLE_BEFORE = re.compile(
    r"(?:\b(?:herr|frau|dr|prof|señor|señora|señorita|sr|sra|srta|don|doña|monsieur|madame|mademoiselle|mme|mlle|"
    r"signor|signora|sig|sig\.ra|dona|dom|senhor|senhora|meneer|mevrouw|mevr|dhr|mr|mrs|ms|miss)\.?|\bm\.)\s+\Z",
    re.IGNORECASE,
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…\n]\s*|^\W*(?:RT\s+)?@\w+\s*:?\s*)\W*\Z")


@functools.lru_cache(maxsize=1)
def foreign_names() -> frozenset[str]:
    """First and last names of every checked locale, lower-cased word by word, less the particles."""
    names: set[str] = set()
    for locales in LANGUAGES.values():
        for locale in locales:
            try:
                provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            except ImportError:
                continue
            for attribute in ("first_names", "first_names_female", "first_names_male", "last_names"):
                for name in getattr(provider, attribute, ()):
                    names.update(part.lower() for part in _WORD.findall(name))
    return frozenset(names - PARTICLES)


@functools.lru_cache(maxsize=65_536)
def language_of_word(word: str) -> str | None:
    """The checked language this word is a common word of (and rare in English), or None."""
    lower = word.lower()
    if lower in foreign_names():
        return None
    english = zipf_frequency(lower, "en")
    if english >= RARE_IN_ENGLISH:
        return None
    best, language = max((zipf_frequency(lower, code), code) for code in LANGUAGES)
    return language if best >= COMMON_ZIPF and best - english >= MARGIN else None


@functools.lru_cache(maxsize=65_536)
def _marks_language(word: str) -> frozenset[str]:
    """Languages a word shows a sentence is written in."""
    lower = word.lower()
    english = zipf_frequency(lower, "en")
    return frozenset(
        code for code in LANGUAGES
        if (z := zipf_frequency(lower, code)) >= CONTEXT_ZIPF and z - english >= CONTEXT_MARGIN
    )


def is_word_of_the_text(text: str, start: int, end: int) -> bool:
    """The finding is words of one language L: each a common word of L or a word that shows a sentence is in L,
    none a name in Faker's lists, and at least one rare in English (or two or more that all show L: "bis morgen",
    "de ce matin"); no title before it; not capitalised inside a sentence (but in German); and the text around
    it (CONTEXT_CHARS either side) holds at least CONTEXT_WORDS words of L. (The English surname lexicon is not
    asked: it holds most Spanish words, "Viernes" among them.)"""
    words = [w.lower() for w in _WORD.findall(text[start:end])]
    if not words or any(w in foreign_names() for w in words) or _TITLE_BEFORE.search(text[max(0, start - 16) : start]):
        return False
    strict = {language_of_word(w) for w in words} - {None}
    shown = functools.reduce(frozenset.__and__, (_marks_language(w) for w in words))
    if len(strict) == 1:
        (language,) = strict
        if not all(language_of_word(w) == language or language in _marks_language(w) for w in words):
            return False
    elif not strict and len(words) > 1 and len(shown) == 1:  # "bis morgen", "de ce matin": function words alone
        (language,) = shown
    else:
        return False
    if language != "de" and text[start].isupper() and not _SENTENCE_START.search(text[:start]):
        return False  # capitalised inside a sentence: a proper name ("lives in Goiânia"); German capitalises nouns
    around = _WORD.findall(text[max(0, start - CONTEXT_CHARS) : start]) + _WORD.findall(text[end : end + CONTEXT_CHARS])
    return sum(language in _marks_language(w) for w in around) >= CONTEXT_WORDS
