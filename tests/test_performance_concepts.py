"""The performance concepts with a shape (pipeline/detect/performance.py and lexicons/performance.yaml): pay amounts
beside pay words in any currency and number format, ratings on any scale beside rating words, and job outcomes
tied to a person. Every concept has phrasings of its own here, written for these tests, and look-alikes that must
survive."""

from __future__ import annotations

import pytest
from presidio_analyzer import EntityRecognizer

from pipeline.detect import performance


def spans(recognizer: EntityRecognizer, text: str) -> list[str]:
    return sorted(text[r.start : r.end] for r in recognizer.analyze(text, entities=[], nlp_artifacts=None))


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("my bonus was $12,500 this year", "$12,500"),
        ("base salary 1.234,56 € per month", "1.234,56 €"),
        ("CTC is ₹12,34,567 after the hike", "₹12,34,567"),
        ("they offered 95k base", "95k"),
        ("equity grant of 1.2M over four years", "1.2M"),
        ("my hike is seventeen lakh", "seventeen lakh"),
        ("got a raise of three percent", "three percent"),
        ("salary: EUR 80.000", "EUR 80.000"),
        ("I make ninety five thousand dollars", "ninety five thousand dollars"),
        ("sign-on bonus ¥1,200,000", "¥1,200,000"),
        ("Gehalt: 72.000 EUR brutto", "72.000 EUR"),
        ("her comp is CHF 140'000", "CHF 140'000"),
        ("bonus target 15% of base", "15%"),
        ("refresher of 400 RSUs", "400 RSUs"),
        ("SPEAKER_1: so um the offer was like one twenty k", "one twenty k"),
        ("salário de R$ 9.500 por mês", "R$ 9.500"),
        ("offer_letter_95k_base.docx", "95k"),
        ("so um my base is going to one forty two next year", "one forty two"),
        ("the new package is 32 LPA", "32 LPA"),
        ("they bumped me to 165,000 USD", "165,000 USD"),
    ],
)
def test_pay_amounts_in_any_currency_and_format(text: str, amount: str) -> None:
    assert spans(performance.pay_amount_recognizer(), text) == [amount]


@pytest.mark.parametrize(
    "text",
    [
        "the bonus pool is $2M for the whole org",
        "our budget is 40k for the quarter",
        "paid $20 for lunch",
        "raise the limit to 5%",
        "the error rate is 5%",
        "we made $50k in sales",
        "version 1.2.3 of the pay service",
        "salary bands for L5 are 150k to 180k",
        "the subscription price went up to $12 a month",
        "a 10% increase in latency",
    ],
)
def test_company_level_and_other_figures_stay(text: str) -> None:
    assert spans(performance.pay_amount_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("I got a 4/5 on my review", "4/5"),
        ("rated 3 out of 5 this cycle", "3 out of 5"),
        ("calibration: Meets Most", "Meets Most"),
        ("she was rated Strong", "Strong"),
        ("Would you promote? Definitely Not", "Definitely Not"),
        ("Rating: 3", "3"),
        ("overall rating - Exceeds", "Exceeds"),
        ("they gave me a 2 out of 5 at mid-year", "2 out of 5"),
        ("my 7/10 rating from the manager", "7/10"),
        ("Final: 'Solid'", "Solid"),
        ("he landed at Partially Meets in calibration", "Partially Meets"),
        ("Bewertung: übertrifft die Erwartungen", "übertrifft die Erwartungen"),
        ("she got three out of five on her review", "three out of five"),
        ("I'm a 4 on a 5-point scale in the review", "4 on a 5-point scale"),
        ("Perf_Review_2025_Rating_Exceeds.pdf - Adobe", "Exceeds"),
        ("she got a 4 in the mid year review", "4"),
        # spoken: a number in words after "a", and a result word before the rating
        ("um so his rating came out as a three which is fine", "three"),
        ("his rating was a two, so we talk next week", "two"),
        ("her score came out at 4.2 after calibration", "4.2"),
    ],
)
def test_ratings_on_any_scale(text: str, rating: str) -> None:
    assert spans(performance.rating_scale_recognizer(), text) == [rating]


