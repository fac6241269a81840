"""A whole night at scale through the chunked path, one process per chunk task, 2 at a time (a script, not a test).

Why: the acceptance point "bench/ measures a night of at least 1,000,000 text rows and 20,000,000 events on
this machine through the chunked path with 2 workers: rows/s, events/s and peak RSS per worker (flat in chunk
count)". One Airflow mapped task is one `pipeline.run.scrub_chunk(cfg, chunk)` in a fresh worker process, so
that is what this measures: every planned chunk runs as its own child process, at most `--workers` at a time,
and `os.wait4` gives each child's CPU time and peak RSS (ru_maxrss).

What it does, in order:
  data      generates `--seeds` small demo nights (pipeline.demo.generate_night) for one ds, then tiles them into
            one big raw night: text rows are copied with every id rewritten per copy (employee, message,
            channel, thread, meeting, segment, record ids; recipient lists too) and a roster of every copy's
            employees is written; key and mouse events are copied whole per session with event, device and
            session ids made unique per copy and the employee id of one of the text copies, so sessions stay
            whole and ids never collide. Raw files are zstd JSON Lines (`*.jsonl.zst`), 0600 in 0700 folders,
            under --data (outside the repo). Unless --verbatim-text, each text copy after the first gets " #<n>"
            appended, so the tiled corpus is about as repetitive as one generated night instead of N times more
            (the text path deduplicates identical texts within a batch and caches 50,000 recent ones per process).
  baseline  peak RSS of a process that only imports pipeline.run, and of one that loads the night's context and
            its Detector (spaCy, Presidio recognizers, the whole roster) and detects one text.
  chunks    for each --chunk-files size (two sizes, the second about half the first, so about twice the chunks):
            a fresh clean root and staging, `plan(cfg)`, then every chunk in its own child (largest first), at
            most --workers at a time; wall time, CPU time, ru_maxrss per chunk; rows/s and events/s per night
            wall time and per CPU second.
  validate  at --validate-fractions of the size (never the full size: validate holds whole datasets in memory),
            a separate night scrubbed the same way, then validate_night + report_night + publish_night in one
            child: its wall time and peak RSS.

A guard thread stops our children (by pid) when MemAvailable falls under --min-free-gib, and nothing new starts
after --deadline (UTC, HH:MM); what did not run is marked as such in the results. Run:

    .venv/bin/python bench/bench_scale.py --text-rows 20000 --events 200000 --chunk-files 4 2   # check, ~1-2 min
    .venv/bin/python bench/bench_scale.py                                                      # 1M rows, 20M events
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS")
for _var in _THREAD_VARS:  # as run_night's workers: one thread per numeric library; children inherit them
    os.environ[_var] = "1"

REPO = Path(__file__).resolve().parents[1]
DS = "2026-11-26"
TEXT_SOURCES = ("chat", "transcripts", "performance")
PUBLISHED_TEXT = ("chat", "transcripts")  # performance is read and summarised, never published or scrubbed
EVENT_SOURCES = ("keystrokes", "mouse")
MIB = 1024 * 1024


# --- children ------------------------------------------------------------------------------------


def child_main(args: argparse.Namespace) -> int:
    """One child process: a scrub task, a baseline, or the night's validate + report + publish."""
    started, cpu0 = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {}
    from pipeline.night import NightConfig

    if args.child == "import":
        import pipeline.run  # noqa: F401
    elif args.child == "model":
        from pipeline.run import _context
        from pipeline.scrub import detector_for

        cfg = NightConfig(**json.loads(args.cfg))
        policy, _, roster = _context(cfg)
        t = time.perf_counter()
        detector = detector_for(policy, roster)
        detector.detect(["Brenda Wheeler said the build is green, call me at 415 555 0199"])
        out["load_s"] = time.perf_counter() - t
        out["roster_employees"] = len(roster.employees)
    elif args.child == "scrub":
        from pipeline.run import scrub_chunk

        counts = scrub_chunk(NightConfig(**json.loads(args.cfg)), args.chunk)
        out["counts"] = {k: counts.get(k) for k in ("source", "files", "input_rows", "quarantined", "dropped", "published", "rows_touched")}
        out["entities"] = sum((counts.get("entities") or {}).values())
    elif args.child == "finish":
        from pipeline.run import publish_night, report_night, validate_night

        cfg = NightConfig(**json.loads(args.cfg))
        steps = {}
        from pipeline.run import RunError

        t = time.perf_counter()
        try:  # a gate that fails raises after every gate ran (the message is counts and rule names only)
            validate_night(cfg)
            passed = True
        except RunError as exc:
            out["validate_error"] = str(exc)
            passed = False
        steps["validate_s"] = time.perf_counter() - t
        steps["validate_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if passed:
            t = time.perf_counter()
            report_night(cfg)
            steps["report_s"] = time.perf_counter() - t
            t = time.perf_counter()
            published = publish_night(cfg)
            out["published"] = {"held": published.get("held"), "version": published.get("version")}
            steps["publish_s"] = time.perf_counter() - t
        out["steps"] = steps
    out["inner_wall_s"] = time.perf_counter() - started
    out["inner_cpu_s"] = time.process_time() - cpu0
    Path(args.result).write_text(json.dumps(out, default=str))
    return 0


class Guard:
    """Samples MemAvailable every second; kills our running children (by pid) when it falls too low."""

    def __init__(self, min_free_gib: float) -> None:
        self.min_free = min_free_gib * 1024 ** 3
        self.lowest = math.inf
        self.tripped = False
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            free = mem_available()
            self.lowest = min(self.lowest, free)
            if free < self.min_free and self.pids:
                self.tripped = True
                for pid in list(self.pids):
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass

    def stop(self) -> None:
        self._stop.set()


def mem_available() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return math.inf


def past(deadline: datetime | None) -> bool:
    return deadline is not None and datetime.now(UTC) >= deadline


def run_children(jobs: list[dict[str, Any]], workers: int, guard: Guard, deadline: datetime | None, work: Path,
                 max_heavy: int = 1) -> list[dict[str, Any]]:
    """Run each job (a child command) in its own process, at most `workers` at a time, in the given order, but at
    most `max_heavy` jobs marked heavy at once (a key chunk reads the whole key partition: several GiB at 20M
    events); each result gets wall, CPU (user + system) and ru_maxrss from os.wait4."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    queue = list(jobs)
    running: dict[int, tuple[dict[str, Any], float, subprocess.Popen, Path, Any]] = {}
    done: list[dict[str, Any]] = []
    while queue or running:
        while queue and len(running) < workers and not past(deadline) and not guard.tripped:
            heavy_running = sum(1 for j, *_ in running.values() if j.get("heavy"))
            pick = next((i for i, j in enumerate(queue) if not j.get("heavy") or heavy_running < max_heavy), None)
            if pick is None:
                break
            job = queue.pop(pick)
            result = work / f"result-{len(done) + len(running)}-{job['name']}.json"
            err = open(work / f"stderr-{job['name']}.log", "w+b")  # noqa: SIM115 (closed when the child is reaped)
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", job["child"], "--cfg", json.dumps(job["cfg"]),
                   "--chunk", job.get("chunk", ""), "--result", str(result)]
            proc = subprocess.Popen(cmd, env=env, stdout=err, stderr=err, cwd=str(REPO))
            running[proc.pid] = (job, time.perf_counter(), proc, result, err)
            guard.pids.add(proc.pid)
        if not running:
            break
        pid, status, usage = os.wait4(-1, 0)
        if pid not in running:
            continue
        job, t0, proc, result, err = running.pop(pid)
        guard.pids.discard(pid)
        proc.returncode = os.waitstatus_to_exitcode(status)
        rec = {k: v for k, v in job.items() if k != "cfg"}
        rec.update(wall_s=time.perf_counter() - t0, cpu_s=usage.ru_utime + usage.ru_stime, user_s=usage.ru_utime,
                   sys_s=usage.ru_stime, maxrss_mib=usage.ru_maxrss / 1024, rc=proc.returncode)
        if proc.returncode == 0 and result.exists():
            rec.update(json.loads(result.read_text()))
        else:
            err.seek(0)
            rec["error"] = err.read().decode(errors="replace")[-2000:]
        err.close()
        done.append(rec)
        log(f"  {job['name']:<22} rc={rec['rc']} wall {rec['wall_s']:7.1f}s cpu {rec['cpu_s']:7.1f}s "
            f"rss {rec['maxrss_mib']:7.0f} MiB rows {((rec.get('counts') or {}).get('input_rows'))}")
    for job in queue:
        done.append({**{k: v for k, v in job.items() if k != "cfg"}, "not_run": "deadline" if past(deadline) else "memory guard"})
    return done


# --- data ----------------------------------------------------------------------------------------


def private(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class PartWriter:
    """Raw part files of one partition, `part-NNNNN.jsonl.zst`, rolled over every `per_file` rows."""

    def __init__(self, folder: Path, per_file: int) -> None:
        import zstandard

        self.folder, self.per_file = private(folder), per_file
        self.cctx = zstandard.ZstdCompressor(level=3)
        self.files = self.rows = self._in_file = 0
        self._fh = self._zw = None

    def _open(self) -> None:
        path = self.folder / f"part-{self.files:05d}.jsonl.zst"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._fh = os.fdopen(fd, "wb")
        self._zw = self.cctx.stream_writer(self._fh, closefd=False)
        self.files += 1
        self._in_file = 0

    def write(self, data: bytes, rows: int) -> None:
        if self._zw is None or self._in_file >= self.per_file:
            self.close()
            self._open()
        self._zw.write(data)
        self._in_file += rows
        self.rows += rows

    def close(self) -> None:
        if self._zw is not None:
            self._zw.close()
            self._fh.close()
            self._zw = self._fh = None


# Every id of a raw text row, per source (docs/contracts.md); a copy prefixes each one that is set.
TEXT_IDS = {
    "chat": ("message_id", "employee_id", "channel_id", "thread_id"),
    "transcripts": ("meeting_id", "segment_id", "speaker_employee_id"),
    "performance": ("record_id", "employee_id", "manager_id"),
}


def rewrite_text_row(source: str, row: dict[str, Any], p: str, suffix: str) -> dict[str, Any]:
    """A copy of a raw text row with every id prefixed by the copy's `p` (employee ids too: the roster's)."""
    r = dict(row)
    for k in TEXT_IDS[source]:
        if r.get(k):
            r[k] = p + r[k]
    if r.get("recipient_ids") is not None:
        r["recipient_ids"] = [p + x for x in r["recipient_ids"]]
    if suffix and source != "performance" and r.get("text"):
        r["text"] = r["text"] + suffix
    return r


def build_night(data: Path, raw: Path, text_rows: int, events: int, seeds: int, employees: int, rows_per_file: int,
                events_per_file: int, verbatim: bool) -> dict[str, Any]:
    """The tiled raw night under `raw` (reused when built before with the same parameters)."""
    params = {"text_rows": text_rows, "events": events, "seeds": seeds, "employees": employees, "ds": DS,
              "rows_per_file": rows_per_file, "events_per_file": events_per_file, "verbatim_text": verbatim}
    info_file = raw.parent / f"{raw.name}.build.json"
    if info_file.exists() and (raw / "roster.jsonl").exists():
        info = json.loads(info_file.read_text())
        if info["params"] == params:
            log(f"raw night {raw} reused (built {info['built_at']})")
            return info
    from pipeline.demo import generate_night

    t0 = time.perf_counter()
    base_root = private(data / "base")
    bases = []
    for s in range(seeds):
        out = base_root / f"e{employees}-s{s}"
        if not (out / "roster.jsonl").exists():
            generate_night(out, DS, employees=employees, seed=1000 + s)
        def part(src: str, out: Path = out) -> Path:
            return out / src / f"ds={DS}" / "part-0000.jsonl.gz"

        bases.append({
            "roster": [json.loads(line) for line in (out / "roster.jsonl").read_text().splitlines() if line.strip()],
            **{src: read_jsonl(part(src)) for src in TEXT_SOURCES},
            # events stay bytes: ids are rewritten by inserting a prefix after each id field's opening quote
            **{src: __import__("gzip").decompress(part(src).read_bytes()) for src in EVENT_SOURCES},
        })
    gen_s = time.perf_counter() - t0
    base_text = sum(len(b[s]) for b in bases for s in TEXT_SOURCES)
    base_events = sum(b[s].count(b"\n") for b in bases for s in EVENT_SOURCES)
    text_copies = max(1, math.ceil(text_rows / base_text))
    event_copies = max(1, math.ceil(events / base_events))
    if raw.exists():
        shutil.rmtree(raw)
    private(raw)
    t1 = time.perf_counter()
    # roster: every copy's employees (the same names, once per copy: ids differ)
    with os.fdopen(os.open(raw / "roster.jsonl", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        for k in range(text_copies):
            for s, b in enumerate(bases):
                p = f"k{k:04d}s{s}-"
                for e in b["roster"]:
                    e = {**e, "employee_id": p + e["employee_id"], "manager_id": p + e["manager_id"] if e.get("manager_id") else None}
                    f.write(json.dumps(e, ensure_ascii=False) + "\n")
    rows: dict[str, int] = {}
    files: dict[str, int] = {}
    digests: set[bytes] = set()
    published_rows = 0
    for src in TEXT_SOURCES:
        w = PartWriter(raw / src / f"ds={DS}", rows_per_file)
        for k in range(text_copies):
            suffix = "" if verbatim or k == 0 else f" #{k}"
            for s, b in enumerate(bases):
                p = f"k{k:04d}s{s}-"
                out_rows = [rewrite_text_row(src, r, p, suffix) for r in b[src]]
                if src in PUBLISHED_TEXT:
                    for r in out_rows:
                        if (r.get("text") or "").strip():
                            digests.add(hashlib.blake2b(r["text"].encode("utf-8", "surrogatepass"), digest_size=8).digest())
                            published_rows += 1
                # rows of one base night are written to one file, rolled over between base nights
                w.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out_rows).encode(), len(out_rows))
        w.close()
        rows[src], files[src] = w.rows, w.files
    base_digests = {hashlib.blake2b((r.get("text") or "").encode("utf-8", "surrogatepass"), digest_size=8).digest()
                    for b in bases for src in PUBLISHED_TEXT for r in b[src] if (r.get("text") or "").strip()}
    base_published = sum(1 for b in bases for src in PUBLISHED_TEXT for r in b[src] if (r.get("text") or "").strip())
    text_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    writers = {src: PartWriter(raw / src / f"ds={DS}", events_per_file) for src in EVENT_SOURCES}
    # Each base night's events grouped by employee (whole sessions), the employee id left as a placeholder.
    # Copy j of base employee i goes to employee (i + j // text_copies) of the same base night in text copy
    # j % text_copies: each user gets sessions copied from different base typists, never two copies of one
    # typist's session (identical sessions under one user would make the re-identification gate fail trivially).
    grouped = []
    for b in bases:
        ids = [e["employee_id"] for e in b["roster"]]
        per = {}
        for src in EVENT_SOURCES:
            groups: dict[str, list[bytes]] = {}
            for line in b[src].splitlines(keepends=True):
                at = line.index(b'"employee_id": "') + 16
                eid = line[at:line.index(b'"', at)].decode()
                groups.setdefault(eid, []).append(line[:at] + b"\x00" + line[line.index(b'"', at):])
            per[src] = [(ids.index(eid), b"".join(lines), len(lines)) for eid, lines in groups.items()]
        grouped.append((ids, per))
    for j in range(event_copies):
        k, shift = j % text_copies, j // text_copies
        x = f"x{j:05d}-".encode()
        for s, (ids, per) in enumerate(grouped):
            emp = f"k{k:04d}s{s}-"
            for src in EVENT_SOURCES:
                parts, n = [], 0
                for i, blob, lines in per[src]:
                    parts.append(blob.replace(b"\x00", (emp + ids[(i + shift) % len(ids)]).encode()))
                    n += lines
                blob = (b"".join(parts).replace(b'"event_id": "', b'"event_id": "' + x)
                        .replace(b'"device_id": "', b'"device_id": "' + x)
                        .replace(b'"session_id": "', b'"session_id": "' + x))
                writers[src].write(blob, n)
    for src, w in writers.items():
        w.close()
        rows[src], files[src] = w.rows, w.files
    events_s = time.perf_counter() - t2
    info = {
        "params": params, "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "base": {"nights": seeds, "employees_each": employees, "text_rows": base_text, "events": base_events,
                 "published_text_rows": base_published, "distinct_texts": len(base_digests),
                 "distinct_ratio": round(len(base_digests) / max(1, base_published), 4)},
        "text_copies": text_copies, "event_copies": event_copies, "roster_employees": text_copies * sum(len(b["roster"]) for b in bases),
        "rows": rows, "files": files,
        "text_rows": sum(rows[s] for s in TEXT_SOURCES), "events": sum(rows[s] for s in EVENT_SOURCES),
        "published_text_rows": published_rows, "distinct_texts": len(digests),
        "distinct_ratio": round(len(digests) / max(1, published_rows), 4),
        "raw_bytes": sum(p.stat().st_size for p in raw.rglob("*") if p.is_file()),
        "seconds": {"generate_base": round(gen_s, 1), "write_text": round(text_s, 1), "write_events": round(events_s, 1)},
    }
    info_file.write_text(json.dumps(info, indent=1))
    log(f"raw night {raw}: {info['text_rows']:,} text rows ({info['files']}), {info['events']:,} events, "
        f"distinct texts {info['distinct_texts']:,} / {published_rows:,} = {info['distinct_ratio']}, "
        f"{info['raw_bytes'] / MIB:,.0f} MiB on disk, {info['seconds']}")
    return info


# --- runs ----------------------------------------------------------------------------------------


def night_cfg(raw: Path, root: Path, key: Path, chunk_files: int) -> dict[str, Any]:
    for name in (f"clean-{chunk_files}", f"staging-{chunk_files}", f"quarantine-{chunk_files}"):
        if (root / name).exists():
            shutil.rmtree(root / name)
    private(root)
    return {"ds": DS, "raw_root": str(raw), "clean_root": str(root / f"clean-{chunk_files}"),
            "staging_root": str(root / f"staging-{chunk_files}"), "quarantine_root": str(root / f"quarantine-{chunk_files}"),
            "key_file": str(key), "chunk_files": chunk_files}


def order(chunk_ids: list[str]) -> list[str]:
    """Longest first: key chunks (each reads the whole partition), mouse, then text chunks last-first (a text
    chunk also reads every earlier file of its partition for its row keys), performance last."""
    rank = {"keystrokes": 0, "mouse": 1, "chat": 2, "transcripts": 3, "performance": 4}
    return sorted(chunk_ids, key=lambda c: (rank.get(c.rsplit(".", 1)[0], 5), -int(c.rsplit(".", 1)[1])))


def kind(source: str) -> str:
    return "events" if source in EVENT_SOURCES else "text" if source in PUBLISHED_TEXT else "other"


def scrub_night(cfg: dict[str, Any], workers: int, guard: Guard, deadline: datetime | None, work: Path,
                max_heavy: int) -> dict[str, Any]:
    from pipeline.night import NightConfig
    from pipeline.run import plan

    chunks = plan(NightConfig(**cfg))
    jobs = [{"name": c, "child": "scrub", "chunk": c, "cfg": cfg, "source": c.rsplit(".", 1)[0],
             "heavy": c.startswith("keystrokes.")} for c in order(chunks)]
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    results = run_children(jobs, workers, guard, deadline, work, max_heavy)
    wall = time.perf_counter() - t0
    return {"chunk_files": cfg["chunk_files"], "chunks": len(chunks), "wall_s": wall, "loadavg_before": load0,
            "loadavg_after": os.getloadavg(), "tasks": results}


def summarise(run: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    tasks = run["tasks"]
    ok = [t for t in tasks if t.get("rc") == 0 and "counts" in t]
    s: dict[str, Any] = {"chunk_files": run["chunk_files"], "chunks": run["chunks"], "wall_s": round(run["wall_s"], 1),
                         "complete": len(ok) == len(tasks), "failed_or_not_run": [t["name"] for t in tasks if t not in ok]}
    per_source: dict[str, Any] = {}
    for src in (*TEXT_SOURCES, *EVENT_SOURCES):
        mine = [t for t in ok if t["source"] == src]
        if mine:
            per_source[src] = {"chunks": len(mine), "input_rows": sum(t["counts"]["input_rows"] for t in mine),
                               "cpu_s": round(sum(t["cpu_s"] for t in mine), 1),
                               "max_rss_mib": round(max(t["maxrss_mib"] for t in mine)),
                               "median_rss_mib": round(statistics.median(t["maxrss_mib"] for t in mine)),
                               "min_rss_mib": round(min(t["maxrss_mib"] for t in mine)),
                               "quarantined": sum(sum((t["counts"]["quarantined"] or {}).values()) for t in mine),
                               "published": sum(sum((t["counts"]["published"] or {}).values()) for t in mine)}
    s["per_source"] = per_source
    for k, srcs in (("text", PUBLISHED_TEXT), ("events", EVENT_SOURCES)):
        mine = [t for t in ok if t["source"] in srcs]
        if not mine:
            continue
        n = sum(t["counts"]["input_rows"] for t in mine)
        cpu = sum(t["cpu_s"] for t in mine)
        s[k] = {"rows": n, "tasks": len(mine), "per_s_night_wall": round(n / run["wall_s"]), "per_cpu_s": round(n / cpu),
                "cpu_s": round(cpu, 1), "task_wall_s": round(sum(t["wall_s"] for t in mine), 1),
                "max_rss_mib": round(max(t["maxrss_mib"] for t in mine)),
                "median_rss_mib": round(statistics.median(t["maxrss_mib"] for t in mine))}
    s["all_rows"] = sum(t["counts"]["input_rows"] for t in ok)
    s["cpu_s"] = round(sum(t.get("cpu_s", 0) for t in ok), 1)
    s["max_rss_mib"] = round(max((t["maxrss_mib"] for t in ok), default=0))
    s["quarantined"] = sum(v["quarantined"] for v in per_source.values())
    s["entities"] = sum(t.get("entities", 0) for t in ok)
    return s


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def table(rows: list[list[Any]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) else str(x)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text-rows", type=int, default=1_000_000, help="at least this many raw text rows (chat, transcripts, performance)")
    ap.add_argument("--events", type=int, default=20_000_000, help="at least this many key and mouse events")
    ap.add_argument("--chunk-files", type=int, nargs="+", default=[8, 4], help="raw files per chunk, one run each (NightConfig.chunk_files)")
    ap.add_argument("--workers", type=int, default=2, help="chunk tasks at a time (one process each)")
    ap.add_argument("--max-heavy", type=int, default=1, help="key chunks at a time (each holds the whole key partition)")
    ap.add_argument("--rows-per-file", type=int, default=10_000, help="text rows per raw part file")
    ap.add_argument("--events-per-file", type=int, default=0, help="events per raw part file (default: events / 16)")
    ap.add_argument("--seeds", type=int, default=8, help="small demo nights tiled (different seeds)")
    ap.add_argument("--employees", type=int, default=50, help="employees of each small demo night")
    ap.add_argument("--verbatim-text", action="store_true", help="copy texts verbatim (else ' #<copy>' is appended after the first copy)")
    ap.add_argument("--validate-fractions", type=float, nargs="*", default=[0.05, 0.1], help="sizes at which validate + publish are measured")
    ap.add_argument("--validate-only", action="store_true", help="skip the baselines and the full-size chunk runs")
    ap.add_argument("--data", type=Path, default=Path("/tmp/exp/scale-data"))
    ap.add_argument("--deadline", default=None, help="UTC HH:MM after which no new child is started")
    ap.add_argument("--min-free-gib", type=float, default=2.0, help="kill our children when MemAvailable falls below this")
    ap.add_argument("--json", type=Path, default=None, help="default bench/results/scale-<date>.json")
    ap.add_argument("--keep", action="store_true", help="keep staging and clean roots after the runs")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cfg", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--chunk", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_main(args)

    deadline = None
    if args.deadline:
        h, m = map(int, args.deadline.split(":"))
        deadline = datetime.now(UTC).replace(hour=h, minute=m, second=0, microsecond=0)
    events_per_file = args.events_per_file or max(1000, args.events // 16)
    os.umask(0o077)
    data = private(args.data)
    key = data / "hmac.key"
    if not key.exists():
        import secrets

        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"), "argv": sys.argv,
        "code": subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "mem_total_gib": round(
            int(Path("/proc/meminfo").read_text().split()[1]) / 1024 ** 2, 1), "loadavg_at_start": os.getloadavg()},
        "workers": args.workers, "max_heavy": args.max_heavy,
    }
    guard = Guard(args.min_free_gib)
    name = f"t{args.text_rows}-e{args.events}" + ("-verbatim" if args.verbatim_text else "")
    raw = data / f"raw-{name}"
    info = build_night(data, raw, args.text_rows, args.events, args.seeds, args.employees, args.rows_per_file,
                       events_per_file, args.verbatim_text)
    results["night"] = info
    work = private(data / f"work-{name}")

    results["baseline"], results["runs"] = {}, []
    if args.validate_only:
        args.chunk_files = args.chunk_files[:1]  # the validate nights are cut with the first size
    log("baselines: import only, then context + Detector with the full roster")
    base_cfg = night_cfg(raw, work / "baseline", key, args.chunk_files[0])
    base = [] if args.validate_only else run_children(
        [{"name": "import-only", "child": "import", "cfg": base_cfg},
         {"name": "model-loaded", "child": "model", "cfg": base_cfg}], 1, guard, deadline, work)
    results["baseline"] = {b["name"]: {k: b.get(k) for k in ("maxrss_mib", "wall_s", "cpu_s", "load_s", "roster_employees", "error")} for b in base}

    for cf in [] if args.validate_only else args.chunk_files:
        if past(deadline) or guard.tripped:
            results["runs"].append({"chunk_files": cf, "not_run": "deadline" if past(deadline) else "memory guard"})
            continue
        log(f"chunk_files={cf}: plan + scrub every chunk, {args.workers} at a time")
        cfg = night_cfg(raw, work / "night", key, cf)
        run = scrub_night(cfg, args.workers, guard, deadline, work, args.max_heavy)
        run["summary"] = summarise(run, info)
        results["runs"].append(run)
        log(f"chunk_files={cf}: {run['chunks']} chunks, wall {run['wall_s']:.1f}s")
        if not args.keep:
            for k in ("clean_root", "staging_root", "quarantine_root"):
                shutil.rmtree(cfg[k], ignore_errors=True)

    results["validate"] = []
    for frac in args.validate_fractions:
        if past(deadline) or guard.tripped:
            results["validate"].append({"fraction": frac, "not_run": "deadline" if past(deadline) else "memory guard"})
            continue
        t_rows, n_events = int(args.text_rows * frac), int(args.events * frac)
        vname = f"t{t_rows}-e{n_events}" + ("-verbatim" if args.verbatim_text else "")
        log(f"validate at {frac}: {t_rows:,} text rows, {n_events:,} events")
        vraw = data / f"raw-{vname}"
        vinfo = build_night(data, vraw, t_rows, n_events, args.seeds, args.employees, args.rows_per_file,
                            events_per_file, args.verbatim_text)
        vwork = private(data / f"work-{vname}")
        cfg = night_cfg(vraw, vwork / "night", key, args.chunk_files[0])
        run = scrub_night(cfg, args.workers, guard, deadline, vwork, args.max_heavy)
        run["summary"] = summarise(run, vinfo)
        entry = {"fraction": frac, "night": {k: vinfo[k] for k in ("text_rows", "events", "rows", "files", "distinct_ratio")},
                 "scrub": run["summary"]}
        if run["summary"]["complete"]:
            fin = run_children([{"name": f"finish-{frac}", "child": "finish", "cfg": cfg}], 1, guard, deadline, vwork)[0]
            entry["finish"] = {k: fin.get(k) for k in ("maxrss_mib", "wall_s", "cpu_s", "steps", "published",
                                                       "validate_error", "error", "not_run")}
        results["validate"].append(entry)
        if not args.keep:
            for k in ("clean_root", "staging_root", "quarantine_root"):
                shutil.rmtree(cfg[k], ignore_errors=True)
    guard.stop()
    results["memory_guard"] = {"tripped": guard.tripped, "lowest_mem_available_gib": round(guard.lowest / 1024 ** 3, 2)}
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")

    # --- figures ---
    print()
    print(f"night: {info['text_rows']:,} text rows {info['rows']} in {info['files']} files, {info['events']:,} events; "
          f"roster {info['roster_employees']:,} employees; distinct published texts {info['distinct_texts']:,} / "
          f"{info['published_text_rows']:,} = {info['distinct_ratio']} (one base night: {info['base']['distinct_ratio']})")
    b = results["baseline"]
    print(f"baseline RSS: import pipeline.run {b.get('import-only', {}).get('maxrss_mib', 0):.0f} MiB; "
          f"context + Detector loaded {b.get('model-loaded', {}).get('maxrss_mib', 0):.0f} MiB "
          f"(load {b.get('model-loaded', {}).get('load_s') or 0:.1f}s)")
    rows = [["chunk_files", "chunks", "complete", "night wall s", "text rows/s (wall)", "text rows/CPU s", "events/s (wall)",
             "events/CPU s", "text RSS max/med MiB", "event RSS max/med MiB", "CPU s", "quarantined"]]
    for run in results["runs"]:
        s = run.get("summary")
        if not s:
            rows.append([run["chunk_files"], "-", f"not run ({run.get('not_run')})", *["-"] * 9])
            continue
        t, e = s.get("text", {}), s.get("events", {})
        rows.append([s["chunk_files"], s["chunks"], s["complete"], s["wall_s"], fmt(t.get("per_s_night_wall", "-")),
                     fmt(t.get("per_cpu_s", "-")), fmt(e.get("per_s_night_wall", "-")), fmt(e.get("per_cpu_s", "-")),
                     f"{t.get('max_rss_mib', '-')}/{t.get('median_rss_mib', '-')}", f"{e.get('max_rss_mib', '-')}/{e.get('median_rss_mib', '-')}",
                     s["cpu_s"], fmt(s["quarantined"])])
    print(table(rows))
    print()
    rows = [["chunk_files", "source", "chunks", "input rows", "CPU s", "RSS max MiB", "RSS median MiB", "RSS min MiB"]]
    for run in results["runs"]:
        for src, v in (run.get("summary") or {}).get("per_source", {}).items():
            rows.append([run["chunk_files"], src, v["chunks"], fmt(v["input_rows"]), v["cpu_s"], v["max_rss_mib"], v["median_rss_mib"], v["min_rss_mib"]])
    if len(rows) > 1:
        print(table(rows))
        print()
    rows = [["fraction", "text rows", "events", "scrub wall s", "validate+report+publish wall s", "validate s", "peak RSS MiB", "outcome"]]
    for v in results["validate"]:
        if "not_run" in v:
            rows.append([v["fraction"], "-", "-", "-", "-", "-", "-", f"not run ({v['not_run']})"])
            continue
        f = v.get("finish") or {}
        if not f:
            outcome = "scrub incomplete"
        elif f.get("published"):
            outcome = "validated, published"
        elif f.get("validate_error"):
            outcome = "a gate failed: " + f["validate_error"][:160]
        else:
            outcome = "error: " + (f.get("error") or "?")[-160:].replace("\n", " ")
        rows.append([v["fraction"], fmt(v["night"]["text_rows"]), fmt(v["night"]["events"]), v["scrub"]["wall_s"],
                     round(f.get("wall_s") or 0, 1), round((f.get("steps") or {}).get("validate_s") or 0, 1),
                     round(f.get("maxrss_mib") or 0), outcome])
    if len(rows) > 1:
        print(table(rows))
    print(f"\nmemory guard: {results['memory_guard']}")
    out = args.json or REPO / "bench" / "results" / f"scale-{started:%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
