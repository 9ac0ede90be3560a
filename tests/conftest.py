"""Shared fixtures: a real DuckDB store in ``tmp_path`` and a way to build incoming batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from touchpath.config import Settings, load_settings
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
