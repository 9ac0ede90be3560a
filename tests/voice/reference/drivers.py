"""Drivers in plain Python: for each usable answer, the factors it has, counted by band."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from tests.analytics.reference import common
from touchpath.voice.drivers import DriversSpec

SCALE = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "ces": (1.0, 7.0)}
ANSWER_PROPERTIES = {"stage": "properties.stage", "survey": "properties.survey_id",
                     "language": "properties.language", "touchpoint": "properties.touchpoint"}


def band(metric: str, score: float) -> str:
    if metric == "nps":
        return "low" if score <= 6 else "high" if score >= 9 else "mid"
    low, high = SCALE[metric]
    middle = (low + high) / 2
    return "low" if score < middle else "high" if score > middle else "mid"


def text(value: Any) -> str:
    shown = common.as_text(value)
    return "(none)" if shown is None else shown


def factors_of(answer: dict[str, Any], before: list[dict[str, Any]],
               everyone: list[dict[str, Any]], spec: DriversSpec) -> set[tuple[str, str]]:
    """The (kind, value) factors one answer has; ``before`` in order, oldest first."""
    found: set[tuple[str, str]] = set()
    if "event" in spec.factors:
        found |= {("event", e["event"]) for e in before}
    if "channel" in spec.factors:
        found |= {("channel", e["channel"]) for e in before if e["channel"] is not None}
    if "path" in spec.factors and before:
        found.add(("path", " → ".join(e["event"] for e in before[-spec.path_length:])))
    if "touchpoint" in spec.factors:
        found.add(("touchpoint", text(common.value_of(answer, "properties.touchpoint"))))
    for name in spec.properties:
        if name.startswith("person."):
            value = common.person_property(everyone, name.removeprefix("person."))
        else:
            value = common.value_of(answer, ANSWER_PROPERTIES.get(name, name))
        found.add((name, text(value)))
    return found


def drivers(all_events: list[dict[str, Any]], spec: DriversSpec
            ) -> tuple[Counter[str], dict[tuple[str, str], dict[str, float]]]:
    """Answers per band (and ``total``, the sum of scores), and the same per factor."""
    low, high = SCALE[spec.metric]
    everyone = common.by_person(all_events)
    seen = common.by_person(common.scoped(all_events, spec.filters))
    totals: Counter[str] = Counter()
    per_factor: dict[tuple[str, str], dict[str, float]] = {}
    for events in seen.values():
        for i, answer in enumerate(events):
            props = answer["properties"] or {}
            if answer["event"] != "Survey Answered" or common.as_text(
                    props.get("survey")) != spec.metric:
                continue
            if spec.survey_ids and common.as_text(props.get("survey_id")) not in spec.survey_ids:
                continue
            scale_min = common.as_number(props.get("scale_min"))
            scale_max = common.as_number(props.get("scale_max"))
            if (low if scale_min is None else scale_min,
                    high if scale_max is None else scale_max) != (low, high):
                continue
            score = common.as_number(props.get("score"))
            if score is None or not low <= score <= high:
                continue
            since = answer["timestamp"] - timedelta(days=spec.lookback_days)
            # events are in (timestamp, message id) order: the earlier ones come first
            before = [e for e in events[:i] if e["timestamp"] >= since
                      and e["event"] != "Survey Answered"]
            which = band(spec.metric, score)
            totals[which] += 1
            totals["total"] += score  # type: ignore[assignment]
            for factor in factors_of(answer, before, everyone[answer["person_id"]], spec):
                counts = per_factor.setdefault(factor, {"low": 0, "mid": 0, "high": 0,
                                                        "total": 0.0})
                counts[which] += 1
                counts["total"] += score
    return totals, per_factor
