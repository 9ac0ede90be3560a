"""Event sources: the store and a Parquet export give an analysis the same events."""

from __future__ import annotations

from pathlib import Path

import pytest

from touchpath.analytics import Filters, TableSource
from touchpath.analytics.frame import scoped_events
from touchpath.errors import NotFoundError
from touchpath.store.duckdb_store import DuckDBStore


def _summary(source: object) -> tuple[int, int, int]:
    events = scoped_events(source, Filters(), sessions=True)  # type: ignore[arg-type]
    row = events.aggregate(n=events.count(), persons=events.person_id.nunique(),
                           sessions=events.session_id.nunique()).to_pyarrow().to_pylist()[0]
    return row["n"], row["persons"], row["sessions"]


def test_a_parquet_export_answers_like_the_store(demo_store: DuckDBStore,
                                                 tmp_path: Path) -> None:
    demo_store.export_parquet(tmp_path / "export")
    from_parquet = TableSource.from_parquet(tmp_path / "export")
    assert _summary(from_parquet) == _summary(demo_store)
    assert _summary(demo_store)[0] == demo_store.stats()["events"]


def test_a_missing_export_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        TableSource.from_parquet(tmp_path / "nothing")
