"""Retention, churn and the shared period rules in plain Python (see docs/retention.md).

Loops over each person's events in order; no engine, no cleverness.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from tests.analytics.reference.common import (
    Event,
    bounds,
    by_person,
    day_begins,
    is_match,
    local,
    order_key,
    person_property,
    scoped,
    zone_of,
)
from touchpath.analytics.filters import DateRange, Filters
from touchpath.analytics.retention import NOT_SET, ROLLING_DAYS, RetentionSpec

TODAY = date(2026, 1, 20)


def period_index(at: datetime, period: str, zone: str = "UTC") -> int:
    """The calendar period in ``zone`` of the instant ``at``."""
    at = local(at, zone)
    if period == "month":
        return at.year * 12 + at.month - 1
    days = (at.date() - date(1970, 1, 1)).days
    if period == "day":
        return days
    monday = at.date() - timedelta(days=at.weekday())
    return (monday - date(1969, 12, 29)).days // 7


def period_first_day(at: datetime, period: str, zone: str = "UTC") -> date:
    at = local(at, zone)
    if period == "month":
        return date(at.year, at.month, 1)
    if period == "week":
        return at.date() - timedelta(days=at.weekday())
    return at.date()


def offset(at: datetime, entry: datetime, period: str, windows: str, zone: str = "UTC") -> int:
    if windows == "calendar":
        return period_index(at, period, zone) - period_index(entry, period, zone)
    return (at - entry) // timedelta(days=ROLLING_DAYS[period])


def observe(all_events: list[Event], filters: Filters, as_of: date | None,
            today: date = TODAY) -> tuple[list[Event], datetime | None, datetime] | None:
    """The history (date range start relaxed), the range's start, the end of observation."""
    zone = zone_of(filters)
    start, end = bounds(filters.date_range, today, zone)
    relaxed = None if end is None else DateRange(
        end=local(end, zone).date() - timedelta(days=1))
    history = scoped(all_events, replace(filters, date_range=relaxed), today=today)
    if as_of is not None:
        end = day_begins(as_of + timedelta(days=1), zone)
    if end is None:
        if not history:
            return None
        end = day_begins(local(max(e["timestamp"] for e in history), zone).date()
                         + timedelta(days=1), zone)
    return [e for e in history if e["timestamp"] < end], start, end


def retention(all_events: list[Event], spec: RetentionSpec, today: date = TODAY
              ) -> dict[str, Any]:
    """``{"cohorts": {cohort: {"size", "values", "rates", "churned"}}, "churned": [ids]}``;
    a value and its rate are None when no member's period had ended."""
    seen = observe(all_events, spec.filters, spec.as_of, today)
    if seen is None:
        return {"cohorts": {}, "churned": []}
    history, start, end = seen
    zone = zone_of(spec.filters)
    n = spec.periods
    cohorts: dict[Any, dict[str, Any]] = {}
    churned_people = []
    everyone = by_person(sorted(all_events, key=order_key))
    for person, events in by_person(history).items():
        entries = []  # (position in events, event)
        periods_entered = set()
        for i, event in enumerate(events):
            if not is_match(event, spec.cohort_event):
                continue
            key = period_index(event["timestamp"], spec.period, zone) if spec.recurring else None
            if key in periods_entered:
                continue
            periods_entered.add(key)
            if start is None or event["timestamp"] >= start:
                entries.append((i, event))
        if not entries:
            continue
        last_seen = max(e["timestamp"] for _, e in entries)
        for event in events:
            if is_match(event, spec.return_event):
                last_seen = max(last_seen, event["timestamp"])
        churned = last_seen < end - timedelta(days=spec.churn_days)
        if churned:
            churned_people.append(person)
        for i, entry in entries:
            if spec.cohort_property is None:
                label: Any = period_first_day(entry["timestamp"], spec.period, zone)
            else:
                value = person_property(everyone[person], spec.cohort_property)
                label = NOT_SET if value is None else str(value)
            horizon = min(offset(end, entry["timestamp"], spec.period, spec.windows, zone) - 1,
                          n - 1)
            cell = cohorts.setdefault(label, {
                "size": 0, "eligible": [0] * n, "value": [0.0] * n, "base": [0.0] * n,
                "churned": 0})
            cell["size"] += 1
            cell["churned"] += churned
            returned_in: dict[int, float] = {}
            for later in events[i:]:
                if is_match(later, spec.return_event):
                    k = offset(later["timestamp"], entry["timestamp"], spec.period,
                               spec.windows, zone)
                    returned_in[k] = returned_in.get(k, 0.0) + (later["revenue"] or 0.0)
            for k in range(n):
                if k > horizon:
                    continue
                cell["eligible"][k] += 1
                if spec.measure == "revenue":
                    cell["value"][k] += returned_in.get(k, 0.0)
                    cell["base"][k] += returned_in.get(0, 0.0)
                elif spec.mode == "on":
                    cell["value"][k] += k in returned_in
                else:
                    cell["value"][k] += any(j >= k for j in returned_in)
    out = {}
    for label, cell in cohorts.items():
        values: list[float | None] = []
        rates: list[float | None] = []
        for k in range(n):
            if cell["eligible"][k] == 0:
                values.append(None)
                rates.append(None)
                continue
            values.append(cell["value"][k])
            denominator = cell["base"][k] if spec.measure == "revenue" else cell["eligible"][k]
            rates.append(cell["value"][k] / denominator if denominator else None)
        out[label] = {"size": cell["size"], "values": values, "rates": rates,
                      "churned": cell["churned"]}
    return {"cohorts": out, "churned": sorted(churned_people)}
