"""Private life: the disclosing phrase of a relationship, family, religion, union, job-search, immigration or
debt disclosure in a clause about a person.

These are phrases with a recognisable core ("going through a divorce", "fasting for Ramadan", "union meeting",
"an interview at", "my visa expires", "behind on rent"); the disclosure model (pipeline/detect/disclosures.py)
finds the phrasings no list holds. Each phrase counts only in a clause about a person (pipeline/detect/
person_clause.py) and not about a thing ("the union of two sets", "the process split up", "interviews we run").
The phrases are data (lexicons/private_life.yaml), grouped by concept for a reviewer.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer

from pipeline.detect.person_clause import about_a_person
from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import SpanPattern, SpanRecognizer
from pipeline.detect.vocabulary import load_lexicon

ENTITY = "PRIVATE"


def private_life_recognizer(language: str = "en") -> SpanRecognizer:
    """One pattern per concept of lexicons/private_life.yaml, each its phrases' alternation."""
    words = load_lexicon("private_life.yaml")
    check = about_a_person(about_a_thing=words["not_about_a_person"])
    patterns = [
        SpanPattern.of(concept, r"(?<![\w'-])(?P<value>" + "|".join(f"(?:{p})" for p in phrases) + r")(?![\w-])",
                       0.75, check, flags=re.IGNORECASE)
        for concept, phrases in words["phrases"].items()
    ]
    return SpanRecognizer(ENTITY, patterns, name="PrivateLifeRecognizer", supported_language=language)


@register("private_life")
def private_life_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    return [private_life_recognizer(context.policy.language)]
