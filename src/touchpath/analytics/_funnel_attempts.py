"""Funnel attempts in Ibis: one row per attempt, with how far it got and when.

An attempt starts at every event of the first step (in an any-order funnel: at every event of
any step). Its later steps are matched greedily: each step is the first event matching it
after the previous step's event (``docs/funnels.md``). The cost grows linearly with the number
of steps:

- ``sequential``: one window pass gives every event the position of the next event of each
  step (and of each exclusion); then one equi-join per step moves the still-advancing attempts
  to their next step's event, carrying the earliest valid time forward;
- ``strict``: one window pass of ``lead`` per step (the next event must be the next step);
- ``any``: one window pass of "first event of step k from here on" per step.

Columns of the result: ``entity`` (what chains are built in), ``unit`` (what is counted),
``person_id``, ``entry_ts``, ``entry_msg``, ``reached`` (1..n), ``t_1 .. t_n`` (the time the
attempt completed steps 1..k; NULL past ``reached``), ``group`` (the breakdown value, text or
NULL) and ``last_msg`` (message id of the last reached step's event).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from touchpath.analytics._funnel_spec import FunnelSpec
from touchpath.analytics.frame import (
    ORDER,
    matches,
    person_properties,
    property_value,
    scoped_events,
    set_aside,
    stored,
)
from touchpath.analytics.source import EventSource

SEP = "\x1f"


def entity_events(source: EventSource, spec: FunnelSpec) -> ir.Table:
    """Scoped events with ``unit`` (what is counted) and ``entity`` (what steps chain in)."""
    events = scoped_events(source, spec.filters, sessions=spec.count_by == "sessions",
                           session_timeout_seconds=spec.session_timeout_seconds)
    held: ir.StringValue | None = None
    if spec.hold_constant is not None:
        held = property_value(events, spec.hold_constant).cast("string")
        events = events.mutate(_held=held).filter(lambda t: t._held.notnull())
        held = events._held
    if spec.count_by == "persons":
        unit: ir.StringValue = events.person_id
    elif spec.count_by == "sessions":
        unit = events.session_id
    else:
        assert held is not None
        unit = held
    entity = unit if held is None or spec.count_by == "property" else unit + SEP + held
    return events.mutate(unit=unit, entity=entity)


def attempts(source: EventSource, spec: FunnelSpec) -> ir.Table:
    """One row per attempt (see the module docstring)."""
    events = entity_events(source, spec)
    n = len(spec.steps)
    flags = {f"m_{k}": matches(events, step.matcher).fill_null(False)
             for k, step in enumerate(spec.steps, 1) if same_as(spec)[k] == k}
    flags.update({f"x_{j}": matches(events, ex.matcher).fill_null(False)
                  for j, ex in enumerate(spec.exclusions)})
    breakdown = spec.breakdown
    event_value = breakdown is not None and breakdown.source == "event"
    bd = (property_value(events, breakdown.property).cast("string")
          if breakdown is not None and event_value else ibis.null("string"))
    ids = identities(spec)
    rows = events.select(*ids, "timestamp", "message_id", _bd=bd, **flags)
    if spec.order != "strict":
        rows = rows.filter(ibis.or_(*(rows[name] for name in flags)))
    rows = rows.mutate(pos=ibis.row_number().over(
        group_by=rows.entity, order_by=[rows[c] for c in ORDER]))
    if spec.order == "sequential":
        out = _sequential(rows, spec, ids)
    elif spec.order == "strict":
        out = _strict(rows, spec, ids)
    else:
        out = _any(rows, spec, ids)
    if "unit" not in ids:
        out = out.mutate(unit=out.entity)
    if "person_id" not in ids:
        out = out.mutate(person_id=out.unit)
    columns = ["entity", "unit", "person_id", "entry_ts", "entry_msg", "reached",
               *[f"t_{k}" for k in range(1, n + 1)], "group", "last_msg"]
    if breakdown is not None and breakdown.source == "person":
        props = person_properties(source.table("events"), [breakdown.property])
        props = props.select(_pp=props.person_id, _pv=props[breakdown.property].cast("string"))
        out = out.left_join(props, out.person_id == props._pp).mutate(group=lambda t: t._pv)
    return out.select(*columns)


def identities(spec: FunnelSpec) -> list[str]:
    """Of ``entity``, ``unit`` and ``person_id``, the columns an attempt carries: ``unit`` is
    ``entity`` unless a held property splits a person's (session's) events into several chains,
    and ``person_id`` is ``unit`` when persons are counted (carried once, copied at the end)."""
    ids = ["entity"]
    if spec.hold_constant is not None and spec.count_by != "property":
        ids.append("unit")
    if spec.count_by != "persons":
        ids.append("person_id")
    return ids


def same_as(spec: FunnelSpec) -> dict[int, int]:
    """Each step's number -> the first step with the same matcher: repeated steps share
    their match flag and next-event window (a 20-step funnel over 5 events needs 5)."""
    first: dict[object, int] = {}
    out = {}
    for k, step in enumerate(spec.steps, 1):
        key = (step.matcher.names, step.matcher.where)
        out[k] = first.setdefault(key, k)
    return out


def _m(rows: ir.Table, spec: FunnelSpec, k: int) -> ir.BooleanValue:
    return rows[f"m_{same_as(spec)[k]}"]


def _in_order(rows: ir.Table) -> list[ir.Value]:
    """The order of ``pos``, named by the columns it was numbered by: Spark then sees that
    the rows are already sorted for the next window and does not sort them again."""
    return [rows[c] for c in ORDER]


def _window_ok(spec: FunnelSpec, entry_ts: ir.TimestampValue,
               ts: ir.TimestampValue) -> ir.BooleanValue:
    return ts <= entry_ts + ibis.interval(seconds=spec.window_seconds)


def _sequential(rows: ir.Table, spec: FunnelSpec, ids: list[str]) -> ir.Table:
    n = len(spec.steps)
    after = ibis.window(group_by=rows.entity, order_by=_in_order(rows), rows=(1, None))
    canon = same_as(spec)
    stepped = sorted({canon[i] for i in range(2, n + 1)})  # the match flags of steps 2..n
    nexts = {f"nx_{k}": ibis.cases((rows[f"m_{k}"], rows.pos), else_=ibis.null("int64"))
             .min().over(after) for k in stepped}
    nexts.update({f"nx_x{j}": ibis.cases((rows[f"x_{j}"], rows.pos), else_=ibis.null("int64"))
                  .min().over(after) for j in range(len(spec.exclusions))})
    # the events with their next positions, computed once (stored on DuckDB: the chain below
    # is several queries there, see set_aside)
    rows = stored(rows.select(*ids, "timestamp", "message_id", "_bd", "m_1", "pos", **nexts))
    attribution = spec.breakdown.attribution if spec.breakdown is not None else "first_step"
    step_of_value = spec.breakdown.step if spec.breakdown is not None else None
    timed = any(step.within_seconds is not None for step in spec.steps[1:])
    first = rows.filter(rows.m_1)
    carried: dict[str, ir.Value] = {f"xp_{j}": first[f"nx_x{j}"]
                                    for j in range(len(spec.exclusions))}
    if timed:
        carried["prev_ts"] = first.timestamp
    out = first.select(
        *ids, entry_ts=first.timestamp, entry_msg=first.message_id,
        reached=ibis.literal(1, "int64"), nxt=first[f"nx_{canon[2]}"],
        last_msg=first.message_id,
        group=first._bd if attribution != "step" or step_of_value == 1
        else ibis.null("string"),
        **carried,
    )
    # The same lookup table for every step (``nxt`` only ever points at an event of the
    # step), so that Spark computes it once and reuses it in every join.
    lookup = rows.select(_sp=rows.pos, _st=rows.timestamp, _smsg=rows.message_id,
                         _sbd=rows._bd, _se=rows.entity,
                         **{f"_snx_{c}": rows[f"nx_{c}"] for c in stepped},
                         **{f"_sx{j}": rows[f"nx_x{j}"] for j in range(len(spec.exclusions))})
    stopped: list[ir.Table] = []
    for k in range(2, n + 1):
        # only attempts with a next position can go on; on DuckDB the others are set aside
        # (each step's join then reads only the attempts still going, which thin out fast)
        out, aside = set_aside(out, lambda t: t.nxt.notnull())
        if aside is not None:
            stopped.append(aside)
        step = spec.steps[k - 1]
        targets = lookup.view()
        out = out.view()  # a plain relation: the next join must not extend the last one
        joined = out.left_join(targets, [out.entity == targets._se, out.nxt == targets._sp])
        ok = (joined.reached == k - 1) & joined._sp.notnull() \
            & _window_ok(spec, joined.entry_ts, joined._st)
        if step.within_seconds is not None:
            ok = ok & (joined._st <= joined.prev_ts + ibis.interval(seconds=step.within_seconds))
        for j, exclusion in enumerate(spec.exclusions):
            if exclusion.from_step <= k - 1 and k <= exclusion.to_step:
                pointer = joined[f"xp_{j}"]
                ok = ok & (pointer.isnull() | (pointer >= joined._sp))
        ok = ok.fill_null(False)
        takes_value = attribution == "last_step" or (attribution == "step"
                                                     and step_of_value == k)
        keep = {f"t_{i}": joined[f"t_{i}"] for i in range(2, k)}
        if timed:
            keep["prev_ts"] = ibis.cases((ok, joined._st), else_=joined.prev_ts)
        out = joined.select(
            *ids, "entry_ts", "entry_msg", **keep,
            reached=joined.reached + ok.cast("int64"),
            **{f"t_{k}": ibis.cases((ok, joined._st), else_=ibis.null("timestamp"))},
            nxt=ibis.cases((ok, joined[f"_snx_{canon[k + 1]}"]), else_=ibis.null("int64"))
            if k < n
            else ibis.null("int64"),
            last_msg=ibis.cases((ok, joined._smsg), else_=joined.last_msg),
            group=ibis.cases((ok, joined._sbd), else_=joined.group) if takes_value
            else joined.group,
            **{f"xp_{j}": ibis.cases((ok, joined[f"_sx{j}"]), else_=joined[f"xp_{j}"])
               for j in range(len(spec.exclusions))},
        )
    # One chain of joins that every attempt goes through on Spark (a stopped attempt's
    # ``nxt`` is NULL, so its later joins find nothing): splitting off the stopped attempts at
    # each step and taking the union at the end made Spark compute the chain again for every
    # branch of the union (2.6x slower at 20 steps). On DuckDB each part is stored, so the
    # union reads them once.
    parts = [_finished(part, ids, n) for part in [*stopped, out]]
    return parts[0] if len(parts) == 1 else _union(parts, rows.timestamp.type())


def _finished(part: ir.Table, ids: list[str], n: int) -> ir.Table:
    """An attempt table with ``t_1`` (the entry) .. ``t_n`` (NULL past the steps it went
    through)."""
    times = {f"t_{k}": part[f"t_{k}"] if f"t_{k}" in part.columns
             else ibis.null("timestamp") for k in range(2, n + 1)}
    return part.select(*ids, "entry_ts", "entry_msg", "reached", t_1=part.entry_ts, **times,
                       group=part.group, last_msg=part.last_msg)


def _union(parts: list[ir.Table], ts: dt.DataType) -> ir.Table:
    """The rows of all ``parts``, every column nullable and every time of type ``ts`` (a stored
    table's columns are nullable, and its times may differ in precision)."""
    def common(kind: dt.DataType) -> dt.DataType:
        return (ts if kind.is_timestamp() else kind).copy(nullable=True)

    return ibis.union(*(part.cast({name: common(kind) for name, kind in part.schema().items()})
                        for part in parts))


def _prefix_reached(table: ir.Table, conditions: list[ir.BooleanValue]) -> ir.IntegerValue:
    """1 + the number of leading true conditions (steps 2..n)."""
    total: ir.IntegerValue = ibis.literal(1, "int64")
    for k in range(len(conditions)):
        total = total + ibis.and_(*conditions[: k + 1]).cast("int64")
    return total


def _strict(rows: ir.Table, spec: FunnelSpec, ids: list[str]) -> ir.Table:
    n = len(spec.steps)
    w = ibis.window(group_by=rows.entity, order_by=_in_order(rows))
    leads = {}
    for k in range(2, n + 1):
        leads[f"lm_{k}"] = _m(rows, spec, k).lead(k - 1).over(w)
        leads[f"lt_{k}"] = rows.timestamp.lead(k - 1).over(w)
        leads[f"lmsg_{k}"] = rows.message_id.lead(k - 1).over(w)
        leads[f"lbd_{k}"] = rows._bd.lead(k - 1).over(w)
    first = rows.mutate(**leads).filter(rows.m_1)
    conditions = []
    for k in range(2, n + 1):
        ts = first[f"lt_{k}"]
        c = first[f"lm_{k}"].fill_null(False) & _window_ok(spec, first.timestamp, ts)
        within = spec.steps[k - 1].within_seconds
        if within is not None:
            before = first.timestamp if k == 2 else first[f"lt_{k - 1}"]
            c = c & (ts <= before + ibis.interval(seconds=within))
        conditions.append(c.fill_null(False))
    first = first.mutate(**{f"c_{k}": c for k, c in enumerate(conditions, 2)})
    reached = _prefix_reached(first, [first[f"c_{k}"] for k in range(2, n + 1)])
    first = first.mutate(reached=reached)
    times = {"t_1": first.timestamp}
    times.update({f"t_{k}": ibis.cases((first.reached >= k, first[f"lt_{k}"]),
                                       else_=ibis.null("timestamp")) for k in range(2, n + 1)})
    last_msg = ibis.cases(*((first.reached == k, first[f"lmsg_{k}"]) for k in range(2, n + 1)),
                          else_=first.message_id)
    group = _attributed(first, spec, first._bd,
                        {k: first[f"lbd_{k}"] for k in range(2, n + 1)})
    return first.select(*ids, entry_ts=first.timestamp,
                        entry_msg=first.message_id, last_msg=last_msg, group=group, **times,
                        reached=first.reached)


def _attributed(first: ir.Table, spec: FunnelSpec, entry_value: ir.StringValue,
                by_step: dict[int, ir.StringValue]) -> ir.StringValue:
    """The breakdown value of an attempt from its step events' values."""
    if spec.breakdown is None or spec.breakdown.source != "event":
        return ibis.null("string")
    if spec.breakdown.attribution == "first_step":
        return entry_value
    if spec.breakdown.attribution == "step":
        k = spec.breakdown.step or 1
        if k == 1:
            return entry_value
        return ibis.cases((first.reached >= k, by_step[k]), else_=ibis.null("string"))
    return ibis.cases(*((first.reached == k, by_step[k]) for k in by_step),
                      else_=entry_value)


def _any(rows: ir.Table, spec: FunnelSpec, ids: list[str]) -> ir.Table:
    n = len(spec.steps)
    ahead = ibis.window(group_by=rows.entity, order_by=_in_order(rows), rows=(0, None))
    firsts = {}
    for k in range(1, n + 1):
        firsts[f"np_{k}"] = ibis.cases((_m(rows, spec, k), rows.pos),
                                       else_=ibis.null("int64")).min().over(ahead)
        firsts[f"nt_{k}"] = ibis.cases((_m(rows, spec, k), rows.timestamp),
                                       else_=ibis.null("timestamp")).min().over(ahead)
    anchors = rows.mutate(**firsts)
    conditions = {f"c_{k}": (anchors[f"nt_{k}"].notnull()
                             & _window_ok(spec, anchors.timestamp, anchors[f"nt_{k}"]))
                  .fill_null(False) for k in range(1, n + 1)}
    anchors = anchors.mutate(**conditions)
    # the anchor matches some step, so its own first condition may be false only when step 1
    # is not among them: an attempt always counts as entered (reached >= 1) when step 1 holds
    anchors = anchors.filter(anchors.c_1)
    reached = _prefix_reached(anchors, [anchors[f"c_{k}"] for k in range(2, n + 1)])
    anchors = anchors.mutate(reached=reached)
    done = {}
    last = {}
    for k in range(1, n + 1):
        done[f"t_{k}"] = ibis.greatest(*(anchors[f"nt_{i}"] for i in range(1, k + 1))) \
            if k > 1 else anchors.nt_1
        last[k] = ibis.greatest(*(anchors[f"np_{i}"] for i in range(1, k + 1))) \
            if k > 1 else anchors.np_1
    anchors = anchors.mutate(
        **{name: ibis.cases((anchors.reached >= k, value), else_=ibis.null("timestamp"))
           for k, (name, value) in enumerate(done.items(), 1)},
        _last_pos=ibis.cases(*((anchors.reached == k, last[k]) for k in range(1, n + 1))),
        _value_pos=_value_position(anchors, spec, last),
    )
    lookup = rows.select(_le=rows.entity, _lp=rows.pos, _lmsg=rows.message_id).view()
    anchors = anchors.left_join(lookup, [anchors.entity == lookup._le,
                                         anchors._last_pos == lookup._lp])
    values = rows.select(_ve=rows.entity, _vp=rows.pos, _vbd=rows._bd).view()
    anchors = anchors.left_join(values, [anchors.entity == values._ve,
                                         anchors._value_pos == values._vp])
    return anchors.select(*ids, "reached",
                          *[f"t_{k}" for k in range(1, n + 1)],
                          entry_ts=anchors.timestamp, entry_msg=anchors.message_id,
                          last_msg=anchors._lmsg, group=anchors._vbd)


def _value_position(anchors: ir.Table, spec: FunnelSpec,
                    last: dict[int, ir.IntegerValue]) -> ir.IntegerValue:
    if spec.breakdown is None or spec.breakdown.source != "event":
        return ibis.null("int64")
    if spec.breakdown.attribution == "first_step":
        return anchors.pos
    if spec.breakdown.attribution == "step":
        k = spec.breakdown.step or 1
        return ibis.cases((anchors.reached >= k, anchors[f"np_{k}"]), else_=ibis.null("int64"))
    n = len(spec.steps)
    return ibis.cases(*((anchors.reached == k, last[k]) for k in range(1, n + 1)))
