"""The leak-counting rule of pipeline.evaluate on hand-made cases, and the nightly text path measured on small
slices of the labelled sets, with floors that fail when detection regresses.

The workforce set ships in bench/data. The shared sets live in ../shared/data beside the repository; where that
folder is missing their tests fail in CI (CI always has it: env CI set) and skip only outside it (a plain clone).

The floors on the shared sets are issue 11's targets, not the last measurement. A label still short of its target is
marked xfail(strict=True) with its measured figure: it fails the day it regresses below nothing, and fails again (as
an unexpected pass) the day it reaches the target, so the mark is then removed. workforce_dev and gitleaks_rules are
measure-only: these tests read their per-label scores and nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pipeline import scrub_texts
from pipeline.evaluate import EvalResult, evaluate, format_table, load_records, score

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BENCH = Path(__file__).resolve().parents[1] / "bench" / "data"
SLICE = 300


def record(text: str, *spans: tuple[str, str]) -> dict[str, Any]:
    """A record whose spans are given as (substring, label); each substring's first occurrence is the span."""
    found = []
    for phrase, label in spans:
        start = text.index(phrase)
        found.append({"start": start, "end": start + len(phrase), "label": label})
    return {"id": "t", "source": "test", "text": text, "spans": found}


# --- the counting rule -----------------------------------------------------------------------------------------


def test_an_untouched_span_leaks() -> None:
    result = score([record("call Ann Leeson now", ("Ann Leeson", "PERSON"))], ["call Ann Leeson now"])
    assert (result.labels["PERSON"].spans, result.labels["PERSON"].leaked) == (1, 1)
    assert result.over_redaction == 0.0


def test_a_replaced_span_does_not_leak_and_costs_nothing() -> None:
    result = score([record("call Ann Leeson now", ("Ann Leeson", "PERSON"))], ["call <PERSON> now"])
    assert result.labels["PERSON"].leaked == 0
    assert result.labels["PERSON"].recall == 1.0
    assert result.over_redaction == 0.0


def test_one_surviving_identifying_token_leaks_the_whole_span() -> None:
    result = score([record("call Ann Leeson now", ("Ann Leeson", "PERSON"))], ["call Ann <PERSON> now"])
    assert result.labels["PERSON"].leaked == 1


def test_short_letter_tokens_do_not_identify_but_any_digit_does() -> None:
    text = "ask Al B or dial x 42"
    result = score([record(text, ("Al B", "PERSON"), ("42", "PHONE"))], [text])
    assert result.labels["PERSON"].leaked == 0  # "Al" and "B" are under three letters
    assert result.labels["PHONE"].leaked == 1  # a run holding a digit always identifies


def test_a_token_changed_in_part_does_not_survive() -> None:
    result = score([record("hi Annabel", ("Annabel", "PERSON"))], ["hi Anna"])
    assert result.labels["PERSON"].leaked == 0


def test_over_redaction_is_the_share_of_unlabelled_tokens_removed() -> None:
    text = "hello Ann there friend"
    result = score([record(text, ("Ann", "PERSON"))], ["<X> <PERSON> there friend"])
    assert (result.outside_tokens, result.outside_removed) == (3, 1)
    assert result.over_redaction == pytest.approx(1 / 3)


def test_a_score_does_not_depend_on_the_letters_of_a_pseudonym() -> None:
    """Pseudonyms come from a throwaway key per call; difflib must not align their letters with the text's (here the
    "m" of "i'm", inside the region one pseudonym replaced), or the same output would score differently."""
    text = 'kim:"i\'m tom\'s son"'
    rec = {"text": text, "spans": [{"start": 0, "end": 3, "label": "PERSON"}, {"start": 10, "end": 13, "label": "PERSON"}]}
    outs = [f'<PERSON_p_{letters * 16}>\'s son"' for letters in "bmt"]
    assert len({score([rec], [out]).outside_removed for out in outs}) == 1


def test_ignore_spans_are_neither_scored_nor_over_redaction() -> None:
    text = "ordered a Pixel today"
    result = score([record(text, ("Pixel", "IGNORE"))], ["ordered a <X> today"])
    assert "IGNORE" not in result.labels
    assert result.outside_removed == 0


def test_a_span_with_no_identifying_token_cannot_leak() -> None:
    result = score([record("yo Al", ("Al", "PERSON"))], ["yo Al"])
    assert result.labels["PERSON"].leaked == 0


