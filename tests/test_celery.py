"""Production-shaped Airflow, started and stopped here on loopback: PostgreSQL as the metadata database (Debian's
server, `airflow db migrate` against it), Redis as the Celery broker, the api-server, scheduler and
dag-processor, and two Celery workers. The scheduler's own run scrubs a generated night whose chat is cut into 8
files, one chunk each (`SCRUBLINE_CHUNK_FILES=1`). Checked: the run succeeds, the mapped scrub tasks ran on both
workers, and what it published equals the plain CLI's run of the same night, byte for byte.

Each worker reports its own name as the task's hostname (`core.hostname_callable`), so the database says which
worker ran which chunk. Every process started here is stopped by its process group, whatever happens."""

from __future__ import annotations

import glob
import gzip
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import free_port, published_bytes, quarantine_bytes, scrubline, wait_healthy

from pipeline.airflow_local import DAG_FILE, DAG_ID, airflow_env
from pipeline.demo import generate_night
from pipeline.pseudonym import create_key_file

pytestmark = pytest.mark.e2e
DEADLINE_S = 1500  # from the first server's start to the run's end; everything is stopped whatever happens
WORKERS = ("worker-a", "worker-b")
CHAT_FILES = 8
WORKER_NAME = "import os\n\ndef hostname() -> str:\n    return os.environ['SCRUBLINE_TEST_WORKER']\n"


