"""The funnel spec: steps, window, order, exclusions, what is counted, breakdown.

Steps are numbered from 1 in the spec's ``from_step`` / ``to_step`` / ``step`` fields and in the
results (as a person reads them); error fields use the list index (``steps[0]``). The rules are
written in ``docs/funnels.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from touchpath.analytics.filters import EventMatcher, Filters, PropertyFilter, Segment
from touchpath.errors import ValidationError

MIN_STEPS = 2
MAX_STEPS = 30
DAY = 24 * 3600


def _matcher(event: str | tuple[str, ...], where: tuple[PropertyFilter, ...],
             label: str | None) -> EventMatcher:
    return EventMatcher(event, where, label)


@dataclass(frozen=True)
class FunnelStep:
    """One step: an event (or any of several, ``"*"`` for any) narrowed by property filters.

    ``within_seconds`` (optional) bounds the time from the previous step's event to this one.
    """

    event: str | tuple[str, ...]
    where: tuple[PropertyFilter, ...] = ()
    label: str | None = None
    within_seconds: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.event, list):
            object.__setattr__(self, "event", tuple(self.event))
        self.matcher  # noqa: B018  (validates event and where, naming the field)
        if self.within_seconds is not None and self.within_seconds < 1:
            raise ValidationError("must be at least 1 second", field="within_seconds")

    @property
    def matcher(self) -> EventMatcher:
        return _matcher(self.event, self.where, self.label)

    @property
    def title(self) -> str:
        return self.matcher.title


@dataclass(frozen=True)
class Exclusion:
    """An event that, happening between step ``from_step`` and step ``to_step`` of an attempt,
    stops the attempt at the last step it reached before the exclusion (steps from 1)."""

    event: str | tuple[str, ...]
    where: tuple[PropertyFilter, ...] = ()
    from_step: int = 1
    to_step: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.event, list):
            object.__setattr__(self, "event", tuple(self.event))
        self.matcher  # noqa: B018
        if self.from_step < 1:
            raise ValidationError("steps are numbered from 1", field="from_step")
        if self.to_step <= self.from_step:
            raise ValidationError(f"must be after from_step ({self.from_step})",
                                  field="to_step")

    @property
    def matcher(self) -> EventMatcher:
        return _matcher(self.event, self.where, None)


@dataclass(frozen=True)
class Breakdown:
    """Split the funnel by a property.

    ``source="event"``: an event property (``channel``, ``utm_source``, ``properties.plan``)
    taken from one event of each attempt, chosen by ``attribution``: its first step's event,
    the event of the last step it reached, or the event of step ``step`` (attempts that did not
    reach it fall under ``(none)``). ``source="person"``: a person property (``initial_channel``
    or a trait), the same for all of a person's attempts.
    """

    property: str
    source: Literal["event", "person"] = "event"
    attribution: Literal["first_step", "last_step", "step"] = "first_step"
    step: int | None = None

    def __post_init__(self) -> None:
        if self.source == "event":
            PropertyFilter(self.property, "is_set").check_event_property()
        elif not self.property or "." in self.property:
            raise ValidationError("a person property is a trait name or initial_<column>",
                                  field="property")
        if self.attribution == "step":
            if self.step is None or self.step < 1:
                raise ValidationError("attribution 'step' needs the step number (from 1)",
                                      field="step")
        elif self.step is not None:
            raise ValidationError("step is only for attribution 'step'", field="step")


Order = Literal["sequential", "strict", "any"]
CountBy = Literal["persons", "sessions", "property"]
Period = Literal["day", "week", "month"]


@dataclass(frozen=True)
class FunnelSpec:
    """A funnel.

    >>> spec = FunnelSpec(steps=(FunnelStep("Product Viewed"), FunnelStep("Order Completed")))
    >>> spec.window_seconds
    604800

    ``window_seconds``: every step of an attempt happens at most this long after its first
    step (inclusive). ``order``: ``sequential`` (other events may come between steps),
    ``strict`` (each step is the very next event of the counted entity), ``any`` (all steps in
    any order). ``count_by``: persons, sessions, or the value of ``hold_constant`` (an order
    id); with persons or sessions, ``hold_constant`` requires every step of an attempt to carry
    the same value. ``conversions``: ``unique`` counts each person (session, value) once, by its
    best attempt; ``every`` counts every attempt (each step-1 event starts one). ``trend``
    adds the conversion of attempts by the day/week/month of their first step; ``drop_off``
    what people did next after their last step; ``compare`` (two segments) a two-proportion
    z-test per step; ``correlation`` the events (and ``correlation_properties``, person
    properties) that go with converting, by odds ratio.
    """

    steps: tuple[FunnelStep, ...]
    window_seconds: int = 7 * DAY
    order: Order = "sequential"
    exclusions: tuple[Exclusion, ...] = ()
    count_by: CountBy = "persons"
    hold_constant: str | None = None
    conversions: Literal["unique", "every"] = "unique"
    breakdown: Breakdown | None = None
    trend: Period | None = None
    drop_off: bool = False
    compare: tuple[Segment, ...] = ()
    correlation: bool = False
    correlation_properties: tuple[str, ...] = ()
    session_timeout_seconds: int = 30 * 60
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        n = len(self.steps)
        if n < MIN_STEPS:
            raise ValidationError(f"a funnel needs at least {MIN_STEPS} steps, got {n}",
                                  field="steps")
        if n > MAX_STEPS:
            raise ValidationError(f"a funnel has at most {MAX_STEPS} steps, got {n}",
                                  field="steps")
        if self.window_seconds < 1:
            raise ValidationError("must be at least 1 second", field="window_seconds")
        if self.session_timeout_seconds < 1:
            raise ValidationError("must be at least 1 second", field="session_timeout_seconds")
        for i, step in enumerate(self.steps):
            if step.within_seconds is None:
                continue
            field = f"steps[{i}].within_seconds"
            if i == 0:
                raise ValidationError("the first step has no previous step to be within",
                                      field=field)
            if step.within_seconds > self.window_seconds:
                raise ValidationError(
                    f"{step.within_seconds} s is longer than the funnel's window_seconds "
                    f"({self.window_seconds})", field=field)
            if self.order == "any":
                raise ValidationError("per-step windows need an ordered funnel "
                                      "(order sequential or strict)", field=field)
        for i, exclusion in enumerate(self.exclusions):
            if exclusion.to_step > n:
                raise ValidationError(f"the funnel has {n} steps",
                                      field=f"exclusions[{i}].to_step")
            if self.order != "sequential":
                raise ValidationError(
                    "exclusions need order 'sequential' (strict funnels allow no events "
                    "between steps; 'any' has no 'between')", field=f"exclusions[{i}]")
        if self.count_by == "property" and self.hold_constant is None:
            raise ValidationError("count_by 'property' needs hold_constant (the property "
                                  "whose values are counted, e.g. properties.order_id)",
                                  field="hold_constant")
        if self.hold_constant is not None:
            try:
                PropertyFilter(self.hold_constant, "is_set").check_event_property()
            except ValidationError as exc:
                raise ValidationError(str(exc.message), field="hold_constant") from exc
        if self.conversions == "every" and self.order == "any":
            raise ValidationError("'every' counts attempts from each step-1 event; an "
                                  "any-order funnel has no first step", field="conversions")
        if self.compare and len(self.compare) != 2:
            raise ValidationError(f"compare takes two segments, got {len(self.compare)}",
                                  field="compare")
        for i, name in enumerate(self.correlation_properties):
            if not name or "." in name:
                raise ValidationError("a person property is a trait name or initial_<column>",
                                      field=f"correlation_properties[{i}]")
        if self.correlation_properties and not self.correlation:
            raise ValidationError("set correlation to true to use correlation_properties",
                                  field="correlation_properties")
        if self.breakdown is not None and self.breakdown.step is not None \
                and self.breakdown.step > n:
            raise ValidationError(f"the funnel has {n} steps", field="breakdown.step")

    @property
    def labels(self) -> list[str]:
        return [step.title for step in self.steps]
