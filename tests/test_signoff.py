"""The sign-off log: decisions on published nights, chained so that any rewrite or removal is caught."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline import signoff
from pipeline.signoff import APPROVE, REJECT, SignoffError

NIGHT_A, NIGHT_B = "2026-12-01", "2026-12-02"
AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def publish(clean: Path, ds: str, version: str, rows: int = 10) -> None:
    """The parts of a published night the sign-off reads: `current`, the night's manifest, the report's counts."""
    night = clean / "_nights" / f"ds={ds}"
    (night / version / "report").mkdir(parents=True, exist_ok=True)
    (night / version / "_night.json").write_text(json.dumps({"ds": ds, "version": version, "rows": rows}))
    (night / version / "report" / "inputs.json").write_text(json.dumps({"rows": rows}))
    current = night / "current"
    if current.is_symlink():
        current.unlink()
    os.symlink(version, current)
    (clean / "_reports").mkdir(exist_ok=True)
    link = clean / "_reports" / f"ds={ds}"
    if not link.is_symlink():
        os.symlink(f"../_nights/ds={ds}/current/report", link)


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    root = tmp_path / "clean"
    publish(root, NIGHT_A, "v-aaaa")
    publish(root, NIGHT_B, "v-bbbb")
    return root


def lines(clean: Path, ds: str) -> list[str]:
    return signoff.log_path(clean, ds).read_text().splitlines()


def rewrite(clean: Path, ds: str, new_lines: list[str]) -> None:
    signoff.log_path(clean, ds).write_text("".join(line + "\n" for line in new_lines))


def test_approve_one_night_and_reject_another(clean: Path) -> None:
    approved = signoff.record(clean, NIGHT_A, "Dana Reviewer", APPROVE, note="checked the sample", now=AT)
    rejected = signoff.record(clean, NIGHT_B, "Dana Reviewer", REJECT, reason="canary recall too low", now=AT)

    assert signoff.log_path(clean, NIGHT_A) == clean / "_signoff" / f"ds={NIGHT_A}.jsonl"
    assert approved["seq"] == 1 and approved["prev_sha256"] == signoff.GENESIS and approved["version"] == "v-aaaa"
    assert rejected["decision"] == REJECT and rejected["reason"] == "canary recall too low"
    a, b = signoff.status(clean, NIGHT_A), signoff.status(clean, NIGHT_B)
    assert a is not None and b is not None
    assert (a["decision"], a["reviewer"], a["current"], a["note"]) == (APPROVE, "Dana Reviewer", True, "checked the sample")
    assert signoff.summary(a) == "approved by Dana Reviewer"
    assert signoff.summary(b) == "REJECTED by Dana Reviewer"
    assert signoff.summary(signoff.status(clean, "2026-12-03")) == "unsigned"


def test_entry_holds_the_decision_and_digests_only(clean: Path) -> None:
    entry = signoff.record(clean, NIGHT_A, "Dana Reviewer", APPROVE, now=AT)
    assert set(entry) == {
        "seq", "ds", "decision", "reviewer", "reason", "note", "at", "version", "manifest_sha256",
        "report_sha256", "prev_sha256", "sha256",
    }
    night = clean / "_nights" / f"ds={NIGHT_A}" / "v-aaaa"
    assert entry["manifest_sha256"] == hashlib.sha256((night / "_night.json").read_bytes()).hexdigest()
    assert entry["report_sha256"] == hashlib.sha256((night / "report" / "inputs.json").read_bytes()).hexdigest()
    assert entry["at"] == "2026-12-07T09:30:00Z"


def test_the_log_gets_the_published_mode_whatever_the_umask(clean: Path) -> None:
    old = os.umask(0o077)
    try:
        signoff.record(clean, NIGHT_A, "Dana Reviewer", APPROVE, file_mode=0o644)
    finally:
        os.umask(old)
    assert signoff.log_path(clean, NIGHT_A).stat().st_mode & 0o777 == 0o644


def test_the_latest_decision_wins_and_the_chain_links(clean: Path) -> None:
    first = signoff.record(clean, NIGHT_A, "Dana Reviewer", REJECT, reason="table overflows", now=AT)
    second = signoff.record(clean, NIGHT_A, "Lee Second", APPROVE, now=AT)
    assert second["prev_sha256"] == first["sha256"] and second["seq"] == 2
    assert signoff.summary(signoff.status(clean, NIGHT_A)) == "approved by Lee Second"
    assert len(signoff.read_log(signoff.log_path(clean, NIGHT_A))) == 2


def test_a_republished_night_needs_signing_again(clean: Path) -> None:
    signoff.record(clean, NIGHT_A, "Dana Reviewer", APPROVE, now=AT)
    publish(clean, NIGHT_A, "v-cccc", rows=11)
    state = signoff.status(clean, NIGHT_A)
    assert state is not None and state["current"] is False
    assert signoff.summary(state) == "approved by Dana Reviewer (earlier version)"
    assert signoff.status(clean, NIGHT_A, of_published=False)["current"] is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"decision": REJECT}, "needs a reason"),
        ({"decision": APPROVE, "reason": "looks fine"}, "--reason goes with --reject"),
        ({"decision": APPROVE, "reviewer": "Dana\nInjected"}, "one line"),
        ({"decision": APPROVE, "reviewer": "   "}, "one line"),
        ({"decision": APPROVE, "note": "x" * 501}, "one line of 1 to 500"),
        ({"decision": "maybe"}, "approve or reject"),
    ],
)
def test_bad_decisions_are_refused_in_one_line(clean: Path, arguments: dict, message: str) -> None:
    arguments = {"reviewer": "Dana Reviewer", **arguments}
    with pytest.raises(SignoffError, match=message) as caught:
        signoff.record(clean, NIGHT_A, **arguments)
    assert "\n" not in str(caught.value)
    assert not signoff.log_path(clean, NIGHT_A).exists() or lines(clean, NIGHT_A) == []


def test_an_unpublished_night_cannot_be_signed(clean: Path) -> None:
    with pytest.raises(SignoffError, match="neither published nor held for sign-off"):
        signoff.record(clean, "2026-12-03", "Dana Reviewer", APPROVE)


def _three_entries(clean: Path) -> list[str]:
    signoff.record(clean, NIGHT_A, "Dana Reviewer", REJECT, reason="first look", now=AT)
    signoff.record(clean, NIGHT_A, "Dana Reviewer", APPROVE, now=AT)
    signoff.record(clean, NIGHT_A, "Lee Second", APPROVE, note="agree", now=AT)
    return lines(clean, NIGHT_A)


def _edited(line: str, **changes: object) -> str:
    return json.dumps({**json.loads(line), **changes}, sort_keys=True)


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda ls: [_edited(ls[0], decision=APPROVE, reason=None), *ls[1:]], "entry 1 was rewritten"),
        (lambda ls: [ls[0], _edited(ls[1], reviewer="Someone Else"), ls[2]], "entry 2 was rewritten"),
        (lambda ls: [ls[0], ls[2]], "entry 2 is out of sequence"),
        (lambda ls: [ls[1], ls[0], ls[2]], "entry 1 is out of sequence"),
        (lambda ls: ls[1:], "entry 1 is out of sequence"),
        (lambda ls: [*ls[:2], ls[2][:-5]], "entry 3 is not JSON"),
        (lambda ls: [*ls, _edited(ls[2], seq=4)], "entry 4 does not follow entry 3"),
    ],
    ids=["edit-first", "edit-middle", "delete-middle", "reorder", "delete-first", "truncate-line", "forge-append"],
)
def test_a_rewritten_log_is_detected(clean: Path, tamper, message: str) -> None:
    rewrite(clean, NIGHT_A, tamper(_three_entries(clean)))
    state = signoff.status(clean, NIGHT_A)
    assert state is not None and message in state["error"] and "\n" not in state["error"]
    assert signoff.summary(state) == "LOG ALTERED"
    with pytest.raises(SignoffError, match="was altered"):
        signoff.record(clean, NIGHT_A, "Dana Reviewer", APPROVE)


def test_a_removed_last_entry_is_caught_against_the_report(clean: Path) -> None:
    entries = _three_entries(clean)
    anchor = {k: signoff.status(clean, NIGHT_A)[k] for k in ("entries", "head_sha256")}
    rewrite(clean, NIGHT_A, entries[:2])
    state = signoff.status(clean, NIGHT_A, anchor)
    assert "the report recorded 3 entries, it has 2" in state["error"]
    assert (state["entries"], state["head_sha256"]) == (anchor["entries"], anchor["head_sha256"]), "the anchor is kept"
    signoff.log_path(clean, NIGHT_A).unlink()
    assert "it has 0" in signoff.status(clean, NIGHT_A, anchor)["error"], "so is a deleted log"


def test_the_report_anchor_is_read_from_the_published_report(clean: Path) -> None:
    assert signoff.report_anchor(clean, NIGHT_A) is None
    report = clean / "_reports" / f"ds={NIGHT_A}" / "report.json"
    report.write_text(json.dumps({"signoff": {"entries": 2, "head_sha256": "ab" * 32, "decision": APPROVE}}))
    assert signoff.report_anchor(clean, NIGHT_A) == {"entries": 2, "head_sha256": "ab" * 32}
