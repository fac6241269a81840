"""Run the real DAG on this machine over a SQLite metadata DB: as the scheduled run of a midnight (`airflow dags
test`), or as a run triggered by hand with no logical date. The DAG file is the one shipped in the package.

Used by `scrubline demo --airflow` and by the end-to-end tests, so both exercise the same wiring.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

DAG_ID = "privacy_scrub"
# The DAG file ships as package data (pipeline/dags/), so an installed wheel runs the DAG it was built with.
DAGS_FOLDER = Path(str(resources.files("pipeline") / "dags"))
DAG_FILE = DAGS_FOLDER / "privacy_scrub.py"


def airflow_env(airflow_home: Path, settings: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE": "False",
            "GX_ANALYTICS_ENABLED": "False",
            "NO_COLOR": "1",
        }
    )
    env.update(settings)
    return env


def run_dag(ds: str, airflow_home: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The scheduled run that publishes night `ds`: the one that fires when `ds` ends, i.e. `airflow dags test`
    for the logical date `ds` + 1 day at midnight UTC (the DAG scrubs the day before its run). Output captured."""
    fires = (date.fromisoformat(ds) + timedelta(days=1)).isoformat() + "T00:00:00+00:00"
    airflow = str(Path(sys.executable).with_name("airflow"))
    return _airflow(airflow_home, settings, [airflow, "dags", "test", DAG_ID, fires])


def trigger_dag(airflow_home: Path, settings: dict[str, str], conf: dict[str, object]) -> subprocess.CompletedProcess[str]:
    """A run triggered by hand, as the UI or the REST API makes it by default: no logical date, params in `conf`
    (e.g. {"ds": "2026-11-26"}). `airflow dags test` always sets a logical date, so this calls DAG.test itself."""
    return _airflow(airflow_home, settings, [sys.executable, "-c", _MANUAL_RUN, DAG_ID, json.dumps(conf)])


# DAG.test with logical_date=None is the run a manual trigger creates; exit 1 unless the run succeeded.
_MANUAL_RUN = """
import json, sys
from airflow.utils.cli import get_bagged_dag
run = get_bagged_dag(bundle_names=None, dag_id=sys.argv[1]).test(logical_date=None, run_conf=json.loads(sys.argv[2]))
sys.exit(0 if run.state == "success" else 1)
"""


def _airflow(airflow_home: Path, settings: dict[str, str], command: list[str]) -> subprocess.CompletedProcess[str]:
    """Migrate the metadata DB (once per AIRFLOW_HOME), then run `command` against it."""
    airflow_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    airflow_home.chmod(0o700)
    env = airflow_env(airflow_home, settings)
    airflow = str(Path(sys.executable).with_name("airflow"))
    # Airflow's database, logs and config under AIRFLOW_HOME are this user's only (umask 077).
    if not (airflow_home / ".migrated").exists():
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, text=True, umask=0o077)
        (airflow_home / ".migrated").touch(mode=0o600)
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, umask=0o077)
