"""Lifecycle in plain Python: each person's set of active periods, then the four statuses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from tests.analytics.reference.common import Event, by_person, day_begins, is_match, zone_of
from tests.analytics.reference.retention import TODAY, observe, period_first_day, period_index
from touchpath.analytics.lifecycle import LifecycleSpec


def lifecycle(all_events: list[Event], spec: LifecycleSpec, today: date = TODAY
              ) -> list[dict[str, Any]]:
    """One dict per period: ``period`` (first day), new, returning, resurrecting, dormant
    (negative)."""
    seen = observe(all_events, spec.filters, spec.as_of, today)
    if seen is None:
        return []
    history, start, end = seen
    zone = zone_of(spec.filters)
    active: dict[str, set[int]] = {}
    first_time: datetime | None = None
    for person, events in by_person(history).items():
        for event in events:
            if is_match(event, spec.active_event):
                active.setdefault(person, set()).add(period_index(event["timestamp"],
                                                                  spec.period, zone))
                if first_time is None or event["timestamp"] < first_time:
                    first_time = event["timestamp"]
    begin = start if start is not None else first_time
    if begin is None:
        return []
    # every period from the one holding `begin` to the one holding the last day observed
    # (calendar days of the zone)
    days: list[date] = []
    day = period_first_day(begin, spec.period, zone)
    while day_begins(day, zone) < end:
        days.append(day)
        day += timedelta(days=1)
    rows = []
    for day in days:
        p = period_index(datetime.combine(day, time()), spec.period)  # already local
        if rows and rows[-1]["_p"] == p:
            continue
        row: dict[str, Any] = {"_p": p, "period": day, "new": 0, "returning": 0,
                               "resurrecting": 0, "dormant": 0}
        for periods in active.values():
            if p in periods:
                if min(periods) == p:
                    row["new"] += 1
                elif p - 1 in periods:
                    row["returning"] += 1
                else:
                    row["resurrecting"] += 1
            elif p - 1 in periods:
                row["dormant"] -= 1
        rows.append(row)
    return [{k: v for k, v in row.items() if k != "_p"} for row in rows]
