"""Redaction: overlapping findings merge, the policy decides each action, credentials win merges."""

from __future__ import annotations

import copy
import re

from pipeline.detect import Finding
from pipeline.policy import Policy, load_policy
from pipeline.pseudonym import MENTION_PATTERN, Pseudonymizer
from pipeline.redact import merge_findings, redact_text

KEYS = Pseudonymizer(b"k" * 32)


def policy_with(**actions: str) -> Policy:
    base = load_policy()
    raw = copy.deepcopy(base.raw)
    raw["entities"].update(actions)
    return Policy(raw=raw, sha256="test")


def test_placeholder_and_pseudonym() -> None:
    text = "ask Dana Whitfield at dana@example.com"
    findings = [Finding(4, 18, "PERSON", 1.0, subject="E1"), Finding(22, 38, "EMAIL_ADDRESS", 1.0)]
    out = redact_text(text, findings, load_policy(), KEYS)
    assert out.text == f"ask <PERSON_{KEYS.mention('E1')}> at <EMAIL_ADDRESS>"
    assert dict(out.counts) == {"PERSON": 1, "EMAIL_ADDRESS": 1}


def test_person_mentions_have_no_digits_and_follow_the_person_pid() -> None:
    """Letters only, so no digit of a pseudonym can pass for a number of the text; one mention per pid."""
    mentions = {KEYS.mention(f"E{i}") for i in range(500)}
    assert len(mentions) == 500
    assert all(re.fullmatch(MENTION_PATTERN, m) for m in mentions)
    back = str.maketrans("bcdfghjkmnpqrstv", "0123456789abcdef")
    assert "p_" + KEYS.mention("E1")[2:].translate(back) == KEYS.pid("person", "E1")


def test_same_subject_same_pseudonym_across_forms() -> None:
    policy = load_policy()
    a = redact_text("Dana said", [Finding(0, 4, "PERSON", 1.0, subject="E1")], policy, KEYS)
    b = redact_text("@dwhit said", [Finding(0, 6, "PERSON", 1.0, subject="E1")], policy, KEYS)
    assert a.text.split()[0] == b.text.split()[0]


def test_overlaps_merge_and_credentials_win() -> None:
    findings = [Finding(0, 10, "PERSON", 0.99), Finding(5, 20, "CREDENTIAL", 0.5)]
    (start, end, rep), = merge_findings(findings)
    assert (start, end, rep.entity) == (0, 20, "CREDENTIAL")
    out = redact_text("x" * 25, findings, load_policy(), KEYS)
    assert out.text == "<CREDENTIAL>" + "x" * 5


def test_roster_subject_survives_a_longer_ner_span() -> None:
    findings = [Finding(0, 14, "PERSON", 0.85), Finding(0, 4, "PERSON", 1.0, subject="E7")]
    (_, _, rep), = merge_findings(findings)
    assert rep.subject == "E7"


def test_remove_and_drop_row_actions() -> None:
    policy = policy_with(EMAIL_ADDRESS="remove", PERFORMANCE="drop_row")
    out = redact_text("mail a@b.co now", [Finding(5, 11, "EMAIL_ADDRESS", 1.0)], policy, KEYS)
    assert out.text == "mail  now" and not out.drop_row
    out = redact_text("on a PIP", [Finding(3, 8, "PERFORMANCE", 1.0)], policy, KEYS)
    assert out.drop_row


def test_unknown_entity_fails_safe_to_a_placeholder() -> None:
    out = redact_text("id 12345", [Finding(3, 8, "NEW_THING", 1.0)], load_policy(), KEYS)
    assert out.text == "id <NEW_THING>"
