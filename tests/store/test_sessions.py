"""The store's session numbers (``events.session_index``, kept up to date by
``refresh_sessions``) equal sessions computed at query time, across batches that arrive out of
order and identity merges."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.analytics import Filters
from touchpath.analytics.frame import scoped_events, with_sessions
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
    with DuckDBStore(load_settings(env={}, store_path=path,
                                   session_timeout_minutes=25)) as store:
        assert len({s for _, s in _sessions(store, True)}) == 2
        assert _sessions(store, True) == _sessions(store, False)


def _person(store: DuckDBStore) -> str:
    return str(store.sql("SELECT any_value(person_id) AS p FROM events").to_pylist()[0]["p"])
