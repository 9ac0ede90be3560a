"""Satisfaction (NPS / CSAT / CES per group) against a plain-Python reference, by hand on a small
log, its errors, and the planted pain point of the demo."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.strategies import source_of
from tests.voice.reference import satisfaction as ref
from tests.voice.strategies import answer_rows
from touchpath.analytics import from_dict, to_dict
from touchpath.analytics.filters import (
    DateRange,
    DidEvent,
    EventMatcher,
    Filters,
    PropertyFilter,
)
from touchpath.analytics.registry import run_json
from touchpath.errors import ValidationError
from touchpath.voice.satisfaction import NamedSegment, SatisfactionSpec, run_satisfaction

T = datetime(2026, 1, 5, 9, 0)


def _answer(i: int, person: str, survey: str, score: Any, **props: Any) -> dict[str, Any]:
    return {"message_id": f"m{i:03d}", "person_id": person, "event": "Survey Answered",
            "timestamp": T + timedelta(days=i), "channel": props.pop("channel", "direct"),
            "properties": {"survey": survey, "survey_id": f"{survey}-1", "score": score,
                           **props}}


def test_nps_per_touchpoint_by_hand() -> None:
    # delivery: 10, 9, 9, 3 -> 3 promoters, 1 detractor of 4: 75 - 25 = 50
    # support: 2, 5, 8, 10 -> 1 promoter, 2 detractors of 4: 25 - 50 = -25
    # all 8: 4 promoters, 3 detractors: 50 - 37.5 = 12.5; one CSAT answer is not counted
    rows = [_answer(i, f"p{i % 3}", "nps", s, touchpoint=t) for i, (s, t) in enumerate(
        [(10, "delivery"), (9, "delivery"), (9, "delivery"), (3, "delivery"),
         (2, "support"), (5, "support"), (8, "support"), (10, "support")])]
    rows.append(_answer(20, "p1", "csat", 5, touchpoint="support"))
    result = run_satisfaction(source_of(rows), SatisfactionSpec("nps", breakdown="touchpoint",
                                                                min_n=4))
    frame = result.frame.set_index("touchpoint")
    assert frame.loc["delivery", "value"] == pytest.approx(50.0)
    assert frame.loc["support", "value"] == pytest.approx(-25.0)
    assert list(frame["n"]) == [4, 4] and not frame["small_sample"].any()
    assert result.summary["value"] == pytest.approx(12.5) and result.summary["n"] == 8
    assert result.summary["scale_min"] == 0 and result.summary["scale_max"] == 10
    csat = run_satisfaction(source_of(rows), SatisfactionSpec("csat"))
    assert csat.summary["value"] == 100.0 and csat.summary["n"] == 1
    assert csat.frame["small_sample"].tolist() == [True]


SPECS = st.builds(
    SatisfactionSpec,
    metric=st.sampled_from(["nps", "csat", "csat_mean", "ces", "ces_share", "mean"]),
    survey_ids=st.sampled_from([(), ("s1",), ("s2", "s3")]),
    breakdown=st.sampled_from([None, "stage", "touchpoint", "channel", "survey", "language",
                               "period", "person.tier", "properties.survey_id"]),
    period=st.sampled_from(["day", "week", "month"]),
    min_n=st.sampled_from([1, 3, 30]),
    confidence=st.sampled_from([0.9, 0.95]),
    filters=st.sampled_from([
        Filters(), Filters(channels=("email", "direct")),
        Filters(date_range=DateRange(date(2026, 1, 2), date(2026, 1, 3))),
        Filters(person_where=(PropertyFilter("tier", "eq", "gold"),)),
        Filters(segments=(DidEvent(EventMatcher("A")),)),
    ]))


def _same(have: Any, want: Any) -> bool:
    if want is None or (isinstance(want, float) and pd.isna(want)):
        return have is None or pd.isna(have)
    return bool(have == pytest.approx(want, rel=1e-9, abs=1e-9))


@settings(max_examples=70, deadline=None)
@given(answer_rows(), SPECS)
def test_matches_the_reference(rows: list[dict[str, Any]], spec: SatisfactionSpec) -> None:
    source = source_of(rows)
    try:
        groups, excluded, scale = ref.satisfaction(common.load(source), spec)
    except ref.MixedScales:
        with pytest.raises(ValidationError) as caught:
            run_satisfaction(source, spec)
        assert caught.value.field == "survey_ids"
        return
    result = run_satisfaction(source, spec)
    label = spec.breakdown or "group"
    have = {ref.when(row[label]): row for row in result.frame.to_dict(orient="records")}
    assert set(have) == set(groups)
    for group, scores in groups.items():
        row = have[group]
        assert row["n"] == len(scores)
        assert _same(row["value"], ref.value_of(spec.metric, scores))
        low, high = ref.interval(spec.metric, scores, spec, scale)
        assert _same(row["ci_low"], low) and _same(row["ci_high"], high)
        assert row["small_sample"] == (len(scores) < spec.min_n)
    everything = [s for scores in groups.values() for s in scores]
    assert result.summary["n"] == len(everything)
    assert result.summary["excluded"] == excluded
    assert (result.summary["scale_min"], result.summary["scale_max"]) == scale
    if everything:
        assert _same(result.summary["value"], ref.value_of(spec.metric, everything))
    else:
        assert result.summary["value"] is None and result.frame.empty


@settings(max_examples=15, deadline=None)
@given(answer_rows(max_answers=25))
def test_segment_breakdown_is_each_segment_on_its_own(rows: list[dict[str, Any]]) -> None:
    did_a = DidEvent(EventMatcher("A"))
    not_a = DidEvent(EventMatcher("A"), negate=True)
    source = source_of(rows)
    spec = SatisfactionSpec("nps", breakdown="segment",
                            segments=(NamedSegment("a", did_a), NamedSegment("not a", not_a)))
    frame = run_satisfaction(source, spec).frame.set_index("segment")
    for name, segment in (("a", did_a), ("not a", not_a)):
        alone = run_satisfaction(source, SatisfactionSpec("nps", filters=Filters(
            segments=(segment,))))
        if alone.summary["n"] == 0:
            assert name not in frame.index
        else:
            assert frame.loc[name, "n"] == alone.summary["n"]
            assert frame.loc[name, "value"] == pytest.approx(alone.summary["value"])


def test_unknown_survey_or_no_answers_is_an_empty_result() -> None:
    rows = [{"message_id": "m1", "person_id": "p1", "event": "A", "timestamp": T}]
    for source_rows in (rows, [*rows, _answer(2, "p1", "nps", 9)]):
        result = run_satisfaction(source_of(source_rows), SatisfactionSpec(
            "nps", survey_ids=("nobody-answered",), breakdown="stage"))
        assert result.frame.empty and result.summary["n"] == 0
        assert result.summary["value"] is None
        assert result.to_dict()["rows"] == []


def test_bad_specs_name_the_field() -> None:
    cases = [
        ({"metric": "happiness"}, "metric"),
        ({"breakdown": "mood"}, "breakdown"),
        ({"breakdown": "person.a.b"}, "breakdown"),
        ({"breakdown": "segment"}, "segments"),
        ({"confidence": 1.2}, "confidence"),
        ({"min_n": 0}, "min_n"),
        ({"period": "year"}, "period"),
        ({"filters": {"channels": ["carrier pigeon"]}}, "filters.channels[0]"),
        ({"breakdown": "segment", "segments": [{"name": "x", "segment": {
            "kind": "behaviour", "event": {"event": ""}}}]}, "segments[0].segment.event.event"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            run_json(source_of([]), "satisfaction", data)
        assert caught.value.field == field, (data, caught.value)


def test_json_round_trip_and_registry() -> None:
    spec = SatisfactionSpec("ces_share", survey_ids=("ces-support",), breakdown="segment",
                            segments=(NamedSegment("ticket", DidEvent(EventMatcher("T"))),),
                            filters=Filters(channels=("email",)))
    assert from_dict(SatisfactionSpec, to_dict(spec)) == spec
    rows = [_answer(1, "p1", "ces", 6), _answer(2, "p2", "ces", 2)]
    result = run_json(source_of(rows), "satisfaction", {"metric": "ces"})
    assert result.summary["value"] == pytest.approx(4.0)
    assert result.to_dict()["summary"]["scale_max"] == 7
    result.figure()


# --- the demo: planted behaviour 3 (docs/demo-data.md) ------------------------------------

TICKET = DidEvent(EventMatcher("Support Ticket Opened"))


def test_demo_support_is_the_pain_point(demo_store: Any) -> None:
    # CSAT after a ticket is planted low (mean 2.8 / 5) and on delivery high (4.2 / 5)
    csat = run_satisfaction(demo_store, SatisfactionSpec("csat", breakdown="touchpoint"))
    frame = csat.frame.set_index("touchpoint")
    support, delivery = frame.loc["support_ticket"], frame.loc["delivery"]
    assert support["ci_high"] < delivery["ci_low"]  # the intervals do not even overlap
    mean = run_satisfaction(demo_store, SatisfactionSpec("csat_mean", breakdown="touchpoint"))
    means = mean.frame.set_index("touchpoint")["value"]
    assert 2.0 < means["support_ticket"] < 3.3 and 3.7 < means["delivery"] < 4.6
    # per stage: Retention (after a ticket) is the low stage on every metric it has
    by_stage = run_satisfaction(demo_store, SatisfactionSpec("csat_mean", breakdown="stage"))
    stages = by_stage.frame.set_index("stage")["value"]
    assert stages["Retention"] < stages["Purchase"] - 0.8
    ces = run_satisfaction(demo_store, SatisfactionSpec("ces", breakdown="stage"))
    assert ces.frame.set_index("stage").loc["Retention", "value"] < 4.5
    # NPS of people with a ticket: planted -52 vs +42 without (a small sample at 3,000 people)
    nps = run_satisfaction(demo_store, SatisfactionSpec(
        "nps", breakdown="segment", segments=(
            NamedSegment("ticket", TICKET),
            NamedSegment("no ticket", DidEvent(TICKET.event, negate=True)))))
    split = nps.frame.set_index("segment")
    assert split.loc["ticket", "value"] < -10 and split.loc["no ticket", "value"] > 20
    assert split.loc["ticket", "ci_high"] < split.loc["no ticket", "ci_low"]
    assert split.loc["ticket", "small_sample"]  # n < 30: flagged
