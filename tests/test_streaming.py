"""Bounded memory per partition: batched reading, streamed staging and quarantine, the run options (no model needed)."""

from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline import read, run
from pipeline.cli import _parser
from pipeline.contracts import QUARANTINE_SCHEMA, STAGED_SCHEMAS
from pipeline.policy import PolicyError, load_policy
from pipeline.pseudonym import KEY_ENV
from pipeline.files import StagedParquet
from pipeline.quarantine import QuarantineWriter, write_quarantine
from pipeline.read import iter_partition, read_partition
from pipeline.redact import Redacted

DS = "2026-11-26"


def chat(i: int, **change: Any) -> str:
    row = {"message_id": f"m{i}", "ts": "2026-11-26T09:14:03Z", "employee_id": f"E{i % 3}", "channel_id": "C1",
           "channel_kind": "dm", "recipient_ids": [], "thread_id": None, "text": f"message number {i}"}
    return json.dumps({**row, **change})


def write_chat(root: Path, name: str, lines: list[str]) -> None:
    folder = root / "chat" / f"ds={DS}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n")


@pytest.fixture
def partition(tmp_path: Path) -> Path:
    """Two files, 27 input rows: bad rows and duplicate keys spread so they fall in different batches."""
    write_chat(tmp_path, "a.jsonl", [chat(i) for i in range(10)] + ["{not json", chat(3)])
    write_chat(tmp_path, "b.jsonl", [chat(i) for i in range(10, 20)] + [chat(0), chat(20, text=5), "", chat(21), chat(12)])
    return tmp_path


@pytest.mark.parametrize("batch_rows", [1, 4, 7, 12, 26, 27, 1000])
def test_batches_hold_every_row_once_in_order_with_duplicates_caught_across_batches(partition: Path, batch_rows: int) -> None:
    whole = read_partition(partition, "chat", DS)
    batches = list(iter_partition(partition, "chat", DS, batch_rows))
    assert all(b.input_rows <= batch_rows for b in batches)
    assert [r for b in batches for r in b.rows] == whole.rows
    assert [q for b in batches for q in b.quarantine] == whole.quarantine
    assert sum(b.files for b in batches) == whole.files == 2
    assert sum(b.input_rows for b in batches) == whole.input_rows == 27
    reasons = Counter(q["reason"] for q in whole.quarantine)
    assert reasons == {"duplicate_key": 3, "invalid_json": 1, "bad_type:text": 1, "blank_line": 1}
    assert [(q["file"], q["line"]) for q in whole.quarantine if q["reason"] == "duplicate_key"] == [
        ("a.jsonl", 12), ("b.jsonl", 11), ("b.jsonl", 15)]


def test_an_empty_or_missing_partition_is_one_empty_batch(tmp_path: Path) -> None:
    assert [(b.input_rows, b.files) for b in iter_partition(tmp_path, "chat", DS, 5)] == [(0, 0)]
    (tmp_path / "chat" / f"ds={DS}").mkdir(parents=True)
    (tmp_path / "chat" / f"ds={DS}" / "a.jsonl").write_text("")
    assert [(b.input_rows, b.files) for b in iter_partition(tmp_path, "chat", DS, 5)] == [(0, 1)]


def test_batch_size_must_be_positive(partition: Path) -> None:
    with pytest.raises(ValueError, match="batch_rows"):
        next(iter_partition(partition, "chat", DS, 0))


def test_multi_field_keys_are_told_apart() -> None:
    assert read.key_digest(("ab", "c")) != read.key_digest(("a", "bc"))
    assert read.key_digest(("m1",)) == read.key_digest(("m1",)) and len(read.key_digest(("m1",))) == 16
    assert read.key_digest(("\ud800",))  # a lone surrogate from a JSON escape is still a key


def test_parquet_input_is_read_in_slices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "chat" / f"ds={DS}"
    folder.mkdir(parents=True)
    rows = [{**json.loads(chat(i)), "ts": 1764144843000} for i in range(25)]
    pq.write_table(pa.Table.from_pylist(rows), folder / "a.parquet", row_group_size=10)
    whole = read_partition(tmp_path, "chat", DS)
    monkeypatch.setattr(read, "PARQUET_READ_ROWS", 3)
    batches = list(iter_partition(tmp_path, "chat", DS, 4))
    assert [r for b in batches for r in b.rows] == whole.rows and len(whole.rows) == 25
    assert not whole.quarantine


# --- staged parts and quarantine files -----------------------------------------------------------


