"""The sequential funnel's chain of joins both ways it runs: on DuckDB stored after every step
with the stopped attempts set aside, on Spark as one query that every attempt goes through."""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

import ibis.expr.types as ir
import pytest
from hypothesis import given, settings

from tests.analytics.reference import funnels as reference
from tests.analytics.strategies import START, event_rows, source_of
from tests.analytics.test_funnels import (
    EVERY_NAME,
    SPECS,
    _engine_attempts,
    _reference_attempts,
)
from touchpath.analytics import _funnel_attempts, from_dict
from touchpath.analytics.funnels import FunnelSpec, funnel_attempts, run_funnel

SEQUENTIAL = [data for data in SPECS if data.get("order", "sequential") == "sequential"]


def _one_chain(table: ir.Table, going: Any) -> tuple[ir.Table, None]:
    return table, None


@settings(max_examples=15, deadline=None)
@given(event_rows())
def test_the_one_query_chain_equals_the_reference(rows: list[dict[str, Any]]) -> None:
    """Spark's way (nothing stored, nothing set aside), run on DuckDB."""
    source = source_of(rows + EVERY_NAME)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_funnel_attempts, "stored", lambda table: table)
        patch.setattr(_funnel_attempts, "set_aside", _one_chain)
        for data in SEQUENTIAL:
            spec = from_dict(FunnelSpec, data)
            assert _engine_attempts(source, spec) == _reference_attempts(source, spec), data


def _temporary_tables(source: Any) -> list[str]:
    backend = source.table("events").get_backend()
    found = backend.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary")
    return [row[0] for row in found.fetchall()]


def test_the_stored_steps_are_dropped_with_the_last_expression_using_them() -> None:
    rows = [{"person_id": person, "event": name, "timestamp": START + timedelta(hours=i)}
            for person in ("p1", "p2") for i, name in enumerate("ABCAB" if person == "p1"
                                                               else "AACB")]
    source = source_of(rows + EVERY_NAME)
    spec = from_dict(FunnelSpec, {"steps": [{"event": "A"}, {"event": "B"}, {"event": "C"}]})
    table = funnel_attempts(source, spec)
    assert _temporary_tables(source)  # the events with their next positions, each step
    assert sorted(r["reached"] for r in table.to_pyarrow().to_pylist()) == sorted(
        r["reached"] for r in reference.attempts(source, spec))
    del table
    gc.collect()
    assert _temporary_tables(source) == []
    assert run_funnel(source, spec).counts() == reference.funnel(source, spec)["counts"]
    gc.collect()
    assert _temporary_tables(source) == []
