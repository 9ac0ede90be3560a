"""Paths in Ibis: each entity's steps, then two small aggregates (steps and paths).

The steps of an entity (a person, or a session) come from a few window passes over
:func:`~touchpath.analytics.frame.scoped_events`, each partitioned by the entity and ordered by
:data:`~touchpath.analytics.frame.ORDER`:

1. drop excluded events; name each event (its group, its page name, or its event name);
2. number the events, find the anchor (first or last ``start``; then the first ``end`` after
   it) and keep the events between;
3. merge runs of the same name (``collapse_repeats``), number the steps, keep ``max_steps``
   of them (the first ones from a start, the last ones before an end, both ends with a gap
   between a start and an end).

Two aggregates leave the engine: step ``k``'s name and the next step's name with a count (the
Sankey edges, the transition matrix and the step matrix all follow from it), and the top
paths with their counts.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics._paths_spec import (
    GAP,
    PAGE_EVENTS,
    PATH_END,
    PathsSpec,
    group_regex,
)
from touchpath.analytics.frame import ORDER, matches, scoped_events
from touchpath.analytics.source import EventSource

SEPARATOR = " → "


def entity_events(source: EventSource, spec: PathsSpec) -> ir.Table:
    """The scoped events with ``_entity`` (person or session id); excluded events dropped."""
    sessions = spec.per == "session"
    events = scoped_events(source, spec.filters, sessions=sessions,
                           session_timeout_seconds=spec.session_timeout_seconds)
    events = events.mutate(_entity=events.session_id if sessions else events.person_id)
    if spec.exclude:
        events = events.filter(~events.event.isin(list(spec.exclude)))
    return events


def step_label(events: ir.Table, spec: PathsSpec) -> ir.StringValue:
    """The name of each event in a path: its group's label, else (with ``page_names``)
    ``"$page: <name>"``, else the event name."""
    label: ir.StringValue = events.event
    if spec.page_names:
        named = events.event.isin(list(PAGE_EVENTS)) & events.name.notnull() & (events.name != "")
        label = ibis.ifelse(named, events.event + ": " + events.name, label)
    if spec.groups:
        branches = [(label.re_search(group_regex(pattern)).fill_null(False), ibis.literal(name))
                    for name, pattern in spec.groups]
        label = ibis.cases(*branches, else_=label)
    return label


def steps(source: EventSource, spec: PathsSpec, events: ir.Table | None = None) -> ir.Table:
    """One row per kept step: ``_entity``, ``k`` (1-based), ``label``, ``m`` (the path's
    number of steps, at most ``max_steps``)."""
    if events is None:
        events = entity_events(source, spec)
    events = events.mutate(_label=step_label(events, spec))
    window = ibis.window(group_by=events._entity, order_by=[events[c] for c in ORDER])
    whole = ibis.window(group_by=events._entity)
    events = events.mutate(_rn=ibis.row_number().over(window))

    first = spec.occurrence == "first"
    if spec.start is not None:
        at_start = ibis.ifelse(matches(events, spec.start), events._rn, ibis.null("int64"))
        start_rn = (at_start.min() if first else at_start.max()).over(whole)
        events = events.mutate(_start=start_rn)
        events = events.filter(events._rn >= events._start)
    if spec.end is not None:
        hit = matches(events, spec.end)
        if spec.start is not None:
            hit = hit & (events._rn > events._start)
        at_end = ibis.ifelse(hit, events._rn, ibis.null("int64"))
        end_rn = (at_end.max() if spec.start is None and not first else at_end.min()).over(whole)
        events = events.mutate(_end=end_rn)
        events = events.filter(events._rn <= events._end)

    window = ibis.window(group_by=events._entity, order_by=[events[c] for c in ORDER])
    if spec.collapse_repeats:
        previous = events._label.lag().over(window)
        events = events.filter(previous.isnull() | (previous != events._label))
        window = ibis.window(group_by=events._entity, order_by=[events[c] for c in ORDER])
    events = events.mutate(_step=ibis.row_number().over(window) + 1,
                           _n=events._entity.count().over(ibis.window(group_by=events._entity)))
    return _truncate(events, spec)


def _truncate(events: ir.Table, spec: PathsSpec) -> ir.Table:
    limit = spec.max_steps
    step, n = events._step, events._n
    label: ir.StringValue = events._label
    if spec.between:
        tail = (limit - 1) // 2
        head = limit - 1 - tail
        long = n > limit
        keep = ~long | (step <= head + 1) | (step > n - tail)
        k = ibis.ifelse(long & (step > head + 1), step - (n - tail) + head + 1, step)
        label = ibis.ifelse(long & (step == head + 1), ibis.literal(GAP), label)
    elif spec.end is not None:
        offset = ibis.greatest(n - limit, 0)
        keep = step > offset
        k = step - offset
    else:
        keep = step <= limit
        k = step
    kept = events.filter(keep)
    return kept.select(_entity=kept._entity, k=k.cast("int64"), label=label,
                       m=ibis.least(n, limit).cast("int64"))


def step_counts(path_steps: ir.Table, spec: PathsSpec) -> pd.DataFrame:
    """``k``, ``label``, ``next`` (the step after, :data:`PATH_END` when the path ends before
    ``max_steps``, null at the last step) and ``count`` of entities."""
    window = ibis.window(group_by=path_steps._entity, order_by=path_steps.k)
    following = path_steps.label.lead().over(window)
    ended = (path_steps.k == path_steps.m) & (path_steps.k < spec.max_steps)
    nxt = ibis.ifelse(ended, ibis.literal(PATH_END), following)
    pairs = path_steps.mutate(next=nxt)
    counts = pairs.group_by(["k", "label", "next"]).agg(count=pairs.count())
    frame: pd.DataFrame = counts.to_pandas()
    return frame


def top_paths(path_steps: ir.Table, spec: PathsSpec) -> pd.DataFrame:
    """The ``top`` most followed paths: ``path``, ``steps``, ``count``, and ``distinct`` (how
    many different paths there are in all), most followed first, ties by path text."""
    per_entity = path_steps.group_by("_entity").agg(
        path=path_steps.label.collect(order_by=path_steps.k).join(SEPARATOR),
        steps=path_steps.k.max(),
    )
    counted = per_entity.group_by(["path", "steps"]).agg(count=per_entity.count())
    counted = counted.mutate(distinct=counted.count().over(ibis.window()))
    ranked = counted.order_by([ibis.desc("count"), "path"]).limit(spec.top)
    frame: pd.DataFrame = ranked.to_pandas()
    return frame
