"""Arrow column helpers shared by the readers and the stages that work on whole columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa


def value_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """Integer codes of a column's values (-1 for null) and the distinct values they stand for, so that
    work that depends on a value (a pseudonym, a key's class, comparing ids) runs once per value."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    column = pa.table({"c": column}).unify_dictionaries()["c"]
    if not column.num_chunks:
        return np.zeros(0, np.int64), []
    codes = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in column.chunks]
    return np.concatenate(codes).astype(np.int64), column.chunk(0).dictionary.to_pylist()
