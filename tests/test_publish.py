"""Publishing a night: one version across datasets and report, committed by one pointer flip, and a kill at any
change publish makes to the file system leaves one whole night visible (the old or the new), which the next
run completes byte for byte. The nights here are small synthetic staged folders (no model needed)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from pipeline.contracts import DATASET_SCHEMAS
from pipeline.files import write_json
from pipeline.publish import (
    PublishError,
    check_files,
    commit_night,
    current_manifest,
    current_version,
    dataset_manifest,
    nights_dir,
    published_dir,
    reports_dir,
    shard_table,
)

DS = "2026-11-26"
DATASETS = list(DATASET_SCHEMAS)
KILLPOINTS = str(Path(__file__).with_name("killpoints.py"))


def staged_night(root: Path, tag: str, shards: int) -> Path:
    """A staged night as validate and report leave it: every dataset sharded with a manifest, and a report.
    Every row and the report carry `tag`, so a reader can tell which night it sees."""
    folder = root / f"staged-{tag}"
    for dataset in DATASETS:
        rows = 6 * shards
        splits = ["train"] * (rows - 3) + ["validation", "validation", "test"]
        table = pa.table({"n": list(range(rows)), "tag": [tag] * rows, "dataset": [dataset] * rows, "split": splits})
        files = shard_table(table, folder / dataset, target_rows=6, row_group_rows=3, metadata={})
        write_json(folder / dataset / "_manifest.json", {
            "dataset": dataset, "files": files, "rows": rows, "pipeline_version": "test", "policy_sha256": "p",
            "key_id": f"key-{tag}", "validation": {"success": True},
            "splits": {"train": rows - 3, "validation": 2, "test": 1},
        })
    write_json(folder / "report" / "report.json", {"tag": tag})
    return folder


def visible_night(clean: Path) -> str | None:
    """Which night readers see (None: none yet), after checking that every reader sees one whole night: pandas,
    pyarrow, DuckDB and polars read every dataset without error, every row, the report and the night `current`
    names (the reader rule: `_SUCCESS`, then `_night.json`) carry the same tag, and each dataset folder holds
    exactly the shards that night's manifest lists and nothing else."""
    tags = set()
    for dataset in DATASETS:
        folder = published_dir(clean, dataset, DS)
        if not folder.exists():
            tags.add(None)
            continue
        manifest = dataset_manifest(clean, dataset, DS)
        assert sorted(p.name for p in folder.iterdir()) == sorted(f["path"] for f in manifest["files"])
        frame = pd.read_parquet(clean / dataset)
        table = pads.dataset(clean / dataset, partitioning="hive").to_table()
        count = duckdb.sql(f"select count(*) from read_parquet('{clean}/{dataset}/*/*.parquet')").fetchall()[0][0]
        lazy = pl.scan_parquet(f"{clean}/{dataset}/", hive_partitioning=True).collect()
        assert len(frame) == table.num_rows == count == lazy.height == manifest["rows"]
        tags |= set(frame["tag"]) | set(table["tag"].to_pylist()) | set(lazy["tag"].to_list())
    report = reports_dir(clean, DS) / "report.json"
    tags.add(json.loads(report.read_text())["tag"] if report.exists() else None)
    version = nights_dir(clean, DS) / "current"
    if version.exists():
        assert (version / "_SUCCESS").exists()
        night = json.loads((version / "_night.json").read_text())
        tags |= {pq.read_table(version / f["path"])["tag"][0].as_py() for d in night["datasets"].values() for f in d["files"]}
    else:
        tags.add(None)
    assert len(tags) == 1, f"readers see a mix of nights: {tags}"
    return tags.pop()


def published_bytes(clean: Path) -> dict[str, bytes]:
    """Every file a reader can reach through the stable links and the night's manifest, by path."""
    out = {}
    for link in [published_dir(clean, d, DS) for d in DATASETS] + [reports_dir(clean, DS)]:
        for path in sorted(link.rglob("*")):
            if path.is_file():
                out[str(path.relative_to(clean))] = path.read_bytes()
    out["_night.json"] = (nights_dir(clean, DS) / "current" / "_night.json").read_bytes()
    return out


def commit(staged: Path, clean: Path) -> str:
    return commit_night(staged, clean, DS, DATASETS, 0o640, 0o750)


