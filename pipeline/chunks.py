"""How a (source, ds) partition is cut into chunks, each scrubbed alone (one mapped task, one worker).

Why these cuts: nothing published may depend on them. A text partition is cut into runs of raw files (name
order); a chunk also reads the files before it for their row keys, so duplicates are caught as in one pass.
A keystroke or mouse partition is cut by session, never inside one (key events are replayed per session):
each of its chunks reads the partition and keeps the sessions whose stable hash falls to it, and the night's
timing pool is drawn from all chunks together when they are combined (pipeline.behaviour.finish_events).
Performance records (not published; their k-suppressed summary is night-wide) stay one chunk.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from pipeline.columns import value_codes

Cut = Literal["files", "sessions", "whole"]


@dataclass(frozen=True)
class Chunk:
    """One planned chunk: plain values, kept in the night's plan.json (only its id travels through XCom)."""

    source: str
    index: int  # 0 for the partition's first chunk: it carries the canaries, the quarantine and the file counts
    count: int  # chunks of this partition
    cut: Cut
    start: int  # the partition's files this chunk reads rows from, [start, stop) in name order
    stop: int
    canary_share: int = 0  # a text partition's first chunk plants share `canary_share` of `canary_shares`
    canary_shares: int = 0  # of the night's text canaries (0: it plants none; share_canaries)

    @property
    def id(self) -> str:
        """Its source and place among the source's chunks (ids only, safe for XCom, logs and file names)."""
        return f"{self.source}.{self.index:04d}"

    @property
    def files(self) -> slice:
        return slice(self.start, self.stop)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "index": self.index, "count": self.count, "cut": self.cut,
                "start": self.start, "stop": self.stop, "canary_share": self.canary_share,
                "canary_shares": self.canary_shares}


def plan_chunks(source: str, files: int, cut: Cut, chunk_files: int) -> list[Chunk]:
    """A partition of `files` raw files as chunks of about `chunk_files` files each (`whole`: one chunk)."""
    count = 1 if cut == "whole" else max(1, -(-files // chunk_files))
    if cut == "files":
        return [Chunk(source, i, count, cut, i * chunk_files, min(files, (i + 1) * chunk_files)) for i in range(count)]
    return [Chunk(source, i, count, cut, 0, files) for i in range(count)]


def share_canaries(chunks: list[Chunk]) -> list[Chunk]:
    """The night's text canaries shared out among its text partitions: the first chunk of each (cut by files)
    plants one share, so each canary is planted once a night, however many partitions and chunks there are."""
    firsts = [c.id for c in chunks if c.cut == "files" and c.index == 0]
    return [
        replace(c, canary_share=firsts.index(c.id), canary_shares=len(firsts)) if c.id in firsts else c for c in chunks
    ]


def session_chunks(table: pa.Table, count: int) -> np.ndarray:
    """The chunk (0 … count-1) of each event's (employee, device, session): a CRC-32 of the ids, so every
    worker and every re-run puts a session in the same chunk, whatever else the partition holds."""
    ids = [value_codes(table[name]) for name in ("employee_id", "device_id", "session_id")]
    if table.num_rows == 0:
        return np.zeros(0, np.int64)
    triples, inverse = np.unique(np.stack([codes for codes, _ in ids], axis=1), axis=0, return_inverse=True)
    names = [[*values, None] for _, values in ids]  # code -1 (a null id) is the last entry
    buckets = np.array([
        zlib.crc32("\x1f".join(str(names[k][c]) for k, c in enumerate(triple)).encode("utf-8", "surrogatepass")) % count
        for triple in triples.tolist()
    ], np.int64)
    return buckets[inverse.ravel()]
