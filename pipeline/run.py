"""One night, stage by stage: the only module that knows the order of the stages.

The CLI calls `run_night`; the Airflow DAG calls the same per-step functions (`plan`, `scrub_chunk`,
`validate_night`, `report_night`, `publish_night`) as separate tasks. `plan` cuts each (source, ds) partition
into chunks (pipeline.chunks); each chunk is scrubbed alone into its own staged parts, and `validate_night`
combines the chunks, so nothing published depends on how many chunks there were or where they ran. Each step reads and writes only
under the night's staging folder (outside the clean root, private), so any step can be re-run and a re-run
replaces its own output; only `publish_night` writes under the clean root, in one commit (pipeline.publish).
Steps return small dicts of counts and paths, which is all that may travel through XCom.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline import canaries, locks, object_store, reid, residual, signoff
from pipeline.behaviour import STAGED_EVENTS_SCHEMA, build_events, finish_events
from pipeline.chunks import Chunk, Cut, plan_chunks, session_chunks, share_canaries
from pipeline.contracts import (
    DATASET_SCHEMAS,
    EVENTS_DATASET,
    PIPELINE_VERSION,
    SOURCES,
    STAGED_SCHEMAS,
    TEXT_DATASET,
    with_night,
)
from pipeline.datasets import number_turns, scrub_keystrokes, scrub_text_rows
from pipeline.errors import ConfigError, UserError
from pipeline.files import (
    StagedParquet,
    copy_tree,
    private_dir,
    read_json,
    read_tables,
    remove_tree,
    reset_private_dir,
    write_json,
    write_table,
    write_text_file,
)
from pipeline.night import NightConfig
from pipeline.policy import Policy, load_policy
from pipeline.progress import stage
from pipeline.pseudonym import Pseudonymizer, load_key
from pipeline.publish import (
    HELD,
    REPORT_FOLDER,
    attempts_dir,
    commit_night,
    current_manifest,
    held_version,
    link_night,
    nights_dir,
    public_dirs,
    publish_attempt,
    published_dir,
    reports_dir,
    shard_table,
)
from pipeline.quarantine import (
    QuarantineWriter,
    combine_quarantine,
    quarantine_file,
    write_quarantine,
)
from pipeline.read import (
    PartitionRows,
    iter_partition,
    list_partition,
    raw_layout,
    read_partition,
    read_roster,
)
from pipeline.read_columnar import CheckedTable, read_columnar
from pipeline.report import build_report, load_history, sample_rows, write_report
from pipeline.roster import Roster
from pipeline.scrub import detector_for
from pipeline.storage import is_remote, location
from pipeline.summarize import summarize_performance
from pipeline.validate import validate_with_docs

log = logging.getLogger("scrubline")


class RunError(UserError, RuntimeError):
    """The night cannot be published; the message is safe to print (counts and names of rules only)."""


def _context(cfg: NightConfig) -> tuple[Policy, Pseudonymizer, Roster]:
    """Key first (no key, no run), then the policy, then the roster with tonight's canary colleagues; all
    checked against the night's plan, so a key or policy changed halfway never mixes inside a night."""
    keys = load_key(cfg.key_file)
    policy = load_policy(cfg.policy_path)
    plan_file = cfg.staging / "plan.json"
    if plan_file.exists():
        planned = read_json(plan_file)
        if planned["key_id"] != keys.key_id:
            raise RunError(f"the HMAC key changed since ds={cfg.ds} was planned; run the night again from the start")
        if planned["policy_sha256"] != policy.sha256:
            raise RunError(f"the policy changed since ds={cfg.ds} was planned; run the night again from the start")
    roster = read_roster(cfg.roster_file) if cfg.roster_file else Roster()
    return policy, keys, Roster(roster.employees + canaries.canary_employees(cfg.ds))


# --- steps --------------------------------------------------------------------------------------


def _cut(policy: Policy, source: str) -> Cut:
    """How a source's partition is cut (pipeline.chunks): text by files, keystrokes and events by session."""
    if _streamed(policy, source):
        return "files"
    return "whole" if policy.source_target(source)[0] == "none" else "sessions"


