"""How the pipeline writes files: privately, and atomically.

Everything is written readable by the pipeline's own user only (0600 files in 0700 folders): staging holds
text that failed validation, quarantine holds raw rows. Only `publish` opens files up, to the modes the policy
sets for the published tree, once a night has passed every gate. Every file appears under its name in one
rename, so a reader (or a killed run) never sees half of one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import IO, Any, Self

import pyarrow as pa
import pyarrow.parquet as pq

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path, owned_from: Path | None = None) -> Path:
    """Create `path` and its missing parents 0700. Folders from `owned_from` down to `path` that exist already
    are made 0700 too (they are the pipeline's own: a staging or quarantine root)."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        os.chmod(folder, PRIVATE_DIR)
    if owned_from is not None:
        for folder in (path, *path.parents):
            os.chmod(folder, PRIVATE_DIR)
            if folder == Path(owned_from):
                break
    return path


def reset_private_dir(path: Path) -> Path:
    """An empty 0700 folder at `path`, whatever was there before."""
    remove_tree(path)
    return private_dir(path)


def remove_tree(path: Path) -> None:
    """Remove a folder, a file or a symlink (never what a symlink points at); nothing there is fine."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path)


def open_private(path: Path) -> IO[bytes]:
    """A new (or truncated) file open for writing, 0600 whatever the umask or an older file's mode."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return os.fdopen(fd, "wb")


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp")


def write_bytes(path: Path, data: bytes) -> Path:
    """Write a private file atomically (temporary name, then one rename)."""
    tmp = temporary_name(path)
    with open_private(tmp) as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path


def write_json(path: Path, data: Any) -> Path:
    return write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def write_text_file(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_table(path: Path, table: pa.Table, row_group_rows: int = 50_000) -> Path:
    """One Parquet file (zstd), private and atomic."""
    tmp = temporary_name(path)
    with open_private(tmp) as handle:
        pq.write_table(table, handle, compression="zstd", row_group_size=row_group_rows)
    os.replace(tmp, path)
    return path


def read_tables(paths: list[Path], schema: pa.Schema) -> pa.Table:
    tables = [pq.read_table(p, schema=schema) for p in paths]
    return pa.concat_tables(tables) if tables else schema.empty_table()


class StagedParquet:
    """One Parquet file written batch by batch (a row group or more per batch) under a temporary name, and
    renamed into place only when the `with` block ends without an error; on an error nothing is renamed,
    the temporary file is removed and an older file of that name is left as it was."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int = 50_000) -> None:
        self.path, self.schema, self.row_group_rows = path, schema, row_group_rows
        self.tmp = temporary_name(path)
        self.rows = 0
        self._handle: IO[bytes] | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> Self:
        self._handle = open_private(self.tmp)
        self._writer = pq.ParquetWriter(self._handle, self.schema, compression="zstd")
        return self

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            if not table.schema.equals(self.schema):
                table = table.cast(self.schema)
            self._writer.write_table(table, row_group_size=self.row_group_rows)
            self.rows += table.num_rows

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            self._writer.close()
            self._handle.close()
        finally:
            if exc_type is None:
                os.replace(self.tmp, self.path)
            else:
                self.tmp.unlink(missing_ok=True)


def chmod_tree(root: Path, file_mode: int, dir_mode: int) -> None:
    """Set the modes of a whole tree (symlinks are left alone)."""
    for folder, _, files in os.walk(root):  # os.walk does not descend into symlinked folders
        os.chmod(folder, dir_mode)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, file_mode)


def copy_tree(source: Path, target: Path) -> None:
    """Copy a folder if it exists (Data Docs pages into a report folder), keeping it private."""
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                write_bytes(private_dir((target / path.relative_to(source)).parent) / path.name, path.read_bytes())
