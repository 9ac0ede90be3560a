"""Beyond the counts: who dropped, what they did next, two segments compared, correlations.

All of it starts from the chosen attempts (``_funnel_tables.chosen``) so that the numbers agree
with the funnel's own counts; every aggregate runs in Ibis, pandas only shapes the small
results.
"""

from __future__ import annotations

import math
from dataclasses import replace

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics._funnel_attempts import entity_events
from touchpath.analytics._funnel_spec import FunnelSpec
from touchpath.analytics.filters import Segment
from touchpath.analytics.frame import ORDER, person_properties
from touchpath.analytics.source import EventSource

NOTHING = "(nothing)"


def next_after_drop(source: EventSource, spec: FunnelSpec, picked: ir.Table,
                    top: int = 5) -> pd.DataFrame:
    """Per step reached but not passed: the events that came next (the first event of the
    same person/session/value after the last step's event; ``(nothing)`` if none), counted
    once per counted attempt, the ``top`` most frequent per step."""
    n = len(spec.steps)
    events = entity_events(source, spec)
    window = ibis.window(group_by=events.entity, order_by=[events[c] for c in ORDER])
    following = events.select(_fe=events.entity, _fm=events.message_id,
                              _next=events.event.lead(1).over(window)).view()
    dropped = picked.filter(picked.reached < n)
    joined = dropped.left_join(following, [dropped.entity == following._fe,
                                           dropped.last_msg == following._fm])
    joined = joined.select(step=joined.reached, next_event=joined._next.fill_null(NOTHING))
    data = joined.group_by(["step", "next_event"]).aggregate(count=joined.count()).to_pandas()
    if data.empty:
        return pd.DataFrame(columns=["step", "label", "next_event", "count", "share"])
    data = data.sort_values(["step", "count", "next_event"], ascending=[True, False, True])
    totals = data.groupby("step")["count"].transform("sum")
    data = data.assign(share=data["count"] / totals, label=data["step"].map(
        lambda k: spec.labels[int(k) - 1]))
    data = data.groupby("step", group_keys=False).head(top)
    return data[["step", "label", "next_event", "count", "share"]].reset_index(drop=True)


def dropped_ids(picked: ir.Table, step: int) -> list[str]:
    """Person ids whose counted attempt reached ``step`` and not the next one."""
    rows = picked.filter(picked.reached == step).select("person_id").distinct()
    return sorted(str(p) for p in rows.to_pyarrow()["person_id"].to_pylist())


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """Two-sided two-proportion z-test with the pooled proportion:
    ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))``, ``p = (x1 + x2) / (n1 + n2)``,
    p-value ``= erfc(|z| / sqrt 2)`` (both tails of the standard normal). ``None`` when a
    group is empty or every one (or no one) converted."""
    if n1 == 0 or n2 == 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None, None
    z = (x1 / n1 - x2 / n2) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def compare(counts_a: list[int], counts_b: list[int], labels: list[str],
            names: tuple[str, str]) -> pd.DataFrame:
    """Per step: counts and conversions of both segments, and the z-test of the conversion
    from the previous step and from step 1."""
    rows = []
    a_name, b_name = names
    for k in range(len(labels)):
        a, b = counts_a[k], counts_b[k]
        a_prev = counts_a[k - 1] if k else a
        b_prev = counts_b[k - 1] if k else b
        z, p = two_proportion_z(a, a_prev, b, b_prev) if k else (None, None)
        z1, p1 = two_proportion_z(a, counts_a[0], b, counts_b[0]) if k else (None, None)
        rows.append({
            "step": k + 1, "label": labels[k],
            f"count_{a_name}": a, f"count_{b_name}": b,
            f"conversion_from_previous_{a_name}": a / a_prev if a_prev else None,
            f"conversion_from_previous_{b_name}": b / b_prev if b_prev else None,
            "z": z, "p_value": p,
            f"conversion_{a_name}": a / counts_a[0] if counts_a[0] else None,
            f"conversion_{b_name}": b / counts_b[0] if counts_b[0] else None,
            "z_from_first": z1, "p_value_from_first": p1,
        })
    return pd.DataFrame(rows)


