"""Drivers: what goes with unhappy answers and what with happy ones.

Each answer of the metric's survey type is *low* (NPS detractor 0-6, CSAT 1-2, CES 1-3) or
*high* (promoter 9-10, CSAT 4-5, CES 5-7); passives and midpoints count in the metric but in
neither group. A candidate factor is something an answer has: an event or a channel the person
met in the ``lookback_days`` before the answer, the answer's last events before it (a path),
its touchpoint, or a property of the answer or of the person. Per factor: the share of low
answers that have it against the share of high answers that have it, their difference with a
Newcombe interval, the lift (ratio), Fisher's exact test and the metric with and without it.

>>> from touchpath.voice.drivers import DriversSpec, run_drivers
>>> run_drivers(store, DriversSpec("nps")).frame.head()                   # doctest: +SKIP

The per-answer work (answers, the events before each, the factors) is Ibis over
:func:`~touchpath.analytics.frame.scoped_events`; pandas only sees one row per factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats

from touchpath.analytics.filters import Filters
from touchpath.analytics.frame import ORDER, person_properties, property_value, scoped_events
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.errors import ValidationError
from touchpath.voice.metrics import DEFAULT_CONFIDENCE, DEFAULT_SCALES, wilson_interval
from touchpath.voice.satisfaction import ANSWER_EVENT, NONE, answers, check_breakdown

FactorKind = Literal["event", "channel", "path", "touchpoint"]
ARROW = " → "
DAY = 24 * 3600
COLUMNS = ["kind", "factor", "answers", "low_with", "high_with", "share_low", "share_high",
           "difference", "ci_low", "ci_high", "lift", "p_value", "q_value", "metric_with",
           "metric_without", "direction"]
ANSWER_PROPERTIES = {"stage": "properties.stage", "survey": "properties.survey_id",
                     "language": "properties.language", "touchpoint": "properties.touchpoint"}
"""Short names of answer properties a driver may test."""
BANDS = {
    "nps": "low: detractors (0-6), high: promoters (9-10)",
    "csat": "low: 1-2, high: 4-5 (of 1-5)",
    "ces": "low: 1-3, high: 5-7 (of 1-7)",
}


@dataclass(frozen=True)
class DriversSpec:
    """Which factors go with low versus high answers of ``metric`` (``nps``, ``csat``, ``ces``).

    ``factors``: the kinds of candidate to test (besides ``properties``);
    ``lookback_days``: how far before an answer its events and channels count (the answer's
    own time excluded, the earlier bound included); ``path_length``: how many of the last
    events before the answer form its path;
    ``properties``: answer properties (``properties.<key>``, an event column) or person
    properties (``person.<trait | initial_*>``) to test, each value a factor;
    ``min_answers``: a factor met by fewer answers is not reported. ``survey_ids`` and
    ``filters`` as in satisfaction (the filters narrow the events before the answers too).
    """

    metric: Literal["nps", "csat", "ces"] = "nps"
    survey_ids: tuple[str, ...] = ()
    factors: tuple[FactorKind, ...] = ("event", "channel", "path", "touchpoint")
    lookback_days: int = 30
    path_length: int = 2
    properties: tuple[str, ...] = ()
    min_answers: int = 5
    confidence: float = DEFAULT_CONFIDENCE
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        if not self.factors and not self.properties:
            raise ValidationError("needs at least one kind of factor", field="factors")
        if len(set(self.factors)) != len(self.factors):
            raise ValidationError("lists a kind twice", field="factors")
        if self.lookback_days < 1:
            raise ValidationError("must be at least 1", field="lookback_days")
        if not 1 <= self.path_length <= 5:
            raise ValidationError("must be from 1 to 5", field="path_length")
        for i, name in enumerate(self.properties):
            field = f"properties[{i}]"
            if name in ("period", "segment"):
                raise ValidationError(f"{name!r} is not a property of an answer", field=field)
            if name in self.properties[:i]:
                raise ValidationError(f"{name!r} is listed twice", field=field)
            if name == "touchpoint" and "touchpoint" in self.factors:
                raise ValidationError("the touchpoint factor already tests it", field=field)
            if name not in ANSWER_PROPERTIES:
                check_breakdown(name, field=field)
        if self.min_answers < 1:
            raise ValidationError("must be at least 1", field="min_answers")
        if not 0 < self.confidence < 1:
            raise ValidationError("must be between 0 and 1 (e.g. 0.95)", field="confidence")


@dataclass(frozen=True)
class DriversResult(AnalysisResult):
    """``frame``: one row per factor (``kind``, ``factor``), most detractor-like first:
    ``answers`` with it, ``low_with``/``high_with`` (low and high answers with it),
    ``share_low``/``share_high`` (percent of all low / high answers), ``difference``
    (points) with ``ci_low``/``ci_high``, ``lift`` (share_low / share_high), ``p_value``
    (Fisher's exact test, two-sided), ``q_value`` (Benjamini-Hochberg over the rows),
    ``metric_with``/``metric_without`` and ``direction`` (``low`` or ``high`` when the
    interval excludes 0, else ``unclear``). ``summary``: the answers per band and the bands'
    definitions."""

    kind: ClassVar[str] = "drivers"

    def figure(self) -> Any:
        import plotly.graph_objects as go

        frame = self.frame.head(20).iloc[::-1]
        labels = frame["kind"] + ": " + frame["factor"]
        fig = go.Figure(go.Bar(
            x=frame["difference"], y=labels, orientation="h",
            error_x={"type": "data", "symmetric": False,
                     "array": frame["ci_high"] - frame["difference"],
                     "arrayminus": frame["difference"] - frame["ci_low"]},
            marker_color=["#d9534f" if d > 0 else "#2a9d5c" for d in frame["difference"]]))
        fig.update_layout(title=f"{self.spec.metric}: share among low minus share among high "
                                "answers (points)", xaxis_title="difference (points)")
        return fig


def _bands(rows: ir.Table, metric: str, properties: tuple[str, ...]) -> ir.Table:
    """Usable answers (on the type's scale, a score on it) with ``_band``: -1 low, 0, 1 high,
    and ``_p<i>``: the answer's value of each answer property of ``properties``."""
    low, high = DEFAULT_SCALES[metric]
    score = rows._score
    rows = rows.filter((rows._scale_min == low) & (rows._scale_max == high) & score.notnull()
                       & (score >= low) & (score <= high))
    if metric == "nps":
        band = ibis.cases((rows._score <= 6, -1), (rows._score >= 9, 1), else_=0)
    else:
        middle = (low + high) / 2
        band = ibis.cases((rows._score < middle, -1), (rows._score > middle, 1), else_=0)
    return rows.select("person_id", _aid=rows.message_id, _at=rows.timestamp,
                       _score=rows._score, _band=band,
                       _touchpoint=property_value(rows, "properties.touchpoint")
                       .cast("string"), **{
                           f"_p{i}": property_value(rows, ANSWER_PROPERTIES.get(name, name))
                           .cast("string").fill_null(NONE)
                           for i, name in enumerate(properties)
                           if not name.startswith("person.")})


def _before(events: ir.Table, scored: ir.Table, lookback_days: int) -> ir.Table:
    """Each answer's events in the lookback before it (answers themselves left out)."""
    others = events.filter(events.event != ANSWER_EVENT)
    a = scored.select("person_id", "_aid", "_at")
    joined = a.join(others, [
        a.person_id == others.person_id,
        others.timestamp >= a._at - ibis.interval(seconds=lookback_days * DAY),
        (others.timestamp < a._at) | ((others.timestamp == a._at) & (others.message_id < a._aid)),
    ])
    return joined.select(person_id=a.person_id, _aid=a._aid, event=others.event,
                         channel=others.channel, timestamp=others.timestamp,
                         message_id=others.message_id)


def _paths(before: ir.Table, length: int) -> ir.Table:
    order = [ibis.desc(before[c]) for c in ORDER]
    ranked = before.mutate(_rank=ibis.row_number().over(
        group_by=[before.person_id, before._aid], order_by=order))
    ranked = ranked.filter(ranked._rank < length)
    parts = ranked.group_by("person_id", "_aid").agg(**{
        f"_e{j}": ranked.event.max(where=ranked._rank == j) for j in range(length)})
    path: ir.StringValue = parts._e0
    for j in range(1, length):
        step = parts[f"_e{j}"]
        path = ibis.ifelse(step.isnull(), path, step + ARROW + path)
    return parts.select("person_id", "_aid", _kind=ibis.literal("path"), _value=path)


def _factors(source: EventSource, spec: DriversSpec, events: ir.Table, scored: ir.Table
             ) -> ir.Table:
    """One row per (answer, factor) it has: ``person_id``, ``_aid``, ``_kind``, ``_value``."""
    pieces: list[ir.Table] = []
    needs_before = {"event", "channel", "path"} & set(spec.factors)
    before = _before(events, scored, spec.lookback_days) if needs_before else None
    if before is not None and "event" in spec.factors:
        pieces.append(before.select("person_id", "_aid", _kind=ibis.literal("event"),
                                    _value=before.event).distinct())
    if before is not None and "channel" in spec.factors:
        touched = before.filter(before.channel.notnull())
        pieces.append(touched.select("person_id", "_aid", _kind=ibis.literal("channel"),
                                     _value=touched.channel).distinct())
    if before is not None and "path" in spec.factors:
        pieces.append(_paths(before, spec.path_length))
    if "touchpoint" in spec.factors:
        pieces.append(scored.select("person_id", "_aid", _kind=ibis.literal("touchpoint"),
                                    _value=scored._touchpoint.fill_null(NONE)))
    for i, name in enumerate(spec.properties):
        pieces.append(_property(source, scored, name, i))
    # the same schema for every piece (the store's columns are NOT NULL, derived ones are not)
    pieces = [p.select(person_id=p.person_id.cast("string"), _aid=p._aid.cast("string"),
                       _kind=p._kind.cast("string"), _value=p._value.cast("string"))
              for p in pieces]
    union = pieces[0]
    for piece in pieces[1:]:
        union = union.union(piece, distinct=False)
    return union


def _property(source: EventSource, scored: ir.Table, name: str, i: int) -> ir.Table:
    if not name.startswith("person."):
        return scored.select("person_id", "_aid", _kind=ibis.literal(name),
                             _value=scored[f"_p{i}"])
    trait = name.removeprefix("person.")
    everyone = source.table("events")
    props = person_properties(everyone.semi_join(scored.select("person_id").distinct(),
                                                 "person_id"), [trait])
    props = props.select(_person=props.person_id, _value=props[trait].cast("string"))
    joined = scored.left_join(props, scored.person_id == props._person)
    return joined.select("person_id", "_aid", _kind=ibis.literal(name),
                         _value=joined._value.fill_null(NONE))


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, confidence: float
                      ) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``x1/n1 - x2/n2`` (Newcombe 1998, Statistics in
    Medicine 17, 873-890, method 10), from the two Wilson intervals."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    return (d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def _metric(metric: str, low: float, mid: float, high: float, total: float) -> float | None:
    n = low + mid + high
    if n <= 0:
        return None
    if metric == "nps":
        return 100 * (high - low) / n
    if metric == "csat":
        return 100 * high / n  # top-two-box: the high band is 4-5
    return total / n  # CES: the mean


def benjamini_hochberg(p_values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input's order."""
    m = len(p_values)
    if m == 0:
        return p_values
    order = np.argsort(p_values)
    ranked = p_values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(adjusted, 1.0)
    return q


def _rows(counts: pd.DataFrame, totals: dict[str, float], spec: DriversSpec) -> pd.DataFrame:
    n_low, n_mid, n_high, total = (totals[k] for k in ("low", "mid", "high", "total"))
    rows = []
    for record in counts.to_dict(orient="records"):
        low, mid, high = int(record["low"]), int(record["mid"]), int(record["high"])
        if low + mid + high < spec.min_answers:
            continue
        share_low = low / n_low if n_low else math.nan
        share_high = high / n_high if n_high else math.nan
        if n_low and n_high:
            ci = newcombe_interval(low, int(n_low), high, int(n_high), spec.confidence)
            p_value = float(stats.fisher_exact(
                [[low, n_low - low], [high, n_high - high]]).pvalue)
        else:
            ci, p_value = (math.nan, math.nan), math.nan
        difference = share_low - share_high
        lift = (share_low / share_high if share_high else math.inf if share_low else math.nan)
        rows.append({
            "kind": record["_kind"], "factor": record["_value"], "answers": low + mid + high,
            "low_with": low, "high_with": high, "share_low": 100 * share_low,
            "share_high": 100 * share_high, "difference": 100 * difference,
            "ci_low": 100 * ci[0], "ci_high": 100 * ci[1], "lift": lift, "p_value": p_value,
            "metric_with": _metric(spec.metric, low, mid, high, float(record["total"])),
            "metric_without": _metric(spec.metric, n_low - low, n_mid - mid, n_high - high,
                                      total - float(record["total"])),
            "direction": ("low" if ci[0] > 0 else "high" if ci[1] < 0 else "unclear"),
        })
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "q_value"])
    frame.insert(COLUMNS.index("q_value"), "q_value",
                 benjamini_hochberg(frame["p_value"].to_numpy(dtype="float64")))
    return frame.sort_values(["difference", "answers", "kind", "factor"],
                             ascending=[False, False, True, True], kind="stable",
                             na_position="last").reset_index(drop=True)


