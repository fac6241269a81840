"""Roster: every name form, handle and e-mail of every employee, found with one Aho-Corasick automaton.

A roster holds thousands of employees with several forms each; one automaton scans a text once for all of
them, where an alternation regex would grow with the roster and backtrack. Each hit carries the employee_id
as `subject` so redaction can give the same person the same pseudonym everywhere; a form two employees
share (two "Alex") is still a PERSON, but with no subject, because guessing would merge two people.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import ahocorasick
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import tagged_result
from pipeline.roster import Roster

PERSON = "PERSON"
EMAIL = "EMAIL_ADDRESS"
SCORE = 1.0

# Names that are also everyday English words: matched only when written capitalised ("ask Will", not "will do").
WORD_NAMES = frozenset(
    """will may mark grant bill sue pat rob art don jack ray guy drew chase hunter frank rich dawn joy hope faith
    grace rose june april august summer autumn winter sky rain river sage ivy holly lily daisy iris violet ruby
    amber crystal jade pearl penny sandy rusty woody buddy sunny misty cliff dale glen heath brook lane wade reed
    miles max gene earl duke prince king major young long little short small love star storm sterling noble justice
    honor harmony melody destiny trinity chance chip buck bud nick kit jay robin wren drake crane finch swan fox
    wolf brown white black green gray grey hill wood woods stone price bell cook baker hall ward best park hunt
    marsh page wells banks moss case bishop walker turner fisher mason sharp swift strong bright ash bay rice field
    fields law day early hardy golden frost snow porter cooper potter miller booth house church temple fry lamb
    bird pike hale hay child wise gold silver bond cash bolt north south west east english french good dean
    rod herb ginger pepper cherry honey candy sugar brandy basil olive hazel heather laurel fern clay gates lucky
    happy eve val dot kay ada julia pascal jenkins jan mercy trust""".split()
)
# Name particles and suffixes: part of a full name, never a name on their own ("the van is parked").
PARTICLES = frozenset(
    "de la le van von der den del della di da dos das do du bin ibn al el st mc mac ter ten y jr sr ii iii iv".split()
)
MONTH_NAMES = frozenset({"jan", "april", "may", "june", "july", "august"})
# Words before a month that make it a date ("in May", "by June").
_DATE_LEAD = frozenset("in on by since until till of early late mid next last this from through".split())
# Words after a sentence-initial name-word that make it a verb or modal ("Will you", "Mark as done", "Grant access").
_VERB_FOLLOWERS = frozenset(
    """i you we they he she it this that these those the a an my your our their his her its do be have as up down
    off everything all them him me us access permission permissions not""".split()
)
_LOOK_BACK = 40  # characters around a word-name read to judge it
# Straight equivalents so "O’Brien" matches the roster's "O'Brien" and a non-breaking space matches a space.
_FOLD_SPECIAL = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-", "\u00a0": " "}


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character, case- and accent-folded to exactly one character so offsets stay aligned."""
    if char in _FOLD_SPECIAL:
        return _FOLD_SPECIAL[char]
    lowered = unicodedata.normalize("NFKD", char)[0].lower()
    return lowered if len(lowered) == 1 else char


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text with the same length, so match offsets are text offsets."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(c) for c in text)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass
class _Form:
    """One folded surface form and every employee it could mean."""

    length: int
    entity: str
    subjects: set[str]
    capitalised_only: bool

    @property
    def subject(self) -> str | None:
        return next(iter(self.subjects)) if len(self.subjects) == 1 else None


def _classify(form: str) -> tuple[str, bool]:
    """(entity, capitalised_only) for one name form: e-mails, handles and full names match in any case, a single
    word-name ("Will", "Hazel") only capitalised.

    A full name of word-names matches lowercase too ("pretty sure hazel moss is leaving"): two of a colleague's
    names in a row are that colleague far more often than a phrase, and the residual gate, which reads full
    names in any case, would otherwise stop the whole night over it. The cost is "will grant" in "we will grant
    access" for an employee named Will Grant.
    """
    if "@" in form[1:]:
        return EMAIL, False
    if form.startswith("@"):
        return PERSON, False
    words = form.split()
    plain = all(w.replace("'", "").replace("-", "").isalpha() for w in words)
    return PERSON, plain and len(words) == 1 and (fold(form) in WORD_NAMES or len(form) <= 2)


