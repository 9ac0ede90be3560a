"""Rolling committed events to a Parquet lake: only new events each time, in the export's
layout, readable back (by DuckDB here; by Spark in tests/conformance); the server rolls on a
schedule and at shutdown."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
from fastapi.testclient import TestClient

from touchpath.analytics.source import TableSource
from touchpath.collect.keys import create_key
from touchpath.config import Settings, load_settings
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.web.app import create_app


def lake_rows(lake: Path) -> list[tuple[str, str]]:
    return duckdb.sql(f"SELECT message_id, CAST(date AS VARCHAR) FROM read_parquet("
                      f"'{lake}/events/**/*.parquet', hive_partitioning = true) "
                      "ORDER BY 1").fetchall()


def test_each_roll_writes_only_the_new_events(
        store: DuckDBStore, make_rows: Callable[..., pa.Table], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert store.roll_parquet(lake) == 0
    store.write(make_rows({"type": "track", "event": "A", "userId": "u1", "messageId": "m1",
                           "timestamp": "2024-05-01T10:00:00Z"},
                          {"type": "track", "event": "B", "userId": "u1", "messageId": "m2",
                           "timestamp": "2024-05-02T10:00:00Z"}))
    assert store.roll_parquet(lake) == 2
    assert store.roll_parquet(lake) == 0  # nothing new
    store.write(make_rows({"type": "track", "event": "C", "userId": "u2", "messageId": "m3",
                           "timestamp": "2024-05-02T11:00:00Z"}))
    assert store.roll_parquet(lake) == 1
    assert lake_rows(lake) == [("m1", "2024-05-01"), ("m2", "2024-05-02"),
                               ("m3", "2024-05-02")]
    assert (lake / "manifest.json").exists()
    # the lake is an export-shaped source: analyses run on it
    events = TableSource.from_parquet(lake).table("events")
    assert events.count().to_pyarrow().as_py() == 3


def test_the_server_rolls_on_schedule_and_at_shutdown(
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    settings = make_settings(lake_dir=str(lake), lake_roll_seconds=1)
    app = create_app(settings, admin_token="t")
    with TestClient(app) as client:
        create_key(app.state.store, "site", key="tpk_lake")
        app.state.keys.reload()
        body = {"writeKey": "tpk_lake", "event": "Seen", "anonymousId": "a1", "messageId": "s1"}
        assert client.post("/v1/track", json=body).status_code == 200
        deadline = time.monotonic() + 10
        while not ((lake / "events").exists() and lake_rows(lake)):
            assert time.monotonic() < deadline, "no roll within 10 s"
            time.sleep(0.2)
        assert client.post("/v1/track", json={**body, "messageId": "s2"}).status_code == 200
    # the shutdown rolled the last event
    assert [m for m, _ in lake_rows(lake)] == ["s1", "s2"]
    assert load_settings(env={}, lake_dir="x").lake_roll_seconds == 300
