"""The store's session numbers (``events.session_index``, kept up to date by
``refresh_sessions``) and its table of sessions equal sessions computed at query time, across
batches that arrive out of order and identity merges."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.analytics import Filters, from_dict
from touchpath.analytics.frame import scoped_events, with_sessions
from touchpath.analytics.sessions import SessionsSpec, _stored_sessions, run_sessions
from touchpath.analytics.source import TableSource
from touchpath.config import load_settings
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.store.duckdb_store import DuckDBStore

START = datetime(2026, 3, 1, 9, 0)


def _sessions(store: DuckDBStore, materialized: bool) -> list[tuple[str, str]]:
    if materialized:
        events = scoped_events(store, Filters(), sessions=True,
                               session_timeout_seconds=store.session_timeout_seconds)
    else:
        events = with_sessions(store.table("events"), store.session_timeout_seconds)
    rows = events.select("message_id", "session_id").to_pyarrow().to_pylist()
    return sorted((r["message_id"], r["session_id"]) for r in rows)


message = st.fixed_dictionaries({
    "device": st.sampled_from(["d1", "d2", "d3"]),
    "user": st.sampled_from([None, None, "u1", "u2"]),
    "minute": st.integers(min_value=0, max_value=240).map(lambda m: m - m % 10),
})


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(message, min_size=1, max_size=6), min_size=1, max_size=4))
def test_stored_sessions_equal_computed_sessions(tmp_path_factory: Any,
                                                 batches: list[list[dict[str, Any]]]) -> None:
    path: Path = tmp_path_factory.mktemp("sessions") / "s.duckdb"
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        n = 0
        for batch in batches:
            rows = []
            for m in batch:
                n += 1
                body = {"type": "track", "event": "E", "messageId": f"m{n:03d}",
                        "anonymousId": m["device"],
                        "timestamp": (START + timedelta(minutes=m["minute"])).isoformat() + "Z"}
                if m["user"]:
                    body["userId"] = m["user"]
                rows.append(parse_message(body, received_at=START + timedelta(days=1)))
            store.write(rows_to_table(rows))
            assert _sessions(store, materialized=True) == _sessions(store, materialized=False)


def test_a_changed_timeout_renumbers_everyone(tmp_path: Path,
                                              make_rows: Callable[..., Any]) -> None:
    path = tmp_path / "s.duckdb"
    times = [START, START + timedelta(minutes=20), START + timedelta(minutes=50)]
    messages = [{"type": "track", "event": "E", "anonymousId": "a", "messageId": f"m{i}",
                 "timestamp": t.isoformat() + "Z"} for i, t in enumerate(times)]
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        store.write(make_rows(*messages, received_at=START + timedelta(days=1)))
        assert {s for _, s in _sessions(store, True)} == {f"{_person(store)}#1"}
        assert store.refresh_sessions() == 0
        got, want = _analyses(store, SessionsSpec())  # the table of sessions too
        assert got.summary["sessions"] == 1
        _same(got, want)
        assert run_sessions(store, SessionsSpec(timeout_seconds=25 * 60)).summary[
            "sessions"] == 2  # another timeout than the store's: computed
    with DuckDBStore(load_settings(env={}, store_path=path,
                                   session_timeout_minutes=25)) as store:
        assert len({s for _, s in _sessions(store, True)}) == 2
        assert _sessions(store, True) == _sessions(store, False)
        got, want = _analyses(store, SessionsSpec(timeout_seconds=25 * 60))
        assert got.summary["sessions"] == 2
        _same(got, want)


def _person(store: DuckDBStore) -> str:
    return str(store.sql("SELECT any_value(person_id) AS p FROM events").to_pylist()[0]["p"])


# -- the table of sessions ---------------------------------------------------------------------

SPECS = [
    {}, {"period": "week"},
    {"filters": {"segments": [{"kind": "behaviour", "event": {"event": "E"}, "min_count": 2}]}},
    {"filters": {"person_where": [{"property": "initial_channel", "op": "eq",
                                   "value": "email"}], "timezone": "Asia/Kathmandu"}},
]

visit = st.fixed_dictionaries({
    "device": st.sampled_from(["d1", "d2", "d3"]),
    "user": st.sampled_from([None, None, "u1", "u2"]),
    "minute": st.integers(min_value=0, max_value=60 * 24 * 3).map(lambda m: m - m % 10),
    "email": st.booleans(),
})


def _analyses(store: DuckDBStore, spec: SessionsSpec) -> tuple[Any, Any]:
    """The analysis from the store's table of sessions, and computed over a copy of the
    events (a source without one)."""
    assert _stored_sessions(store, spec) is not None
    return run_sessions(store, spec), run_sessions(TableSource(store.table("events")
                                                               .to_pyarrow()), spec)


def _same(got: Any, want: Any) -> None:
    def plain(summary: dict[str, Any]) -> dict[str, Any]:  # NaN (no sessions) as None
        return {k: None if isinstance(v, float) and math.isnan(v) else v
                for k, v in summary.items()}

    assert plain(got.summary) == plain(want.summary)
    pd.testing.assert_frame_equal(got.frame, want.frame, check_dtype=False)
    pd.testing.assert_frame_equal(got.entry_channels, want.entry_channels, check_dtype=False)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(visit, min_size=1, max_size=8), min_size=1, max_size=3),
       st.sampled_from(SPECS))
def test_sessions_from_the_stored_table_equal_sessions_computed(
        tmp_path_factory: Any, batches: list[list[dict[str, Any]]], spec: dict[str, Any]
) -> None:
    path: Path = tmp_path_factory.mktemp("sessions") / "s.duckdb"
    analysis = from_dict(SessionsSpec, spec)
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        n = 0
        for batch in batches:  # out of order, with merges (a device that signs in)
            rows = []
            for m in batch:
                n += 1
                body: dict[str, Any] = {
                    "type": "track", "event": "E", "messageId": f"m{n:03d}",
                    "anonymousId": m["device"],
                    "timestamp": (START + timedelta(minutes=m["minute"])).isoformat() + "Z"}
                if m["user"]:
                    body["userId"] = m["user"]
                if m["email"]:
                    body["context"] = {"campaign": {"source": "news", "medium": "email"}}
                rows.append(parse_message(body, received_at=START + timedelta(days=5)))
            store.write(rows_to_table(rows))
            _same(*_analyses(store, analysis))


def test_specs_that_see_part_of_a_history_are_computed(tmp_path: Path) -> None:
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb")) as store:
        for spec in ({"split_on_campaign": True}, {"timeout_seconds": 60},
                     {"filters": {"date_range": {"end": "2026-03-02"}}},
                     {"filters": {"channels": ["email"]}}):
            assert _stored_sessions(store, from_dict(SessionsSpec, spec)) is None, spec


def test_erase_removes_the_persons_sessions(tmp_path: Path,
                                            make_rows: Callable[..., Any]) -> None:
    messages = [{"type": "track", "event": "E", "anonymousId": a, "messageId": f"m{a}",
                 "timestamp": START.isoformat() + "Z"} for a in ("a", "b")]
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb")) as store:
        store.write(make_rows(*messages, received_at=START + timedelta(days=1)))
        assert store.stored_sessions().count().to_pyarrow().as_py() == 2
        store.erase("a")
        assert store.stored_sessions().count().to_pyarrow().as_py() == 1
