"""The health rule (pipeline/detect/health.py, lexicons/health.yaml): a named condition, treatment or injury in a
clause that ties it to a person, in several registers and languages, and the look-alikes that must survive. All
phrasings here were written for these tests."""

from __future__ import annotations

import pytest

from pipeline.detect.health import health_recognizer


def found(text: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in health_recognizer().analyze(text, entities=[], nlp_artifacts=None))


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("I have a migraine again, logging off early", "migraine"),
        ("Sam's chemo starts monday so he'll be out", "chemo"),
        ("she asked for a standing desk because of her back surgery", "back surgery"),
        ("I'm on antidepressants and they make me drowsy", "antidepressants"),
        ("out tomorrow, dentist for a root canal", "root canal"),
        ("he's been diagnosed with type 2 diabetes", "type 2 diabetes"),
        ("uh my therapist said I should take a week", "therapist"),
        ("Lena is on sick leave with burnout until further notice", "burnout"),
        ("I tested positive for covid this morning", "covid"),
        ("my ADHD meds ran out so I'm all over the place", "ADHD meds"),
        ("she broke her wrist skiing, typing one-handed", "broke her wrist"),
        ("accommodation request: screen reader for his low vision", "low vision"),
        ("he had a panic attack in the standup", "panic attack"),
        ("SPEAKER_2: um yeah so my mom is in hospice now", "hospice"),
        ("she's out today, physio for her knee", "physio"),
        ("Krankmeldung wegen Bandscheibenvorfall bis Freitag", "Bandscheibenvorfall"),
        ("Ich bin krank, Migräne seit gestern", "Migräne"),
        ("je suis enceinte de trois mois", "enceinte"),
        ("estoy embarazada, no se lo digas a nadie", "embarazada"),
        ("Outlook - Re: my insulin injections during the offsite", "insulin injections"),
        ("leaving at 3 for a doctor's appointment", "doctor's appointment"),
        ("I'm on crutches till june", "crutches"),
        ("she has a sinus infection, out today", "sinus infection"),
        ("my dad had a stroke last night", "stroke"),
        ("taking a mental health day tomorrow", "mental health"),
        ("morgen Arzttermin, bin erst ab 11 da", "Arzttermin"),
        ("I have a nut allergy so no thai for me", "nut allergy"),
    ],
)
def test_a_condition_or_treatment_of_a_person(text: str, term: str) -> None:
    assert term in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "the health check on the api is failing",
        "flu season: vaccination drive next week",
        "the economic depression of the 1930s",
        "a study of migraine in developers",
        "the doctor in that show was hilarious",
        "our policy covers therapy sessions",
        "run the virus scanner on the build box",
        "the MRI scheduling service is down",
        "insulin pricing article in the wiki",
        "our cancer research charity run is on sunday",
        "the stomach bug in the test suite",
        "the keystroke logger counts keystrokes per minute",
        "this migration is a headache",
        "the wheelchair ramp at the office entrance is finished",
        "schedule the check-up job for the backup service",
    ],
)
def test_a_name_that_is_not_about_a_person_stays(text: str) -> None:
    assert found(text) == []