@pytest.mark.parametrize(
    "text",
    [
        "ratings of the new café are 4/5",
        "the app is rated 4.5 stars",
        "the movie was 7/10 for me",
        "strong coffee at the offsite",
        "a solid plan for the migration",
        "the build was successful",
        "the PR review got 3 out of 5 comments addressed",
        "we scored 3 out of 5 tickets",
        "step 2 of 5 in the wizard",
        "review at 3 with the team",
        "I'm at a 4 hour review meeting",
        "Good review of the design doc",
        "rating scale: Exceeds, Meets, Below",
        "Calibration guidelines: no more than 10% Exceeds per org",
        "he scored two goals on Saturday",
        "the score was two nil at half time",
    ],
)
def test_rating_look_alikes_stay(text: str) -> None:
    assert spans(performance.rating_scale_recognizer(), text) == []


def test_a_move_between_labels_is_two_ratings() -> None:
    assert spans(performance.rating_scale_recognizer(), "calibration moved her from Strong to Solid") == ["Solid", "Strong"]


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("her role was eliminated", "role was eliminated"),
        ("he got RIFed on friday", "RIFed"),
        ("Kai is on the cut list", "on the cut list"),
        ("they put me on a performance plan", "performance plan"),
        ("my promo was approved!", "promo was approved"),
        ("she failed her probation", "failed her probation"),
        ("he got a retention offer", "retention offer"),
        ("Tom wurde gekündigt", "gekündigt"),
        ("i got managed out", "got managed out"),
        ("she was bumped to L6", "bumped to L6"),
        ("she was moved from IC4 to IC5", "from IC4 to IC5"),
        ("they fired Marco yesterday", "fired Marco"),
        ("he's on the list for the next layoff", "list for the next layoff"),
        ("She received a documented warning", "documented warning"),
    ],
)
def test_outcomes_tied_to_a_person(text: str, outcome: str) -> None:
    assert outcome in spans(performance.outcome_recognizer(), text)


@pytest.mark.parametrize(
    "text",
    [
        "the process was terminated",
        "promote to production",
        "grace period",
        "the cron job was cut from the release",
        "the feature flag was eliminated",
        "the contract for the servers was not renewed",
    ],
)
def test_outcome_look_alikes_stay(text: str) -> None:
    recognizers = [performance.outcome_recognizer(), performance.termination_recognizer(),
                   performance.promotion_recognizer()]
    assert [s for r in recognizers for s in spans(r, text)] == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Jo is ranked in the bottom 10% of the org", "ranked in the bottom 10%"),
        ("Ben is underperforming and needs to improve on communication", "underperforming"),
        ("she's been flagged as high potential", "high potential"),
        ("Kim is not ready for promotion this cycle", "not ready for promotion"),
        ("Ana is on track for promo next half", "on track for promo"),
        ("promotion to L5 approved for Mia", "promotion to L5 approved"),
        ("Eva is at top of band already", "top of band"),
        ("his comp ratio is 0.92", "comp ratio is 0.92"),
        ("Eva is at pay grade 7", "pay grade 7"),
        ("put Omar on garden leave until June", "garden leave"),
        ("he's serving his notice until the 30th", "serving his notice"),
    ],
)
def test_standing_readiness_pay_position_and_exits(text: str, phrase: str) -> None:
    assert phrase in spans(performance.outcome_recognizer(), text)


@pytest.mark.parametrize(
    "text",
    [
        "the service is underperforming since the deploy",
        "the query underperformed the baseline by 20%",
        "the model is not ready for production",
        "the build is on track for the release",
        "pay grade definitions are on the HR wiki",
        "the garden leave policy is in the handbook",
        "ranked in the top 10% of search results",
    ],
)
def test_standing_look_alikes_stay(text: str) -> None:
    assert spans(performance.outcome_recognizer(), text) == []



