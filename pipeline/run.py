"""One night, stage by stage: the only module that knows the order of the stages.

The CLI calls `run_night`; the Airflow DAG calls the same per-step functions (`plan`, `scrub_partition`,
`validate_night`, `report_night`, `publish_night`) as separate tasks. Each step reads and writes only
under the night's staging folder, so any step can be re-run and a re-run replaces its own output.
Steps return small dicts of counts and paths, which is all that may travel through XCom.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.contracts import PIPELINE_VERSION, TEXT_DATASET, TEXT_SCHEMA
from pipeline.policy import Policy, load_policy
from pipeline.pseudonym import Pseudonymizer, load_key
from pipeline.publish import (
    published_dir,
    read_json,
    read_tables,
    reports_dir,
    reset_dir,
    shard_table,
    staging_root,
    swap_into_place,
    write_json,
    write_quarantine,
    write_table,
    write_text_file,
)
from pipeline.read import read_partition, read_roster, sources_present
from pipeline.report import build_report, write_report
from pipeline.roster import Roster
from pipeline.scrub import scrub_batch
from pipeline.summarize import summarize_performance
from pipeline.utterances import to_utterances
from pipeline.validate import validate_table

log = logging.getLogger("scrubline")


class RunError(RuntimeError):
    """The night cannot be published; the message is safe to print (counts and names of rules only)."""


@dataclass(frozen=True)
class NightConfig:
    """Where one night's inputs and outputs live. Paths only: this travels through XCom as a dict."""

    ds: str
    raw_root: str
    clean_root: str
    quarantine_root: str | None = None
    roster_path: str | None = None
    policy_path: str | None = None
    key_file: str | None = None

    def __post_init__(self) -> None:
        datetime.strptime(self.ds, "%Y-%m-%d")  # a malformed ds would end up in folder names

    @property
    def quarantine(self) -> Path:
        return Path(self.quarantine_root or Path(self.raw_root) / "_quarantine")

    @property
    def roster_file(self) -> Path | None:
        if self.roster_path:
            return Path(self.roster_path)
        default = Path(self.raw_root) / "roster.jsonl"
        return default if default.exists() else None

    @property
    def staging(self) -> Path:
        return staging_root(self.clean_root, self.ds)

    @property
    def parts(self) -> Path:
        return self.staging / "parts"

    @property
    def staged_dataset(self) -> Path:
        return self.staging / TEXT_DATASET

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _context(cfg: NightConfig) -> tuple[Policy, Pseudonymizer, Roster]:
    keys = load_key(cfg.key_file)  # first: no key, no run
    policy = load_policy(cfg.policy_path)
    roster = read_roster(cfg.roster_file) if cfg.roster_file else Roster()
    return policy, keys, roster


# --- steps --------------------------------------------------------------------------------------


def plan(cfg: NightConfig) -> list[str]:
    """The sources that have input tonight; clears the night's staging so a re-run starts clean."""
    load_key(cfg.key_file)
    sources = sources_present(cfg.raw_root, cfg.ds)
    if not sources:
        raise RunError(f"no raw input for ds={cfg.ds}")
    reset_dir(cfg.staging)
    write_json(cfg.staging / "plan.json", {"ds": cfg.ds, "sources": sources})
    return sources


def scrub_partition(cfg: NightConfig, source: str) -> dict[str, Any]:
    """Read, check, detect and redact one (source, ds) partition into a staged part plus its counts."""
    policy, keys, roster = _context(cfg)
    partition = read_partition(cfg.raw_root, source, cfg.ds)
    write_quarantine(cfg.quarantine, source, cfg.ds, partition.quarantine)
    counts: dict[str, Any] = {
        "source": source,
        "files": partition.files,
        "input_rows": partition.input_rows,
        "quarantined": dict(Counter(q["reason"] for q in partition.quarantine)),
        "dropped": {},
        "published": 0,
        "rows_touched": 0,
        "entities": {},
        "aggregates": {},
    }
    target, reason = policy.source_target(source)
    if source == "performance":
        counts["aggregates"] = summarize_performance(partition.rows, policy.k_anonymity)
    if target == "none":
        if partition.rows:
            counts["dropped"] = {reason or "not_published": len(partition.rows)}
        table = TEXT_SCHEMA.empty_table()
    else:
        table = _scrub_text_rows(source, partition.rows, policy, keys, roster, counts)
    write_table(cfg.parts / f"{source}.parquet", table)
    write_json(cfg.parts / f"{source}.counts.json", counts)
    log.info("scrubbed %s: %d in, %d staged", source, counts["input_rows"], counts["published"])
    return counts


