"""Publishing a night updates one Airflow Asset per dataset, and a DAG scheduled on them runs: real Airflow on
SQLite with its scheduler, dag-processor and api-server (LocalExecutor) on loopback, started and stopped here.
No run is triggered by hand: once the DAG is unpaused the scheduler makes the run of the last midnight, which
must scrub and publish the day that ended then (generated here), and the training DAG follows on its Assets.
Then `airflow backfill create` for one earlier midnight publishes the night before it, and triggers training again."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from support import free_port, wait_healthy

from pipeline.airflow_local import DAG_FILE, DAG_ID, airflow_env
from pipeline.contracts import DATASET_SCHEMAS
from pipeline.demo import generate_night
from pipeline.policy import default_policy_path
from pipeline.pseudonym import create_key_file
from pipeline.publish import current_version

pytestmark = pytest.mark.e2e
DOWNSTREAM = "train_on_new_shards"
# What a training team writes: a DAG scheduled on both published datasets, reading each event's extra.
DOWNSTREAM_DAG = '''
import json, os
from pathlib import Path
import pendulum
from airflow.sdk import Asset, dag, get_current_context, task


@dag(dag_id="train_on_new_shards", schedule=[Asset(name="scrubline.text"), Asset(name="scrubline.events")],
     start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def train_on_new_shards():
    @task
    def train() -> None:
        events = get_current_context()["triggering_asset_events"]
        seen = {getattr(key, "name", str(key)): [e.extra for e in evs] for key, evs in events.items()}
        Path(os.environ["SCRUBLINE_TEST_TRAINED"]).write_text(json.dumps(seen))

    train()


train_on_new_shards()
'''
DEADLINE_S = 900  # the whole stack, from migrate to the downstream run's end; it is stopped whatever happens



def _policy_without_reid_gate(folder: Path) -> Path:
    """The shipped policy with the re-identification gate out of reach (more users needed than these nights have):
    this module tests the Airflow wiring, with a new random key each run, and a night of six generated typists
    fails the gate under some keys (gradient boosting named 71% of sessions in one CI run; issue 16's notes).
    The gate itself is tested in test_reid.py and test_reid_end_to_end.py."""
    text = default_policy_path().read_text()
    assert "\nreid:\n" in text and "\n  min_users: 5\n" in text
    path = folder / "policy.yaml"
    path.write_text(text.replace("\n  min_users: 5\n", "\n  min_users: 1000\n", 1))
    return path

@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str], Path]]:
    """A migrated SQLite Airflow with both DAGs, and its three services running: (home, env, clean root)."""
    root = tmp_path_factory.mktemp("assets")
    home, dags, clean, raw = root / "airflow", root / "dags", root / "clean", root / "raw"
    today = datetime.now(UTC).date()  # both candidates, in case midnight (UTC) passes while this runs
    backfilled = today - timedelta(days=4)  # an earlier night, for the backfill test
    for day in (today - timedelta(days=1), today, backfilled):
        generate_night(raw, day.isoformat(), employees=6, seed=11)
    (root / "backfilled").write_text(backfilled.isoformat())
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)  # the DAG file the package ships, as `scrubline dag --copy-to` does
    (dags / "train_on_new_shards.py").write_text(DOWNSTREAM_DAG)
    port = free_port()
    env = airflow_env(home, {
        "SCRUBLINE_RAW_ROOT": str(raw), "SCRUBLINE_CLEAN_ROOT": str(clean),
        "SCRUBLINE_QUARANTINE_ROOT": str(root / "quarantine"), "SCRUBLINE_KEY_FILE": str(create_key_file(root / "hmac.key")),
        "SCRUBLINE_POLICY": str(_policy_without_reid_gate(root)),
        "SCRUBLINE_TEST_TRAINED": str(root / "trained.json"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(port), "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32), "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",  # the services talk on loopback
    })
    airflow = str(Path(sys.executable).with_name("airflow"))
    home.mkdir(mode=0o700)
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, text=True, umask=0o077,
                   timeout=300)
    services = []
    try:
        for name in ("api-server", "dag-processor", "scheduler"):
            log = open(root / f"{name}.log", "w")  # noqa: SIM115 -- closed with the stack
            services.append((subprocess.Popen([airflow, name], env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True, umask=0o077), log))
            if name == "api-server":  # tasks report to it: on a slow machine a task started before it fails
                wait_healthy(port, services[0][0])
        yield home, env, clean
    finally:
        for process, _ in services:  # each service and the workers it forked: its own session, by its id
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in services:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            log.close()


def _query(home: Path, sql: str) -> list[tuple]:
    try:
        with sqlite3.connect(f"file:{home / 'airflow.db'}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # locked for a moment by a writer, or a table not there yet
        return []


def _wait(until, what: str, started: float) -> None:
    while not until():
        assert time.monotonic() - started < DEADLINE_S, f"gave up waiting for {what}"
        time.sleep(2)


@pytest.fixture(scope="module")
def scheduled(stack: tuple[Path, dict[str, str], Path]) -> tuple[Path, Path, str]:
    """The scheduler's own run of privacy_scrub, waited on until the downstream DAG's run ended too:
    (AIRFLOW_HOME, clean root, the night that run had to scrub: the day before its logical date)."""
    home, _, clean = stack
    started = time.monotonic()
    ended = "('success', 'failed')"
    _wait(lambda: _query(home, f"select 1 from dag_run where dag_id = '{DAG_ID}' and state in {ended}"),
          "the scheduled scrub run", started)
    if _query(home, f"select 1 from dag_run where dag_id = '{DAG_ID}' and state = 'success'"):
        _wait(lambda: _query(home, f"select 1 from dag_run where dag_id = '{DOWNSTREAM}' and state in {ended}"),
              "the downstream run", started)
    ((logical,),) = _query(home, f"select logical_date from dag_run where dag_id = '{DAG_ID}'")
    night = (datetime.fromisoformat(logical).date() - timedelta(days=1)).isoformat()
    return home, clean, night


def _task_errors(home: Path) -> list[str]:
    """Each failed try's exception, one line per try, from the task logs (the pipeline's messages carry no raw
    value), so a run that failed on a CI machine says why in the test's own output."""
    errors = []
    for log in sorted((home / "logs" / f"dag_id={DAG_ID}").rglob("attempt=*.log")):
        for line in log.read_text(errors="replace").splitlines():
            if '"exc_type"' in line:
                detail = json.loads(line)["error_detail"][0]
                errors.append(f"{log.parent.relative_to(home / 'logs')}/{log.name}: {detail['exc_type']}: {detail['exc_value']}")
    return errors


