"""Vectorised text building for the demo: every string column is made by Arrow kernels.

Building ten million JSON documents one ``dict`` at a time takes minutes; joining columns of
constants, dictionary look-ups and formatted numbers with ``binary_join_element_wise`` takes
seconds. The helpers here are the few shapes that the renderers need.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
Part: TypeAlias = str | pa.Array

US_PER_S = 1_000_000
US_PER_H = 3600 * US_PER_S
US_PER_DAY = 24 * US_PER_H
EPOCH = datetime(1970, 1, 1)


def join(*parts: Part) -> pa.Array:
    """Concatenate string arrays and constants row by row (a null part gives a null row)."""
    return pc.binary_join_element_wise(*parts, "")


def text(values: Sequence[str | None], index: npt.NDArray[np.integer]) -> pa.Array:
    """``values[index]`` as a string array; a negative index gives null."""
    idx = np.asarray(index, dtype=np.int64)
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx), mask=mask if mask.any() else None)
    return pa.array(list(values), pa.string()).take(indices)


def pick(values: pa.Array, index: npt.NDArray[np.integer]) -> pa.Array:
    """``values[index]`` for an Arrow array; a negative index gives null."""
    idx = np.asarray(index, dtype=np.int64)
    mask = idx < 0
    return values.take(pa.array(np.where(mask, 0, idx), mask=mask if mask.any() else None))


def ints(values: npt.NDArray[np.integer], width: int = 0) -> pa.Array:
    """Decimal text of integers, zero-padded to ``width``."""
    out = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(out, width, "0") if width else out


def money(agorot: npt.NDArray[np.integer]) -> pa.Array:
    """Amounts kept in agorot (1/100 shekel) as JSON/CSV numbers with two decimals."""
    a = np.asarray(agorot, dtype=np.int64)
    sign = when(a < 0, "-", "")
    a = np.abs(a)
    return join(sign, ints(a // 100), ".", ints(a % 100, 2))


def when(mask: Bool, then: Part, otherwise: Part = "") -> pa.Array:
    """Row-wise choice between two parts (constants are broadcast)."""
    a = pa.scalar(then, pa.string()) if isinstance(then, str) else then
    b = pa.scalar(otherwise, pa.string()) if isinstance(otherwise, str) else otherwise
    return pc.if_else(pa.array(mask, pa.bool_()), a, b)


def quoted(values: Sequence[str]) -> list[str]:
    """JSON string literals (quotes included) of ``values``: Hebrew and Arabic stay as is."""
    return [orjson.dumps(v).decode() for v in values]


def hex_ids(rng: np.random.Generator, n: int, chars: int) -> pa.Array:
    """``n`` random lower-case hex strings of ``chars`` characters (even)."""
    raw = rng.bytes(n * chars // 2).hex().encode("ascii")
    offsets = np.arange(0, n * chars + 1, chars, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(raw))


def uuids(rng: np.random.Generator, n: int) -> pa.Array:
    """Version-4-looking UUIDs (8-4-4-4-12), the shape analytics.js gives anonymous ids."""
    h = hex_ids(rng, n, 32)

    def part(start: int, stop: int) -> pa.Array:
        return pc.utf8_slice_codeunits(h, start, stop)

    return join(part(0, 8), "-", part(8, 12), "-4", part(13, 16), "-a", part(17, 20), "-",
                part(20, 32))


def timestamps(us: I64) -> pa.Array:
    """Naive-UTC microsecond timestamps."""
    return pa.array(np.asarray(us, dtype=np.int64), pa.timestamp("us"))


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of a naive-UTC ``datetime``."""
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * US_PER_S + delta.microseconds


def offset_text(offset_us: I64) -> pa.Array:
    """'+02:00' / '+03:00' for zone offsets in µs."""
    minutes = offset_us // (60 * US_PER_S)
    return join(when(minutes < 0, "-", "+"), ints(np.abs(minutes) // 60, 2), ":",
                ints(np.abs(minutes) % 60, 2))
