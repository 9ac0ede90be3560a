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

    ``timezone`` is where the analyses' calendar days begin when a spec does not say (UTC;
    assign another IANA name to change it).
    """

    timezone = "UTC"

    def __init__(self, events: pa.Table | None = None, **tables: pa.Table) -> None:
        self._connection = duckdb.connect()
        named = {"events": events, **tables} if events is not None else dict(tables)
        for name, table in named.items():
            self._connection.register("_arrow_in", table)
            self._connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _arrow_in')
            self._connection.unregister("_arrow_in")
        self._names = set(named)
        self._backend: Any = ibis.duckdb.from_connection(self._connection)

    @classmethod
    def from_parquet(cls, path: str | Path) -> TableSource:
        """The events of a Parquet file or of a directory written by ``touchpath export``."""
        path = Path(path)
        if path.is_dir() and (path / "events").is_dir():
            path = path / "events"
        if not path.exists():
            raise NotFoundError(f"no Parquet events at {path}", field="path")
        files = sorted(str(p) for p in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
        if not files:
            raise NotFoundError(f"no Parquet files under {path}", field="path")
        source = cls()
        # a view, not a copy: the files are read as each query needs them (a copy held every
        # column in memory, 1.7 GB per million events)
        relation = source._connection.read_parquet(files, hive_partitioning=path.is_dir())
        columns = [c for c in relation.columns if c != "date"]  # the export's partition column
        relation.select(*columns).create_view("events")
        source._names.add("events")
        return source

    def table(self, name: str = "events") -> ir.Table:
        if name not in self._names:  # Ibis' list_tables fails on DuckDB 2
            raise NotFoundError(f"this source has no table {name!r}", field="table")
        return self._backend.table(name)


def event_names(source: EventSource) -> set[str]:
    """The distinct event names of a source; a source that keeps them (``known_events()``,
    e.g. a Spark lake snapshot, where each query has a fixed cost of seconds) answers from
    there."""
    cached = getattr(source, "known_events", None)
    if cached is not None:
        return set(cached())
    events = source.table("events")
    return {str(n) for n in events.select("event").distinct().to_pyarrow()["event"].to_pylist()}
