"""Rule-based models: each touch of a converting path takes a fixed share of its conversions.

Every function returns the share of its path's conversions (and value) each touch takes, one
number per touch of :class:`~touchpath.attribution.paths.ConversionPaths`; the shares of one
path add up to 1, except for :func:`participation` (1 for every distinct channel of the
path). Time decay needs each touch's time before the conversion, which aggregated paths do
not keep: it is computed in the engine (:func:`touchpath.attribution.query.path_table`),
with the rate :func:`decay_rate` gives.
"""

from __future__ import annotations

import math

import numpy as np

from touchpath.attribution.paths import ConversionPaths, Floats

SECONDS_PER_DAY = 86_400.0


def first_touch(paths: ConversionPaths) -> Floats:
    return np.asarray(paths.position == 0, dtype=np.float64)


def last_touch(paths: ConversionPaths) -> Floats:
    return np.asarray(paths.position == np.repeat(paths.lengths - 1, paths.lengths),
                      dtype=np.float64)


def last_non_direct(paths: ConversionPaths, direct: tuple[str, ...]) -> Floats:
    """The last touch that is not one of ``direct``; the last touch when all of them are."""
    direct_ids = [i for i, name in enumerate(paths.channels) if name in direct]
    position = paths.position
    candidate = np.where(np.isin(paths.touches, direct_ids), -1, position)
    starts = paths.offsets[:-1]
    chosen = np.maximum.reduceat(candidate, starts) if len(candidate) else candidate
    chosen = np.where(chosen < 0, paths.lengths - 1, chosen)
    return np.asarray(position == np.repeat(chosen, paths.lengths), dtype=np.float64)


def linear(paths: ConversionPaths) -> Floats:
    return 1.0 / np.repeat(paths.lengths, paths.lengths).astype(np.float64)


def position_based(paths: ConversionPaths, first: float, last: float) -> Floats:
    """``first`` to the first touch, ``last`` to the last, the rest split evenly between the
    touches in between. Two touches share ``first : last``; one touch takes everything."""
    n = np.repeat(paths.lengths, paths.lengths)
    position = paths.position
    middle = (1.0 - first - last) / np.maximum(n - 2, 1)
    shares = np.where(position == 0, first, np.where(position == n - 1, last, middle))
    pair = first + last
    two = np.where(position == 0, first, last) / pair if pair > 0 else np.full(len(n), 0.5)
    shares = np.where(n == 2, two, shares)
    return np.where(n == 1, 1.0, shares).astype(np.float64)


def participation(paths: ConversionPaths) -> Floats:
    """1 for the first touch of each distinct channel of a path: every channel gets the
    path's full conversions (the shares of a path add up to its number of channels)."""
    return first_of_channel(paths)


def first_of_channel(paths: ConversionPaths) -> Floats:
    """1 for the first touch of each channel within its path, else 0."""
    shares = np.zeros(len(paths.touches))
    keys = paths.path_of_touch * len(paths.channels) + paths.touches
    _, first = np.unique(keys, return_index=True)  # the index of each key's first occurrence
    shares[first] = 1.0
    return shares


def decay_rate(half_life_days: float) -> float:
    """The ``k`` of ``exp(-k * seconds)`` that halves every ``half_life_days``."""
    return math.log(2.0) / (half_life_days * SECONDS_PER_DAY)
