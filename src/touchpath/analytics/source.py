"""Where an analysis reads events from: the store, or any table of events (a Parquet export).

An :class:`EventSource` hands out Ibis tables; every analysis is written against those, so the
same code runs on any engine Ibis reaches. :class:`DuckDBStore` is a source; :class:`TableSource`
makes one from an Arrow table or a Parquet export (``touchpath export``) without a store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from touchpath.errors import NotFoundError


@runtime_checkable
class EventSource(Protocol):
    """Anything with the store's tables as Ibis expressions (``events`` at least)."""

    def table(self, name: str = "events") -> ir.Table: ...


class TableSource:
    """Events held in memory (an Arrow table with the store's ``events`` columns), queried by an
    in-process DuckDB through Ibis.

    >>> from touchpath.analytics.source import TableSource
    >>> TableSource.from_parquet("export/events")        # doctest: +SKIP
    """

    def __init__(self, events: pa.Table, **tables: pa.Table) -> None:
        self._connection = duckdb.connect()
        for name, table in {"events": events, **tables}.items():
            self._connection.register("_arrow_in", table)
            self._connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _arrow_in')
            self._connection.unregister("_arrow_in")
        self._names = {"events", *tables}
        self._backend: Any = ibis.duckdb.from_connection(self._connection)

    @classmethod
    def from_parquet(cls, path: str | Path) -> TableSource:
        """The events of a Parquet file or of a directory written by ``touchpath export``."""
        path = Path(path)
        if path.is_dir() and (path / "events").is_dir():
            path = path / "events"
        if not path.exists():
            raise NotFoundError(f"no Parquet events at {path}", field="path")
        table = pq.read_table(path, partitioning="hive") if path.is_dir() else pq.read_table(path)
        if "date" in table.column_names:  # the export's partition column, not an event column
            table = table.drop_columns(["date"])
        return cls(table)

    def table(self, name: str = "events") -> ir.Table:
        if name not in self._names:  # Ibis' list_tables fails on DuckDB 2
            raise NotFoundError(f"this source has no table {name!r}", field="table")
        return self._backend.table(name)


def event_names(source: EventSource) -> set[str]:
    """The distinct event names of a source."""
    events = source.table("events")
    return {str(n) for n in events.select("event").distinct().to_pyarrow()["event"].to_pylist()}
