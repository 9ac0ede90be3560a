"""Paths in Ibis: each entity's steps, then one query with both aggregates.

The steps of an entity (a person, or a session) come from :func:`~touchpath.analytics.frame.
scoped_events` with excluded events dropped, slimmed to the columns the windows need, in two
ordered passes partitioned by the entity:

1. in :data:`~touchpath.analytics.frame.ORDER`: the previous event's name and running
   counts of start / end events. "At or after the first start" is a running count of at
   least 1, "up to the first end" a count of ends strictly before of 0 (the last
   occurrence: compare with the entity's total). Between a start and an end, one more pass
   finds the first end after the start. Repeats are dropped by comparing with the previous
   name (the anchor event is always kept);
2. in the same order over what is left: the step number, the next step's name and (before an
   end) the number of steps, then the cut to ``max_steps``.

Only aggregates leave the engine: (step, name, next name) counts, from which the Sankey edges,
the transition matrix and the step matrix follow, and the top paths with their counts.
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
from touchpath.analytics.frame import ORDER, computed_once, in_order, matches, scoped_events
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
    """One row per kept step: ``_entity``, ``k`` (1-based), ``label``, ``next`` (the next
    step's label, :data:`PATH_END` after the last step of a path shorter than ``max_steps``,
    null at step ``max_steps``)."""
    if events is None:
        events = entity_events(source, spec)
    # only what the windows need: engines carry every column through a window
    columns: dict[str, ir.Value] = {"_entity": events._entity,
                                    "_label": step_label(events, spec)}
    columns.update({c: events[c] for c in ORDER})
    if spec.start is not None:
        columns["_is_start"] = matches(events, spec.start).cast("int64")
    if spec.end is not None:
        columns["_is_end"] = matches(events, spec.end).cast("int64")
    slim = events.select(**columns)

    # one ordered pass: event number, previous name, and running counts of anchor events,
    # from which "at or after the first (last) start" and "up to the first (last) end" follow
    ordered = ibis.window(group_by=slim._entity, order_by=[slim[c] for c in ORDER])
    running = ibis.window(group_by=slim._entity, order_by=[slim[c] for c in ORDER],
                          rows=(None, 0))
    whole = ibis.window(group_by=slim._entity)
    first = spec.occurrence == "first"
    passes: dict[str, ir.Value] = {}
    if spec.collapse_repeats:
        passes["_prev"] = slim._label.lag().over(ordered)
    for name in ("start", "end"):
        if getattr(spec, name) is not None:
            flag = slim[f"_is_{name}"]
            passes[f"_{name}s_upto"] = flag.sum().over(running)
            passes[f"_{name}s"] = flag.sum().over(whole)
    if passes:
        slim = slim.mutate(**passes)

    if spec.start is not None:
        upto, total = slim._starts_upto, slim._starts
        after = (upto >= 1) if first else ((upto == total) & (total >= 1))
        slim = slim.filter(after)
        slim = slim.mutate(_anchor=(slim._is_start == 1) & ((slim._starts_upto == 1) if first
                                                            else (slim._starts_upto == total)))
    if spec.end is not None and spec.start is None:
        before = slim._ends_upto - slim._is_end  # ends strictly before this event
        upto_end = (before == 0) if first else (before < slim._ends)
        slim = slim.filter(upto_end & (slim._ends >= 1))
    if spec.between:
        slim = _up_to_first_end(slim)
    if spec.collapse_repeats:  # after the anchors: a merged step may be the end event
        keep = slim._prev.isnull() | (slim._prev != slim._label)
        slim = slim.filter(slim._anchor | keep if spec.start is not None else keep)

    # in ORDER again (not by an event number from the first pass): Spark then sees that the
    # rows are sorted so already and does not sort them a second time
    later = ibis.window(group_by=slim._entity, order_by=[slim[c] for c in ORDER])
    numbered = slim.mutate(_step=ibis.row_number().over(later) + 1,
                           _following=slim._label.lead().over(later))
    if spec.end is not None:  # the cut counts back from the end
        numbered = numbered.mutate(
            _n=numbered._entity.count().over(ibis.window(group_by=numbered._entity)))
    return _truncate(numbered, spec)


def _up_to_first_end(slim: ir.Table) -> ir.Table:
    """Keep the events from the start to the first end strictly after it (a second pass: the
    end must come after the start the first pass found)."""
    slim = slim.mutate(_hit=((slim._is_end == 1) & ~slim._anchor).cast("int64"))
    running = ibis.window(group_by=slim._entity, order_by=[slim[c] for c in ORDER],
                          rows=(None, 0))
    slim = slim.mutate(_hits_before=slim._hit.sum().over(running) - slim._hit,
                       _hits=slim._hit.sum().over(ibis.window(group_by=slim._entity)))
    return slim.filter((slim._hits_before == 0) & (slim._hits >= 1))


def _truncate(events: ir.Table, spec: PathsSpec) -> ir.Table:
    limit = spec.max_steps
    step = events._step
    label: ir.StringValue = events._label
    if spec.end is not None:
        n = events._n
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
    kept = kept.select(_entity=kept._entity, k=k.cast("int64"), label=label,
                       _following=kept._following)
    if spec.between:  # the gap hides steps: the next kept step is the one after
        kept = kept.mutate(_following=kept.label.lead().over(
            group_by=kept._entity, order_by=kept.k))
    following = kept._following
    nxt = ibis.cases((kept.k >= limit, ibis.null("string")),
                     (following.isnull(), ibis.literal(PATH_END)), else_=following)
    return kept.select("_entity", "k", "label", next=nxt)


def aggregates(path_steps: ir.Table, spec: PathsSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both aggregates in one query, from the count of each distinct path (the paths are
    counted once; the step counts follow from them, so the steps are not counted twice):

    - step counts: ``k``, ``label``, ``next`` (the step after, :data:`PATH_END` when the path
      ends before ``max_steps``, null at the last step) and ``count`` of entities;
    - the ``top`` most followed paths: ``path``, ``steps``, ``count`` and ``distinct`` (how
      many different paths there are in all), most followed first, ties by path text.
    """
    per_entity = path_steps.group_by("_entity").agg(
        labels=in_order(path_steps.label, path_steps.k))
    with computed_once(per_entity.group_by("labels").agg(count=per_entity.count())) as paths:
        return _both(paths, spec)


