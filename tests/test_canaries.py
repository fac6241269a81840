"""The nightly canaries (pipeline/canaries.py, canaries.yaml): at least `canaries.per_class` of every class a
night, however the night is cut into partitions and chunks, from varied phrasings, with fake values unique to
the night; the Wilson interval of each class's recall; and a gate that fails when a class is not caught."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pipeline import canaries
from pipeline.canaries import (
    DISCLOSURE_PHRASES,
    TEXT_LABELS,
    TYPED_SECRET,
    canary_employees,
    canary_records,
    night_canaries,
    templates,
    typed_canary,
    wilson_interval,
)
from pipeline.chunks import plan_chunks, share_canaries
from pipeline.policy import CANARY_LABELS, Policy, load_policy
from pipeline.run import canary_outcome

DS = "2026-11-26"
PER_CLASS = load_policy().canaries["per_class"]
EMPLOYEES = canary_employees(DS)


def labels(records: list[dict]) -> Counter:
    return Counter(r["spans"][0]["label"] for r in records)


def value(record: dict) -> str:
    span = record["spans"][0]
    return record["text"][span["start"] : span["end"]]


def test_the_default_policy_plants_20_of_each_class_and_every_class_has_canaries() -> None:
    assert PER_CLASS >= 20
    assert set(TEXT_LABELS) | {TYPED_SECRET} == set(CANARY_LABELS)
    assert labels(night_canaries(DS, PER_CLASS, EMPLOYEES)) == {label: PER_CLASS for label in TEXT_LABELS}


@pytest.mark.parametrize("shares", [1, 2, 3, 7])
def test_the_shares_of_the_night_plant_each_canary_once(shares: int) -> None:
    night = night_canaries(DS, PER_CLASS, EMPLOYEES)
    planted = [r for share in range(shares) for r in canary_records(DS, share, shares, PER_CLASS, EMPLOYEES)]
    assert sorted(r["id"] for r in planted) == sorted(r["id"] for r in night)
    assert labels(planted) == {label: PER_CLASS for label in TEXT_LABELS}


@pytest.mark.parametrize("chunk_files", [1, 3, 100])
def test_the_plan_gives_each_text_partition_one_share_whatever_the_chunks(chunk_files: int) -> None:
    """Only a text partition's first chunk plants, each partition a share of its own, and the shares add up to
    the night's canaries once: more chunks neither multiply nor lose them."""
    chunks = share_canaries(
        plan_chunks("chat", 8, "files", chunk_files) + plan_chunks("transcripts", 5, "files", chunk_files)
        + plan_chunks("keystrokes", 8, "sessions", chunk_files) + plan_chunks("performance", 2, "whole", 1)
    )
    planting = [c for c in chunks if c.canary_shares]
    assert [(c.id, c.canary_share, c.canary_shares) for c in planting] == [("chat.0000", 0, 2), ("transcripts.0000", 1, 2)]
    planted = [r for c in planting for r in canary_records(DS, c.canary_share, c.canary_shares, PER_CLASS, EMPLOYEES)]
    assert labels(planted) == {label: PER_CLASS for label in TEXT_LABELS}
    assert len({r["id"] for r in planted}) == len(planted)


def test_each_class_is_drawn_from_at_least_8_phrasings_a_night() -> None:
    night = night_canaries(DS, PER_CLASS, EMPLOYEES)
    for label, spec in templates()["values"].items():
        assert len(spec["templates"]) >= 8, label
        used = {r["text"].replace(value(r), "{v}", 1) for r in night if r["spans"][0]["label"] == label}
        assert used == set(spec["templates"]), f"{label}: every template planted every night"
    for label, phrases in DISCLOSURE_PHRASES.items():
        assert len(phrases) >= 8, label
        values = {value(r) for r in night if r["spans"][0]["label"] == label}
        assert len(values) >= 8, (label, len(values))


