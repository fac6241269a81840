"""Retention: raw and quarantine partitions past the policy's days go, but only once their night is published."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import yaml
from support import scrubline

from pipeline.files import write_json
from pipeline.policy import default_policy_path, load_policy
from pipeline.publish import commit_night, shard_table
from pipeline.retention import apply_retention


def publish(clean: Path, ds: str, tmp_path: Path, success: bool = True) -> None:
    staged = tmp_path / f"staged-{ds}"
    for dataset in ("text", "events"):
        files = shard_table(pa.table({"n": [1], "split": ["train"]}), staged / dataset, target_rows=10, row_group_rows=10, metadata={})
        write_json(staged / dataset / "_manifest.json", {"files": files, "rows": 1, "pipeline_version": "t",
                   "policy_sha256": "p", "key_id": "k", "validation": {"success": success}})
    write_json(staged / "report" / "report.json", {})
    commit_night(staged, clean, ds, ["text", "events"], 0o640, 0o750)


def partition(root: Path, source: str, ds: str) -> Path:
    folder = root / source / f"ds={ds}"
    folder.mkdir(parents=True)
    (folder / "part-0000.jsonl").write_text("{}\n")
    return folder


def policy_with(tmp_path: Path, raw_days: int | None, quarantine_days: int | None) -> Path:
    policy = yaml.safe_load(default_policy_path().read_text())
    policy["retention"] = {"raw_days": raw_days, "quarantine_days": quarantine_days}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_old_published_partitions_go_and_unpublished_ones_stay(tmp_path: Path) -> None:
    raw, clean = tmp_path / "raw", tmp_path / "clean"
    quarantine = raw / "_quarantine"
    publish(clean, "2026-10-01", tmp_path)
    publish(clean, "2026-11-20", tmp_path)
    old = [partition(raw, "chat", "2026-10-01"), partition(raw, "mouse", "2026-10-01"),
           partition(quarantine, "chat", "2026-10-01")]
    unpublished = partition(raw, "chat", "2026-10-02")
    recent = [partition(raw, "chat", "2026-11-20"), partition(quarantine, "chat", "2026-11-20")]
    odd = raw / "chat" / "ds=not-a-date"
    odd.mkdir()
    policy = load_policy(policy_with(tmp_path, raw_days=30, quarantine_days=30))

    dry = apply_retention(policy, raw, clean, today=date(2026, 11, 26), dry_run=True)
    assert sorted(dry.deleted) == sorted(map(str, old)) and all(p.exists() for p in old)
    done = apply_retention(policy, raw, clean, today=date(2026, 11, 26))
    assert sorted(done.deleted) == sorted(map(str, old)) and done.files_deleted == 3
    assert done.kept_unpublished == [str(unpublished)]
    assert not any(p.exists() for p in old)
    assert unpublished.exists() and odd.exists() and all(p.exists() for p in recent)


def test_a_night_that_failed_validation_keeps_its_raw_input(tmp_path: Path) -> None:
    raw, clean = tmp_path / "raw", tmp_path / "clean"
    publish(clean, "2026-10-01", tmp_path, success=False)
    folder = partition(raw, "chat", "2026-10-01")
    done = apply_retention(load_policy(policy_with(tmp_path, 1, 1)), raw, clean, today=date(2026, 11, 26))
    assert done.deleted == [] and done.kept_unpublished == [str(folder)] and folder.exists()


def test_retention_is_off_by_default_for_raw_and_thirty_days_for_quarantine(tmp_path: Path) -> None:
    assert load_policy().retention.raw_days is None and load_policy().retention.quarantine_days == 30


def test_a_symlinked_partition_loses_its_link_not_its_target(tmp_path: Path) -> None:
    raw, clean = tmp_path / "raw", tmp_path / "clean"
    publish(clean, "2026-10-01", tmp_path)
    target = partition(tmp_path / "elsewhere", "chat", "2026-10-01")
    (raw / "chat").mkdir(parents=True)
    (raw / "chat" / "ds=2026-10-01").symlink_to(target, target_is_directory=True)
    apply_retention(load_policy(policy_with(tmp_path, 1, None)), raw, clean, today=date(2026, 11, 26))
    assert not (raw / "chat" / "ds=2026-10-01").is_symlink() and target.exists()


def test_the_retention_command_lists_what_it_deletes(tmp_path: Path) -> None:
    raw, clean = tmp_path / "raw", tmp_path / "clean"
    publish(clean, "2026-10-01", tmp_path)
    folder = partition(raw, "chat", "2026-10-01")
    args = ["retention", "--raw", str(raw), "--clean", str(clean), "--policy", str(policy_with(tmp_path, 30, 30)),
            "--today", "2026-11-26"]
    dry = scrubline(*args, "--dry-run")
    assert dry.returncode == 0 and f"would delete {folder}" in dry.stdout and folder.exists()
    done = scrubline(*args)
    assert done.returncode == 0, done.stderr
    assert f"deleted {folder}" in done.stdout and "deleted 1 partition(s) (1 files)" in done.stdout
    assert not folder.exists()
