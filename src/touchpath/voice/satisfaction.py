"""Satisfaction: NPS, CSAT or CES of survey answers, per stage, touchpoint, channel, survey,
language, period, segment or any property, each with its number of answers, a confidence
interval and a small-sample flag.

>>> from touchpath.voice.satisfaction import SatisfactionSpec, run_satisfaction
>>> run_satisfaction(store, SatisfactionSpec("nps", breakdown="touchpoint")).frame
... # doctest: +SKIP

Answers are the ``Survey Answered`` events the analysis sees (after the spec's filters); the
metric reads those whose ``survey`` property is the metric's survey type (``nps`` for NPS,
``csat`` for CSAT, ``ces`` for CES, ``rating`` for ``mean``). The per-group arithmetic is
:mod:`touchpath.voice.metrics` on score counts the engine aggregates. Rules and definitions:
``docs/voice-metrics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.filters import EVENT_COLUMNS, JSON_COLUMNS, Filters
from touchpath.analytics.filters import Segment as SegmentRule
from touchpath.analytics.frame import (
    date_bounds,
    json_text,
    person_properties,
    property_value,
    scoped_events,
    segment_persons,
)
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import DEFAULT_ZONE, to_local, zone_of
from touchpath.errors import ValidationError
from touchpath.voice.metrics import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MIN_N,
    DEFAULT_SCALES,
    METRICS,
    SURVEY_OF_METRIC,
    MetricName,
    MetricValue,
    metric_value,
)

ANSWER_EVENT = "Survey Answered"
NONE = "(none)"
Period = Literal["day", "week", "month"]
TRUNCATE = {"day": "D", "week": "W", "month": "M"}
NAMED_BREAKDOWNS: dict[str, str] = {
    "stage": "properties.stage", "touchpoint": "properties.touchpoint",
    "survey": "properties.survey_id", "language": "properties.language", "channel": "channel",
}
"""Breakdown names and the answer property each reads."""
SPECIAL_BREAKDOWNS = ("period", "segment")
DEFINITIONS = {
    "nps": "NPS (Bain): % promoters (9-10) - % detractors (0-6), scale 0-10, -100..100",
    "csat": "CSAT: share of 4-5 answers (top-two-box) on the 1-5 scale, percent",
    "csat_mean": "CSAT mean score on the 1-5 scale",
    "ces": "CES 2.0: mean on the 1-7 agreement scale (7 = easiest)",
    "ces_share": "CES 2.0: share of 5-7 answers on the 1-7 scale, percent",
    "mean": "mean rating on the rating scale",
}


@dataclass(frozen=True)
class NamedSegment:
    """A segment compared by ``breakdown="segment"``: its rows are labelled ``name``."""

    name: str
    segment: SegmentRule

    def __post_init__(self) -> None:
        if not self.name:
            raise ValidationError("needs a name", field="name")


def check_breakdown(breakdown: str | None, field: str = "breakdown") -> None:
    """Raise, naming ``field``, unless ``breakdown`` is a breakdown satisfaction knows."""
    if breakdown is None or breakdown in NAMED_BREAKDOWNS or breakdown in SPECIAL_BREAKDOWNS:
        return
    head, _, rest = breakdown.partition(".")
    if breakdown in EVENT_COLUMNS or (rest and head in JSON_COLUMNS):
        return
    if head == "person" and rest and "." not in rest:
        return
    known = ", ".join([*NAMED_BREAKDOWNS, *SPECIAL_BREAKDOWNS])
    raise ValidationError(
        f"unknown breakdown {breakdown!r}: use one of {known}, an event column, "
        "properties.<key> / context.<key> / traits.<key>, or person.<trait | initial_*>",
        field=field)


@dataclass(frozen=True)
class SatisfactionSpec:
    """One survey metric, optionally per group.

    ``metric``: ``nps``, ``csat`` (top-two-box), ``csat_mean``, ``ces`` (mean), ``ces_share``
    (share of 5-7) or ``mean`` (rating answers). ``survey_ids``: only these surveys (empty:
    every survey of the metric's type). ``breakdown``: ``stage``, ``touchpoint``, ``channel``
    (the answer event's channel), ``survey`` (survey id), ``language``, ``period`` (of the
    answer, by ``period``), ``segment`` (one row per entry of ``segments``; a person may be
    in several), an event column or ``properties.<key>`` of the answer, or
    ``person.<trait | initial_*>``. ``confidence``: of the intervals; ``min_n``: fewer
    answers than this and a row is flagged ``small_sample``.
    """

    metric: MetricName = "nps"
    survey_ids: tuple[str, ...] = ()
    breakdown: str | None = None
    period: Period = "month"
    segments: tuple[NamedSegment, ...] = ()
    confidence: float = DEFAULT_CONFIDENCE
    min_n: int = DEFAULT_MIN_N
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValidationError(f"unknown metric {self.metric!r}; metrics: "
                                  f"{', '.join(METRICS)}", field="metric")
        check_breakdown(self.breakdown)
        if self.breakdown == "segment" and not self.segments:
            raise ValidationError("breakdown 'segment' needs at least one named segment",
                                  field="segments")
        if self.segments and self.breakdown != "segment":
            raise ValidationError("segments are for breakdown 'segment'", field="segments")
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValidationError("segment names must differ", field="segments")
        if not 0 < self.confidence < 1:
            raise ValidationError("must be between 0 and 1 (e.g. 0.95)", field="confidence")
        if self.min_n < 1:
            raise ValidationError("must be at least 1", field="min_n")
        if any(not s for s in self.survey_ids):
            raise ValidationError("survey ids cannot be empty", field="survey_ids")


@dataclass(frozen=True)
class SatisfactionResult(AnalysisResult):
    """``frame``: one row per group (the breakdown's column, then ``value``, ``n``,
    ``ci_low``, ``ci_high``, ``small_sample`` and the parts: ``promoters``, ``passives``,
    ``detractors`` (percent) for NPS, ``counted`` for a share, ``sd`` for a mean); without a
    breakdown one row, ``all``. ``summary``: the metric over every answer, its definition,
    scale, unit, interval method and the answers left out (``excluded``)."""

    kind: ClassVar[str] = "satisfaction"

    @property
    def overall(self) -> MetricValue:
        """The metric over every answer the analysis counted."""
        s = self.summary
        return MetricValue(s["metric"], s["value"], s["n"], s["ci_low"], s["ci_high"],
                           s["confidence"], s["ci_method"], s["scale_min"], s["scale_max"],
                           s["unit"], s["small_sample"], dict(s["parts"]))

    def figure(self) -> Any:
        import plotly.graph_objects as go

        frame = self.frame
        label = frame.columns[0]
        values = frame["value"].astype("float64")
        fig = go.Figure(go.Bar(
            x=frame[label].astype(str), y=values,
            error_y={"type": "data", "symmetric": False,
                     "array": frame["ci_high"].astype("float64") - values,
                     "arrayminus": values - frame["ci_low"].astype("float64")},
            marker_color=["#bbbbbb" if s else "#2a6fdb" for s in frame["small_sample"]],
            customdata=frame["n"], hovertemplate="%{x}: %{y:.1f} (n=%{customdata})"))
        fig.update_layout(title=f"{self.spec.metric} by {label} (grey: small sample)",
                          yaxis_title=self.summary.get("unit", ""))
        return fig


def answers(source: EventSource, filters: Filters, survey_types: tuple[str, ...] = (),
            survey_ids: tuple[str, ...] = ()) -> ir.Table:
    """The answers an analysis sees: ``Survey Answered`` events after ``filters``, of these
    survey types and ids (empty: all), with ``_survey``, ``_survey_id``, ``_score`` (NULL
    unless a number), ``_scale_min``/``_scale_max`` (the answer's, else the type's default)."""
    events = scoped_events(source, filters)
    rows = events.filter(events.event == ANSWER_EVENT)
    survey = json_text(rows, "properties", "survey")
    rows = rows.mutate(
        _survey=survey, _survey_id=json_text(rows, "properties", "survey_id"),
        _score=json_text(rows, "properties", "score").try_cast("float64"),
        _scale_min=json_text(rows, "properties", "scale_min").try_cast("float64")
        .fill_null(_default_scale(survey, 0)),
        _scale_max=json_text(rows, "properties", "scale_max").try_cast("float64")
        .fill_null(_default_scale(survey, 1)))
    if survey_types:
        rows = rows.filter(rows._survey.isin(list(survey_types)))
    if survey_ids:
        rows = rows.filter(rows._survey_id.isin(list(survey_ids)))
    return rows


def _default_scale(survey: ir.StringValue, end: int) -> ir.FloatingValue:
    cases = [(survey == kind, float(scale[end])) for kind, scale in DEFAULT_SCALES.items()]
    return ibis.cases(*cases, else_=ibis.null("float64"))


def group_value(source: EventSource, rows: ir.Table, breakdown: str, period: str,
                zone: str = DEFAULT_ZONE) -> ir.Table:
    """``rows`` with ``_group``: the breakdown's value as text, ``(none)`` when missing (the
    period's first day in ``zone`` for ``period``)."""
    if breakdown == "period":
        return rows.mutate(_group=to_local(rows.timestamp, zone).truncate(TRUNCATE[period]))
    if breakdown.startswith("person."):
        name = breakdown.removeprefix("person.")
        everyone = source.table("events")
        props = person_properties(everyone.semi_join(rows.select("person_id").distinct(),
                                                     "person_id"), [name])
        props = props.select("person_id", _group=props[name].cast("string"))
        joined = rows.left_join(props, "person_id").drop("person_id_right")
        return joined.mutate(_group=joined._group.fill_null(NONE))
    column = NAMED_BREAKDOWNS.get(breakdown, breakdown)
    value = property_value(rows, column).cast("string")
    return rows.mutate(_group=value.fill_null(NONE))


def score_counts(rows: ir.Table, by: list[str]) -> pd.DataFrame:
    """How many answers gave each (score, scale) per group: the only thing fetched."""
    grouped = rows.group_by([*by, "_score", "_scale_min", "_scale_max"]).agg(_n=rows.count())
    return grouped.to_pandas()


def _measure(counts: pd.DataFrame, spec: SatisfactionSpec, scale: tuple[float, float]
             ) -> MetricValue:
    return metric_value(spec.metric, counts["_score"].to_numpy(), counts["_n"].to_numpy(),
                        scale=scale, confidence=spec.confidence, min_n=spec.min_n)


def _scale_of(counts: pd.DataFrame, spec: SatisfactionSpec) -> tuple[float, float]:
    survey = SURVEY_OF_METRIC[spec.metric]
    if survey != "rating":
        low, high = DEFAULT_SCALES[survey]
        return float(low), float(high)
    scales = counts.groupby(["_scale_min", "_scale_max"], dropna=False)["_n"].sum()
    scales = scales[scales > 0]
    if len(scales) > 1:
        listed = ", ".join(f"{a:g}-{b:g}" for a, b in scales.index)
        raise ValidationError(f"rating answers on several scales ({listed}): pick surveys of "
                              "one scale", field="survey_ids")
    if len(scales) == 1:
        low, high = scales.index[0]
        return float(low), float(high)
    low, high = DEFAULT_SCALES["rating"]
    return float(low), float(high)


def _usable(counts: pd.DataFrame, scale: tuple[float, float]) -> tuple[pd.DataFrame,
                                                                       dict[str, int]]:
    """Answers on the metric's scale with a score on it; the others counted by reason."""
    on_scale = (counts["_scale_min"] == scale[0]) & (counts["_scale_max"] == scale[1])
    scored = counts["_score"].notna()
    inside = scored & (counts["_score"] >= scale[0]) & (counts["_score"] <= scale[1])
    excluded = {
        "other_scale": int(counts.loc[~on_scale, "_n"].sum()),
        "no_score": int(counts.loc[on_scale & ~scored, "_n"].sum()),
        "outside_scale": int(counts.loc[on_scale & scored & ~inside, "_n"].sum()),
    }
    return counts[on_scale & inside], excluded


def _row(label: str, group: Any, value: MetricValue) -> dict[str, Any]:
    return {label: group, "value": value.value, "n": value.n, "ci_low": value.ci_low,
            "ci_high": value.ci_high, "small_sample": value.small_sample, **value.parts}


@register("satisfaction", SatisfactionSpec, "NPS, CSAT or CES of survey answers per stage, "
          "touchpoint, channel, survey, language, period, segment or property, with the number "
          "of answers, a confidence interval and small samples flagged.")
def run_satisfaction(source: EventSource, spec: SatisfactionSpec) -> SatisfactionResult:
    """Run a satisfaction analysis (see :class:`SatisfactionSpec`)."""
    rows = answers(source, spec.filters, (SURVEY_OF_METRIC[spec.metric],), spec.survey_ids)
    breakdown = spec.breakdown
    label = breakdown or "group"
    if breakdown == "segment":
        _, end = date_bounds(spec.filters.date_range,
                             zone=zone_of(source, spec.filters.timezone))
        parts = []
        for named in spec.segments:
            persons, negate = segment_persons(source, named.segment, end)
            inside = (rows.anti_join if negate else rows.semi_join)(persons, "person_id")
            part = score_counts(inside, [])
            part["_group"] = named.name
            parts.append(part)
        counts = pd.concat(parts, ignore_index=True)
        all_counts = score_counts(rows, [])
    elif breakdown is not None:
        counts = score_counts(group_value(source, rows, breakdown, spec.period,
                                          zone_of(source, spec.filters.timezone)), ["_group"])
        all_counts = counts
    else:
        counts = score_counts(rows, [])
        counts["_group"] = "all"
        all_counts = counts
    scale = _scale_of(all_counts, spec)
    usable, excluded = _usable(all_counts, scale)
    overall = _measure(usable, spec, scale)
    used, _ = _usable(counts, scale)
    order = [named.name for named in spec.segments] if breakdown == "segment" else None
    table = []
    for group, part in used.groupby("_group", sort=False):
        table.append(_row(label, group, _measure(part, spec, scale)))
    parts_columns = list(overall.parts) or ["promoters", "passives", "detractors"]
    columns = [label, "value", "n", "ci_low", "ci_high", "small_sample", *parts_columns]
    frame = pd.DataFrame(table, columns=columns)
    if order is not None:
        frame = frame.set_index(label).reindex(
            [g for g in order if g in set(frame[label])]).reset_index()
    elif breakdown == "period":
        frame = frame.sort_values(label, kind="stable").reset_index(drop=True)
    else:
        frame = frame.sort_values(["n", label], ascending=[False, True],
                                  kind="stable").reset_index(drop=True)
    summary = {
        "metric": spec.metric, "definition": DEFINITIONS[spec.metric], "unit": overall.unit,
        "scale_min": scale[0], "scale_max": scale[1], "ci_method": overall.ci_method,
        "confidence": spec.confidence, "min_n": spec.min_n, "value": overall.value,
        "n": overall.n, "ci_low": overall.ci_low, "ci_high": overall.ci_high,
        "small_sample": overall.small_sample, "parts": overall.parts, "excluded": excluded,
    }
    return SatisfactionResult(spec, frame, summary)