def _build_automaton(roster: Roster) -> ahocorasick.Automaton | None:
    forms: dict[str, _Form] = {}
    for employee in roster.employees:
        for form in employee.name_forms():
            key = fold(form)
            if len(key.strip("@")) < 2 or key.strip("@").isdigit() or key.rstrip(".") in PARTICLES:
                continue  # an initial, a number or a particle alone would match everywhere
            entity, capitalised_only = _classify(form)
            known = forms.setdefault(key, _Form(len(key), entity, set(), capitalised_only))
            known.subjects.add(employee.employee_id)
            known.capitalised_only = known.capitalised_only or capitalised_only
    if not forms:
        return None
    automaton = ahocorasick.Automaton()
    for key, form in forms.items():
        automaton.add_word(key, form)
    automaton.make_automaton()
    return automaton


class RosterRecognizer(LocalRecognizer):
    """Whole-word matches of roster names, handles and e-mails, longest first; case- and accent-insensitive
    except for names that are also words, which must be capitalised."""

    def __init__(self, roster: Roster, supported_language: str = "en") -> None:
        super().__init__(
            supported_entities=[PERSON, EMAIL], name="RosterRecognizer", supported_language=supported_language
        )
        self._automaton = _build_automaton(roster)

    def load(self) -> None:
        """The automaton is built in __init__, from the roster given there."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities or self.supported_entities) & set(self.supported_entities)
        if self._automaton is None or not wanted:
            return []
        folded = fold(text)
        hits = [
            (end + 1 - form.length, end + 1, form)
            for end, form in self._automaton.iter(folded)
            if form.entity in wanted
        ]
        hits = [h for h in hits if _standalone(folded, h[0], h[1]) and _reads_as_name(text, h[0], h[1], h[2])]
        return [
            tagged_result(self, form.entity, start, end, SCORE, subject=form.subject)
            for start, end, form in _longest_first(hits)
        ]


def _standalone(folded: str, start: int, end: int) -> bool:
    """Whole words only, and not a piece of a larger e-mail, domain or dotted handle ("alex" in "alex.kim@x")."""
    before = folded[start - 1] if start > 0 else " "
    after = folded[end] if end < len(folded) else " "
    if _is_word(before) or _is_word(after):
        return False
    if before in ".@" and start > 1 and _is_word(folded[start - 2]):
        return False
    return not (after in ".@" and end + 1 < len(folded) and _is_word(folded[end + 1]))


def _reads_as_name(text: str, start: int, end: int, form: _Form) -> bool:
    """For names that are also words: capitalised, and not a month in a date or a verb opening a sentence."""
    if not form.capitalised_only:
        return True
    surface = text[start:end]
    if any(not w[0].isupper() or w[1:].isupper() for w in surface.split()):
        return False  # "will", or shouted "WILL"
    lead = text[max(0, start - _LOOK_BACK) : start]
    previous = lead.split()[-1:]
    following = text[end : end + _LOOK_BACK].split(maxsplit=1)[:1]
    next_word = following[0].strip(",.!?;:").lower() if following else ""
    if fold(surface) in MONTH_NAMES and (
        (previous and previous[0].lower() in _DATE_LEAD) or next_word[:1].isdigit()
    ):
        return False  # "in May", "May 5"
    sentence_start = not lead.strip() or lead.rstrip()[-1] in ".!?:\n"
    return not (sentence_start and next_word in _VERB_FOLLOWERS)


def _longest_first(hits: list[tuple[int, int, _Form]]) -> list[tuple[int, int, _Form]]:
    """Non-overlapping hits, preferring at each position the longest ("Alex Kim" over "Alex")."""
    chosen: list[tuple[int, int, _Form]] = []
    taken_until = -1
    for hit in sorted(hits, key=lambda h: (h[0], -(h[1] - h[0]))):
        if hit[0] >= taken_until:
            chosen.append(hit)
            taken_until = hit[1]
    return chosen


@register("roster")
def roster_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    return [RosterRecognizer(context.roster, supported_language=context.policy.language)]