@register("drivers", DriversSpec, "Drivers of low versus high NPS, CSAT or CES: events, "
          "channels, paths, touchpoints and properties ranked by how much more often low "
          "answers have them, with intervals and tests.")
def run_drivers(source: EventSource, spec: DriversSpec) -> DriversResult:
    """Run a drivers analysis (see :class:`DriversSpec`)."""
    events = scoped_events(source, spec.filters)
    scored = _bands(answers(source, spec.filters, (spec.metric,), spec.survey_ids), spec.metric,
                    spec.properties)
    totals_row = scored.aggregate(
        low=(scored._band == -1).cast("int64").sum(), mid=(scored._band == 0).cast("int64")
        .sum(), high=(scored._band == 1).cast("int64").sum(), total=scored._score.sum(),
    ).to_pandas().iloc[0]
    totals = {k: float(totals_row[k]) if pd.notna(totals_row[k]) else 0.0
              for k in ("low", "mid", "high", "total")}
    factors = _factors(source, spec, events, scored)
    had = factors.join(scored.select("person_id", "_aid", "_band", "_score"),
                       ["person_id", "_aid"])
    counts = had.group_by("_kind", "_value").agg(
        low=(had._band == -1).cast("int64").sum(), mid=(had._band == 0).cast("int64").sum(),
        high=(had._band == 1).cast("int64").sum(), total=had._score.sum()).to_pandas()
    frame = _rows(counts, totals, spec)
    n = int(totals["low"] + totals["mid"] + totals["high"])
    summary = {
        "metric": spec.metric, "bands": BANDS[spec.metric], "answers": n,
        "low": int(totals["low"]), "mid": int(totals["mid"]), "high": int(totals["high"]),
        "metric_value": _metric(spec.metric, totals["low"], totals["mid"], totals["high"],
                                totals["total"]),
        "lookback_days": spec.lookback_days, "confidence": spec.confidence,
        "factors": len(frame),
    }
    return DriversResult(spec, frame, summary)
