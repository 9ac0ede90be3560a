"""Conversion paths, aggregated: each distinct sequence of touchpoints once, with counts.

The models run on :class:`ConversionPaths`, not on people: a path such as ``email > direct``
appears once with the number of journeys along it that converted (``conversions``), their
``value``, and the number that did not (``nulls``). Touches are kept flat (CSR layout:
``touches[offsets[i]:offsets[i + 1]]`` are path ``i``'s channel ids), so every model is a few
NumPy passes over the touches, whatever the number of people.

>>> paths = ConversionPaths.from_records([(("email", "direct"), 3, 120.0, 10),
...                                       (("paid_search",), 1, 40.0, 25)])
>>> paths.channels
('direct', 'email', 'paid_search')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from touchpath.attribution.spec import NO_TOUCH

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ConversionPaths:
    """Distinct paths over ``channels`` (touch ids index into it), each with its counts."""

    channels: tuple[str, ...]
    offsets: Ints
    touches: Ints
    conversions: Floats
    value: Floats
    nulls: Floats

    @classmethod
    def from_records(cls, records: Iterable[tuple[Sequence[str], float, float, float]]
                     ) -> ConversionPaths:
        """From ``(path, conversions, value, nulls)`` rows; equal paths are added up, an
        empty path becomes ``("(none)",)``, and the paths are sorted (so that a bootstrap with
        a seed draws the same resamples whatever order the rows came in)."""
        merged: dict[tuple[str, ...], list[float]] = {}
        for path, conversions, value, nulls in records:
            key = tuple(str(t) for t in path) or (NO_TOUCH,)
            counts = merged.setdefault(key, [0.0, 0.0, 0.0])
            counts[0] += float(conversions)
            counts[1] += float(value)
            counts[2] += float(nulls)
        channels = tuple(sorted({t for path in merged for t in path}))
        ids = {name: i for i, name in enumerate(channels)}
        keys = sorted(merged)  # a fixed order, whatever order the engine returned them in
        lengths = np.array([len(k) for k in keys], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        touches = np.fromiter((ids[t] for k in keys for t in k), dtype=np.int64,
                              count=int(offsets[-1]))
        table = np.array([merged[k] for k in keys], dtype=np.float64).reshape(-1, 3)
        return cls(channels, offsets, touches, table[:, 0].copy(), table[:, 1].copy(),
                   table[:, 2].copy())

    @classmethod
    def from_arrow(cls, table: pa.Table) -> ConversionPaths:
        """From an Arrow table of distinct paths: ``path`` (a list of touchpoint texts; NULL or
        empty for conversions with no touch, which become ``("(none)",)``), ``conversions``,
        ``value``, ``nulls``. Vectorised (no Python loop over paths); the paths come out in
        the same sorted order as :meth:`from_records` gives."""
        path = table["path"].combine_chunks()
        empty = pc.fill_null(pc.equal(pc.list_value_length(path), 0), True)
        path = pc.if_else(empty, pa.scalar([NO_TOUCH], type=path.type), path)
        text = pc.binary_join(path, "\x1f")
        if len(pc.unique(text)) != len(text):  # a NULL and an empty path, both "(none)"
            records = zip(path.to_pylist(), *(table[c].to_pylist() for c in
                                              ("conversions", "value", "nulls")), strict=True)
            return cls.from_records((p, c or 0, v or 0.0, n or 0) for p, c, v, n in records)
        order = pc.sort_indices(text)
        path = pc.take(path, order)
        flat = pc.list_flatten(path)
        encoded = pc.dictionary_encode(flat)
        names = np.array(encoded.dictionary.to_pylist(), dtype=object)
        rank = np.argsort(names.astype(str), kind="stable")
        position = np.empty(len(names), dtype=np.int64)
        position[rank] = np.arange(len(names))
        touches = position[np.asarray(encoded.indices, dtype=np.int64)]
        lengths = np.asarray(pc.list_value_length(path), dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

        def column(name: str) -> Floats:
            values = pc.take(table[name].combine_chunks(), order)
            return np.asarray(pc.fill_null(values.cast(pa.float64()), 0.0), dtype=np.float64)

        return cls(tuple(str(n) for n in names[rank]), offsets, touches, column("conversions"),
                   column("value"), column("nulls"))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, path: str = "path",
                   conversions: str = "conversions", value: str | None = None,
                   nulls: str | None = None, sep: str = ">") -> ConversionPaths:
        """From a table of paths written as text (``"email > direct"``), as ChannelAttribution
        takes them."""
        records = []
        for row in frame.itertuples(index=False):
            fields = row._asdict()
            steps = [s.strip() for s in str(fields[path]).split(sep) if s.strip()]
            records.append((steps, fields[conversions],
                            fields[value] if value is not None else 0.0,
                            fields[nulls] if nulls is not None else 0.0))
        return cls.from_records(records)

    def __len__(self) -> int:
        return len(self.conversions)

    @property
    def lengths(self) -> Ints:
        return np.diff(self.offsets)

    @property
    def path_of_touch(self) -> Ints:
        """For each touch, the index of its path."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)

    @property
    def position(self) -> Ints:
        """For each touch, its 0-based position in its path."""
        return np.arange(len(self.touches), dtype=np.int64) - np.repeat(self.offsets[:-1],
                                                                         self.lengths)

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())

    def path(self, i: int) -> tuple[str, ...]:
        return tuple(self.channels[t] for t in self.touches[self.offsets[i]:self.offsets[i + 1]])

    def with_counts(self, conversions: Floats, value: Floats, nulls: Floats) -> ConversionPaths:
        """The same paths with other counts (a bootstrap resample)."""
        return ConversionPaths(self.channels, self.offsets, self.touches, conversions, value,
                               nulls)

    def subset(self, rows: Ints) -> ConversionPaths:
        """The paths at ``rows`` (in that order), over the same channels."""
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        starts = np.repeat(self.offsets[:-1][rows], lengths)
        within = np.arange(int(offsets[-1]), dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return ConversionPaths(self.channels, offsets, self.touches[starts + within],
                               self.conversions[rows], self.value[rows], self.nulls[rows])

    def to_frame(self, sep: str = " > ") -> pd.DataFrame:
        """One row per path: ``path`` (text), ``touches``, ``conversions``, ``value``,
        ``nulls``, ``journeys`` and ``conversion_rate``."""
        names = np.array(self.channels, dtype=object)
        labels = [sep.join(names[self.touches[a:b]]) for a, b in
                  zip(self.offsets[:-1], self.offsets[1:], strict=True)]
        journeys = self.conversions + self.nulls
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(journeys > 0, self.conversions / np.maximum(journeys, 1e-300),
                            np.nan)
        return pd.DataFrame({"path": labels, "touches": self.lengths,
                             "conversions": self.conversions, "value": self.value,
                             "nulls": self.nulls, "journeys": journeys,
                             "conversion_rate": rate})


def distinct_pairs(paths: ConversionPaths) -> tuple[Ints, Ints]:
    """``(path index, channel id)`` of every channel a path contains, each pair once."""
    channels = len(paths.channels)
    keys = np.unique(paths.path_of_touch * channels + paths.touches)
    return keys // channels, keys % channels


def per_channel(paths: ConversionPaths, touch_share: Floats) -> tuple[Floats, Floats]:
    """Conversions and value per channel when each touch takes ``touch_share`` of its path's
    conversions and value."""
    of = paths.path_of_touch
    size = len(paths.channels)
    conversions = np.bincount(paths.touches, touch_share * paths.conversions[of], size)
    value = np.bincount(paths.touches, touch_share * paths.value[of], size)
    return conversions.astype(np.float64), value.astype(np.float64)


def summary_counts(paths: ConversionPaths) -> dict[str, Any]:
    return {
        "conversions": paths.total_conversions,
        "value": paths.total_value,
        "journeys": float(paths.conversions.sum() + paths.nulls.sum()),
        "distinct_paths": len(paths),
    }
