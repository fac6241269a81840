"""One night, stage by stage: the only module that knows the order of the stages.

The CLI calls `run_night`; the Airflow DAG calls the same per-step functions (`plan`, `scrub_partition`,
`validate_night`, `report_night`, `publish_night`) as separate tasks. Each step reads and writes only
under the night's staging folder, so any step can be re-run and a re-run replaces its own output.
Steps return small dicts of counts and paths, which is all that may travel through XCom.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sys
import threading
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import canaries, residual
from pipeline.behaviour import build_events
from pipeline.contracts import (
    DATASET_SCHEMAS,
    EVENTS_DATASET,
    PIPELINE_VERSION,
    SOURCES,
    TEXT_DATASET,
    TEXT_SCHEMA,
)
from pipeline.datasets import scrub_keystrokes, scrub_text_rows
from pipeline.policy import Policy, PolicyError, load_policy
from pipeline.pseudonym import Pseudonymizer, load_key
from pipeline.publish import (
    QuarantineWriter,
    StagedParquet,
    copy_tree,
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
from pipeline.read import (
    DEFAULT_BATCH_ROWS,
    CheckedTable,
    PartitionRows,
    iter_partition,
    read_columnar,
    read_partition,
    read_roster,
    sources_present,
)
from pipeline.report import build_report, load_history, write_report
from pipeline.roster import Roster
from pipeline.scrub import detector_for
from pipeline.summarize import summarize_performance
from pipeline.validate import validate_with_docs

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

    def staged(self, dataset: str) -> Path:
        return self.staging / dataset

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _context(cfg: NightConfig) -> tuple[Policy, Pseudonymizer, Roster]:
    """Key first (no key, no run), then the policy, then the roster with tonight's canary colleagues."""
    keys = load_key(cfg.key_file)
    policy = load_policy(cfg.policy_path)
    roster = read_roster(cfg.roster_file) if cfg.roster_file else Roster()
    return policy, keys, Roster(roster.employees + canaries.canary_employees(cfg.ds))


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
    """Read, check, detect and redact one (source, ds) partition into staged parts plus its counts."""
    policy, keys, roster = _context(cfg)
    target, reason = policy.source_target(source)
    for old in cfg.parts.glob(f"{source}.*.parquet"):
        old.unlink()
    counts: dict[str, Any] = {
        "source": source,
        "files": 0,
        "input_rows": 0,
        "quarantined": {},
        "dropped": {},
        "primary": None if target == "none" else target,
        "published": {},
        "rows_touched": 0,
        "entities": {},
        "aggregates": {},
    }
    if target == "none":
        _stage_unpublished(cfg, source, policy, reason, counts)
    elif source == "keystrokes":
        _stage_keystrokes(cfg, policy, keys, roster, counts)
    elif target == "events":
        _stage_events(cfg, source, policy, keys, counts)
    else:
        _stage_text(cfg, source, policy, keys, roster, counts)
    write_json(cfg.parts / f"{source}.counts.json", counts)
    log.info("scrubbed %s: %d in, staged %s", source, counts["input_rows"], counts["published"])
    return counts


Checked = TypeVar("Checked", PartitionRows, CheckedTable)


def _read_checked(
    cfg: NightConfig, source: str, counts: dict[str, Any], read: Callable[[str, str, str], Checked] = read_partition
) -> Checked:
    """The partition's checked rows (a dict per row, or one Arrow table with `read_columnar` for the millions of
    key and mouse events); its quarantine rows go straight to the quarantine folder."""
    partition = read(cfg.raw_root, source, cfg.ds)
    write_quarantine(cfg.quarantine, source, cfg.ds, partition.quarantine)
    counts["files"] = partition.files
    counts["input_rows"] = partition.input_rows
    counts["quarantined"] = dict(Counter(q["reason"] for q in partition.quarantine))
    return partition


def _stage(cfg: NightConfig, source: str, tables: dict[str, pa.Table], counts: dict[str, Any]) -> None:
    for dataset, table in tables.items():
        write_table(cfg.parts / f"{source}.{dataset}.parquet", table)
        counts["published"][dataset] = table.num_rows


