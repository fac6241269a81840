"""The publishing gate: the `text` suite passes clean output, catches leaks, and never echoes them."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pipeline import validate
from pipeline.contracts import PUBLISHED_SCHEMAS

TEXT_SCHEMA = PUBLISHED_SCHEMAS["text"]  # what the suite checks: the published columns, `ds` included
from pipeline.pseudonym import PID_HEX_CHARS, PID_PATTERN, PREFIXES, Pseudonymizer
from pipeline.validate import RESULT_FORMAT, load_suite, validate_table

PSEUDO = Pseudonymizer(b"test-key-for-validation-tests-only!!")
PLACEHOLDERS = (
    "<EMAIL_ADDRESS>",
    "<PHONE_NUMBER>",
    "<CREDENTIAL>",
    "<CREDIT_CARD>",
    "<US_SSN>",
    "<PERSON_p_0123456789abcdef>",
    "<PERSON_p_1234567890123456>",  # an all-digit pseudonym must not look like a card number
)
HARMLESS = (
    "meeting at 10:30, v3.8.0 released",
    "ping <PERSON_p_0123456789abcdef> and send it to <EMAIL_ADDRESS>",
    "call <PHONE_NUMBER> after 09:45 on 2024-01-15",
    "password: <CREDENTIAL>",
    'config has password="<CREDENTIAL>" and pwd: <CREDENTIAL>',
    "my password was <PERSON_p_1234567890123456> lol",
    "forgot my password again, passwords rotate monthly",
    "ticket 12345, PR #6789, 1,234,567 rows, +10% on host 192.168.1.10",
    "xoxo-Anna, C++ 17, python 3.11.9",
)
# Planted values differ from the examples quoted in the suite's "why" texts, so finding one in
# the output can only mean it was copied from the data.
# (Addresses at example.com/.net/.org and 555-0100..0199 numbers are nobody's and pass: surrogates live there.)
LEAKS = [
    pytest.param("email", "jane.doe@globex.com", id="email"),
    pytest.param("phone", "(415) 555-1172", id="phone-us-parens"),
    pytest.param("phone", "415.555.1172", id="phone-us-dots"),
    pytest.param("phone", "+49 30 901820 77", id="phone-intl"),
    pytest.param("credit_card", "5500 0000 0000 0004", id="card-spaced"),
    pytest.param("credit_card", "4012888888881881", id="card-bare"),
    pytest.param("us_ssn", "078-05-1120", id="ssn"),
    pytest.param("credential", "AKIAZ7EXAMPLEKEY1234", id="aws-key"),
    pytest.param("credential", "ghp_" + "Xy9" * 12, id="github-token"),
    pytest.param("credential", "xoxb-20240115-SlackBotToken", id="slack-token"),
    pytest.param("credential", "sk_live_51HxQzLiveKey", id="stripe-key"),
    pytest.param("credential", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE", id="private-key"),
    pytest.param("credential", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln", id="jwt"),
    pytest.param("credential", "Password = Tr0ub4dor&3", id="password-prose"),
    pytest.param("credential", '"passwd": "hunter2!"', id="password-json"),
]
VALUE_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_rows",
)
ROWS = 12


def _rows(n: int = ROWS) -> list[dict[str, Any]]:
    start = dt.datetime(2024, 1, 15, 9, 0, tzinfo=dt.timezone.utc)
    return [
        {
            "record_pid": PSEUDO.pid("record", f"m{i}"),
            "source": ("chat", "transcripts", "keystrokes")[i % 3],
            "user_pid": PSEUDO.pid("user", f"e{i % 4}"),
            "conversation_pid": PSEUDO.pid("conversation", f"t{i % 3}"),
            "context": "dm",
            "ts": start + dt.timedelta(minutes=i),
            "turn": i // 3 + 1,  # conversations t0, t1, t2 in turn
            "text": HARMLESS[i % len(HARMLESS)],
            "redactions": [{"entity": "PERSON", "count": 1}],
            "redacted_count": 1,
            "split": "validation" if i % 5 == 0 else "train",
            "ds": "2026-11-26",
        }
        for i in range(n)
    ]


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TEXT_SCHEMA)


def _with(column: str, value: object, row: int = 3) -> pa.Table:
    rows = _rows()
    rows[row][column] = value
    return _table(rows)


def _failed(outcome: validate.ValidationOutcome) -> set[tuple[str, str | None]]:
    return {(r.expectation, r.column) for r in outcome.results if not r.success}


def _leak_specs() -> list[dict[str, Any]]:
    return [e for e in load_suite("text")["expectations"] if "leak" in e["meta"]]


def test_clean_table_passes_every_expectation() -> None:
    outcome = validate_table(_table(_rows()), "text", {"expected_rows": ROWS})
    assert outcome.success and outcome.failed == 0
    # Every entry of the file is evaluated: none was merged away while building the GE suite.
    assert outcome.evaluated == len(load_suite("text")["expectations"])
    assert outcome.suite == "text"


def test_pandas_frame_is_accepted() -> None:
    frame = _table(_rows()).to_pandas()
    assert validate_table(frame, "text", {"expected_rows": ROWS}).success


def test_empty_night_passes() -> None:
    assert validate_table(TEXT_SCHEMA.empty_table(), "text", {"expected_rows": 0}).success


@pytest.mark.parametrize("text", PLACEHOLDERS + HARMLESS)
def test_placeholders_and_harmless_text_pass(text: str) -> None:
    assert validate_table(_with("text", text), "text", {"expected_rows": ROWS}).success


@pytest.mark.parametrize(("family", "planted"), LEAKS)
def test_leak_fails_and_is_never_copied(family: str, planted: str) -> None:
    # One run inspected twice: GE's raw result, and the outcome validate_table builds from it.
    raw = validate._raw_result(_with("text", f"fyi {planted} thanks"), "text", {"expected_rows": ROWS})
    outcome = validate._outcome(raw)

    assert not outcome.success
    assert _failed(outcome) == {("expect_column_values_to_not_match_regex", "text")}
    assert all(r.unexpected_count == 1 for r in outcome.results if not r.success)
    failed_families = {
        r["expectation_config"]["meta"]["leak"] for r in raw["results"] if not r["success"]
    }
    assert family in failed_families

    assert planted not in json.dumps(outcome.to_dict())
    assert planted not in json.dumps(raw)
    for result in raw["results"]:
        assert not any(result["result"].get(key) for key in VALUE_KEYS)


def test_result_format_is_summary_without_samples() -> None:
    assert RESULT_FORMAT == {"result_format": "SUMMARY", "partial_unexpected_count": 0}
    validate_table(_with("text", "mail jane.doe@globex.com"), "text", {"expected_rows": ROWS})
    assert RESULT_FORMAT == {"result_format": "SUMMARY", "partial_unexpected_count": 0}


@pytest.mark.parametrize("expected", [ROWS - 1, ROWS + 1, 0])
def test_wrong_row_count_fails(expected: int) -> None:
    outcome = validate_table(_table(_rows()), "text", {"expected_rows": expected})
    assert _failed(outcome) == {("expect_table_row_count_to_equal", None)}


def test_row_count_parameter_is_applied_per_run() -> None:
    table = _table(_rows())
    assert not validate_table(table, "text", {"expected_rows": ROWS + 5}).success
    assert validate_table(table, "text", {"expected_rows": ROWS}).success


def test_missing_row_count_parameter_is_an_error() -> None:
    with pytest.raises(Exception, match="expected_rows"):
        validate_table(_table(_rows()), "text", {})


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("record_pid", "r_0123456789ABCDEF"),
        ("record_pid", "u_0123456789abcdef"),
        ("user_pid", "u_0123"),
        ("user_pid", "employee-4711"),
        ("conversation_pid", "c_0123456789abcdef0"),
        ("conversation_pid", "C_0123456789abcdef"),
    ],
)
def test_bad_pseudonym_fails(column: str, value: str) -> None:
    outcome = validate_table(_with(column, value), "text", {"expected_rows": ROWS})
    assert _failed(outcome) == {("expect_column_values_to_match_regex", column)}
    assert value not in json.dumps(outcome.to_dict())


@pytest.mark.parametrize("column", TEXT_SCHEMA.names)
def test_null_in_required_column_fails(column: str) -> None:
    outcome = validate_table(_with(column, None), "text", {"expected_rows": ROWS})
    assert _failed(outcome) == {("expect_column_values_to_not_be_null", column)}


@pytest.mark.parametrize(("column", "value"), [("split", "holdout"), ("source", "performance")])
def test_value_outside_enumeration_fails(column: str, value: str) -> None:
    outcome = validate_table(_with(column, value), "text", {"expected_rows": ROWS})
    assert _failed(outcome) == {("expect_column_values_to_be_in_set", column)}


def test_repeated_record_pid_fails() -> None:
    rows = _rows()
    rows[5]["record_pid"] = rows[4]["record_pid"]
    outcome = validate_table(_table(rows), "text", {"expected_rows": ROWS})
    assert _failed(outcome) == {("expect_column_values_to_be_unique", "record_pid")}


def test_extra_or_reordered_columns_fail() -> None:
    table = _table(_rows())
    extra = table.append_column("raw_text", pa.array(["x"] * ROWS))
    reordered = table.select(list(reversed(table.column_names)))
    for changed in (extra, reordered):
        outcome = validate_table(changed, "text", {"expected_rows": ROWS})
        assert _failed(outcome) == {("expect_table_columns_to_match_ordered_list", None)}


def test_outcome_dict_is_json_and_counts_only() -> None:
    outcome = validate_table(_with("text", "ssn 078-05-1120"), "text", {"expected_rows": ROWS})
    data = json.loads(json.dumps(outcome.to_dict()))
    assert data["success"] is False and data["failed"] == outcome.failed == 1
    assert set(data) == {"suite", "success", "evaluated", "failed", "results"}
    assert set(data["results"][0]) == {
        "expectation",
        "column",
        "success",
        "unexpected_count",
        "unexpected_percent",
        "why",
    }


def test_suite_matches_the_contract_and_pseudonym_format() -> None:
    entries = load_suite("text")["expectations"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_type.setdefault(entry["type"], []).append(entry["kwargs"])
        assert entry["meta"]["why"].strip()

    assert by_type["expect_table_columns_to_match_ordered_list"] == [
        {"column_list": TEXT_SCHEMA.names}
    ]
    assert {k["column"] for k in by_type["expect_column_values_to_not_be_null"]} == set(
        TEXT_SCHEMA.names
    )
    assert by_type["expect_table_row_count_to_equal"] == [
        {"value": {"$PARAMETER": "expected_rows"}}
    ]
    pid_regexes = {k["column"]: k["regex"] for k in by_type["expect_column_values_to_match_regex"]}
    kinds = {"record_pid": "record", "user_pid": "user", "conversation_pid": "conversation"}
    for column, kind in kinds.items():
        assert pid_regexes[column] == f"^{PREFIXES[kind]}[0-9a-f]{{{PID_HEX_CHARS}}}$"
        sample = PSEUDO.pid(kind, "x")
        assert re.fullmatch(pid_regexes[column], sample) and re.fullmatch(PID_PATTERN, sample)


def test_leak_regexes_are_python_re_and_spare_placeholders() -> None:
    specs = _leak_specs()
    assert {s["meta"]["leak"] for s in specs} == {
        "email",
        "phone",
        "credit_card",
        "us_ssn",
        "credential",
    }
    for spec in specs:
        pattern = re.compile(spec["kwargs"]["regex"])
        for text in PLACEHOLDERS + HARMLESS:
            assert not pattern.search(text), (spec["kwargs"]["regex"], text)


def test_load_suite_refuses_bad_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        load_suite("../text")
    (tmp_path / "text.json").write_text(json.dumps({"name": "other", "expectations": []}))
    with pytest.raises(ValueError):
        load_suite("text", tmp_path)


def test_duplicate_expectations_are_refused(tmp_path: Path) -> None:
    entry = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "text"}}
    suite = {"name": "text", "expectations": [entry, entry]}
    (tmp_path / "text.json").write_text(json.dumps(suite))
    with pytest.raises(ValueError, match="duplicate"):
        validate_table(_table(_rows()), "text", {}, tmp_path)
