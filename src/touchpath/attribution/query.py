"""Conversion paths from an event source, in Ibis (the same code runs on DuckDB and Spark).

Each person's events (after the spec's filters, :func:`touchpath.analytics.frame.scoped_events`)
are read once, in :data:`~touchpath.analytics.frame.ORDER`. A touch belongs to the first
conversion at or after it (the conversion event itself can be a touch); touches after a
person's last conversion form one non-converting journey. Touches more than
``lookback_days`` before their conversion -- for a non-converting journey, before its last
touch -- are dropped. Journeys are then grouped by their path, so only distinct paths with
counts leave the engine. The rules are written out in ``docs/attribution.md``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from touchpath.analytics.frame import ORDER, matches, property_value, scoped_events
from touchpath.analytics.source import EventSource
from touchpath.attribution.paths import ConversionPaths
from touchpath.attribution.rules import decay_rate
from touchpath.attribution.spec import NO_TOUCH, AttributionSpec
from touchpath.errors import ValidationError

KEYS = ["person_id", "_seq"]
SECONDS_PER_DAY = 86_400


def _value(events: ir.Table, spec: AttributionSpec) -> ir.FloatingValue:
    if spec.value is None:
        return ibis.literal(0.0, type="float64")
    value = property_value(events, spec.value)
    if value.type().is_numeric():
        return value.cast("float64")
    return value.cast("string").try_cast("float64")


def check(source: EventSource, spec: AttributionSpec) -> dict[str, int]:
    """Raise a :class:`ValidationError` naming the field when the data cannot answer: no
    conversion in range, no event carrying the touchpoint, no conversion carrying the value."""
    events = scoped_events(source, spec.filters)
    is_conversion = matches(events, spec.conversion)
    dimension = property_value(events, spec.touchpoint)
    value = _value(events, spec)
    counts = events.aggregate(
        conversions=is_conversion.cast("int64").sum(),
        with_touchpoint=dimension.notnull().cast("int64").sum(),
        with_value=(is_conversion & value.notnull()).cast("int64").sum(),
    ).to_pandas().iloc[0]
    found = {k: int(v) if pd.notna(v) else 0 for k, v in counts.items()}
    if found["conversions"] == 0:
        raise ValidationError(f"no {spec.conversion.title} event (the conversion) in the date "
                              "range and filters: nothing to attribute", field="conversion")
    if found["with_touchpoint"] == 0:
        raise ValidationError(f"no event in the date range and filters has a value for "
                              f"{spec.touchpoint!r}", field="touchpoint")
    if spec.value is not None and found["with_value"] == 0:
        raise ValidationError(f"no conversion has a numeric {spec.value!r}; leave value "
                              "empty to count conversions", field="value")
    return found


def journeys(source: EventSource, spec: AttributionSpec) -> ir.Table:
    """One row per touch or conversion that counts: ``person_id``, ``_seq`` (the journey: the
    number of the person's conversions before it), ``timestamp``, ``message_id``, ``_dim`` (the
    touchpoint), ``_touch``, ``_conv``, ``_value`` and ``_at`` (the journey's conversion time,
    NULL for the non-converting journey). See the module docstring for the rules."""
    sessions = spec.touches == "session"
    events = scoped_events(source, spec.filters, sessions=sessions,
                           session_timeout_seconds=spec.session_timeout_seconds)
    candidate = property_value(events, spec.touchpoint).notnull()
    if spec.touch_events is not None:
        candidate = candidate & matches(events, spec.touch_events)
    marked = events.mutate(
        _dim=property_value(events, spec.touchpoint).cast("string"),
        _conv=matches(events, spec.conversion),
        _cand=candidate,
        _value=_value(events, spec).fill_null(0.0),
    )
    if sessions:
        # the session's touch: its first event with a touchpoint
        seen = marked._cand.cast("int64").sum().over(ibis.cumulative_window(
            group_by=[marked.person_id, marked.session_index],
            order_by=[marked[c] for c in ORDER]))
        marked = marked.mutate(_touch=marked._cand & (seen == 1))
    else:
        marked = marked.mutate(_touch=marked._cand)
    marked = marked.filter(marked._touch | marked._conv).select(
        "person_id", "timestamp", "message_id", "_dim", "_touch", "_conv", "_value")
    # every window over the person's rows in one order, in one step, so the engine sorts
    # once. A row's journey (_seq) is the number of conversions strictly before it (so a
    # conversion event that is also a touch belongs to its own conversion); its conversion
    # time (_at) is the first conversion at or after it; a row with none after it is in the
    # person's non-converting journey, which ends at the person's last row (_last)
    order = [marked[c] for c in ORDER]
    so_far = ibis.cumulative_window(group_by=marked.person_id, order_by=order)
    following = ibis.window(group_by=marked.person_id, order_by=order, rows=(0, None))
    converted = marked._conv.cast("int64")
    marked = marked.mutate(
        _seq=converted.sum().over(so_far) - converted,
        _at=marked.timestamp.min(where=marked._conv).over(following),
        _last=marked.timestamp.max().over(following),
        _pos=ibis.row_number().over(ibis.window(group_by=marked.person_id, order_by=order)))
    lookback = ibis.interval(seconds=spec.lookback_days * SECONDS_PER_DAY)
    anchor = ibis.coalesce(marked._at, marked._last)
    kept = marked.filter(marked._conv | (marked._touch & (marked.timestamp >= anchor - lookback)))
    if spec.collapse_repeats:
        previous = kept._dim.lag().over(ibis.window(
            group_by=[kept.person_id, kept._seq], order_by=[kept[c] for c in ORDER]))
        # the previous row of a touch is a touch (a conversion ends its journey); a repeat
        # stops being a touch, but its row stays: it may be the conversion too
        repeat = kept._touch & previous.notnull() & (previous == kept._dim)
        kept = kept.mutate(_touch=kept._touch & ~repeat)
    return kept.drop("_last")


def path_table(rows: ir.Table, half_life_days: float | None = None) -> ir.Table:
    """One row per distinct path (``kind = "path"``): ``path`` (an array of touchpoints; empty
    or NULL for conversions with no touch), ``conversions``, ``value``, ``nulls``. With
    ``half_life_days``, also one row per touchpoint (``kind = "time_decay"``, ``touchpoint``)
    with the conversions and value time decay gives it -- from the same journeys, in the same
    query: a touch ``t`` seconds before its conversion weighs ``2^(-t / half_life)`` and each
    conversion is shared out in proportion to its touches' weights (conversions with no touch
    are left to the caller, who gives them to ``"(none)"``)."""
    seconds = rows._at.delta(rows.timestamp, unit="microsecond").cast("float64") / 1e6
    weight = (seconds * -decay_rate(half_life_days or 1.0)).exp().fill_null(0.0)
    # an ordered aggregate sorts every group; the touches' positions (from the window the
    # rows went through anyway) sort each small list instead
    touches = ibis.struct({"pos": rows._pos, "dim": rows._dim, "w": weight})
    per_journey = rows.group_by(KEYS).agg(
        _touches=touches.collect(where=rows._touch),
        _won=rows._conv.cast("int64").max(),
        _value=rows._value.sum(where=rows._conv))
    with_path = per_journey.mutate(
        path=per_journey._touches.sort().map(lambda touch: touch["dim"]))
    paths = with_path.group_by("path").agg(
        conversions=with_path._won.sum().cast("float64"), value=with_path._value.sum(),
        nulls=(1 - with_path._won).sum().cast("float64"))
    paths = paths.select(kind=ibis.literal("path"), path="path",
                         touchpoint=ibis.null("string"), conversions="conversions",
                         value="value", nulls="nulls")
    if half_life_days is None:
        return paths
    won = per_journey.filter(per_journey._won == 1)
    won = won.mutate(_total=won._touches.map(lambda touch: touch["w"]).sums())
    each = won.select("_total", "_value", _touch=won._touches.unnest())
    share = each._touch["w"] / each._total
    decay = each.group_by(touchpoint=each._touch["dim"]).agg(
        conversions=share.sum(), value=(share * each._value).sum())
    decay = decay.select(kind=ibis.literal("time_decay"), path=ibis.null(paths.path.type()),
                         touchpoint="touchpoint", conversions="conversions", value="value",
                         nulls=ibis.literal(0.0))
    return paths.union(decay)


def conversion_paths(source: EventSource, spec: AttributionSpec
                     ) -> tuple[ConversionPaths, pd.DataFrame | None]:
    """The spec's journeys, aggregated into distinct paths, and the time-decay credit per
    touchpoint (``touchpoint``, ``conversions``, ``value``) when the spec asks for it: one
    query."""
    decay = "time_decay" in spec.models
    table = path_table(journeys(source, spec),
                       spec.half_life_days if decay else None).to_pyarrow()
    is_path = pc.equal(table["kind"], "path")
    paths = ConversionPaths.from_arrow(table.filter(is_path))
    if not decay:
        return paths, None
    credit = table.filter(pc.invert(is_path)).select(["touchpoint", "conversions", "value"])
    return paths, credit.to_pandas()


def align(frame: pd.DataFrame, channels: tuple[str, ...], none: tuple[float, float]
          ) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel arrays from a ``touchpoint, conversions, value`` table; ``none`` is what
    conversions without a touch add to ``"(none)"``."""
    index = {name: i for i, name in enumerate(channels)}
    conversions = np.zeros(len(channels))
    value = np.zeros(len(channels))
    for row in frame.itertuples(index=False):
        i = index[str(row.touchpoint)]
        conversions[i] += float(row.conversions)
        value[i] += float(row.value)
    if NO_TOUCH in index:
        conversions[index[NO_TOUCH]] += none[0]
        value[index[NO_TOUCH]] += none[1]
    return conversions, value
