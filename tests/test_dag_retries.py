"""The DAG's Airflow idioms, read off the parsed DAG: every task retries with exponential backoff and has an
execution timeout; an error the user must fix fails at once (a retry would fail the same way), a busy night and
anything else go through the retries."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from pipeline.errors import ConfigError
from pipeline.locks import NightBusy

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "privacy_scrub.py"


@pytest.fixture(scope="module")
def module():
    spec = importlib.util.spec_from_file_location("privacy_scrub_under_test", DAG_FILE)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_every_task_retries_with_backoff_and_has_a_timeout(module) -> None:
    dag = module.privacy_scrub()
    assert {t.task_id for t in dag.tasks} == set(module.TIMEOUTS)
    for t in dag.tasks:
        assert t.retries == 2, t.task_id
        assert t.retry_delay == timedelta(minutes=1) and t.retry_exponential_backoff == 2.0, t.task_id
        assert t.max_retry_delay == timedelta(minutes=30), t.task_id
        assert t.execution_timeout == module.TIMEOUTS[t.task_id] and t.execution_timeout > timedelta(0), t.task_id


def test_a_user_error_fails_without_retry_and_keeps_its_one_line(module) -> None:
    def bad() -> None:
        raise ConfigError("ds must be YYYY-MM-DD")

    with pytest.raises(AirflowFailException, match=r"^ConfigError: ds must be YYYY-MM-DD$"):
        module.fail_fast(bad)()


@pytest.mark.parametrize("error", [NightBusy("another run holds ds=2026-11-26"), OSError("disk full")])
def test_a_busy_night_or_a_fault_goes_through_the_retries(module, error: Exception) -> None:
    def flaky() -> None:
        raise error

    with pytest.raises(type(error)):
        module.fail_fast(flaky)()
    assert module.fail_fast(lambda x: x + 1)(1) == 2
