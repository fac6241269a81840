"""The real DAG under `airflow dags test` on SQLite (on the canary night, see conftest): same outputs as the CLI,
its retention task ran, Airflow's own files are private, and nothing leaks into Airflow."""

from __future__ import annotations

import stat
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
from pipeline.publish import current_version
from support import DS, Night, readers_see
from support import manifest as dataset_manifest

pytestmark = pytest.mark.e2e


def test_dag_publishes_the_night(dag_run: tuple[Path, Path]) -> None:
    clean, _ = dag_run
    manifest = dataset_manifest(clean, "text")
    assert manifest["reconciliation"]["balanced"] and manifest["validation"]["success"]
    assert len(pd.read_parquet(clean / "text")) == manifest["rows"] == readers_see(clean, "text") > 0
    assert (clean / "_reports" / f"ds={DS}" / "report.json").exists()


def test_dag_shards_hold_no_planted_values(canary_night: Night, dag_run: tuple[Path, Path]) -> None:
    clean, _ = dag_run
    values = {v for _, v in planted(canary_night.ground_truth, MUST_NOT_LEAK, {"chat", "transcripts"})}
    values |= roster_values(canary_night.roster)
    assert survivors(parquet_strings(clean / "text"), values) == set()


def test_nothing_leaks_into_airflow_db_logs_or_xcom(canary_night: Night, dag_run: tuple[Path, Path]) -> None:
    clean, home = dag_run
    values = {v for _, v in planted(canary_night.ground_truth, MUST_NOT_LEAK | {"PERSON", "ADDRESS"},
                                    {"chat", "transcripts", "performance"})}
    values |= roster_values(canary_night.roster)
    db = home / "airflow.db"
    assert db.exists() and db.stat().st_size > 0
    assert "scrubbed chat" in (home / "dags_test.log").read_text(), "the task logs were captured"
    # Control: the same search does find the values where they really are.
    assert files_containing(canary_night.raw / "_ground_truth", values)
    assert files_containing(home, values) == {}
    assert files_containing(clean, values) == {}


def test_dag_runs_retention_after_publishing(dag_run: tuple[Path, Path]) -> None:
    _, home = dag_run
    log = (home / "dags_test.log").read_text()
    assert "retention" in log and "retention: deleted 0 partition(s)" in log


def test_airflow_files_the_pipeline_creates_are_private(dag_run: tuple[Path, Path]) -> None:
    _, home = dag_run
    for path in [home, *home.rglob("*")]:
        if path.name == "dags_test.log" or path.is_symlink():
            continue  # written by the test itself
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path.relative_to(home), oct(mode))


def test_dag_matches_the_cli(dag_run: tuple[Path, Path], cli_debug_run: tuple[Path, str]) -> None:
    clean, _ = dag_run
    cli_clean, _ = cli_debug_run
    for dataset in ("text", "events"):
        a = pd.read_parquet(clean / dataset).sort_values(list(pd.read_parquet(clean / dataset).columns[:3])).reset_index(drop=True)
        b = pd.read_parquet(cli_clean / dataset).sort_values(list(a.columns[:3])).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    versions = [current_version(root, DS) for root in (clean, cli_clean)]
    assert versions[0] == versions[1], "the same night is the same version, byte for byte"
