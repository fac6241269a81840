"""Spoken forms: the written shadow of a transcript (pipeline/detect/spoken.py), its map back onto the spoken words,
and the shape recognizers finding values read out as words through the real Detector."""

from __future__ import annotations

import pytest

from pipeline.detect.engine import Detector
from pipeline.detect.spoken import shadow
from pipeline.policy import load_policy
from pipeline.roster import Roster

# --- the shadow text and its offset map ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("six one two nine", "6129"),
        ("double seven three", "773"),
        ("triple nine", "999"),
        ("oh two oh", "020"),
        ("zero zero four four", "0044"),
        ("nineteen seventy two", "1972"),
        ("two thousand and nine", "2009"),
        ("two thousand nineteen", "2019"),
        ("nineteen hundred sixty", "1960"),
        ("eight hundred and fifty five", "855"),
        ("thirty-two sixty", "3260"),
        ("forty seven, uh, twelve", "4712"),
        ("ten dot one dot two dot three", "10.1.2.3"),
        ("oh four slash eleven slash ninety", "04/11/90"),
        ("five five five dash two two one nine", "555-2219"),
        ("vier sieben drei zwei", "4732"),
        ("quatre sept huit deux", "4782"),
        ("cinco tres ocho nueve", "5389"),
    ],
)
def test_spoken_numbers_are_written_as_digits(spoken: str, written: str) -> None:
    text = f"so it is {spoken} okay"
    result = shadow(text)
    assert result is not None
    assert result.text == f"so it is {written} okay"
    start = result.text.index(written)
    assert result.to_original(start, start + len(written)) == (9, 9 + len(spoken))


@pytest.mark.parametrize(
    "text",
    [
        "one of us should go",
        "oh well, that works",
        "we need two more chairs",
        "the first thing is the agenda",  # an ordinal with no month near it
        "six people joined",  # a foreign digit name alone is an English word
        "un deux",  # foreign digits in a short run
        "see you at the office",
        "meet me at the cafe dot",  # no top-level domain
        "nothing spoken here",
    ],
)
def test_ordinary_words_stay_as_they_are(text: str) -> None:
    assert shadow(text) is None


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("maria dot lopez at contoso dot com", "maria.lopez@contoso.com"),
        ("j underscore wong at mail dot example dot org", "j_wong@mail.example.org"),
        ("ops dash team at example dot co dot uk", "ops-team@example.co.uk"),
        ("kofi at acme dot io", "kofi@acme.io"),
    ],
)
def test_spoken_emails_are_written_out(spoken: str, written: str) -> None:
    result = shadow(f"write to {spoken} by friday")
    assert result is not None and written in result.text
    start = result.text.index(written)
    original = result.to_original(start, start + len(written))
    assert f"write to {spoken} by friday"[slice(*original)] == spoken


def test_ordinals_next_to_a_month_become_dates() -> None:
    result = shadow("on the twenty second of June nineteen ninety one")
    assert result is not None and result.text == "on the 22nd of June 1991"
    result = shadow("it's September eleventh")
    assert result is not None and result.text == "it's September 11th"


def test_a_capital_letter_before_spoken_digits_stays_with_them() -> None:
    result = shadow("ticket K seven seven one nine")
    assert result is not None and result.text == "ticket K7719"
    assert shadow("I two three") is None or "I23" not in shadow("I two three").text  # type: ignore[union-attr]


def test_changed_parts_are_known() -> None:
    result = shadow("call 555 0100 or six one two nine four four")
    assert result is not None
    start = result.text.index("612944")
    assert result.touches_change(start, start + 6)
    assert not result.touches_change(0, 13)


# --- values read out, found by the real recognizers ------------------------------------------------------------


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_policy(), Roster())


def found(detector: Detector, text: str, value: str) -> set[str]:
    """The entities whose findings cover the spoken value whole."""
    start = text.index(value)
    end = start + len(value)
    return {f.entity for f in detector.detect([text])[0] if f.start <= start and f.end >= end}


