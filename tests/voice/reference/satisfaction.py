"""Satisfaction in plain Python: loops over the scoped answers, the definitions written out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.analytics.reference import common
from tests.analytics.reference.stages import period_start
from touchpath.voice.metrics import metric_value
from touchpath.voice.satisfaction import SatisfactionSpec

SURVEY = {"nps": "nps", "csat": "csat", "csat_mean": "csat", "ces": "ces", "ces_share": "ces",
          "mean": "rating"}
SCALE = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0), "rating": (1.0, 5.0)}
NAMED = {"stage": "properties.stage", "touchpoint": "properties.touchpoint",
         "survey": "properties.survey_id", "language": "properties.language"}


def group_of(event: dict[str, Any], events: list[dict[str, Any]], spec: SatisfactionSpec
             ) -> Any:
    breakdown = spec.breakdown
    if breakdown is None:
        return "all"
    if breakdown == "period":
        return period_start(event["timestamp"], spec.period)
    if breakdown.startswith("person."):
        value = common.person_property(events, breakdown.removeprefix("person."))
    else:
        value = common.value_of(event, NAMED.get(breakdown, breakdown))
    text = common.as_text(value)
    return "(none)" if text is None else text


class MixedScales(Exception):
    """Rating answers on more than one scale: the analysis refuses them."""


def satisfaction(all_events: list[dict[str, Any]], spec: SatisfactionSpec
                 ) -> tuple[dict[Any, list[float]], dict[str, int], tuple[float, float]]:
    """The scores of each group's usable answers, the answers left out by reason, and the
    metric's scale."""
    survey = SURVEY[spec.metric]
    everyone = common.by_person(all_events)
    found = []
    for event in common.scoped(all_events, spec.filters):
        props = event["properties"] or {}
        if event["event"] != "Survey Answered" or common.as_text(props.get("survey")) != survey:
            continue
        if spec.survey_ids and common.as_text(props.get("survey_id")) not in spec.survey_ids:
            continue
        scale_min = common.as_number(props.get("scale_min"))
        scale_max = common.as_number(props.get("scale_max"))
        default = SCALE[survey]
        scale = (default[0] if scale_min is None else scale_min,
                 default[1] if scale_max is None else scale_max)
        found.append((event, scale, common.as_number(props.get("score"))))
    low, high = SCALE[survey]
    if survey == "rating":  # a mean of ratings takes the answers' one scale
        scales = {scale for _, scale, _ in found}
        if len(scales) > 1:
            raise MixedScales(scales)
        if scales:
            low, high = scales.pop()
    groups: dict[Any, list[float]] = {}
    excluded = {"other_scale": 0, "no_score": 0, "outside_scale": 0}
    for event, scale, score in found:
        if scale != (low, high):
            excluded["other_scale"] += 1
            continue
        if score is None:
            excluded["no_score"] += 1
            continue
        if not low <= score <= high:
            excluded["outside_scale"] += 1
            continue
        group = group_of(event, everyone[event["person_id"]], spec)
        groups.setdefault(group, []).append(score)
    return groups, excluded, (low, high)


def value_of(metric: str, scores: list[float]) -> float:
    """The metric's value from its definition."""
    n = len(scores)
    if metric == "nps":
        return 100 * sum(s >= 9 for s in scores) / n - 100 * sum(s <= 6 for s in scores) / n
    if metric == "csat":
        return 100 * sum(s >= 4 for s in scores) / n
    if metric == "ces_share":
        return 100 * sum(s >= 5 for s in scores) / n
    return sum(scores) / n


def interval(metric: str, scores: list[float], spec: SatisfactionSpec,
             scale: tuple[float, float]) -> tuple[Any, Any]:
    """The interval from the metric functions (tested on their own in test_metrics)."""
    value = metric_value(metric, scores, confidence=spec.confidence, min_n=spec.min_n,
                         scale=scale)
    return value.ci_low, value.ci_high


def when(value: Any) -> Any:
    return value if not isinstance(value, datetime) else value.replace(tzinfo=None)
