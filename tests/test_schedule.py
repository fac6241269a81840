"""Which night a DAG run scrubs: the day that just ended (UTC), or the `ds` param; never the logical date."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.airflow_local import DAG_FILE, DAG_ID, airflow_env
from pipeline.errors import ConfigError
from pipeline.schedule import BAD_DS, night_for_run

MIDNIGHT_27 = datetime(2026, 11, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data_interval_end", "run_after", "night"),
    [
        (MIDNIGHT_27, MIDNIGHT_27, "2026-11-26"),  # @daily, point in time: logical date = interval end = midnight
        (MIDNIGHT_27, MIDNIGHT_27 + timedelta(minutes=3), "2026-11-26"),  # picked up a little late
        (MIDNIGHT_27 + timedelta(hours=2), MIDNIGHT_27 + timedelta(hours=2), "2026-11-26"),  # a 02:00 schedule
        (None, datetime(2026, 11, 27, 10, 34, tzinfo=UTC), "2026-11-26"),  # manual, no logical date: yesterday
        (None, datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC), "2026-12-31"),  # across a year
        (None, datetime(2028, 3, 1, 9, tzinfo=UTC), "2028-02-29"),  # leap day
        # Nights are UTC days: 00:30 in Paris is still 26 November in UTC, so the ended day is the 25th.
        (datetime(2026, 11, 27, 0, 30, tzinfo=timezone(timedelta(hours=1))), None, "2026-11-25"),
        (datetime(2026, 11, 27, 0, 0), None, "2026-11-26"),  # naive: Airflow's times are UTC
    ],
)
def test_the_night_is_the_day_before_the_run(data_interval_end, run_after, night) -> None:
    assert night_for_run(None, data_interval_end, run_after) == night


def test_the_ds_param_wins_over_the_schedule() -> None:
    assert night_for_run("2026-10-01", MIDNIGHT_27, MIDNIGHT_27) == "2026-10-01"
    assert night_for_run("2026-10-01", None, datetime(2026, 11, 27, 10, tzinfo=UTC)) == "2026-10-01"


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "20261126", "2026-11-26T00:00", " 2026-11-26",
                                 "2026-1-26", "\uff12\uff10\uff12\uff16-\uff11\uff11-\uff12\uff16", "", 20261126, ["2026-11-26"]])
def test_a_bad_ds_param_is_one_line_that_does_not_quote_it(bad: object) -> None:
    with pytest.raises(ConfigError) as raised:
        night_for_run(bad, MIDNIGHT_27, MIDNIGHT_27)
    assert str(raised.value) == BAD_DS and "\n" not in BAD_DS


def test_a_run_without_any_time_asks_for_the_param() -> None:
    with pytest.raises(ConfigError, match="pass the param ds"):
        night_for_run(None, None, None)


# Parsed by Airflow itself (its DagBag and timetable classes), in a child process so this
# test process never imports Airflow or writes an AIRFLOW_HOME of its own.
_REAL_AIRFLOW = """
import json, sys
import pendulum
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.encoders import coerce_to_core_timetable
from airflow.timetables.base import TimeRestriction
from airflow.timetables.interval import CronDataIntervalTimetable
from pipeline.schedule import night_for_run

dag = DagBag(dag_folder=sys.argv[1]).dags[sys.argv[2]]  # parsed only: no metadata DB needed
fires = pendulum.datetime(2026, 11, 27, tz="UTC")
out = {}
for name, timetable in [("default", coerce_to_core_timetable(dag.timetable)),
                        ("interval", CronDataIntervalTimetable("@daily", timezone="UTC"))]:
    info = timetable.next_dagrun_info(last_automated_data_interval=None,
                                      restriction=TimeRestriction(earliest=fires - pendulum.duration(days=1), latest=None, catchup=True))
    while info.run_after < fires:
        info = timetable.next_dagrun_info(last_automated_data_interval=info.data_interval,
                                          restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    logical = info.data_interval.start  # what Airflow passes as the logical date (and so as `ds`)
    out[name] = {"fires": info.run_after.isoformat(), "logical_ds": logical.strftime("%Y-%m-%d"),
                 "night": night_for_run(None, info.data_interval.end, info.run_after)}
manual = coerce_to_core_timetable(dag.timetable).infer_manual_data_interval(run_after=fires)
out["dags_test"] = night_for_run(None, manual.end, fires)
out["ds_param"] = dag.params.get_param("ds").resolve()  # a scheduled run's default
print(json.dumps(out))
"""


def test_the_dags_own_timetable_scrubs_the_day_that_ended(tmp_path: Path) -> None:
    env = airflow_env(tmp_path / "airflow", {})
    result = subprocess.run([sys.executable, "-c", _REAL_AIRFLOW, str(DAG_FILE), DAG_ID], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # The trap: under Airflow 3's default timetable the midnight run's logical date is the day just starting.
    assert found["default"] == {"fires": "2026-11-27T00:00:00+00:00", "logical_ds": "2026-11-27", "night": "2026-11-26"}
    # An interval timetable (create_cron_data_intervals=True) gives another logical date but the same night.
    assert found["interval"] == {"fires": "2026-11-27T00:00:00+00:00", "logical_ds": "2026-11-26", "night": "2026-11-26"}
    assert found["dags_test"] == "2026-11-26"  # `airflow dags test privacy_scrub 2026-11-27` publishes the 26th
    assert found["ds_param"] is None
