"""Drivers against a plain-Python reference, published interval values, errors, and the demo's
planted support pain point."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.strategies import source_of
from tests.voice.reference import drivers as ref
from tests.voice.strategies import answer_rows
from touchpath.analytics import from_dict, to_dict
from touchpath.analytics.filters import DateRange, Filters, PropertyFilter
from touchpath.analytics.registry import run_json
from touchpath.errors import ValidationError
from touchpath.voice.drivers import (
    DriversSpec,
    benjamini_hochberg,
    newcombe_interval,
    run_drivers,
)

T = datetime(2026, 2, 1, 12, 0)


def test_newcombe_matches_the_published_examples() -> None:
    # Newcombe, R. G. (1998), "Interval estimation for the difference between independent
    # proportions: comparison of eleven methods", Statistics in Medicine 17, 873-890,
    # Table II, method 10 (score interval, no continuity correction), examples (a)-(h).
    published = {(56, 70, 48, 80): (0.0524, 0.3339), (9, 10, 3, 10): (0.1705, 0.8090),
                 (6, 7, 2, 7): (0.0582, 0.8062), (5, 56, 0, 29): (-0.0381, 0.1926),
                 (10, 10, 0, 20): (0.6791, 1.0), (0, 10, 0, 20): (-0.1611, 0.2775)}
    for (x1, n1, x2, n2), want in published.items():
        have = newcombe_interval(x1, n1, x2, n2, 0.95)
        assert (round(have[0], 4), round(have[1], 4)) == want


def test_benjamini_hochberg_by_hand() -> None:
    # p = 0.01, 0.04, 0.03, 0.20 (m = 4): sorted 0.01, 0.03, 0.04, 0.20 times 4/rank =
    # 0.04, 0.06, 0.0533, 0.20; running minimum from the top: 0.04, 0.0533, 0.0533, 0.20
    import numpy as np

    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.20]))
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])


def _event(i: int, person: str, event: str, minutes: int, **extra: Any) -> dict[str, Any]:
    return {"message_id": f"m{i:03d}", "person_id": person, "event": event,
            "timestamp": T + timedelta(minutes=minutes), "channel": extra.pop("channel", "direct"),
            **extra}


def _nps(i: int, person: str, score: int, minutes: int) -> dict[str, Any]:
    return _event(i, person, "Survey Answered", minutes, properties={
        "survey": "nps", "survey_id": "n", "score": score, "touchpoint": "post_purchase"})


def test_by_hand() -> None:
    # p1, p2: a ticket the day before, then NPS 2 and 3 (detractors); p3: a ticket 40 days
    # before (outside the 30-day lookback), NPS 10; p4, p5: an order, NPS 9 and 10; p6: order,
    # NPS 8 (passive). Low: 2 answers, both after a ticket; high: 3, none after a ticket
    # in the lookback. Ticket: share_low 100%, share_high 0%, difference 100 points;
    # NPS with it = (0 - 2) / 2 = -100; without = (3 - 0) / 4 = 75.
    rows = [
        _event(1, "p1", "Ticket", 0, channel="help_desk"), _nps(2, "p1", 2, 24 * 60),
        _event(3, "p2", "Ticket", 0, channel="help_desk"), _nps(4, "p2", 3, 24 * 60),
        _event(5, "p3", "Ticket", 0, channel="help_desk"), _nps(6, "p3", 10, 40 * 24 * 60),
        _event(7, "p4", "Order", 0), _nps(8, "p4", 9, 60),
        _event(9, "p5", "Order", 0), _nps(10, "p5", 10, 60),
        _event(11, "p6", "Order", 0), _nps(12, "p6", 8, 60),
    ]
    result = run_drivers(source_of(rows), DriversSpec("nps", min_answers=1))
    top = result.frame.iloc[0]
    assert (top["kind"], top["factor"]) in {("event", "Ticket"), ("channel", "help_desk"),
                                            ("path", "Ticket")}
    ticket = result.frame.set_index(["kind", "factor"]).loc[("event", "Ticket")]
    assert ticket["share_low"] == 100.0 and ticket["share_high"] == 0.0
    assert ticket["difference"] == 100.0 and ticket["answers"] == 2
    assert ticket["metric_with"] == -100.0 and ticket["metric_without"] == 75.0
    assert ticket["direction"] == "low"
    assert result.summary["low"] == 2 and result.summary["high"] == 3
    assert result.summary["mid"] == 1
    order = result.frame.set_index(["kind", "factor"]).loc[("event", "Order")]
    assert order["share_high"] == pytest.approx(200 / 3) and order["difference"] < 0
    result.figure()


SPECS = st.builds(
    DriversSpec,
    metric=st.sampled_from(["nps", "csat", "ces"]),
    survey_ids=st.sampled_from([(), ("s1", "s2")]),
    factors=st.sampled_from([("event", "channel", "path", "touchpoint"), ("path",),
                             ("event",)]),
    lookback_days=st.sampled_from([1, 3, 30]),
    path_length=st.sampled_from([1, 2, 3]),
    properties=st.sampled_from([("person.tier", "language"), ("stage", "properties.survey_id")]),
    min_answers=st.sampled_from([1, 2]),
    filters=st.sampled_from([
        Filters(), Filters(channels=("email", "direct", "paid_search")),
        Filters(date_range=DateRange(date(2026, 1, 2), date(2026, 1, 4))),
        Filters(where=(PropertyFilter("event", "neq", "B"),)),
    ]))


@settings(max_examples=40, deadline=None)
@given(answer_rows(), SPECS)
def test_matches_the_reference(rows: list[dict[str, Any]], spec: DriversSpec) -> None:
    source = source_of(rows)
    totals, per_factor = ref.drivers(common.load(source), spec)
    result = run_drivers(source, spec)
    for band in ("low", "mid", "high"):
        assert result.summary[band] == totals[band]
    kept = {f: c for f, c in per_factor.items()
            if c["low"] + c["mid"] + c["high"] >= spec.min_answers}
    have = {(r["kind"], r["factor"]): r for r in result.frame.to_dict(orient="records")}
    assert set(have) == set(kept)
    for factor, counts in kept.items():
        row = have[factor]
        assert row["low_with"] == counts["low"] and row["high_with"] == counts["high"]
        assert row["answers"] == counts["low"] + counts["mid"] + counts["high"]
        if totals["low"] and totals["high"]:
            want = 100 * (counts["low"] / totals["low"] - counts["high"] / totals["high"])
            assert row["difference"] == pytest.approx(want)
            assert row["ci_low"] <= row["difference"] + 1e-9 <= row["ci_high"] + 2e-9
    differences = result.frame["difference"].dropna().tolist()
    assert differences == sorted(differences, reverse=True)


def test_no_answers_is_an_empty_result() -> None:
    rows = [_event(1, "p1", "Order", 0), _nps(2, "p1", 9, 5)]
    result = run_drivers(source_of(rows), DriversSpec("nps", survey_ids=("nobody",)))
    assert result.frame.empty and result.summary["answers"] == 0
    assert run_drivers(source_of(rows), DriversSpec("csat")).frame.empty
    assert result.to_dict()["rows"] == []


def test_bad_specs_name_the_field() -> None:
    cases = [
        ({"metric": "mean"}, "metric"),
        ({"factors": ["mood"]}, "factors[0]"),
        ({"factors": []}, "factors"),
        ({"factors": ["property"]}, "factors[0]"),
        ({"properties": ["colour"]}, "properties[0]"),
        ({"properties": ["period"]}, "properties[0]"),
        ({"properties": ["stage", "stage"]}, "properties[1]"),
        ({"properties": ["touchpoint"]}, "properties[0]"),
        ({"lookback_days": 0}, "lookback_days"),
        ({"path_length": 9}, "path_length"),
        ({"min_answers": 0}, "min_answers"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as caught:
            run_json(source_of([]), "drivers", data)
        assert caught.value.field == field, (data, caught.value)
    spec = DriversSpec("csat", properties=("person.tier",), lookback_days=7)
    assert from_dict(DriversSpec, to_dict(spec)) == spec


def test_demo_support_tickets_drive_detractors(demo_store: Any) -> None:
    # planted behaviour 3 (docs/demo-data.md): a help-desk ticket makes detractors
    for metric in ("nps", "csat"):
        result = run_drivers(demo_store, DriversSpec(metric))
        frame = result.frame
        top = frame.head(4)
        support = {("event", "Support Ticket Opened"), ("channel", "help_desk"),
                   ("touchpoint", "support_ticket"), ("event", "Support Ticket Closed")}
        assert set(zip(top["kind"], top["factor"], strict=True)) <= support | {
            ("path", "Support Ticket Opened → Support Ticket Closed")}
        opened = frame.set_index(["kind", "factor"]).loc[("event", "Support Ticket Opened")]
        assert opened["direction"] == "low" and opened["p_value"] < 0.01
        assert opened["metric_with"] < opened["metric_without"]


def test_lookback_bounds_and_ties() -> None:
    # lookback 1 day: "Edge" exactly 1 day before the answer counts (bound included), "Old"
    # 15 minutes earlier does not; at the answer's own time "Tie" (message id m02 < m03)
    # comes before it and counts, "Later" (m04 > m03) comes after and does not.
    rows = [
        _event(0, "p1", "Old", -15), _event(1, "p1", "Edge", 0), _event(2, "p1", "Tie", 1440),
        _nps(3, "p1", 1, 1440), _event(4, "p1", "Later", 1440),
        _event(5, "p2", "Other", 1000), _nps(6, "p2", 10, 1440),
    ]
    result = run_drivers(source_of(rows), DriversSpec(
        "nps", lookback_days=1, min_answers=1, factors=("event", "path"), path_length=3))
    factors = set(zip(result.frame["kind"], result.frame["factor"], strict=True))
    assert factors == {("event", "Edge"), ("event", "Tie"), ("event", "Other"),
                       ("path", "Edge → Tie"), ("path", "Other")}
