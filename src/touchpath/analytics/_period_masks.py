"""Each person's active periods as the bits of a few integers, from one grouping by person.

Lifecycle and retention ask, per person, in which calendar periods they were active. The
distinct (person, period) pairs answer that, but cost a distinct (or a grouping) over every
event and then a window or a join. Instead, one grouping by person ORs ``1 << (p - first)``
into up to :data:`MASK_WORDS` 64-bit integers (``bit_or``), and the people are then counted
per distinct set of bits (a few hundred thousand rows at 10M events), bit by bit in numpy.

DuckDB only: Ibis' Spark backend has no ``bit_or``, and Spark keeps the pairs.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

MASK_BITS = 62
"""Periods per word (an int64 whose bits stay positive)."""
MASK_WORDS = 4
"""Words per person at most (248 periods: weeks of 4 years, days of 8 months); a longer span
counts the (person, period) pairs instead."""


def words_for(first: int, last: int) -> int | None:
    """The words that periods ``first`` .. ``last`` take; None when more than allowed."""
    words = (last - first) // MASK_BITS + 1
    return words if words <= MASK_WORDS else None


def mask_aggregates(period: ir.IntegerValue, first: int, words: int) -> dict[str, ir.Value]:
    """Aggregates ``w0 ..``: bit ``i`` of word ``j`` is set when some row has
    ``period - first == MASK_BITS * j + i``."""
    # 64-bit before the subtraction: Ibis may type ``period - first`` as 64-bit where DuckDB
    # computes it in 32 bits (a month index), and then drops a cast, and ``1 << 31`` overflows
    at = period.cast("int64") - first
    one = ibis.literal(1, "int64")
    if words == 1:
        return {"w0": (one << at).bit_or()}
    return {f"w{j}": ibis.cases((at // MASK_BITS == j, one << (at % MASK_BITS)),
                                else_=ibis.literal(0, "int64")).bit_or()
            for j in range(words)}


def word_matrix(frame: pd.DataFrame, words: int) -> np.ndarray:
    """The columns ``w0 ..`` of ``frame`` as one int64 matrix (a row per row)."""
    return np.stack([frame[f"w{j}"].to_numpy(np.int64) for j in range(words)], axis=1)


def bit_column(matrix: np.ndarray, at: int) -> np.ndarray:
    """Per row, whether bit ``at`` (a relative period) is set; false past the words."""
    word, bit = divmod(at, MASK_BITS)
    if word >= matrix.shape[1]:
        return np.zeros(len(matrix), bool)
    return np.asarray(((matrix[:, word] >> bit) & 1) == 1, bool)


def bits_at(matrix: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per row, whether bit ``at`` (relative period, one per row) is set; false past the
    words."""
    word, bit = np.divmod(at, MASK_BITS)
    inside = (word >= 0) & (word < matrix.shape[1])
    picked = matrix[np.arange(len(matrix)), np.where(inside, word, 0)]
    return np.asarray(inside & (((picked >> np.where(inside, bit, 0)) & 1) == 1), bool)


def last_bits(matrix: np.ndarray) -> np.ndarray:
    """Per row, the highest set bit (relative period); -1 when none is set."""
    last = np.full(len(matrix), -1, np.int64)
    for j in range(matrix.shape[1]):
        for bit in range(MASK_BITS):
            last = np.where((matrix[:, j] >> bit) & 1 == 1, j * MASK_BITS + bit, last)
    return last
