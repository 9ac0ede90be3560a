"""Attribution in plain Python: the reference the engine and the fast models are checked against.

Slow and obvious on purpose: loops over each person's ordered events, dicts of transition
counts, absorption probabilities by value iteration, Shapley values by enumerating every
coalition with the textbook formula.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.analytics.reference import common
from touchpath.attribution.spec import NO_TOUCH, AttributionSpec

Path = tuple[str, ...]


@dataclass
class Journey:
    path: Path
    ages: list[float]  # seconds before the conversion (converting journeys only)
    converted: bool
    value: float


def journeys(events: list[dict[str, Any]], spec: AttributionSpec) -> list[Journey]:
    """Every journey of the scoped events (``events`` from :func:`common.load`)."""
    scoped = common.scoped(events, spec.filters, with_sessions=spec.touches == "session",
                           session_timeout_seconds=spec.session_timeout_seconds)
    out: list[Journey] = []
    lookback = timedelta(days=spec.lookback_days)
    for person_events in common.by_person(scoped).values():
        pending: list[tuple[str, Any]] = []  # (touchpoint, time)
        sessions_with_touch: set[str] = set()
        for event in person_events:
            dimension = common.as_text(common.value_of(event, spec.touchpoint))
            candidate = dimension is not None and (
                spec.touch_events is None or common.is_match(event, spec.touch_events))
            if candidate:
                if spec.touches == "event":
                    pending.append((dimension, event["timestamp"]))
                elif event["session_id"] not in sessions_with_touch:
                    sessions_with_touch.add(event["session_id"])
                    pending.append((dimension, event["timestamp"]))
            if common.is_match(event, spec.conversion):
                at = event["timestamp"]
                kept = [(d, t) for d, t in pending if t >= at - lookback]
                kept = _collapse(kept) if spec.collapse_repeats else kept
                value = _number(common.value_of(event, spec.value)) if spec.value else 0.0
                out.append(Journey(tuple(d for d, _ in kept),
                                   [(at - t).total_seconds() for _, t in kept], True, value))
                pending = []
        if pending:
            end = max(t for _, t in pending)
            kept = [(d, t) for d, t in pending if t >= end - lookback]
            kept = _collapse(kept) if spec.collapse_repeats else kept
            out.append(Journey(tuple(d for d, _ in kept), [], False, 0.0))
    return out


def _collapse(touches: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for touch in touches:
        if not out or out[-1][0] != touch[0]:
            out.append(touch)
    return out


def _number(value: Any) -> float:
    number = common.as_number(value)
    return 0.0 if number is None else number


def aggregate(found: list[Journey]) -> dict[Path, list[float]]:
    """``{path: [conversions, value, nulls]}``; a converting journey without touches has the
    path ``("(none)",)``."""
    out: dict[Path, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for journey in found:
        path = journey.path or (NO_TOUCH,)
        if journey.converted:
            out[path][0] += 1
            out[path][1] += journey.value
        else:
            out[path][2] += 1
    return dict(out)


# ---- rule-based models, one journey at a time ------------------------------------------------

def rule_credit(found: list[Journey], model: str, spec: AttributionSpec
                ) -> tuple[dict[str, float], dict[str, float]]:
    """Conversions and value per touchpoint for a rule-based model."""
    conversions: dict[str, float] = defaultdict(float)
    value: dict[str, float] = defaultdict(float)
    for journey in found:
        if not journey.converted:
            continue
        path = journey.path or (NO_TOUCH,)
        ages = journey.ages or [0.0]
        for touchpoint, share in _shares(path, ages, model, spec):
            conversions[touchpoint] += share
            value[touchpoint] += share * journey.value
    return dict(conversions), dict(value)


def _shares(path: Path, ages: list[float], model: str, spec: AttributionSpec
            ) -> list[tuple[str, float]]:
    n = len(path)
    if model == "first_touch":
        return [(path[0], 1.0)]
    if model == "last_touch":
        return [(path[-1], 1.0)]
    if model == "last_non_direct":
        for touchpoint in reversed(path):
            if touchpoint not in spec.direct:
                return [(touchpoint, 1.0)]
        return [(path[-1], 1.0)]
    if model == "linear":
        return [(t, 1.0 / n) for t in path]
    if model == "time_decay":
        weights = [0.5 ** (age / (spec.half_life_days * 86400.0)) for age in ages]
        return [(t, w / sum(weights)) for t, w in zip(path, weights, strict=True)]
    if model == "position_based":
        first, last = spec.position_weights
        if n == 1:
            return [(path[0], 1.0)]
        if n == 2:
            pair = first + last
            return [(path[0], first / pair if pair else 0.5),
                    (path[1], last / pair if pair else 0.5)]
        middle = (1.0 - first - last) / (n - 2)
        return [(t, first if i == 0 else last if i == n - 1 else middle)
                for i, t in enumerate(path)]
    if model == "participation":
        return [(t, 1.0) for t in dict.fromkeys(path)]
    if model == "shapley":
        distinct = list(dict.fromkeys(path))
        return [(t, 1.0 / len(distinct)) for t in distinct]
    raise ValueError(model)


# ---- Markov chain: counts in dicts, absorption by value iteration ------------------------------

START, CONVERSION, NULL = ("(start)",), ("(conversion)",), ("(null)",)


def states_of(path: Path, order: int) -> list[tuple[str, ...]]:
    return [path[max(0, i - order + 1):i + 1] for i in range(len(path))]


def transitions(paths: dict[Path, list[float]], order: int
                ) -> dict[tuple[str, ...], Counter[tuple[str, ...]]]:
    counts: dict[tuple[str, ...], Counter[tuple[str, ...]]] = defaultdict(Counter)
    for path, (conversions, _, nulls) in paths.items():
        states = states_of(path, order)
        journeys = conversions + nulls
        chain = [START, *states]
        for a, b in itertools.pairwise(chain):
            counts[a][b] += journeys
        counts[chain[-1]][CONVERSION] += conversions
        counts[chain[-1]][NULL] += nulls
    return counts


def absorption(counts: dict[tuple[str, ...], Counter[tuple[str, ...]]],
               removed: str | None = None, reward: dict[tuple[str, ...], float] | None = None,
               tolerance: float = 1e-14) -> float:
    """The probability of ending in conversion from the start (or, with ``reward`` = a value
    per step into conversion, the expected value), by iterating ``x <- b + Q x`` from 0.
    Every state holding ``removed`` leads to null."""
    x: dict[tuple[str, ...], float] = defaultdict(float)
    for _ in range(100_000):
        change = 0.0
        for state, out in counts.items():
            if removed is not None and removed in state:
                continue
            total = sum(out.values())
            if total == 0:
                continue
            new = 0.0
            for target, count in out.items():
                if target == CONVERSION:
                    new += count / total * (reward[state] if reward else 1.0)
                elif target != NULL and not (removed is not None and removed in target):
                    new += count / total * x[target]
            change = max(change, abs(new - x[state]))
            x[state] = new
        if change < tolerance:
            return x[START]
    raise AssertionError("value iteration did not converge")


def removal_effects(paths: dict[Path, list[float]], order: int = 1
                    ) -> tuple[dict[str, float], dict[str, float], float]:
    """``(removal effect per channel, value removal effect per channel, P(conversion))``."""
    counts = transitions(paths, order)
    # a step into conversion from a state is worth the mean value of the conversions that
    # took it
    value_from: dict[tuple[str, ...], float] = defaultdict(float)
    for path, (_, value, _) in paths.items():
        value_from[states_of(path, order)[-1]] += value
    reward = {state: value_from[state] / out[CONVERSION] if out[CONVERSION] else 0.0
              for state, out in counts.items()}
    probability = absorption(counts)
    expected = absorption(counts, reward=reward)
    channels = sorted({t for path in paths for t in path})
    effects = {c: 1.0 - absorption(counts, c) / probability for c in channels}
    value_effects = {c: (1.0 - absorption(counts, c, reward) / expected) if expected else 0.0
                     for c in channels}
    return effects, value_effects, probability


def markov_credit(paths: dict[Path, list[float]], order: int = 1
                  ) -> tuple[dict[str, float], dict[str, float]]:
    effects, value_effects, _ = removal_effects(paths, order)
    conversions = sum(v[0] for v in paths.values())
    value = sum(v[1] for v in paths.values())
    total_effect = sum(effects.values())
    total_value_effect = sum(value_effects.values())
    return ({c: conversions * e / total_effect for c, e in effects.items()},
            {c: value * e / total_value_effect if total_value_effect else 0.0
             for c, e in value_effects.items()})


# ---- Shapley values by enumeration -------------------------------------------------------------

def shapley_brute_force(players: list[str], v: Any) -> dict[str, float]:
    """``phi_i = sum over S not holding i of |S|! (n-|S|-1)! / n! * (v(S + i) - v(S))``."""
    n = len(players)
    out = {}
    for player in players:
        others = [p for p in players if p != player]
        total = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                members = frozenset(coalition)
                total += weight * (v(members | {player}) - v(members))
        out[player] = total
    return out


def subset_game(paths: dict[Path, list[float]], column: int) -> Any:
    """``v(S)`` = the sum of ``column`` (0 conversions, 1 value) over paths whose channels are
    all in ``S``."""
    def v(members: frozenset[str]) -> float:
        return sum(counts[column] for path, counts in paths.items() if set(path) <= members)
    return v


def rate_game(paths: dict[Path, list[float]], column: int) -> Any:
    """``v(S)`` = the sum of ``column`` over journeys whose channels are all in ``S``, per such
    journey (0 when there are none)."""
    def v(members: frozenset[str]) -> float:
        inside = [counts for path, counts in paths.items() if set(path) <= members]
        journeys = sum(c[0] + c[2] for c in inside)
        return sum(c[column] for c in inside) / journeys if journeys else 0.0
    return v
