"""Rows that break their source's contract, kept with their reason beside the raw data, never published.

Quarantine files hold raw values, so they are written like every private file (0600 in 0700 folders) and
appear under their name only once complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, Self

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.contracts import QUARANTINE_SCHEMA
from pipeline.files import open_private, private_dir, temporary_name


def quarantine_file(quarantine_root: str | Path, source: str, ds: str) -> Path:
    return Path(quarantine_root) / source / f"ds={ds}" / "quarantine.parquet"


def write_quarantine(
    quarantine_root: str | Path, source: str, ds: str, rows: list[dict[str, Any]], target: Path | None = None
) -> Path | None:
    """One partition's (or, with `target`, one chunk's staged) quarantine rows as one file."""
    with QuarantineWriter(quarantine_root, source, ds, target) as quarantine:
        quarantine.write(rows)
    return quarantine.path


GROUP_ROWS = 10_000  # rows per row group of a combined quarantine file, whatever the chunks held


def combine_quarantine(quarantine_root: str | Path, source: str, ds: str, chunks: list[Path]) -> int:
    """The partition's quarantine file from its chunks' staged files, in chunk order (which is file and line
    order) and in row groups of GROUP_ROWS, so it is the same file however the partition was cut. Returns the
    rows; at most one chunk's rows plus a group are in memory."""
    pending: list[dict[str, Any]] = []
    with QuarantineWriter(quarantine_root, source, ds) as quarantine:
        for chunk in chunks:
            if chunk.exists():
                pending += pq.read_table(chunk, schema=QUARANTINE_SCHEMA).to_pylist()
            while len(pending) >= GROUP_ROWS:
                quarantine.write(pending[:GROUP_ROWS])
                del pending[:GROUP_ROWS]
        quarantine.write(pending)
    return quarantine.rows


class QuarantineWriter:
    """One partition's quarantine rows, streamed batch by batch into a 0600 file in 0700 folders under a
    temporary name. A clean end replaces the previous file (or removes it when no row was quarantined);
    an error removes the temporary file."""

    def __init__(self, quarantine_root: str | Path, source: str, ds: str, target: Path | None = None) -> None:
        self.root = Path(quarantine_root)
        self.target = target or quarantine_file(quarantine_root, source, ds)
        self.tmp = temporary_name(self.target)
        self.rows = 0
        self.path: Path | None = None  # the finished file, once the block has ended with rows
        self._handle: IO[bytes] | None = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> Self:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._writer is None:
            private_dir(self.target.parent, owned_from=self.root)
            self._handle = open_private(self.tmp)
            self._writer = pq.ParquetWriter(self._handle, QUARANTINE_SCHEMA, compression="zstd")
        self._writer.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))
        self.rows += len(rows)

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
