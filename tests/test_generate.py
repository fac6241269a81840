"""The demo-night generator: deterministic, contract-shaped, and with ground truth a scrubber can be scored on."""

from __future__ import annotations

import gzip
import json
import re
import stat
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.contracts import ROSTER_FIELDS, SOURCES
import pipeline.demo.night as demo_night
import pipeline.demo.rhythm as demo_rhythm
from pipeline.demo import GROUND_TRUTH_DIR, PART_FILE, TRUTH_ID_FIELDS, generate_night
from pipeline.demo.templates import LABELS, VOCAB
from pipeline.roster import Employee

DS = "2026-11-26"
EMPLOYEES = 50  # the default
TEXT_SOURCES = {"chat": "text", "transcripts": "text", "performance": "comments"}
KIND_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (float,), "bool": (bool,)}


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], float]:
    out = tmp_path_factory.mktemp("night")
    started = time.perf_counter()
    counts = generate_night(out, DS)  # default arguments: what `scrubline generate` and the demo produce
    return out, counts, time.perf_counter() - started


@pytest.fixture(scope="module")
def rows(night: tuple[Path, dict[str, int], float]) -> dict[str, list[dict[str, Any]]]:
    out = night[0]
    return {s: _read_gz(out / s / f"ds={DS}" / PART_FILE) for s in SOURCES}


@pytest.fixture(scope="module")
def planted(night: tuple[Path, dict[str, int], float]) -> list[dict[str, Any]]:
    return _read_lines(night[0] / GROUND_TRUTH_DIR / f"ds={DS}" / "planted.jsonl")


@pytest.fixture(scope="module")
def roster(night: tuple[Path, dict[str, int], float]) -> list[dict[str, Any]]:
    return _read_lines(night[0] / "roster.jsonl")


