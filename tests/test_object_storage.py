"""Nights on object storage (issue 14): a real S3-compatible server (moto's server mode) on loopback, the real
`scrubline` command from `s3://` raw to `s3://` clean, shards read back with pyarrow, pandas and DuckDB, and a
reader polling by the reader rule while re-runs publish, which must never see a partial night."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs
from conftest import CanaryNight
from leaks import canary_hits
from moto.server import ThreadedMotoServer
from support import DS, scrubline

from pipeline import object_store
from pipeline.errors import ConfigError

pytestmark = pytest.mark.e2e

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "scrubline-test", "AWS_SECRET_ACCESS_KEY": "scrubline-test-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}
RAW, CLEAN = "s3://raw-logs/nightly", "s3://training-data/scrubbed"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The server on a free loopback port, and the environment that points s3fs (ours and the CLI's) at it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        fs = _fs()
        for bucket in ("raw-logs", "training-data"):
            fs.mkdir(bucket)
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def _fs() -> s3fs.S3FileSystem:
    """A client of our own that caches nothing, as an independent reader would be."""
    return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False)


def _run(night: CanaryNight, s3: dict[str, str], staging: Path, *extra: str):
    return scrubline("run", "--ds", DS, "--raw", RAW, "--clean", CLEAN, "--staging", str(staging),
                     "--key-file", str(night.key_file), "--workers", "2", *extra, env=s3)


@pytest.fixture(scope="module")
def s3_night(canary_night: CanaryNight, s3: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The canary night uploaded as raw input and scrubbed to the clean bucket by the CLI."""
    _fs().put(f"{canary_night.raw}/", f"{RAW}/", recursive=True)
    staging = tmp_path_factory.mktemp("s3-staging")
    result = _run(canary_night, s3, staging)
    assert result.returncode == 0, result.stderr[-3000:]
    return {"staging": staging, "stdout": result.stdout + result.stderr}


def test_a_night_runs_from_object_storage_to_object_storage(s3_night: dict, cli_debug_run: tuple[Path, str]) -> None:
    fs = _fs()
    night = f"{CLEAN}/_nights/ds={DS}"
    pointer = json.loads(fs.cat_file(f"{night}/current"))
    version = pointer["version"]
    assert fs.exists(f"{night}/{version}/_SUCCESS")
    # The same night, scrubbed from local folders by the same code: the same version, byte for byte.
    local_clean, _ = cli_debug_run
    local = (local_clean / "_nights" / f"ds={DS}" / "current").resolve()
    assert local.name == version
    local_files = {p.relative_to(local).as_posix(): p.read_bytes() for p in sorted(local.rglob("*")) if p.is_file()}
    remote_files = {path.removeprefix(f"{night.removeprefix('s3://')}/{version}/"): fs.cat_file(path)
                    for path in fs.find(f"{night}/{version}")}
    assert remote_files.keys() == local_files.keys()
    assert remote_files == local_files
    assert f"s3://training-data/scrubbed/_nights/ds={DS}/{version}/text" in s3_night["stdout"]


def test_readers_read_the_shards_back_with_pyarrow_pandas_and_duckdb(s3_night: dict) -> None:
    import duckdb
    import pandas as pd
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    manifest = object_store.night_manifest(CLEAN, DS)
    assert manifest is not None and manifest["validation_success"]
    for dataset in ("text", "events"):
        files = object_store.night_files(CLEAN, dataset, DS)
        rows = manifest["datasets"][dataset]["rows"]
        assert files and all(f.startswith(f"{CLEAN}/_nights/ds={DS}/{manifest['version']}/{dataset}/") for f in files)
        arrow = pafs.PyFileSystem(pafs.FSSpecHandler(_fs()))
        table = pq.read_table([f.removeprefix("s3://") for f in files], filesystem=arrow)
        frame = pd.concat([pd.read_parquet(f) for f in files])
        con = duckdb.connect()
        con.register_filesystem(_fs())
        counted = con.sql(f"select count(*) from read_parquet({files!r})").fetchall()[0][0]
        assert table.num_rows == len(frame) == counted == rows > 0


def test_nothing_raw_reaches_the_clean_bucket(s3_night: dict, canary_night: CanaryNight, tmp_path: Path) -> None:
    """Every object under the clean prefix (names, bytes, Parquet cells, statistics and metadata) is free of the
    values planted in every raw field; the quarantine went to the raw bucket's `_quarantine`, not to readers."""
    fs = _fs()
    fs.get(f"{CLEAN}/", str(tmp_path / "clean"), recursive=True)
    assert list((tmp_path / "clean").rglob("*.parquet"))
    assert canary_hits(tmp_path / "clean", set(canary_night.canaries)) == {}
    assert fs.exists(f"{RAW}/_quarantine/chat/ds={DS}/quarantine.parquet")
    assert not [p for p in fs.find(CLEAN) if "quarantine" in p]


