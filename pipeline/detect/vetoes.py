"""Model findings that are never a person or a place in workplace text: ticket keys, workplace software, code
identifiers, the cue words of an employee id, and common words of a text in another language.

spaCy's small model calls "PAY-743" and "Jira" people or places ("blocked on PAY-774", "Jira is slow today").
Workplace chat is full of both, so redacting them costs the ML teams real signal and protects nobody. Code and
config lines are read the same way ("getUserName", "api_client", "settings.Debug", "Token(" come out as people), so
a finding shaped or placed like an identifier goes too. Only findings without a subject are vetoed: a roster
match is never overruled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pipeline.detect.contact import EMPLOYEE_CUE
from pipeline.detect.names import workplace_terms
from pipeline.detect.other_language import is_word_of_the_text

if TYPE_CHECKING:
    from pipeline.detect.engine import Finding

VETOED_ENTITIES = frozenset({"PERSON", "LOCATION"})
TICKET_KEY = re.compile(r"[A-Z][A-Z0-9]{1,9}-\d{1,6}")
# Shapes no name takes: snake_case, dotted or called, camelCase, two or more inner capitals, letters with digits.
_IDENTIFIER_SHAPE = re.compile(
    r"[\w$]*_\w*|\w+(?:\.\w+)+|\S*[(){}\[\]=<>/\\$:;]\S*|[a-z]+[A-Z]\w*|[A-Z][a-z]+(?:[A-Z][a-z0-9]*){2,}"
    r"|(?=\w*\d)(?=\w*[A-Za-z])\w+"
)
# Placed as code: an attribute or method after it, an assignment, a call, or a flag, member access or variable before.
_CODE_AFTER = re.compile(r"^(?:\s*(?::?=(?!=)|=>|\()|\.[A-Za-z_]|::)")
_CODE_BEFORE = re.compile(r"(?:\w[.]|[$]|(?:^|\s)--?|::|->)\Z")


# "número de empleado", "Personalnummer": spaCy's small models take an id's cue for a name when the text is short.
_ID_CUE = re.compile(r"(?i)(?<!\w)(?:" + EMPLOYEE_CUE + r")(?!\w)")
# Words that may stand beside the cue inside such a finding: possessives and articles of the cue languages.
_CUE_COMPANIONS = frozenset(
    ["my", "your", "his", "her", "our", "their", "the", "a", "an", "mi", "mis", "su", "sus", "tu", "el", "la", "los",
     "las", "un", "una", "meu", "minha", "seu", "sua", "teu", "o", "os", "mon", "ma", "mes", "son", "sa", "ses",
     "ton", "ta", "le", "les", "une", "mein", "meine", "dein", "deine", "sein", "seine", "ihr", "ihre", "der", "die",
     "das", "ein", "eine", "mijn", "jouw", "zijn", "haar", "ons", "onze", "hun", "de", "het", "een"]
)


def is_identifier_cue(text: str, start: int, end: int) -> bool:
    """The finding lies on an employee id's cue ("mi número de empleado", "Su número" of "Su número de
    empleado", "Personalnummer"): each of its words is part of a cue in the text or a possessive or an article."""
    lo = max(0, start - 60)
    cues = [(lo + m.start(), lo + m.end()) for m in _ID_CUE.finditer(text, lo, min(len(text), end + 60))]
    words = [(m.start(), m.end()) for m in re.finditer(r"\w+", text[start:end])]
    on_cue = [any(a <= start + s and start + e <= b for a, b in cues) for s, e in words]
    return any(on_cue) and all(c or text[start + s : start + e].lower() in _CUE_COMPANIONS
                                for c, (s, e) in zip(on_cue, words, strict=True))


_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def is_code_identifier(text: str, start: int, end: int, is_name: Callable[[str], bool] = lambda _: False) -> bool:
    """The finding's words are a code identifier by their shape or place. An @handle is not code, nor is an
    identifier one of whose parts is a name (`is_name`): "offer_letter_Marta_Lopez", "jsmith.review" are people."""
    value = text[start:end]
    if text[max(0, start - 1) : start] == "@" or any(is_name(p.lower()) for p in _PARTS.findall(value)):
        return False
    if _IDENTIFIER_SHAPE.fullmatch(value):
        return True
    return bool(_CODE_AFTER.match(text[end : end + 4]) or _CODE_BEFORE.search(text[max(0, start - 3) : start]))


def is_vetoed(value: str) -> bool:
    """A ticket key ("PAY-743") or a workplace software name ("Grafana"), possibly possessive."""
    value = value.strip()
    if value.endswith(("'s", "’s")):
        value = value[:-2]
    return bool(TICKET_KEY.fullmatch(value)) or value.lower() in workplace_terms()


def drop_vetoed(
    text: str, findings: Sequence[Finding], is_name: Callable[[str], bool] = lambda _: False
) -> list[Finding]:
    """Findings less subject-less people and places that are ticket keys, workplace software, code, or words of
    the language the text is written in (pipeline.detect.other_language)."""
    return [
        f
        for f in findings
        if not (
            f.entity in VETOED_ENTITIES
            and f.subject is None
            and (
                is_vetoed(text[f.start : f.end])
                or is_code_identifier(text, f.start, f.end, is_name)
                or is_identifier_cue(text, f.start, f.end)
                or is_word_of_the_text(text, f.start, f.end)
            )
        )
    ]