def test_values_are_fake_unique_in_a_night_and_new_each_night() -> None:
    night = night_canaries(DS, PER_CLASS, EMPLOYEES)
    assert night == night_canaries(DS, PER_CLASS, canary_employees(DS)), "a re-run plants the same canaries"
    values = {label: [value(r) for r in night if r["spans"][0]["label"] == label] for label in templates()["values"]}
    for label, found in values.items():
        assert len(set(found)) == len(found), f"{label} values repeat within the night"
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)", v) for v in values["EMAIL"])
    assert all(re.fullmatch(r"9\d\d-\d\d-\d{4}", v) for v in values["SSN"]), "SSN area 9xx is never issued"
    assert all(re.search(r"555[- ]01\d\d$|7946 0\d{3}$", v) for v in values["PHONE"]), "fiction ranges only"
    names = {e.full_name for e in EMPLOYEES} | {"@" + e.handle for e in EMPLOYEES}
    assert set(values["ROSTER_NAME"]) <= names
    other = night_canaries("2026-11-27", PER_CLASS, canary_employees("2026-11-27"))
    for label in ("CREDENTIAL", "API_KEY", "EMAIL", "CARD", "SSN"):
        assert not set(values[label]) & {value(r) for r in other if r["spans"][0]["label"] == label}, label


def test_typed_canaries_type_per_class_secrets_in_fields_of_their_own() -> None:
    typed = typed_canary(DS, EMPLOYEES[0], PER_CLASS)
    assert len(typed.secret_events) == PER_CLASS
    assert len({r["field_id"] for r in typed.rows}) == PER_CLASS
    assert {r["field_kind"] for r in typed.rows} == {"password", "text"}
    assert len({r["event_id"] for r in typed.rows}) == len(typed.rows)
    assert all(canaries.is_canary(r["employee_id"]) for r in typed.rows)


@pytest.mark.parametrize(
    ("caught", "planted", "low", "high"),
    [  # references: statsmodels proportion_confint(method="wilson"), rounded to 4 places
        (20, 20, 0.8389, 1.0), (19, 20, 0.7639, 0.9911), (16, 20, 0.5840, 0.9193), (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634), (1, 1, 0.2065, 1.0),
    ],
)
def test_the_wilson_interval_matches_known_values(caught: int, planted: int, low: float, high: float) -> None:
    assert wilson_interval(caught, planted) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_the_wilson_interval_of_nothing_planted_says_nothing() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def outcome(scores: dict[str, dict[str, int]], policy: Policy | None = None) -> dict:
    return canary_outcome(policy or load_policy(), {"chat": {"canaries": scores}})


def test_the_outcome_keeps_its_keys_and_adds_the_interval() -> None:
    got = outcome({"PHONE": {"planted": 20, "caught": 20}, "HEALTH": {"planted": 20, "caught": 16}})
    assert got["labels"]["PHONE"] == {"planted": 20, "caught": 20, "recall": 1.0, "interval": [0.8389, 1.0],
                                      "threshold": 1.0, "ok": True}
    assert got["labels"]["HEALTH"]["interval"] == [0.584, 0.9193] and got["labels"]["HEALTH"]["ok"]
    assert got["success"]


def test_the_outcome_fails_a_class_below_its_threshold_or_short_of_canaries() -> None:
    assert not outcome({"PHONE": {"planted": 20, "caught": 19}})["success"]
    assert not outcome({"HEALTH": {"planted": 20, "caught": 15}})["success"]
    short = outcome({"EMAIL": {"planted": 19, "caught": 19}})
    assert not short["success"] and short["labels"]["EMAIL"]["recall"] == 1.0, "some canaries were lost"


def test_a_policy_without_the_disclosure_model_fails_the_canary_gate(tmp_path: Path) -> None:
    """The night's real canaries through the real text path: with the default policy every class clears its
    threshold; with the `disclosures` family switched off, HEALTH and PRIVATE fall and the gate fails."""
    from pipeline.canaries import score_texts
    from pipeline.roster import Roster
    from pipeline.scrub import scrub_texts

    records = night_canaries(DS, PER_CLASS, EMPLOYEES)
    texts = [r["text"] for r in records]
    healthy = outcome(score_texts(records, scrub_texts(texts, roster=Roster(EMPLOYEES))))
    assert healthy["success"], {k: v["caught"] for k, v in healthy["labels"].items()}
    raw = load_policy().raw
    raw["recognizers"] = {**raw["recognizers"], "disclosures": False}
    path = tmp_path / "no-disclosures.yaml"
    path.write_text(yaml.safe_dump(raw))
    policy = load_policy(path)
    broken = outcome(score_texts(records, scrub_texts(texts, roster=Roster(EMPLOYEES), policy=policy)), policy)
    assert not broken["success"]
    failed = {label for label, c in broken["labels"].items() if not c["ok"]}
    assert {"HEALTH", "PRIVATE"} <= failed and "PHONE" not in failed, failed
