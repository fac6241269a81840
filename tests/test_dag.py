"""The real DAG under `airflow dags test` on SQLite: same outputs as the CLI, and nothing leaks into Airflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from leaks import (
    MUST_NOT_LEAK,
    files_containing,
    parquet_strings,
    planted,
    roster_values,
    survivors,
)
from support import DS, Night

from pipeline.airflow_local import run_dag

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dag_run(night: Night, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("dag")
    clean, home = root / "clean", root / "airflow"
    settings = {
        "SCRUBLINE_RAW_ROOT": str(night.raw),
        "SCRUBLINE_CLEAN_ROOT": str(clean),
        "SCRUBLINE_QUARANTINE_ROOT": str(root / "quarantine"),
        "SCRUBLINE_KEY_FILE": str(night.key_file),
    }
    result = run_dag(DS, home, settings)
    (home / "dags_test.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return clean, home


def test_dag_publishes_the_night(dag_run: tuple[Path, Path]) -> None:
    clean, _ = dag_run
    folder = clean / "text" / f"ds={DS}"
    assert (folder / "_SUCCESS").exists()
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["reconciliation"]["balanced"] and manifest["validation"]["success"]
    assert len(pd.read_parquet(clean / "text")) == manifest["rows"] > 0


def test_dag_shards_hold_no_planted_values(night: Night, dag_run: tuple[Path, Path]) -> None:
    clean, _ = dag_run
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK, {"chat", "transcripts"})} | roster_values(night.roster)
    assert survivors(parquet_strings(clean / "text"), values) == set()


def test_nothing_leaks_into_airflow_db_logs_or_xcom(night: Night, dag_run: tuple[Path, Path]) -> None:
    clean, home = dag_run
    values = {v for _, v in planted(night.ground_truth, MUST_NOT_LEAK | {"PERSON", "ADDRESS"}, {"chat", "transcripts", "performance"})}
    values |= roster_values(night.roster)
    db = home / "airflow.db"
    assert db.exists() and db.stat().st_size > 0
    assert "scrubbed chat" in (home / "dags_test.log").read_text(), "the task logs were captured"
    # Control: the same search does find the values where they really are.
    assert files_containing(night.raw / "_ground_truth", values)
    assert files_containing(home, values) == {}
    assert files_containing(clean, values) == {}


def test_dag_matches_the_cli(night: Night, dag_run: tuple[Path, Path], tmp_path: Path) -> None:
    from support import run_night

    clean, _ = dag_run
    cli_clean = tmp_path / "clean"
    assert run_night(night, cli_clean).returncode == 0
    a = pd.read_parquet(clean / "text").sort_values("record_pid").reset_index(drop=True)
    b = pd.read_parquet(cli_clean / "text").sort_values("record_pid").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