@pytest.mark.parametrize(
    ("text", "value", "entity"),
    [
        # cards (Luhn-valid test numbers), grouped, run together, with doubles and fillers
        ("charge it to four one one one, one one one one, one one one one, one one one one", "four one one one, one one one one, one one one one, one one one one", "CREDIT_CARD"),
        ("the visa is five five five five five five five five five five five five four four four four please", "five five five five five five five five five five five five four four four four", "CREDIT_CARD"),
        ("card number uh three seven eight two, eight two two four, six three one, double zero zero five", "three seven eight two, eight two two four, six three one, double zero zero five", "CREDIT_CARD"),
        # phones: NANP, UK, with "double"/"oh" and a country code
        ("you can ring me on two oh two, five five five, oh one four three", "two oh two, five five five, oh one four three", "PHONE_NUMBER"),
        ("my mobile is oh seven nine double one, one two three, four five six", "oh seven nine double one, one two three, four five six", "PHONE_NUMBER"),
        ("text me at plus four four seven nine one one one two three four five six", "four four seven nine one one one two three four five six", "PHONE_NUMBER"),
        # IPs
        ("the printer sits at one seven two dot sixteen dot four dot two hundred", "one seven two dot sixteen dot four dot two hundred", "IP_ADDRESS"),
        ("ssh into ten dot twenty dot thirty dot forty", "ten dot twenty dot thirty dot forty", "IP_ADDRESS"),
        # e-mails
        ("mail it to priya dot nair at globex dot com", "priya dot nair at globex dot com", "EMAIL_ADDRESS"),
        ("reach her on t underscore okafor at example dot org", "t underscore okafor at example dot org", "EMAIL_ADDRESS"),
        # dates of birth
        ("I was born on the fourteenth of February nineteen eighty eight", "fourteenth of February nineteen eighty eight", "DATE_OF_BIRTH"),
        ("date of birth is July second, two thousand and two", "July second, two thousand and two", "DATE_OF_BIRTH"),
        ("DOB oh three slash fifteen slash seventy nine", "oh three slash fifteen slash seventy nine", "DATE_OF_BIRTH"),
        # ... and month, day and year read as plain numbers, which the shadow writes without separators
        ("birthday is oh three fourteen eighty eight", "oh three fourteen eighty eight", "DATE_OF_BIRTH"),
        ("date of birth three fourteen nineteen eighty eight", "three fourteen nineteen eighty eight", "DATE_OF_BIRTH"),
        ("um her DOB is twelve oh five ninety one", "twelve oh five ninety one", "DATE_OF_BIRTH"),
        # ids and codes
        ("my employee id is E one two three four five", "E one two three four five", "EMPLOYEE_ID"),
        ("the door pin is seven three one nine", "seven three one nine", "CREDENTIAL"),
        ("social security number is five three six, two two, four eight one seven", "five three six, two two, four eight one seven", "US_SSN"),
    ],
)
def test_values_read_out_are_found_over_the_spoken_words(
    detector: Detector, text: str, value: str, entity: str
) -> None:
    assert entity in found(detector, text, value)


@pytest.mark.parametrize(
    "text",
    [
        "we had one or two issues, oh and three people left early",
        "let's meet at nine thirty in room four",
        "the first sprint of the year had twenty five tickets",
        "see you at the standup dot dot dot",
        "the birthday lunch order was six five four three two one",
    ],
)
def test_ordinary_speech_is_not_taken_for_values(detector: Detector, text: str) -> None:
    assert detector.detect([text])[0] == []


def test_pauses_between_groups_give_a_grouped_shadow_too() -> None:
    from pipeline.detect.spoken import shadows

    texts = [s.text for s in shadows("ring two oh two, five five five, oh one four three")]
    assert texts == ["ring 2025550143", "ring 202 555 0143"]
    assert [s.text for s in shadows("six one two nine")] == ["6129"]


def test_spoken_email_with_a_written_local_part_and_spoken_digits() -> None:
    result = shadow("mail lena.fox at contoso dot com or omar two seven at acme dot io")
    assert result is not None
    assert result.text == "mail lena.fox@contoso.com or omar27@acme.io"


def test_plus_before_a_spoken_number_and_other_ways_to_say_dot_and_at() -> None:
    result = shadow("ring plus three five three, eight seven, one two three four five")
    assert result is not None and result.text == "ring +3538712345"
    result = shadow("write to ines period costa at sign example dot org")
    assert result is not None and result.text == "write to ines.costa@example.org"
