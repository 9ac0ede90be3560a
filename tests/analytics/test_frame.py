"""scoped_events (filters, segments, sessions) against the plain-Python reference."""

from typing import Any

import pytest
from hypothesis import given, settings

from tests.analytics.reference import common
from tests.analytics.strategies import event_rows, source_of
from touchpath.analytics import Filters, from_dict
from touchpath.analytics.frame import scoped_events

BIG_ORDER = {"property": "revenue", "op": "gt", "value": 11}
FILTERS: list[dict[str, Any]] = [
    {},
    {"date_range": {"start": "2026-01-03", "end": "2026-01-10"}},
    {"where": [{"property": "properties.plan", "op": "eq", "value": 1}]},
    {"where": [{"property": "properties.plan", "op": "neq", "value": "pro"}]},
    {"where": [{"property": "properties.plan", "op": "gte", "value": 1}]},
    {"where": [{"property": "properties.plan", "op": "eq", "value": True}]},
    {"where": [{"property": "properties.plan", "op": "contains", "value": "R"}]},
    {"where": [{"property": "utm_campaign", "op": "not_in", "value": ["spring"]}]},
    {"channels": ["email", "store"]},
    {"person_where": [{"property": "tier", "op": "eq", "value": "gold"}]},
    {"person_where": [{"property": "initial_channel", "op": "eq", "value": "email"}]},
    {"segments": [{"kind": "behaviour", "event": {"event": "A"}, "min_count": 2}]},
    {"segments": [{"kind": "behaviour", "negate": True,
                   "event": {"event": ["B", "C"], "where": [BIG_ORDER]}}]},
    {"segments": [{"kind": "behaviour", "event": {"event": "A"}, "within_days": 5}],
     "date_range": {"end": "2026-01-12"}},
    {"segments": [{"kind": "persons", "person_ids": ["p1", "p3"]}]},
]


@settings(max_examples=40, deadline=None)
@given(event_rows())
def test_scoped_events_equal_the_reference_for_every_filter(rows: list[dict[str, Any]]) -> None:
    source = source_of(rows)
    every = common.load(source)
    for spec in FILTERS:
        filters = from_dict(Filters, spec)
        got = (scoped_events(source, filters, sessions=True)
               .order_by(["person_id", "timestamp", "message_id"]).to_pyarrow().to_pylist())
        want = common.scoped(every, filters, with_sessions=True)
        assert [(e["message_id"], e["session_id"]) for e in got] == [
            (e["message_id"], e["session_id"]) for e in want], spec


@pytest.mark.parametrize(("spec", "field", "words"), [
    ({"where": [{"property": "revenue", "op": "gt", "value": "x"}]}, "where[0].value",
     "needs a number"),
    ({"where": [{"property": "plan", "value": 1}]}, "where[0].property", "properties.<key>"),
    ({"date_range": {"start": "2026-13-01"}}, "date_range.start", "YYYY-MM-DD"),
    ({"date_range": {"start": "2026-02-01", "end": "2026-01-01"}}, "date_range.end", "before"),
    ({"segments": [{"kind": "nope"}]}, "segments[0].kind", "'behaviour'"),
    ({"channels": "email"}, "channels", "expected a list"),
    ({"colour": 1}, "colour", "unknown field"),
])
def test_bad_filters_name_the_field(spec: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(Exception) as caught:
        from_dict(Filters, spec)
    assert getattr(caught.value, "field", None) == field
    assert words in str(caught.value)


def test_an_unknown_channel_names_the_field() -> None:
    source = source_of([])
    with pytest.raises(Exception, match="unknown channel") as caught:
        scoped_events(source, Filters(channels=("tv",)))
    assert getattr(caught.value, "field", None) == "filters.channels[0]"
