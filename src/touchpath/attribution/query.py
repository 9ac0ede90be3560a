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

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from touchpath.analytics.frame import ORDER, matches, property_value, scoped_events
from touchpath.analytics.source import EventSource
from touchpath.attribution.paths import ConversionPaths
from touchpath.attribution.rules import decay_rate
from touchpath.attribution.spec import NO_TOUCH, AttributionSpec
from touchpath.errors import ValidationError

KEYS = ["person_id", "_seq"]
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Journeys:
    """The touches (``person_id``, ``_seq`` = the journey, ``timestamp``, ``message_id``,
    ``_dim`` = the touchpoint) and the conversions (``person_id``, ``_seq``, ``_at``,
    ``_value``) of a spec, as Ibis tables."""

    touches: ir.Table
    conversions: ir.Table


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


def journeys(source: EventSource, spec: AttributionSpec) -> Journeys:
    """The touches and conversions of every journey (see the module docstring)."""
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
    marked = marked.filter(marked._touch | marked._conv)
    converted = marked._conv.cast("int64")
    before = converted.sum().over(ibis.cumulative_window(
        group_by=marked.person_id, order_by=[marked[c] for c in ORDER]))
    # a row's journey: the number of conversions strictly before it (so a conversion event
    # that is also a touch belongs to its own conversion)
    marked = marked.mutate(_seq=before - converted)
    conversions = marked.filter(marked._conv).select(
        "person_id", "_seq", _at=marked.timestamp, _value=marked._value)
    touches = marked.filter(marked._touch).select(
        "person_id", "_seq", "timestamp", "message_id", "_dim")
    joined = touches.left_join(conversions, KEYS)
    joined = joined.drop(*[c for c in joined.columns if c.endswith("_right")])
    last_touch = joined.timestamp.max().over(group_by=[joined.person_id, joined._seq])
    anchor = ibis.coalesce(joined._at, last_touch)
    lookback = ibis.interval(seconds=spec.lookback_days * SECONDS_PER_DAY)
    kept = joined.filter(joined.timestamp >= anchor - lookback)
    if spec.collapse_repeats:
        previous = kept._dim.lag().over(ibis.window(
            group_by=[kept.person_id, kept._seq], order_by=[kept[c] for c in ORDER]))
        kept = kept.filter(previous.isnull() | (previous != kept._dim))
    return Journeys(kept, conversions)


def path_table(found: Journeys) -> ir.Table:
    """One row per distinct path: ``path`` (an array of touchpoints; NULL for conversions
    with no touch), ``conversions``, ``value``, ``nulls``."""
    touches, conversions = found.touches, found.conversions
    per_journey = touches.group_by(KEYS).agg(
        path=touches._dim.collect(order_by=[touches[c] for c in ORDER]))
    converting = conversions.left_join(per_journey, KEYS).select(
        path="path", _won=ibis.literal(1, type="int64"), _value="_value")
    open_ = per_journey.anti_join(conversions, KEYS).select(
        path="path", _won=ibis.literal(0, type="int64"),
        _value=ibis.literal(0.0, type="float64"))
    both = converting.union(open_)
    return both.group_by("path").agg(conversions=both._won.sum(), value=both._value.sum(),
                                     nulls=(1 - both._won).sum())


def conversion_paths(source: EventSource, spec: AttributionSpec) -> ConversionPaths:
    """The spec's journeys, aggregated into distinct paths."""
    table = path_table(journeys(source, spec)).to_pyarrow()
    records = zip(table["path"].to_pylist(), table["conversions"].to_pylist(),
                  table["value"].to_pylist(), table["nulls"].to_pylist(), strict=True)
    return ConversionPaths.from_records(
        (path or (), conversions or 0, value or 0.0, nulls or 0)
        for path, conversions, value, nulls in records)


def time_decay(source: EventSource, spec: AttributionSpec) -> pd.DataFrame:
    """Time-decay attribution computed in the engine: ``touchpoint``, ``conversions``,
    ``value``. A touch ``t`` seconds before its conversion weighs ``2^(-t / half_life)``; each
    conversion is shared out in proportion to its touches' weights. Conversions with no touch
    are not in this table (the caller gives them to ``"(none)"``)."""
    found = journeys(source, spec)
    touches = found.touches.filter(found.touches._at.notnull())
    seconds = touches._at.delta(touches.timestamp, unit="microsecond").cast("float64") / 1e6
    weight = (seconds * -decay_rate(spec.half_life_days)).exp()
    touches = touches.mutate(_w=weight)
    share = touches._w / touches._w.sum().over(group_by=[touches.person_id, touches._seq])
    touches = touches.mutate(_share=share)
    out = touches.group_by(touchpoint=touches._dim).agg(
        conversions=touches._share.sum(), value=(touches._share * touches._value).sum())
    return out.to_pandas()


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
