"""The Spark engine: the same analyses over a Parquet lake or a catalog table, through Ibis'
PySpark backend (no analysis is written twice).

A :class:`SparkSource` is an :class:`~touchpath.analytics.source.EventSource` whose ``events``
table is a Spark DataFrame: the Parquet written by ``touchpath export`` (``events/date=.../``),
any Parquet file or directory with the store's event columns, or a table of the Spark catalog
(Hive metastore, Unity Catalog, Glue...). :func:`open_source` picks DuckDB or Spark by the
``engine`` setting; :func:`run_timed` runs an analysis and says which engine answered, how long
it took, and turns an engine's refusal into a :class:`~touchpath.errors.QueryError`.

>>> from touchpath.config import load_settings
>>> settings = load_settings(engine="spark", spark_events="lake/")   # doctest: +SKIP
>>> with open_source(settings) as source:                            # doctest: +SKIP
...     answer = run_timed(source, "funnel", {"steps": [...]})
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from touchpath.analytics.registry import run_json
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.config import ENGINES, Settings
from touchpath.errors import ConfigError, NotFoundError, QueryError, TouchpathError
from touchpath.store.schema import EXPORT_TABLES

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_views = itertools.count()
_LOCAL = re.compile(r"^local(\[(\d+|\*)(,\d+)?\])?$")


def spark_session(settings: Settings) -> SparkSession:
    """A Spark session for ``settings`` (``getOrCreate``: the running session if there is one).

    Timestamps are read and compared in UTC (the store's naive times are UTC). In local mode the
    shuffle runs in as many partitions as cores (Spark's default of 200 makes a 2-core run of a
    small funnel 10x slower); adaptive execution is on, the web UI off, and the analyzer may
    take 1,000 rounds instead of 100 (a 20-step funnel's plan needs more than 100). ``spark_conf``
    entries (``key=value``) are applied last, so a cluster's own tuning wins.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigError("engine = 'spark' needs PySpark: pip install 'pyspark>=3.5'",
                          field="engine") from exc
    builder = (SparkSession.builder.master(settings.spark_master).appName("touchpath")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
               # a 20-step funnel's plan needs more than the default 100 resolution rounds
               .config("spark.sql.analyzer.maxIterations", "1000"))
    partitions = settings.spark_shuffle_partitions or _local_cores(settings.spark_master)
    if partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    for key, value in _conf_pairs(settings.spark_conf):
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _local_cores(master: str) -> int:
    """The core count of a ``local[N]`` master (0 for a cluster: keep Spark's default)."""
    match = _LOCAL.match(master.strip())
    if not match:
        return 0
    cores = match.group(2)
    if cores is None:
        return 1
    return (os.cpu_count() or 1) if cores == "*" else int(cores)


def _conf_pairs(entries: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {entry!r}", field="spark_conf")
        pairs.append((key.strip(), value.strip()))
    return pairs


class SparkSource:
    """Events in Spark, as Ibis tables over temporary views of this source's own names.

    Build with :meth:`from_parquet` (a ``touchpath export`` directory, its ``events/`` folder, or
    any Parquet file/directory of events) or :meth:`from_catalog` (a table name such as
    ``lake.events``). ``close()`` drops the views; the Spark session stays (it is shared).
    ``timezone`` is where the analyses' calendar days begin (the setting ``timezone``).
    """

    engine = "spark"
    timezone = "UTC"

    def __init__(self, session: SparkSession, frames: dict[str, DataFrame]) -> None:
        if "events" not in frames:
            raise NotFoundError("a Spark source needs an events table", field="spark_events")
        self.session = session
        self._backend: Any = ibis.pyspark.connect(session)
        self._views: dict[str, str] = {}
        for name, frame in frames.items():
            view = f"touchpath_{name}_{next(_views)}"
            frame.createOrReplaceTempView(view)
            self._views[name] = view
        self._event_names: frozenset[str] | None = None

    def known_events(self) -> frozenset[str]:
        """The distinct event names, read once: the source's files are fixed when it is made,
        and each Spark query costs seconds (every analysis checks its event names)."""
        if self._event_names is None:
            events = self.table("events")
            names = events.select("event").distinct().to_pyarrow()["event"].to_pylist()
            self._event_names = frozenset(str(n) for n in names)
        return self._event_names

    @classmethod
    def from_parquet(cls, session: SparkSession, path: str | Path) -> SparkSource:
        """The events of an export directory (with its other tables, e.g. saved segments), of
        an ``events/`` folder partitioned by date, or of one Parquet file. ``path`` may be any
        URL Spark reads (``s3a://``, ``abfss://``, ``hdfs://``)."""
        text = str(path).rstrip("/")
        remote = "://" in text
        root = Path(text)
        frames: dict[str, DataFrame] = {}
        if not remote and not root.exists():
            raise NotFoundError(f"no Parquet events at {text}", field="spark_events")
        if remote or not (root / "events").is_dir():
            events_path = text
        else:
            events_path = str(root / "events")
            for name in EXPORT_TABLES[1:]:
                table_file = root / f"{name}.parquet"
                if table_file.exists():
                    frames[name] = session.read.parquet(str(table_file))
        if not remote and root.is_dir() and not any(Path(events_path).rglob("*.parquet")):
            raise NotFoundError(f"no Parquet files under {events_path}", field="spark_events")
        events = session.read.parquet(events_path)
        if "date" in events.columns:  # the export's partition column, not an event column
            events = events.drop("date")
        frames["events"] = events
        return cls(session, frames)

    @classmethod
    def from_catalog(cls, session: SparkSession, table: str) -> SparkSource:
        """The events of a table in Spark's catalog (``db.events``, ``catalog.db.events``)."""
        if not session.catalog.tableExists(table):
            raise NotFoundError(f"Spark's catalog has no table {table!r}", field="spark_events")
        events = session.table(table)
        if "date" in events.columns and "timestamp" in events.columns:
            events = events.drop("date")
        return cls(session, {"events": events})

    def table(self, name: str = "events") -> ir.Table:
        if name not in self._views:
            raise NotFoundError(f"this Spark source has no table {name!r}", field="table")
        return self._backend.table(self._views[name])

    def close(self) -> None:
        for view in self._views.values():
            self.session.catalog.dropTempView(view)
        self._views.clear()

    def __enter__(self) -> SparkSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def spark_source(settings: Settings, events: str | Path | None = None) -> SparkSource:
    """A :class:`SparkSource` for ``settings`` (or for ``events``, a Parquet location or a
    catalog table overriding ``spark_events``)."""
    location = str(events) if events is not None else settings.spark_events
    if not location:
        raise ConfigError("engine = 'spark' needs spark_events: a Parquet directory (e.g. a "
                          "'touchpath export') or a catalog table name", field="spark_events")
    session = spark_session(settings)
    if _is_path(location):
        source = SparkSource.from_parquet(session, location)
    else:
        source = SparkSource.from_catalog(session, location)
    source.timezone = settings.timezone
    return source


def _is_path(location: str) -> bool:
    """A Parquet location (has a slash, a URL scheme, ends in .parquet or exists here) rather
    than a catalog table name (``db.events``)."""
    return ("/" in location or "://" in location or location.endswith(".parquet")
            or Path(location).exists())


@contextmanager
def open_source(settings: Settings, *, engine: str | None = None,
                events: str | Path | None = None) -> Iterator[EventSource]:
    """The source the analyses read on the configured engine: the DuckDB store
    (``engine = 'duckdb'``) or a :class:`SparkSource` over ``spark_events``. Closed on exit."""
    chosen = engine or settings.engine
    if chosen not in ENGINES:
        raise ConfigError(f"must be one of {', '.join(ENGINES)}", field="engine")
    if chosen == "spark":
        with spark_source(settings, events) as source:
            yield source
        return
    if events is not None:
        from touchpath.analytics.source import TableSource

        table_source = TableSource.from_parquet(events)
        table_source.timezone = settings.timezone
        yield table_source
        return
    from touchpath.store.duckdb_store import DuckDBStore

    with DuckDBStore(settings) as store:
        yield store


_shared: dict[tuple[str, str], SparkSource] = {}
_shared_lock = threading.Lock()


def serving_source(store: EventSource) -> EventSource:
    """What a long-running server answers from: the store itself, or (``engine = 'spark'`` in
    the store's settings) one Spark source kept for the life of the process (a Spark session
    takes seconds to start)."""
    settings = getattr(store, "settings", None)
    if not isinstance(settings, Settings) or settings.engine != "spark":
        return store
    key = (settings.spark_master, settings.spark_events)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = spark_source(settings)
        return _shared[key]


def engine_of(source: EventSource) -> str:
    """The engine behind a source: ``spark`` or ``duckdb``."""
    return str(getattr(source, "engine", "duckdb"))


@dataclass(frozen=True)
class EngineAnswer:
    """An analysis' result and which engine answered, in how many seconds."""

    result: AnalysisResult
    engine: str
    seconds: float

    def describe(self) -> dict[str, Any]:
        return {"name": self.engine, "seconds": round(self.seconds, 3)}


def run_timed(source: EventSource, name: str, data: Any) -> EngineAnswer:
    """Run the analysis ``name`` on ``source`` (spec as JSON), timed. An engine that cannot
    run an operation raises :class:`QueryError` naming the engine and the operation, never a
    half-computed number."""
    engine = engine_of(source)
    started = time.perf_counter()
    try:
        result = run_json(source, name, data)
    except TouchpathError:
        raise
    except Exception as exc:
        if engine == "duckdb" or not _engine_refusal(exc):
            raise  # on the reference engine an Ibis error is a bug, not a limit
        raise QueryError(f"the {engine} engine cannot run {name!r}: {_operation(exc)}",
                         field="engine") from exc
    return EngineAnswer(result, engine, time.perf_counter() - started)


def _engine_refusal(exc: Exception) -> bool:
    """Ibis' "not supported on this backend" errors and Spark's analysis errors."""
    from ibis.common.exceptions import IbisError

    if isinstance(exc, IbisError):
        return True
    try:
        from pyspark.errors import PySparkException
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, PySparkException)


def _operation(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"
