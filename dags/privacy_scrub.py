"""Nightly privacy scrub: thin TaskFlow wiring over pipeline.run, one mapped task per source partition.

Tasks pass only paths and counts through XCom. Heavy imports happen inside tasks, so parsing this file
stays cheap. Configure the roots with DAG params or SCRUBLINE_RAW_ROOT / SCRUBLINE_CLEAN_ROOT (and
optionally SCRUBLINE_QUARANTINE_ROOT, SCRUBLINE_ROSTER, SCRUBLINE_POLICY, SCRUBLINE_KEY_FILE); the HMAC key
comes from $SCRUBLINE_HMAC_KEY, SCRUBLINE_KEY_FILE, or the Airflow Variable `scrubline_hmac_secret`
(its name contains "secret", so Airflow masks it in logs).
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

KEY_VARIABLE = "scrubline_hmac_secret"
SETTINGS = {
    "raw_root": "SCRUBLINE_RAW_ROOT",
    "clean_root": "SCRUBLINE_CLEAN_ROOT",
    "quarantine_root": "SCRUBLINE_QUARANTINE_ROOT",
    "roster_path": "SCRUBLINE_ROSTER",
    "policy_path": "SCRUBLINE_POLICY",
    "key_file": "SCRUBLINE_KEY_FILE",
}


def _night(config: dict[str, Any]):
    """Rebuild the NightConfig inside a task, and make the key available to this worker process."""
    from pipeline.pseudonym import KEY_ENV
    from pipeline.run import NightConfig

    if not config.get("key_file") and not os.environ.get(KEY_ENV):
        from airflow.sdk import Variable

        secret = Variable.get(KEY_VARIABLE, default=None)
        if secret:
            os.environ[KEY_ENV] = secret
    return NightConfig(**config)


@dag(
    dag_id="privacy_scrub",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["privacy", "scrubline"],
    params={name: Param(None, type=["null", "string"]) for name in SETTINGS},
    doc_md=__doc__,
)
def privacy_scrub():
    @task
    def night_config() -> dict[str, Any]:
        context = get_current_context()
        params = context["params"]
        config = {name: params.get(name) or os.environ.get(env) for name, env in SETTINGS.items()}
        if not config["raw_root"] or not config["clean_root"]:
            raise ValueError("set raw_root and clean_root (DAG params or SCRUBLINE_RAW_ROOT / SCRUBLINE_CLEAN_ROOT)")
        return {"ds": context["ds"], **config}

    @task
    def plan(config: dict[str, Any]) -> list[str]:
        from pipeline.run import plan as plan_night

        return plan_night(_night(config))

    @task(retries=1)
    def scrub(config: dict[str, Any], source: str) -> dict[str, Any]:
        from pipeline.run import scrub_partition

        counts = scrub_partition(_night(config), source)
        return {k: counts[k] for k in ("source", "input_rows", "published")}

    @task
    def validate(config: dict[str, Any], scrubbed: list[dict[str, Any]]) -> dict[str, Any]:
        from pipeline.run import validate_night

        return validate_night(_night(config))

    @task
    def report(config: dict[str, Any], validated: dict[str, Any]) -> dict[str, str]:
        from pipeline.run import report_night

        return report_night(_night(config))

    @task
    def publish(config: dict[str, Any], reported: dict[str, str]) -> dict[str, Any]:
        from pipeline.run import publish_night

        return publish_night(_night(config))

    config = night_config()
    scrubbed = scrub.partial(config=config).expand(source=plan(config))
    validated = validate(config, scrubbed)
    publish(config, report(config, validated))


privacy_scrub()