def _stage_unpublished(cfg: NightConfig, source: str, policy: Policy, reason: str | None, counts: dict[str, Any]) -> None:
    """A source the policy does not publish (performance records): counted, summarised with k-suppression."""
    partition = _read_checked(cfg, source, counts)
    if source == "performance":
        counts["aggregates"] = summarize_performance(partition.rows, policy.k_anonymity)
    if partition.rows:
        counts["dropped"] = {reason or "not_published": len(partition.rows)}


def _stage_keystrokes(cfg: NightConfig, policy: Policy, keys: Pseudonymizer, roster: Roster, counts: dict[str, Any]) -> None:
    partition = _read_checked(cfg, "keystrokes", counts, read_columnar)
    _stage(cfg, "keystrokes", scrub_keystrokes(cfg.ds, partition.table, policy, keys, roster, counts), counts)


def _stage_events(cfg: NightConfig, source: str, policy: Policy, keys: Pseudonymizer, counts: dict[str, Any]) -> None:
    partition = _read_checked(cfg, source, counts, read_columnar)
    fraction = float(policy.output["validation_fraction"])
    _stage(cfg, source, {EVENTS_DATASET: build_events(source, partition.table, policy.events, keys, fraction)}, counts)


def _stage_text(cfg: NightConfig, source: str, policy: Policy, keys: Pseudonymizer, roster: Roster, counts: dict[str, Any]) -> None:
    """Stream the partition in batches of `run.batch_rows`: each batch's bad rows go to quarantine, its good
    rows are scrubbed (here, or in `run_night`'s worker pool) and appended to the staged part as row groups.
    Only counters and a 16-byte digest per key stay in memory, however large the partition. The part and the
    quarantine file are renamed into place only once complete."""
    part = cfg.parts / f"{source}.{TEXT_DATASET}.parquet"
    with (
        StagedParquet(part, TEXT_SCHEMA, int(policy.output["row_group_rows"])) as staged,
        QuarantineWriter(cfg.quarantine, source, cfg.ds) as quarantine,
    ):
        for table, batch_counts, input_rows in _scrubbed_batches(cfg, source, policy, keys, roster, counts, quarantine):
            staged.write(table)
            _add_text_counts(counts, batch_counts)
            if _RUNTIME is not None:
                _RUNTIME.advance(input_rows)
    counts["published"][TEXT_DATASET] = staged.rows


def batch_rows(policy: Policy) -> int:
    """Rows per batch of a streamed text partition (policy `run.batch_rows`); it never changes the output."""
    value = (policy.raw.get("run") or {}).get("batch_rows", DEFAULT_BATCH_ROWS)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise PolicyError("run.batch_rows must be a positive integer")
    return value


def _scrubbed_batches(
    cfg: NightConfig,
    source: str,
    policy: Policy,
    keys: Pseudonymizer,
    roster: Roster,
    counts: dict[str, Any],
    quarantine: QuarantineWriter,
) -> Iterator[tuple[pa.Table, dict[str, Any], int]]:
    """(table, counts, input rows) of each batch, in read order; canaries ride in the first one. In a worker
    pool each batch is cut into pieces (`_pieces`) scrubbed in parallel, and the pieces of one batch are
    collected while the next batch is read and handed out, so at most two batches are in memory here too."""
    pool = _RUNTIME.pool if _RUNTIME is not None else None
    pending: deque[tuple[int, Future, int]] = deque()  # (batch number, task, input rows)
    try:
        for i, batch in enumerate(iter_partition(cfg.raw_root, source, cfg.ds, batch_rows(policy))):
            counts["files"] += batch.files
            counts["input_rows"] += batch.input_rows
            counts["quarantined"] = dict(Counter(counts["quarantined"]) + Counter(q["reason"] for q in batch.quarantine))
            quarantine.write(batch.quarantine)
            rows, bad_rows = batch.rows, len(batch.quarantine)
            del batch  # the next batch is read while this name would still hold this one
            if pool is None:
                yield (*_scrub_text_batch(cfg.ds, source, rows, policy, keys, roster, i == 0), len(rows) + bad_rows)
            else:
                for j, piece in enumerate(_pieces(rows, SOURCES[source].text_field, _RUNTIME.workers)):
                    plant = i == 0 and j == 0
                    task = pool.submit(_scrub_text_batch_in_worker, source, piece, plant, policy.sha256, keys.key_id)
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
    ds: str, source: str, rows: list[dict[str, Any]], policy: Policy, keys: Pseudonymizer, roster: Roster, plant: bool
) -> tuple[pa.Table, dict[str, Any]]:
    batch_counts: dict[str, Any] = {}
    table = scrub_text_rows(ds, source, rows, policy, keys, roster, batch_counts, plant_canaries=plant)
    return table, batch_counts


