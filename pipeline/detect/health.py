"""Health: a named condition, treatment or injury in a clause that ties it to a person.

Conditions and treatments have names ("type 2 diabetes", "chemo", "a root canal", "a broken wrist"), so unlike
most disclosures they have a shape a rule can hold; the disclosure model (pipeline/detect/disclosures.py) finds the
phrasings around them. A name alone is not a disclosure ("the health check failed", "flu season", "a study of
migraine"): the clause must be about a person (pipeline/detect/person_clause.py) or someone's absence ("off sick",
"appointment"). The vocabularies are data (lexicons/health.yaml).
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer

from pipeline.detect.person_clause import about_a_person
from pipeline.detect.registry import DetectContext, register
from pipeline.detect.spans import SpanPattern, SpanRecognizer
from pipeline.detect.vocabulary import alternation, load_lexicon

ENTITY = "HEALTH"
_QUALIFIER = r"(?:(?:severe|mild|chronic|acute|bad|terrible|awful|early|late|stage\s+\w+|clinical|major)\s+)?"
_CONDITION_TAIL = r"(?:\s+(?:meds|medication|treatment|injections?|shots?|flare-?ups?|attacks?|episodes?))?"


def health_recognizer(language: str = "en") -> SpanRecognizer:
    """Conditions, treatments and injuries of a person: "my ADHD meds", "Sam's chemo", "her back surgery",
    "tested positive for covid", "a root canal". The span is the condition with its modifiers."""
    words = load_lexicon("health.yaml")
    body = alternation(words["body_parts"])
    injury = (
        r"(?:" + body + r"\s+" + alternation(words["injuries"], plural=True) + r"|" + alternation(words["injury_leads"])
        + r"\s+(?:(?:my|his|her|their|your|a|an|the)\s+)?" + body + r")"
    )
    value = (
        r"(?P<value>" + _QUALIFIER + r"(?:" + injury + r"|" + alternation(words["conditions"], plural=True)
        + _CONDITION_TAIL + r"|" + alternation(words["treatments"], plural=True) + r"))"
    )
    check = about_a_person(words["absence_words"], words["not_about_a_person"])
    return SpanRecognizer(
        ENTITY,
        [SpanPattern.of("health_term", r"(?<![\w'-])" + value + r"(?![\w-])", 0.75, check, flags=re.IGNORECASE)],
        name="HealthTermRecognizer",
        supported_language=language,
    )


@register("health")
def health_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    return [health_recognizer(context.policy.language)]
