"""Paths against the plain-Python reference, a hand-checked golden log, bad specs and the demo."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.analytics.reference import common
from tests.analytics.reference import paths as reference
from tests.analytics.strategies import event_rows, source_of
from touchpath.analytics import EventMatcher, from_dict, run, run_json, to_dict
from touchpath.analytics import paths as paths_module
from touchpath.analytics.paths import PATH_END, SEPARATOR, PathsResult, PathsSpec, next_events
from touchpath.errors import ValidationError

GOLDEN = Path(__file__).parent / "golden" / "paths"
PRO = {"property": "properties.plan", "op": "eq", "value": "pro"}

SPECS: list[dict[str, Any]] = [
    {},
    {"start": {"event": "A"}},
    {"end": {"event": "C"}},
    {"start": {"event": "A"}, "end": {"event": "C"}},
    {"start": {"event": "A"}, "per": "session"},
    {"start": {"event": "A"}, "exclude": ["B", "$page"]},
    {"groups": [["AB", "re:^[AB]$"], ["Pages", "$pa*"]], "page_names": True},
    {"page_names": True, "start": {"event": "$page"}},
    {"collapse_repeats": False, "max_steps": 3},
    {"max_steps": 2, "top": 2},
    {"start": {"event": "B", "where": [PRO]}, "max_steps": 4},
    {"start": {"event": "A"}, "occurrence": "last"},
    {"end": {"event": "B"}, "occurrence": "last", "max_steps": 3},
    {"start": {"event": "A"}, "end": {"event": "A"}, "max_steps": 3,
     "collapse_repeats": False},
    {"start": {"event": ["A", "B"]}, "end": {"event": "D"}, "max_steps": 4, "per": "session",
     "session_timeout_seconds": 3600},
    {"min_edge_weight": 2, "filters": {"channels": ["email", "direct"]}},
    {"start": {"event": "*"}, "end": {"event": "C"}, "max_steps": 6, "top": 3,
     "filters": {"segments": [{"kind": "persons", "person_ids": ["p1", "p2", "p4"]}]}},
]


@st.composite
def named_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Random logs whose page events carry page names (some missing), for ``page_names``."""
    rows = draw(event_rows())
    for row in rows:
        if row["event"] == "$page":
            row["name"] = draw(st.sampled_from(("Home", "Product", None)))
    return rows


def assert_equal_to_reference(result: PathsResult, want: dict[str, Any], spec: PathsSpec) -> None:
    entities = want["entities"]
    assert result.summary["entities"] == entities
    assert result.summary["distinct_paths"] == want["distinct"]
    got_paths = list(zip(result.frame["path"], result.frame["count"], strict=True))
    assert got_paths == want["paths"]
    assert [len(p.split(SEPARATOR)) for p in result.frame["path"]] == list(result.frame["steps"])
    edges = {(int(r.step), r.source, r.target): int(r.count)
             for r in result.edges.itertuples()}
    assert edges == want["edges"]
    transitions = {(r.source, r.target): int(r.count) for r in result.transitions.itertuples()}
    assert transitions == want["transitions"]
    if not result.transitions.empty:
        sums = result.transitions.groupby("source")["probability"].sum()
        assert sums.round(9).eq(1).all()
    matrix = result.step_matrix
    got_at = {}
    for row in matrix.to_dict(orient="records"):
        for k in range(1, spec.max_steps + 1):
            count = round(row[k] * entities)
            if count:
                got_at[(row["event"], k)] = count
    assert got_at == want["step_matrix"]
    if entities:
        assert matrix.iloc[-1]["event"] == PATH_END
        assert (matrix[list(range(1, spec.max_steps + 1))].sum().round(9) == 1).all()


MATCHERS = st.sampled_from([None, {"event": "A"}, {"event": "C"}, {"event": ["B", "D"]},
                             {"event": "*"}, {"event": "$page"}, {"event": "B", "where": [PRO]}])