def test_a_night_is_committed_as_one_version_readers_find_through_stable_links(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    version = commit(staged_night(tmp_path, "A", shards=1), clean)
    assert visible_night(clean) == "A" and current_version(clean, DS) == version
    assert os.readlink(clean / "text") == "_published/text" and os.readlink(clean / "_published").startswith("_views/g-")
    assert os.readlink(nights_dir(clean, DS) / "current") == f"../../_published/nights/ds={DS}"
    manifest = current_manifest(clean, DS)
    assert manifest["version"] == version and manifest["key_id"] == "key-A" and manifest["validation_success"]
    assert [f["path"] for f in manifest["datasets"]["text"]["files"]] == [
        "text/train-00000-of-00001.parquet", "text/validation-00000-of-00001.parquet", "text/test-00000-of-00001.parquet"]
    assert manifest["datasets"]["text"]["splits"] == {"train": 3, "validation": 2, "test": 1}
    assert manifest["report"] == ["report/report.json"]
    folder = published_dir(clean, "text", DS)
    assert folder.is_dir() and not folder.is_symlink(), "hive folders are real folders (fsspec does not follow links)"
    for f in manifest["datasets"]["text"]["files"]:
        assert (folder / Path(f["path"]).name).samefile(nights_dir(clean, DS) / version / f["path"])
    for path in [*(nights_dir(clean, DS) / version).rglob("*"), *(clean / "_published").resolve().rglob("*")]:
        if not path.is_symlink():
            assert stat.S_IMODE(path.stat().st_mode) == (0o750 if path.is_dir() else 0o640), path
    assert not (tmp_path / "staged-A").exists(), "the staged night was moved in"

    again = commit(staged_night(tmp_path, "A", shards=1), clean)
    assert again == version, "the same night again is the same version"
    newer = commit(staged_night(tmp_path, "B", shards=3), clean)
    assert visible_night(clean) == "B"
    assert sorted(p.name for p in nights_dir(clean, DS).iterdir()) == sorted(["current", version, newer]), (
        "the replaced version stays for readers still reading it; older ones go")
    commit(staged_night(tmp_path, "C", shards=2), clean)
    assert version not in {p.name for p in nights_dir(clean, DS).iterdir()}


def test_a_damaged_published_copy_is_replaced_by_an_identical_rerun(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    version = commit(staged_night(tmp_path, "A", shards=1), clean)
    (nights_dir(clean, DS) / version / "text" / "stale.parquet").write_bytes(b"left over")
    replaced = commit(staged_night(tmp_path, "A", shards=1), clean)
    assert replaced != version and replaced.startswith(version)
    assert not (nights_dir(clean, DS) / replaced / "text" / "stale.parquet").exists()
    assert visible_night(clean) == "A"
    view = os.readlink(clean / "_published")
    (published_dir(clean, "text", DS) / "stale.parquet").write_bytes(b"left over in the view")
    assert commit(staged_night(tmp_path / "again", "A", shards=1), clean) == replaced, "the version is intact"
    assert os.readlink(clean / "_published") != view, "a damaged view is replaced, never repaired in place"
    assert not (published_dir(clean, "text", DS) / "stale.parquet").exists()
    assert visible_night(clean) == "A"


def test_a_manifest_that_does_not_match_its_files_is_never_committed(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    commit(staged_night(tmp_path, "A", shards=1), clean)
    staged = staged_night(tmp_path, "B", shards=2)
    manifest = json.loads((staged / "text" / "_manifest.json").read_text())
    manifest["rows"] = 588  # the manifest claimed rows that were not written
    (staged / "text" / "_manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match="text: the manifest's files do not add up to its rows"):
        commit(staged, clean)
    assert visible_night(clean) == "A"
    assert [p.name for p in nights_dir(clean, DS).iterdir() if p.name.startswith(".")] == [], "nothing left half-moved"
    staged = staged_night(tmp_path, "C", shards=2)
    (staged / "events" / "train-00001-of-00002.parquet").unlink()
    with pytest.raises(PublishError, match="events/train-00001-of-00002.parquet: missing"):
        commit(staged, clean)
    assert visible_night(clean) == "A"


def test_shards_are_counted_back_from_their_footers(tmp_path: Path) -> None:
    table = pa.table({"n": list(range(10)), "split": ["test", "train"] * 3 + ["train", "validation"] * 2})
    files = shard_table(table, tmp_path / "d", target_rows=4, row_group_rows=2, metadata={})
    assert [(f["path"], f["rows"]) for f in files] == [
        ("train-00000-of-00002.parquet", 4), ("train-00001-of-00002.parquet", 1),
        ("validation-00000-of-00001.parquet", 2), ("test-00000-of-00001.parquet", 3)]
    for f in files:
        assert set(pq.read_table(tmp_path / "d" / f["path"])["split"].to_pylist()) == {f["path"].split("-")[0]}
    empty = shard_table(table.slice(0, 0), tmp_path / "e", target_rows=4, row_group_rows=2, metadata={})
    assert [(f["path"], f["rows"]) for f in empty] == [("train-00000-of-00001.parquet", 0)], "an empty night still has a shard"
    with pytest.raises(PublishError, match="the shards do not hold every row"):
        shard_table(pa.table({"n": [1], "split": ["holdout"]}), tmp_path / "f", target_rows=4, row_group_rows=2, metadata={})
    check_files(tmp_path / "d", {"files": files, "rows": 10})
    pq.write_table(pa.table({"n": [1]}), tmp_path / "d" / files[0]["path"])
    with pytest.raises(PublishError, match="not the size its manifest records|not the row count"):
        check_files(tmp_path / "d", {"files": files, "rows": 10})


def _killed_publish(staged: Path, clean: Path, kill_at: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, KILLPOINTS, "publish", str(staged), str(clean), DS, str(kill_at)],
                          capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize("previous", ["A", None], ids=["replacing-a-night", "first-publish"])
def test_a_kill_at_every_change_of_publish_leaves_one_whole_night(tmp_path: Path, previous: str | None) -> None:
    """SIGKILL just before each file system change publish makes (every rename, link, write, chmod, delete):
    readers see the whole previous night or the whole new one, never a mix and never neither, and the next
    run publishes the very bytes an uninterrupted run publishes."""
    before = tmp_path / "before"
    if previous:
        commit(staged_night(tmp_path / "a", previous, shards=1), before)
    else:
        before.mkdir()
    reference = tmp_path / "reference"
    shutil.copytree(before, reference, symlinks=True)
    commit(staged_night(tmp_path / "b", "B", shards=3), reference)
    expected = published_bytes(reference)
    template = staged_night(tmp_path / "template", "B", shards=3)

    dry = tmp_path / "dry"
    shutil.copytree(before, dry, symlinks=True)
    counted = _killed_publish(shutil.copytree(template, tmp_path / "dry-staged"), dry, 0)
    assert counted.returncode == 0, counted.stderr
    changes = int(counted.stdout.split()[-1])
    assert changes >= 10, "publish makes its changes through the calls counted"
    seen = set()
    for k in range(1, changes + 2):  # changes + 1: the run that is not killed
        clean, staged = tmp_path / f"clean-{k}", tmp_path / f"staged-{k}"
        shutil.copytree(before, clean, symlinks=True)
        shutil.copytree(template, staged)
        killed = _killed_publish(staged, clean, k)
        assert killed.returncode == (-9 if k <= changes else 0), (k, killed.stderr[-2000:])
        night = visible_night(clean)
        assert night in ({previous, "B"}), k
        seen.add(night)
        rerun = commit(staged_night(tmp_path / f"rerun-{k}", "B", shards=3), clean)
        assert published_bytes(clean) == expected, f"the rerun after a kill at change {k} differs"
        assert rerun == current_version(reference, DS)
        shutil.rmtree(clean)
    assert seen == {previous, "B"}


def _to_legacy_layout(clean: Path, nights: list[str]) -> None:
    """Turn a clean root into the layout publish wrote before views: real dataset folders holding `ds=` links
    through each night's `current`, which names its version directly."""
    for ds in nights:
        current = nights_dir(clean, ds) / "current"
        version = current_version(clean, ds)
        current.unlink()
        os.symlink(version, current)
    for folder in [*DATASETS, "_reports"]:
        (clean / folder).unlink()
        (clean / folder).mkdir()
        for ds in nights:
            inside = "report" if folder == "_reports" else folder
            os.symlink(f"../_nights/ds={ds}/current/{inside}", clean / folder / f"ds={ds}")
    (clean / "README.md").unlink()
    os.unlink(clean / "_published")
    shutil.rmtree(clean / "_views")


def test_a_clean_root_published_before_views_is_moved_over_at_its_next_publish(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    other = "2026-11-25"
    commit_night(staged_night(tmp_path / "o", "O", shards=1), clean, other, DATASETS, 0o640, 0o750)
    commit(staged_night(tmp_path / "a", "A", shards=1), clean)
    _to_legacy_layout(clean, [other, DS])
    assert sorted(p.name for p in (clean / "text").iterdir()) == [f"ds={other}", f"ds={DS}"]
    commit(staged_night(tmp_path / "b", "B", shards=2), clean)
    for ds, tag, rows in ((DS, "B", 12), (other, "O", 6)):
        for dataset in DATASETS:
            frame = pd.read_parquet(clean / dataset, filters=[("ds", "==", ds)])
            lazy = pl.scan_parquet(f"{clean}/{dataset}/", hive_partitioning=True).filter(pl.col("ds").cast(pl.String) == ds).collect()
            assert frame["tag"].unique().tolist() == lazy["tag"].unique().to_list() == [tag]
            assert len(frame) == lazy.height == dataset_manifest(clean, dataset, ds)["rows"] == rows
        assert json.loads((reports_dir(clean, ds) / "report.json").read_text())["tag"] == tag
    for folder in [*DATASETS, "_reports", "README.md"]:
        assert (clean / folder).is_symlink(), folder
    for ds in (other, DS):
        assert os.readlink(nights_dir(clean, ds) / "current") == f"../../_published/nights/ds={ds}"
    assert not [p for p in clean.iterdir() if p.name.endswith(".legacy")]
