"""The private-life rule (pipeline/detect/private_life.py, lexicons/private_life.yaml): the disclosing phrase of each
concept in phrasings of its own, and look-alikes about things. All phrasings were written for these tests."""

from __future__ import annotations

import pytest

from pipeline.detect.private_life import private_life_recognizer


def found(text: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in private_life_recognizer().analyze(text, entities=[], nlp_artifacts=None))


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        # relationships and family
        ("my wife and I are separating, so I might be distracted", "are separating"),
        ("he's going through a divorce", "going through a divorce"),
        ("my boyfriend moved out last night", "moved out"),
        ("we're trying for a baby", "trying for a baby"),
        ("I'm gay and not out at work", "I'm gay"),
        ("she broke up with him, again", "broke up with him"),
        # religion
        ("I'm fasting for Ramadan so skipping lunch meetings", "fasting for Ramadan"),
        ("I go to church every sunday", "go to church"),
        ("he's Jewish and keeps kosher", "he's Jewish"),
        # union
        ("our union meeting is tonight in the parking lot", "union meeting"),
        ("Ana is organizing a union at the warehouse", "organizing a union"),
        ("I signed a union card yesterday", "signed a union card"),
        # job search
        ("I have an interview at Stripe on thursday", "an interview at Stripe"),
        ("I'm in the final round at Acme", "final round at"),
        ("got an offer from another company", "an offer from another"),
        ("SPEAKER_1: uh yeah I'm um updating my resume", "updating my resume"),
        ("I'm handing in my notice friday", "handing in my notice"),
        # immigration
        ("my visa expires in june", "my visa expires"),
        ("my green card interview is next week", "my green card interview"),
        # debt
        ("she's drowning in credit card debt", "drowning in credit card debt"),
        ("um so I'm uh behind on rent again", "behind on rent"),
        # other languages
        ("je cherche un autre poste en ce moment", "je cherche un autre poste"),
        ("wir haben uns getrennt, ich brauche ein paar Tage", "wir haben uns getrennt"),
        ("mañana tengo una entrevista con Globant", "entrevista con Globant"),
        # coming out
        ("I came out to my parents last year", "came out"),
        ("he came out as trans at work", "came out"),
        ("she came out at work in March", "came out"),
    ],
)
def test_a_disclosing_phrase_about_a_person(text: str, phrase: str) -> None:
    assert phrase in found(text)


@pytest.mark.parametrize(
    "text",
    [
        "the union of the two sets is empty",
        "SELECT a UNION ALL SELECT b",
        "the process split up the work",
        "we split up the work into three tickets",
        "we interview candidates for the SRE role on tuesdays",
        "the movie is about a couple going through a divorce",
        "the offer letter template is in the wiki",
        "the branch moved out of main last week",
        "git merge broke up the history",
        "the visa application portal is down",
        "Debt collectors API integration",
        "Our Christian Bale fan club",
        "his rating came out as a three which is meets",
        "the numbers came out to 42k for the quarter",
        "it came out to be fine in the end",
        "her score came out at 4.2 after calibration",
    ],
)
def test_a_look_alike_about_a_thing_stays(text: str) -> None:
    assert found(text) == []