def test_results_add_up_over_records_and_print() -> None:
    records = [record("call Ann Leeson", ("Ann Leeson", "PERSON")), record("mail bob@xy.io", ("bob@xy.io", "EMAIL"))]
    result = score(records, ["call <PERSON>", "mail bob@xy.io"])
    assert result.records == 2
    assert result.to_dict()["labels"] == {
        "EMAIL": {"spans": 1, "leaked": 1, "leak_recall": 0.0},
        "PERSON": {"spans": 1, "leaked": 0, "leak_recall": 1.0},
    }
    table = format_table("set", result)
    assert "EMAIL" in table and "over-redaction" in table


def test_score_refuses_mismatched_outputs() -> None:
    with pytest.raises(ValueError):
        score([record("a")], [])


# --- the text path on the labelled sets ------------------------------------------------------------------------


def run(records: list[dict[str, Any]], roster: Path | None = None) -> EvalResult:
    return evaluate(records, lambda texts: scrub_texts(texts, roster=roster))


def recall(result: EvalResult, label: str) -> float:
    assert result.labels[label].spans, f"no {label} spans in the slice"
    return result.labels[label].recall


@pytest.fixture(scope="module")
def workforce() -> EvalResult:
    return run(load_records(BENCH / "workforce_eval.jsonl"), BENCH / "workforce_roster.jsonl")


def shared_slice(name: str, limit: int | None = SLICE) -> list[dict[str, Any]]:
    path = SHARED / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared/data beside the repository")
        pytest.skip(f"{path} is not beside the repository")
    return load_records(path)[:limit]


@pytest.fixture(scope="module")
def presidio() -> EvalResult:
    return run(shared_slice("presidio_v2.jsonl"))


@pytest.fixture(scope="module")
def wnut() -> EvalResult:
    """The whole of wnut17_dev: it takes seconds, and its target is the one closest to the line."""
    return run(shared_slice("wnut17_dev.jsonl", limit=None))


@pytest.mark.parametrize(
    ("label", "floor"),
    [
        ("ROSTER_NAME", 0.99),
        ("CREDENTIAL", 0.99),
        ("API_KEY", 0.99),
        ("EMAIL", 1.0),
        ("PHONE", 0.99),
        ("CARD", 0.99),
        ("SSN", 0.99),
        ("PERSON", 0.97),
        ("PERFORMANCE", 0.95),
        ("ADDRESS", 0.99),
    ],
)
def test_workforce_leak_recall(workforce: EvalResult, label: str, floor: float) -> None:
    assert recall(workforce, label) >= floor


def test_workforce_over_redaction(workforce: EvalResult) -> None:
    assert workforce.over_redaction <= 0.04


@pytest.mark.parametrize(
    ("label", "floor"),
    [
        ("EMAIL", 1.0),
        ("SSN", 1.0),
        ("CREDIT_CARD", 1.0),
        ("IBAN", 1.0),
        ("IP", 1.0),
        ("PHONE", 0.99),
        ("PERSON", 0.97),  # 0.988 on this slice, 0.972 on the whole set (target 0.97)
        ("ADDRESS", 0.93),  # 0.949 on this slice, 0.958 on the whole set (target 0.95)
    ],
)
def test_presidio_slice_leak_recall(presidio: EvalResult, label: str, floor: float) -> None:
    assert recall(presidio, label) >= floor


def test_presidio_slice_over_redaction(presidio: EvalResult) -> None:
    assert presidio.over_redaction <= 0.04


def test_wnut_dev(wnut: EvalResult) -> None:
    assert recall(wnut, "PERSON") >= 0.85  # issue 11's target
    assert wnut.over_redaction <= 0.05


# --- issues 11 and 12's acceptance sets, written elsewhere (measure only) ---------------------------------------------------

