"""Retention and churn against the plain-Python reference, a hand-checked golden file, the
peers' definitions, bad specs, and the demo's planted repeat buyers."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from tests.analytics.reference import common
from tests.analytics.reference import retention as reference
from tests.analytics.strategies import event_rows, mask_size, source_of
from touchpath.analytics import (
    EventMatcher,
    PropertyFilter,
    from_dict,
    run,
    run_json,
    to_dict,
)
from touchpath.analytics.retention import (
    RetentionResult,
    RetentionSpec,
    entry_is_a_return,
    masks_count,
    retention,
)
from touchpath.errors import ValidationError

GOLDEN = Path(__file__).parent / "golden" / "retention"

SPECS: list[dict[str, Any]] = [
    {"cohort_event": {"event": "A"}, "period": "day", "periods": 6},
    {"cohort_event": {"event": "A"}, "return_event": {"event": "B"}, "period": "day",
     "periods": 5, "mode": "on_or_after"},
    {"cohort_event": {"event": ["A", "B"]}, "return_event": {"event": "C"}, "period": "week",
     "periods": 4, "windows": "rolling"},
    {"cohort_event": {"event": "A"}, "period": "day", "periods": 4, "windows": "rolling",
     "mode": "on_or_after", "recurring": True},
    {"period": "week", "periods": 3, "recurring": True, "churn_days": 3},
    {"cohort_event": {"event": "*", "where": [{"property": "properties.plan", "value": "pro"}]},
     "return_event": {"event": "D"}, "period": "month", "periods": 2},
    {"cohort_event": {"event": "B"}, "return_event": {"event": ["B", "C"]}, "period": "day",
     "periods": 7, "measure": "revenue", "churn_days": 5},
    # every entry is a return (entry_is_a_return): counted without message ids
    {"cohort_event": {"event": "B", "where": [{"property": "properties.plan", "value": "pro"}]},
     "return_event": {"event": ["B", "C"]}, "period": "day", "periods": 4,
     "mode": "on_or_after"},
    # ... and not: a return must also be on the pro plan
    {"cohort_event": {"event": "A"}, "period": "day", "periods": 4,
     "return_event": {"event": "A", "where": [{"property": "properties.plan", "value": "pro"}]}},
    {"return_event": {"event": "A"}, "period": "day", "periods": 3, "measure": "revenue",
     "windows": "rolling", "recurring": True},
    {"cohort_event": {"event": "A"}, "cohort_property": "tier", "period": "day",
     "periods": 5, "windows": "rolling"},
    {"cohort_property": "initial_channel", "period": "week", "periods": 3,
     "mode": "on_or_after", "as_of": "2026-01-12"},
    {"cohort_event": {"event": "B"}, "cohort_property": "initial_channel", "period": "day",
     "periods": 3, "filters": {"channels": ["email", "paid_search"]}},
    {"cohort_event": {"event": "$page"}, "period": "day", "periods": 5, "as_of": "2026-01-09",
     "filters": {"date_range": {"start": "2026-01-04", "end": "2026-01-15"}}},
    {"cohort_event": {"event": "C"}, "period": "day", "periods": 4,
     "filters": {"channels": ["email", "direct"], "where": [
         {"property": "revenue", "op": "is_not_set"}]}},
    {"period": "day", "periods": 3, "recurring": True, "cohort_property": "tier",
     "filters": {"person_where": [{"property": "initial_channel", "op": "neq",
                                   "value": "store"}],
                 "date_range": {"end": "2026-01-14"}}},
    # calendar periods and the date range in zones 5h45 ahead of and 3h30 behind UTC (the
    # events are on a 15-minute grid: some fall exactly where a local day begins)
    {"cohort_event": {"event": "A"}, "period": "day", "periods": 5,
     "filters": {"timezone": "Asia/Kathmandu",
                 "date_range": {"start": "2026-01-04", "end": "2026-01-15"}}},
    {"period": "week", "periods": 3, "recurring": True, "churn_days": 3,
     "filters": {"timezone": "America/St_Johns"}},
    {"cohort_event": {"event": "B"}, "period": "day", "periods": 4, "measure": "revenue",
     "as_of": "2026-01-12", "filters": {"timezone": "Asia/Kathmandu"}},
]


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
        return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def as_reference(result: RetentionResult) -> dict[str, Any]:
    """The result in the reference's shape."""
    n = result.summary["periods"]
    cohorts = {}
    for row in result.frame.to_dict(orient="records"):
        cohorts[row["cohort"]] = {
            "size": row["size"], "churned": row["churned"],
            "values": [row[f"period_{k}"] for k in range(n)],
            "rates": [row[f"rate_{k}"] for k in range(n)]}
    return {"cohorts": cohorts, "churned": result.churned_persons}


