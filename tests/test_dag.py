"""The real DAG under `airflow dags test` on SQLite (on the canary night, see conftest): same outputs as the CLI,
its retention task ran, Airflow's own files are private, and nothing leaks into Airflow. The scheduled run for
the logical date DS + 1 day publishes DS (the day that just ended); a manual run with no logical date publishes
the night its `ds` param names, and a bad `ds` fails the run at once with one line."""

from __future__ import annotations

import sqlite3
import stat
from datetime import date, timedelta
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

from pipeline.airflow_local import trigger_dag
from pipeline.schedule import BAD_DS

pytestmark = pytest.mark.e2e
NEXT_DAY = (date.fromisoformat(DS) + timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def manual_runs(canary_night: Night, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, dict]]:
    """Two runs triggered by hand (no logical date) on one Airflow home: `ds` = DS, then a ds that is no date.
    Returns (clean root, AIRFLOW_HOME, each run's log and the DB's runs and task states right after it; DAG.test
    replaces an earlier run with the same logical date, None here, so they are read after each run)."""
    root = tmp_path_factory.mktemp("manual")
    clean, home = root / "clean", root / "airflow"
    settings = {"SCRUBLINE_RAW_ROOT": str(canary_night.raw), "SCRUBLINE_CLEAN_ROOT": str(clean),
                "SCRUBLINE_QUARANTINE_ROOT": str(root / "quarantine"), "SCRUBLINE_KEY_FILE": str(canary_night.key_file)}
    logs = {}
    for name, conf in (("good", {"ds": DS}), ("bad", {"ds": "2026-02-30"})):
        result = trigger_dag(home, settings, conf)
        logs[name] = {"log": result.stdout + result.stderr, "runs": _runs(home), "tasks": _tasks(home), "tries": _tries(home)}
        assert result.returncode == (0 if name == "good" else 1), logs[name]["log"][-4000:]
    return clean, home, logs


def _runs(home: Path) -> list[tuple[str | None, str, str]]:
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute("select logical_date, run_type, state from dag_run order by id").fetchall()


def _tasks(home: Path) -> dict[str, str]:
    with sqlite3.connect(home / "airflow.db") as db:
        return dict(db.execute("select task_id, state from task_instance where map_index = -1").fetchall())


def _tries(home: Path) -> dict[str, int]:
    with sqlite3.connect(home / "airflow.db") as db:
        return dict(db.execute("select task_id, try_number from task_instance where map_index = -1").fetchall())


def test_the_scheduled_run_publishes_the_day_that_ended(dag_run: tuple[Path, Path]) -> None:
    clean, home = dag_run
    ((logical, run_type, state),) = _runs(home)
    assert logical.startswith(NEXT_DAY) and state == "success", (logical, run_type, state)
    for dataset in ("text", "events"):
        assert sorted(p.name for p in (clean / dataset).iterdir()) == [f"ds={DS}"]


def test_a_manual_run_without_logical_date_publishes_the_ds_param(dag_run: tuple[Path, Path], manual_runs) -> None:
    clean, _, runs = manual_runs
    assert runs["good"]["runs"] == [(None, "manual", "success")]
    assert readers_see(clean, "text") > 0 and readers_see(clean, "events") > 0
    versions = [(root / "_nights" / f"ds={DS}" / "current").readlink() for root in (clean, dag_run[0])]
    assert versions[0] == versions[1], "the same night, whichever way the run was started"


def test_a_bad_ds_param_fails_at_once_with_one_line(manual_runs) -> None:
    clean, _, runs = manual_runs
    assert f"ConfigError: {BAD_DS}" in runs["bad"]["log"]
    assert runs["bad"]["runs"] == [(None, "manual", "failed")]
    ran = {task: state for task, state in runs["bad"]["tasks"].items() if state != "upstream_failed"}
    assert ran == {"night_config": "failed"}, runs["bad"]["tasks"]  # nothing was read, scrubbed or published
    assert runs["bad"]["tries"]["night_config"] == 1, "a setting the user must fix is not retried"
    assert sorted(p.name for p in (clean / "text").iterdir()) == [f"ds={DS}"]


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