def _scrub_text_rows(
    source: str, rows: list[dict[str, Any]], policy: Policy, keys: Pseudonymizer, roster: Roster, counts: dict[str, Any]
) -> pa.Table:
    utterances = to_utterances(source, rows, roster)
    dropped: Counter[str] = Counter()
    kept = [u for u in utterances if u.text.strip()]
    dropped["empty_text"] = len(utterances) - len(kept)
    scrubbed = scrub_batch([u.text for u in kept], policy, roster, keys)
    entities: Counter[str] = Counter()
    fraction = float(policy.output["validation_fraction"])
    out: dict[str, list[Any]] = {name: [] for name in TEXT_SCHEMA.names}
    for utterance, redacted in zip(kept, scrubbed, strict=True):
        entities.update(redacted.counts)
        if redacted.drop_row:
            dropped["entity_action_drop_row"] += 1
            continue
        user_pid = keys.pid("user", utterance.user_key)
        out["record_pid"].append(keys.pid("record", f"{source}:{utterance.record_key}"))
        out["source"].append(source)
        out["user_pid"].append(user_pid)
        out["conversation_pid"].append(keys.pid("conversation", utterance.conversation_key))
        out["context"].append(utterance.context)
        out["ts"].append(utterance.ts.replace(second=0, microsecond=0))
        out["text"].append(redacted.text)
        out["redactions"].append([{"entity": e, "count": n} for e, n in sorted(redacted.counts.items())])
        out["redacted_count"].append(sum(redacted.counts.values()))
        out["split"].append("validation" if keys.bucket(user_pid) < fraction else "train")
    counts["dropped"] = {k: v for k, v in dropped.items() if v}
    counts["entities"] = dict(sorted(entities.items()))
    counts["published"] = len(out["record_pid"])
    counts["rows_touched"] = sum(1 for n in out["redacted_count"] if n)
    return pa.Table.from_pydict(out, schema=TEXT_SCHEMA)


def _staged_counts(cfg: NightConfig) -> dict[str, dict[str, Any]]:
    planned = read_json(cfg.staging / "plan.json")["sources"]
    missing = [s for s in planned if not (cfg.parts / f"{s}.counts.json").exists()]
    if missing:
        raise RunError(f"partitions not scrubbed: {', '.join(missing)}")
    return {s: read_json(cfg.parts / f"{s}.counts.json") for s in planned}


def validate_night(cfg: NightConfig) -> dict[str, Any]:
    """Assemble the staged parts into shards, reconcile counts and run the Great Expectations gate."""
    policy, keys, _ = _context(cfg)
    per_source = _staged_counts(cfg)
    table = read_tables([cfg.parts / f"{s}.parquet" for s in per_source], TEXT_SCHEMA)
    table = table.sort_by([("split", "ascending"), ("record_pid", "ascending")])
    expected = sum(c["published"] for c in per_source.values())
    outcome = validate_table(table, TEXT_DATASET, {"expected_rows": expected})
    write_json(cfg.staging / "validation.json", outcome.to_dict())

    folder = reset_dir(cfg.staged_dataset)
    output = policy.output
    files = shard_table(
        table,
        folder,
        target_rows=int(output["shard_target_rows"]),
        row_group_rows=int(output["row_group_rows"]),
        metadata={
            "scrubline.pipeline_version": PIPELINE_VERSION,
            "scrubline.policy_sha256": policy.sha256,
            "scrubline.key_id": keys.key_id,
        },
    )
    manifest = build_manifest(cfg, policy, keys, per_source, files, table, outcome.to_dict())
    write_json(folder / "_manifest.json", manifest)
    if not manifest["reconciliation"]["balanced"]:
        raise RunError("row counts do not reconcile: in != published + quarantined + dropped")
    if not outcome.success:
        report_night(cfg)
        raise RunError(f"validation failed: {outcome.failed} of {outcome.evaluated} expectations; nothing published")
    return {"rows": table.num_rows, "files": len(files), "validation_success": outcome.success}


