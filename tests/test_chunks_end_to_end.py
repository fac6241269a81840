"""Chunked partitions end to end (real Presidio, spaCy, GE, Parquet; real `airflow dags test` on SQLite): the
same night cut into 1, 3 and 8 chunks per partition (text by files, keystrokes and mouse by session, with
sessions spread over several files) publishes the same bytes (shards, manifests, report, the night-wide timing
draws and the re-identification gate's figures) and the same quarantine, every input row is accounted for
across chunks, and the DAG, one mapped scrub task per chunk, publishes exactly what the CLI does."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from support import DS, Night, manifest, published_bytes, quarantine_bytes, run_night

from pipeline.airflow_local import run_dag
from pipeline.policy import CANARY_LABELS

pytestmark = pytest.mark.e2e
SPLIT_INTO = 8
SPLIT = ("chat", "transcripts", "keystrokes", "mouse")


@pytest.fixture(scope="module")
def many_files(night: Night, tmp_path_factory: pytest.TempPathFactory) -> Night:
    """The shared night with each generated chat, transcripts, keystrokes and mouse file cut into 8 files (name
    order keeps line order, so sessions run across files), and a chat and a mouse row repeated in the last file:
    duplicate keys that only a later chunk meets."""
    raw = tmp_path_factory.mktemp("many-files") / "raw"
    shutil.copytree(night.raw, raw)
    for source in SPLIT:
        folder = raw / source / f"ds={DS}"
        generated = folder / "part-0000.jsonl.gz"
        lines = gzip.decompress(generated.read_bytes()).decode().splitlines()
        generated.unlink()
        step = -(-len(lines) // SPLIT_INTO)
        for i in range(SPLIT_INTO):
            repeat = [lines[0]] if source in ("chat", "mouse") and i == SPLIT_INTO - 1 else []
            piece = lines[i * step : (i + 1) * step] + repeat
            (folder / f"part-0000-{i:02d}.jsonl").write_text("".join(line + "\n" for line in piece))
    return Night(raw=raw, key_file=night.key_file)


@pytest.fixture(scope="module")
def cli_runs(many_files: Night, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """The night through `scrubline run` with 8, 3 and 1 files per chunk: clean root by files per chunk."""
    out = {}
    for chunk_files in (SPLIT_INTO, 3, 1):
        clean = tmp_path_factory.mktemp(f"chunks-{chunk_files}") / "clean"
        result = run_night(many_files, clean, "--chunk-files", str(chunk_files), "--workers", "1", "--no-progress")
        assert result.returncode == 0, result.stderr[-4000:]
        out[chunk_files] = clean
    return out


def test_the_number_of_chunks_does_not_change_a_published_byte(cli_runs: dict[int, Path]) -> None:
    whole = published_bytes(cli_runs[SPLIT_INTO])
    assert any(name.endswith(".parquet") for name in whole) and "_night.json" in whole
    for chunk_files, clean in cli_runs.items():
        assert published_bytes(clean) == whole, f"{chunk_files} file(s) per chunk"
        assert quarantine_bytes(clean) == quarantine_bytes(cli_runs[SPLIT_INTO]), f"{chunk_files} file(s) per chunk"


def test_every_canary_class_is_planted_per_class_times_whatever_the_chunks(cli_runs: dict[int, Path]) -> None:
    """Each class's canaries are planted once a night (the plan shares them out), not once per chunk."""
    for chunk_files, clean in cli_runs.items():
        report = json.loads((clean / "_reports" / f"ds={DS}" / "report.json").read_text())
        planted = {label: c["planted"] for label, c in report["canaries"]["labels"].items()}
        assert planted == dict.fromkeys(CANARY_LABELS, 20), f"{chunk_files} file(s) per chunk"


def test_every_input_row_is_accounted_for_across_chunks(many_files: Night, cli_runs: dict[int, Path]) -> None:
    text = manifest(cli_runs[1], "text")
    assert text["reconciliation"]["balanced"]
    for source in SPLIT:
        lines = sum(len(p.read_text().splitlines()) for p in (many_files.raw / source / f"ds={DS}").iterdir())
        counts = text["sources"][source]
        assert counts["input_rows"] == lines and counts["files"] == len(list((many_files.raw / source / f"ds={DS}").iterdir()))
    for source in ("chat", "mouse"):
        assert text["sources"][source]["quarantined"]["duplicate_key"] == 1, "the repeat in the last chunk is caught"
    assert quarantine_bytes(cli_runs[1]), "the malformed rows are quarantined"


def test_the_dag_maps_one_scrub_task_per_chunk_and_matches_the_cli(
    many_files: Night, cli_runs: dict[int, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("chunks-dag")
    clean, home = root / "clean", root / "airflow"
    settings = {
        "SCRUBLINE_RAW_ROOT": str(many_files.raw), "SCRUBLINE_CLEAN_ROOT": str(clean),
        "SCRUBLINE_QUARANTINE_ROOT": str(root / "quarantine"), "SCRUBLINE_KEY_FILE": str(many_files.key_file),
        "SCRUBLINE_CHUNK_FILES": "1",
    }
    result = run_dag(DS, home, settings)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with sqlite3.connect(home / "airflow.db") as db:
        scrubs = db.execute("select map_index, state from task_instance where task_id = 'scrub' order by map_index").fetchall()
    files = {s: len(list((many_files.raw / s / f"ds={DS}").iterdir())) for s in SPLIT}
    assert len(scrubs) == sum(files.values()) + 1, "a chunk per file of each split source, one for performance"
    assert len(scrubs) >= 8 and {state for _, state in scrubs} == {"success"}
    assert published_bytes(clean) == published_bytes(cli_runs[1]), "byte for byte what the CLI published"
    assert quarantine_bytes(clean) == quarantine_bytes(cli_runs[1])