def _add_text_counts(counts: dict[str, Any], batch: dict[str, Any]) -> None:
    counts["dropped"] = dict(Counter(counts["dropped"]) + Counter(batch["dropped"]))
    counts["entities"] = dict(sorted((Counter(counts["entities"]) + Counter(batch["entities"])).items()))
    counts["rows_touched"] += batch["rows_touched"]
    counts["canaries"] = canaries.merge(counts.get("canaries", {}), batch["canaries"])


def _staged_counts(cfg: NightConfig) -> dict[str, dict[str, Any]]:
    planned = read_json(cfg.staging / "plan.json")["sources"]
    missing = [s for s in planned if not (cfg.parts / f"{s}.counts.json").exists()]
    if missing:
        raise RunError(f"partitions not scrubbed: {', '.join(missing)}")
    return {s: read_json(cfg.parts / f"{s}.counts.json") for s in planned}


def _datasets(per_source: dict[str, dict[str, Any]]) -> list[str]:
    """Datasets that at least one of tonight's partitions feeds, in contract order."""
    fed = {d for c in per_source.values() for d in c["published"]}
    return [d for d in DATASET_SCHEMAS if d in fed]


def validate_night(cfg: NightConfig) -> dict[str, Any]:
    """Shard each dataset into staging, then run every gate: Great Expectations, canaries, residual scan."""
    policy, keys, roster = _context(cfg)
    per_source = _staged_counts(cfg)
    reconciliation = reconcile(per_source)
    outcomes: dict[str, dict[str, Any]] = {}
    summary: dict[str, Any] = {}
    residual_hits: dict[str, int] = {}
    for dataset in _datasets(per_source):
        schema = DATASET_SCHEMAS[dataset]
        feeding = [s for s, c in per_source.items() if dataset in c["published"]]
        table = read_tables([cfg.parts / f"{s}.{dataset}.parquet" for s in feeding], schema)
        table = table.sort_by([(name, "ascending") for name in SORT_KEYS[dataset]])
        expected = sum(per_source[s]["published"][dataset] for s in feeding)
        outcome, docs = validate_with_docs(table, dataset, {"expected_rows": expected})
        outcomes[dataset] = outcome.to_dict()
        write_text_file(cfg.staging / "data_docs" / f"{dataset}.html", docs)
        if dataset == TEXT_DATASET:
            residual_hits = residual.scan(table["text"].to_pylist(), roster)
        folder = reset_dir(cfg.staged(dataset))
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
    gates = {
        "datasets": outcomes,
        "canaries": canary_outcome(policy, per_source),
        "residual": {"hits": residual_hits, "success": not residual_hits},
    }
    problems = [f"{d}: {o['failed']} of {o['evaluated']} expectations failed" for d, o in outcomes.items() if not o["success"]]
    problems += [
        f"canary recall for {label} is {c['recall']:.2f}, below {c['threshold']:.2f}"
        for label, c in gates["canaries"]["labels"].items()
        if not c["ok"]
    ]
    problems += [f"residual scan found {n} {kind} match(es)" for kind, n in residual_hits.items()]
    if not reconciliation["balanced"]:
        problems.append("row counts do not reconcile: in != published + quarantined + dropped")
    gates["success"] = not problems
    write_json(cfg.staging / "validation.json", gates)
    if problems:
        report_night(cfg)
        raise RunError("validation failed: " + "; ".join(problems) + "; nothing published")
    return summary


