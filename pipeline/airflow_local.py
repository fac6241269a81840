"""Run the real DAG on this machine with `airflow dags test` over a SQLite metadata DB.

Used by `scrubline demo --airflow` and by the end-to-end tests, so both exercise the same wiring.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
    """Migrate the metadata DB (once per AIRFLOW_HOME) and run one DAG run for `ds`; output is captured."""
    airflow_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    airflow_home.chmod(0o700)
    env = airflow_env(airflow_home, settings)
    airflow = str(Path(sys.executable).with_name("airflow"))
    # Airflow's database, logs and config under AIRFLOW_HOME are this user's only (umask 077).
    if not (airflow_home / ".migrated").exists():
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, text=True, umask=0o077)
        (airflow_home / ".migrated").touch(mode=0o600)
    return subprocess.run(
        [airflow, "dags", "test", DAG_ID, ds], env=env, capture_output=True, text=True, check=False, umask=0o077
    )