def assert_same(got: dict[str, Any], want: dict[str, Any], spec: Any) -> None:
    assert got["churned"] == want["churned"], spec
    assert set(got["cohorts"]) == set(want["cohorts"]), spec
    for label, cell in want["cohorts"].items():
        mine = got["cohorts"][label]
        assert (mine["size"], mine["churned"]) == (cell["size"], cell["churned"]), (spec, label)
        for name in ("values", "rates"):
            assert all(close(a, b) for a, b in zip(mine[name], cell[name], strict=True)), (
                spec, label, name, mine[name], cell[name])


@settings(max_examples=30, deadline=None)  # x 16 specs: about a minute
@given(event_rows())
def test_retention_equals_the_reference_for_every_option(rows: list[dict[str, Any]]) -> None:
    source = source_of(rows)
    every = common.load(source)
    for data in SPECS:
        spec = from_dict(RetentionSpec, data)
        result = retention(source, spec)  # random logs may lack an event: no name check
        assert_same(as_reference(result), reference.retention(every, spec), data)


MASKED = [data for data in SPECS if masks_count(from_dict(RetentionSpec, data))]


@pytest.mark.parametrize(("bits", "words"), [(2, 6), (3, 0)], ids=["many-words", "joins"])
@settings(max_examples=20, deadline=None)
@given(rows=event_rows())
def test_masks_of_many_words_and_the_joins_equal_the_reference(
        rows: list[dict[str, Any]], bits: int, words: int) -> None:
    """The specs counted from period masks, with masks of several words (two periods each),
    and with a span too long for the masks (the joins Spark always takes)."""
    source = source_of(rows)
    every = common.load(source)
    with mask_size(bits, words):
        for data in MASKED:
            spec = from_dict(RetentionSpec, data)
            assert_same(as_reference(retention(source, spec)),
                        reference.retention(every, spec), data)


def test_several_specs_are_counted_from_masks() -> None:
    assert len(MASKED) >= 4
    assert {data.get("mode", "on") for data in MASKED} == {"on", "on_or_after"}


def test_every_option_is_exercised_by_the_property_test() -> None:
    seen = {(key, json.dumps(value)) for spec in SPECS for key, value in spec.items()}
    for key, values in {"mode": ["on", "on_or_after"], "windows": ["calendar", "rolling"],
                        "period": ["day", "week", "month"], "recurring": [True],
                        "measure": ["revenue"]}.items():
        for value in values:
            default = RetentionSpec.__dataclass_fields__[key].default == value
            assert default or (key, json.dumps(value)) in seen, (key, value)


def test_an_entry_is_a_return_when_the_return_event_is_as_wide_or_wider() -> None:
    pro = (PropertyFilter("properties.plan", "eq", "pro"),)
    def spec(cohort: EventMatcher, back: EventMatcher) -> RetentionSpec:
        return RetentionSpec(cohort_event=cohort, return_event=back)

    assert entry_is_a_return(spec(EventMatcher("*"), EventMatcher("*")))
    assert entry_is_a_return(spec(EventMatcher("A", pro), EventMatcher("*")))
    assert entry_is_a_return(spec(EventMatcher(("A", "B"), pro), EventMatcher(("A", "B", "C"))))
    assert entry_is_a_return(spec(EventMatcher("A", pro), EventMatcher("A", pro)))
    assert not entry_is_a_return(spec(EventMatcher("*"), EventMatcher("A")))
    assert not entry_is_a_return(spec(EventMatcher(("A", "B")), EventMatcher("A")))
    assert not entry_is_a_return(spec(EventMatcher("A"), EventMatcher("A", pro)))
    assert not entry_is_a_return(spec(EventMatcher("*"), EventMatcher("*", pro)))


# -- golden file ---------------------------------------------------------------------------

def golden_source() -> Any:
    with (GOLDEN / "events.csv").open() as handle:
        rows = [{**row, "timestamp": datetime.fromisoformat(row["timestamp"]),
                 "revenue": float(row["revenue"]) if row["revenue"] else None,
                 "traits": json.loads(row["traits"]) if row["traits"] else None}
                for row in csv.DictReader(handle)]
    return source_of(rows)


