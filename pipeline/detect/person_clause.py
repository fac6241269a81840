"""Whether a clause is about a person: the check the special-category rules (health, private life) share.

A condition or a life event named in a clause is a disclosure only when the clause ties it to someone (a personal
pronoun or possessive, a family word, a name) and nothing in it makes it about a product, a study or the
company's policy. The person words are data (lexicons/person_clause.yaml); each rule brings its own words of
"about a thing".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from importlib import resources

import yaml

from pipeline.detect.spans import Check

BEFORE, AFTER = 80, 40  # characters of the clause searched, ahead of the value and behind it
_CLAUSE_BREAK = re.compile(r"[.!?;]\s|[\n|•]")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}\b")  # a capitalised word inside a sentence
# At a clause's start: a name as its subject ("Ana is ...", "Omar's ..."), or chat's elided "I" ("got an offer").
_LEADING_NAME = re.compile(r"^\W*([A-Z][a-z]{2,})(?:'s\b|\s+(?:is|was|has|had|got|will|and|just|finally)\b)")
_NOT_A_NAME = frozenset(
    "the this that these those our your their there here what who which when where why how it its everyone someone"
    " nobody team company management hr it's".split()
)
_ELIDED_SUBJECT = re.compile(
    r"^\W*(?:got|have|had|been|going|gonna|just|finally|can't|cant|need|needed|started|starting|still|taking|feeling"
    r"|having|seeing)\b", re.IGNORECASE
)


@functools.cache
def load_lexicon(name: str) -> dict[str, list[str]]:
    """A vocabulary file of lexicons/, as a reviewer reads it."""
    path = resources.files("pipeline.detect").joinpath("lexicons", name)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alternation(entries: Iterable[str], plural: bool = False) -> str:
    """Regex alternation of entries, longest first, words joined by any run of spaces (and an optional plural)."""
    tail = r"(?:s|es)?" if plural else ""
    ordered = sorted({str(e) for e in entries}, key=len, reverse=True)
    return "(?:" + "|".join(r"\s+".join(map(re.escape, e.split())) + tail for e in ordered) + ")"


def whole_words(source: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'-])(?:" + source + r")(?![\w-])", re.IGNORECASE)


def clause_around(text: str, start: int, end: int) -> str:
    """The text of the value's clause, the value included, from up to BEFORE characters ahead of it to AFTER
    behind it."""
    ahead = text[max(0, start - BEFORE) : start]
    breaks = list(_CLAUSE_BREAK.finditer(ahead))
    if breaks:
        ahead = ahead[breaks[-1].end() :]
    behind = text[end : end + AFTER]
    stop = _CLAUSE_BREAK.search(behind)
    return ahead + text[start:end] + (behind[: stop.start()] if stop else behind)


def about_a_person(more_person_words: Iterable[str] = (), about_a_thing: Iterable[str] = ()) -> Check:
    """A check: the clause holds a person word (or one of `more_person_words`) or a name, or starts with a name
    or chat's elided "I" ("got an offer from ..."), and holds no word of `about_a_thing`."""
    person = whole_words(alternation([*load_lexicon("person_clause.yaml")["person_words"], *more_person_words]))
    things = list(about_a_thing)
    thing = whole_words(alternation(things)) if things else None

    def check(match: re.Match[str], start: int, end: int) -> bool:
        clause = clause_around(match.string, start, end)
        if thing and thing.search(clause):
            return False
        if person.search(clause) or _NAME.search(clause) or _ELIDED_SUBJECT.match(clause):
            return True
        leading = _LEADING_NAME.match(clause)
        return bool(leading and leading.group(1).lower() not in _NOT_A_NAME)

    return check
