"""Markov-chain attribution, solved exactly as a sparse linear system.

The chain (Anderl, Becker, von Wangenheim & Schumann 2016, "Mapping the customer journey:
lessons learned from graph-based online attribution modeling"; the model of the
ChannelAttribution package): states are the touchpoints (order ``k``: the last ``k``
touchpoints of the path so far; fewer at its start), plus a start state and two absorbing
states, conversion and null. Transition probabilities are the observed transition counts of
the journeys, each path weighted by its number of journeys (conversions + nulls).

``P`` = the probability of absorption in conversion from the start. With ``Q`` the transitions
between transient states and ``b`` each state's probability of stepping into conversion,
``x = (I - Q)^{-1} b`` and ``P = x[start]``: one sparse linear solve (LU; for chains of
thousands of states, Jacobi iteration to machine precision, checked), no simulation.

Removal effect of channel ``c``: ``RE_c = 1 - P_{-c} / P``, where ``P_{-c}`` is ``P`` when every
state holding ``c`` leads to null instead (solved on the chain without those states).
Conversions are attributed in proportion: ``total * RE_c / sum(RE)``.

Value: each state's step into conversion carries the average value of the conversions that
took it (``b_v[s]`` = value of the conversions whose path ended in ``s`` / journeys through
``s``); ``E = ((I - Q)^{-1} b_v)[start]`` is the expected value of a journey, and the value
removal effect ``1 - E_{-c} / E`` shares out the total value the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from touchpath.attribution.paths import ConversionPaths, Floats, Ints
from touchpath.errors import ValidationError

DIRECT_STATES = 1500
"""Chains up to this many states are solved by sparse LU, larger ones by checked iteration."""
TOLERANCE = 1e-15
MAX_ITERATIONS = 20_000


@dataclass(frozen=True, eq=False)
class MarkovAttribution:
    """``removal_effects`` and ``value_removal_effects`` per channel, the conversions and value
    attributed, ``conversion_probability`` (``P``) and the number of transient ``states``."""

    channels: tuple[str, ...]
    order: int
    conversion_probability: float
    expected_value: float
    removal_effects: Floats
    value_removal_effects: Floats
    conversions: Floats
    value: Floats
    states: int


def state_codes(paths: ConversionPaths, order: int) -> Ints:
    """Each touch's state: its last ``order`` touchpoints (of the same path) as one integer,
    digit ``j`` (base ``channels + 1``) = the touchpoint ``j`` steps back, plus 1 (0: before
    the path's start)."""
    base = len(paths.channels) + 1
    if base ** order >= 2**62:
        raise ValidationError(f"too many touchpoint values ({base - 1}) for a Markov chain of "
                              f"order {order}", field="markov_order")
    position = paths.position
    codes = np.zeros(len(paths.touches), dtype=np.int64)
    for back in range(order):
        digit = np.zeros(len(paths.touches), dtype=np.int64)
        valid = position >= back
        source = np.arange(len(paths.touches), dtype=np.int64) - back
        digit[valid] = paths.touches[source[valid]] + 1
        codes += digit * base**back
    return codes


def markov_attribution(paths: ConversionPaths, order: int = 1) -> MarkovAttribution:
    """The exact Markov attribution of ``paths`` (see the module docstring)."""
    channels = len(paths.channels)
    codes = state_codes(paths, order)
    unique, state = _compact(codes, (channels + 1) ** order)
    state = state + 1  # 0 is the start state
    size = len(unique) + 1
    journeys = paths.conversions + paths.nulls
    of = paths.path_of_touch
    first = paths.offsets[:-1]
    last = paths.offsets[1:] - 1
    follows = np.ones(len(paths.touches), dtype=bool)
    follows[last] = False  # a touch followed by another touch of its path
    source = np.concatenate([np.zeros(len(paths), dtype=np.int64), state[follows]])
    target = np.concatenate([state[first], state[np.flatnonzero(follows) + 1]])
    weight = np.concatenate([journeys, journeys[of[follows]]])
    moves = sp.csr_matrix((weight, (source, target)), shape=(size, size))
    out = np.asarray(moves.sum(axis=1)).ravel()
    out += np.bincount(state[last], journeys, size)
    into_conversion = np.bincount(state[last], paths.conversions, size)
    into_value = np.bincount(state[last], paths.value, size)
    scale = np.divide(1.0, out, out=np.zeros(size), where=out > 0)
    q = sp.diags(scale) @ moves
    rhs = np.column_stack([into_conversion * scale, into_value * scale])

    # which channels each state holds: its digits
    holds = np.zeros((len(unique), channels), dtype=bool)
    rest = unique.copy()
    for _ in range(order):
        digit = rest % (channels + 1)
        rest //= channels + 1
        has = digit > 0
        holds[np.flatnonzero(has), digit[has] - 1] = True

    full = _absorb(q, rhs, np.ones(size, dtype=bool))
    probability, expected = full
    removal = np.zeros(channels)
    value_removal = np.zeros(channels)
    for c in range(channels):
        keep = np.concatenate([[True], ~holds[:, c]])
        p_without, e_without = _absorb(q, rhs, keep)
        removal[c] = 1.0 - p_without / probability if probability > 0 else 0.0
        value_removal[c] = 1.0 - e_without / expected if expected > 0 else 0.0
    removal = np.clip(removal, 0.0, 1.0)  # rounding can leave -1e-16
    value_removal = np.clip(value_removal, 0.0, 1.0)
    return MarkovAttribution(
        channels=paths.channels, order=order, conversion_probability=float(probability),
        expected_value=float(expected), removal_effects=removal,
        value_removal_effects=value_removal,
        conversions=_share(removal, paths.total_conversions),
        value=_share(value_removal, paths.total_value), states=size)


def _compact(codes: Ints, space: int) -> tuple[Ints, Ints]:
    """The distinct codes (sorted) and each code's index among them; a lookup table instead
    of a sort when the codes are small."""
    if space <= 1 << 24:
        present = np.zeros(space, dtype=bool)
        present[codes] = True
        unique = np.flatnonzero(present).astype(np.int64)
        index = np.cumsum(present, dtype=np.int64) - 1
        return unique, index[codes]
    unique, inverse = np.unique(codes, return_inverse=True)
    return unique.astype(np.int64), inverse.astype(np.int64).ravel()


def _absorb(q: sp.csr_matrix, rhs: Floats, keep: np.ndarray) -> tuple[float, float]:
    """Absorption probability in conversion (and expected value) from the start, on the chain
    restricted to the ``keep`` states (the others lead to null)."""
    index = np.flatnonzero(keep)
    sub = q[index][:, index]
    system = (sp.identity(len(index), format="csc") - sub.tocsc()).tocsc()
    solution = solve(system, np.ascontiguousarray(rhs[index]))
    return float(solution[0, 0]), float(solution[0, 1])


def solve(system: sp.csc_matrix, rhs: Floats) -> Floats:
    """``system^{-1} rhs`` (one column per right-hand side). A sparse LU factorisation up to
    :data:`DIRECT_STATES` states. Above, LU fill-in makes each factorisation cost seconds
    (order 3 over 20 channels: ~4,000 states, a million fill-in entries; order 4: minutes),
    so Jacobi iteration ``x <- D^{-1} (rhs - (A - D) x)`` (self-loops taken exactly through
    the diagonal ``D``; it converges for every absorbing chain) runs until an update changes
    nothing above :data:`TOLERANCE` (relative) and the residual is as small -- else LU after
    all."""
    if system.shape[0] > DIRECT_STATES:
        found = _jacobi(system, rhs)
        if found is not None:
            return found
    return np.asarray(spla.splu(system).solve(rhs), dtype=np.float64)


def _jacobi(system: sp.csc_matrix, rhs: Floats) -> Floats | None:
    diagonal = system.diagonal()
    rest = (system - sp.diags(diagonal)).tocsr()
    inverse = (1.0 / diagonal)[:, None]
    x = rhs * inverse
    scale = max(1.0, float(np.abs(rhs).max()))
    for _ in range(MAX_ITERATIONS):
        updated = (rhs - rest @ x) * inverse
        change = float(np.abs(updated - x).max())
        x = updated
        if change <= TOLERANCE * max(scale, float(np.abs(x).max())):
            break
    else:
        return None
    residual = float(np.abs(system @ x - rhs).max())
    return np.asarray(x, dtype=np.float64) if residual <= 10 * TOLERANCE * scale else None


def _share(effects: Floats, total: float) -> Floats:
    weight = effects.sum()
    if weight <= 0:
        return np.zeros(len(effects))
    return np.asarray(total * effects / weight, dtype=np.float64)