@st.composite
def spec_data(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid spec: every option drawn independently."""
    start, end = draw(MATCHERS), draw(MATCHERS)
    anchors = {name for matcher in (start, end) if matcher
               for name in ([matcher["event"]] if isinstance(matcher["event"], str)
                            else matcher["event"])}
    exclude = [e for e in draw(st.lists(st.sampled_from(["A", "B", "C", "D", "$page"]),
                                        max_size=2, unique=True)) if e not in anchors]
    low = 3 if start and end else 2
    return {
        "start": start, "end": end,
        "per": draw(st.sampled_from(["person", "session"])),
        "max_steps": draw(st.integers(low, 7)),
        "top": draw(st.integers(1, 6)),
        "exclude": exclude,
        "groups": draw(st.sampled_from([[], [["AB", "re:^[AB]$"]], [["Pages", "$p*"]],
                                        [["Home", "*Home"], ["X", "re:C|D"]]])),
        "page_names": draw(st.booleans()),
        "collapse_repeats": draw(st.booleans()),
        "occurrence": draw(st.sampled_from(["first", "last"])),
        "min_edge_weight": draw(st.integers(1, 3)),
        "session_timeout_seconds": draw(st.sampled_from([900, 1800, 7200])),
        "filters": draw(st.sampled_from([{}, {"channels": ["email", "direct"]},
                                         {"date_range": {"start": "2026-01-05"}}])),
    }


def check_against_reference(rows: list[dict[str, Any]], data: dict[str, Any]) -> None:
    source = source_of(rows)
    spec = from_dict(PathsSpec, data)
    # past the unknown-name check: a random log need not hold every name a spec uses
    result = paths_module._run(source, spec, None)
    try:
        assert_equal_to_reference(result, reference.paths(common.load(source), spec), spec)
    except AssertionError as exc:
        raise AssertionError(f"spec {data}: {exc}") from exc


@settings(max_examples=60, deadline=None)
@given(named_rows(), spec_data())
def test_paths_equal_the_reference_for_random_specs(rows: list[dict[str, Any]],
                                                   data: dict[str, Any]) -> None:
    check_against_reference(rows, data)


@pytest.mark.parametrize("data", SPECS)
@settings(max_examples=5, deadline=None)
@given(rows=named_rows())
def test_paths_equal_the_reference_for_each_option(rows: list[dict[str, Any]],
                                                   data: dict[str, Any]) -> None:
    check_against_reference(rows, data)


@settings(max_examples=25, deadline=None)
@given(event_rows(), st.lists(st.sampled_from(["p1", "p2", "p3", "p4", "p5"]), unique=True))
def test_next_events_is_paths_from_the_event_for_those_people(
        rows: list[dict[str, Any]], persons: list[str]) -> None:
    assume(any(row["event"] == "B" for row in rows))  # else: unknown event, tested below
    source = source_of(rows)
    every = common.load(source)
    spec = PathsSpec(start=EventMatcher("B"), max_steps=4, top=50)
    mine = [e for e in every if e["person_id"] in persons]
    want = reference.paths(mine, spec)
    by_list = next_events(source, "B", persons=persons, max_steps=4, top=50)
    ids = source.table("events").select("person_id").distinct()
    by_table = next_events(source, EventMatcher("B"),
                           persons=ids.filter(ids.person_id.isin(persons or ["none"])),
                           max_steps=4, top=50)
    for result in (by_list, by_table):
        assert_equal_to_reference(result, want, spec)


# --- golden file -------------------------------------------------------------------------

def golden_source() -> Any:
    rows = []
    for line in (GOLDEN / "events.csv").read_text().splitlines()[1:]:
        if not line.strip() or line.startswith("#"):
            continue
        person, stamp, message_id, event, name, channel = line.split(",")
        rows.append({"person_id": person, "timestamp": datetime.fromisoformat(stamp),
                     "message_id": message_id, "event": event, "name": name or None,
                     "channel": channel})
    return source_of(rows)


def rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}
            for row in rows]


def result_tables(result: PathsResult) -> dict[str, Any]:
    """The result in the golden file's shape (JSON form, shares rounded to 4 places)."""
    data = result.to_dict()
    return {"summary": data["summary"], "paths": rounded(data["rows"]),
            **{name: rounded(rows) for name, rows in data["tables"].items()}}


@pytest.mark.parametrize("case", sorted(p.stem for p in GOLDEN.glob("*.json")))
def test_golden(case: str) -> None:
    # The expected outputs were written by hand from events.csv (see the README there): each
    # person's path walked on paper, then counted; they are never regenerated by code.
    expected = json.loads((GOLDEN / f"{case}.json").read_text())
    result = run_json(golden_source(), "paths", expected["spec"])
    assert isinstance(result, PathsResult)
    got = result_tables(result)
    want = {k: v for k, v in expected.items() if k != "spec"}
    for key, value in want.items():
        assert got[key] == value, key


# --- bad specs ---------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "field", "words"), [
    ({"max_steps": 1}, "max_steps", "between 2 and 20"),
    ({"max_steps": 21}, "max_steps", "between 2 and 20"),
    ({"start": {"event": "A"}, "end": {"event": "B"}, "max_steps": 2}, "max_steps",
     "at least 3"),
    ({"top": 0}, "top", "between 1"),
    ({"per": "visit"}, "per", "'person'"),
    ({"min_edge_weight": 0}, "min_edge_weight", "at least 1"),
    ({"exclude": ["B", ""]}, "exclude[1]", "event name"),
    ({"start": {"event": "A"}, "exclude": ["A"]}, "exclude[0]", "start event"),
    ({"groups": [["G", "re:("]]}, "groups[0][1]", "regular expression"),
    ({"groups": [["G"]]}, "groups[0]", "list of 2"),
    ({"groups": [["", "A*"]]}, "groups[0][0]", "label"),
    ({"start": {"event": []}}, "start.event", "event name"),
    ({"start": {"event": "A", "where": [{"property": "plan", "value": 1}]}},
     "start.where[0].property", "properties.<key>"),
    ({"filters": {"channels": "email"}}, "filters.channels", "expected a list"),
    ({"colour": 1}, "colour", "unknown field"),
])
def test_bad_specs_name_the_field(data: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(PathsSpec, data)
    assert caught.value.field == field
    assert words in str(caught.value)


@pytest.mark.parametrize(("data", "field"), [
    ({"start": {"event": "Prodcut Viewed"}}, "start.event"),
    ({"end": {"event": "Nope"}}, "end.event"),
    ({"exclude": ["Home"]}, "exclude[0]"),
    ({"filters": {"channels": ["tv"]}}, "filters.channels[0]"),
])
def test_unknown_names_on_a_source_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        run_json(golden_source(), "paths", data)
    assert caught.value.field == field


def test_empty_source_gives_an_empty_result() -> None:
    result = run(source_of([]), PathsSpec(start=EventMatcher("A")))
    assert isinstance(result, PathsResult)
    assert result.summary["entities"] == 0
    assert result.frame.empty and result.edges.empty and result.step_matrix.empty
    result.figure()
    result.step_matrix_figure()
    result.transition_graph_figure()
    assert result.to_dict()["rows"] == []


def test_figures_draw_the_tables() -> None:
    result = run_json(golden_source(), "paths", {"start": {"event": "Product Viewed"},
                                                "max_steps": 4})
    assert isinstance(result, PathsResult)
    sankey = result.figure().data[0]
    assert list(sankey.link.value) == list(result.edges["count"])
    assert len(sankey.node.label) == len({(r.step, r.source) for r in result.edges.itertuples()}
                                         | {(r.step + 1, r.target)
                                            for r in result.edges.itertuples()})
    heatmap = result.step_matrix_figure().data[0]
    assert list(heatmap.y) == list(result.step_matrix["event"])
    graph = result.transition_graph_figure(min_probability=0.3)
    drawn = {a.hovertext.split(":")[0] for a in graph.layout.annotations}
    likely = result.transitions[result.transitions["probability"] >= 0.3]
    assert drawn == {f"{r.source} → {r.target}" for r in likely.itertuples()}


def test_spec_round_trips_through_json() -> None:
    spec = from_dict(PathsSpec, SPECS[6] | {"start": {"event": "A"}, "exclude": ["D"]})
    assert from_dict(PathsSpec, json.loads(json.dumps(to_dict(spec)))) == spec


# --- the demo's planted behaviours -------------------------------------------------------

def test_demo_product_views_lead_to_cart_and_checkout(demo_store: Any) -> None:
    # The demo's visits go product → cart → checkout (docs/demo-data.md): after a product
    # view, the most common next step that is not leaving is adding to the cart, and the
    # most common path that goes on reaches Checkout Started.
    result = run(demo_store, PathsSpec(start=EventMatcher("Product Viewed"), per="session",
                                       max_steps=4, top=10))
    assert isinstance(result, PathsResult)
    assert result.summary["entities"] > 1000
    after_view = result.transitions[(result.transitions["source"] == "Product Viewed")
                                    & (result.transitions["target"] != PATH_END)]
    assert after_view.iloc[0]["target"] == "Product Added"
    assert after_view.iloc[0]["probability"] > 0.25
    going_on = result.frame[result.frame["steps"] > 1]
    top = going_on.iloc[0]["path"].split(SEPARATOR)
    assert top[:2] == ["Product Viewed", "Product Added"]
    assert "Checkout Started" in top


def test_demo_safari_visitors_stop_at_the_payment_step(demo_store: Any) -> None:
    # Planted behaviour 2: from checkout step 2, 40% of Safari / iOS visits go on to
    # "Payment Info Entered" against 80% elsewhere. The paths from that step find it.
    step_2 = {"event": "Checkout Step Completed",
              "where": [{"property": "properties.step", "op": "eq", "value": 2}]}
    agent = "context.userAgent"
    safari = [{"property": agent, "op": "contains", "value": "Safari"},
              {"property": agent, "op": "not_contains", "value": "Chrome"},
              {"property": agent, "op": "not_contains", "value": "Android"}]
    chrome = [{"property": agent, "op": "contains", "value": "Chrome"}]
    went_on = {}
    for name, where in (("safari", safari), ("chrome", chrome)):
        result = run_json(demo_store, "paths", {
            "start": step_2, "per": "session", "max_steps": 2, "collapse_repeats": False,
            "filters": {"where": where}})
        assert isinstance(result, PathsResult)
        assert result.summary["entities"] >= 100, name
        edges = result.edges.set_index("target")
        went_on[name] = float(edges.loc["Payment Info Entered", "share"])
    assert went_on["safari"] < 0.6 < 0.7 < went_on["chrome"]
