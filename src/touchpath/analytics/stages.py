"""Journey stages: where people are on the journey, how they move between stages, and how fast.

Every event an analysis sees gets the stage of the rules it matches (the latest stage in the
model's order when it matches several; no stage when it matches none). A person's **stage
changes** at each event whose stage differs from the person's current stage (the stage of their
latest staged event); moving back to an earlier stage is a change like any other.

>>> from touchpath.analytics.stages import StagesSpec
>>> spec = StagesSpec(model="default", period="week")
>>> result = run_stages(store, spec)                             # doctest: +SKIP
>>> result.frame                                # people per stage now    # doctest: +SKIP

The rules in full: ``docs/stages.md``.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.schema as sch
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.filters import EventMatcher, Filters
from touchpath.analytics.frame import (
    ORDER,
    check_events,
    condition,
    date_bounds,
    in_order,
    in_person_scope,
    matches,
    materialized,
    property_value,
    scoped_events,
)
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import day_start, to_local, zone_of
from touchpath.journey import stages as journey  # a module: journey.stages imports analytics

Period = Literal["day", "week", "month"]
Language = Literal["en", "he", "ar"]
TRUNCATE = {"day": "D", "week": "W", "month": "M"}
FREQUENCY = {"day": "D", "week": "W-MON", "month": "MS"}


@dataclass(frozen=True)
class StagesSpec:
    """A stages analysis: ``model`` is a template name (``default``, ``buyer``,
    ``post_purchase``) or a :class:`~touchpath.journey.stages.StageModel`; only events up to
    the end of the day ``as_of`` (in the analysis' time zone, included) count; ``period``
    sets the "over time" table; ``language`` the stage names in results."""

    model: journey.StageModel | str = "default"
    as_of: date | None = None
    period: Period = "week"
    language: Language = "en"
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        journey.check_template(self.model)

    @property
    def stage_model(self) -> journey.StageModel:
        """The model itself (a template loaded by name)."""
        return journey.model_of(self.model)


@dataclass(frozen=True)
class StagesResult(AnalysisResult):
    """``frame``: people per stage now (``stage``, ``name``, ``people``, ``share``).
    ``tables``: ``over_time`` (people per current stage at the end of each period),
    ``conversion`` (stage to next stage, with time between them), ``drop_off``,
    ``transitions`` (from, to: the stage flow, moves back included)."""

    kind: ClassVar[str] = "stages"

    @property
    def over_time(self) -> pd.DataFrame:
        return self.tables["over_time"]

    @property
    def conversion(self) -> pd.DataFrame:
        return self.tables["conversion"]

    @property
    def drop_off(self) -> pd.DataFrame:
        return self.tables["drop_off"]

    @property
    def transitions(self) -> pd.DataFrame:
        return self.tables["transitions"]

    def figure(self) -> Any:
        """A Sankey of the stage flow: entries into the first stage, moves on and back."""
        import plotly.graph_objects as go

        names = list(self.frame["name"])
        ids = list(self.frame["stage"])
        labels = ["(start)", *names]
        flows = self.transitions
        source = [0 if pd.isna(f) else 1 + ids.index(f) for f in flows["from_stage"]]
        target = [1 + ids.index(t) for t in flows["to_stage"]]
        return go.Figure(go.Sankey(
            node={"label": labels},
            link={"source": source, "target": target, "value": list(flows["transitions"])},
        ))


def staged_events(source: EventSource, spec: StagesSpec, keep: tuple[str, ...] = ()
                  ) -> ir.Table:
    """The events the analysis sees, narrowed to ``person_id``, ``timestamp``,
    ``message_id``, ``_pos`` (the person's event number, from 0), ``stage`` (the index of
    the stage in the model, or NULL) and the event columns named in ``keep``."""
    model = spec.stage_model
    events = seen_events(source, spec)
    priors: dict[EventMatcher, str] = {}
    for stage in model.stages:
        for rule in stage.rules:
            for matcher in (rule.after, rule.not_after):
                if matcher is not None and matcher not in priors:
                    priors[matcher] = f"_prior{len(priors)}"
    # every test on an event's own columns first, so the windows sort narrow rows
    flags: dict[str, ir.Value] = {}
    for matcher, name in priors.items():
        if not (matcher.any_event and not matcher.where):
            flags[name.replace("prior", "hit")] = _flag(events, _matches(events, matcher))
    for index, stage in enumerate(model.stages):
        for j, rule in enumerate(stage.rules):
            test = _matches(events, rule.matcher)
            if rule.channels:
                test = test & events.channel.isin(list(rule.channels)).fill_null(False)
            flags[f"_rule{index}_{j}"] = _flag(events, test)
    narrow = events.select(*ORDER, "person_id", *keep, **flags)
    order = [narrow[c] for c in ORDER]
    window = ibis.window(group_by=narrow.person_id, order_by=order)
    so_far = ibis.cumulative_window(group_by=narrow.person_id, order_by=order)
    columns: dict[str, ir.Value] = {"_pos": ibis.row_number().over(window)}
    for matcher, name in priors.items():
        if matcher.any_event and not matcher.where:  # every earlier event
            columns[name] = ibis.row_number().over(window)
            continue
        hit = narrow[name.replace("prior", "hit")].cast("int64")
        columns[name] = hit.sum().over(so_far) - hit  # earlier events only (ties: by ORDER)
    narrow = narrow.mutate(**columns)
    branches = []
    for index in reversed(range(len(model.stages))):  # the latest stage wins
        for j, rule in enumerate(model.stages[index].rules):
            test = narrow[f"_rule{index}_{j}"]
            if rule.after is not None:
                test = test & (narrow[priors[rule.after]] >= rule.after_count)
            if rule.not_after is not None:
                test = test & (narrow[priors[rule.not_after]] == 0)
            branches.append((test, index))
    stage = ibis.cases(*branches, else_=ibis.null("int64")).cast("int64")
    return narrow.mutate(stage=stage).select("person_id", *ORDER, *keep, "_pos", "stage")


def _matches(events: ir.Table, matcher: EventMatcher) -> ir.Value:
    """:func:`matches`, reading the properties (JSON) only of events with a matching name."""
    if not matcher.where or matcher.any_event:
        return matches(events, matcher)
    named = matches(events, EventMatcher(matcher.event))
    rest = ibis.and_(*(condition(property_value(events, r.property), r) for r in matcher.where))
    return ibis.cases((named, rest), else_=False)


def _flag(events: ir.Table, test: ir.Value) -> ir.Value:
    if isinstance(test, ir.Scalar):  # "*": every event
        return events.person_id.isnull() | test
    return test


def seen_events(source: EventSource, spec: StagesSpec) -> ir.Table:
    """``scoped_events`` up to the end of ``as_of``."""
    events = scoped_events(source, spec.filters)
    if spec.as_of is not None:
        zone = zone_of(source, spec.filters.timezone)
        events = events.filter(events.timestamp < day_start(spec.as_of + timedelta(days=1),
                                                            zone))
    return events


CHANGE_COLUMNS = ("person_id", "timestamp", "message_id", "_pos", "stage", "from_stage",
                  "next_at", "furthest", "first_entry", "first_move", "took")
"""The columns of :func:`stage_changes`."""


def stage_changes(source: EventSource, spec: StagesSpec) -> ir.Table:
    """One row per stage change: ``person_id``, ``timestamp``, ``message_id``, ``_pos`` (the
    event's number among the person's events), ``stage``, ``from_stage`` (NULL for the
    person's first stage) and what the tables count, each known from the person's changes up
    to this one except ``next_at``: ``next_at`` (the person's next change, NULL for the
    last), ``furthest`` (the furthest stage entered so far), ``first_entry`` (the person's
    first change into ``stage``), ``first_move`` (the person's first change from
    ``from_stage`` to ``stage``) and ``took`` (on the person's first change into ``stage``
    after their first entry into the stage before it: the seconds since that entry).

    From the store's stored changes when the source keeps them (``stored_stage_changes``,
    the DuckDB store) and the spec sees whole histories (no event filter, no date range
    start); computed with windows otherwise."""
    stored = _stored_changes(source, spec)
    return stored if stored is not None else _computed_changes(source, spec)


STAGE_CHANGES_VERSION = 1
"""Part of the key of stored stage changes: raise it when :func:`_computed_changes` counts
differently, so that changes stored by the older code are not read."""


class _Unbound:
    """A source of one unbound ``events`` table: what :func:`_stored_changes` compiles."""

    timezone = "UTC"

    def __init__(self, events: ir.Table) -> None:
        self.events = events

    def table(self, name: str = "events") -> ir.Table:
        return self.events


def _stored_changes(source: EventSource, spec: StagesSpec) -> ir.Table | None:
    """The stage changes of ``spec`` from the source's stored changes of its model (None when
    the source keeps none, or the spec's events are not whole histories). A person's changes
    up to a moment depend only on their events up to it, so an end (the date range's,
    ``as_of``) cuts the stored changes (and a ``next_at`` past it); person filters and
    segments keep whole people."""
    keep = getattr(source, "stored_stage_changes", None)
    filters = spec.filters
    period = filters.date_range
    if (keep is None or filters.where or filters.channels
            or (period is not None and (period.start is not None or period.last_days is not None))):
        return None
    changes: ir.Table = keep(*_changes_query(spec.stage_model, source.table("events").schema()))
    zone = zone_of(source, filters.timezone)
    _, end = date_bounds(period, None, zone)
    cut = end
    if spec.as_of is not None:
        as_of_end = day_start(spec.as_of + timedelta(days=1), zone)
        cut = as_of_end if cut is None else min(cut, as_of_end)
    if cut is not None:
        changes = changes.filter(changes.timestamp < cut).mutate(
            next_at=ibis.ifelse(changes.next_at < cut, changes.next_at,
                                ibis.null("timestamp")))
    return in_person_scope(source, changes, filters, end).select(*CHANGE_COLUMNS)


@functools.lru_cache(maxsize=32)
def _changes_query(model: journey.StageModel, schema: sch.Schema) -> tuple[str, str]:
    """The key of ``model``'s stored changes, and the SQL that computes them for the people
    in ``_changed_persons`` (compiling it takes a tenth of a second: done once)."""
    persons = ibis.table({"person_id": "string"}, name="_changed_persons")
    everyone = _Unbound(ibis.table(schema, name="events").semi_join(persons, "person_id"))
    query = ibis.to_sql(_computed_changes(everyone, StagesSpec(model=model)), dialect="duckdb")
    key = hashlib.sha256(f"{STAGE_CHANGES_VERSION}\n{model!r}".encode()).hexdigest()[:32]
    return key, str(query)


def _computed_changes(source: EventSource, spec: StagesSpec) -> ir.Table:
    """:func:`stage_changes` with windows over the events."""
    events = staged_events(source, spec)
    staged = events.filter(events.stage.notnull())
    window = ibis.window(group_by=staged.person_id, order_by=[staged[c] for c in ORDER])
    staged = staged.mutate(from_stage=staged.stage.lag().over(window))
    changes = staged.filter(staged.from_stage.isnull() | (staged.from_stage != staged.stage))
    changes = changes.select("person_id", "timestamp", "message_id", "_pos", "stage",
                             "from_stage")
    by_person = ibis.window(group_by=changes.person_id, order_by=changes._pos)
    so_far = ibis.cumulative_window(group_by=changes.person_id, order_by=changes._pos)
    by_stage = ibis.window(group_by=[changes.person_id, changes.stage], order_by=changes._pos)
    by_move = ibis.window(group_by=[changes.person_id, changes.from_stage, changes.stage],
                          order_by=changes._pos)
    marked = changes.mutate(next_at=changes.timestamp.lead().over(by_person),
                            furthest=changes.stage.max().over(so_far),
                            first_entry=ibis.row_number().over(by_stage) == 0,
                            first_move=ibis.row_number().over(by_move) == 0)
    firsts = marked.filter(marked.first_entry).select(
        _person=marked.person_id, _stage=marked.stage, _from_pos=marked._pos,
        _from_at=marked.timestamp)
    later = marked.join(firsts, [marked.person_id == firsts._person,
                                 marked.stage == firsts._stage + 1,
                                 marked._pos > firsts._from_pos])
    moves = later.group_by(_person="person_id", _stage="stage").agg(
        _pos_to=later._pos.min(), _since=later._from_at.min())
    took = marked.left_join(moves, [marked.person_id == moves._person,
                                    marked._pos == moves._pos_to])
    return took.mutate(took=_seconds(took.timestamp, took._since)).select(*CHANGE_COLUMNS)


def _seconds(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    return later.delta(earlier, unit="microsecond").cast("float64") / 1e6


def _check(source: EventSource, spec: StagesSpec) -> None:
    if not isinstance(spec.model, str):  # templates name events a store may not have
        matchers: dict[str, EventMatcher] = {}
        for i, stage in enumerate(spec.model.stages):
            for j, rule in enumerate(stage.rules):
                path = f"model.stages[{i}].rules[{j}]"
                matchers[path] = rule.matcher
                if rule.after is not None:
                    matchers[path + ".after"] = rule.after
                if rule.not_after is not None:
                    matchers[path + ".not_after"] = rule.not_after
        check_events(source, matchers)


def person_stages(source: EventSource, spec: StagesSpec) -> pd.DataFrame:
    """One row per person who entered a stage: ``person_id``, ``current_stage``, one
    ``entered_<stage id>`` column (the first time the person entered it, NaT if never) per
    stage, and ``path`` (the stages in the order entered, moves back included)."""
    _check(source, spec)
    model = spec.stage_model
    changes = stage_changes(source, spec)
    firsts = {f"entered_{s.id}": changes.timestamp.min(where=changes.stage == i)
              for i, s in enumerate(model.stages)}
    people = changes.group_by("person_id").agg(
        current_stage=changes.stage.argmax(changes._pos),
        path=in_order(changes.stage, changes._pos),
        **firsts,
    ).order_by("person_id").to_pandas()
    ids = model.ids
    people["current_stage"] = [ids[int(i)] for i in people["current_stage"]]
    people["path"] = [[ids[int(i)] for i in path] for path in people["path"]]
    return people[["person_id", "current_stage", *firsts, "path"]]


@register("stages", StagesSpec, "Where people are on the journey: people per stage, stage "
          "conversion, time between stages, drop-off and the stage flow.")
def run_stages(source: EventSource, spec: StagesSpec) -> StagesResult:
    """Run a stages analysis (see :class:`StagesSpec` and ``docs/stages.md``)."""
    _check(source, spec)
    # The changes (a few rows per person) are computed once and every table is counted from
    # them; the windows that find them are most of the cost, so they must not run per table.
    # On Spark they stay in the cluster (cached): at 50M events they are 0.7 GB. Changes the
    # store keeps are a table already (narrowed to some people by a join: computed once).
    stored = _stored_changes(source, spec)
    if stored is not None and not (spec.filters.person_where or spec.filters.segments):
        return _tables(source, spec, stored)
    changes = stored if stored is not None else _computed_changes(source, spec)
    with materialized(changes) as kept:
        return _tables(source, spec, kept)


def _tables(source: EventSource, spec: StagesSpec, changes: ir.Table) -> StagesResult:
    model = spec.stage_model
    n = len(model.stages)
    last = changes.filter(changes.next_at.isnull())  # a person's current stage
    places = last.group_by("stage", "furthest").agg(people=last.count()).to_pandas()
    now = _counts(places.groupby("stage", as_index=False)["people"].sum(), "stage", n)
    furthest = _counts(places.groupby("furthest", as_index=False)["people"].sum(), "furthest",
                       n)
    stages = changes.group_by("stage").agg(
        entered=changes.first_entry.cast("int64").sum(), converted=changes.took.count(),
        median_seconds=changes.took.median(), p90_seconds=changes.took.quantile(0.9),
    ).to_pandas().set_index("stage")
    entered = [int(stages["entered"].get(i, 0)) for i in range(n)]

    rows = []
    for i, stage in enumerate(model.stages[:-1]):
        went = int(stages["converted"].get(i + 1, 0))  # took: on the change into i + 1
        rows.append({
            "from_stage": stage.id, "to_stage": model.stages[i + 1].id,
            "entered": entered[i], "converted": went,
            "conversion_rate": went / entered[i] if entered[i] else None,
            "median_seconds": stages["median_seconds"].get(i + 1) if went else None,
            "p90_seconds": stages["p90_seconds"].get(i + 1) if went else None,
        })
    conversion = pd.DataFrame(rows, columns=[
        "from_stage", "to_stage", "entered", "converted", "conversion_rate",
        "median_seconds", "p90_seconds"])
    drop_off = pd.DataFrame({
        "stage": model.ids, "entered": entered, "furthest": furthest,
        "drop_off_rate": [furthest[i] / entered[i] if entered[i] and i < n - 1 else None
                          for i in range(n)],
    })

    flows = changes.group_by("from_stage", "stage").agg(
        transitions=changes.count(), people=changes.first_move.cast("int64").sum()).to_pandas()
    transitions = _transitions(flows, model)
    over_time = _over_time(changes, spec, model, zone_of(source, spec.filters.timezone))

    total = sum(now)
    frame = pd.DataFrame({
        "stage": model.ids, "name": [s.name(spec.language) for s in model.stages],
        "people": now, "share": [c / total if total else None for c in now],
    })
    seen = int(seen_events(source, spec).person_id.nunique().to_pandas())
    summary = {"model": model.name, "people": seen, "people_in_stages": total,
               "people_without_stage": seen - total}
    return StagesResult(spec, frame, summary, {
        "over_time": over_time, "conversion": conversion, "drop_off": drop_off,
        "transitions": transitions})


def _counts(got: pd.DataFrame, key: str, n: int) -> list[int]:
    by = dict(zip(got[key].astype(int), got["people"].astype(int), strict=True))
    return [by.get(i, 0) for i in range(n)]


def _transitions(flows: pd.DataFrame, model: journey.StageModel) -> pd.DataFrame:
    ids = model.ids
    rows: list[dict[str, Any]] = []
    for row in flows.itertuples(index=False):
        to = int(row.stage)
        start = None if pd.isna(row.from_stage) else int(row.from_stage)
        direction = ("entry" if start is None else "forward" if to > start else "back")
        rows.append({"from_stage": None if start is None else ids[start], "to_stage": ids[to],
                     "direction": direction, "transitions": int(row.transitions),
                     "people": int(row.people), "_key": (-1 if start is None else start, to)})
    rows.sort(key=lambda r: r["_key"])
    columns = ["from_stage", "to_stage", "direction", "transitions", "people"]
    return pd.DataFrame(rows, columns=[*columns, "_key"])[columns]


def _over_time(changes: ir.Table, spec: StagesSpec, model: journey.StageModel, zone: str
               ) -> pd.DataFrame:
    """People per current stage at the end of each period: a change counts from its own
    period up to the period before the person's next change (``+1`` / ``-1`` per stage)."""
    unit = TRUNCATE[spec.period]
    marked = changes.mutate(_from=to_local(changes.timestamp, zone).truncate(unit),
                            _until=to_local(changes.next_at, zone).truncate(unit))
    plus = marked.group_by(period="_from", stage_index="stage").agg(delta=marked.count())
    moved = marked.filter(marked._until.notnull())
    minus = moved.group_by(period="_until", stage_index="stage").agg(delta=-moved.count())
    deltas = plus.union(minus).to_pandas()
    columns = ["period", *model.ids]
    if deltas.empty:
        return pd.DataFrame(columns=columns)
    first = pd.Timestamp(deltas["period"].min())
    last = pd.Timestamp(deltas["period"].max())
    if spec.as_of is not None:
        last = max(last, _period_start(pd.Timestamp(spec.as_of), spec.period))
    periods = pd.date_range(first, last, freq=FREQUENCY[spec.period])
    table = deltas.pivot_table(index="period", columns="stage_index", values="delta",
                               aggfunc="sum").reindex(index=periods, columns=range(len(model.ids)))
    table = table.fillna(0).cumsum().astype(int)
    table.columns = list(model.ids)
    table.index.name = "period"
    return table.reset_index()[columns]


def _period_start(moment: pd.Timestamp, period: str) -> pd.Timestamp:
    day = moment.normalize()
    if period == "week":
        return day - pd.Timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day
