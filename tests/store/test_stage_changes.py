"""The store's stage changes (table ``stage_changes``, kept up to date with the sessions) equal
the changes computed with windows at query time, across batches that arrive out of order,
identity merges, erasure and a restart; a stages analysis reads them only where that gives
the same answer."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.analytics.test_stages import models
from touchpath.analytics import Filters, from_dict
from touchpath.analytics.source import TableSource
from touchpath.analytics.stages import (
    CHANGE_COLUMNS,
    StagesSpec,
    _computed_changes,
    _stored_changes,
    person_stages,
    run_stages,
    stage_changes,
)
from touchpath.config import load_settings
from touchpath.journey.stages import StageModel, load_stages, stage_model_from_dict
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.store.duckdb_store import STAGE_MODELS_KEPT, DuckDBStore

START = datetime(2026, 3, 1, 9, 0)

message = st.fixed_dictionaries({
    "event": st.sampled_from(["A", "B", "C", "D", "$page"]),
    "device": st.sampled_from(["d1", "d2", "d3", "d4"]),
    "user": st.sampled_from([None, None, None, "u1", "u2"]),
    "minute": st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: m - m % 360),
    "plan": st.sampled_from([None, "pro", "free"]),
    "n": st.sampled_from([None, 0, 1, 2]),
    "email": st.booleans(),
})


def _body(m: dict[str, Any], n: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messageId": f"m{n:03d}", "anonymousId": m["device"],
        "timestamp": (START + timedelta(minutes=m["minute"])).isoformat() + "Z",
        "properties": {k: m[k] for k in ("plan", "n") if m[k] is not None},
    }
    if m["event"] == "$page":
        body["type"] = "page"
    else:
        body.update(type="track", event=m["event"])
    if m["user"]:
        body["userId"] = m["user"]
    if m["email"]:  # channel email, and a campaign
        body["context"] = {"campaign": {"source": "news", "medium": "email", "name": "spring"}}
    return body


def _write(store: DuckDBStore, batch: list[dict[str, Any]], first: int) -> None:
    rows = [parse_message(_body(m, first + i), received_at=START + timedelta(days=30))
            for i, m in enumerate(batch)]
    store.write(rows_to_table(rows))


def _rows(table: Any) -> list[tuple[Any, ...]]:
    frame = table.select(*CHANGE_COLUMNS).to_pandas()
    out = []
    for row in frame.itertuples(index=False):
        out.append(tuple(None if (v is None or v is pd.NaT or (isinstance(v, float)
                                                                and math.isnan(v)))
                         else v for v in row))
    return sorted(out, key=repr)


def _stored_equals_computed(store: DuckDBStore, model: StageModel) -> None:
    spec = StagesSpec(model=model)
    stored = _stored_changes(store, spec)
    assert stored is not None
    assert _rows(stored) == _rows(_computed_changes(store, spec))


batches = st.lists(st.lists(message, min_size=1, max_size=8), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(batches, models())
def test_stored_stage_changes_equal_computed_changes(tmp_path_factory: Any,
                                                     batches: list[list[dict[str, Any]]],
                                                     model: StageModel) -> None:
    path: Path = tmp_path_factory.mktemp("stages") / "s.duckdb"
    n = 0
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        for batch in batches:
            _write(store, batch, n)
            n += len(batch)
            _stored_equals_computed(store, model)
    # a new process does not know the model's query: new events drop its stored changes,
    # and the next use computes them again for everyone
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        _write(store, batches[0], n)
        store.refresh_sessions()
        assert store.sql("SELECT count(*) AS n FROM stage_changes").to_pylist()[0]["n"] == 0
        _stored_equals_computed(store, model)


FILTERS = [
    {}, {"date_range": {"end": "2026-03-08"}},
    {"segments": [{"kind": "behaviour", "event": {"event": "B"}}]},
    {"segments": [{"kind": "behaviour", "event": {"event": "B"}, "negate": True}],
     "timezone": "Asia/Kathmandu"},
    {"person_where": [{"property": "initial_channel", "op": "eq", "value": "email"}]},
]


@settings(max_examples=40, deadline=None)
@given(st.lists(message, min_size=8, max_size=30), models(), st.sampled_from(FILTERS),
       st.sampled_from([None, date(2026, 3, 5), date(2026, 3, 12)]),
       st.sampled_from(["day", "week"]))
def test_stages_from_stored_changes_equal_stages_computed(
        tmp_path_factory: Any, batch: list[dict[str, Any]], model: StageModel,
        filters: dict[str, Any], as_of: date | None, period: str) -> None:
    path: Path = tmp_path_factory.mktemp("stages") / "s.duckdb"
    # every name once (an inline model naming an event the store lacks is an error)
    batch = batch + [{"event": name, "device": "d9", "user": None, "minute": 60 * i,
                      "plan": None, "n": None, "email": False}
                     for i, name in enumerate(["A", "B", "C", "D", "$page"])]
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        _write(store, batch, 0)
        spec = StagesSpec(model=model, as_of=as_of, period=period,  # type: ignore[arg-type]
                          filters=from_dict(Filters, filters))
        assert _stored_changes(store, spec) is not None
        copy = TableSource(store.table("events").to_pyarrow())  # no stored changes
        got, want = run_stages(store, spec), run_stages(copy, spec)
        assert got.summary == want.summary
        pd.testing.assert_frame_equal(got.frame, want.frame)
        for name, table in want.tables.items():
            pd.testing.assert_frame_equal(got.tables[name], table, check_dtype=False)
        pd.testing.assert_frame_equal(person_stages(store, spec), person_stages(copy, spec))


def test_a_change_after_as_of_is_not_seen(tmp_path: Path) -> None:
    batch = [{"event": e, "device": "d1", "user": None, "minute": minute, "plan": None,
              "n": None, "email": False} for e, minute in (("A", 0), ("B", 60 * 24 * 10))]
    model = stage_model_from_dict({"name": "two", "stages": [
        {"id": "first", "names": {"en": "First"}, "rules": [{"event": "A"}]},
        {"id": "second", "names": {"en": "Second"}, "rules": [{"event": "B"}]}]})
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb")) as store:
        _write(store, batch, 0)
        before = run_stages(store, StagesSpec(model=model, as_of=date(2026, 3, 5)))
        after = run_stages(store, StagesSpec(model=model))
    assert list(before.frame["people"]) == [1, 0]  # B came on 11 March
    assert list(before.over_time["first"])[-1] == 1
    assert list(after.frame["people"]) == [0, 1]


def test_specs_that_see_part_of_a_history_are_computed(tmp_path: Path) -> None:
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb")) as store:
        for filters in ({"date_range": {"start": "2026-03-02"}},
                        {"date_range": {"last_days": 7}}, {"channels": ["email"]},
                        {"where": [{"property": "properties.plan", "op": "is_set"}]}):
            spec = StagesSpec(filters=from_dict(Filters, filters))
            assert _stored_changes(store, spec) is None, filters
        assert _stored_changes(TableSource(store.table("events").to_pyarrow()),
                               StagesSpec()) is None


def _stored_count(store: DuckDBStore) -> int:
    return int(store.sql("SELECT count(*) AS n FROM stage_changes").to_pylist()[0]["n"])


def test_erase_removes_the_persons_stored_changes(tmp_path: Path) -> None:
    batch = [{"event": "A", "device": d, "user": None, "minute": 0, "plan": None, "n": None,
              "email": False} for d in ("d1", "d2")]
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb")) as store:
        _write(store, batch, 0)
        stage_changes(store, StagesSpec(model=load_stages("default")))
        assert _stored_count(store) == 2
        store.erase("d1")
        assert _stored_count(store) == 1
        rest = store.sql("SELECT DISTINCT person_id FROM events").to_pylist()
        kept = store.sql("SELECT person_id FROM stage_changes").to_pylist()
        assert kept == rest


def test_the_least_recently_used_models_are_dropped(tmp_path: Path) -> None:
    batch = [{"event": "A", "device": "d1", "user": None, "minute": 0, "plan": None,
              "n": None, "email": False}]
    base = load_stages("default")
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb")) as store:
        _write(store, batch, 0)
        for i in range(STAGE_MODELS_KEPT + 2):
            model = StageModel(name=f"m{i}", stages=base.stages)
            stage_changes(store, StagesSpec(model=model))
        kept = store.sql("SELECT count(DISTINCT model_key) AS n FROM stage_changes")
        assert kept.to_pylist()[0]["n"] == STAGE_MODELS_KEPT
        names = store.sql("SELECT count(*) AS n FROM derived_state "
                          "WHERE starts_with(name, 'stage_model:')")
        assert names.to_pylist()[0]["n"] == STAGE_MODELS_KEPT
        assert len(store._stage_queries) == STAGE_MODELS_KEPT  # the process forgets them too
