"""The filters every analysis shares: date range, event and person properties, channel, segments.

These are spec parts (frozen dataclasses, see :mod:`touchpath.analytics.codec`); the functions
that turn them into engine expressions live in :mod:`touchpath.analytics.frame`. The rules they
follow are written in ``docs/counting-rules.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal

from touchpath.analytics.zones import zone_info
from touchpath.errors import ValidationError
from touchpath.journey.channels import CHANNELS

Op = Literal[
    "eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte",
    "contains", "not_contains", "regex", "is_set", "is_not_set",
]

EVENT_COLUMNS = (
    "event", "type", "name", "source", "channel", "utm_source", "utm_medium", "utm_campaign",
    "referrer", "page_url", "revenue", "currency", "anonymous_id", "user_id", "group_id",
)
"""Typed event columns a filter may name directly; anything else is ``properties.<key>``,
``context.<key>`` or ``traits.<key>`` (JSON, nested keys joined by dots)."""

JSON_COLUMNS = ("properties", "context", "traits")

PERSON_DERIVED = ("initial_channel", "initial_source", "initial_utm_source",
                  "initial_utm_medium", "initial_utm_campaign")
"""Person properties computed from the person's first event; other person property names are
traits (the latest value a person's ``identify`` calls gave)."""

_KEY = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$ \-]*(\.[A-Za-z0-9_$][A-Za-z0-9_$ \-]*)*$")


@dataclass(frozen=True)
class PropertyFilter:
    """One condition on a property: ``PropertyFilter("properties.plan", "eq", "pro")``.

    Equality compares numbers as numbers when ``value`` is a number, otherwise as text;
    ``gt``/``gte``/``lt``/``lte`` compare numbers; ``contains`` ignores case; ``neq``,
    ``not_in`` and ``not_contains`` also match events that lack the property.
    """

    property: str
    op: Op = "eq"
    value: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.property, str) or not _KEY.match(self.property):
            raise ValidationError(
                f"not a property name: {self.property!r} (letters, digits, _ $ - and dots)",
                field="property",
            )
        value = self.value
        if self.op in ("is_set", "is_not_set"):
            if value is not None:
                raise ValidationError(f"{self.op} takes no value", field="value")
        elif self.op in ("in", "not_in"):
            if not isinstance(value, list | tuple) or not value:
                raise ValidationError(f"{self.op} needs a non-empty list", field="value")
            for item in value:
                _check_scalar(item)
            object.__setattr__(self, "value", tuple(value))
        elif self.op in ("gt", "gte", "lt", "lte"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{self.op} needs a number, got {value!r}", field="value")
        elif self.op in ("contains", "not_contains", "regex"):
            if not isinstance(value, str) or not value:
                raise ValidationError(f"{self.op} needs a non-empty string", field="value")
            if self.op == "regex":
                try:
                    re.compile(value)
                except re.error as exc:
                    raise ValidationError(f"not a regular expression: {exc}",
                                          field="value") from exc
        else:
            _check_scalar(value)
            if value is None:
                raise ValidationError(f"{self.op} needs a value (use is_not_set for missing)",
                                      field="value")

    def check_event_property(self) -> None:
        """Raise unless the property names an event column or a JSON key."""
        head = self.property.split(".", 1)[0]
        if "." in self.property and head in JSON_COLUMNS:
            return
        if self.property in EVENT_COLUMNS:
            return
        raise ValidationError(
            f"unknown event property {self.property!r}: use one of {', '.join(EVENT_COLUMNS)} "
            f"or properties.<key>, context.<key>, traits.<key>",
            field="property",
        )


def check_event_filters(where: tuple[PropertyFilter, ...]) -> None:
    """Raise, naming ``where[i].property``, unless every filter names an event property."""
    for i, condition in enumerate(where):
        try:
            condition.check_event_property()
        except ValidationError as exc:
            exc.field = f"where[{i}].{exc.field}"
            raise


def check_channels(channels: tuple[str, ...], field: str = "channels") -> None:
    """Raise, naming ``<field>[i]``, unless every channel is one of :data:`CHANNELS`."""
    for i, channel in enumerate(channels):
        if channel not in CHANNELS:
            raise ValidationError(f"unknown channel {channel!r}; channels: {', '.join(CHANNELS)}",
                                  field=f"{field}[{i}]")


def _check_scalar(value: Any) -> None:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise ValidationError(f"expected a string, number or true/false, got {value!r}",
                              field="value")


@dataclass(frozen=True)
class EventMatcher:
    """Which events count: one name, several names (any of them), or ``"*"`` for every event,
    each narrowed by property filters. ``label`` names the step in results."""

    event: str | tuple[str, ...]
    where: tuple[PropertyFilter, ...] = ()
    label: str | None = None

    def __post_init__(self) -> None:
        names = (self.event,) if isinstance(self.event, str) else self.event
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise ValidationError("needs an event name (or '*' for any event)", field="event")
        if "*" in names and len(names) > 1:
            raise ValidationError("'*' already matches every event; list no others",
                                  field="event")
        check_event_filters(self.where)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.event,) if isinstance(self.event, str) else self.event

    @property
    def any_event(self) -> bool:
        return self.names == ("*",)

    @property
    def title(self) -> str:
        if self.label:
            return self.label
        return " or ".join(self.names) if not self.any_event else "any event"


