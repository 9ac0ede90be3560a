"""Attribution on event sources: the golden log, random logs against the plain reference, bad
specs, and the demo store."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.strategies import event_rows, source_of
from tests.attribution import reference
from touchpath.analytics import EventMatcher, from_dict, run_json, to_dict
from touchpath.analytics.filters import PropertyFilter
from touchpath.analytics.source import EventSource
from touchpath.attribution import AttributionResult, AttributionSpec, run_attribution
from touchpath.attribution.query import conversion_paths
from touchpath.attribution.spec import MODELS
from touchpath.errors import ValidationError

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_SPEC = AttributionSpec(
    conversion=EventMatcher("Order Completed"), value="revenue", touches="event",
    touch_events=EventMatcher("$page"),
    models=("first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
            "position_based", "participation", "markov", "shapley"))


def golden_source() -> EventSource:
    with (GOLDEN / "events.csv").open() as file:
        rows = [{"person_id": r["person_id"], "event": r["event"], "channel": r["channel"],
                 "timestamp": datetime.fromisoformat(r["timestamp"]),
                 "revenue": float(r["revenue"]) if r["revenue"] else None}
                for r in csv.DictReader(file)]
    return source_of(rows)


def test_golden_log_gives_the_hand_checked_credit() -> None:
    """The expected numbers are worked out by hand in tests/attribution/golden/README.md."""
    result = run_attribution(golden_source(), GOLDEN_SPEC)
    want = pd.read_csv(GOLDEN / "expected.csv")
    got = result.frame.set_index(["touchpoint", "model"])
    assert set(got.index) == {(r.touchpoint, r.model) for r in want.itertuples()}
    for row in want.itertuples():
        assert got.loc[(row.touchpoint, row.model), "conversions"] == pytest.approx(
            row.conversions, abs=1e-6), (row.touchpoint, row.model)
        assert got.loc[(row.touchpoint, row.model), "value"] == pytest.approx(
            row.value, abs=1e-6), (row.touchpoint, row.model)
    assert result.summary["conversions"] == 3
    assert result.summary["journeys"] == 5
    assert result.summary["conversion_probability"] == pytest.approx(0.6)
    assert result.removal_effects.set_index("touchpoint")["removal_effect"].to_dict() == \
        pytest.approx({"email": 0.5, "direct": 1 / 3, "paid_social": 1 / 3,
                       "paid_search": 0.25})
    assert result.compare().loc["email", "last_non_direct"] == 2
    figure = result.figure()
    assert {bar.name for bar in figure.data} == set(GOLDEN_SPEC.models)
    assert figure.layout.barmode == "group"
    assert json.loads(json.dumps(result.to_dict()))["kind"] == "attribution"


SPECS: list[dict[str, Any]] = [
    {"conversion": {"event": "A"}},
    {"conversion": {"event": "A"}, "touches": "event", "value": "revenue"},
    {"conversion": {"event": ["A", "B"]}, "touchpoint": "utm_campaign", "touches": "event",
     "lookback_days": 2, "value": "revenue"},
    {"conversion": {"event": "C", "where": [{"property": "properties.plan", "op": "eq",
                                              "value": "pro"}]},
     "touchpoint": "properties.plan", "collapse_repeats": True, "touches": "event"},
    {"conversion": {"event": "A"}, "touch_events": {"event": ["$page", "B"]},
     "collapse_repeats": True, "lookback_days": 3, "session_timeout_seconds": 3600,
     "value": "revenue"},
    {"conversion": {"event": "B"}, "touches": "event", "direct": ["direct", "store"],
     "position_weights": [0.3, 0.6], "half_life_days": 0.5, "markov_order": 2,
     "filters": {"channels": ["email", "direct", "store"]}},
    {"conversion": {"event": "A"}, "value": "revenue", "lookback_days": 4,
     "filters": {"date_range": {"start": "2026-01-03", "end": "2026-01-12"},
                 "segments": [{"kind": "persons", "person_ids": ["p1", "p2", "p3"]}]}},
]
RULES = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
         "position_based", "participation", "shapley")


@settings(max_examples=50, deadline=None)
@given(event_rows(), st.sampled_from(SPECS))
def test_random_logs_match_the_plain_python_reference(rows: list[dict[str, Any]],
                                                      data: dict[str, Any]) -> None:
    spec = from_dict(AttributionSpec, {**data, "models": list(MODELS)})
    source = source_of(rows)
    known = {row["event"] for row in rows}
    for matcher in (spec.conversion, spec.touch_events):
        if known and matcher is not None and not set(matcher.names) <= known:
            with pytest.raises(ValidationError) as caught:
                run_attribution(source, spec)
            assert caught.value.field in ("conversion.event", "touch_events.event")
            return
    found = reference.journeys(common.load(source), spec)
    converted = [j for j in found if j.converted]
    has_touch = any(common.as_text(common.value_of(e, spec.touchpoint)) is not None
                    for e in common.scoped(common.load(source), spec.filters))
    valued = not spec.value or any(
        j.value != 0 for j in converted) or _any_value(source, spec)
    if not converted or not has_touch or not valued:
        with pytest.raises(ValidationError) as caught:
            run_attribution(source, spec)
        assert caught.value.field in ("conversion", "touchpoint", "value")
        return
    paths = reference.aggregate(found)
    got_paths, _ = conversion_paths(source, spec)
    assert {got_paths.path(i): [got_paths.conversions[i], got_paths.nulls[i]]
            for i in range(len(got_paths))} == {p: [c[0], c[2]] for p, c in paths.items()}
    result = run_attribution(source, spec)
    assert result.summary["conversions"] == len(converted)
    totals = result.frame.groupby("model")["conversions"].sum()
    for model in spec.models:
        if model != "participation":  # every model else shares out exactly the conversions
            assert totals[model] == pytest.approx(len(converted), rel=1e-9), model
    frame = result.frame.set_index(["model", "touchpoint"])
    for model in RULES:
        want_conversions, want_value = reference.rule_credit(found, model, spec)
        got = frame.loc[model]
        for touchpoint in got.index:
            assert got.loc[touchpoint, "conversions"] == pytest.approx(
                want_conversions.get(touchpoint, 0.0), abs=1e-9), (model, touchpoint)
            if spec.value:
                assert got.loc[touchpoint, "value"] == pytest.approx(
                    want_value.get(touchpoint, 0.0), abs=1e-6), (model, touchpoint)
    want_markov, _ = reference.markov_credit(paths, spec.markov_order)
    got_markov = frame.loc["markov", "conversions"].to_dict()
    assert got_markov == pytest.approx({k: want_markov.get(k, 0.0) for k in got_markov},
                                       abs=1e-8)


def _any_value(source: EventSource, spec: AttributionSpec) -> bool:
    events = common.scoped(common.load(source), spec.filters)
    return any(common.is_match(e, spec.conversion)
               and common.as_number(common.value_of(e, str(spec.value))) is not None
               for e in events)


def test_bad_specs_name_the_field() -> None:
    cases = [
        ({"conversion": {"event": "A"}, "touchpoint": "colour"}, "touchpoint"),
        ({"conversion": {"event": "A"}, "models": ["linear", "magic"]}, "models[1]"),
        ({"conversion": {"event": "A"}, "models": ["linear", "linear"]}, "models[1]"),
        ({"conversion": {"event": "A"}, "models": []}, "models"),
        ({"conversion": {"event": "A"}, "lookback_days": 0}, "lookback_days"),
        ({"conversion": {"event": "A"}, "half_life_days": -1}, "half_life_days"),
        ({"conversion": {"event": "A"}, "position_weights": [0.7, 0.7]}, "position_weights"),
        ({"conversion": {"event": "A"}, "position_weights": [0.5]}, "position_weights"),
        ({"conversion": {"event": "A"}, "markov_order": 9}, "markov_order"),
        ({"conversion": {"event": "A"}, "confidence": 1.5}, "confidence"),
        ({"conversion": {"event": "A"}, "touches": "visit"}, "touches"),
        ({"conversion": {"event": "A"}, "value": "price"}, "value"),
        ({"conversion": {"event": "A", "where": [{"property": "x", "op": "eq", "value": 1}]}},
         "conversion.where[0].property"),
        ({}, "conversion"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            from_dict(AttributionSpec, data)
        assert caught.value.field == field, data


def test_errors_on_a_source_name_what_is_missing() -> None:
    source = golden_source()
    cases = [
        ({"conversion": {"event": "Order Complete"}}, "conversion.event", "Order Completed"),
        ({"conversion": {"event": "Order Completed"}, "touch_events": {"event": "$pageview"}},
         "touch_events.event", "$page"),
        ({"conversion": {"event": "Order Completed"},
          "filters": {"date_range": {"start": "2027-01-01"}}}, "conversion", "no Order"),
        ({"conversion": {"event": "Order Completed"}, "touchpoint": "properties.ad_group"},
         "touchpoint", "properties.ad_group"),
        ({"conversion": {"event": "Order Completed"}, "value": "properties.total"}, "value",
         "properties.total"),
    ]
    for data, field, words in cases:
        with pytest.raises(ValidationError) as caught:
            run_json(source, "attribution", data)
        assert caught.value.field == field, data
        assert words in caught.value.message


def test_spec_round_trips_through_json() -> None:
    spec = AttributionSpec(
        conversion=EventMatcher("Order Completed", where=(PropertyFilter("revenue", "gt", 0),)),
        touchpoint="utm_campaign", value="revenue", models=("markov", "shapley_rate"),
        position_weights=(0.3, 0.3), bootstrap=10, spend="spend.csv")
    assert from_dict(AttributionSpec, to_dict(spec)) == spec


def test_demo_email_earns_more_per_touch_than_paid_social(demo_store: Any) -> None:
    """Planted behaviour #1 (docs/demo-data.md): e-mail visitors reach an order about twice as
    often as paid-social visitors. With visits as touches (landings, not deliveries), an
    e-mail visit earns more conversions per touch than a paid-social one under the data-driven
    models and the first-touch model, and its journeys convert more often."""
    spec = AttributionSpec(
        conversion=EventMatcher("Order Completed"), value="revenue",
        touch_events=EventMatcher(("$page", "$screen")),
        models=("first_touch", "linear", "markov", "shapley"))
    result = run_attribution(demo_store, spec)
    assert isinstance(result, AttributionResult)
    touches = result.touchpoints.set_index("touchpoint")
    frame = result.frame.set_index(["model", "touchpoint"])
    for model in spec.models:
        per_touch = {c: frame.loc[(model, c), "conversions"] / touches.loc[c, "touches"]
                     for c in ("email", "paid_social")}
        assert per_touch["email"] > 1.3 * per_touch["paid_social"], (model, per_touch)
    rate = touches["conversion_rate"]
    assert rate["email"] > 1.3 * rate["paid_social"]
    assert result.summary["conversions"] == pytest.approx(
        frame.loc["markov", "conversions"].sum())


def test_bootstrap_intervals_through_the_analysis() -> None:
    spec = AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
                           touches="event", touch_events=EventMatcher("$page"),
                           models=("linear", "markov", "shapley"), bootstrap=100, seed=5)
    result = run_attribution(golden_source(), spec)
    frame = result.frame.set_index(["model", "touchpoint"])
    assert frame.loc["linear", "conversions_low"].isna().all()
    for model in ("markov", "shapley"):
        rows = frame.loc[model]
        assert (rows["conversions_low"] <= rows["conversions"] + 1e-9).all()
        assert (rows["conversions"] <= rows["conversions_high"] + 1e-9).all()
        assert (rows["value_low"] <= rows["value_high"]).all()
    again = run_attribution(golden_source(), spec).frame
    pd.testing.assert_frame_equal(again, result.frame)
    error_bars = [bar.error_y.array for bar in result.figure().data if bar.name == "markov"]
    assert error_bars and error_bars[0] is not None


def test_collapsing_repeats_keeps_a_conversion_that_repeats_the_last_touch() -> None:
    rows = [{"person_id": "p1", "event": "$page", "channel": "email",
             "timestamp": datetime(2026, 1, 1, 10)},
            {"person_id": "p1", "event": "$page", "channel": "direct",
             "timestamp": datetime(2026, 1, 2, 10)},
            {"person_id": "p1", "event": "$page", "channel": "direct",
             "timestamp": datetime(2026, 1, 2, 11)},
            {"person_id": "p1", "event": "Order Completed", "channel": "direct",
             "timestamp": datetime(2026, 1, 2, 12), "revenue": 80.0}]
    spec = AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
                           touches="event", collapse_repeats=True,
                           models=("linear", "time_decay"))
    result = run_attribution(source_of(rows), spec)
    assert result.summary["conversions"] == 1
    assert result.paths["path"].tolist() == ["email > direct"]
    frame = result.frame.set_index(["model", "touchpoint"])
    assert frame.loc[("linear", "direct"), "value"] == pytest.approx(40.0)
    # the collapsed run keeps its first touch's time: 26 h before the order, email 50 h
    direct, email = 2 ** (-26 / (7 * 24)), 2 ** (-50 / (7 * 24))
    assert frame.loc[("time_decay", "email"), "conversions"] == pytest.approx(
        email / (email + direct))


def test_the_json_example_in_the_docs_is_a_valid_spec() -> None:
    text = (Path(__file__).parents[2] / "docs" / "attribution.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert blocks
    spec = from_dict(AttributionSpec, json.loads(blocks[0]))
    assert spec.bootstrap == 200 and spec.conversion.names == ("Order Completed",)
