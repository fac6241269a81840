"""How partitions are cut into chunks (pipeline.chunks): files for text, whole sessions for events."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from pipeline.chunks import Chunk, plan_chunks, session_chunks


@pytest.mark.parametrize(("files", "size", "spans"), [
    (1, 16, [(0, 1)]), (8, 3, [(0, 3), (3, 6), (6, 8)]), (8, 1, [(i, i + 1) for i in range(8)]), (4, 4, [(0, 4)]),
])
def test_text_chunks_are_runs_of_files_covering_the_partition_once(files: int, size: int, spans: list) -> None:
    chunks = plan_chunks("chat", files, "files", size)
    assert [(c.start, c.stop) for c in chunks] == spans
    assert [c.id for c in chunks] == [f"chat.{i:04d}" for i in range(len(spans))]
    assert {c.count for c in chunks} == {len(spans)}
    assert Chunk(**chunks[-1].to_dict()) == chunks[-1], "a plan.json entry rebuilds the chunk"


def test_session_chunks_read_every_file_and_whole_partitions_stay_one_chunk() -> None:
    assert [(c.index, c.start, c.stop) for c in plan_chunks("mouse", 5, "sessions", 2)] == [(0, 0, 5), (1, 0, 5), (2, 0, 5)]
    assert len(plan_chunks("performance", 40, "whole", 1)) == 1


def events(rows: list[tuple[str, str, str]]) -> pa.Table:
    dictionary = pa.dictionary(pa.int32(), pa.string())
    return pa.table({name: pa.array([r[i] for r in rows]).cast(dictionary)
                     for i, name in enumerate(("employee_id", "device_id", "session_id"))})


def test_a_session_falls_to_one_chunk_whatever_else_the_partition_holds() -> None:
    rows = [(f"E{i % 7}", f"D{i % 3}", f"S{i % 11}") for i in range(200)]
    buckets = session_chunks(events(rows), 4)
    assert set(buckets.tolist()) == {0, 1, 2, 3}
    by_session: dict[tuple, set] = {}
    for row, b in zip(rows, buckets.tolist(), strict=True):
        by_session.setdefault(row, set()).add(b)
    assert all(len(b) == 1 for b in by_session.values()), "no session is cut"
    alone = session_chunks(events(rows[::-1][:5]), 4)
    assert alone.tolist() == buckets[::-1][:5].tolist(), "the same chunk in a partition holding other sessions"
    assert session_chunks(events([]), 4).tolist() == [] and np.all(session_chunks(events(rows), 1) == 0)
