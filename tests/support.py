"""Helpers shared by the end-to-end tests: the generated night and the real `scrubline` command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.pseudonym import KEY_ENV

DS = "2026-11-26"
SCRUBLINE = str(Path(sys.executable).with_name("scrubline"))


# Malformed rows planted beside the generated chat partition, each with the reason it must get.
MALFORMED = [
    ("{this is not json", "invalid_json"),
    (json.dumps({"message_id": "bad-type", "ts": "2026-11-26T10:00:00Z", "employee_id": "E1", "channel_id": "C1",
                 "channel_kind": "dm", "recipient_ids": [], "thread_id": None, "text": 12345}), "bad_type:text"),
    (json.dumps({"message_id": "no-sender", "ts": "2026-11-26T10:00:00Z", "channel_id": "C1",
                 "channel_kind": "dm", "recipient_ids": [], "thread_id": None, "text": "hi"}), "missing_field:employee_id"),
]


# A secret typed into a chat box and deleted before sending: it is in the stream, never in any message.
DELETED_SECRET = "reach me at canary.deleted@example.org "


def typed_then_deleted_stream(employee_id: str) -> list[dict]:
    """Key events that type DELETED_SECRET, erase it with Backspace, then type and send "nvm"."""
    keys = list(DELETED_SECRET) + ["Backspace"] * len(DELETED_SECRET) + list("nvm") + ["Enter"]
    events = []
    for i, key in enumerate(keys):
        for j, action in enumerate(("down", "up")):
            events.append({
                "event_id": f"canary-{i}-{action}", "ts": 1764151200000 + 120 * i + 40 * j, "employee_id": employee_id,
                "device_id": "dev-canary", "session_id": "sess-canary", "app": "Slack", "window_title": "Slack",
                "field_id": "composer", "field_kind": "text", "key": key, "action": action, "modifiers": [], "text": None,
            })
    return events


@dataclass(frozen=True)
class Night:
    raw: Path
    key_file: Path

    @property
    def ground_truth(self) -> list[dict]:
        path = self.raw / "_ground_truth" / f"ds={DS}" / "planted.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    @property
    def roster(self) -> list[dict]:
        return [json.loads(line) for line in (self.raw / "roster.jsonl").read_text().splitlines() if line.strip()]


def scrubline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `scrubline` command as a user would."""
    base = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    return subprocess.run([SCRUBLINE, *args], capture_output=True, text=True, env={**base, **(env or {})}, check=False)


def run_night(night: Night, clean: Path, *extra: str, verbose: str | None = None) -> subprocess.CompletedProcess[str]:
    return scrubline(*([verbose] if verbose else []), "run", "--ds", DS, "--raw", str(night.raw), "--clean", str(clean),
                     "--key-file", str(night.key_file), "--quarantine", str(clean.parent / "quarantine"), *extra)


def manifest(clean: Path, dataset: str, ds: str = DS) -> dict:
    """A dataset's manifest in the night's current version (the reader rule: `current`, then `_SUCCESS`)."""
    version = clean / "_nights" / f"ds={ds}" / "current"
    assert (version / "_SUCCESS").exists()
    return json.loads((version / dataset / "_manifest.json").read_text())


def readers_see(clean: Path, dataset: str, ds: str = DS) -> int:
    """Rows of a dataset's night as pandas, pyarrow, DuckDB and polars read it (they must agree with each other
    and with the manifest, and the night's folder must hold its shards and nothing else), or 0 when the night
    is not published."""
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow.dataset as pads

    folder = clean / dataset / f"ds={ds}"
    if not folder.exists():
        return 0
    listed = manifest(clean, dataset, ds)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f["path"] for f in listed["files"])
    frame = pd.read_parquet(folder)
    table = pads.dataset(clean / dataset).to_table()  # `ds` comes from the shards themselves
    count = duckdb.sql(f"select count(*) from read_parquet('{clean}/{dataset}/*/*.parquet')").fetchall()[0][0]
    lazy = pl.scan_parquet(f"{clean}/{dataset}/", hive_partitioning=True).filter(pl.col("ds").cast(pl.String) == ds).collect()
    assert len(frame) == count == lazy.height == listed["rows"]
    assert table.filter(pads.field("ds") == ds).num_rows == count
    return count


def published_bytes(clean: Path, ds: str = DS) -> dict[str, bytes]:
    """Every file a reader reaches through the stable links of a night, and the night's manifest, by path."""
    out = {}
    for link in [clean / "text" / f"ds={ds}", clean / "events" / f"ds={ds}", clean / "_reports" / f"ds={ds}"]:
        for path in sorted(link.rglob("*")):
            if path.is_file():
                out[str(path.relative_to(clean))] = path.read_bytes()
    manifest = clean / "_nights" / f"ds={ds}" / "current" / "_night.json"
    if manifest.exists():
        out["_night.json"] = manifest.read_bytes()
    return out


def quarantine_bytes(clean: Path) -> dict[str, bytes]:
    """Every quarantine file of a run whose quarantine root is beside its clean root, by path."""
    root = clean.parent / "quarantine"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def free_port() -> int:
    """A loopback port free right now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen) -> None:
    """Until the api-server answers its health check on loopback (no proxy), or give up."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    started = time.monotonic()
    while True:
        assert server.poll() is None, "the api-server exited"
        assert time.monotonic() - started < 300, "the api-server did not answer its health check"
        try:
            with opener.open(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
