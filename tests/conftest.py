"""Shared fixtures: a real DuckDB store in ``tmp_path``, a way to build incoming batches, and a
demo store shared by the analytics tests (built once per session)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from touchpath.config import Settings, load_settings
from touchpath.demo.load import load_demo
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import ParseOptions, parse_message
from touchpath.store.duckdb_store import DuckDBStore

RECEIVED_AT = datetime(2024, 5, 10, 12, 0, 0)
"""The server receive time used by the shared helpers (naive UTC, the store's convention)."""


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def make_settings(store_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        overrides.setdefault("store_path", store_path)
        return load_settings(env={}, **overrides)

    return make


@pytest.fixture
def store(make_settings: Callable[..., Settings]) -> Iterator[DuckDBStore]:
    opened = DuckDBStore(make_settings())
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def make_rows() -> Callable[..., pa.Table]:
    """``make_rows(msg, msg, ..., received_at=..., **ParseOptions fields)`` -> INCOMING table.

    A message may also be a ready row dict (``{"row": {...}}``) for sources that do not speak
    Segment, such as a POS export.
    """

    def make(*messages: dict[str, Any], received_at: datetime = RECEIVED_AT,
             **options: Any) -> pa.Table:
        parse_options = ParseOptions(**options)
        rows = [
            dict(message["row"]) if "row" in message
            else parse_message(message, received_at=received_at, options=parse_options)
            for message in messages
        ]
        return rows_to_table(rows)

    return make


DEMO_PEOPLE = 3000
DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file with the demo loaded (3,000 people), closed: open it where needed."""
    path = tmp_path_factory.mktemp("analytics-demo") / "demo.duckdb"
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        load_demo(store, size=str(DEMO_PEOPLE), seed=DEMO_SEED)
    return path


@pytest.fixture(scope="session")
def demo_store(demo_store_path: Path) -> Iterator[DuckDBStore]:
    """The demo store, open for reading (analyses never write)."""
    with DuckDBStore(load_settings(env={}, store_path=demo_store_path)) as store:
        yield store