def test_the_scheduled_run_publishes_the_day_that_ended(scheduled: tuple[Path, Path, str]) -> None:
    home, clean, night = scheduled
    runs = _query(home, f"select run_type, state from dag_run where dag_id = '{DAG_ID}'")
    assert runs == [("scheduled", "success")], _task_errors(home)
    today = datetime.now(UTC).date()
    assert datetime.fromisoformat(night).date() in (today - timedelta(days=2), today - timedelta(days=1))
    for dataset in DATASET_SCHEMAS:
        assert [p.name for p in (clean / dataset).iterdir()] == [f"ds={night}"]
        assert (clean / "_nights" / f"ds={night}" / "current" / "_SUCCESS").exists()  # the reader rule


def test_publish_records_one_asset_event_per_dataset(scheduled: tuple[Path, Path, str]) -> None:
    home, clean, night = scheduled
    events = _query(home, "select a.name, e.extra, e.source_task_id from asset_event e join asset a on a.id = e.asset_id")
    assert sorted(name for name, _, _ in events) == sorted(f"scrubline.{d}" for d in DATASET_SCHEMAS)
    version = current_version(clean, night)
    for name, extra, task in events:
        dataset = name.removeprefix("scrubline.")
        assert task == "announce"
        assert json.loads(extra) == {"ds": night, "version": version, "path": str(clean / dataset / f"ds={night}")}


def test_a_dag_scheduled_on_the_assets_runs(scheduled: tuple[Path, Path, str]) -> None:
    home, clean, night = scheduled
    runs = _query(home, f"select run_type, state from dag_run where dag_id = '{DOWNSTREAM}'")
    assert runs == [("asset_triggered", "success")], runs
    trained = json.loads((home.parent / "trained.json").read_text())
    assert sorted(trained) == sorted(f"scrubline.{d}" for d in DATASET_SCHEMAS)
    for name, extras in trained.items():
        assert [e["path"] for e in extras] == [str(clean / name.removeprefix("scrubline.") / f"ds={night}")]


def test_a_backfill_publishes_the_night_before_each_logical_date(scheduled: tuple[Path, Path, str],
                                                                 stack: tuple[Path, dict[str, str], Path]) -> None:
    home, clean, _ = scheduled
    _, env, _ = stack
    night = date.fromisoformat((home.parent / "backfilled").read_text())
    midnight = (night + timedelta(days=1)).isoformat()
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "backfill", "create", "--dag-id", DAG_ID, "--from-date", midnight, "--to-date", midnight],
                   env=env, check=True, capture_output=True, text=True, timeout=120)
    started, ended = time.monotonic(), "('success', 'failed')"
    query = f"select logical_date, state from dag_run where dag_id = '{DAG_ID}' and run_type = 'backfill'"
    _wait(lambda: _query(home, f"{query} and state in {ended}"), "the backfill run", started)
    ((logical, state),) = _query(home, query)
    assert logical.startswith(midnight) and state == "success", _task_errors(home)
    assert (clean / "_nights" / f"ds={night.isoformat()}" / "current" / "_SUCCESS").exists()
    for dataset in ("text", "events"):
        assert any((clean / dataset / f"ds={night.isoformat()}").glob("train-*.parquet"))
    _wait(lambda: len(_query(home, f"select 1 from dag_run where dag_id = '{DOWNSTREAM}' and state = 'success'")) == 2,
          "training on the backfilled night", started)