def build_manifest(
    cfg: NightConfig,
    policy: Policy,
    keys: Pseudonymizer,
    per_source: dict[str, dict[str, Any]],
    files: list[dict[str, Any]],
    table: pa.Table,
    validation: dict[str, Any],
) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    for counts in per_source.values():
        totals.update(counts["entities"])
    input_rows = sum(c["input_rows"] for c in per_source.values())
    quarantined = sum(sum(c["quarantined"].values()) for c in per_source.values())
    dropped = sum(sum(c["dropped"].values()) for c in per_source.values())
    splits = pc.value_counts(table["split"]).to_pylist() if table.num_rows else []
    return {
        "dataset": TEXT_DATASET,
        "ds": cfg.ds,
        "pipeline_version": PIPELINE_VERSION,
        "policy_sha256": policy.sha256,
        "model": policy.model,
        "key_id": keys.key_id,
        "files": files,
        "rows": table.num_rows,
        "splits": {s["values"]: s["counts"] for s in splits},
        "sources": {
            s: {k: c[k] for k in ("input_rows", "quarantined", "dropped", "published", "rows_touched", "entities")}
            for s, c in per_source.items()
        },
        "entities": dict(sorted(totals.items())),
        "reconciliation": {
            "input_rows": input_rows,
            "published": table.num_rows,
            "quarantined": quarantined,
            "dropped": dropped,
            "balanced": input_rows == table.num_rows + quarantined + dropped,
        },
        "validation": {k: validation[k] for k in ("suite", "success", "evaluated", "failed")},
    }


def report_night(cfg: NightConfig) -> dict[str, str]:
    """Write the counts-only privacy report to the reports folder and, if staged, beside the manifest."""
    per_source = _staged_counts(cfg)
    manifest_path = cfg.staged_dataset / "_manifest.json"
    manifest = read_json(manifest_path) if manifest_path.exists() else None
    validation = read_json(cfg.staging / "validation.json") if (cfg.staging / "validation.json").exists() else None
    report = build_report(cfg.ds, per_source, manifest, validation)
    paths = write_report(report, reports_dir(cfg.clean_root, cfg.ds))
    if manifest is not None:
        write_report(report, cfg.staged_dataset, prefix="_report")
    return {k: str(v) for k, v in paths.items()}


def publish_night(cfg: NightConfig) -> dict[str, Any]:
    """Mark the staged dataset complete and swap it into place in one rename."""
    validation = read_json(cfg.staging / "validation.json")
    if not validation["success"]:
        raise RunError("validation did not pass; nothing published")
    write_text_file(cfg.staged_dataset / "_SUCCESS", "")
    target = published_dir(cfg.clean_root, TEXT_DATASET, cfg.ds)
    swap_into_place(cfg.staged_dataset, target)
    shutil.rmtree(cfg.staging)  # scrubbed parts only, but no longer needed: the manifest keeps the counts
    return {"published": str(target)}


def run_night(cfg: NightConfig, progress: bool = False) -> dict[str, Any]:
    """The whole night in this process, in the same order the DAG runs it."""
    sources = plan(cfg)
    if progress:
        from tqdm import tqdm

        sources = tqdm(sources, desc="partitions", unit="partition")
    counts = {s: scrub_partition(cfg, s) for s in sources}
    validated = validate_night(cfg)
    report = report_night(cfg)
    published = publish_night(cfg)
    return {"sources": counts, **validated, "report": report, **published}