def plan(cfg: NightConfig) -> list[str]:
    """The chunks to scrub tonight (pipeline.chunks), by id; clears the night's staging so a re-run starts
    clean. Fails early: on the key, the policy, an unwritable clean root, a key change without `rekey`, a night
    without input."""
    with locks.night_lock(cfg.lock_file, cfg.ds):
        keys = load_key(cfg.key_file)
        policy = load_policy(cfg.policy_path)
        dir_mode = policy.output["dir_mode"]
        if is_remote(cfg.clean_root) and _holds(policy):
            raise ConfigError("output.publish: on_signoff needs a local clean root (sign-off does not upload yet)")
        published = object_store.night_manifest(cfg.clean_root, cfg.ds)  # the remote's, for a URL clean root
        if published and published["key_id"] != keys.key_id and not cfg.rekey:
            raise RunError(
                f"ds={cfg.ds} was published under key id {published['key_id']}, this run's key is {keys.key_id}; "
                "to re-pseudonymise a published night with a new key use `scrubline rekey`"
            )
        if is_remote(cfg.clean_root):
            private_dir(cfg.staging_base, owned_from=cfg.staging_base)
        public_dirs(cfg.clean_dir, nights_dir(cfg.clean_dir, cfg.ds), dir_mode)  # fails here if read-only
        if current_manifest(cfg.clean_dir, cfg.ds):
            link_night(cfg.clean_dir, cfg.ds, list(DATASET_SCHEMAS), dir_mode)  # a damaged or older layout
        layout = raw_layout(cfg.raw_root, cfg.ds, cfg.follow_symlinks)
        if not layout.sources:
            unknown = f" (folders that are not sources: {', '.join(layout.unknown_folders)})" if layout.unknown_folders else ""
            raise RunError(f"no raw input for ds={cfg.ds} under {cfg.raw_root}{unknown}")
        private_dir(cfg.staging_base, owned_from=cfg.staging_base)
        reset_private_dir(cfg.staging)
        files = {source: _file_names(cfg, source) for source in layout.sources}
        size = cfg.chunk_files or policy.chunk_files
        chunks = share_canaries([c for s in layout.sources for c in plan_chunks(s, len(files[s]), _cut(policy, s), size)])
        write_json(cfg.staging / "plan.json", {
            "ds": cfg.ds,
            "sources": layout.sources,
            "files": files,
            "chunks": {c.id: c.to_dict() for c in chunks},
            "unknown_folders": layout.unknown_folders,
            "key_id": keys.key_id,
            "policy_sha256": policy.sha256,
            # only a change is recorded, so re-running a night under its own key gives the same bytes
            "replaces_key_id": published["key_id"] if published and published["key_id"] != keys.key_id else None,
        })
        if layout.unknown_folders:
            log.warning("ds=%s: %d folder(s) under the raw root are not sources; counted, not read", cfg.ds, len(layout.unknown_folders))
        return [c.id for c in chunks]


def _file_names(cfg: NightConfig, source: str) -> list[str]:
    return [p.name for p in list_partition(cfg.raw_root, source, cfg.ds, cfg.follow_symlinks).files]


def _planned_chunk(cfg: NightConfig, chunk: str) -> Chunk:
    """A planned chunk; refuses a chunk the plan does not name, and a partition whose files changed since the
    plan (its chunks would no longer cover it)."""
    plan_file = cfg.staging / "plan.json"
    if not plan_file.exists():
        raise RunError(f"ds={cfg.ds} has not been planned (or its staging was removed); run the night from the start")
    planned = read_json(plan_file)
    if chunk not in planned["chunks"]:
        raise RunError(f"chunk {chunk} is not in the plan of ds={cfg.ds}")
    work = Chunk(**planned["chunks"][chunk])
    if _file_names(cfg, work.source) != planned["files"][work.source]:
        raise RunError(f"the raw files of {work.source} changed since ds={cfg.ds} was planned; run the night again from the start")
    return work


def scrub_chunk(cfg: NightConfig, chunk: str) -> dict[str, Any]:
    """Read, check, detect and redact one planned chunk of a (source, ds) partition into its staged parts,
    quarantine rows and counts (`parts/<chunk>.*`). A re-run replaces that chunk's files and nothing else."""
    with locks.night_lock(cfg.lock_file, cfg.ds, shared=True):
        policy, keys, roster = _context(cfg)
        work = _planned_chunk(cfg, chunk)
        source = work.source
        target, reason = policy.source_target(source)
        private_dir(cfg.parts)
        for old in cfg.parts.glob(f"{chunk}.*"):
            old.unlink()
        counts: dict[str, Any] = {
            "source": source,
            "chunk": chunk,
            "files": 0,
            "empty_files": 0,
            "skipped_files": {},
            "input_rows": 0,
            "quarantined": {},
            "unknown_values": {},
            "dropped": {},
            "primary": None if target == "none" else target,
            "published": {},
            "rows_touched": 0,
            "entities": {},
            "aggregates": {},
        }
        if target == "none":
            _stage_unpublished(cfg, work, policy, reason, counts)
        elif source == "keystrokes":
            _stage_keystrokes(cfg, work, policy, keys, roster, counts)
        elif target == "events":
            _stage_events(cfg, work, policy, keys, counts)
        else:
            _stage_text(cfg, work, policy, keys, roster, counts)
        write_json(cfg.chunk_file(chunk, "counts.json"), counts)  # last: a chunk without counts is not done
        log.info("scrubbed %s: %d in, staged %s", chunk, counts["input_rows"], counts["published"])
        return counts


Checked = TypeVar("Checked", PartitionRows, CheckedTable)


def _read_checked(
    cfg: NightConfig, work: Chunk, counts: dict[str, Any], read: Callable[..., Checked] = read_partition
) -> Checked:
    """A chunk's checked rows (a dict per row, or one Arrow table with `read_columnar` for the millions of key
    and mouse events): the partition's, or its sessions that hash to this chunk. The partition's quarantine rows
    and file counts go with its first chunk; quarantine rows are staged with the chunk."""
    partition = read(cfg.raw_root, work.source, cfg.ds, follow_symlinks=cfg.follow_symlinks)
    if work.cut == "sessions" and work.count > 1:
        mine = pa.array(session_chunks(partition.table, work.count) == work.index)
        partition = replace(partition, table=partition.table.filter(mine))
        if work.index:
            partition = replace(partition, quarantine=[], files=0, empty_files=0, skipped={})
    write_quarantine(cfg.parts, work.source, cfg.ds, partition.quarantine, cfg.chunk_file(work.id, "quarantine.parquet"))
    _add_read_counts(counts, partition)
    return partition