def with_segment(spec: FunnelSpec, segment: Segment) -> FunnelSpec:
    filters = replace(spec.filters, segments=(*spec.filters.segments, segment))
    return replace(spec, filters=filters, compare=(), correlation=False,
                   correlation_properties=(), breakdown=None,
                   trend=None)


def odds_ratio(success_with: int, failure_with: int, success_total: int,
               failure_total: int) -> float:
    """``((a + .5)(d + .5)) / ((b + .5)(c + .5))``: a, b = successes, failures with the
    factor; c, d = without (Haldane-Anscombe: 0.5 added to each cell)."""
    a, b = success_with, failure_with
    c, d = success_total - a, failure_total - b
    return ((a + 0.5) * (d + 0.5)) / ((b + 0.5) * (c + 0.5))


def correlation(source: EventSource, spec: FunnelSpec, picked: ir.Table,
                top: int = 20) -> pd.DataFrame:
    """Events (done during the attempt) and person property values that go with converting
    (reaching the last step) or not, by odds ratio; the funnel's own step events are left
    out. Each counted attempt counts once per factor."""
    n = len(spec.steps)
    outcome = picked.select(
        "entity", "person_id", "entry_ts", _ok=picked.reached >= n,
        _end=ibis.cases((picked.reached >= n, picked[f"t_{n}"]),
                        else_=picked.entry_ts + ibis.interval(seconds=spec.window_seconds)),
        _row=ibis.row_number().over(order_by=[picked.entity, picked.entry_ts,
                                              picked.entry_msg]),
    )
    totals = outcome.aggregate(s=outcome._ok.cast("int64").sum(), all=outcome.count())
    total = totals.to_pyarrow().to_pylist()[0]
    success_total = int(total["s"] or 0)
    failure_total = int(total["all"] or 0) - success_total
    step_names = {name for step in spec.steps if not step.matcher.any_event
                  for name in step.matcher.names}
    events = entity_events(source, spec)
    if step_names:
        events = events.filter(~events.event.isin(sorted(step_names)))
    events = events.select(_ee=events.entity, _et=events.timestamp, _name=events.event).view()
    during = outcome.inner_join(events, [outcome.entity == events._ee,
                                         events._et >= outcome.entry_ts,
                                         events._et <= outcome._end])
    done = during.select("_row", "_ok", factor=ibis.literal("event"), name=during._name,
                         value=ibis.null("string")).distinct()
    parts = [done]
    if spec.correlation_properties:
        props = person_properties(source.table("events"), list(spec.correlation_properties))
        for name in spec.correlation_properties:
            sel = props.select(_pp=props.person_id, _pv=props[name].cast("string")).view()
            joined = outcome.inner_join(sel, outcome.person_id == sel._pp)
            parts.append(joined.filter(joined._pv.notnull()).select(
                "_row", "_ok", factor=ibis.literal("person_property"),
                name=ibis.literal(name), value=joined._pv))
    factors = ibis.union(*parts) if len(parts) > 1 else parts[0]
    counted = factors.group_by(["factor", "name", "value"]).aggregate(
        success_with=factors._ok.cast("int64").sum(),
        failure_with=(~factors._ok).cast("int64").sum(),
    ).to_pandas()
    columns = ["factor", "name", "value", "success_with", "failure_with", "success_total",
               "failure_total", "odds_ratio", "direction"]
    if counted.empty:
        return pd.DataFrame(columns=columns)
    counted["success_with"] = counted["success_with"].astype("int64")
    counted["failure_with"] = counted["failure_with"].astype("int64")
    counted["success_total"] = success_total
    counted["failure_total"] = failure_total
    counted["odds_ratio"] = [
        odds_ratio(int(r.success_with), int(r.failure_with), success_total, failure_total)
        for r in counted.itertuples()]
    counted["direction"] = ["more likely" if r >= 1 else "less likely"
                            for r in counted["odds_ratio"]]
    counted["_strength"] = [abs(math.log(r)) for r in counted["odds_ratio"]]
    counted = counted.sort_values(["_strength", "factor", "name", "value"],
                                  ascending=[False, True, True, True], na_position="first")
    return counted.head(top)[columns].reset_index(drop=True)