@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("Comp update: base going from 82,000 to 90,500 EUR", "82,000"),
        ("salary 120 000 → 131 000 USD from april", "120 000"),
        ("her pay went from 4.2 to 4.8 lakh", "4.2"),
        ("bonus 3,000-4,500 € depending on calibration", "3,000"),
        ("his offer moved from 140,000 to 152,000 dollars", "140,000"),
        ("Gehalt von 61.000 auf 66.500 EUR erhöht", None),  # "auf" is not a range word: the second figure only
    ],
)
def test_the_first_figure_of_a_pay_range_takes_the_currency_of_the_second(text: str, first: str | None) -> None:
    found = spans(performance.pay_amount_recognizer(), text)
    assert len(found) == (2 if first else 1)
    if first:
        assert first in found


def test_a_range_that_is_not_pay_stays() -> None:
    assert spans(performance.pay_amount_recognizer(), "the server costs went from 3,000 to 4,500 USD a month") == []


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Ines won't be promoted this cycle", "won't be promoted"),
        ("he will not be promoted until the project ships", "will not be promoted"),
        ("she wasn't promoted again", "wasn't promoted"),
        ("Raj might be let go in the spring", "might be let go"),
        ("I could be demoted for this", "could be demoted"),
        ("they shouldn't be fired over one mistake", "shouldn't be fired"),
    ],
)
def test_promotion_and_dismissal_in_any_tense_or_mood(text: str, phrase: str) -> None:
    recognizers = [performance.promotion_recognizer(), performance.termination_recognizer()]
    assert any(phrase in s for r in recognizers for s in spans(r, text))


@pytest.mark.parametrize(
    "text",
    [
        "the build won't be promoted to production today",
        "this pod might be terminated by the autoscaler",
        "the release could be promoted to stable",
    ],
)
def test_tense_does_not_make_a_process_a_person(text: str) -> None:
    recognizers = [performance.promotion_recognizer(), performance.termination_recognizer()]
    assert [s for r in recognizers for s in spans(r, text)] == []


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("terminated for cause effective friday, that's Ben", "terminated for cause"),
        ("she was let go for poor performance", "let go for poor performance"),
        ("he got fired for attendance", "fired for attendance"),
        ("dismissed for gross misconduct last year", "dismissed for gross misconduct"),
        ("talent review: Jon is a flight risk", "flight risk"),
        ("losing her would be regretted attrition", "regretted attrition"),
        ("il a reçu un avertissement la semaine dernière", "reçu un avertissement"),
        ("recibió una advertencia por escrito", "recibió una advertencia"),
        ("hij kreeg een schriftelijke waarschuwing", "schriftelijke waarschuwing"),
        ("ela foi demitida ontem", "demitida"),
    ],
)
def test_dismissal_reasons_retention_calls_and_warnings_in_other_languages(text: str, outcome: str) -> None:
    assert any(outcome in s for s in spans(performance.outcome_recognizer(), text))


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("Beurteilung: Leistung unter den Erwartungen", "unter den Erwartungen"),
        ("évaluation annuelle : en dessous des attentes", "en dessous des attentes"),
        ("evaluación: por debajo de las expectativas", "por debajo de las expectativas"),
        ("avaliação de desempenho: abaixo das expectativas", "abaixo das expectativas"),
        ("beoordeling: onder verwachting", "onder verwachting"),
    ],
)
def test_rating_labels_in_other_languages(text: str, rating: str) -> None:
    assert rating in spans(performance.rating_scale_recognizer(), text)


@pytest.mark.parametrize(
    "text",
    [
        "the job was terminated for timeout",
        "sales came in below expectations, see the board deck",
        "the flight was delayed, risk of missing the connection",
    ],
)
def test_new_outcome_and_rating_look_alikes_stay(text: str) -> None:
    found = spans(performance.outcome_recognizer(), text) + spans(performance.rating_scale_recognizer(), text)
    assert found == []