def test_a_reader_polling_during_publish_never_sees_a_partial_night(
    s3_night: dict, canary_night: CanaryNight, s3: dict[str, str]
) -> None:
    """Two re-runs with new raw files publish new versions while a reader polls by the reader rule. Every time it
    finds a night, `_SUCCESS` is there and every file the manifest lists is there at its size; it did poll while a
    new version was half uploaded; and the version just replaced stays readable until the next publish."""
    fs = _fs()
    night = f"{CLEAN}/_nights/ds={DS}"
    first = json.loads(fs.cat_file(f"{night}/current"))["version"]
    seen: list[tuple[str, bool]] = []
    uploading = threading.Event()
    stop = threading.Event()

    def poll() -> None:
        reader = _fs()
        while not stop.is_set():
            version = json.loads(reader.cat_file(f"{night}/current"))["version"]
            complete = reader.exists(f"{night}/{version}/_SUCCESS")
            if complete:
                manifest = json.loads(reader.cat_file(f"{night}/{version}/_night.json"))
                sizes = {i["name"]: i["size"] for i in reader.find(f"{night}/{version}", detail=True).values()}
                for dataset in manifest["datasets"].values():
                    for entry in dataset["files"]:
                        key = f"{night.removeprefix('s3://')}/{version}/{entry['path']}"
                        complete = complete and sizes.get(key) == entry["bytes"]
            seen.append((version, complete))
            names = [p.rsplit("/", 1)[-1] for p in reader.ls(night, detail=False)]
            incoming = [n for n in names if n.startswith("v-") and n not in versions]  # not old ones being removed
            if any(not reader.exists(f"{night}/{n}/_SUCCESS") for n in incoming):
                uploading.set()  # a new version is partly there and `current` still names the old one

    versions = [first]
    for extra in ("zz-extra-1", "zz-extra-2"):
        _fs().pipe_file(f"{RAW}/chat/ds={DS}/{extra}.jsonl", _chat_rows(extra))
        reader = threading.Thread(target=poll)
        reader.start()
        try:
            result = _run(canary_night, s3, s3_night["staging"])
        finally:
            stop.set()
            reader.join()
            stop.clear()
        assert result.returncode == 0, result.stderr[-3000:]
        versions.append(json.loads(fs.cat_file(f"{night}/current"))["version"])
        kept = sorted(p.rsplit("/", 1)[-1] for p in fs.ls(night, detail=False) if "/v-" in p)
        assert kept == sorted(versions[-2:]), "the current version and the one it replaced, nothing older"
    assert len(set(versions)) == 3
    assert seen and all(complete for _, complete in seen), "a reader saw a night without _SUCCESS or missing files"
    assert {v for v, _ in seen} >= set(versions), "the reader saw each version in turn"
    assert uploading.is_set(), "the reader never polled while a version was being uploaded"


