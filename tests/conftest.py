"""Shared fixtures: one small generated night, reused by every end-to-end test; the same night with a canary in
every raw field, run once through the real DAG and once through the CLI at DEBUG (test_dag, test_leaks)."""

from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from leaks import plant_disclosures, plant_every_field
from support import DS, MALFORMED, Night, run_night, typed_then_deleted_stream

from pipeline.demo import generate_night


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("night")
    generate_night(root / "raw", DS, employees=12, seed=7)
    bad = root / "raw" / "chat" / f"ds={DS}" / "zz-malformed.jsonl"
    bad.write_text("\n".join(line for line, _ in MALFORMED) + "\n")
    employee = json.loads((root / "raw" / "roster.jsonl").read_text().splitlines()[0])["employee_id"]
    typed = root / "raw" / "keystrokes" / f"ds={DS}" / "zz-typed-then-deleted.jsonl"
    typed.write_text("".join(json.dumps(e) + "\n" for e in typed_then_deleted_stream(employee)))
    key_file = root / "hmac.key"
    key_file.write_text("0123456789abcdef" * 4)
    key_file.chmod(0o600)
    return Night(raw=root / "raw", key_file=key_file)




@dataclass(frozen=True)
class CanaryNight(Night):
    canaries: frozenset[str] = frozenset()
    disclosures: dict[str, list[tuple[str, str]]] | None = None  # label -> (text, phrase) planted in chat (issue 12)


@pytest.fixture(scope="session")
def canary_night(night: Night, tmp_path_factory: pytest.TempPathFactory) -> CanaryNight:
    root = tmp_path_factory.mktemp("canary-night")
    shutil.copytree(night.raw, root / "raw")
    values = plant_every_field(root / "raw", DS)
    disclosures = plant_disclosures(root / "raw", DS)
    return CanaryNight(raw=root / "raw", key_file=night.key_file, canaries=frozenset(values), disclosures=disclosures)


@pytest.fixture(scope="session")
def dag_run(canary_night: CanaryNight, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The canary night through the real DAG (`airflow dags test` on SQLite): (clean root, AIRFLOW_HOME)."""
    from pipeline.airflow_local import run_dag

    root = tmp_path_factory.mktemp("dag")
    clean, home = root / "clean", root / "airflow"
    settings = {
        "SCRUBLINE_RAW_ROOT": str(canary_night.raw),
        "SCRUBLINE_CLEAN_ROOT": str(clean),
        "SCRUBLINE_QUARANTINE_ROOT": str(root / "quarantine"),
        "SCRUBLINE_KEY_FILE": str(canary_night.key_file),
    }
    result = run_dag(DS, home, settings)
    (home / "dags_test.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return clean, home


@pytest.fixture(scope="session")
def cli_debug_run(canary_night: CanaryNight, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The canary night through `scrubline -vv run --progress` (DEBUG logs, progress bars, the summary, two
    workers): (clean root, everything printed)."""
    clean = tmp_path_factory.mktemp("cli-debug") / "clean"
    result = run_night(canary_night, clean, "--workers", "2", "--progress", verbose="-vv")
    assert result.returncode == 0, result.stderr[-4000:]
    return clean, result.stdout + result.stderr


@pytest.fixture()
def offline_hf(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`datasets` with the hub off and its caches under this session's temporary folder (set before the first
    import, which is when `datasets` and `huggingface_hub` read them), and no socket allowed to connect."""
    import sys

    if "datasets" not in sys.modules:
        home = tmp_path_factory.mktemp("hf-home")
        for name, value in (("HF_DATASETS_OFFLINE", "1"), ("HF_HUB_OFFLINE", "1"), ("HF_HOME", str(home)),
                            ("HF_DATASETS_CACHE", str(home / "datasets")), ("HF_HUB_DISABLE_TELEMETRY", "1")):
            os.environ[name] = value  # for the session: the values are read once, at import
    import datasets

    assert datasets.config.HF_DATASETS_OFFLINE and datasets.config.HF_CACHE_HOME == os.environ["HF_HOME"]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a reader tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return datasets