# Leak recall targets on workforce_dev (roster given), and the figures measured at the last commit that changed
# detection (docs/detection.md): a label below its target is an expected, strict failure.
WORKFORCE_TARGETS = {
    **dict.fromkeys(
        ["EMAIL", "PHONE", "ADDRESS", "GOV_ID", "CREDIT_CARD", "BANK", "IP", "DOB", "EMPLOYEE_ID", "PERSON"], 0.97
    ),
    "SECRET": 0.99,
    "ROSTER_PERSON": 0.99,
    # issue 12: performance data, health and private-life disclosures
    "PERF": 0.95,
    "HEALTH": 0.90,
    "PRIVATE": 0.85,
}
WORKFORCE_MEASURED = {  # with issues 11 and 12's work together (docs/detection.md)
    "EMAIL": 0.935, "PHONE": 0.944, "ADDRESS": 0.537, "GOV_ID": 0.747, "CREDIT_CARD": 1.0, "BANK": 0.904,
    "IP": 1.0, "DOB": 0.797, "EMPLOYEE_ID": 0.740, "PERSON": 0.932, "SECRET": 0.740, "ROSTER_PERSON": 0.934,
    "PERF": 0.495, "HEALTH": 0.611, "PRIVATE": 0.391,
}
WORKFORCE_OVER_REDACTION = (0.03, 0.0657)  # (target, measured; pseudonyms scored as placeholders)
GITLEAKS_SECRET = (0.97, 0.937)
GITLEAKS_OVER_REDACTION = (0.08, 0.157)


def _against(target: float, measured: float, at_most: bool = False) -> list[pytest.MarkDecorator]:
    short = measured > target if at_most else measured < target
    return [pytest.mark.xfail(strict=True, reason=f"measured {measured}, target {target}")] if short else []


@pytest.fixture(scope="module")
def workforce_dev() -> EvalResult:
    records = shared_slice("workforce_dev.jsonl", limit=None)
    return run(records, SHARED / "workforce_dev_roster.jsonl")


@pytest.fixture(scope="module")
def gitleaks() -> EvalResult:
    return run(shared_slice("gitleaks_rules.jsonl", limit=None))


@pytest.mark.parametrize(
    ("label", "target"),
    [
        pytest.param(label, target, marks=_against(target, WORKFORCE_MEASURED[label]))
        for label, target in WORKFORCE_TARGETS.items()
    ],
)
def test_workforce_dev_leak_recall(workforce_dev: EvalResult, label: str, target: float) -> None:
    assert recall(workforce_dev, label) >= target


@pytest.mark.parametrize("target", [pytest.param(0.03, marks=_against(*WORKFORCE_OVER_REDACTION, at_most=True))])
def test_workforce_dev_over_redaction(workforce_dev: EvalResult, target: float) -> None:
    assert workforce_dev.over_redaction <= target


@pytest.mark.parametrize("target", [pytest.param(0.97, marks=_against(*GITLEAKS_SECRET))])
def test_gitleaks_secret_recall(gitleaks: EvalResult, target: float) -> None:
    assert recall(gitleaks, "SECRET") >= target


@pytest.mark.parametrize("target", [pytest.param(0.08, marks=_against(*GITLEAKS_OVER_REDACTION, at_most=True))])
def test_gitleaks_over_redaction(gitleaks: EvalResult, target: float) -> None:
    assert gitleaks.over_redaction <= target


def test_unlabelled_handles_and_urls_are_counted_apart() -> None:
    text = "@jen_k saw Ann Leeson http://t.co/x1Yz"
    rec = record(text, ("Ann Leeson", "PERSON"))
    out = "@jen_k saw <PERSON> <URL>"
    plain = score([rec], [out])
    assert plain.outside_removed == 4  # "http", "t", "co", "x1Yz": by the plain rule, over-redaction
    separate = score([rec], [out], unlabelled=True)
    assert separate.labels["@HANDLE (unlabelled)"].leaked == 1
    assert separate.labels["URL (unlabelled)"].leaked == 0
    assert separate.outside_removed == 0


# Over-redaction no higher than before issue 12 (main at 0799940), on the whole sets, scored with pseudonyms
# read as placeholders (so the same outputs always score the same): presidio_v2 270 of 16,077 tokens, wnut17_dev
# 309 of 11,771.


def test_presidio_over_redaction_is_no_higher_than_before_issue_12() -> None:
    assert run(shared_slice("presidio_v2.jsonl", limit=None)).over_redaction <= 270 / 16_077


@pytest.mark.xfail(strict=True, reason="measured 325 of 11,771 (the disclosure model and the health rule on tweets that do mention health), target 309")
def test_wnut_over_redaction_is_no_higher_than_before_issue_12(wnut: EvalResult) -> None:
    assert wnut.over_redaction <= 309 / 11_771