def _both(paths: ir.Table, spec: PathsSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    limit = spec.max_steps
    at = paths.mutate(_all=paths.labels).unnest("labels", offset="_i")
    k = at._i + 1
    nxt = ibis.cases((k >= limit, ibis.null("string")),
                     (k >= at._all.length(), ibis.literal(PATH_END)), else_=at._all[k])
    at = at.select(k=k, label=at.labels, next=nxt, n=at["count"])
    counts = at.group_by(["k", "label", "next"]).agg(count=at.n.sum())

    counted = paths.select(path=paths.labels.join(SEPARATOR), steps=paths.labels.length(),
                           count=paths["count"])
    counted = counted.mutate(distinct=counted.path.count().over(ibis.window()))
    ranked = counted.order_by([ibis.desc("count"), "path"]).limit(spec.top)

    text, number = ibis.null("string"), ibis.null("int64")
    both = ibis.union(
        # casts make both sides nullable (the store's event column is NOT NULL)
        counts.select(part=ibis.literal("step"), k=counts.k.cast("int64"),
                      label=counts.label.cast("string"), next=counts.next.cast("string"),
                      path=text, count=counts["count"].cast("int64"), distinct=number),
        ranked.select(part=ibis.literal("path"), k=ranked.steps.cast("int64"), label=text,
                      next=text, path=ranked.path.cast("string"),
                      count=ranked["count"].cast("int64"),
                      distinct=ranked["distinct"].cast("int64")),
    )
    frame: pd.DataFrame = both.to_pandas()
    step_part = frame[frame["part"] == "step"][["k", "label", "next", "count"]]
    path_part = frame[frame["part"] == "path"].rename(columns={"k": "steps"})
    path_part = path_part.sort_values(["count", "path"], ascending=[False, True])
    return (step_part.reset_index(drop=True),
            path_part[["path", "steps", "count", "distinct"]].reset_index(drop=True))
