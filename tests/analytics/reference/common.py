"""The counting rules in plain Python: the reference every analysis is checked against.

Deliberately simple and slow: lists of dicts, loops, no engine. Each analysis' reference
(``reference/funnels.py`` ...) starts from :func:`scoped`, which mirrors
``touchpath.analytics.frame.scoped_events`` rule by rule (see docs/counting-rules.md).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from touchpath.analytics.filters import (
    PERSON_DERIVED,
    DateRange,
    DidEvent,
    EventMatcher,
    Filters,
    HasProperties,
    PersonList,
    PropertyFilter,
)
from touchpath.analytics.source import EventSource
from touchpath.spec.timestamps import utcnow

Event = dict[str, Any]


def load(source: EventSource) -> list[Event]:
    """Every event of the source, JSON columns parsed, in (person, timestamp, message id) order."""
    rows = source.table("events").to_pyarrow().to_pylist()
    for row in rows:
        for column in ("properties", "context", "traits"):
            text = row.get(column)
            row[column] = json.loads(text) if text else None
    rows.sort(key=order_key)
    return rows


def order_key(event: Event) -> tuple[str, datetime, str]:
    return (event["person_id"], event["timestamp"], event["message_id"])


def value_of(event: Event, name: str) -> Any:
    """The value a filter sees: a column, or the JSON value at a dotted key (None if missing)."""
    head, _, rest = name.partition(".")
    if rest and head in ("properties", "context", "traits"):
        node: Any = event.get(head)
        for part in rest.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node
    return event.get(name)


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def equals(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool):
        return as_text(value) == ("true" if expected else "false")
    if isinstance(expected, int | float):
        return as_number(value) == float(expected)
    return as_text(value) == str(expected)


def holds(value: Any, rule: PropertyFilter) -> bool:
    """The filter ``rule`` on one value, as the counting rules define it."""
    op = rule.op
    if op == "is_set":
        return value is not None
    if op == "is_not_set":
        return value is None
    if op == "eq":
        return equals(value, rule.value)
    if op == "neq":
        return not equals(value, rule.value)
    if op == "in":
        return any(equals(value, v) for v in rule.value)
    if op == "not_in":
        return not any(equals(value, v) for v in rule.value)
    text = as_text(value)
    if op == "contains":
        return text is not None and str(rule.value).lower() in text.lower()
    if op == "not_contains":
        return not (text is not None and str(rule.value).lower() in text.lower())
    if op == "regex":
        return text is not None and re.search(str(rule.value), text) is not None
    number = as_number(value)
    if number is None:
        return False
    bound = float(rule.value)
    return {"gt": number > bound, "gte": number >= bound,
            "lt": number < bound, "lte": number <= bound}[op]


def is_match(event: Event, matcher: EventMatcher) -> bool:
    if not matcher.any_event and event["event"] not in matcher.names:
        return False
    return all(holds(value_of(event, r.property), r) for r in matcher.where)


def local(at: datetime, zone: str) -> datetime:
    """The wall-clock time in ``zone`` (naive) of the instant ``at`` (naive UTC)."""
    return at.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def day_begins(day: date, zone: str) -> datetime:
    """The instant (naive UTC) at which ``day`` begins in ``zone``."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).astimezone(UTC).replace(
        tzinfo=None)


def zone_of(filters: Filters) -> str:
    return filters.timezone or "UTC"


def bounds(date_range: DateRange | None, today: date, zone: str = "UTC"
           ) -> tuple[datetime | None, datetime | None]:
    """Where the range's first day begins and where the day after its last begins, in
    ``zone``, as naive UTC instants."""
    if date_range is None:
        return None, None
    if date_range.last_days is not None:
        first = today - timedelta(days=date_range.last_days - 1)
        return day_begins(first, zone), day_begins(today + timedelta(days=1), zone)
    start = day_begins(date_range.start, zone) if date_range.start else None
    end = day_begins(date_range.end + timedelta(days=1), zone) if date_range.end else None
    return start, end


def by_person(events: list[Event]) -> dict[str, list[Event]]:
    """Each person's events in order (``events`` must already be in :func:`order_key` order)."""
    out: dict[str, list[Event]] = {}
    for event in events:
        out.setdefault(event["person_id"], []).append(event)
    return out


def person_property(events: list[Event], name: str) -> Any:
    """A person property from the person's events (in order): ``initial_*`` from the first
    event, a trait from the latest event that has it."""
    if name in PERSON_DERIVED:
        return events[0].get(name.removeprefix("initial_"))
    for event in reversed(events):
        value = value_of(event, "traits." + name)
        if value is not None:
            return as_text(value)
    return None


def campaign(event: Event) -> tuple[Any, Any, Any] | None:
    """The campaign an event carries: its three utm values, None when all are missing."""
    tags = (event.get("utm_source"), event.get("utm_medium"), event.get("utm_campaign"))
    return None if tags == (None, None, None) else tags


def sessions(events: list[Event], timeout_seconds: int,
             split_on_campaign: bool = False) -> list[Event]:
    """Copies of one person's ordered events with ``session_id`` = ``<person>#<n>``. With
    ``split_on_campaign``, an event carrying a campaign other than the session's (the campaign
    of its first event, or None) starts a new session too."""
    out: list[Event] = []
    n = 0
    previous: datetime | None = None
    session_campaign: tuple[Any, Any, Any] | None = None
    for event in events:
        tags = campaign(event)
        timed_out = (previous is None
                     or event["timestamp"] > previous + timedelta(seconds=timeout_seconds))
        new_campaign = split_on_campaign and tags is not None and tags != session_campaign
        if timed_out or new_campaign:
            n += 1
            session_campaign = tags
        previous = event["timestamp"]
        out.append({**event, "session_id": f"{event['person_id']}#{n}", "session_index": n})
    return out


def scoped(all_events: list[Event], filters: Filters, *, with_sessions: bool = False,
           session_timeout_seconds: int = 1800, split_on_campaign: bool = False,
           today: date | None = None,
           now: datetime | None = None) -> list[Event]:
    """The events an analysis sees, in (person, timestamp, message id) order."""
    today = today or utcnow().date()
    now = now or utcnow()
    start, end = bounds(filters.date_range, today, zone_of(filters))
    people = by_person(all_events)
    kept: list[Event] = []
    for person, events in people.items():
        if not all(holds(person_property(events, r.property), r) for r in filters.person_where):
            continue
        if not all(_in_segment(person, events, s, end or now) for s in filters.segments):
            continue
        if with_sessions:
            events = sessions(events, session_timeout_seconds, split_on_campaign)
        for event in events:
            if start is not None and event["timestamp"] < start:
                continue
            if end is not None and event["timestamp"] >= end:
                continue
            if not all(holds(value_of(event, r.property), r) for r in filters.where):
                continue
            if filters.channels and event["channel"] not in filters.channels:
                continue
            kept.append(event)
    return kept


def _in_segment(person: str, events: list[Event], segment: Any, until: datetime) -> bool:
    if isinstance(segment, PersonList):
        return person in segment.person_ids
    if isinstance(segment, HasProperties):
        return all(holds(person_property(events, r.property), r) for r in segment.where)
    assert isinstance(segment, DidEvent), "saved segments: resolve them before the reference"
    count = 0
    for event in events:
        if not is_match(event, segment.event):
            continue
        if segment.within_days is not None and not (
            until - timedelta(days=segment.within_days) <= event["timestamp"] < until
        ):
            continue
        count += 1
    inside = count >= segment.min_count
    return not inside if segment.negate else inside
