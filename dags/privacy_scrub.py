"""Nightly privacy scrub: thin TaskFlow wiring over pipeline.run, one mapped task per chunk of a partition.

A run scrubs the day that just ended (UTC): the run that fires at midnight starting 2026-11-27 publishes
ds=2026-11-26, whatever its logical date, and a run with no logical date (a manual trigger) scrubs yesterday.
The param `ds` (YYYY-MM-DD) names another night for a manual run or a re-run (pipeline.schedule).

plan → scrub (mapped) → validate → report → publish → retention. `plan` cuts each (source, ds) partition into
chunks (policy `run.chunk_files`, or the param / SCRUBLINE_CHUNK_FILES) and `scrub` runs once per chunk; at most SCRUBLINE_MAX_ACTIVE_CHUNKS (default
2) chunks of one run scrub at once, so the NLP memory stays bounded (each scrub task loads its own Detector: the
spaCy model and the recognizers). Tasks pass only paths, chunk ids and counts through XCom. Heavy imports happen inside tasks, so parsing this file stays cheap. Configure the roots with DAG params
or SCRUBLINE_RAW_ROOT / SCRUBLINE_CLEAN_ROOT (and optionally SCRUBLINE_QUARANTINE_ROOT, SCRUBLINE_STAGING_ROOT,
SCRUBLINE_ROSTER, SCRUBLINE_POLICY, SCRUBLINE_KEY_FILE); the HMAC key comes from $SCRUBLINE_HMAC_KEY,
SCRUBLINE_KEY_FILE, or the Airflow Variable `scrubline_hmac_secret` (its name contains "secret", so Airflow
masks it in logs). The param `rekey` lets a run replace a night published under another key (key rotation).
`publish` updates one Asset per published dataset (`scrubline.text`, `scrubline.events`). Under the policy
`output.publish: on_signoff` the task succeeds with the night committed but held for sign-off (readers do not see
it); its Asset events then say `held: true` and carry no path, and the reviewer's approval (`scrubline signoff`)
publishes the night outside Airflow.
"""

from __future__ import annotations

import os
from typing import Any

import pendulum
from airflow.sdk import Asset, Param, dag, get_current_context, task

from pipeline.contracts import DATASET_SCHEMAS

KEY_VARIABLE = "scrubline_hmac_secret"
# Chunks of one run scrubbed at the same time, whatever the number of workers: each holds a loaded NLP model.
MAX_ACTIVE_CHUNKS = int(os.environ.get("SCRUBLINE_MAX_ACTIVE_CHUNKS", "2"))
# One Asset per published dataset, updated when a night is published: schedule training DAGs on them. Named, not
# addressed (the clean root is a run-time setting); each event's extra says which night, version and folder.
ASSETS = {dataset: Asset(name=f"scrubline.{dataset}") for dataset in DATASET_SCHEMAS}
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


def _night(config: dict[str, Any]):
    """Rebuild the NightConfig inside a task, and make the key available to this worker process."""
    from pipeline.pseudonym import KEY_ENV
    from pipeline.run import NightConfig

    os.umask(0o077)  # whatever this task writes outside the published tree is private
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
    params={
        # Checked by night_config (one line), not by a JSON-schema format, whose refusal is a multi-line dump.
        "ds": Param(None, type=["null", "string"], description="night to scrub, YYYY-MM-DD; empty: the day that just ended"),
        **{name: Param(None, type=["null", "string"]) for name in SETTINGS},
        "rekey": Param(False, type="boolean", description="replace a night published under another HMAC key"),
    },
    doc_md=__doc__,
)
def privacy_scrub():
    @task
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

    @task
    def plan(config: dict[str, Any]) -> list[str]:
        """The night's chunk ids (e.g. `chat.0003`)."""
        from pipeline.run import plan as plan_night

        return plan_night(_night(config))

    @task(retries=1, max_active_tis_per_dagrun=MAX_ACTIVE_CHUNKS)
    def scrub(config: dict[str, Any], chunk: str) -> dict[str, Any]:
        from pipeline.run import scrub_chunk

        counts = scrub_chunk(_night(config), chunk)
        return {k: counts[k] for k in ("chunk", "input_rows", "published")}

    @task
    def validate(config: dict[str, Any], scrubbed: list[dict[str, Any]]) -> dict[str, Any]:
        from pipeline.run import validate_night

        return validate_night(_night(config))

    @task
    def report(config: dict[str, Any], validated: dict[str, Any]) -> dict[str, str]:
        from pipeline.run import report_night

        return report_night(_night(config))

    @task(outlets=list(ASSETS.values()))
    def publish(config: dict[str, Any], reported: dict[str, str]) -> dict[str, Any]:
        from pipeline.run import publish_night

        published = publish_night(_night(config))
        events = get_current_context()["outlet_events"]
        for dataset, asset in ASSETS.items():  # paths and ids only, like every XCom of this DAG
            where = {"held": True} if published["held"] else {"path": published["published"][dataset]}
            events[asset].extra = {"ds": config["ds"], "version": published["version"], **where}
        return published

    @task
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
    retention(config, publish(config, report(config, validated)))


privacy_scrub()
