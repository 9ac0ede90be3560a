"""Lifecycle against the plain-Python reference, hand-checked golden files and bad specs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from tests.analytics.reference import common
from tests.analytics.reference import lifecycle as reference
from tests.analytics.strategies import event_rows, mask_size, source_of
from tests.analytics.test_retention import golden_source
from touchpath.analytics import from_dict, run_json, to_dict
from touchpath.analytics.lifecycle import (
    STATUSES,
    LifecycleResult,
    LifecycleSpec,
    lifecycle,
    run_lifecycle,
)
from touchpath.errors import ValidationError

GOLDEN = Path(__file__).parent / "golden" / "retention"

SPECS: list[dict[str, Any]] = [
    {"period": "day"},
    {"period": "week"},
    {"period": "month"},
    {"active_event": {"event": "A"}, "period": "day", "as_of": "2026-01-12"},
    {"active_event": {"event": ["B", "C"], "where": [{"property": "properties.n", "value": 1}]},
     "period": "day"},
    {"period": "day", "filters": {"date_range": {"start": "2026-01-06", "end": "2026-01-15"}}},
    {"active_event": {"event": "$page"}, "period": "week",
     "filters": {"date_range": {"start": "2026-01-08"}, "channels": ["email", "store"]}},
    {"period": "day", "filters": {"person_where": [{"property": "tier", "op": "is_set"}]}},
    {"period": "day", "filters": {"timezone": "Asia/Kathmandu",
                                  "date_range": {"start": "2026-01-06", "end": "2026-01-15"}}},
    {"period": "week", "as_of": "2026-01-12", "filters": {"timezone": "America/St_Johns"}},
]


def rows_of(result: LifecycleResult) -> list[dict[str, Any]]:
    return [{k: row[k] for k in ("period", *STATUSES)}
            for row in result.frame.to_dict(orient="records")]


@settings(max_examples=50, deadline=None)
@given(event_rows())
def test_lifecycle_equals_the_reference_for_every_option(rows: list[dict[str, Any]]) -> None:
    source = source_of(rows)
    every = common.load(source)
    for data in SPECS:
        spec = from_dict(LifecycleSpec, data)
        result = lifecycle(source, spec)  # random logs may lack an event: no name check
        assert rows_of(result) == reference.lifecycle(every, spec), data
        frame = result.frame
        assert (frame["active"] == frame["new"] + frame["returning"]
                + frame["resurrecting"]).all()


@pytest.mark.parametrize(("bits", "words"), [(2, 6), (3, 0)], ids=["many-words", "windows"])
@settings(max_examples=25, deadline=None)
@given(rows=event_rows())
def test_every_way_of_counting_equals_the_reference(rows: list[dict[str, Any]], bits: int,
                                                     words: int) -> None:
    """Masks of several words (two periods each: the neighbours of a period cross words), and
    the windows over distinct (person, period) pairs that a span too long for the words (and
    Spark) takes."""
    source = source_of(rows)
    every = common.load(source)
    with mask_size(bits, words):
        for data in SPECS:
            spec = from_dict(LifecycleSpec, data)
            assert rows_of(lifecycle(source, spec)) == reference.lifecycle(every, spec), data


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.lifecycle.json")), ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    expected = json.loads(path.read_text())
    spec = from_dict(LifecycleSpec, expected["spec"])
    result = run_lifecycle(golden_source(), spec)
    want = [{**row, "period": date.fromisoformat(row["period"])} for row in expected["rows"]]
    got = [{k: row[k] for k in ("period", *STATUSES, "complete")}
           for row in result.frame.to_dict(orient="records")]
    assert got == want
    every = common.load(golden_source())
    assert reference.lifecycle(every, spec, today=date(2026, 3, 1)) == [
        {k: v for k, v in row.items() if k != "complete"} for row in want]


def test_people_are_conserved_between_periods() -> None:
    """Active now = active before + new + resurrecting + dormant (dormant is negative)."""
    result = run_lifecycle(golden_source(), LifecycleSpec(period="day"))
    frame = result.frame
    before = frame["active"].shift(1).fillna(0)
    assert (frame["active"] == before + frame["new"] + frame["resurrecting"]
            + frame["dormant"]).all()
    assert len(frame) == (date(2026, 2, 6) - date(2026, 1, 5)).days + 1


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"period": "quarter"}, "period", "'month'"),
    ({"active_event": {"event": ["*", "A"]}}, "active_event.event", "'*'"),
    ({"as_of": "2026-02-01", "filters": {"date_range": {"end": "2026-01-31"}}}, "as_of",
     "after the date range"),
    ({"filters": {"date_range": {"start": "2026-02-01", "end": "2026-01-01"}}},
     "filters.date_range.end", "before"),
])
def test_bad_specs_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(LifecycleSpec, data)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_unknown_event_names_the_field_when_run() -> None:
    with pytest.raises(ValidationError, match="unknown event") as caught:
        run_json(golden_source(), "lifecycle", {"active_event": {"event": "Signed In"}})
    assert caught.value.field == "active_event.event"


def test_empty_and_round_trip() -> None:
    empty = lifecycle(source_of([]), LifecycleSpec())
    assert empty.frame.empty and empty.to_dict()["rows"] == []
    spec = LifecycleSpec(period="month")
    assert from_dict(LifecycleSpec, json.loads(json.dumps(to_dict(spec)))) == spec
    result = run_lifecycle(golden_source(), spec)
    body = json.loads(json.dumps(result.to_dict()))
    assert body["kind"] == "lifecycle" and body["rows"][0]["new"] == 6
    figure = result.figure()
    assert [bar.name for bar in figure.data] == list(STATUSES)
    assert figure.layout.barmode == "relative"


def test_the_demo_counts_agree_with_direct_counts(demo_store: Any) -> None:
    """On the demo: everyone who ordered is new exactly once, and the people active in each
    month are the distinct buyers of that month counted directly."""
    from touchpath.analytics import Filters
    from touchpath.analytics.frame import scoped_events

    result = run_json(demo_store, "lifecycle", {"active_event": {"event": "Order Completed"},
                                                "period": "month"})
    events = scoped_events(demo_store, Filters())
    orders = events.filter(events.event == "Order Completed")
    assert int(result.frame["new"].sum()) == orders.person_id.nunique().to_pyarrow().as_py()
    month = orders.timestamp.truncate("M").date()
    direct = orders.group_by(month.name("period")).agg(n=orders.person_id.nunique()).to_pandas()
    assert dict(zip(result.frame["period"], result.frame["active"], strict=True)) == {
        date(p.year, p.month, 1): n for p, n in zip(direct["period"], direct["n"], strict=True)}
    assert len(result.frame) == 6 and result.frame["resurrecting"].iloc[1:].sum() > 0
