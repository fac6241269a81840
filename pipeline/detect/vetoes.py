"""Model findings that are never a person or a place in workplace text: ticket keys and workplace software.

spaCy's small model calls "PAY-743" and "Jira" people or places ("blocked on PAY-774", "Jira is slow today").
Workplace chat is full of both, so redacting them costs the ML teams real signal and protects nobody. Only
findings without a subject are vetoed: a roster match is never overruled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.detect.names import workplace_terms

if TYPE_CHECKING:
    from pipeline.detect.engine import Finding

VETOED_ENTITIES = frozenset({"PERSON", "LOCATION"})
TICKET_KEY = re.compile(r"[A-Z][A-Z0-9]{1,9}-\d{1,6}")


def is_vetoed(value: str) -> bool:
    """A ticket key ("PAY-743") or a workplace software name ("Grafana"), possibly possessive."""
    value = value.strip()
    if value.endswith(("'s", "’s")):
        value = value[:-2]
    return bool(TICKET_KEY.fullmatch(value)) or value.lower() in workplace_terms()


def drop_vetoed(text: str, findings: Sequence[Finding]) -> list[Finding]:
    return [
        f
        for f in findings
        if not (f.entity in VETOED_ENTITIES and f.subject is None and is_vetoed(text[f.start : f.end]))
    ]