@dataclass(frozen=True)
class DateRange:
    """Calendar days of the analysis' time zone (``Filters.timezone``, else the store's
    setting, UTC by default), ``end`` included:
    ``DateRange(date(2026, 1, 1), date(2026, 1, 31))``.

    ``last_days=30`` means the 30 days ending today (in that zone), today included.
    """

    start: date | None = None
    end: date | None = None
    last_days: int | None = None

    def __post_init__(self) -> None:
        if self.last_days is not None:
            if self.start is not None or self.end is not None:
                raise ValidationError("give either last_days or start/end, not both",
                                      field="last_days")
            if self.last_days < 1:
                raise ValidationError("must be at least 1", field="last_days")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValidationError(f"end {self.end} is before start {self.start}", field="end")


@dataclass(frozen=True)
class DidEvent:
    """People who did an event at least ``min_count`` times, within the last ``within_days``
    days before the end of the analysis' date range (or before now); ``negate`` for those who
    did not."""

    kind: ClassVar[str] = "behaviour"
    event: EventMatcher
    min_count: int = 1
    within_days: int | None = None
    negate: bool = False

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise ValidationError("must be at least 1", field="min_count")
        if self.within_days is not None and self.within_days < 1:
            raise ValidationError("must be at least 1", field="within_days")


@dataclass(frozen=True)
class HasProperties:
    """People whose person properties match every filter (traits or ``initial_*``)."""

    kind: ClassVar[str] = "property"
    where: tuple[PropertyFilter, ...]

    def __post_init__(self) -> None:
        if not self.where:
            raise ValidationError("needs at least one filter", field="where")


@dataclass(frozen=True)
class PersonList:
    """A fixed list of people (a funnel's drop-offs, saved as a segment)."""

    kind: ClassVar[str] = "persons"
    person_ids: tuple[str, ...]


@dataclass(frozen=True)
class SavedSegment:
    """A segment saved in the store under a name (see :func:`touchpath.save_segment`)."""

    kind: ClassVar[str] = "saved"
    name: str


Segment = DidEvent | HasProperties | PersonList | SavedSegment


@dataclass(frozen=True)
class Filters:
    """What every analysis may be narrowed by. Events outside ``date_range``, not matching
    ``where`` or not on one of ``channels`` are not seen at all; people not matching
    ``person_where`` or every one of ``segments`` are left out with all their events.

    ``timezone`` (an IANA name) is where calendar days, weeks and months begin: the date
    range's days and every analysis' periods. None: the source's zone (the store's setting
    ``timezone``, UTC by default). See :mod:`touchpath.analytics.zones`."""

    date_range: DateRange | None = None
    where: tuple[PropertyFilter, ...] = ()
    channels: tuple[str, ...] = ()
    person_where: tuple[PropertyFilter, ...] = ()
    segments: tuple[Segment, ...] = ()
    timezone: str | None = None

    def __post_init__(self) -> None:
        check_event_filters(self.where)
        if self.timezone is not None:
            zone_info(self.timezone, "timezone")
