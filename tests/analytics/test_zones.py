"""Counting in a business's time zone: where days begin, the engine's conversion against
Python's zoneinfo, analyses across clock changes against the plain-Python reference, the
store's setting and the spec's override, and clear errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.reference import lifecycle as lifecycle_reference
from tests.analytics.reference import retention as retention_reference
from tests.analytics.reference import stages as stages_reference
from tests.analytics.strategies import START, event_rows, source_of
from tests.analytics.test_retention import as_reference, assert_same
from tests.analytics.test_stages import _same
from touchpath.analytics import Filters, from_dict, run
from touchpath.analytics.frame import date_bounds, scoped_events
from touchpath.analytics.lifecycle import LifecycleSpec, lifecycle
from touchpath.analytics.retention import RetentionSpec, retention
from touchpath.analytics.stages import StagesSpec, run_stages
from touchpath.analytics.zones import day_start, local_date, to_local
from touchpath.config import Settings, load_settings
from touchpath.errors import ConfigError, ValidationError
from touchpath.journey.stages import stage_model_from_dict
from touchpath.store.duckdb_store import DuckDBStore

ZONES = ("UTC", "Asia/Jerusalem", "America/New_York", "Europe/London", "Asia/Kathmandu",
         "America/St_Johns", "America/Santiago", "Australia/Lord_Howe", "Pacific/Chatham")


# -- where a day begins ----------------------------------------------------------------------

@pytest.mark.parametrize(("day", "zone", "begins"), [
    (date(2026, 1, 1), "UTC", datetime(2026, 1, 1)),
    (date(2026, 1, 1), "Asia/Jerusalem", datetime(2025, 12, 31, 22)),    # UTC+2
    (date(2026, 3, 27), "Asia/Jerusalem", datetime(2026, 3, 26, 22)),    # forward at 02:00
    (date(2026, 3, 28), "Asia/Jerusalem", datetime(2026, 3, 27, 21)),    # UTC+3 from then on
    (date(2026, 10, 26), "Asia/Jerusalem", datetime(2026, 10, 25, 22)),  # back to UTC+2
    (date(2026, 1, 1), "Asia/Kathmandu", datetime(2025, 12, 31, 18, 15)),  # UTC+5:45
    (date(2026, 1, 1), "America/St_Johns", datetime(2026, 1, 1, 3, 30)),  # UTC-3:30
    # Chile moves its clocks from 00:00 to 01:00: the day begins at the change (04:00 UTC)
    (date(2026, 9, 6), "America/Santiago", datetime(2026, 9, 6, 4)),
])
def test_where_a_day_begins(day: date, zone: str, begins: datetime) -> None:
    assert day_start(day, zone) == begins
    assert local_date(begins, zone) == day
    assert local_date(begins - timedelta(microseconds=1), zone) == day - timedelta(days=1)


def test_a_date_range_is_read_in_the_zone() -> None:
    rng = from_dict(Filters, {"date_range": {"start": "2026-03-27", "end": "2026-03-27"}})
    assert date_bounds(rng.date_range, zone="Asia/Jerusalem") == (
        datetime(2026, 3, 26, 22), datetime(2026, 3, 27, 21))  # a 23-hour day
    assert date_bounds(rng.date_range) == (datetime(2026, 3, 27), datetime(2026, 3, 28))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.datetimes(min_value=datetime(2019, 1, 1), max_value=datetime(2031, 1, 1)),
                min_size=1, max_size=30),
       st.sampled_from(ZONES))
def test_the_engine_converts_as_zoneinfo_does(instants: list[datetime], zone: str) -> None:
    # and times the offset table does not hold (converted by the engine's own function)
    instants = [at.replace(microsecond=0) for at in instants] + [
        datetime(1969, 12, 31, 23, 59), datetime(1960, 7, 1, 12), datetime(2100, 1, 1, 5),
        datetime(2150, 7, 1)]
    table = ibis.memtable({"at": instants}, schema={"at": "timestamp"})
    got = ibis.duckdb.connect().execute(
        table.select(local=to_local(table.at, zone)))["local"].dt.to_pydatetime().tolist()
    want = [at.replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
            for at in instants]
    assert got == want


# -- analyses across clock changes ----------------------------------------------------------

SPRING = datetime(2026, 3, 20)
"""The random logs are moved here: 20 days that hold Israel's and Europe's clock change."""


def _moved(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, "timestamp": row["timestamp"] - START + SPRING} for row in rows]


RETENTION = [
    {"period": "day", "periods": 6},
    {"period": "week", "periods": 3, "mode": "on_or_after", "churn_days": 2},
    {"cohort_event": {"event": "B"}, "period": "day", "periods": 4, "recurring": True,
     "as_of": "2026-03-31", "measure": "revenue"},
    {"period": "day", "periods": 4, "filters": {
        "date_range": {"start": "2026-03-26", "end": "2026-03-31"}}},
]
LIFECYCLE = [{"period": "day"}, {"period": "week", "as_of": "2026-04-02"},
             {"period": "day", "filters": {"date_range": {"start": "2026-03-27"}}}]


@settings(max_examples=25, deadline=None)
@given(event_rows(), st.sampled_from(("Asia/Jerusalem", "Europe/London")))
def test_analyses_across_a_clock_change_equal_the_reference(rows: list[dict[str, Any]],
                                                            zone: str) -> None:
    source = source_of(_moved(rows))
    every = common.load(source)
    for data in RETENTION:
        spec = from_dict(RetentionSpec, data)
        spec = replace(spec, filters=replace(spec.filters, timezone=zone))
        assert_same(as_reference(retention(source, spec)),
                    retention_reference.retention(every, spec, today=date(2026, 4, 20)),
                    (zone, data))
    for data in LIFECYCLE:
        spec_l = from_dict(LifecycleSpec, data)
        spec_l = replace(spec_l, filters=replace(spec_l.filters, timezone=zone))
        got = [{k: row[k] for k in ("period", "new", "returning", "resurrecting", "dormant")}
               for row in lifecycle(source, spec_l).frame.to_dict(orient="records")]
        assert got == lifecycle_reference.lifecycle(every, spec_l, today=date(2026, 4, 20)), (
            zone, data)


def test_stages_over_time_across_a_clock_change() -> None:
    rows = [{"person_id": "p1", "event": "$page", "timestamp": datetime(2026, 3, 26, 21, 30)},
            {"person_id": "p1", "event": "Order Completed",
             "timestamp": datetime(2026, 3, 27, 21, 0)},
            {"person_id": "p2", "event": "$page", "timestamp": datetime(2026, 3, 27, 20, 59)}]
    source = source_of(rows)
    model = stage_model_from_dict({"name": "two", "stages": [
        {"id": "seen", "names": {"en": "Seen"}, "rules": [{"event": "$page"}]},
        {"id": "bought", "names": {"en": "Bought"}, "rules": [{"event": "Order Completed"}]}]})
    spec = StagesSpec(model=model, period="day", filters=Filters(timezone="Asia/Jerusalem"))
    want = stages_reference.analyse(common.scoped(common.load(source), spec.filters), model,
                                    "day", None, "Asia/Jerusalem")
    got = run_stages(source, spec).over_time
    _same(got, [{**row, "period": pd.Timestamp(row["period"])} for row in want["over_time"]],
          "over_time")
    # in Jerusalem: p1's page is at 23:30 on the 26th (UTC+2), p2's at 23:59 on the 27th and
    # p1's order at 00:00 on the 28th (UTC+3 since the 27th)
    assert [p.date() for p in pd.to_datetime(got["period"])] == [
        date(2026, 3, 26), date(2026, 3, 27), date(2026, 3, 28)]


# -- by hand: the same events, other days -----------------------------------------------------

def test_an_evening_purchase_counts_on_the_next_local_day() -> None:
    # 22:30 UTC on 5 January is 00:30 on the 6th in Jerusalem (UTC+2)
    rows = [{"person_id": "p1", "event": "A", "timestamp": datetime(2026, 1, 5, 10)},
            {"person_id": "p1", "event": "A", "timestamp": datetime(2026, 1, 5, 22, 30)},
            {"person_id": "p2", "event": "A", "timestamp": datetime(2026, 1, 5, 22, 30)}]
    source = source_of(rows)
    in_utc = lifecycle(source, LifecycleSpec(period="day"))
    local = lifecycle(source, LifecycleSpec(period="day",
                                            filters=Filters(timezone="Asia/Jerusalem")))
    assert [(r["period"], r["new"], r["returning"]) for r in
            in_utc.frame.to_dict(orient="records")] == [(date(2026, 1, 5), 2, 0)]
    assert [(r["period"], r["new"], r["returning"], r["dormant"]) for r in
            local.frame.to_dict(orient="records")] == [(date(2026, 1, 5), 1, 0, 0),
                                                        (date(2026, 1, 6), 1, 1, 0)]
    day = Filters(date_range=from_dict(Filters, {"date_range": {
        "start": "2026-01-06", "end": "2026-01-06"}}).date_range, timezone="Asia/Jerusalem")
    assert scoped_events(source, day).count().execute() == 2
    assert scoped_events(source, replace(day, timezone="UTC")).count().execute() == 0


# -- where the zone comes from ----------------------------------------------------------------

def test_the_store_setting_is_the_default_and_the_spec_overrides_it(
        make_settings: Callable[..., Settings], make_rows: Callable[..., Any]) -> None:
    batch = make_rows(*[{"type": "track", "event": "A", "userId": user, "messageId": f"m{i}",
                         "timestamp": at}
                        for i, (user, at) in enumerate([("u1", "2026-01-05T10:00:00Z"),
                                                        ("u1", "2026-01-05T22:30:00Z")])],
                      received_at=datetime(2026, 1, 6, 12))
    with DuckDBStore(make_settings(timezone="Asia/Jerusalem")) as store:
        store.write(batch)
        assert store.timezone == "Asia/Jerusalem"
        local = run(store, LifecycleSpec(period="day")).frame
        assert local[["period", "new", "returning"]].values.tolist() == [
            [date(2026, 1, 5), 1, 0], [date(2026, 1, 6), 0, 1]]  # 00:30 on the 6th, UTC+2
        utc = run(store, LifecycleSpec(period="day", filters=Filters(timezone="UTC"))).frame
        assert utc[["period", "new", "returning"]].values.tolist() == [[date(2026, 1, 5), 1, 0]]


# -- errors -----------------------------------------------------------------------------------

def test_an_unknown_zone_names_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(RetentionSpec, {"filters": {"timezone": "Mars/Olympus_Mons"}})
    assert caught.value.field == "filters.timezone"
    assert "IANA" in str(caught.value)
    with pytest.raises(ValidationError):
        Filters(timezone="")
    with pytest.raises(ConfigError) as bad:
        load_settings(env={"TOUCHPATH_TIMEZONE": "Jerusalem"})
    assert bad.value.field == "timezone"