def test_staged_parquet_appears_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "parts" / "chat.text.parquet"
    schema = pa.schema([pa.field("n", pa.int64())])
    with StagedParquet(path, schema, row_group_rows=2) as staged:
        for start in (0, 3, 6):
            staged.write(pa.table({"n": list(range(start, start + 3))}, schema=schema))
            assert not path.exists()
    assert staged.rows == 9 and pq.read_table(path)["n"].to_pylist() == list(range(9))
    with pytest.raises(RuntimeError), StagedParquet(path, schema) as staged:
        staged.write(pa.table({"n": [42]}, schema=schema))
        raise RuntimeError("scrubbing failed")
    assert pq.read_table(path)["n"].to_pylist() == list(range(9)), "the older complete file is left as it was"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file is left behind"


def quarantine_row(i: int) -> dict[str, Any]:
    return {"source": "chat", "file": "a.jsonl", "line": i, "reason": "invalid_json", "raw": f"raw line {i}"}


def test_quarantine_is_streamed_into_a_private_file(tmp_path: Path) -> None:
    root = tmp_path / "quarantine"
    with QuarantineWriter(root, "chat", DS) as quarantine:
        quarantine.write([quarantine_row(1), quarantine_row(2)])
        quarantine.write([])
        quarantine.write([quarantine_row(3)])
        assert not quarantine.target.exists()
    assert quarantine.path == quarantine.target and quarantine.rows == 3
    table = pq.read_table(quarantine.path)
    assert table.schema.equals(QUARANTINE_SCHEMA) and table["line"].to_pylist() == [1, 2, 3]
    assert stat.S_IMODE(quarantine.path.stat().st_mode) == 0o600
    for folder in (root, root / "chat", root / "chat" / f"ds={DS}"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with pytest.raises(RuntimeError), QuarantineWriter(root, "chat", DS) as failed:
        failed.write([quarantine_row(9)])
        raise RuntimeError("scrubbing failed")
    assert pq.read_table(quarantine.path)["line"].to_pylist() == [1, 2, 3]
    assert not failed.tmp.exists()
    assert write_quarantine(root, "chat", DS, []) is None and not quarantine.target.exists(), "no rows, no file"


# --- _stage_text, with the scrub step faked (the real one is covered end to end) ------------------


def fake_scrub_text_rows(ds, source, rows, policy, keys, roster, counts, canary_share=None) -> pa.Table:
    """Publishes every row as is, drops texts that say "drop", plants one canary in the planting batch."""
    from pipeline.datasets import text_table
    from pipeline.utterances import to_utterances

    utterances = [u for u in to_utterances(source, rows, roster) if "drop" not in u.text]
    counts["dropped"] = {"entity_action_drop_row": len(rows) - len(utterances)} if len(rows) > len(utterances) else {}
    counts["entities"] = {"PERSON": len(utterances)}
    counts["rows_touched"] = len(utterances)
    counts["canaries"] = {"EMAIL": {"planted": 1, "caught": 1}} if canary_share == (0, 1) else {}
    return text_table(source, utterances, [Redacted(u.text) for u in utterances], keys, (0.1, 0.1))


@pytest.fixture
def night(partition: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> run.NightConfig:
    monkeypatch.setenv(KEY_ENV, "k" * 32)
    monkeypatch.setattr(run, "scrub_text_rows", fake_scrub_text_rows)
    write_chat(partition, "c.jsonl", [chat(30, text="please drop this"), chat(31)])
    cfg = run.NightConfig(ds=DS, raw_root=str(partition), clean_root=str(tmp_path / "clean"),
                          quarantine_root=str(tmp_path / "quarantine"))
    run.plan(cfg)
    return cfg


def with_batch_rows(tmp_path: Path, rows: Any) -> str:
    policy = load_policy().raw
    path = tmp_path / f"policy-{rows}.yaml"
    path.write_text(yaml.safe_dump({**policy, "run": {"batch_rows": rows}}))
    return str(path)


@pytest.mark.parametrize("batch_rows", [1, 5, 20_000])
def test_stage_text_streams_batches_into_one_part_and_adds_their_counts(
    night: run.NightConfig, tmp_path: Path, batch_rows: int
) -> None:
    cfg = run.NightConfig(**{**night.to_dict(), "policy_path": with_batch_rows(tmp_path, batch_rows)})
    run.plan(cfg)  # a night is planned and scrubbed under one policy
    counts = run.scrub_chunk(cfg, "chat.0000")
    assert counts["input_rows"] == 29 and counts["files"] == 3
    assert counts["quarantined"] == {"duplicate_key": 3, "invalid_json": 1, "bad_type:text": 1, "blank_line": 1}
    assert counts["dropped"] == {"entity_action_drop_row": 1}
    assert counts["published"] == {"text": 22} and counts["rows_touched"] == 22 and counts["entities"] == {"PERSON": 22}
    assert counts["canaries"] == {"EMAIL": {"planted": 1, "caught": 1}}, "canaries are planted once per partition"
    assert run.reconcile({"chat": counts})["balanced"]
    part = pq.read_table(cfg.parts / "chat.0000.text.parquet")
    assert part.schema.equals(STAGED_SCHEMAS["text"]) and part.num_rows == 22
    assert pq.read_table(cfg.parts / "chat.0000.quarantine.parquet").num_rows == 6, "staged with the chunk"
    assert json.loads((cfg.parts / "chat.0000.counts.json").read_text()) == counts


def test_a_failed_batch_stages_nothing(night: run.NightConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(*args: Any, **kwargs: Any) -> pa.Table:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("detector crashed")
        return fake_scrub_text_rows(*args, **kwargs)

    monkeypatch.setattr(run, "scrub_text_rows", failing)
    cfg = run.NightConfig(**{**night.to_dict(), "policy_path": with_batch_rows(tmp_path, 4)})
    run.plan(cfg)
    with pytest.raises(RuntimeError, match="detector crashed"):
        run.scrub_chunk(cfg, "chat.0000")
    assert not cfg.parts.exists() or list(cfg.parts.iterdir()) == [], "no part, no temporary file, no counts"
    folder = cfg.quarantine / "chat" / f"ds={DS}"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_pool_pieces_keep_every_row_once_and_repeated_texts_together(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"id": i, "text": "ok" if i % 3 == 0 else f"text {i % 700}"} for i in range(5000)]
    pieces = run._pieces(rows, "text", workers=2)
    assert len(pieces) == 2 * run.PIECES_PER_WORKER
    assert sorted(r["id"] for p in pieces for r in p) == list(range(5000))
    assert all(p == sorted(p, key=lambda r: r["id"]) for p in pieces), "read order kept within a piece"
    homes = {}
    for k, piece in enumerate(pieces):
        for r in piece:
            assert homes.setdefault(r["text"], k) == k, "one text, one piece: the Detector sees it once"
    assert run._pieces(rows[:999], "text", workers=2) == [rows[:999]], "small batches are not cut"
    assert run._pieces([], "text", workers=2) == [[]], "an empty batch is still one task (it may carry canaries)"


@pytest.mark.parametrize("rows", [0, -5, "many", True, 2.5])
def test_batch_rows_in_the_policy_must_be_a_positive_integer(tmp_path: Path, rows: Any) -> None:
    with pytest.raises(PolicyError, match="run.batch_rows"):
        load_policy(with_batch_rows(tmp_path, rows))


def test_default_policy_batches_twenty_thousand_rows() -> None:
    assert load_policy().batch_rows == 20_000


# --- the command line ---------------------------------------------------------------------------


def test_workers_and_progress_options() -> None:
    base = ["run", "--ds", DS, "--raw", "r", "--clean", "c"]
    args = _parser().parse_args(base)
    assert args.workers is None and args.no_progress is False
    args = _parser().parse_args([*base, "--workers", "2", "--no-progress"])
    assert args.workers == 2 and args.no_progress is True
    assert _parser().parse_args(["demo", "--workers", "1"]).workers == 1
    with pytest.raises(SystemExit):
        _parser().parse_args([*base, "--workers", "0"])


# --- chunks: a partition cut into runs of files, each scrubbed alone, combined by validate -------


def with_run(tmp_path: Path, **settings: Any) -> str:
    policy = load_policy().raw
    path = tmp_path / f"policy-{'-'.join(f'{k}{v}' for k, v in settings.items())}.yaml"
    path.write_text(yaml.safe_dump({**policy, "run": {**policy["run"], **settings}}))
    return str(path)


@pytest.mark.parametrize("files", [slice(0, 1), slice(1, 2), slice(1, 3), slice(2, 3)])
def test_a_chunk_of_files_sees_the_keys_of_earlier_chunks(night: run.NightConfig, files: slice) -> None:
    raw = night.raw_root
    whole = read_partition(raw, "chat", DS)
    chunk = list(iter_partition(raw, "chat", DS, 4, files=files))
    names = [p.name for p in read.partition_files(raw, "chat", DS)][files]
    assert [r for b in chunk for r in b.rows] == [r for r in whole.rows if r["message_id"] in
                                                  {r["message_id"] for b in chunk for r in b.rows}]
    assert [q for b in chunk for q in b.quarantine] == [q for q in whole.quarantine if q["file"] in names]
    assert sum(b.files for b in chunk) == len(names)


@pytest.mark.parametrize("chunk_files", [1, 2, 3])
def test_chunks_add_up_to_the_whole_partition(night: run.NightConfig, tmp_path: Path, chunk_files: int) -> None:
    whole_cfg = run.NightConfig(**{**night.to_dict(), "policy_path": with_run(tmp_path, chunk_files=100)})
    assert run.plan(whole_cfg) == ["chat.0000"]
    whole = run.scrub_chunk(whole_cfg, "chat.0000")
    whole_part = pq.read_table(whole_cfg.parts / "chat.0000.text.parquet")
    whole_quarantine = pq.read_table(whole_cfg.parts / "chat.0000.quarantine.parquet")

    cfg = run.NightConfig(**{**night.to_dict(), "policy_path": with_run(tmp_path, chunk_files=chunk_files)})
    chunks = run.plan(cfg)
    assert chunks == [f"chat.{i:04d}" for i in range(-(-3 // chunk_files))]
    counts = [run.scrub_chunk(cfg, c) for c in reversed(chunks)]  # any order, as workers finish
    merged = run.merge_counts(sorted(counts, key=lambda c: c["chunk"]))
    assert merged == {k: v for k, v in whole.items() if k != "chunk"}, "the same counts, canaries once"
    parts = pa.concat_tables(pq.read_table(cfg.parts / f"{c}.text.parquet") for c in chunks)
    assert parts.sort_by("record_pid").equals(whole_part.sort_by("record_pid")), "every row once, the same rows"
    staged = [cfg.parts / f"{c}.quarantine.parquet" for c in chunks]
    assert pa.concat_tables(pq.read_table(p) for p in staged if p.exists()).equals(whole_quarantine)


def test_a_rerun_chunk_replaces_only_its_own_files(night: run.NightConfig, tmp_path: Path) -> None:
    cfg = run.NightConfig(**{**night.to_dict(), "policy_path": with_run(tmp_path, chunk_files=1)})
    chunks = run.plan(cfg)
    for c in chunks:
        run.scrub_chunk(cfg, c)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cfg.parts.iterdir()}
    again = run.scrub_chunk(cfg, chunks[1])
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in cfg.parts.iterdir()}
    assert set(after) == set(before)
    for name in after:
        mine = name.startswith(f"{chunks[1]}.")
        assert after[name][0] == before[name][0], "a retried chunk stages the same bytes"
        assert (after[name][1] != before[name][1]) == mine, "only the retried chunk's files are rewritten"
    assert again["chunk"] == chunks[1]
    for path in cfg.parts.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.parts.stat().st_mode) == 0o700


def test_a_chunk_refuses_raw_files_that_changed_since_the_plan(night: run.NightConfig, tmp_path: Path) -> None:
    cfg = run.NightConfig(**{**night.to_dict(), "policy_path": with_run(tmp_path, chunk_files=1)})
    run.plan(cfg)
    write_chat(Path(cfg.raw_root), "a0.jsonl", [chat(99)])
    with pytest.raises(run.RunError, match="raw files of chat changed"):
        run.scrub_chunk(cfg, "chat.0001")
    with pytest.raises(run.RunError, match="not in the plan"):
        run.scrub_chunk(cfg, "chat.0042")


def test_chunk_files_is_a_strict_positive_policy_field(tmp_path: Path) -> None:
    assert load_policy().chunk_files == 16
    assert load_policy(with_run(tmp_path, chunk_files=3)).chunk_files == 3
    for bad in (0, -1, "4", 2.5):
        with pytest.raises(PolicyError):
            load_policy(with_run(tmp_path, chunk_files=bad))


def test_combined_quarantine_is_the_same_file_however_the_chunks_were_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline import quarantine as q

    monkeypatch.setattr(q, "GROUP_ROWS", 4)
    rows = [quarantine_row(i) for i in range(11)]
    files = {}
    for cuts in ([0, 11], [0, 3, 4, 11], [0, 1, 2, 3, 5, 8, 9, 11]):
        staged = []
        for n, (a, b) in enumerate(zip(cuts, cuts[1:])):
            staged.append(write_quarantine(tmp_path, "chat", DS, rows[a:b], tmp_path / "parts" / f"{len(cuts)}-{n}.parquet"))
        staged.append(tmp_path / "parts" / "a chunk without quarantine rows.parquet")
        assert q.combine_quarantine(tmp_path / "quarantine", "chat", DS, staged) == 11
        target = q.quarantine_file(tmp_path / "quarantine", "chat", DS)
        files[len(cuts)] = target.read_bytes()
        assert pq.ParquetFile(target).metadata.num_row_groups == 3
    assert len(set(files.values())) == 1
    assert q.combine_quarantine(tmp_path / "quarantine", "chat", DS, []) == 0 and not target.exists()
