"""Journey stages against the plain-Python reference, a golden file and the demo's journeys."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.reference import stages as reference
from tests.analytics.strategies import event_rows, source_of
from touchpath.analytics import Filters, from_dict, to_dict
from touchpath.analytics.stages import StagesResult, StagesSpec, person_stages, run_stages
from touchpath.errors import ValidationError
from touchpath.journey.stages import StageModel, stage_model_from_dict

GOLDEN = Path(__file__).parent / "golden" / "stages"

NAMES = ["A", "B", "C", "D", "$page"]
MATCHERS = st.one_of(
    st.just({"event": "*"}),
    st.sampled_from(NAMES).map(lambda n: {"event": n}),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True).map(
        lambda ns: {"event": ns}),
)
WHERE = st.sampled_from([
    [], [], [{"property": "properties.plan", "op": "eq", "value": "pro"}],
    [{"property": "properties.n", "op": "gte", "value": 1}],
    [{"property": "utm_campaign", "op": "is_set"}],
])


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {**draw(MATCHERS), "where": draw(WHERE)}
    if draw(st.booleans()):
        rule["channels"] = draw(st.lists(st.sampled_from(["direct", "email", "store"]),
                                         min_size=1, max_size=2, unique=True))
    if draw(st.integers(0, 2)) == 0:
        rule["after"] = {**draw(MATCHERS), "where": draw(WHERE)}
        rule["after_count"] = draw(st.integers(1, 2))
    if draw(st.integers(0, 2)) == 0:
        rule["not_after"] = {**draw(MATCHERS), "where": draw(WHERE)}
    return rule


@st.composite
def models(draw: st.DrawFn) -> StageModel:
    n = draw(st.integers(1, 4))
    return stage_model_from_dict({"name": "random", "stages": [
        {"id": f"s{i}", "names": {"en": f"S{i}"},
         "rules": draw(st.lists(rules(), min_size=1, max_size=2))}
        for i in range(n)]})


FILTERS = st.sampled_from([
    {}, {"date_range": {"start": "2026-01-04", "end": "2026-01-15"}},
    {"channels": ["email", "direct"]},
    {"segments": [{"kind": "behaviour", "event": {"event": "A"}}]},
    # calendar periods and the date range in a zone 5h45 ahead of UTC (events are on a
    # 15-minute grid: some fall exactly where a local day begins)
    {"timezone": "Asia/Kathmandu", "date_range": {"start": "2026-01-04", "end": "2026-01-15"}},
    {"timezone": "America/St_Johns"},
])


def _same(got: pd.DataFrame, want: list[dict[str, Any]], context: Any) -> None:
    rows = got.to_dict(orient="records")
    assert len(rows) == len(want), (context, rows, want)
    for row, expected in zip(rows, want, strict=True):
        for key, value in expected.items():
            have = row[key]
            if value is None:
                assert have is None or (isinstance(have, float) and math.isnan(have)), (
                    context, key, row, expected)
            elif isinstance(value, float):
                assert have == pytest.approx(value, rel=1e-9, abs=1e-6), (context, key, row)
            else:
                assert have == value, (context, key, row, expected)


@settings(max_examples=60, deadline=None)
@given(event_rows(), models(), st.sampled_from(["day", "week", "month"]),
       st.sampled_from([None, date(2026, 1, 8), date(2026, 2, 20)]), FILTERS)
def test_stages_equal_the_reference(rows: list[dict[str, Any]], model: StageModel, period: str,
                                    as_of: date | None, filters: dict[str, Any]) -> None:
    # every name once (an inline model naming an event the source lacks is an error)
    rows = rows + [{"message_id": f"z{i}", "person_id": "p0", "event": name,
                    "timestamp": datetime(2026, 1, 2 + i)} for i, name in enumerate(NAMES)]
    source = source_of(rows)
    spec = StagesSpec(model=model, period=period, as_of=as_of,  # type: ignore[arg-type]
                      filters=from_dict(Filters, filters))
    scoped = common.scoped(common.load(source), spec.filters)
    want = reference.analyse(scoped, model, period, as_of, spec.filters.timezone or "UTC")
    got = run_stages(source, spec)

    assert list(got.frame["people"]) == want["now"]
    assert got.summary["people"] == want["people"]
    assert got.summary["people_in_stages"] == sum(want["now"])
    _same(got.conversion, want["conversion"], "conversion")
    _same(got.drop_off, want["drop_off"], "drop_off")
    _same(got.transitions, want["transitions"], "transitions")
    over_time = [{**row, "period": pd.Timestamp(row["period"])} for row in want["over_time"]]
    _same(got.over_time, over_time, "over_time")

    people = person_stages(source, spec)
    persons = want["persons"]
    assert list(people["person_id"]) == sorted(persons)
    for row in people.to_dict(orient="records"):
        expected = persons[row["person_id"]]
        assert row["current_stage"] == expected["current_stage"]
        assert list(row["path"]) == expected["path"]
        for stage in model.stages:
            have = row[f"entered_{stage.id}"]
            at = expected[f"entered_{stage.id}"]
            assert (pd.isna(have) and at is None) or have == pd.Timestamp(at), (row, expected)


# -- golden file ---------------------------------------------------------------------------


def _golden_rows() -> list[dict[str, Any]]:
    with (GOLDEN / "events.csv").open(encoding="utf-8") as handle:
        rows = []
        for row in csv.DictReader(handle):
            rows.append({
                "message_id": row["message_id"], "person_id": row["person_id"],
                "event": row["event"], "timestamp": datetime.fromisoformat(row["timestamp"]),
                "channel": row["channel"] or None, "utm_source": row["utm_source"] or None,
                "properties": json.loads(row["properties"]) if row["properties"] else None,
            })
        return rows


def test_the_golden_journeys() -> None:
    """events.csv through the default template, against expected.json (worked out by hand:
    see the comments in expected.json and docs/stages.md for the rules)."""
    expected = json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))
    source = source_of(_golden_rows())
    spec = StagesSpec(model="default", period="week", language="he")
    result = run_stages(source, spec)
    assert result.frame[["stage", "name", "people"]].values.tolist() == expected["now"]
    assert result.over_time.assign(period=result.over_time["period"].dt.date.astype(str)
                                   ).values.tolist() == expected["over_time"]
    assert result.conversion[["from_stage", "to_stage", "entered", "converted",
                              "median_seconds"]].fillna(-1).values.tolist() == [
        [*row[:4], -1 if row[4] is None else row[4]] for row in expected["conversion"]]
    assert result.drop_off[["stage", "entered", "furthest"]].values.tolist() == expected[
        "drop_off"]
    assert result.transitions.fillna("").values.tolist() == expected["transitions"]
    people = person_stages(source, spec)
    assert {r["person_id"]: [r["current_stage"], list(r["path"])]
            for r in people.to_dict(orient="records")} == expected["persons"]


# -- specs, errors, results ----------------------------------------------------------------


def test_a_spec_with_an_inline_model_survives_json() -> None:
    model = stage_model_from_dict({"name": "m", "stages": [
        {"id": "a", "names": {"en": "A"}, "rules": [{"event": "A", "channels": ["email"]}]}]})
    for spec in (StagesSpec(), StagesSpec(model=model, as_of=date(2026, 1, 3), period="month")):
        data = json.loads(json.dumps(to_dict(spec)))
        assert from_dict(StagesSpec, data) == spec


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"model": "funnel"}, "model", "templates: buyer, default, post_purchase"),
    ({"model": {"name": "m", "stages": [{"id": "a", "names": {"en": "A"},
                                         "rules": [{"event": ""}]}]}},
     "model.stages[0].rules[0].event", "needs an event name"),
    ({"period": "year"}, "period", "'day', 'week', 'month'"),
    ({"as_of": "2026-02-30"}, "as_of", "YYYY-MM-DD"),
    ({"language": "fr"}, "language", "'en'"),
])
def test_bad_specs_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(StagesSpec, data)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_an_unknown_event_in_an_inline_model_names_the_field() -> None:
    source = source_of([{"person_id": "p1", "event": "A", "timestamp": datetime(2026, 1, 1)}])
    model = stage_model_from_dict({"name": "m", "stages": [
        {"id": "a", "names": {"en": "A"}, "rules": [{"event": "A"}]},
        {"id": "b", "names": {"en": "B"}, "rules": [{"event": "A", "after": {"event": "Bb"}}]},
    ]})
    with pytest.raises(ValidationError, match="unknown event 'Bb'") as caught:
        run_stages(source, StagesSpec(model=model))
    assert caught.value.field == "model.stages[1].rules[0].after.event"


def test_an_empty_source_gives_an_empty_result() -> None:
    result = run_stages(source_of([]), StagesSpec())
    assert isinstance(result, StagesResult)
    assert list(result.frame["people"]) == [0] * 5
    assert result.over_time.empty and result.transitions.empty
    assert result.summary["people"] == 0
    json.dumps(result.to_dict())
    assert result.figure().data[0].type == "sankey"


# -- the demo ------------------------------------------------------------------------------


def test_the_default_template_places_the_demo_people_sensibly(demo_store: Any) -> None:
    spec = StagesSpec(model="default", period="month")
    people = person_stages(demo_store, spec).set_index("person_id")
    events = demo_store.table("events")
    ordered = set(events.filter(events.event == "Order Completed")
                  .person_id.to_pyarrow().to_pylist())
    promoters = events.filter(
        (events.event == "Survey Answered")
        & (events.properties.contains('"survey":"nps"'))
        & (events.properties.contains('"score":9') | events.properties.contains('"score":10')))
    promoters_ids = set(promoters.person_id.to_pyarrow().to_pylist())
    assert len(ordered) > 100 and len(promoters_ids) > 10
    # everyone who ordered (online or in a store) reached Purchase; every NPS promoter
    # (planted: people without a support ticket) reached Advocacy
    assert people.loc[sorted(ordered), "entered_purchase"].notna().all()
    assert people.loc[sorted(promoters_ids), "entered_advocacy"].notna().all()
    # nobody reaches Retention without a purchase before it
    retained = people[people["entered_retention"].notna()]
    assert (retained["entered_purchase"] < retained["entered_retention"]).all()
    assert len(retained) > 50
    # people who never ordered and never started a checkout never reached Purchase
    checkout = set(events.filter(events.event == "Checkout Started")
                   .person_id.to_pyarrow().to_pylist())
    others = people[~people.index.isin(ordered | checkout)]
    assert len(others) > 100 and others["entered_purchase"].isna().all()
    result = run_stages(demo_store, spec)
    assert result.summary["people_without_stage"] == 0  # the first touch is Awareness at least
    assert result.summary["people"] == len(people)
    figure = result.figure()
    assert figure.data[0].type == "sankey"
