"""The purchase summary: the CDNOW summary rebuilt from its raw transactions, a hand-checked
golden log, and random logs against the plain-Python reference."""

from __future__ import annotations

import csv
import math
import warnings
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.strategies import event_rows, source_of
from tests.value import cdnow, reference
from touchpath.analytics import Filters, from_dict
from touchpath.analytics.filters import EventMatcher, PropertyFilter
from touchpath.errors import QueryError
from touchpath.value.summary import UNIT_DAYS, purchase_summary

GOLDEN = Path(__file__).parent / "golden"


def cdnow_source() -> Any:
    raw = cdnow.transactions()
    rows = [{"message_id": f"m{i:05d}", "person_id": str(r.id), "event": "Order Completed",
             "timestamp": r.date.to_pydatetime(), "revenue": float(r.value)}
            for i, r in enumerate(raw.itertuples())]
    return source_of(rows)


def test_cdnow_summary_from_raw_transactions_equals_the_shipped_one() -> None:
    # the shipped file rounds to 2 decimals; same-day order lines are one transaction (the
    # sample has up to 8 lines on one day for one customer) and their values add up
    got = purchase_summary(cdnow_source(), EventMatcher("Order Completed"),
                           calibration_end=cdnow.CALIBRATION_END,
                           observation_end=cdnow.OBSERVATION_END, time_unit="weeks")
    persons = got.persons.assign(ID=got.persons["person_id"].astype(int)).set_index("ID")
    shipped = cdnow.summary_with_spend().set_index("ID")
    persons = persons.loc[shipped.index]
    assert len(got.persons) == 2357
    assert (persons["frequency"] == shipped["x"]).all()
    np.testing.assert_allclose(persons["recency"], shipped["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(persons["T"], shipped["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(persons["monetary"].fillna(0.0), shipped["zbar"],
                               atol=0.005 + 1e-9)
    assert got.holdout_length == 39.0  # 1997-10-01 .. 1998-06-30: weeks 40-78
    plain = cdnow.summary().set_index("ID").loc[shipped.index]
    assert (plain["frequency"] == shipped["x"]).all()


@pytest.mark.parametrize(("freq", "period", "unit"), [("D", "day", "days"),
                                                      ("W", "week", "weeks")])
def test_cdnow_summary_equals_lifetimes_calibration_and_holdout_data(
        freq: str, period: Any, unit: Any) -> None:
    # an independent implementation of the same convention (lifetimes.utils, pandas periods)
    pytest.importorskip("autograd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes.utils import calibration_and_holdout_data

        theirs = calibration_and_holdout_data(
            cdnow.transactions(), "id", "date", calibration_period_end="1997-09-30",
            observation_period_end="1998-06-30", freq=freq, monetary_value_col="value")
    got = purchase_summary(cdnow_source(), EventMatcher("Order Completed"),
                           calibration_end=cdnow.CALIBRATION_END,
                           observation_end=cdnow.OBSERVATION_END, period=period,
                           time_unit=unit)
    ours = got.persons.set_index(got.persons["person_id"].astype(int)).loc[theirs.index]
    assert (ours["frequency"] == theirs["frequency_cal"]).all()
    np.testing.assert_allclose(ours["recency"], theirs["recency_cal"], atol=1e-12)
    np.testing.assert_allclose(ours["T"], theirs["T_cal"], atol=1e-12)
    np.testing.assert_allclose(ours["monetary"].fillna(0.0), theirs["monetary_value_cal"],
                               atol=1e-9)
    assert (ours["holdout_purchases"] == theirs["frequency_holdout"]).all()
    assert got.holdout_length == theirs["duration_holdout"].iloc[0]


def test_golden_summary() -> None:
    with (GOLDEN / "purchases.csv").open() as f:
        rows = [{**r, "timestamp": datetime.fromisoformat(r["timestamp"]),
                 "revenue": float(r["revenue"]) if r["revenue"] else None}
                for r in csv.DictReader(f)]
    got = purchase_summary(source_of(rows), EventMatcher("Order Completed"),
                           calibration_end=date(2026, 1, 31),
                           observation_end=date(2026, 2, 28), time_unit="days")
    with (GOLDEN / "summary_days.csv").open() as f:
        want = list(csv.DictReader(f))
    have = got.persons.to_dict(orient="records")
    assert [r["person_id"] for r in have] == [w["person_id"] for w in want]
    assert got.holdout_newcomers == 1  # p3 (README.md)
    for row, expected in zip(have, want, strict=True):
        for column in ("frequency", "recency", "T", "monetary", "first_value",
                       "holdout_purchases", "holdout_value"):
            wanted = float(expected[column]) if expected[column] else math.nan
            assert row[column] == pytest.approx(wanted, nan_ok=True), (row, column)


FILTER_SPECS: list[dict[str, Any]] = [
    {},
    {"date_range": {"start": "2026-01-04"}},
    {"channels": ["email", "store"]},
    {"person_where": [{"property": "tier", "op": "eq", "value": "gold"}]},
]
MATCHERS = [EventMatcher("A"), EventMatcher(("A", "B")),
            EventMatcher("B", where=(PropertyFilter("properties.n", "gte", 1),))]


@settings(max_examples=60, deadline=None)
@given(event_rows(), st.integers(0, 19), st.integers(0, 10), st.sampled_from(["day", "week"]),
       st.sampled_from(["days", "weeks"]), st.sampled_from(["revenue", "properties.plan"]),
       st.integers(0, len(FILTER_SPECS) - 1), st.integers(0, len(MATCHERS) - 1))
def test_summary_equals_the_reference(rows: list[dict[str, Any]], cal: int, extra: int,
                                      period: Any, unit: Any, value: str, f: int, m: int
                                      ) -> None:
    source = source_of(rows)
    calibration_end = date(2026, 1, 1 + cal)
    observation_end = date(2026, 1, min(31, 1 + cal + extra))
    filters = from_dict(Filters, FILTER_SPECS[f])
    matcher = MATCHERS[m]
    want = reference.summary(common.scoped(common.load(source), filters), matcher, value,
                             calibration_end, observation_end, period, UNIT_DAYS[unit])
    try:
        got = purchase_summary(source, matcher, value=value, calibration_end=calibration_end,
                               observation_end=observation_end, period=period,
                               time_unit=unit, filters=filters)
    except QueryError:
        assert not want
        return
    have = {r["person_id"]: r for r in got.persons.to_dict(orient="records")}
    assert sorted(have) == sorted(want)
    newcomers = reference.newcomers(common.scoped(common.load(source), filters), matcher,
                                    calibration_end, observation_end)
    assert got.holdout_newcomers == newcomers
    for person, expected in want.items():
        row = have[person]
        for column, wanted in expected.items():
            wanted = math.nan if wanted is None else wanted
            assert row[column] == pytest.approx(wanted, nan_ok=True), (person, column)


def test_no_purchases_says_what_is_missing() -> None:
    source = source_of([{"person_id": "p1", "event": "A", "timestamp": datetime(2026, 1, 2)}])
    with pytest.raises(QueryError, match="no 'Order Completed' events") as caught:
        purchase_summary(source, EventMatcher("Order Completed"))
    assert caught.value.field == "purchase"
    with pytest.raises(QueryError, match="calibration period"):
        purchase_summary(source, EventMatcher("A"), calibration_end=date(2026, 1, 1),
                         observation_end=date(2026, 1, 5))
