"""The clean root as the tools ML teams use read it, with no project code: Hugging Face `datasets` (both ways
the issue names), polars, pandas, pyarrow.dataset and DuckDB, over two published nights. Every reader must see
the three splits, the `ds` column, the rows the manifests count and the documented schema. The nights here are
committed by the real publish step from tables of the published schema; tests/test_end_to_end.py reads a night
the real CLI scrubbed the same way. Hugging Face runs offline with a private cache, and any attempt to open a
network connection fails the test."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pytest
import yaml

from pipeline.contracts import EVENTS_DATASET, PUBLISHED_SCHEMAS, TEXT_DATASET, with_night
from pipeline.files import write_json
from pipeline.publish import commit_night, dataset_manifest, shard_table

NIGHTS = {"2026-11-25": 0, "2026-11-26": 1}
SPLITS = ("train", "validation", "test")
DATASETS = [TEXT_DATASET, EVENTS_DATASET]


def _rows(dataset: str, ds: str, n: int) -> pa.Table:
    """`n` rows of the published schema (less `ds`), the splits in a 7:2:1 ratio."""
    split = [SPLITS[0] if i % 10 < 7 else SPLITS[1] if i % 10 < 9 else SPLITS[2] for i in range(n)]
    if dataset == TEXT_DATASET:
        ts = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
        columns: dict[str, Any] = {
            "record_pid": [f"r_{ds[-2:]}{i:014x}" for i in range(n)], "source": ["chat"] * n,
            "user_pid": [f"u_{i % 7:016x}" for i in range(n)], "conversation_pid": [f"c_{i % 3:016x}" for i in range(n)],
            "context": ["dm"] * n, "ts": [ts] * n, "turn": [i // 3 + 1 for i in range(n)], "text": ["see <EMAIL> at noon"] * n,
            "redactions": [[{"entity": "EMAIL", "count": 1}]] * n, "redacted_count": [1] * n, "split": split,
        }
    else:
        columns = {
            "user_pid": [f"u_{i % 7:016x}" for i in range(n)], "session_pid": [f"s_{i % 2:016x}" for i in range(n)],
            "source": ["mouse"] * n, "app_category": ["ide"] * n, "seq": list(range(n)), "t_ms": [10 * i for i in range(n)],
            "action": ["move"] * n, "key": [None] * n, "key_class": [None] * n, "x": [0.5] * n, "y": [0.25] * n,
            "button": [None] * n, "split": split,
        }
    schema = PUBLISHED_SCHEMAS[dataset]
    return with_night(pa.table(columns, schema=pa.schema(list(schema)[:-1])), ds)


def _publish(root: Path, clean: Path, ds: str, n: int, hold: bool = False) -> str:
    """Commit a night of `n` rows per dataset (held for sign-off with `hold`); returns its version."""
    staged = root / f"staged-{ds}"
    for dataset in DATASETS:
        table = _rows(dataset, ds, n)
        files = shard_table(table, staged / dataset, target_rows=8, row_group_rows=4, metadata={})
        write_json(staged / dataset / "_manifest.json", {
            "dataset": dataset, "files": files, "rows": n, "pipeline_version": "test", "policy_sha256": "ab" * 32,
            "key_id": "k_0123456789abcdef", "validation": {"success": True},
            "splits": dict(Counter(table["split"].to_pylist())),
        })
    write_json(staged / "report" / "report.json", {"ds": ds})
    write_json(staged / "report" / "inputs.json", {"rows": n})  # the counts a sign-off signs
    return commit_night(staged, clean, ds, DATASETS, 0o640, 0o750, hold=hold)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readers")
    clean = root / "clean"
    for ds, extra in NIGHTS.items():
        _publish(root, clean, ds, 20 + 10 * extra)  # 20 rows, then 30: shards of 8 rows, several per split
    return clean


def _expected(clean: Path, dataset: str) -> dict[tuple[str, str], int]:
    """Rows per (ds, split) as the manifests count them."""
    out = {}
    for ds in NIGHTS:
        for split, rows in dataset_manifest(clean, dataset, ds)["splits"].items():
            out[(ds, split)] = rows
    return out


def _check_hf(loaded: Any, clean: Path, dataset: str) -> None:
    expected = _expected(clean, dataset)
    assert set(loaded) == set(SPLITS)
    for split in SPLITS:
        part = loaded[split]
        assert part.column_names == PUBLISHED_SCHEMAS[dataset].names, "the documented columns, `ds` included"
        assert set(part["split"]) == {split}, "each split holds only its own rows"
        assert dict(Counter(part["ds"])) == {ds: n for (ds, s), n in expected.items() if s == split}


@pytest.mark.parametrize("dataset", DATASETS)
def test_hugging_face_loads_splits_with_ds_from_a_data_dir(clean: Path, offline_hf: Any, tmp_path: Path, dataset: str) -> None:
    loaded = offline_hf.load_dataset("parquet", data_dir=str(clean / dataset), cache_dir=str(tmp_path / "c1"))
    _check_hf(loaded, clean, dataset)


@pytest.mark.parametrize("dataset", DATASETS)
def test_hugging_face_loads_the_dataset_folder_and_the_card(clean: Path, offline_hf: Any, tmp_path: Path, dataset: str) -> None:
    _check_hf(offline_hf.load_dataset(str(clean / dataset), cache_dir=str(tmp_path / "c2")), clean, dataset)
    _check_hf(offline_hf.load_dataset(str(clean), dataset, cache_dir=str(tmp_path / "c3")), clean, dataset)


def test_the_card_names_configs_schema_splits_and_policy(clean: Path) -> None:
    card = (clean / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    configs = {c["config_name"]: c for c in front["configs"]}
    assert set(configs) == set(DATASETS) and configs[TEXT_DATASET].get("default") is True
    assert configs[TEXT_DATASET]["data_files"] == [
        {"split": s, "path": f"text/ds=*/{s}-*.parquet"} for s in SPLITS]
    for name in PUBLISHED_SCHEMAS[TEXT_DATASET].names:
        assert f"| {name} |" in card
    assert "ab" * 32 in card and "k_0123456789abcdef" in card
    for ds in NIGHTS:
        counts = dataset_manifest(clean, TEXT_DATASET, ds)["splits"]
        assert f"| {ds} |" in card and all(str(n) in card for n in counts.values())
    assert not [p for p in (clean / TEXT_DATASET).iterdir() if not p.name.startswith("ds=")], (
        "nothing but ds= folders in a dataset root: polars refuses any other file there")


@pytest.mark.parametrize("dataset", DATASETS)
def test_polars_pandas_pyarrow_and_duckdb_read_both_nights(clean: Path, dataset: str) -> None:
    expected = _expected(clean, dataset)
    lazy = pl.scan_parquet(f"{clean}/{dataset}/", hive_partitioning=True).collect()
    assert lazy.columns == PUBLISHED_SCHEMAS[dataset].names
    assert {(r["ds"], r["split"]): r["len"] for r in lazy.group_by("ds", "split").len().to_dicts()} == expected

    frame = pd.read_parquet(clean / dataset)
    assert frame.groupby(["ds", "split"], observed=True).size().to_dict() == expected

    hive = pads.HivePartitioning.discover(infer_dictionary=True)  # as pandas reads folders
    for table in (pads.dataset(clean / dataset).to_table(), pads.dataset(clean / dataset, partitioning=hive).to_table()):
        assert table.schema.names == PUBLISHED_SCHEMAS[dataset].names
        assert dict(Counter(zip(table["ds"].to_pylist(), table["split"].to_pylist(), strict=True))) == expected

    rows = duckdb.sql(
        f"select ds::varchar, split, count(*) from read_parquet('{clean}/{dataset}/*/*.parquet', hive_partitioning=true) "
        "group by all").fetchall()
    assert {(ds, split): n for ds, split, n in rows} == expected
    assert os.path.realpath(clean / dataset) != str(clean / dataset), "read through the stable link"