def _server_binary(name: str) -> str:
    """A PostgreSQL server program: on PATH, or in Debian's versioned folder (`make test` installs it)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"{name} not found: install PostgreSQL (make services)")
    return found


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Stack:
    """Processes started in their own sessions, stopped by process group in reverse order."""

    def __init__(self, logs: Path) -> None:
        self.logs, self.processes = logs, []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 -- closed in stop()
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append((process, log))
        return process

    def stop(self) -> None:
        for process, _ in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, log in reversed(self.processes):
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            log.close()


def _until(check, what: str, started: float, stack: Stack) -> None:
    while not check():
        dead = [p.args for p, _ in stack.processes if p.poll() is not None]
        assert not dead, f"a service exited while waiting for {what}: {dead}"
        assert time.monotonic() - started < DEADLINE_S, f"gave up waiting for {what}"
        time.sleep(2)


def _cut_chat(raw: Path, ds: str) -> None:
    """The generated chat file of `ds` as CHAT_FILES files, in name (and line) order."""
    folder = raw / "chat" / f"ds={ds}"
    generated = folder / "part-0000.jsonl.gz"
    lines = gzip.decompress(generated.read_bytes()).decode().splitlines()
    generated.unlink()
    step = -(-len(lines) // CHAT_FILES)
    for i in range(CHAT_FILES):
        (folder / f"part-0000-{i:02d}.jsonl").write_text("".join(line + "\n" for line in lines[i * step:(i + 1) * step]))


@pytest.fixture(scope="module")
def celery_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("celery")
    raw, clean, home, dags = root / "raw", root / "clean", root / "airflow", root / "dags"
    today = datetime.now(UTC).date()
    for day in (today - timedelta(days=1), today):  # the scheduled run scrubs yesterday; both, in case midnight passes
        generate_night(raw, day.isoformat(), employees=8, seed=7)
        _cut_chat(raw, day.isoformat())
    key_file = create_key_file(root / "hmac.key")
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    (root / "names").mkdir()
    (root / "names" / "scrubline_test_worker_name.py").write_text(WORKER_NAME)

    # PostgreSQL's cluster lives in its own private folder its server user owns (pytest's are root's, 0700).
    pgdata_parent = Path(tempfile.mkdtemp(prefix="scrubline-pg-"))
    pgdata = pgdata_parent / "data"
    pg_port, redis_port, api_port = free_port(), free_port(), free_port()
    if os.geteuid() == 0:
        shutil.chown(pgdata_parent, "postgres", "postgres")
    subprocess.run(_as_postgres([_server_binary("initdb"), "-D", str(pgdata), "-U", "airflow", "-A", "trust", "--no-sync"]),
                   check=True, capture_output=True, text=True, timeout=120)
    database = f"airflow:@127.0.0.1:{pg_port}/postgres"
    env = airflow_env(home, {
        "SCRUBLINE_RAW_ROOT": str(raw), "SCRUBLINE_CLEAN_ROOT": str(clean),
        "SCRUBLINE_QUARANTINE_ROOT": str(root / "quarantine"), "SCRUBLINE_KEY_FILE": str(key_file),
        "SCRUBLINE_CHUNK_FILES": "1", "SCRUBLINE_MAX_ACTIVE_CHUNKS": "2",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{database}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{database}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "scrubline_test_worker_name.hostname",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1", "AIRFLOW__API__PORT": str(api_port), "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32), "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "1",
        "SCRUBLINE_TEST_WORKER": "scheduler",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "names"), os.environ.get("PYTHONPATH")])),
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    airflow = str(Path(sys.executable).with_name("airflow"))
    home.mkdir(mode=0o700)
    stack = Stack(root)
    started = time.monotonic()
    try:
        stack.start("postgres", _as_postgres([_server_binary("postgres"), "-D", str(pgdata), "-h", "127.0.0.1",
                                              "-p", str(pg_port), "-k", str(pgdata_parent), "-F"]))
        ready = [_server_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "airflow"]
        _until(lambda: subprocess.run(ready, capture_output=True).returncode == 0, "PostgreSQL", started, stack)
        stack.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(root)])
        migrated = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
        assert migrated.returncode == 0, (migrated.stdout + migrated.stderr)[-3000:]
        wait_healthy(api_port, stack.start("api-server", [airflow, "api-server"], env))
        for name in WORKERS:
            stack.start(name, [airflow, "celery", "worker", "--concurrency", "1", "--celery-hostname", f"{name}@%h"],
                        {**env, "SCRUBLINE_TEST_WORKER": name})
        stack.start("dag-processor", [airflow, "dag-processor"], env)
        stack.start("scheduler", [airflow, "scheduler"], env)
        import psycopg2

        def query(sql: str) -> list[tuple]:
            with psycopg2.connect(host="127.0.0.1", port=pg_port, user="airflow", dbname="postgres") as db, db.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        _until(lambda: query(f"select 1 from dag_run where dag_id = '{DAG_ID}' and state in ('success', 'failed')"),
               "the scheduled run", started, stack)
        ((logical, state),) = query(f"select logical_date, state from dag_run where dag_id = '{DAG_ID}'")
        yield {
            "root": root, "raw": raw, "clean": clean, "key_file": key_file, "state": state,
            "night": (logical.astimezone(UTC).date() - timedelta(days=1)).isoformat(),
            "tasks": query(f"select task_id, map_index, state, hostname from task_instance where dag_id = '{DAG_ID}'"),
        }
    finally:
        stack.stop()
        shutil.rmtree(pgdata_parent, ignore_errors=True)


def test_the_run_succeeds_with_its_chunks_spread_over_both_workers(celery_run: dict) -> None:
    assert celery_run["state"] == "success", [t for t in celery_run["tasks"] if t[2] != "success"]
    scrubs = [(index, state, host) for task, index, state, host in celery_run["tasks"] if task == "scrub"]
    assert len(scrubs) >= CHAT_FILES + 3, "a chunk per chat file, and one for each other source"
    assert {state for _, state, _ in scrubs} == {"success"}
    assert {host for _, _, host in scrubs} == set(WORKERS), "mapped chunks ran on both Celery workers"
    assert {host for task, _, _, host in celery_run["tasks"]} <= set(WORKERS), "every task ran on a worker"


def test_the_cluster_publishes_what_the_embedded_run_does_byte_for_byte(celery_run: dict, tmp_path: Path) -> None:
    night = celery_run["night"]
    embedded = tmp_path / "clean"
    result = scrubline("run", "--ds", night, "--raw", str(celery_run["raw"]), "--clean", str(embedded),
                       "--key-file", str(celery_run["key_file"]), "--quarantine", str(tmp_path / "quarantine"),
                       "--chunk-files", "1", "--no-progress")
    assert result.returncode == 0, result.stderr[-4000:]
    published = published_bytes(celery_run["clean"], night)
    assert any(name.endswith(".parquet") for name in published) and "_night.json" in published
    assert published == published_bytes(embedded, night)
    assert quarantine_bytes(celery_run["clean"]) == quarantine_bytes(embedded)