@pytest.mark.parametrize("name", sorted(p.stem.removesuffix(".expected")
                                        for p in GOLDEN.glob("*.expected.json")))
def test_golden(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.expected.json").read_text())
    spec = from_dict(RetentionSpec, expected["spec"])
    result = run(golden_source(), spec)
    assert isinstance(result, RetentionResult)
    got = as_reference(result)
    want = {"churned": expected["churned"], "cohorts": {
        (date.fromisoformat(c) if spec.cohort_property is None else c): cell
        for c, cell in expected["cohorts"].items()}}
    assert_same(got, want, name)
    assert all(close(a, b) for a, b in zip(result.retention, expected["retention"], strict=True))
    every = common.load(golden_source())
    assert_same(want, reference.retention(every, spec, today=date(2026, 3, 1)), name)


def test_churned_people_carry_their_last_activity() -> None:
    spec = from_dict(RetentionSpec, json.loads(
        (GOLDEN / "weekly_calendar_on.expected.json").read_text())["spec"])
    result = retention(golden_source(), spec)
    churned = result.tables["churned"]
    assert dict(zip(churned["person_id"], churned["last_seen"], strict=True)) == {
        "bob": datetime(2026, 1, 12, 1), "carol": datetime(2026, 1, 20, 10),
        "dave": datetime(2026, 1, 14, 15), "frank": datetime(2026, 1, 6, 8)}
    assert result.to_dict(persons=True)["tables"]["churned"][0] == {
        "person_id": "bob", "last_seen": "2026-01-12T01:00:00"}


# -- peers' definitions ----------------------------------------------------------------------

def test_period_zero_is_everyone_when_the_return_event_is_the_cohort_event() -> None:
    """PostHog: for first-time retention with the same event, period 0 is 100% by definition."""
    result = run(golden_source(), RetentionSpec(cohort_event=EventMatcher("Signed Up"),
                                                return_event=EventMatcher("Signed Up"),
                                                period="day", periods=2))
    assert isinstance(result, RetentionResult)
    assert result.summary["retention"][0] == 1.0


def test_on_or_after_is_never_below_on_and_never_rises() -> None:
    """Mixpanel's "on or after" (PostHog's unbounded): retained in k if back in k or later."""
    source = golden_source()
    base = {"cohort_event": {"event": "Signed Up"}, "return_event": {"event": "Order Completed"},
            "period": "week", "periods": 5}
    on = run_json(source, "retention", base)
    after = run_json(source, "retention", {**base, "mode": "on_or_after"})
    assert isinstance(on, RetentionResult) and isinstance(after, RetentionResult)
    for k in range(5):
        a, b = on.retention[k], after.retention[k]
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert b >= a
    for row in after.frame.to_dict(orient="records"):
        steps = [row[f"rate_{k}"] for k in range(5) if not math.isnan(row[f"rate_{k}"])]
        assert steps == sorted(steps, reverse=True)
    assert after.retention != on.retention  # the golden log tells them apart


def test_mixpanel_calendar_and_rolling_day_example() -> None:
    """Mixpanel's help: an activity at 8 pm Monday then 6 am Tuesday is day 1 in calendar
    windows, though only 10 hours later (day 0 in rolling windows, day 1 = 24-48 hours)."""
    monday = datetime(2026, 1, 5, 20, 0)
    rows = [{"person_id": "u", "event": "Sign Up", "timestamp": monday},
            {"person_id": "u", "event": "Post", "timestamp": datetime(2026, 1, 6, 6, 0)},
            {"person_id": "v", "event": "Sign Up", "timestamp": monday},
            {"person_id": "v", "event": "Post", "timestamp": datetime(2026, 1, 6, 20, 0)},
            {"person_id": "w", "event": "$page", "timestamp": datetime(2026, 1, 9)}]
    base = {"cohort_event": {"event": "Sign Up"}, "return_event": {"event": "Post"},
            "period": "day", "periods": 2}
    calendar = retention(source_of(rows), from_dict(RetentionSpec, base))
    rolling = retention(source_of(rows), from_dict(RetentionSpec, {**base, "windows": "rolling"}))
    assert calendar.retention == [0.0, 1.0]  # both came back the next calendar day
    assert rolling.retention == [0.5, 0.5]   # u after 10 hours, v after exactly 24 hours


def test_the_docs_examples_are_valid_specs() -> None:
    text = (Path(__file__).parents[2] / "docs" / "retention.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```json")[1:]]
    assert len(blocks) == 2
    from_dict(RetentionSpec, json.loads(blocks[0]))
    from touchpath.analytics.lifecycle import LifecycleSpec

    from_dict(LifecycleSpec, json.loads(blocks[1]))