def _add_read_counts(counts: dict[str, Any], part: PartitionRows | CheckedTable) -> None:
    """What reading found: files read, empty and skipped; rows in, quarantined by reason; values made unknown."""
    counts["files"] += part.files
    counts["empty_files"] += part.empty_files
    counts["input_rows"] += part.input_rows
    for key, new in (
        ("skipped_files", part.skipped),
        ("quarantined", Counter(q["reason"] for q in part.quarantine)),
        ("unknown_values", part.unknown_values),
    ):
        counts[key] = dict(sorted((Counter(counts[key]) + Counter(new)).items()))


def _stage(cfg: NightConfig, work: Chunk, tables: dict[str, pa.Table], counts: dict[str, Any]) -> None:
    for dataset, table in tables.items():
        write_table(cfg.chunk_file(work.id, f"{dataset}.parquet"), table)
        counts["published"][dataset] = table.num_rows


def _stage_unpublished(cfg: NightConfig, work: Chunk, policy: Policy, reason: str | None, counts: dict[str, Any]) -> None:
    """A source the policy does not publish (performance records): counted, summarised with k-suppression."""
    source = work.source
    partition = _read_checked(cfg, work, counts)
    if source == "performance":
        counts["aggregates"] = summarize_performance(partition.rows, policy.k_anonymity)
    if partition.rows:
        counts["dropped"] = {reason or "not_published": len(partition.rows)}


def _stage_keystrokes(cfg: NightConfig, work: Chunk, policy: Policy, keys: Pseudonymizer, roster: Roster, counts: dict[str, Any]) -> None:
    partition = _read_checked(cfg, work, counts, read_columnar)
    tables = scrub_keystrokes(cfg.ds, partition.table, policy, keys, roster, counts, plant_canaries=work.index == 0, staged=True)
    _stage(cfg, work, tables, counts)


def _stage_events(cfg: NightConfig, work: Chunk, policy: Policy, keys: Pseudonymizer, counts: dict[str, Any]) -> None:
    partition = _read_checked(cfg, work, counts, read_columnar)
    events = build_events(work.source, partition.table, policy.events, keys, policy.split_fractions, night=cfg.ds, staged=True)
    _stage(cfg, work, {EVENTS_DATASET: events}, counts)


def _stage_text(cfg: NightConfig, work: Chunk, policy: Policy, keys: Pseudonymizer, roster: Roster, counts: dict[str, Any]) -> None:
    """Stream the chunk in batches of `run.batch_rows`: each batch's bad rows are staged as quarantine rows,
    its good rows are scrubbed (here, or in `run_night`'s worker pool) and appended to the staged part as row
    groups. Only counters and a 16-byte digest per key stay in memory, however large the chunk. The part and
    the chunk's quarantine file are renamed into place only once complete."""
    part = cfg.chunk_file(work.id, f"{TEXT_DATASET}.parquet")
    with (
        StagedParquet(part, STAGED_SCHEMAS[TEXT_DATASET], int(policy.output["row_group_rows"])) as staged,
        QuarantineWriter(cfg.parts, work.source, cfg.ds, cfg.chunk_file(work.id, "quarantine.parquet")) as quarantine,
    ):
        for table, batch_counts, input_rows in _scrubbed_batches(cfg, work, policy, keys, roster, counts, quarantine):
            staged.write(table)
            _add_text_counts(counts, batch_counts)
            if _RUNTIME is not None:
                _RUNTIME.advance(input_rows)
    counts["published"][TEXT_DATASET] = staged.rows


def _scrubbed_batches(
    cfg: NightConfig,
    work: Chunk,
    policy: Policy,
    keys: Pseudonymizer,
    roster: Roster,
    counts: dict[str, Any],
    quarantine: QuarantineWriter,
) -> Iterator[tuple[pa.Table, dict[str, Any], int]]:
    """(table, counts, input rows) of each batch, in read order; the chunk's canary share (if the plan gave it one)
    rides in the first batch. In a worker pool each batch is cut into pieces (`_pieces`) scrubbed in parallel, and
    the pieces of one batch are collected while the next batch is read and handed out, so at most two batches are
    in memory here too."""
    pool = _RUNTIME.pool if _RUNTIME is not None else None
    source = work.source
    pending: deque[tuple[int, Future, int]] = deque()  # (batch number, task, input rows)
    try:
        batches = iter_partition(
            cfg.raw_root, source, cfg.ds, policy.batch_rows, follow_symlinks=cfg.follow_symlinks, files=work.files
        )
        for i, batch in enumerate(batches):
            share = (work.canary_share, work.canary_shares) if i == 0 and work.canary_shares else None
            _add_read_counts(counts, batch)
            quarantine.write(batch.quarantine)
            rows, bad_rows = batch.rows, len(batch.quarantine)
            del batch  # the next batch is read while this name would still hold this one
            if pool is None:
                yield (*_scrub_text_batch(cfg.ds, source, rows, policy, keys, roster, share), len(rows) + bad_rows)
            else:
                for j, piece in enumerate(_pieces(rows, SOURCES[source].text_field, _RUNTIME.workers)):
                    task = pool.submit(
                        _scrub_text_batch_in_worker, source, piece, share if j == 0 else None, policy.sha256, keys.key_id
                    )
                    pending.append((i, task, len(piece) + (bad_rows if j == 0 else 0)))
                del piece
                while pending[0][0] < i:
                    _, task, n = pending.popleft()
                    yield (*task.result(), n)
            del rows
        while pending:
            _, task, n = pending.popleft()
            yield (*task.result(), n)
    finally:
        for _, task, _ in pending:
            task.cancel()


