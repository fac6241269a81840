"""The output edge: staged parts, shards, manifest, _SUCCESS and the atomic swap into place.

Nothing becomes visible under <clean_root>/<dataset>/ds=... until the whole night for that dataset is
written, validated and renamed in one step. Everything else lives under <clean_root>/_staging/, which
dataset readers ignore (leading underscore).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Self

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.contracts import QUARANTINE_SCHEMA

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def staging_root(clean_root: str | Path, ds: str) -> Path:
    return Path(clean_root) / "_staging" / f"ds={ds}"


def published_dir(clean_root: str | Path, dataset: str, ds: str) -> Path:
    return Path(clean_root) / dataset / f"ds={ds}"


def reports_dir(clean_root: str | Path, ds: str) -> Path:
    return Path(clean_root) / "_reports" / f"ds={ds}"


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (temp file + rename) so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_text_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_table(path: Path, table: pa.Table, row_group_rows: int = 50_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_rows)
    os.replace(tmp, path)
    return path


def read_tables(paths: list[Path], schema: pa.Schema) -> pa.Table:
    tables = [pq.read_table(p, schema=schema) for p in paths]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def write_quarantine(quarantine_root: str | Path, source: str, ds: str, rows: list[dict[str, Any]]) -> Path | None:
    """Quarantined rows keep their raw text, so they are readable by the pipeline's user only."""
    with QuarantineWriter(quarantine_root, source, ds) as quarantine:
        quarantine.write(rows)
    return quarantine.path


class StagedParquet:
    """One Parquet file written batch by batch (a row group or more per batch) under a temporary name, and
    renamed into place only when the `with` block ends without an error; on an error nothing is renamed,
    the temporary file is removed and an older file of that name is left as it was."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = 50_000) -> None:
        self.path, self.schema, self.row_group_rows = path, schema, row_group_rows
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        return self

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            if not table.schema.equals(self.schema):
                table = table.cast(self.schema)
            self._writer.write_table(table, row_group_size=self.row_group_rows)
            self.rows += table.num_rows

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self._writer.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


class QuarantineWriter:
    """One partition's quarantine rows, streamed batch by batch into a 0600 file in 0700 folders under a
    temporary name. A clean end replaces the previous file (or removes it when no row was quarantined);
    an error removes the temporary file."""

    def __init__(self, quarantine_root: str | Path, source: str, ds: str) -> None:
        self.root = Path(quarantine_root)
        self.target = self.root / source / f"ds={ds}" / "quarantine.parquet"
        self.tmp = self.target.with_name(f".{self.target.name}.tmp")
        self.rows = 0
        self.path: Path | None = None  # the finished file, once the block has ended with rows
        self._handle: Any = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> Self:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._writer is None:
            self._open()
        self._writer.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))
        self.rows += len(rows)

    def _open(self) -> None:
        for folder in (self.root, self.target.parent.parent, self.target.parent):
            folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
            os.chmod(folder, PRIVATE_DIR)
        fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        os.fchmod(fd, PRIVATE_FILE)  # a leftover temporary file keeps its old mode otherwise
        self._handle = os.fdopen(fd, "wb")
        self._writer = pq.ParquetWriter(self._handle, QUARANTINE_SCHEMA, compression="zstd")

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self._writer is not None:
            self._writer.close()
            self._handle.close()
        if exc_type is not None:
            self.tmp.unlink(missing_ok=True)
        elif self._writer is None:
            self.target.unlink(missing_ok=True)
        else:
            os.replace(self.tmp, self.target)
            self.path = self.target


def shard_table(
    table: pa.Table, folder: Path, target_rows: int, row_group_rows: int, metadata: dict[str, str]
) -> list[dict[str, Any]]:
    """Write `table` as part-0000i-of-0000N.parquet files; return each file's name, rows and sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    n_shards = max(1, -(-table.num_rows // target_rows))
    files = []
    for i in range(n_shards):
        part = table.slice(i * target_rows, target_rows)
        name = f"part-{i:05d}-of-{n_shards:05d}.parquet"
        path = write_table(folder / name, part, row_group_rows)
        files.append({"path": name, "rows": part.num_rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    return files


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def swap_into_place(staged: Path, target: Path) -> None:
    """Replace `target` with the complete folder `staged`; an older copy is moved aside, then deleted."""
    target.parent.mkdir(parents=True, exist_ok=True)
    retired = staged.with_name(staged.name + ".retired")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        os.replace(target, retired)
    os.replace(staged, target)
    shutil.rmtree(retired, ignore_errors=True)


def copy_tree(source: Path, target: Path) -> None:
    """Copy a folder if it exists (Data Docs pages from staging into the reports folder)."""
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)


def reset_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