# -- errors and empty results ----------------------------------------------------------------

@pytest.mark.parametrize(("data", "field", "words"), [
    ({"periods": 0}, "periods", "between 1"),
    ({"period": "year"}, "period", "'week'"),
    ({"mode": "after"}, "mode", "'on_or_after'"),
    ({"windows": "sliding"}, "windows", "'rolling'"),
    ({"churn_days": 0}, "churn_days", "at least 1"),
    ({"measure": "revenue", "mode": "on_or_after"}, "mode", "revenue"),
    ({"cohort_property": "a/b"}, "cohort_property", "person property"),
    ({"as_of": "2026-02-30"}, "as_of", "YYYY-MM-DD"),
    ({"as_of": "2026-02-01", "filters": {"date_range": {"end": "2026-01-31"}}}, "as_of",
     "after the date range"),
    ({"cohort_event": {"event": ""}}, "cohort_event.event", "event name"),
    ({"return_event": {"event": "B", "where": [{"property": "plan", "value": 1}]}},
     "return_event.where[0].property", "properties.<key>"),
])
def test_bad_specs_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(RetentionSpec, data)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_unknown_events_name_the_field_when_run() -> None:
    with pytest.raises(ValidationError, match="did you mean 'Order Completed'") as caught:
        run_json(golden_source(), "retention", {"return_event": {"event": "Order Complete"}})
    assert caught.value.field == "return_event.event"


def test_an_empty_source_gives_an_empty_result() -> None:
    result = run(source_of([]), RetentionSpec(periods=3))
    assert isinstance(result, RetentionResult)
    assert result.frame.empty and result.summary["retention"] == [None, None, None]
    assert result.to_dict()["rows"] == []
    result.figure()


def test_result_round_trips_and_draws() -> None:
    spec = RetentionSpec(cohort_event=EventMatcher("Signed Up"), period="week", periods=4)
    assert from_dict(RetentionSpec, json.loads(json.dumps(to_dict(spec)))) == spec
    result = run(golden_source(), spec)
    body = json.loads(json.dumps(result.to_dict()))
    assert body["kind"] == "retention" and len(body["rows"]) == len(result.frame)
    figure = result.figure()
    assert figure.data[0].type == "heatmap"
    assert len(figure.data[0].z) == len(result.frame)


# -- the demo's planted behaviour --------------------------------------------------------------

def test_referred_customers_buy_again_more_often_on_the_demo(demo_store: Any) -> None:
    """Planted 4b (docs/demo-data.md): after a first online order, referred customers come back
    to buy about twice as often (0.62 vs 0.30 as drawn; 42.7% vs 19.6% measured at 200k).
    Cohort: first online order, by the person's initial channel; retained in rolling day 1 or
    later = another online order at least 24 hours after the first."""
    from touchpath.analytics.frame import scoped_events

    online = {"property": "source", "op": "in", "value": ["web", "ios", "android"]}
    result = run_json(demo_store, "retention", {
        "cohort_event": {"event": "Order Completed", "where": [online]},
        "return_event": {"event": "Order Completed", "where": [online]},
        "cohort_property": "initial_channel", "period": "day", "periods": 2,
        "windows": "rolling", "mode": "on_or_after"})
    cells = result.tables["cells"]
    later = cells[cells["period"] == 1].set_index("cohort")
    referral = later.loc["referral"]
    others = later.drop(index="referral")
    p1 = referral["value"] / referral["eligible"]
    p2 = others["value"].sum() / others["eligible"].sum()
    assert referral["eligible"] >= 20 and others["eligible"].sum() >= 200
    assert p1 >= 1.6 * p2, (p1, p2)
    pooled = (referral["value"] + others["value"].sum()) / (
        referral["eligible"] + others["eligible"].sum())
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (
        1 / referral["eligible"] + 1 / others["eligible"].sum()))
    assert z > 2.5, z
    big = later[later["eligible"] >= 20]
    assert big["rate"].idxmax() == "referral"
    # every first online order is in exactly one cohort
    events = scoped_events(demo_store, from_dict(RetentionSpec, {}).filters)
    orders = events.filter((events.event == "Order Completed")
                           & events.source.isin(["web", "ios", "android"]))
    buyers = orders.person_id.nunique().to_pyarrow().as_py()
    assert int(result.frame["size"].sum()) == buyers
