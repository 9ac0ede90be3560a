"""The purchase summary in plain Python: loops over each person's purchases, no engine.

Mirrors the rules in ``touchpath.value.summary`` (``docs/clv.md``) from the events
:func:`tests.analytics.reference.common.scoped` returns.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.analytics.reference.common import Event, as_number, is_match, value_of
from touchpath.analytics.filters import EventMatcher


def period_start(day: date, period: str) -> date:
    return day if period == "day" else day - timedelta(days=day.weekday())


def total(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def summary(events: list[Event], purchase: EventMatcher, value: str, calibration_end: date,
            observation_end: date, period: str, unit_days: float) -> dict[str, dict[str, Any]]:
    """person -> frequency, recency, T, monetary (None without a valued repeat), first_value,
    holdout_purchases, holdout_value."""
    values: dict[str, dict[tuple[date, bool], list[float | None]]] = {}
    for event in events:
        if not is_match(event, purchase):
            continue
        day = event["timestamp"].date()
        if day > observation_end:
            continue
        key = (period_start(day, period), day <= calibration_end)
        values.setdefault(event["person_id"], {}).setdefault(key, []).append(
            as_number(value_of(event, value)))
    out: dict[str, dict[str, Any]] = {}
    for person, periods in values.items():
        calibration = sorted(start for start, in_calibration in periods if in_calibration)
        if not calibration:
            continue
        first, last = calibration[0], calibration[-1]
        repeats = [total(periods[(start, True)]) for start in calibration[1:]]
        known = [v for v in repeats if v is not None]
        holdout = [total(vals) for (start, in_cal), vals in periods.items() if not in_cal]
        out[person] = {
            "frequency": len(calibration) - 1,
            "recency": (last - first).days / unit_days,
            "T": (period_start(calibration_end, period) - first).days / unit_days,
            "monetary": sum(known) / len(known) if known else None,
            "first_value": total(periods[(first, True)]),
            "holdout_purchases": len(holdout),
            "holdout_value": sum(v for v in holdout if v is not None),
        }
    return out


def newcomers(events: list[Event], purchase: EventMatcher, calibration_end: date,
              observation_end: date) -> int:
    """People whose first purchase (up to ``observation_end``) is after ``calibration_end``."""
    first: dict[str, date] = {}
    for event in events:
        day = event["timestamp"].date()
        if is_match(event, purchase) and day <= observation_end:
            first[event["person_id"]] = min(day, first.get(event["person_id"], day))
    return sum(1 for day in first.values() if day > calibration_end)
