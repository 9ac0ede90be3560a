"""Retention and churn: of the people who entered a cohort, how many came back in each period.

A person enters the cohort at their first ``cohort_event`` (first-time retention) or at their
first ``cohort_event`` of each period (``recurring``, Mixpanel's recurring retention). Cohorts
are the entry's calendar period, or a person property (``cohort_property``). A return is a
``return_event`` at or after the entry (in :data:`~touchpath.analytics.frame.ORDER`; the entry
itself counts when it matches). Period ``k`` is calendar period ``entry + k`` or the rolling
window ``[entry + k*L, entry + (k+1)*L)`` (L = 1, 7 or 30 days). A cell counts only the
members whose period ``k`` had ended when observation stopped; with none it is null, never 0.
The rules in full: ``docs/retention.md``.

>>> from touchpath.analytics import EventMatcher, run
>>> spec = RetentionSpec(cohort_event=EventMatcher("Signed Up"),
...                      return_event=EventMatcher("Order Completed"), period="week")
>>> run(store, spec).frame                                   # doctest: +SKIP
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from touchpath.analytics import _period_masks as masks
from touchpath.analytics.filters import DateRange, EventMatcher, Filters
from touchpath.analytics.frame import (
    ORDER,
    check_events,
    computed_once,
    date_days,
    matches,
    materialized,
    on_spark,
    person_properties,
    scoped_events,
)
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import DEFAULT_ZONE, day_start, local_date, to_local, zone_of
from touchpath.errors import ValidationError

Period = Literal["day", "week", "month"]
ROLLING_DAYS = {"day": 1, "week": 7, "month": 30}
"""Length of a rolling period in days (a rolling "month" is 30 days)."""
MAX_PERIODS = 400
NOT_SET = "(not set)"
"""The cohort of people without a value of ``cohort_property``."""
PERSON_PART = "churned person"
_NAME = re.compile(r"^[A-Za-z0-9_$][A-Za-z0-9_$ \-.]*$")
_EPOCH_MONDAY = date(1969, 12, 29)


@dataclass(frozen=True)
class RetentionSpec:
    """Which people form cohorts, what counts as coming back, and how periods are cut.

    ``periods`` is the number of columns, period 0 included (``periods=8``: periods 0-7).
    ``as_of`` is the last day observed (a calendar day of the time zone, whole); by default
    the date range's end, or the day of the last event seen. ``churn_days``: a member is
    churned when they did no return event (and did not enter) in the ``churn_days`` x 24
    hours before the end of ``as_of``.
    """

    cohort_event: EventMatcher = EventMatcher("*")
    return_event: EventMatcher = EventMatcher("*")
    cohort_property: str | None = None
    period: Period = "week"
    periods: int = 8
    mode: Literal["on", "on_or_after"] = "on"
    windows: Literal["calendar", "rolling"] = "calendar"
    recurring: bool = False
    measure: Literal["persons", "revenue"] = "persons"
    churn_days: int = 30
    as_of: date | None = None
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        if not 1 <= self.periods <= MAX_PERIODS:
            raise ValidationError(f"must be between 1 and {MAX_PERIODS}", field="periods")
        if self.churn_days < 1:
            raise ValidationError("must be at least 1", field="churn_days")
        if self.cohort_property is not None and not _NAME.match(self.cohort_property):
            raise ValidationError(
                f"not a person property name: {self.cohort_property!r} (a trait such as "
                "'plan', or initial_channel, initial_source, initial_utm_*)",
                field="cohort_property")
        if self.measure == "revenue" and self.mode == "on_or_after":
            raise ValidationError("revenue is counted per period: use mode 'on'", field="mode")
        check_as_of(self.as_of, self.filters)


def check_as_of(as_of: date | None, filters: Filters) -> None:
    """``as_of`` may not lie after the date range: days with no data would count as quiet."""
    rng = filters.date_range
    if as_of is not None and rng is not None and rng.end is not None and as_of > rng.end:
        raise ValidationError(f"{as_of} is after the date range's end {rng.end}", field="as_of")


# -- periods ---------------------------------------------------------------------------------

def period_index(ts: ir.TimestampValue, period: str, zone: str = DEFAULT_ZONE
                 ) -> ir.IntegerValue:
    """The calendar period in ``zone`` (weeks start on Monday) of ``ts`` as an integer: days,
    weeks or months since 1970-01."""
    ts = to_local(ts, zone)
    if period == "month":
        return ts.year() * 12 + ts.month() - 1
    days = ts.epoch_seconds() // 86400  # (the floor: no truncation to the day needed)
    return days if period == "day" else (days + 3) // 7  # 1970-01-01 was a Thursday


def period_of(day: date, period: str) -> int:
    """:func:`period_index` of one calendar day, in Python."""
    if period == "month":
        return day.year * 12 + day.month - 1
    days = (day - date(1970, 1, 1)).days
    return days if period == "day" else (days + 3) // 7


def period_start(index: int, period: str) -> date:
    """The first day of calendar period ``index`` (the inverse of :func:`period_index`)."""
    if period == "month":
        return date(index // 12, index % 12 + 1, 1)
    if period == "week":
        return _EPOCH_MONDAY + timedelta(days=7 * index)
    return date(1970, 1, 1) + timedelta(days=index)


def offset(at: ir.TimestampValue, entry: ir.TimestampValue, period: str, windows: str,
           zone: str = DEFAULT_ZONE) -> ir.IntegerValue:
    """Which period after ``entry`` the time ``at`` falls in (0 = the entry's period): calendar
    periods of ``zone``, or rolling windows of elapsed time."""
    if windows == "calendar":
        return period_index(at, period, zone) - period_index(entry, period, zone)
    length = ROLLING_DAYS[period] * 86_400_000_000
    return at.delta(entry, unit="microsecond") // length


@dataclass(frozen=True)
class Observation:
    """What an analysis over periods sees: the events up to ``end`` (start of the date range
    relaxed, so that "first ever" and "active before" look at the whole history), the date
    range's ``first_day`` (entries and reported periods begin there) and ``last_day``, the
    last day observed (``as_of``): calendar days of ``zone``, where periods are counted.
    ``start`` and ``end`` are where the first day and the day after the last begin (naive
    UTC instants)."""

    events: ir.Table
    zone: str
    first_day: date | None
    last_day: date

    @property
    def start(self) -> datetime | None:
        return None if self.first_day is None else day_start(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        return day_start(self.last_day + timedelta(days=1), self.zone)


def observe(source: EventSource, filters: Filters, as_of: date | None) -> Observation | None:
    """The :class:`Observation` of ``filters``; None when there are no events at all."""
    zone = zone_of(source, filters.timezone)
    first, after = date_days(filters.date_range, None, zone)
    history_range = None if after is None else DateRange(end=after - timedelta(days=1))
    events = scoped_events(source, replace(filters, date_range=history_range, timezone=zone))
    if as_of is not None:
        after = as_of + timedelta(days=1)
    if after is None:
        last = events.timestamp.max().to_pyarrow().as_py()
        if last is None:
            return None
        after = local_date(last, zone) + timedelta(days=1)
    return Observation(events.filter(events.timestamp < day_start(after, zone)), zone, first,
                       after - timedelta(days=1))


# -- the executor ----------------------------------------------------------------------------

@dataclass(frozen=True)
class RetentionResult(AnalysisResult):
    """Cohorts by retention period.

    ``frame``: one row per cohort: ``cohort`` (the period's first day, or the property value),
    ``size``, ``period_0..`` (people retained, or revenue; null when not yet observable),
    ``rate_0..`` (share of the eligible members; revenue: of their period-0 revenue),
    ``churned``, ``churn_rate``. ``tables["cells"]``: the same in long form with ``eligible``
    (members whose period had ended) and ``per_member`` (value / eligible).
    ``tables["churned"]``: ``person_id``, ``last_seen``. ``summary["retention"]``: per period,
    the average over cohorts weighted by eligible members (revenue: by their period-0 revenue).
    """

    kind: ClassVar[str] = "retention"
    person_tables: ClassVar[tuple[str, ...]] = ("churned",)

    @property
    def retention(self) -> list[float | None]:
        return list(self.summary["retention"])

    @property
    def churned_persons(self) -> list[str]:
        return [str(p) for p in self.tables["churned"]["person_id"]]

    def figure(self) -> Any:
        """A heatmap: cohorts down, periods across, colour = rate, text = rate and value."""
        import plotly.graph_objects as go

        periods = int(self.summary["periods"])
        rates = self.frame[[f"rate_{k}" for k in range(periods)]].astype(float)
        values = self.frame[[f"period_{k}" for k in range(periods)]]
        revenue = self.summary["measure"] == "revenue"
        text = [[("" if pd.isna(r) else f"{r:.0%}<br>" + (f"{v:,.0f}" if revenue else f"{v:.0f}"))
                 for r, v in zip(rate_row, value_row, strict=True)]
                for rate_row, value_row in zip(rates.to_numpy(), values.to_numpy(), strict=True)]
        labels = [f"{c} ({s:,})" for c, s in zip(self.frame["cohort"], self.frame["size"],
                                                  strict=True)]
        heat = go.Heatmap(z=rates.to_numpy(), x=[f"{self.summary['period']} {k}"
                                                 for k in range(periods)],
                          y=labels, text=text, texttemplate="%{text}", colorscale="Blues",
                          zmin=0, zmax=1 if not revenue else None, hoverongaps=False)
        fig = go.Figure(heat)
        fig.update_yaxes(autorange="reversed", type="category")
        fig.update_layout(title="Retention by cohort")
        return fig


@register("retention", RetentionSpec, "How many people of each cohort come back, period by period.")
def run_retention(source: EventSource, spec: RetentionSpec) -> RetentionResult:
    check_events(source, {"cohort_event": spec.cohort_event, "return_event": spec.return_event})
    return retention(source, spec)


def retention(source: EventSource, spec: RetentionSpec) -> RetentionResult:
    """:func:`run_retention` without the check that every event name exists."""
    seen = observe(source, spec.filters, spec.as_of)
    if seen is None:
        return _assemble(spec, pd.DataFrame(columns=["part", "cohort", "k", "n"]),
                         pd.DataFrame({"person_id": [], "last_seen": []}), None)
    history, end, zone = seen.events, ibis.literal(seen.end, type="timestamp"), seen.zone

    by_period = spec.measure == "persons" and spec.windows == "calendar"
    counted = (_from_masks(seen, spec) if masks_count(spec) and not on_spark(history)
               else None)
    if counted is not None:
        cells, people = counted
        return _assemble(spec, cells, people, seen.last_day)
    ids = not (by_period and entry_is_a_return(spec))  # the order within a timestamp matters
    entries = first_events(history.filter(matches(history, spec.cohort_event)),
                           spec.period if spec.recurring else None, with_id=ids, zone=zone)
    if seen.start is not None:
        entries = entries.filter(entries.entry_at >= seen.start)
    if spec.cohort_property is None:
        entries = entries.mutate(cohort=to_local(entries.entry_at, zone).truncate(
            {"day": "D", "week": "W", "month": "M"}[spec.period]).date().cast("string"))
    else:
        name = spec.cohort_property
        # over all of the person's events, as person filters are (an event filter or a
        # channel filter does not change who a person is)
        props = person_properties(source.table("events"), [name])
        props = props.select("person_id", cohort=props[name].cast("string").fill_null(NOT_SET))
        entries = entries.join(props, "person_id")
    horizon = ibis.least(offset(end, entries.entry_at, spec.period, spec.windows, zone) - 1,
                         spec.periods - 1)
    returns = history.filter(matches(history, spec.return_event)).select(
        "person_id", at=history.timestamp, at_id=history.message_id, revenue=history.revenue)
    with ExitStack() as stack:
        # each read by several parts of the one query below
        members = stack.enter_context(computed_once(entries.mutate(horizon=horizon)))
        if by_period:
            returns = stack.enter_context(computed_once(
                _last_return_per_period(returns, spec.period, zone, with_id=ids)))
        churned = stack.enter_context(computed_once(
            _churned(members, returns, end, spec, by_period)))
        cells = _cells(members, returns, churned, spec, by_period, zone).to_pandas()
    persons = cells[cells["part"] == PERSON_PART]
    people = pd.DataFrame({
        "person_id": persons["cohort"].astype(str),
        "last_seen": pd.to_datetime(persons["n"].round().astype("int64"), unit="us"),
    }).sort_values("person_id")
    return _assemble(spec, cells[cells["part"] != PERSON_PART], people, seen.last_day)


def masks_count(spec: RetentionSpec) -> bool:
    """Whether :func:`_from_masks` can count ``spec`` (on DuckDB): people by calendar period,
    one cohort per person by the entry's period, and every entry a return."""
    return (spec.measure == "persons" and spec.windows == "calendar" and not spec.recurring
            and spec.cohort_property is None and entry_is_a_return(spec))


def _from_masks(seen: Observation, spec: RetentionSpec
                ) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The cells and churned people of :func:`retention` from one grouping by person: the
    entry, the last return, and the periods of the returns as bits (``_period_masks``); then
    the people per (entry period, churned, bits), counted in numpy. No join of entries with
    returns: 1.7-1.9 -> 0.64-0.75 s at 10M events, weekly. None when the periods span more than the
    masks hold."""
    history, zone = seen.events, seen.zone
    returns = history.filter(matches(history, spec.return_event))
    returns = returns.mutate(p=period_index(returns.timestamp, spec.period, zone))
    span = returns.aggregate(lo=returns.p.min(), hi=returns.p.max()).to_pyarrow().to_pylist()[0]
    if span["lo"] is None:
        return (pd.DataFrame({"part": [], "cohort": [], "k": [], "n": []}),
                pd.DataFrame({"person_id": [], "last_seen": []}))
    lo = int(span["lo"])
    words = masks.words_for(lo, int(span["hi"]))
    if words is None:
        return None
    aggregates = masks.mask_aggregates(returns.p, lo, words)
    # every entry is a return, so the last return is when the person was last seen
    entry = ibis.cases((matches(returns, spec.cohort_event), returns.timestamp)).min()
    per_person = returns.group_by("person_id").agg(entry_at=entry,
                                                   last_seen=returns.timestamp.max(),
                                                   **aggregates)
    per_person = per_person.filter(per_person.entry_at.notnull())
    if seen.start is not None:
        per_person = per_person.filter(per_person.entry_at >= seen.start)
    cutoff = ibis.literal(seen.end, type="timestamp") - ibis.interval(days=spec.churn_days)
    per_person = per_person.mutate(
        entry_p=period_index(per_person.entry_at, spec.period, zone),
        churned=per_person.last_seen < cutoff)
    with materialized(per_person) as kept:
        groups = kept.group_by(["entry_p", "churned", *aggregates]).agg(n=kept.count())
        groups = groups.to_pandas()
        churned = kept.filter(kept.churned).select("person_id", "last_seen")
        churned = churned.order_by("person_id").to_pandas()  # sorted in parallel by DuckDB
    people = pd.DataFrame({"person_id": churned["person_id"].astype(str),
                           "last_seen": pd.to_datetime(churned["last_seen"])})
    return _cells_of_masks(groups, words, lo, seen, spec), people


def _cells_of_masks(groups: pd.DataFrame, words: int, lo: int, seen: Observation,
                    spec: RetentionSpec) -> pd.DataFrame:
    """The ``part``, ``cohort``, ``k``, ``n`` cells of :func:`_cells` from the people per
    (``entry_p``, ``churned``, bits), summed per (cohort, k) by ``np.bincount``."""
    if groups.empty:
        return pd.DataFrame({"part": [], "cohort": [], "k": [], "n": []})
    entry_p = groups["entry_p"].to_numpy(np.int64)
    n = groups["n"].to_numpy(np.int64)
    matrix = masks.word_matrix(groups, words)
    end_p = period_of(seen.last_day + timedelta(days=1), spec.period)
    horizon = np.minimum(end_p - entry_p - 1, spec.periods - 1)  # -1: nothing observable yet
    first = int(entry_p.min())
    width = spec.periods + 1  # k from -1 to periods - 1

    def summed(part: str, picked: np.ndarray, k: np.ndarray | int) -> list[tuple[Any, ...]]:
        """(part, entry period, k, people) of the ``picked`` groups, per (cohort, k)."""
        keys = (entry_p - first) * width + np.broadcast_to(k, entry_p.shape) + 1
        sums = np.bincount(keys[picked], weights=n[picked])
        return [(part, first + int(key) // width, int(key) % width - 1, float(sums[key]))
                for key in np.flatnonzero(sums)]

    everyone = np.ones(len(groups), bool)
    cells = summed("size", everyone, horizon)
    cells += summed("churned", groups["churned"].to_numpy(bool), 0)
    if spec.mode == "on":
        for k in range(spec.periods):
            cells += summed("value", (horizon >= k) & masks.bits_at(matrix, entry_p - lo + k), k)
    else:  # the furthest period of a return (the entry's own at least), capped
        furthest = np.minimum(masks.last_bits(matrix) - (entry_p - lo), horizon)
        cells += summed("reach", everyone, furthest)
    return pd.DataFrame([(part, period_start(p, spec.period).isoformat(), k, value)
                         for part, p, k, value in cells], columns=["part", "cohort", "k", "n"])


def _churned(members: ir.Table, returns: ir.Table, end: ir.TimestampValue,
             spec: RetentionSpec, by_period: bool) -> ir.Table:
    """The members with no entry and no return in the ``churn_days`` before ``end``:
    ``person_id``, ``last_seen`` (and ``cohort`` when each person entered once)."""
    last_at = returns.last_at if by_period else returns.at
    seen_at = returns.group_by("person_id").agg(last_return=last_at.max())
    if spec.recurring:  # entries in several cohorts: churn is the person's
        last = members.group_by("person_id").agg(last_entry=members.entry_at.max())
    else:  # one entry per person
        last = members.select("person_id", "cohort", last_entry=members.entry_at)
    last = last.left_join(seen_at, "person_id").drop("person_id_right")
    last = last.mutate(last_seen=ibis.greatest(last.last_entry,
                                               last.last_return.fill_null(last.last_entry)))
    return last.filter(last.last_seen < end - ibis.interval(days=spec.churn_days)).drop(
        "last_entry", "last_return")


def _cells(members: ir.Table, returns: ir.Table, churned: ir.Table, spec: RetentionSpec,
           by_period: bool, zone: str) -> ir.Table:
    """One query for every aggregate the cohort table needs (``part``, ``cohort``, ``k``,
    ``n``), the churned people riding along. ``returns`` is every return event, or with
    ``by_period`` each person's last return of each calendar period."""
    parts = [_part("size", members.group_by(["cohort", "horizon"]).agg(n=members.count())
                   .rename(k="horizon"))]
    if by_period:
        parts.append(_counted_by_period(members, returns, spec, zone))
    else:
        parts.append(_counted_by_event(members, returns, spec, zone))
    # a person who entered several cohorts counts as churned in each
    flagged = members.semi_join(churned, "person_id") if spec.recurring else churned
    parts.append(_part("churned", flagged.group_by("cohort").agg(n=flagged.count())
                       .mutate(k=ibis.literal(0, type="int64"))))
    # the churned people ride in the same query: last seen as exact microseconds since 1970
    # (below 2**53, so exact in a float64)
    epoch = ibis.literal(datetime(1970, 1, 1), type="timestamp")
    parts.append(churned.select(part=ibis.literal(PERSON_PART), cohort=churned.person_id,
                                k=ibis.literal(0, type="int64"),
                                n=churned.last_seen.delta(epoch, unit="microsecond")
                                .cast("float64")))
    return ibis.union(*parts)


def _last_return_per_period(returns: ir.Table, period: str, zone: str, *, with_id: bool
                            ) -> ir.Table:
    """Each person's last return event of each calendar period: ``person_id``, ``p``,
    ``last_at`` (and ``last_id`` with ``with_id``). A person came back in period ``p`` at or
    after an entry exactly when that period's last return is not before the entry, so the
    per-event join becomes a join with one row per person and period (the hand-written form
    of retention)."""
    keyed = returns.mutate(p=period_index(returns.at, period, zone))
    if not with_id:
        return keyed.group_by(["person_id", "p"]).agg(last_at=keyed.at.max())
    last = keyed.group_by(["person_id", "p"]).agg(
        _last=ibis.struct({"at": keyed.at, "id": keyed.at_id}).max())
    return last.select("person_id", "p", last_at=last._last["at"], last_id=last._last["id"])


def _counted_by_period(members: ir.Table, by_period: ir.Table, spec: RetentionSpec, zone: str
                       ) -> ir.Table:
    """Retained members per cohort and calendar period (``measure="persons"``)."""
    members = members.mutate(entry_p=period_index(members.entry_at, spec.period, zone))
    pairs = members.join(by_period, [members.person_id == by_period.person_id,
                                     by_period.p >= members.entry_p])
    if not entry_is_a_return(spec):  # else the entry itself is a return of its period
        pairs = pairs.filter((pairs.p > pairs.entry_p) | (pairs.last_at > pairs.entry_at)
                             | ((pairs.last_at == pairs.entry_at)
                                & (pairs.last_id >= pairs.entry_id)))
    pairs = pairs.mutate(k=pairs.p - pairs.entry_p)
    if spec.mode == "on":  # one row per member and period already: no distinct needed
        counted = pairs.filter(pairs.k <= pairs.horizon)
        return _part("value", counted.group_by(["cohort", "k"]).agg(n=counted.count()))
    return _reach(pairs)


def _counted_by_event(members: ir.Table, returns: ir.Table, spec: RetentionSpec, zone: str
                      ) -> ir.Table:
    """Retained members (or revenue) per cohort and period, from every return event: rolling
    windows depend on each entry's exact time, revenue on each event."""
    pairs = members.join(returns, [members.person_id == returns.person_id,
                                   returns.at >= members.entry_at])
    pairs = pairs.filter((pairs.at > pairs.entry_at) | (pairs.at_id >= pairs.entry_id))
    pairs = pairs.mutate(k=offset(pairs.at, pairs.entry_at, spec.period, spec.windows, zone))
    if spec.measure == "revenue":
        counted = pairs.filter(pairs.k <= pairs.horizon)
        first = counted.filter(counted.k == 0)
        base = first.group_by(["cohort", "horizon"]).agg(n=first.revenue.fill_null(0).sum())
        return ibis.union(
            _part("value", counted.group_by(["cohort", "k"]).agg(
                n=counted.revenue.fill_null(0).sum())),
            _part("base", base.rename(k="horizon")))
    if spec.mode == "on":
        counted = pairs.filter(pairs.k <= pairs.horizon).select(
            "cohort", "person_id", "entry_at", "k").distinct()
        return _part("value", counted.group_by(["cohort", "k"]).agg(n=counted.count()))
    return _reach(pairs)


def _reach(pairs: ir.Table) -> ir.Table:
    """``mode="on_or_after"``: members by the furthest period they came back in (capped at
    what was observable for them)."""
    furthest = pairs.group_by(["cohort", "person_id", "entry_at", "horizon"]).agg(
        last=pairs.k.max())
    furthest = furthest.mutate(k=ibis.least(furthest["last"], furthest.horizon))
    return _part("reach", furthest.group_by(["cohort", "k"]).agg(n=furthest.count()))


def first_events(events: ir.Table, period: str | None = None, *, with_id: bool = True,
                 zone: str = DEFAULT_ZONE) -> ir.Table:
    """Each person's first event in :data:`ORDER` (of each calendar ``period`` if given):
    ``person_id``, ``entry_at``, ``entry_id``. The minimum of a (timestamp, message id)
    struct is that order's first; one aggregation, where a row number would sort every event.
    Without ``with_id``, only ``entry_at``: a plain minimum, which Spark aggregates by hashing
    (a struct holding text makes it sort)."""
    keys = ["person_id"]
    if period is not None:
        events = events.mutate(_period=period_index(events.timestamp, period, zone))
        keys.append("_period")
    if not with_id:
        return events.group_by(keys).agg(entry_at=events[ORDER[0]].min()).select(
            "person_id", "entry_at")
    first = events.group_by(keys).agg(_first=ibis.struct(
        {"at": events[ORDER[0]], "id": events[ORDER[1]]}).min())
    return first.select("person_id", entry_at=first._first["at"], entry_id=first._first["id"])


def entry_is_a_return(spec: RetentionSpec) -> bool:
    """Whether every cohort event also matches ``return_event`` (the same matcher, or a wider
    one): then an entry is a return, and whether a person came back in a calendar period
    never depends on the order of events within one timestamp."""
    cohort, back = spec.cohort_event, spec.return_event
    names = back.any_event or (not cohort.any_event and set(cohort.names) <= set(back.names))
    return names and all(rule in cohort.where for rule in back.where)


def _part(name: str, table: ir.Table) -> ir.Table:
    return table.select(part=ibis.literal(name), cohort=table.cohort.cast("string"),
                        k=table.k.cast("int64"), n=table.n.cast("float64"))


def _assemble(spec: RetentionSpec, cells: pd.DataFrame, churned: pd.DataFrame,
              as_of: date | None) -> RetentionResult:
    """The cohort table from the per-cohort aggregates (a few rows per cohort and period)."""
    periods = spec.periods
    by: dict[str, dict[tuple[str, int], float]] = {}
    for part, cohort, k, n in cells[["part", "cohort", "k", "n"]].itertuples(index=False):
        by.setdefault(str(part), {})[(str(cohort), int(k))] = float(n)
    sizes = by.get("size", {})
    cohorts = sorted({c for c, _ in sizes}, key=_cohort_key(spec))

    def at_least(part: str, cohort: str, k: int) -> float:
        return sum(n for (c, j), n in by.get(part, {}).items() if c == cohort and j >= k)

    rows, long_rows = [], []
    totals = [[0.0, 0.0] for _ in range(periods)]  # per period: value, denominator
    for cohort in cohorts:
        size = int(at_least("size", cohort, -10**9))
        row: dict[str, Any] = {"cohort": _cohort_value(spec, cohort), "size": size}
        for k in range(periods):
            eligible = int(at_least("size", cohort, k))
            value: float | None
            if eligible == 0:
                value = rate = None
            elif spec.measure == "revenue":
                value = by.get("value", {}).get((cohort, k), 0.0)
                base = at_least("base", cohort, k)
                rate = value / base if base else None
                totals[k][0] += value
                totals[k][1] += base
            else:
                value = (by.get("value", {}).get((cohort, k), 0.0) if spec.mode == "on"
                         else at_least("reach", cohort, k))
                rate = value / eligible
                totals[k][0] += value
                totals[k][1] += eligible
            row[f"period_{k}"] = value
            long_rows.append({"cohort": row["cohort"], "period": k, "eligible": eligible,
                              "value": value, "rate": rate,
                              "per_member": None if value is None else value / eligible})
            row[f"rate_{k}"] = rate
        churned_n = int(by.get("churned", {}).get((cohort, 0), 0.0))
        row["churned"] = churned_n
        row["churn_rate"] = churned_n / size if size else None
        rows.append(row)
    columns = (["cohort", "size"] + [f"period_{k}" for k in range(periods)]
               + [f"rate_{k}" for k in range(periods)] + ["churned", "churn_rate"])
    frame = pd.DataFrame(rows, columns=columns)
    for k in range(periods):
        frame[f"period_{k}"] = frame[f"period_{k}"].astype("float64")
        frame[f"rate_{k}"] = frame[f"rate_{k}"].astype("float64")
    size_total = int(frame["size"].sum())
    summary = {
        "period": spec.period, "periods": periods, "measure": spec.measure,
        "as_of": as_of,
        "cohorts": len(cohorts), "size": size_total,
        "retention": [value / denominator if denominator else None
                      for value, denominator in totals],
        "churned": len(churned),
        "churn_rate": int(frame["churned"].sum()) / size_total if size_total else None,
    }
    long = pd.DataFrame(long_rows, columns=["cohort", "period", "eligible", "value", "rate",
                                           "per_member"])
    churned = churned.reset_index(drop=True)
    return RetentionResult(spec, frame, summary, {"cells": long, "churned": churned})


def _cohort_key(spec: RetentionSpec) -> Any:
    if spec.cohort_property is None:
        return lambda c: c
    return lambda c: (c == NOT_SET, c)


def _cohort_value(spec: RetentionSpec, cohort: str) -> Any:
    return cohort if spec.cohort_property is not None else date.fromisoformat(cohort)
