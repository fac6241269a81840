"""Whether a clause is about a person: the check the special-category rules (health, private life) share.

A condition or a life event named in a clause is a disclosure only when the clause ties it to someone (a personal
pronoun or possessive, a family word, a name) and nothing in it makes it about a product, a study or the
company's policy. The person words are data (lexicons/person_clause.yaml); each rule brings its own words of
"about a thing".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.detect.spans import Check
from pipeline.detect.vocabulary import alternation, clause_parts, load_lexicon

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


def whole_words(source: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'-])(?:" + source + r")(?![\w-])", re.IGNORECASE)


def clause_around(text: str, start: int, end: int) -> str:
    """The text of the value's clause, the value included, from up to BEFORE characters ahead of it to AFTER
    behind it."""
    ahead, behind = clause_parts(text, start, end, BEFORE, AFTER, _CLAUSE_BREAK)
    return ahead + text[start:end] + behind


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