def canary_outcome(policy: Policy, per_source: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Canary recall per label across tonight's partitions, against the policy's thresholds."""
    merged = canaries.merge(*(c.get("canaries", {}) for c in per_source.values()))
    labels = {}
    for label, c in sorted(merged.items()):
        recall = c["caught"] / c["planted"] if c["planted"] else 1.0
        threshold = policy.canary_threshold(label)
        labels[label] = {**c, "recall": round(recall, 4), "threshold": threshold, "ok": recall >= threshold}
    return {"labels": labels, "success": all(c["ok"] for c in labels.values())}


# Published rows are sorted so that re-running a night writes the same files.
SORT_KEYS = {
    TEXT_DATASET: ("split", "record_pid"),
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
    keep = ("input_rows", "quarantined", "dropped", "primary", "published", "rows_touched", "entities")
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
        "fed_by": feeding,
        "sources": {s: {k: c[k] for k in keep} for s, c in per_source.items()},
        "entities": dict(sorted(totals.items())),
        "reconciliation": reconciliation,
        "validation": {k: validation[k] for k in ("suite", "success", "evaluated", "failed")},
    }


def report_night(cfg: NightConfig) -> dict[str, str]:
    """Write the counts-only privacy report to the reports folder and beside each staged manifest."""
    per_source = _staged_counts(cfg)
    manifests = {
        d: read_json(cfg.staged(d) / "_manifest.json")
        for d in _datasets(per_source)
        if (cfg.staged(d) / "_manifest.json").exists()
    }
    validation_path = cfg.staging / "validation.json"
    gates = read_json(validation_path) if validation_path.exists() else {}
    inputs = {"per_source": per_source, "manifests": manifests, "gates": gates}
    folder = reset_dir(reports_dir(cfg.clean_root, cfg.ds))
    write_json(folder / "inputs.json", inputs)
    copy_tree(cfg.staging / "data_docs", folder / "data_docs")
    report = rebuild_report(cfg.clean_root, cfg.ds)
    for dataset in manifests:
        write_report(report, cfg.staged(dataset), prefix="_report")
    return {"json": str(folder / "report.json"), "html": str(folder / "report.html")}


def rebuild_report(clean_root: str | Path, ds: str) -> dict[str, Any]:
    """(Re)write a night's report from the counts kept beside it, with trends against earlier nights."""
    folder = reports_dir(clean_root, ds)
    inputs = read_json(folder / "inputs.json")
    history = load_history(folder.parent, ds)
    report = build_report(
        ds, inputs["per_source"], inputs["manifests"], inputs["gates"], reconcile(inputs["per_source"]), history
    )
    write_report(report, folder)
    return report


def publish_night(cfg: NightConfig) -> dict[str, Any]:
    """Mark each staged dataset complete and swap it into place, one rename per dataset."""
    gates = read_json(cfg.staging / "validation.json")
    if not gates.get("success"):
        raise RunError("validation did not pass; nothing published")
    published = {}
    for dataset in gates["datasets"]:
        write_text_file(cfg.staged(dataset) / "_SUCCESS", "")
        target = published_dir(cfg.clean_root, dataset, cfg.ds)
        swap_into_place(cfg.staged(dataset), target)
        published[dataset] = str(target)
    shutil.rmtree(cfg.staging)  # scrubbed parts only, but no longer needed: the manifests keep the counts
    return {"published": published}


def run_night(cfg: NightConfig, progress: bool = False, workers: int | None = None) -> dict[str, Any]:
    """The whole night, in the same order the DAG runs it. Partitions, and the batches of text partitions,
    are scrubbed across `workers` spawned processes (default: one per CPU; 1 runs everything in this
    process); the output does not depend on it. `progress` shows a bar of rows scrubbed (counts only).
    Workers are spawned, so a script calling this with workers > 1 needs the `if __name__ == "__main__":` guard."""
    sources = plan(cfg)
    workers = max(1, workers or os.cpu_count() or 1)
    with _night_runtime(cfg, workers, progress, len(sources)) as runtime:
        counts = _scrub_partitions(cfg, sources, runtime)
    validated = validate_night(cfg)
    report = report_night(cfg)
    published = publish_night(cfg)
    return {"sources": counts, "datasets": validated, "report": report, **published}


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
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def advance(self, rows: int = 0, partition_done: bool = False) -> None:
        """Count rows scrubbed (and finished partitions) on the bar; numbers are all it ever shows."""
        if self.bar is None:
            return
        with self.lock:
            if partition_done:
                self.done += 1
                self.bar.set_postfix_str(f"{self.done}/{self.partitions} partitions", refresh=False)
            self.bar.update(rows)


_RUNTIME: _Runtime | None = None  # set only while run_night scrubs, in the process that runs it


@contextmanager
def _night_runtime(cfg: NightConfig, workers: int, progress: bool, partitions: int) -> Iterator[_Runtime]:
    global _RUNTIME
    runtime = _Runtime(workers=workers, partitions=partitions)
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    try:
        if progress:
            from tqdm import tqdm

            runtime.bar = tqdm(desc="scrubbing", unit=" rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True)
        if workers > 1:
            os.environ.update({name: "1" for name in THREAD_VARIABLES})  # workers start lazily and inherit these
            runtime.pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(cfg, log.getEffectiveLevel()),
            )
        _RUNTIME = runtime
        yield runtime
    finally:
        _RUNTIME = None
        if runtime.pool is not None:
            runtime.pool.shutdown(wait=True, cancel_futures=True)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        if runtime.bar is not None:
            runtime.bar.close()


def _streamed(policy: Policy, source: str) -> bool:
    """Whether scrub_partition stages this source with `_stage_text` (streamed, its batches spread over the pool)."""
    target, _ = policy.source_target(source)
    return target not in ("none", "events") and source != "keystrokes"


def _scrub_partitions(cfg: NightConfig, sources: list[str], runtime: _Runtime) -> dict[str, dict[str, Any]]:
    """scrub_partition for every planned source. With a pool, each partition that is not streamed runs whole
    in a worker, while this process streams the text partitions and hands pieces of their batches to the workers."""
    policy = load_policy(cfg.policy_path)
    batch_rows(policy)  # a bad setting stops the night before any worker starts
    if runtime.pool is None:
        counts = {}
        for source in sources:
            counts[source] = scrub_partition(cfg, source)
            runtime.advance(0 if _streamed(policy, source) else counts[source]["input_rows"], partition_done=True)
        return counts
    whole = {s: runtime.pool.submit(scrub_partition, cfg, s) for s in sources if not _streamed(policy, s)}
    for task in whole.values():
        task.add_done_callback(
            lambda t: runtime.advance(t.result()["input_rows"], partition_done=True)
            if not t.cancelled() and not t.exception()
            else None
        )
    # Text partitions are streamed side by side (one thread each, reading and writing only), so the pool is
    # never left idle while one partition's last batch finishes.
    streamed = [s for s in sources if s not in whole]
    counts = {}
    with ThreadPoolExecutor(max_workers=max(1, len(streamed)), thread_name_prefix="scrubline-stream") as threads:
        tasks = {s: threads.submit(scrub_partition, cfg, s) for s in streamed}
        for source, task in tasks.items():
            counts[source] = task.result()
            runtime.advance(0, partition_done=True)
    counts.update({s: task.result() for s, task in whole.items()})
    return {s: counts[s] for s in sources}


_WORKER: dict[str, Any] = {}


def _init_worker(cfg: NightConfig, log_level: int) -> None:
    """In each spawned worker: one thread per numeric library, the night's context, its Detector loaded once."""
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    log.setLevel(log_level)
    policy, keys, roster = _context(cfg)
    detector_for(policy, roster)
    _WORKER.update(cfg=cfg, policy=policy, keys=keys, roster=roster)


def _scrub_text_batch_in_worker(
    source: str, rows: list[dict[str, Any]], plant: bool, policy_sha256: str, key_id: str
) -> tuple[pa.Table, dict[str, Any]]:
    w = _WORKER
    if (w["policy"].sha256, w["keys"].key_id) != (policy_sha256, key_id):
        raise RunError("the policy or the key changed during the run")
    return _scrub_text_batch(w["cfg"].ds, source, rows, w["policy"], w["keys"], w["roster"], plant)
