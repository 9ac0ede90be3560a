"""Shapley-value attribution over channels, exact and without enumerating coalitions one by one.

Two characteristic functions over the set ``N`` of channels, both defined from the channel
*sets* of the paths (order ignored):

``shapley`` (the "simplified Shapley value" of Zhao, Mahboobi & Bagheri 2018, "Shapley Value
Methods for Attribution Modeling in Online Advertising", arXiv:1804.05327, section 3.1):
``v(S)`` = the conversions of the paths whose channel set is contained in ``S``. This game is a
sum of unanimity games, one per observed channel set ``T`` with weight ``R(T)`` (the
conversions of the paths with exactly that set), so its Shapley value is closed-form:
``phi_i = sum over T containing i of R(T) / |T|`` -- each path's conversions split equally among
its distinct channels. Linear in the number of touches; it adds up to the conversions.

``shapley_rate`` (a conversion-rate game, the characteristic function of Dalessandro, Perlich,
Stitelman & Provost 2012, "Causally motivated attribution for online advertising", in its
common "coalition conversion rate" form): ``v(S)`` = conversions / journeys over the journeys
(converting or not) whose channel set is contained in ``S`` (0 when there are none). The game is
not a sum of unanimity games with known weights, so it is computed over all ``2^n`` coalitions,
exactly: the subset sums (zeta transform) of conversions and journeys give ``v`` for every
coalition in ``O(n 2^n)``; the Möbius transform of ``v`` gives its Harsanyi dividends ``d(T)``;
``phi_i = sum over T containing i of d(T) / |T|``. The values add up to ``v(N)``, the overall
conversion rate, and are scaled by ``conversions / v(N)`` to share out the conversions (value
likewise, with the value-per-journey game). At most :data:`MAX_RATE_CHANNELS` channels.
"""

from __future__ import annotations

import numpy as np

from touchpath.attribution.paths import ConversionPaths, Floats, Ints, per_channel
from touchpath.attribution.rules import first_of_channel
from touchpath.attribution.spec import MAX_RATE_CHANNELS
from touchpath.errors import ValidationError


def simplified(paths: ConversionPaths) -> tuple[Floats, Floats]:
    """Conversions and value per channel: each path's split equally among its channels."""
    first = first_of_channel(paths)
    distinct = np.bincount(paths.path_of_touch, first, len(paths)).astype(np.float64)
    shares = first / distinct[paths.path_of_touch]
    return per_channel(paths, shares)


def coalition_masks(paths: ConversionPaths) -> Ints:
    """Each path's channel set as a bit mask (bit ``c`` for channel ``c``)."""
    bits = np.left_shift(np.int64(1), paths.touches)
    return np.bitwise_or.reduceat(bits, paths.offsets[:-1]) if len(bits) else bits


def zeta(values: Floats, n: int) -> Floats:
    """Subset sums: ``out[S] = sum of values[T] for T contained in S``."""
    out = values.copy()
    for i in range(n):
        view = out.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    return out


def mobius(values: Floats, n: int) -> Floats:
    """The inverse of :func:`zeta`."""
    out = values.copy()
    for i in range(n):
        view = out.reshape(-1, 2, 1 << i)
        view[:, 1, :] -= view[:, 0, :]
    return out


def popcounts(n: int) -> Ints:
    counts = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        counts.reshape(-1, 2, 1 << i)[:, 1, :] += 1
    return counts


def shapley_from_game(v: Floats, n: int) -> Floats:
    """The Shapley values of the game ``v`` (one number per coalition mask, ``v[0]`` = 0)
    through its Harsanyi dividends."""
    dividends = mobius(v, n)
    size = popcounts(n)
    per_member = np.divide(dividends, size, out=np.zeros_like(dividends), where=size > 0)
    return np.array([per_member.reshape(-1, 2, 1 << i)[:, 1, :].sum() for i in range(n)],
                    dtype=np.float64)


def rate(paths: ConversionPaths) -> tuple[Floats, Floats]:
    """Conversions and value per channel from the conversion-rate game (module docstring)."""
    n = len(paths.channels)
    if n > MAX_RATE_CHANNELS:
        raise ValidationError(
            f"shapley_rate keeps one number per coalition and takes at most "
            f"{MAX_RATE_CHANNELS} touchpoint values; these paths have {n} (use 'shapley', or "
            "narrow the touchpoints with filters or touch_events)", field="models")
    masks = coalition_masks(paths)
    size = 1 << n
    journeys = zeta(np.bincount(masks, paths.conversions + paths.nulls, size).astype(float), n)
    results = []
    for amounts, total in ((paths.conversions, paths.total_conversions),
                           (paths.value, paths.total_value)):
        within = zeta(np.bincount(masks, amounts, size).astype(np.float64), n)
        v = np.divide(within, journeys, out=np.zeros(size), where=journeys > 0)
        phi = shapley_from_game(v, n)
        grand = v[size - 1]
        results.append(phi * (total / grand) if grand > 0 else np.zeros(n))
    return results[0], results[1]