def _chat_rows(prefix: str) -> bytes:
    rows = [{"message_id": f"{prefix}-{i}", "ts": f"{DS}T09:0{i}:00Z", "employee_id": "E-extra", "channel_id": "C-extra",
             "channel_kind": "channel", "recipient_ids": [], "thread_id": None, "text": f"standup notes part {i}"}
            for i in range(3)]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_an_upload_cut_short_leaves_readers_on_the_previous_night_and_a_retry_finishes(
    s3_night: dict, s3: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """upload_night, stopped after a few files (a killed worker), changes nothing a reader follows; run again it
    uploads the whole version and only then moves `current`."""
    from pipeline.publish import CURRENT

    clean_copy = s3_night["staging"] / "_clean"
    target = "s3://training-data/another-root"
    version = object_store.upload_night(clean_copy, target, DS)
    assert object_store.night_manifest(target, DS)["version"] == version
    before = _fs().cat_file(f"{target}/_nights/ds={DS}/{CURRENT}")
    # Pretend the version is new: remove it remotely, then cut its upload short after three files.
    _fs().rm(f"{target}/_nights/ds={DS}/{version}", recursive=True)
    _fs().pipe_file(f"{target}/_nights/ds={DS}/{CURRENT}", json.dumps({"version": "v-0000000000000000"}).encode())
    fs, _ = object_store.filesystem(target)  # the (cached) client upload_night uses
    real_put = fs.put_file
    calls = {"n": 0}

    def failing_put(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError("connection reset")
        return real_put(*args, **kwargs)

    monkeypatch.setattr(fs, "put_file", failing_put)
    with pytest.raises(OSError):
        object_store.upload_night(clean_copy, target, DS)
    assert json.loads(_fs().cat_file(f"{target}/_nights/ds={DS}/{CURRENT}"))["version"] == "v-0000000000000000"
    assert not _fs().exists(f"{target}/_nights/ds={DS}/{version}/_SUCCESS")
    monkeypatch.setattr(fs, "put_file", real_put)
    assert object_store.upload_night(clean_copy, target, DS) == version
    assert _fs().cat_file(f"{target}/_nights/ds={DS}/{CURRENT}") == before
    assert len(object_store.night_files(target, "text", DS)) == len(object_store.night_manifest(target, DS)["datasets"]["text"]["files"])


def test_retention_deletes_old_quarantine_partitions_on_object_storage(s3_night: dict) -> None:
    from datetime import date, timedelta

    from pipeline.policy import load_policy
    from pipeline.retention import apply_retention

    policy = load_policy()
    partition = f"{RAW}/_quarantine/chat/ds={DS}"
    early = apply_retention(policy, RAW, CLEAN, today=date.fromisoformat(DS) + timedelta(days=1))
    assert early.deleted == [] and _fs().exists(partition)
    later = date.fromisoformat(DS) + timedelta(days=policy.retention.quarantine_days + 1)
    planned = apply_retention(policy, RAW, CLEAN, today=later, dry_run=True)
    assert partition in planned.deleted and planned.files_deleted == 1
    assert _fs().exists(partition), "a dry run deletes nothing"
    done = apply_retention(policy, RAW, CLEAN, today=later)
    assert partition in done.deleted and not _fs().exists(partition)
    assert _fs().exists(f"{RAW}/chat/ds={DS}"), "raw_days is null in the default policy: raw input stays"


def test_roots_on_object_storage_are_checked_like_folders(tmp_path: Path) -> None:
    from pipeline.night import NightConfig

    with pytest.raises(ConfigError, match="needs a local staging root"):
        NightConfig(ds=DS, raw_root=RAW, clean_root=CLEAN)
    with pytest.raises(ConfigError, match="must be a local folder"):
        NightConfig(ds=DS, raw_root=RAW, clean_root=CLEAN, staging_root="s3://training-data/staging")
    with pytest.raises(ConfigError, match="inside the clean root"):
        NightConfig(ds=DS, raw_root=f"{CLEAN}/raw", clean_root=CLEAN, staging_root=str(tmp_path))
    with pytest.raises(ConfigError, match="overlap"):
        NightConfig(ds=DS, raw_root=RAW, clean_root=CLEAN, quarantine_root=f"{CLEAN}/_q", staging_root=str(tmp_path))
    with pytest.raises(ConfigError, match="inside a raw source folder"):
        NightConfig(ds=DS, raw_root=RAW, clean_root=f"{RAW}/chat/out", staging_root=str(tmp_path))
    cfg = NightConfig(ds=DS, raw_root=RAW, clean_root=CLEAN, staging_root=str(tmp_path))
    assert cfg.clean_dir == tmp_path / "_clean" and cfg.quarantine_url == f"{RAW}/_quarantine"


def test_the_dag_runs_a_night_on_object_storage_with_credentials_from_an_airflow_connection(
    canary_night: CanaryNight, s3: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real DAG (`airflow dags test`, SQLite) with s3:// roots and no AWS variables in the workers'
    environment: the credentials come from the Airflow connection SCRUBLINE_STORAGE_CONN names, the night equals
    the CLI's on the same input, and the secret is nowhere in Airflow's home (database, logs)."""
    from pipeline.airflow_local import run_dag

    for name in s3:
        monkeypatch.delenv(name, raising=False)
    connection = {"conn_type": "aws", "login": s3["AWS_ACCESS_KEY_ID"], "password": s3["AWS_SECRET_ACCESS_KEY"],
                  "extra": {"endpoint_url": s3["AWS_ENDPOINT_URL"], "region_name": s3["AWS_DEFAULT_REGION"]}}
    clean = "s3://training-data/from-airflow"
    settings = {
        "SCRUBLINE_RAW_ROOT": RAW, "SCRUBLINE_CLEAN_ROOT": clean, "SCRUBLINE_STAGING_ROOT": str(tmp_path / "staging"),
        "SCRUBLINE_KEY_FILE": str(canary_night.key_file), "SCRUBLINE_CHUNK_FILES": "1",
        "SCRUBLINE_STORAGE_CONN": "scrubline_storage", "AIRFLOW_CONN_SCRUBLINE_STORAGE": json.dumps(connection),
    }
    result = run_dag(DS, tmp_path / "airflow", settings)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3["AWS_ENDPOINT_URL"])  # our own reader, below
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, s3[name])
    by_dag, by_cli = object_store.night_manifest(clean, DS), object_store.night_manifest(CLEAN, DS)
    assert by_dag is not None and by_cli is not None
    assert by_dag["version"] == by_cli["version"], "chunked on Airflow or not, the same night"
    secret = s3["AWS_SECRET_ACCESS_KEY"].encode()
    leaked = [str(p) for p in (tmp_path / "airflow").rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert leaked == [] and secret not in (result.stdout + result.stderr).encode()
