"""The input edge: every row is either checked and kept, or quarantined with a reason naming a rule."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.read import (
    InputError,
    parse_ts,
    read_partition,
    read_roster,
    sources_present,
)

DS = "2026-11-26"
GOOD = {
    "message_id": "m1",
    "ts": "2026-11-26T09:14:03+01:00",
    "employee_id": "E1",
    "channel_id": "C1",
    "channel_kind": "dm",
    "recipient_ids": ["E2"],
    "thread_id": None,
    "text": "hello",
}


def write_lines(path: Path, lines: list[str], gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)


def test_good_rows_are_normalised(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl.gz", [json.dumps(GOOD)], gz=True)
    part = read_partition(tmp_path, "chat", DS)
    assert part.quarantine == []
    assert part.rows[0]["ts"] == datetime(2026, 11, 26, 8, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "not_an_object"),
        (json.dumps({**GOOD, "text": 42}), "bad_type:text"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "employee_id"}), "missing_field:employee_id"),
        (json.dumps({**GOOD, "channel_kind": "secret-room"}), "bad_value:channel_kind"),
        (json.dumps({**GOOD, "ts": "2026-11-26T09:14:03"}), "bad_type:ts"),
        (json.dumps({**GOOD, "recipient_ids": "E2"}), "bad_type:recipient_ids"),
    ],
)
def test_bad_rows_are_quarantined_with_a_reason(tmp_path: Path, line: str, reason: str) -> None:
    other = json.dumps({**GOOD, "message_id": "m2"})
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD), line, other])
    part = read_partition(tmp_path, "chat", DS)
    assert [r["message_id"] for r in part.rows] == ["m1", "m2"]
    assert [(q["reason"], q["line"]) for q in part.quarantine] == [(reason, 2)]
    assert part.quarantine[0]["raw"] == line
    assert part.input_rows == 3


def test_duplicate_keys_are_quarantined(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD), json.dumps(GOOD)])
    part = read_partition(tmp_path, "chat", DS)
    assert len(part.rows) == 1 and part.quarantine[0]["reason"] == "duplicate_key"


def test_parquet_input_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "chat" / f"ds={DS}"
    folder.mkdir(parents=True)
    rows = [{**GOOD, "ts": 1764144843000}, {**GOOD, "message_id": "m2", "ts": 1764144843000}]
    pq.write_table(pa.Table.from_pylist(rows), folder / "a.parquet")
    part = read_partition(tmp_path, "chat", DS)
    assert len(part.rows) == 2 and not part.quarantine


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "chat" / f"ds={DS}" / "a.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="a.jsonl.gz"):
        read_partition(tmp_path, "chat", DS)


def test_sources_present_lists_known_sources_with_files(tmp_path: Path) -> None:
    write_lines(tmp_path / "chat" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    write_lines(tmp_path / "unknown" / f"ds={DS}" / "a.jsonl", [json.dumps(GOOD)])
    (tmp_path / "transcripts" / f"ds={DS}").mkdir(parents=True)
    assert sources_present(tmp_path, DS) == ["chat"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [("2026-11-26T09:00:00Z", True), (1764144843000, True), ("yesterday", False), (True, False), (10**20, False)],
)
def test_parse_ts(value: object, ok: bool) -> None:
    assert (parse_ts(value) is not None) is ok


def test_roster_needs_ids_and_names(tmp_path: Path) -> None:
    path = tmp_path / "roster.jsonl"
    path.write_text(json.dumps({"employee_id": "E1", "full_name": "Ada Lovelace"}) + "\n" + json.dumps({"employee_id": "E2"}) + "\n")
    with pytest.raises(InputError, match="row 2"):
        read_roster(path)