def _read_gz(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _parse_ts(value: str | int) -> tuple[datetime, date]:
    """(UTC instant, date in the offset it was written with)."""
    if isinstance(value, int):
        instant = datetime.fromtimestamp(value / 1000, UTC)
        return instant, instant.date()
    local = datetime.fromisoformat(value)
    assert local.utcoffset() is not None, f"timestamp without offset: {value}"
    return local.astimezone(UTC), local.date()


def test_same_arguments_give_identical_bytes(night: tuple[Path, dict[str, int], float], tmp_path: Path) -> None:
    counts = generate_night(tmp_path / "again", DS, employees=EMPLOYEES, seed=0)
    assert counts == night[1]
    assert _files(tmp_path / "again") == _files(night[0])
    generate_night(tmp_path / "other", DS, employees=EMPLOYEES, seed=1)
    assert _files(tmp_path / "other") != _files(night[0])


def test_layout_and_counts(night: tuple[Path, dict[str, int], float], rows: dict, planted: list, roster: list) -> None:
    out, counts, elapsed = night
    assert set(counts) == {*SOURCES, "roster", "planted"}
    assert {s: len(r) for s, r in rows.items()} == {s: counts[s] for s in SOURCES}
    assert counts["roster"] == len(roster) == EMPLOYEES
    assert counts["planted"] == len(planted)
    assert not list((out / GROUND_TRUTH_DIR).glob("*/*.gz")), "ground truth must stay outside the sources"
    assert elapsed < 5, f"generation took {elapsed:.1f}s"


def test_volumes_are_realistic(rows: dict[str, list[dict[str, Any]]], planted: list[dict[str, Any]]) -> None:
    chat = rows["chat"]
    per_employee = Counter(r["employee_id"] for r in chat)
    assert len(per_employee) == EMPLOYEES
    assert 30 <= len(chat) / EMPLOYEES <= 65
    assert {r["channel_kind"] for r in chat} == {"dm", "group", "public"}
    assert any(r["thread_id"] for r in chat) and any(r["thread_id"] is None for r in chat)
    leaky = sum(p["source"] == "chat" for p in planted) / len(chat)
    assert 0.18 <= leaky <= 0.32
    meetings = Counter(r["meeting_id"] for r in rows["transcripts"])
    assert len(meetings) == 20 and all(10 <= n <= 30 for n in meetings.values())
    assert any(r["speaker_employee_id"] is None for r in rows["transcripts"])
    assert any("(" in (r["speaker_label"] or "") for r in rows["transcripts"])
    assert len(rows["performance"]) == EMPLOYEES
    typists = {r["employee_id"] for r in rows["keystrokes"]}
    assert len(typists) == demo_rhythm.TYPISTS
    assert 50 * len(typists) <= len(rows["mouse"]) <= 90 * len(typists)
    assert {r["action"] for r in rows["mouse"]} == {"move", "click", "scroll"}


def test_rows_match_contracts(rows: dict[str, list[dict[str, Any]]]) -> None:
    for source, contract in SOURCES.items():
        assert rows[source], source
        for row in rows[source]:
            assert list(row) == contract.field_names, source
            for f in contract.fields:
                value = row[f.name]
                if value is None:
                    assert not f.required, (source, f.name)
                elif f.kind == "ts":
                    assert isinstance(value, (str, int)) and not isinstance(value, bool)
                elif f.kind == "str_list":
                    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
                else:
                    assert isinstance(value, KIND_TYPES[f.kind]), (source, f.name, value)
            for name, allowed in contract.allowed.items():
                assert row[name] in allowed
        keys = [tuple(r[k] for k in contract.key_fields) for r in rows[source]]
        assert len(keys) == len(set(keys)), f"duplicate keys in {source}"
    for source, id_field in TRUTH_ID_FIELDS.items():
        assert len({r[id_field] for r in rows[source]}) == len(rows[source]), f"ground-truth ids clash in {source}"


def test_timestamps_fall_within_the_day(rows: dict[str, list[dict[str, Any]]]) -> None:
    day = date.fromisoformat(DS)
    styles = Counter()
    for source, contract in SOURCES.items():
        for row in rows[source]:
            for f in contract.fields:
                if f.kind == "ts" and row[f.name] is not None:
                    instant, local_day = _parse_ts(row[f.name])
                    assert instant.date() == day == local_day, (source, row[f.name])
                    styles[type(row[f.name])] += 1
    assert styles[int] and styles[str]
    offsets = {r["ts"][-6:] for r in rows["chat"] if isinstance(r["ts"], str)}
    assert len(offsets) >= 3, "expected employees in several time zones"


def test_roster(roster: list[dict[str, Any]]) -> None:
    assert all(list(r) == list(ROSTER_FIELDS) for r in roster)
    for key in ("employee_id", "email", "handle", "full_name"):
        assert len({r[key] for r in roster}) == EMPLOYEES, key
    assert all(re.fullmatch(r"E\d{5}", r["employee_id"]) for r in roster)
    assert all(r["email"].endswith("@" + demo_night.COMPANY_DOMAIN) for r in roster)
    ids = {r["employee_id"] for r in roster}
    assert all(r["manager_id"] in ids for r in roster if r["manager_id"])
    assert sum(r["manager_id"] is None for r in roster) == 1
    assert any(r["preferred_name"] is None for r in roster)
    assert any(r["preferred_name"] and r["preferred_name"] not in r["full_name"] for r in roster)


def test_speakers_are_labelled_with_their_own_names(rows: dict[str, list[dict[str, Any]]], roster: list) -> None:
    people = {r["employee_id"]: r for r in roster}
    for row in rows["transcripts"]:
        if row["speaker_employee_id"]:
            e = people[row["speaker_employee_id"]]
            assert row["speaker_label"] in (e["full_name"], e["preferred_name"], e["full_name"].split()[0])


def test_ground_truth_offsets_are_exact(planted: list[dict[str, Any]]) -> None:
    ids = [p["id"] for p in planted]
    assert len(ids) == len(set(ids))
    for p in planted:
        assert p["spans"], p["id"]
        assert p["id"].startswith(p["source"] + ":")
        previous_end = 0
        for span in p["spans"]:
            assert span["label"] in LABELS
            assert p["text"][span["start"]:span["end"]] == span["value"], (p["id"], span)
            assert span["start"] >= previous_end, f"overlapping spans in {p['id']}"
            previous_end = span["end"]


def test_ground_truth_matches_records(rows: dict[str, list[dict[str, Any]]], planted: list[dict[str, Any]]) -> None:
    texts = {
        f"{source}:{row[TRUTH_ID_FIELDS[source]]}": row[field_name]
        for source, field_name in TEXT_SOURCES.items()
        for row in rows[source]
    }
    for p in planted:
        if p["source"] in TEXT_SOURCES:
            assert p["field"] == TEXT_SOURCES[p["source"]]
            assert texts[p["id"]] == p["text"]
    assert all(p["source"] in TEXT_SOURCES or p["source"] == "keystrokes" for p in planted)


def test_every_label_is_planted(planted: list[dict[str, Any]]) -> None:
    labels = Counter(s["label"] for p in planted for s in p["spans"])
    assert set(labels) == set(LABELS)
    for source in ("chat", "transcripts", "performance", "keystrokes"):
        assert any(p["source"] == source for p in planted), source


def test_ground_truth_is_complete(planted: list, rows: dict[str, list[dict[str, Any]]], roster: list) -> None:
    """Outside the planted spans there is no roster name, e-mail, key or long number left to find."""
    forms = set()
    for r in roster:
        forms |= Employee(**r).name_forms()
    alternatives = "|".join(map(re.escape, sorted(forms, key=len, reverse=True)))
    name_pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    leak_pattern = re.compile(r"[\w.+-]+@[\w-]+\.\w|AKIA|ghp_|xox[bp]-|sk_live|sk-|AIza|\d[\d -]{5,}\d")
    truth = {p["id"]: p for p in planted}
    for source, field_name in TEXT_SOURCES.items():
        for row in rows[source]:
            text = row[field_name] or ""
            for span in truth.get(f"{source}:{row[TRUTH_ID_FIELDS[source]]}", {"spans": []})["spans"]:
                text = text[:span["start"]] + "\u2588" * (span["end"] - span["start"]) + text[span["end"]:]
            assert not name_pattern.search(text), (source, text)
            assert not leak_pattern.search(text), (source, text)


def test_planted_values_are_well_formed(planted: list[dict[str, Any]]) -> None:
    values = defaultdict(list)
    for p in planted:
        for span in p["spans"]:
            values[span["label"]].append(span["value"])
    for card in values["CARD"]:
        digits = [int(d) for d in re.sub(r"[ -]", "", card)]
        assert len(digits) in (15, 16)
        checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
        assert checksum % 10 == 0, card
    for ssn in values["SSN"]:
        area, group, serial = re.fullmatch(r"(\d{3})[- ]?(\d{2})[- ]?(\d{4})", ssn).groups()
        assert area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"
    key_formats = re.compile(
        r"AKIA[A-Z0-9]{16}|[A-Za-z0-9/+]{40}|ghp_[A-Za-z0-9]{36}|xox[bp]-\d{12}-\d{13}-[A-Za-z0-9]{24}"
        r"|sk_live_[A-Za-z0-9]{24,99}|sk-[A-Za-z0-9]{48}|sk-proj-[\w-]{64}|AIza[\w-]{35}"
    )
    assert all(key_formats.fullmatch(k) for k in values["API_KEY"])
    assert any("(" in v or "." in v for v in values["PHONE"]) and any(v.startswith("+44") for v in values["PHONE"])
    assert any(v.startswith("@") for v in values["ROSTER_NAME"]) and any(v.islower() for v in values["ROSTER_NAME"])


def test_keystrokes_reproduce_the_typed_ground_truth(rows: dict[str, list[dict[str, Any]]], planted: list) -> None:
    """Replaying the key-down events of each field gives exactly the text whose spans were recorded."""
    typed: dict[str, list[str]] = defaultdict(list)
    for event in rows["keystrokes"]:
        assert event["action"] in ("down", "up")
        if event["action"] != "down":
            continue
        buffer = typed[f"keystrokes:{event['session_id']}:{event['field_id']}"]
        key = event["key"]
        if key == "Backspace":
            buffer.pop()
        elif key == "Paste":
            buffer.append(event["text"])
        elif key == "Enter" and "Shift" in event["modifiers"]:
            buffer.append("\n")
        elif len(key) == 1 or not key.isascii():
            buffer.append(key)
    truth = [p for p in planted if p["source"] == "keystrokes"]
    assert any(p["id"].endswith(":okta-signin-password") for p in truth)
    assert any(e["field_kind"] == "password" for e in rows["keystrokes"])
    assert any(e["key"] == "Backspace" for e in rows["keystrokes"])
    for p in truth:
        assert "".join(typed[p["id"]]) == p["text"], p["id"]


def test_template_names_do_not_collide_with_template_words() -> None:
    for name in (*demo_night._NICKNAMES.values(), *demo_night._ADOPTED_NAMES):
        assert name.casefold() not in VOCAB, name


def test_small_nights_work_and_tiny_ones_are_refused(tmp_path: Path) -> None:
    counts = generate_night(tmp_path, DS, employees=3, seed=1)
    assert counts["roster"] == 3 and counts["performance"] == 3 and counts["chat"] >= 90
    with pytest.raises(ValueError):
        generate_night(tmp_path / "one", DS, employees=1)


def test_the_raw_pool_is_private(night: tuple[Path, dict[str, int], float]) -> None:
    """Raw rows are as sensitive as real logs: 0600 files in 0700 folders (issue 13: it was 0644 in 0755)."""
    out, _, _ = night
    for path in [out, *out.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_every_typist_types_in_several_sessions_with_a_rhythm_of_their_own(rows: dict[str, list[dict[str, Any]]]) -> None:
    """Typing rhythm persists per employee (what makes it a biometric, and what the re-identification gate
    must see): each typist's median hold of letter keys is stable across their sessions, and typists differ."""
    downs: dict[tuple[str, str, str], int] = {}
    holds: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in rows["keystrokes"]:
        ms = r["ts"] if isinstance(r["ts"], int) else int(datetime.fromisoformat(r["ts"]).timestamp() * 1000)
        k = (r["session_id"], r["key"], r["employee_id"])
        if r["action"] == "down":
            downs[k] = ms
        elif k in downs and len(r["key"]) == 1 and r["key"].isalpha():
            holds[r["employee_id"]][r["session_id"]].append(ms - downs.pop(k))
    assert all(len(sessions) >= 2 for sessions in holds.values())
    medians = {e: [sorted(h)[len(h) // 2] for h in s.values() if len(h) >= 15] for e, s in holds.items()}
    within = [max(m) - min(m) for m in medians.values() if len(m) >= 2]
    typical = sorted(m[0] for m in medians.values() if m)
    assert sorted(within)[len(within) // 2] < (typical[-1] - typical[0]) / 2  # spread within << spread between
    assert demo_rhythm.Rhythm.of("E12345") == demo_rhythm.Rhythm.of("E12345")  # the same employee, the same rhythm