PIECES_PER_WORKER = 4  # several pieces per worker even out the end of a partition
MIN_TASK_ROWS = 500  # smaller pieces would cost more in hand-over than they gain


def _pieces(rows: list[dict[str, Any]], text_field: str | None, workers: int) -> list[list[dict[str, Any]]]:
    """A batch cut into pieces for the pool by a stable hash of each row's text, so that repeated texts land
    in one piece and are still detected once (the Detector deduplicates within a call)."""
    count = max(1, min(PIECES_PER_WORKER * workers, len(rows) // MIN_TASK_ROWS))
    if count == 1 or text_field is None:
        return [rows]
    pieces: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for row in rows:
        text = row.get(text_field) or ""
        pieces[zlib.crc32(text.encode("utf-8", "surrogatepass")) % count].append(row)
    return [piece for piece in pieces if piece]


def _scrub_text_batch(
    ds: str, source: str, rows: list[dict[str, Any]], policy: Policy, keys: Pseudonymizer, roster: Roster,
    canary_share: tuple[int, int] | None,
) -> tuple[pa.Table, dict[str, Any]]:
    batch_counts: dict[str, Any] = {}
    table = scrub_text_rows(ds, source, rows, policy, keys, roster, batch_counts, canary_share=canary_share)
    return table, batch_counts


def _add_text_counts(counts: dict[str, Any], batch: dict[str, Any]) -> None:
    counts["dropped"] = dict(Counter(counts["dropped"]) + Counter(batch["dropped"]))
    counts["entities"] = dict(sorted((Counter(counts["entities"]) + Counter(batch["entities"])).items()))
    counts["rows_touched"] += batch["rows_touched"]
    counts["canaries"] = canaries.merge(counts.get("canaries", {}), batch["canaries"])


def _planned_chunks(cfg: NightConfig) -> dict[str, list[str]]:
    """Each planned source's chunk ids, in order; refuses a night with a chunk not scrubbed (no counts yet)."""
    plan_file = cfg.staging / "plan.json"
    if not plan_file.exists():
        raise RunError(f"ds={cfg.ds} has not been planned (or its staging was removed); run the night from the start")
    planned = read_json(plan_file)
    chunks = {s: sorted(c for c, e in planned["chunks"].items() if e["source"] == s) for s in planned["sources"]}
    missing = [c for ids in chunks.values() for c in ids if not cfg.chunk_file(c, "counts.json").exists()]
    if missing:
        raise RunError(f"chunks not scrubbed: {', '.join(missing)}")
    return chunks


def _staged_counts(cfg: NightConfig) -> dict[str, dict[str, Any]]:
    """Per source, its chunks' counts added up (`merge_counts`)."""
    return {s: merge_counts([read_json(cfg.chunk_file(c, "counts.json")) for c in ids]) for s, ids in _planned_chunks(cfg).items()}


_SUMMED = ("files", "empty_files", "input_rows", "rows_touched")
_TALLIES = ("skipped_files", "quarantined", "unknown_values", "dropped", "entities", "published")


def merge_counts(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """One partition's counts from its chunks' (in chunk order): numbers and tallies add up, canary scores
    merge; what only a whole-partition chunk has (aggregates, keystroke segments) is kept as it is."""
    merged = {k: v for k, v in chunks[0].items() if k != "chunk"}
    for name in _SUMMED:
        merged[name] = sum(c[name] for c in chunks)
    for name in _TALLIES:
        merged[name] = dict(sorted(sum((Counter(c[name]) for c in chunks), Counter()).items()))
    if any("canaries" in c for c in chunks):
        merged["canaries"] = canaries.merge(*(c.get("canaries", {}) for c in chunks))
    if "segments" in merged:  # keystrokes
        merged["segments"] = dict(sum((Counter(c["segments"]) for c in chunks), Counter()))
    return merged


DATASETS = list(DATASET_SCHEMAS)  # every night publishes every dataset (an empty one when nothing fed it)


def _combined(cfg: NightConfig, dataset: str, chunks: dict[str, list[str]], policy: Policy) -> pa.Table:
    """A dataset's staged rows from every chunk of the sources feeding it (not yet sorted). Staged events get
    their timing drawn here, from each source's whole night (behaviour.finish_events)."""
    if dataset != EVENTS_DATASET:
        return read_tables([cfg.chunk_file(c, f"{dataset}.parquet") for ids in chunks.values() for c in ids], STAGED_SCHEMAS[dataset])
    tables = [
        finish_events(read_tables([cfg.chunk_file(c, f"{dataset}.parquet") for c in ids], STAGED_EVENTS_SCHEMA), policy.events)
        for ids in chunks.values()
    ]
    return pa.concat_tables(tables) if tables else STAGED_SCHEMAS[dataset].empty_table()


def validate_night(cfg: NightConfig, on_dataset: Callable[[], None] | None = None) -> dict[str, Any]:
    """Shard each dataset into staging, then run every gate: Great Expectations, canaries, residual scan, and
    the re-identification attacks on the night's own published key timing (pipeline.reid).
    A failing night gets its report under `_attempts/` and its staged data is removed. `on_dataset` is called
    after each dataset is validated and staged (the progress bar)."""
    with locks.night_lock(cfg.lock_file, cfg.ds):
        policy, keys, roster = _context(cfg)
        chunks = _planned_chunks(cfg)
        per_source = _staged_counts(cfg)
        for source, ids in chunks.items():  # raw rows: into the quarantine root, whatever the gates say
            combine_quarantine(cfg.quarantine, source, cfg.ds, [cfg.chunk_file(c, "quarantine.parquet") for c in ids])
            if is_remote(cfg.quarantine_url):
                object_store.move_up(quarantine_file(cfg.quarantine, source, cfg.ds), cfg.quarantine_url, f"{source}/ds={cfg.ds}/quarantine.parquet")
        reconciliation = reconcile(per_source)
        outcomes: dict[str, dict[str, Any]] = {}
        summary: dict[str, Any] = {}
        residual_hits: dict[str, int] = {}
        risk: dict[str, Any] = {}
        reset_private_dir(cfg.night)
        for dataset in DATASETS:
            feeding = [s for s, c in per_source.items() if dataset in c["published"]]
            table = _combined(cfg, dataset, {s: chunks[s] for s in feeding}, policy)
            if dataset == TEXT_DATASET:
                table = number_turns(table)
            table = with_night(table.sort_by([(name, "ascending") for name in SORT_KEYS[dataset]]), cfg.ds)
            expected = sum(per_source[s]["published"][dataset] for s in feeding)
            outcome, pages = validate_with_docs(table, dataset, {"expected_rows": expected}, cfg.ds)
            outcomes[dataset] = outcome.to_dict()
            for name, page in pages.items():
                write_text_file(private_dir(cfg.staging / "data_docs") / name, page)
            if dataset == TEXT_DATASET:
                residual_hits = residual.scan(table["text"].to_pylist(), roster)
            if dataset == EVENTS_DATASET:
                risk = reid.identification_risk(table, reid.Protocol.of(policy.reid))
            folder = private_dir(cfg.staged(dataset))
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
            manifest = build_manifest(cfg, dataset, policy, keys, per_source, feeding, files, table, outcomes[dataset], reconciliation)
            write_json(folder / "_manifest.json", manifest)
            summary[dataset] = {"rows": table.num_rows, "files": len(files), "validation_success": outcome.success}
            if on_dataset is not None:
                on_dataset()
        gates = {
            "datasets": outcomes,
            "canaries": canary_outcome(policy, per_source),
            "residual": {"hits": residual_hits, "success": not residual_hits},
        }
        settings = policy.reid
        reid_problems = reid.gate(risk, settings.max_top1_over_chance, settings.significance)
        gates["reid"] = {**risk, "max_top1_over_chance": settings.max_top1_over_chance,
                         "significance": settings.significance, "success": not reid_problems}
        problems = [f"{d}: {o['failed']} of {o['evaluated']} expectations failed" for d, o in outcomes.items() if not o["success"]]
        problems += [
            f"canary recall for {label} is {c['recall']:.2f}, below {c['threshold']:.2f}" if c["recall"] < c["threshold"]
            else f"only {c['planted']} {label} canaries were planted, fewer than {policy.canaries['per_class']}"
            for label, c in gates["canaries"]["labels"].items()
            if not c["ok"]
        ]
        problems += [f"residual scan found {n} {kind} match(es)" for kind, n in residual_hits.items()]
        problems += reid_problems
        if not reconciliation["balanced"]:
            problems.append("row counts do not reconcile: in != published + quarantined + dropped")
        gates["success"] = not problems
        write_json(cfg.staging / "validation.json", gates)
        if problems:
            report = report_night(cfg)
            remove_tree(cfg.staging)  # it holds text that failed the gates: gone, not left lying about
            raise RunError("validation failed: " + "; ".join(problems) + f"; nothing published (report: {report['html']})")
        return summary


def canary_outcome(policy: Policy, per_source: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Canary recall per label across tonight's partitions, with its 95% Wilson interval, against the policy's
    thresholds; a label with fewer canaries than `canaries.per_class` fails too (some were lost on the way)."""
    merged = canaries.merge(*(c.get("canaries", {}) for c in per_source.values()))
    per_class = int(policy.canaries["per_class"])
    labels = {}
    for label, c in sorted(merged.items()):
        recall = c["caught"] / c["planted"] if c["planted"] else 1.0
        threshold = policy.canary_threshold(label)
        low, high = canaries.wilson_interval(c["caught"], c["planted"])
        labels[label] = {
            **c, "recall": round(recall, 4), "interval": [round(low, 4), round(high, 4)], "threshold": threshold,
            "ok": recall >= threshold and c["planted"] >= per_class,
        }
    return {"labels": labels, "success": all(c["ok"] for c in labels.values())}


# Published rows are sorted so that re-running a night writes the same files.
SORT_KEYS = {
    TEXT_DATASET: ("split", "conversation_pid", "turn"),  # a conversation reads in order
    EVENTS_DATASET: ("split", "user_pid", "session_pid", "source", "seq"),
}


def reconcile(per_source: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every input row is published once in its source's primary dataset, quarantined, or dropped."""
    totals = Counter()
    for c in per_source.values():
        totals["input_rows"] += c["input_rows"]
        totals["quarantined"] += sum(c["quarantined"].values())
        totals["dropped"] += sum(c["dropped"].values())
        totals["published"] += c["published"].get(c["primary"], 0) if c["primary"] else 0
    balanced = all(
        c["input_rows"]
        == sum(c["quarantined"].values()) + sum(c["dropped"].values()) + (c["published"].get(c["primary"], 0) if c["primary"] else 0)
        for c in per_source.values()
    )
    return {**totals, "balanced": balanced}


MANIFEST_SOURCE_KEYS = (
    "files", "empty_files", "skipped_files", "input_rows", "quarantined", "unknown_values", "dropped", "primary",
    "published", "rows_touched", "entities",
)


def build_manifest(
    cfg: NightConfig,
    dataset: str,
    policy: Policy,
    keys: Pseudonymizer,
    per_source: dict[str, dict[str, Any]],
    feeding: list[str],
    files: list[dict[str, Any]],
    table: pa.Table,
    validation: dict[str, Any],
    reconciliation: dict[str, Any],
) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    for source in feeding:
        totals.update(per_source[source]["entities"])
    splits = pc.value_counts(table["split"]).to_pylist() if table.num_rows else []
    users = table.group_by("split").aggregate([("user_pid", "count_distinct")]).to_pylist() if table.num_rows else []
    plan = read_json(cfg.staging / "plan.json")
    validation_share, test_share = policy.split_fractions
    return {
        "dataset": dataset,
        "ds": cfg.ds,
        "pipeline_version": PIPELINE_VERSION,
        "policy_sha256": policy.sha256,
        "model": policy.model,
        "key_id": keys.key_id,
        "files": files,
        "rows": table.num_rows,
        "splits": {s["values"]: s["counts"] for s in splits},
        "split_users": {u["split"]: u["user_pid_count_distinct"] for u in users},
        "split_policy": {
            "validation": validation_share, "test": test_share, "min_users": policy.output["min_split_users"],
        },
        "fed_by": feeding,
        "sources": {s: {k: c.get(k) for k in MANIFEST_SOURCE_KEYS} for s, c in per_source.items()},
        "unknown_source_folders": plan.get("unknown_folders", {}),
        "entities": dict(sorted(totals.items())),
        "reconciliation": reconciliation,
        "validation": {k: validation[k] for k in ("suite", "success", "evaluated", "failed")},
    }


def report_night(cfg: NightConfig) -> dict[str, str]:
    """Write the counts-only privacy report into the staged night (beside each manifest too), so it is
    published with the night it describes. A night that failed a gate gets it under `_attempts/ds=…/`."""
    with locks.night_lock(cfg.lock_file, cfg.ds):
        policy = load_policy(cfg.policy_path)
        per_source = _staged_counts(cfg)
        manifests = {
            d: read_json(cfg.staged(d) / "_manifest.json") for d in DATASETS if (cfg.staged(d) / "_manifest.json").exists()
        }
        validation_path = cfg.staging / "validation.json"
        gates = read_json(validation_path) if validation_path.exists() else {}
        plan = read_json(cfg.staging / "plan.json")
        inputs = {
            "per_source": per_source,
            "manifests": manifests,
            "gates": gates,
            "unknown_source_folders": plan.get("unknown_folders", {}),
            "key": {"key_id": plan["key_id"], "replaces_key_id": plan.get("replaces_key_id")},
            "sample": _published_sample(cfg, policy.sample_rows) if gates.get("success") else None,
        }
        folder = reset_private_dir(cfg.night / REPORT_FOLDER)
        write_json(folder / "inputs.json", inputs)
        copy_tree(cfg.staging / "data_docs", folder / "data_docs")
        held = bool(gates.get("success")) and _holds(policy)
        report = _render_report(folder, cfg.clean_dir, cfg.ds, of_published=False, held=held)
        for dataset in manifests:
            write_report(report, cfg.staged(dataset), prefix="_report")
        if held:
            where = held_report_dir(cfg.clean_dir, cfg.ds)
        elif gates.get("success"):
            where = reports_dir(cfg.clean_dir, cfg.ds)
        else:
            output = policy.output
            where = publish_attempt(folder, cfg.clean_dir, cfg.ds, output["file_mode"], output["dir_mode"])
            if is_remote(cfg.clean_root):
                object_store.upload_attempt(cfg.clean_dir, cfg.clean_root, cfg.ds)
        return {"json": str(where / "report.json"), "html": str(where / "report.html")}


def _published_sample(cfg: NightConfig, count: int) -> list[dict[str, str]]:
    """A few staged `text` rows for the reviewer to read (pipeline.report.sample_rows), streamed from the
    shards batch by batch. Called only for a night that passed every gate: its staged text is what publishes."""
    columns = ["record_pid", "source", "split", "text"]

    def rows() -> Iterator[dict[str, str]]:
        for shard in sorted(cfg.staged(TEXT_DATASET).glob("*.parquet")):
            for batch in pq.ParquetFile(shard).iter_batches(columns=columns):
                yield from batch.to_pylist()

    return sample_rows(cfg.ds, rows(), count) if count else []


def _holds(policy: Policy) -> bool:
    """Whether a night that passed its gates waits for a reviewer before readers see it."""
    return policy.output["publish"] == "on_signoff"


def held_report_dir(clean_root: str | Path, ds: str) -> Path:
    """The report of the night's version held for sign-off (through `_nights/ds=…/held`)."""
    return nights_dir(clean_root, ds) / HELD / REPORT_FOLDER


def _render_report(folder: Path, clean_root: str | Path, ds: str, of_published: bool, held: bool) -> dict[str, Any]:
    """Render report.{json,html} in `folder` from its counts, earlier nights' reports and the sign-off log
    (`of_published`: the folder is the committed night's own report, so its sign-off can be current; `held`:
    that night waits for sign-off)."""
    inputs = read_json(folder / "inputs.json")
    history = load_history(Path(clean_root) / "_reports", ds)
    report = build_report(
        ds, inputs["per_source"], inputs["manifests"], inputs["gates"], reconcile(inputs["per_source"]), history,
        unknown_folders=inputs.get("unknown_source_folders", {}), key=inputs.get("key"),
        signoff=signoff.status(clean_root, ds, signoff.report_anchor(clean_root, ds), of_published),
        data_docs=[p.name for p in (folder / "data_docs").glob("*.html")], sample=inputs.get("sample"), held=held,
    )
    write_report(report, folder)
    return report


def report_folder(clean_root: str | Path, ds: str) -> Path:
    """Where a night's report is: the version held for sign-off's (the newest committed), else the published
    night's (`_reports/ds=…`), else the last failed attempt's."""
    held = [held_report_dir(clean_root, ds)] if held_version(clean_root, ds) else []
    for folder in (*held, reports_dir(clean_root, ds), attempts_dir(clean_root, ds)):
        if (folder / "inputs.json").exists():
            return folder
    raise RunError(f"no report of ds={ds} under {clean_root}")


def recent_reports(clean_root: str | Path, last: int) -> list[dict[str, Any]]:
    """The reports of the last `last` nights that are published or held for sign-off (the held one when a
    night has both), oldest first."""
    clean = Path(clean_root)
    nights = {p.parent.name: p for p in clean.glob("_reports/ds=*/report.json")}
    for night in clean.glob("_nights/ds=*"):
        if held_version(clean, night.name.removeprefix("ds=")):
            nights[night.name] = night / HELD / REPORT_FOLDER / "report.json"
    return [read_json(nights[name]) for name in sorted(nights)[-last:]]


def rebuild_report(clean_root: str | Path, ds: str) -> dict[str, Any]:
    """(Re)write a night's report from the counts kept beside it, with trends against earlier nights: the held
    version's, else the published night's, else the last failed attempt's. Files keep their modes."""
    folder = report_folder(clean_root, ds)
    real = folder.resolve()
    modes = {p: p.stat().st_mode & 0o777 for p in real.parent.rglob("*") if p.is_file()}
    committed = folder != attempts_dir(clean_root, ds)
    report = _render_report(real, clean_root, ds, of_published=committed, held=folder == held_report_dir(clean_root, ds))
    if committed:
        for dataset in DATASETS:
            if (real.parent / dataset / "_report.json").exists():
                write_report(report, real.parent / dataset, prefix="_report")
    for path, mode in modes.items():
        if path.exists():
            os.chmod(path, mode)
    return report


def publish_night(cfg: NightConfig) -> dict[str, Any]:
    """Commit the staged night as the night's current version (pipeline.publish.commit_night): text, events
    and report become visible together, in one rename; under `output.publish: on_signoff`, as the version held
    for sign-off, which readers do not see (`held` in the result)."""
    with locks.night_lock(cfg.lock_file, cfg.ds):
        policy, _, _ = _context(cfg)
        validation_path = cfg.staging / "validation.json"
        if not validation_path.exists() or not read_json(validation_path).get("success"):
            raise RunError("validation did not pass; nothing published")
        output = policy.output
        committed = cfg.staging / "committed.json"  # a retry after a failed upload only uploads
        if committed.exists():
            version = read_json(committed)["version"]
        else:
            version = commit_night(
                cfg.night, cfg.clean_dir, cfg.ds, DATASETS, output["file_mode"], output["dir_mode"], hold=_holds(policy)
            )
            write_json(committed, {"version": version})
        if held_version(cfg.clean_dir, cfg.ds) == version:  # not when it is what readers see already
            remove_tree(cfg.staging)  # scrubbed parts only, but no longer needed: the manifests keep the counts
            log.info("committed ds=%s as version %s, held for sign-off", cfg.ds, version)
            return {"published": {}, "held": True, "version": version}
        if is_remote(cfg.clean_root):  # a failed upload leaves staging, so the publish task can be retried alone
            object_store.upload_night(cfg.clean_dir, cfg.clean_root, cfg.ds)
            folders = {d: str(location(cfg.clean_root) / "_nights" / f"ds={cfg.ds}" / version / d) for d in DATASETS}
        else:
            folders = {d: str(published_dir(cfg.clean_dir, d, cfg.ds)) for d in DATASETS}
        remove_tree(cfg.staging)
        log.info("published ds=%s as version %s", cfg.ds, version)
        return {"published": folders, "held": False, "version": version}


def run_night(cfg: NightConfig, progress: bool = False, workers: int | None = None) -> dict[str, Any]:
    """The whole night, in the same order the DAG runs it (the same chunk plan), holding the night's lock
    throughout. Chunks, and the batches of text chunks, are scrubbed across `workers` spawned processes
    (default: one per CPU; 1 runs everything in this process); the output does not depend on it. `progress`
    shows a bar per stage on stderr (pipeline.progress; counts only). On any failure the night's staging is
    removed and nothing is published. Workers are spawned, so a script calling this with workers > 1 needs the
    `if __name__ == "__main__":` guard."""
    with locks.night_lock(cfg.lock_file, cfg.ds):
        try:
            chunks = plan(cfg)
            workers = max(1, workers or os.cpu_count() or 1)
            with _night_runtime(cfg, workers, progress, len(chunks)) as runtime:
                _scrub_chunks(cfg, chunks, runtime)
            counts = _staged_counts(cfg)
            with stage("validate", len(DATASETS), "datasets", progress) as bar:
                validated = validate_night(cfg, on_dataset=bar.update if bar is not None else None)
            with stage("report", 1, "step", progress) as bar:
                report = report_night(cfg)
                _step(bar)
            with stage("publish", 1, "step", progress) as bar:
                published = publish_night(cfg)
                _step(bar)
        except BaseException:
            remove_tree(cfg.staging)
            _remove_if_empty(nights_dir(cfg.clean_dir, cfg.ds))
            raise
    return {"sources": counts, "datasets": validated, "report": report, **published}


def _step(bar: Any) -> None:
    if bar is not None:
        bar.update(1)


def _remove_if_empty(folder: Path) -> None:
    """The night's folder (and `_nights`) made by a plan whose night never got published."""
    for f in (folder, folder.parent):
        try:
            f.rmdir()
        except OSError:
            return


# --- run_night's worker pool and progress bar ------------------------------------------------------

# Numeric libraries read these when they load; spawned workers inherit them, so each uses one thread.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "BLIS_NUM_THREADS",
)


@dataclass
class _Runtime:
    """What `run_night` lends the steps it runs in this process: its worker pool and its progress bar."""

    workers: int
    partitions: int
    pool: ProcessPoolExecutor | None = None
    bar: Any = None
    rows: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, rows: int = 0, partition_done: bool = False) -> None:
        """Count finished partitions on the bar (its total) and rows read and scrubbed beside it; numbers
        are all it ever shows."""
        if self.bar is None:
            return
        with self.lock:
            self.rows += rows
            self.bar.set_postfix_str(f"{self.rows:,} rows", refresh=not partition_done)
            if partition_done:
                self.bar.update(1)


_RUNTIME: _Runtime | None = None  # set only while run_night scrubs, in the process that runs it


@contextmanager
def _night_runtime(cfg: NightConfig, workers: int, progress: bool, partitions: int) -> Iterator[_Runtime]:
    runtime = _Runtime(workers=workers, partitions=partitions)
    with stage("read + scrub", partitions, "chunks", progress) as bar:
        runtime.bar = bar
        with _pool(cfg, runtime):
            yield runtime


@contextmanager
def _pool(cfg: NightConfig, runtime: _Runtime) -> Iterator[None]:
    """The worker pool (if more than one worker), with one thread per numeric library in each worker."""
    global _RUNTIME
    workers = runtime.workers
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    try:
        if workers > 1:
            os.environ.update({name: "1" for name in THREAD_VARIABLES})  # workers start lazily and inherit these
            runtime.pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(cfg, log.getEffectiveLevel()),
            )
        _RUNTIME = runtime
        yield
    finally:
        _RUNTIME = None
        if runtime.pool is not None:
            runtime.pool.shutdown(wait=True, cancel_futures=True)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _streamed(policy: Policy, source: str) -> bool:
    """Whether scrub_chunk stages this source with `_stage_text` (streamed in batches, cut into chunks of files)."""
    target, _ = policy.source_target(source)
    return target not in ("none", "events") and source != "keystrokes"


def _scrub_chunks(cfg: NightConfig, chunks: list[str], runtime: _Runtime) -> None:
    """scrub_chunk for every planned chunk. With a pool, each chunk that is not streamed runs whole in a
    worker, while this process streams the text chunks and hands pieces of their batches to the workers."""
    policy = load_policy(cfg.policy_path)
    source_of = {c: c.rsplit(".", 1)[0] for c in chunks}
    if runtime.pool is None:
        for chunk in chunks:
            counts = scrub_chunk(cfg, chunk)
            runtime.advance(0 if _streamed(policy, source_of[chunk]) else counts["input_rows"], partition_done=True)
        return
    whole = {c: runtime.pool.submit(scrub_chunk, cfg, c) for c in chunks if not _streamed(policy, source_of[c])}
    for task in whole.values():
        task.add_done_callback(
            lambda t: runtime.advance(t.result()["input_rows"], partition_done=True)
            if not t.cancelled() and not t.exception()
            else None
        )
    # Text chunks are streamed side by side (a thread each, reading and writing only, at most one per text
    # source or worker), so the pool is never left idle while one chunk's last batch finishes.
    streamed = [c for c in chunks if c not in whole]
    threads_needed = max(1, min(len(streamed), max(runtime.workers, len({source_of[c] for c in streamed}))))
    with ThreadPoolExecutor(max_workers=threads_needed, thread_name_prefix="scrubline-stream") as threads:
        for task in [threads.submit(scrub_chunk, cfg, c) for c in streamed]:
            task.result()
            runtime.advance(0, partition_done=True)
    for task in whole.values():
        task.result()


_WORKER: dict[str, Any] = {}


def _init_worker(cfg: NightConfig, log_level: int) -> None:
    """In each spawned worker: one thread per numeric library, the night's context, its Detector loaded once."""
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    os.umask(0o077)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    log.setLevel(log_level)
    locks.inherit(cfg.lock_file)  # the parent holds the night's lock for the whole run
    policy, keys, roster = _context(cfg)
    detector_for(policy, roster)
    _WORKER.update(cfg=cfg, policy=policy, keys=keys, roster=roster)


def _scrub_text_batch_in_worker(
    source: str, rows: list[dict[str, Any]], canary_share: tuple[int, int] | None, policy_sha256: str, key_id: str
) -> tuple[pa.Table, dict[str, Any]]:
    w = _WORKER
    if (w["policy"].sha256, w["keys"].key_id) != (policy_sha256, key_id):
        raise RunError("the policy or the key changed during the run")
    return _scrub_text_batch(w["cfg"].ds, source, rows, w["policy"], w["keys"], w["roster"], canary_share)
