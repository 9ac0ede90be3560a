"""The registered ``attribution`` analysis: conversion paths in, credit per touchpoint out.

>>> from touchpath.analytics import EventMatcher
>>> spec = AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue")
>>> result = run_attribution(store, spec)                              # doctest: +SKIP
>>> result.compare("conversions")                                      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from touchpath.analytics.frame import check_events, date_days
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import zone_of
from touchpath.attribution import query, rules, shapley
from touchpath.attribution.bootstrap import intervals
from touchpath.attribution.markov import MarkovAttribution, markov_attribution
from touchpath.attribution.paths import ConversionPaths, Floats, distinct_pairs, per_channel
from touchpath.attribution.spec import DATA_DRIVEN, NO_TOUCH, AttributionSpec
from touchpath.attribution.spend import cost_per_touchpoint, read_spend
from touchpath.errors import ValidationError

COLUMNS = ["touchpoint", "model", "conversions", "share", "value", "value_share",
           "conversions_low", "conversions_high", "value_low", "value_high", "cost", "cpa",
           "roas"]
TOP_PATHS = 50


@dataclass(frozen=True)
class AttributionResult(AnalysisResult):
    """``frame``: one row per touchpoint and model (a touchpoint's models next to each other,
    touchpoints with most credit first) -- ``conversions`` and ``value``
    attributed, their ``share`` of the total, the bootstrap interval (``*_low``, ``*_high``;
    data-driven models with ``bootstrap``), and with spend ``cost``, ``cpa`` (cost per
    attributed conversion) and ``roas`` (attributed value / cost). ``tables``: ``touchpoints``
    (touches, journeys and conversions each touchpoint took part in), ``paths`` (the most
    frequent paths), ``removal_effects`` (Markov). ``summary``: ``conversions``, ``value``,
    ``journeys``, ``distinct_paths``, ``conversion_probability`` (Markov)."""

    kind: ClassVar[str] = "attribution"

    def compare(self, measure: str = "conversions") -> pd.DataFrame:
        """The models side by side: one row per touchpoint, one column per model."""
        table = self.frame.pivot(index="touchpoint", columns="model", values=measure)
        models = list(dict.fromkeys(self.frame["model"]))
        touchpoints = list(dict.fromkeys(self.frame["touchpoint"]))
        return table.loc[touchpoints, models].rename_axis(None, axis=1)

    @property
    def touchpoints(self) -> pd.DataFrame:
        return self.tables["touchpoints"]

    @property
    def paths(self) -> pd.DataFrame:
        return self.tables["paths"]

    @property
    def removal_effects(self) -> pd.DataFrame:
        return self.tables.get("removal_effects", pd.DataFrame())

    def figure(self, measure: str = "conversions") -> Any:
        """A Plotly grouped bar chart: each touchpoint's ``measure`` under every model, with
        the bootstrap intervals as error bars where computed."""
        import plotly.graph_objects as go

        figure = go.Figure()
        for model, rows in self.frame.groupby("model", sort=False):
            error = None
            low, high = f"{measure}_low", f"{measure}_high"
            if low in rows and rows[low].notna().any():
                error = {"type": "data", "symmetric": False,
                         "array": (rows[high] - rows[measure]).tolist(),
                         "arrayminus": (rows[measure] - rows[low]).tolist()}
            figure.add_bar(name=str(model), x=rows["touchpoint"].tolist(),
                           y=rows[measure].tolist(), error_y=error)
        spec = self.spec
        title = f"Attributed {measure} per {spec.touchpoint}" if spec is not None else measure
        figure.update_layout(barmode="group", title=title, xaxis_title=str(
            spec.touchpoint if spec is not None else "touchpoint"), yaxis_title=measure)
        return figure


@register("attribution", AttributionSpec, "Which touchpoints earn the conversions: rule-based, "
          "Markov-chain and Shapley attribution, with cost per acquisition and ROAS.")
def run_attribution(source: EventSource, spec: AttributionSpec, *,
                    spend: pd.DataFrame | None = None) -> AttributionResult:
    """Run an attribution analysis on ``source`` (``spend``: a cost table instead of the
    spec's ``spend`` file; see :mod:`touchpath.attribution.spend`)."""
    matchers = {"conversion": spec.conversion}
    if spec.touch_events is not None:
        matchers["touch_events"] = spec.touch_events
    check_events(source, matchers)
    paths, decay = query.conversion_paths(source, spec)
    if (paths.total_conversions == 0 or paths.channels == (NO_TOUCH,)
            or (spec.value is not None and paths.total_value == 0)):
        query.check(source, spec)  # says what is missing (or lets a real zero through)
    zone = zone_of(source, spec.filters.timezone)  # the spend table's days are in this zone
    spec = replace(spec, filters=replace(spec.filters, timezone=zone))
    return attribute(paths, spec, time_decay=decay, spend=spend)


def attribute(paths: ConversionPaths, spec: AttributionSpec, *,
              time_decay: pd.DataFrame | None = None,
              spend: pd.DataFrame | None = None) -> AttributionResult:
    """Run the spec's models on aggregated paths (from :func:`run_attribution`, or
    :meth:`ConversionPaths.from_frame` for paths prepared elsewhere). ``time_decay``: the
    engine's per-touchpoint table; the model needs touch times, which paths do not keep."""
    if paths.total_conversions <= 0:
        raise ValidationError("no conversions to attribute", field="conversion")
    channels = paths.channels
    per_model: dict[str, tuple[Floats, Floats]] = {}
    marked: MarkovAttribution | None = None
    for model in spec.models:
        if model == "time_decay":
            if time_decay is None:
                raise ValidationError("time_decay needs the touch times: run it on an event "
                                      "source", field="models")
            none = _none_counts(paths)
            per_model[model] = query.align(time_decay, channels, none)
        elif model == "markov":
            marked = markov_attribution(paths, spec.markov_order)
            per_model[model] = (marked.conversions, marked.value)
        else:
            per_model[model] = model_function(model, spec)(paths)
    bounds: dict[str, tuple[Floats, Floats, Floats, Floats]] = {}
    if spec.bootstrap:
        for model in spec.models:
            if model in DATA_DRIVEN:
                bounds[model] = intervals(paths, model_function(model, spec), spec.bootstrap,
                                          spec.seed, spec.confidence)
    cost = None
    if spend is not None or spec.spend is not None:
        table = spend if spend is not None else read_spend(str(spec.spend))
        # the spend table's dates are the business's calendar days
        first, after = date_days(spec.filters.date_range, None,
                                 zone_of(None, spec.filters.timezone))
        start, end = (None if day is None else datetime.combine(day, time())
                      for day in (first, after))
        cost = cost_per_touchpoint(table, spec.touchpoint, start, end)
    frame = _frame(paths, per_model, bounds, cost)
    summary: dict[str, Any] = {
        "conversions": paths.total_conversions,
        "value": paths.total_value if spec.value is not None else None,
        "journeys": float(paths.conversions.sum() + paths.nulls.sum()),
        "distinct_paths": len(paths),
        "touchpoint": spec.touchpoint,
        "models": list(spec.models),
    }
    tables = {"touchpoints": _touchpoints(paths), "paths": _top_paths(paths)}
    if marked is not None:
        summary["conversion_probability"] = marked.conversion_probability
        summary["markov_states"] = marked.states
        tables["removal_effects"] = pd.DataFrame({
            "touchpoint": list(channels), "removal_effect": marked.removal_effects,
            "value_removal_effect": marked.value_removal_effects,
        }).sort_values(["removal_effect", "touchpoint"], ascending=[False, True],
                       ignore_index=True)
    if spec.value is None:
        frame = frame.drop(columns=["value", "value_share", "value_low", "value_high", "roas"])
    return AttributionResult(spec=spec, frame=frame, summary=summary, tables=tables)


def model_function(model: str, spec: AttributionSpec
                   ) -> Callable[[ConversionPaths], tuple[Floats, Floats]]:
    """The model as a function of aggregated paths (every model but ``time_decay``)."""
    if model == "markov":
        def run_markov(paths: ConversionPaths) -> tuple[Floats, Floats]:
            found = markov_attribution(paths, spec.markov_order)
            return found.conversions, found.value
        return run_markov
    if model == "shapley":
        return shapley.simplified
    if model == "shapley_rate":
        return shapley.rate
    shares: dict[str, Callable[[ConversionPaths], Floats]] = {
        "first_touch": rules.first_touch,
        "last_touch": rules.last_touch,
        "last_non_direct": lambda p: rules.last_non_direct(p, spec.direct),
        "linear": rules.linear,
        "position_based": lambda p: rules.position_based(p, *spec.position_weights),
        "participation": rules.participation,
    }
    if model not in shares:
        raise ValidationError(f"{model!r} cannot run on aggregated paths", field="models")
    touch_share = shares[model]
    return lambda paths: per_channel(paths, touch_share(paths))


def _none_counts(paths: ConversionPaths) -> tuple[float, float]:
    """The conversions and value of the path ``("(none)",)`` (conversions with no touch)."""
    if NO_TOUCH not in paths.channels:
        return 0.0, 0.0
    none = paths.channels.index(NO_TOUCH)
    alone = (paths.lengths == 1) & (paths.touches[paths.offsets[:-1]] == none)
    return float(paths.conversions[alone].sum()), float(paths.value[alone].sum())


def _frame(paths: ConversionPaths, per_model: dict[str, tuple[Floats, Floats]],
           bounds: dict[str, tuple[Floats, Floats, Floats, Floats]],
           cost: pd.Series | None) -> pd.DataFrame:
    total, total_value = paths.total_conversions, paths.total_value
    rows = []
    costs = (cost.reindex(list(paths.channels)).to_numpy(dtype=float) if cost is not None
             else np.full(len(paths.channels), np.nan))
    for model, (conversions, value) in per_model.items():
        low = bounds.get(model)
        for i, name in enumerate(paths.channels):
            spent = costs[i]
            rows.append({
                "touchpoint": name, "model": model,
                "conversions": float(conversions[i]),
                "share": float(conversions[i]) / total,
                "value": float(value[i]),
                "value_share": float(value[i]) / total_value if total_value else np.nan,
                "conversions_low": low[0][i] if low else np.nan,
                "conversions_high": low[1][i] if low else np.nan,
                "value_low": low[2][i] if low else np.nan,
                "value_high": low[3][i] if low else np.nan,
                "cost": spent,
                "cpa": spent / conversions[i] if conversions[i] > 0 else np.nan,
                "roas": value[i] / spent if spent and spent > 0 else np.nan,
            })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # each touchpoint's models side by side, the touchpoints with most credit first
    weight = frame.groupby("touchpoint")["conversions"].mean()
    order = sorted(paths.channels, key=lambda name: (-float(weight[name]), name))
    rank = {name: i for i, name in enumerate(order)}
    model_rank = {model: i for i, model in enumerate(per_model)}
    frame = frame.assign(_t=frame["touchpoint"].map(rank), _m=frame["model"].map(model_rank))
    return frame.sort_values(["_t", "_m"]).drop(columns=["_t", "_m"]).reset_index(drop=True)


def _touchpoints(paths: ConversionPaths) -> pd.DataFrame:
    """Per touchpoint: ``touches`` over all journeys, ``journeys`` and ``conversions`` it took
    part in (the participation counts), ``conversion_rate`` of those journeys."""
    journeys = paths.conversions + paths.nulls
    size = len(paths.channels)
    touches = np.bincount(paths.touches, journeys[paths.path_of_touch], size)
    path_index, channel = distinct_pairs(paths)
    took_part = np.bincount(channel, journeys[path_index], size)
    converted = np.bincount(channel, paths.conversions[path_index], size)
    frame = pd.DataFrame({"touchpoint": list(paths.channels), "touches": touches,
                          "journeys": took_part, "conversions": converted})
    frame["conversion_rate"] = np.divide(converted, took_part, out=np.full(size, np.nan),
                                         where=took_part > 0)
    return frame


def _top_paths(paths: ConversionPaths) -> pd.DataFrame:
    journeys = paths.conversions + paths.nulls
    # most journeys first, then most conversions; the paths' own (sorted) order breaks ties
    top = np.lexsort((np.arange(len(paths)), -paths.conversions, -journeys))[:TOP_PATHS]
    frame = paths.subset(top).to_frame()
    return frame.reset_index(drop=True)
