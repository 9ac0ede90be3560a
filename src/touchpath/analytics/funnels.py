"""Funnels: how many people (sessions, orders) go through a sequence of steps, and how fast.

>>> from touchpath.analytics.funnels import FunnelSpec, FunnelStep, run_funnel
>>> spec = FunnelSpec(steps=(FunnelStep("Product Viewed"), FunnelStep("Order Completed")))
>>> result = run_funnel(store, spec)                     # doctest: +SKIP
>>> result.frame                                         # doctest: +SKIP

The rules (window, order, ties, exclusions, unique and every conversions, breakdown
attribution) are in ``docs/funnels.md``. The spec lives in ``_funnel_spec``, the engine in
``_funnel_attempts`` and the aggregates in ``_funnel_tables``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics._funnel_attempts import attempts
from touchpath.analytics._funnel_more import (
    compare,
    correlation,
    dropped_ids,
    next_after_drop,
    two_proportion_z,
    with_segment,
)
from touchpath.analytics._funnel_spec import (
    Breakdown,
    Exclusion,
    FunnelSpec,
    FunnelStep,
)
from touchpath.analytics._funnel_tables import (
    NONE,
    aggregates,
    chosen,
    histogram,
    step_rows,
    time_to_convert,
    trend,
)
from touchpath.analytics.filters import PersonList, Segment
from touchpath.analytics.frame import check_events
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import zone_of
from touchpath.errors import ValidationError

__all__ = [
    "Breakdown",
    "Exclusion",
    "FunnelResult",
    "FunnelSpec",
    "FunnelStep",
    "compare_funnel",
    "drop_off_next_events",
    "dropped_persons",
    "funnel_attempts",
    "funnel_correlation",
    "run_funnel",
    "two_proportion_z",
]


@dataclass(frozen=True)
class FunnelResult(AnalysisResult):
    """A funnel's result.

    ``frame``: one row per step (per breakdown value and step with a breakdown): ``count``,
    ``conversion`` (from step 1), ``conversion_from_previous``, ``dropped`` (reached this step
    but not the next), median and mean seconds from the previous step. ``summary``:
    ``entered``, ``converted``, ``conversion``. ``tables``: ``time_to_convert``
    (percentiles per step pair), ``histogram``, ``overall`` (with a breakdown) and ``trend``.
    """

    kind: ClassVar[str] = "funnel"

    @property
    def entered(self) -> int:
        return int(self.summary["entered"])

    @property
    def converted(self) -> int:
        return int(self.summary["converted"])

    @property
    def conversion(self) -> float | None:
        value = self.summary["conversion"]
        return None if value is None else float(value)

    def counts(self, breakdown: str | None = None) -> list[int]:
        """People (sessions, values) at each step, overall or for one breakdown value."""
        frame = self.frame if breakdown is not None else self.tables.get("overall", self.frame)
        if breakdown is not None:
            frame = frame[frame["breakdown"] == breakdown]
        return [int(c) for c in frame.sort_values("step")["count"]]

    def figure(self) -> Any:
        """A Plotly funnel chart, one trace per breakdown value."""
        import plotly.graph_objects as go

        fig = go.Figure()
        if "breakdown" in self.frame.columns:
            for value, part in self.frame.groupby("breakdown", sort=False):
                fig.add_trace(go.Funnel(name=str(value), y=list(part["label"]),
                                        x=list(part["count"]), textinfo="value+percent initial"))
        else:
            fig.add_trace(go.Funnel(name="all", y=list(self.frame["label"]),
                                    x=list(self.frame["count"]),
                                    textinfo="value+percent initial"))
        fig.update_layout(title="Funnel")
        return fig


def _check(source: EventSource, spec: FunnelSpec) -> None:
    matchers = {f"steps[{i}]": step.matcher for i, step in enumerate(spec.steps)}
    matchers.update({f"exclusions[{i}]": ex.matcher for i, ex in enumerate(spec.exclusions)})
    check_events(source, matchers)


def funnel_attempts(source: EventSource, spec: FunnelSpec) -> ir.Table:
    """The funnel's attempts as an Ibis table (one row per attempt; see ``docs/funnels.md``):
    ``unit``, ``person_id``, ``entry_ts``, ``reached``, ``t_1..t_n``, ``group``, ``last_msg``."""
    _check(source, spec)
    return attempts(source, spec)


def _grouped(table: ir.Table) -> ir.Table:
    return table.mutate(breakdown=table.group.fill_null(NONE))


@register("funnel", FunnelSpec, "How many people go through a series of steps, where they "
          "drop, how long it takes.")
def run_funnel(source: EventSource, spec: FunnelSpec) -> FunnelResult:
    """Run a funnel on an event source (the store, or a :class:`TableSource`)."""
    table = funnel_attempts(source, spec)
    picked = chosen(table, spec, [])
    data = aggregates(picked, spec, [], full=True)
    overall = step_rows(data, spec, [])
    tables: dict[str, pd.DataFrame] = {
        "time_to_convert": time_to_convert(data, spec),
        "histogram": histogram(data, spec),
    }
    frame = overall
    if spec.breakdown is not None:
        split = _grouped(table)
        by = ["breakdown"]
        frame = step_rows(aggregates(chosen(split, spec, by), spec, by, full=False), spec, by)
        firsts = frame[frame.step == 1].sort_values(["count", "breakdown"],
                                                     ascending=[False, True])
        rank = {value: i for i, value in enumerate(firsts["breakdown"])}
        frame = frame.assign(_rank=frame["breakdown"].map(rank)) \
            .sort_values(["_rank", "step"]).drop(columns="_rank").reset_index(drop=True)
        tables["overall"] = overall
    if spec.trend is not None:
        tables["trend"] = trend(table, spec, spec.trend,
                                zone_of(source, spec.filters.timezone))
    if spec.drop_off:
        tables["drop_off_next"] = next_after_drop(source, spec, picked)
    if spec.compare:
        tables["compare"] = compare_funnel(source, spec, spec.compare[0], spec.compare[1])
    if spec.correlation:
        tables["correlation"] = correlation(source, spec, picked)
    counts = list(overall["count"])
    entered = int(counts[0]) if counts else 0
    converted = int(counts[-1]) if counts else 0
    summary = {
        "entered": entered,
        "converted": converted,
        "conversion": converted / entered if entered else None,
        "steps": len(spec.steps),
        "count_by": spec.count_by,
        "conversions": spec.conversions,
    }
    return FunnelResult(spec=spec, frame=frame, summary=summary, tables=tables)



def dropped_persons(source: EventSource, spec: FunnelSpec, step: int) -> PersonList:
    """The people who reached ``step`` (from 1) but not the next one, as a segment
    (``save_segment(store, "dropped at cart", dropped_persons(...))``).

    With ``unique`` conversions a person (session, value) is judged by the counted attempt,
    so the list has ``dropped`` people of the result's row ``step`` (for persons). With
    ``every``, a person with any attempt that stopped at ``step`` is in it.
    """
    if not 1 <= step < len(spec.steps):
        raise ValidationError(f"a step from 1 to {len(spec.steps) - 1} (the last step has "
                              "no next one)", field="step")
    picked = chosen(funnel_attempts(source, spec), spec, [])
    return PersonList(tuple(dropped_ids(picked, step)))


def drop_off_next_events(source: EventSource, spec: FunnelSpec, top: int = 5) -> pd.DataFrame:
    """What people did next after the last step they reached: per step, the ``top`` first
    events after that step's event (``(nothing)`` when there was none), with counts."""
    return next_after_drop(source, spec, chosen(funnel_attempts(source, spec), spec, []), top)


def compare_funnel(source: EventSource, spec: FunnelSpec, segment_a: Segment,
                   segment_b: Segment, names: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """The funnel in two segments, step by step, with a two-proportion z-test of each step's
    conversion from the previous step (``p_value``) and from step 1 (``p_value_from_first``);
    see :func:`two_proportion_z`."""
    counts = []
    for segment in (segment_a, segment_b):
        narrowed = with_segment(spec, segment)
        picked = chosen(funnel_attempts(source, narrowed), narrowed, [])
        data = aggregates(picked, narrowed, [], full=False)
        counts.append(list(step_rows(data, narrowed, [])["count"]))
    return compare(counts[0], counts[1], spec.labels, names)


def funnel_correlation(source: EventSource, spec: FunnelSpec, top: int = 20) -> pd.DataFrame:
    """Events done during an attempt (and the person properties named in
    ``spec.correlation_properties``) that make converting more or less likely: counts of
    converted and not converted attempts with the factor, and the odds ratio with 0.5 added
    to each cell, strongest first."""
    return correlation(source, spec, chosen(funnel_attempts(source, spec), spec, []), top)
