"""Nightly privacy scrub: thin TaskFlow wiring over pipeline.run, one mapped task per chunk of a partition.

A run scrubs the day that just ended (UTC): the run that fires at midnight starting 2026-11-27 publishes
ds=2026-11-26, whatever its logical date, and a run with no logical date (a manual trigger) scrubs yesterday.
The param `ds` (YYYY-MM-DD) names another night for a manual run or a re-run (pipeline.schedule).

plan → scrub (mapped) → validate → report → publish → announce and retention. `plan` cuts each (source, ds) partition into
chunks (policy `run.chunk_files`, or the param / SCRUBLINE_CHUNK_FILES) and `scrub` runs once per chunk; at most SCRUBLINE_MAX_ACTIVE_CHUNKS (default
2) chunks of one run scrub at once, so the NLP memory stays bounded (each scrub task loads its own Detector: the
spaCy model and the recognizers). Tasks pass only paths, chunk ids and counts through XCom. Heavy imports happen inside tasks, so parsing this file stays cheap. Configure the roots with DAG params
or SCRUBLINE_RAW_ROOT / SCRUBLINE_CLEAN_ROOT (and optionally SCRUBLINE_QUARANTINE_ROOT, SCRUBLINE_STAGING_ROOT,
SCRUBLINE_ROSTER, SCRUBLINE_POLICY, SCRUBLINE_KEY_FILE); the HMAC key comes from $SCRUBLINE_HMAC_KEY,
SCRUBLINE_KEY_FILE, or the Airflow Variable `scrubline_hmac_secret` (its name contains "secret", so Airflow
masks it in logs). The param `rekey` lets a run replace a night published under another key (key rotation).
`announce`, after `publish`, updates one Asset per published dataset (`scrubline.text`, `scrubline.events`). Under
the policy `output.publish: on_signoff`, `publish` succeeds with the night committed but held for sign-off: readers
do not see it, `announce` is skipped, so no Asset event is recorded and no training DAG runs on it; the reviewer's
approval (`scrubline signoff`) publishes the night outside Airflow.

Roots may be URLs (`s3://bucket/prefix`; the staging root stays a folder every worker shares). Object-store
credentials come from the workers' environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, an instance role, AWS_ENDPOINT_URL
for a store other than AWS), or from the Airflow connection SCRUBLINE_STORAGE_CONN names (type aws: login is the
key id, password the secret, extra `endpoint_url` and `region_name`); never from params, so never in XCom.

Every task has an execution timeout and retries with exponential backoff (SCRUBLINE_RETRIES, default 2, from
SCRUBLINE_RETRY_DELAY_S, default 60 s, doubling up to 30 min): a lost worker, a full disk or a busy night
heals on its own. An error the user must fix (a bad setting, input or key: pipeline.errors.UserError) fails the
task at once without retrying, since a retry would fail the same way; a night another run holds is retried.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from pipeline.contracts import DATASET_SCHEMAS
from pipeline.errors import UserError
from pipeline.locks import NightBusy

KEY_VARIABLE = "scrubline_hmac_secret"
STORAGE_CONNECTION = "SCRUBLINE_STORAGE_CONN"  # env: the Airflow connection id holding object-store credentials
# Chunks of one run scrubbed at the same time, whatever the number of workers: each holds a loaded NLP model.
MAX_ACTIVE_CHUNKS = int(os.environ.get("SCRUBLINE_MAX_ACTIVE_CHUNKS", "2"))
# One Asset per published dataset, updated when a night is published: schedule training DAGs on them. Named, not
# addressed (the clean root is a run-time setting); each event's extra says which night, version and folder.
ASSETS = {dataset: Asset(name=f"scrubline.{dataset}") for dataset in DATASET_SCHEMAS}
RETRIES = {
    "retries": int(os.environ.get("SCRUBLINE_RETRIES", "2")),
    "retry_delay": timedelta(seconds=float(os.environ.get("SCRUBLINE_RETRY_DELAY_S", "60"))),
    "retry_exponential_backoff": 2.0,  # a multiplier in Airflow 3: 1 min, 2 min, 4 min, … up to the cap
    "max_retry_delay": timedelta(minutes=30),
}
# Longest a try may run before Airflow stops it: a hung worker frees its slot. Scrub and validate scale with a
# chunk's or a night's size (chunks are bounded by `run.chunk_files`); the others only move paths.
TIMEOUTS = {
    "night_config": timedelta(minutes=5), "plan": timedelta(minutes=30), "scrub": timedelta(hours=3),
    "validate": timedelta(hours=3), "report": timedelta(hours=1), "publish": timedelta(hours=1),
    "announce": timedelta(minutes=5), "retention": timedelta(hours=1),
}
SETTINGS = {
    "raw_root": "SCRUBLINE_RAW_ROOT",
    "clean_root": "SCRUBLINE_CLEAN_ROOT",
    "quarantine_root": "SCRUBLINE_QUARANTINE_ROOT",
    "staging_root": "SCRUBLINE_STAGING_ROOT",
    "roster_path": "SCRUBLINE_ROSTER",
    "policy_path": "SCRUBLINE_POLICY",
    "key_file": "SCRUBLINE_KEY_FILE",
    "chunk_files": "SCRUBLINE_CHUNK_FILES",
}


def fail_fast(step: Callable[..., Any]) -> Callable[..., Any]:
    """A UserError fails the task without its retries (the same input fails the same way); NightBusy and any
    other error go through Airflow's retries. The message stays the error's one safe line."""

    @functools.wraps(step)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except NightBusy:
            raise
        except UserError as exc:
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from None

    return run


def _night(config: dict[str, Any]):
    """Rebuild the NightConfig inside a task, and make the key available to this worker process."""
    from pipeline.pseudonym import KEY_ENV
    from pipeline.night import NightConfig

    os.umask(0o077)  # whatever this task writes outside the published tree is private
    if not config.get("key_file") and not os.environ.get(KEY_ENV):
        from airflow.sdk import Variable

        secret = Variable.get(KEY_VARIABLE, default=None)
        if secret:
            os.environ[KEY_ENV] = secret
    _storage_credentials()
    return NightConfig(**config)


def _storage_credentials() -> None:
    """Put the object-store connection's credentials where s3fs looks (this worker process's environment), unless
    the environment already holds some: a deployment keeps its own way (profiles, instance roles) first."""
    conn_id = os.environ.get(STORAGE_CONNECTION)
    if not conn_id or os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    extra = conn.extra_dejson
    found = {"AWS_ACCESS_KEY_ID": conn.login, "AWS_SECRET_ACCESS_KEY": conn.password,
             "AWS_SESSION_TOKEN": extra.get("aws_session_token"), "AWS_ENDPOINT_URL": extra.get("endpoint_url"),
             "AWS_DEFAULT_REGION": extra.get("region_name")}
    os.environ.update({name: value for name, value in found.items() if value})


@dag(
    dag_id="privacy_scrub",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["privacy", "scrubline"],
    params={
        # Checked by night_config (one line), not by a JSON-schema format, whose refusal is a multi-line dump.
        "ds": Param(None, type=["null", "string"], description="night to scrub, YYYY-MM-DD; empty: the day that just ended"),
        **{name: Param(None, type=["null", "string"]) for name in SETTINGS},
        "rekey": Param(False, type="boolean", description="replace a night published under another HMAC key"),
    },
    doc_md=__doc__,
    default_args=RETRIES,
)
def privacy_scrub():
    @task(execution_timeout=TIMEOUTS["night_config"])
    @fail_fast
    def night_config() -> dict[str, Any]:
        from pipeline.schedule import night_for_run

        context = get_current_context()
        params = context["params"]
        ds = night_for_run(params.get("ds"), context.get("data_interval_end"), context["dag_run"].run_after)
        config = {name: params.get(name) or os.environ.get(env) for name, env in SETTINGS.items()}
        if not config["raw_root"] or not config["clean_root"]:
            from pipeline.errors import ConfigError

            raise ConfigError("set raw_root and clean_root (DAG params or SCRUBLINE_RAW_ROOT / SCRUBLINE_CLEAN_ROOT)")
        config["chunk_files"] = int(config["chunk_files"]) if config["chunk_files"] else None
        config = {"ds": ds, **config, "rekey": bool(params.get("rekey"))}
        return _night(config).to_dict()  # a bad setting fails here, before any work

    @task(execution_timeout=TIMEOUTS["plan"])
    @fail_fast
    def plan(config: dict[str, Any]) -> list[str]:
        """The night's chunk ids (e.g. `chat.0003`)."""
        from pipeline.run import plan as plan_night

        return plan_night(_night(config))

    @task(max_active_tis_per_dagrun=MAX_ACTIVE_CHUNKS, execution_timeout=TIMEOUTS["scrub"])
    @fail_fast
    def scrub(config: dict[str, Any], chunk: str) -> dict[str, Any]:
        from pipeline.run import scrub_chunk

        counts = scrub_chunk(_night(config), chunk)
        return {k: counts[k] for k in ("chunk", "input_rows", "published")}

    @task(execution_timeout=TIMEOUTS["validate"])
    @fail_fast
    def validate(config: dict[str, Any], scrubbed: list[dict[str, Any]]) -> dict[str, Any]:
        from pipeline.run import validate_night

        return validate_night(_night(config))

    @task(execution_timeout=TIMEOUTS["report"])
    @fail_fast
    def report(config: dict[str, Any], validated: dict[str, Any]) -> dict[str, str]:
        from pipeline.run import report_night

        return report_night(_night(config))

    @task(execution_timeout=TIMEOUTS["publish"])
    @fail_fast
    def publish(config: dict[str, Any], reported: dict[str, str]) -> dict[str, Any]:
        from pipeline.run import publish_night

        return publish_night(_night(config))

    @task(outlets=list(ASSETS.values()), execution_timeout=TIMEOUTS["announce"])
    def announce(config: dict[str, Any], published: dict[str, Any]) -> None:
        """One Asset event per dataset for a night readers can now see; skipped (so no event) while it is held."""
        if published["held"]:
            raise AirflowSkipException("the night is held for sign-off: readers do not see it yet")
        events = get_current_context()["outlet_events"]
        for dataset, asset in ASSETS.items():  # paths and ids only, like every XCom of this DAG
            events[asset].extra = {"ds": config["ds"], "version": published["version"], "path": published["published"][dataset]}

    @task(execution_timeout=TIMEOUTS["retention"])
    @fail_fast
    def retention(config: dict[str, Any], published: dict[str, Any]) -> dict[str, int]:
        """Raw and quarantine partitions past the policy's retention whose night is published (counts only)."""
        from datetime import date

        from pipeline.policy import load_policy
        from pipeline.retention import apply_retention

        cfg = _night(config)
        done = apply_retention(load_policy(cfg.policy_path), cfg.raw_root, cfg.clean_root, cfg.quarantine,
                               today=date.fromisoformat(cfg.ds))
        return {"deleted": len(done.deleted), "files_deleted": done.files_deleted, "kept_unpublished": len(done.kept_unpublished)}

    config = night_config()
    scrubbed = scrub.partial(config=config).expand(chunk=plan(config))
    validated = validate(config, scrubbed)
    published = publish(config, report(config, validated))
    announce(config, published)
    retention(config, published)


privacy_scrub()
