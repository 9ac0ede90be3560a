"""One Spark session for the whole conformance run, and the event logs as Parquet (the same
files for both engines).

Without PySpark or Java the Spark half is skipped with the reason, unless the environment sets
``REQUIRE_SPARK_TESTS=1`` (``make test`` does): then a missing engine fails the run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from touchpath.analytics.source import EventSource, TableSource
from touchpath.config import load_settings
from touchpath.store.duckdb_store import DuckDBStore

from .data import small_log_rows, write_export

REQUIRE_ENV = "REQUIRE_SPARK_TESTS"


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install 'pyspark>=3.5,<4.1')"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        return "no Java runtime (java on PATH or JAVA_HOME); Spark needs Java 17"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    missing = _spark_missing()
    if missing:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but Spark cannot run: {missing}")
        pytest.skip(f"Spark conformance skipped: {missing}")
    from touchpath.store.spark import spark_session

    session = spark_session(load_settings(env={}, engine="spark", spark_master="local[2]",
                                          spark_conf=("spark.driver.memory=1g",)))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory, demo_store_path: Path) -> dict[str, Path]:
    """name -> a ``touchpath export`` directory: the small tie-heavy log and the demo."""
    small = write_export(small_log_rows(), tmp_path_factory.mktemp("small-log"))
    demo = tmp_path_factory.mktemp("demo-export") / "lake"
    with DuckDBStore(load_settings(env={}, store_path=demo_store_path)) as store:
        store.export_parquet(demo)
    return {"small": small, "demo": demo}


@pytest.fixture(scope="session")
def duckdb_sources(exports: dict[str, Path]) -> dict[str, EventSource]:
    return {name: TableSource.from_parquet(path) for name, path in exports.items()}


@pytest.fixture(scope="session")
def spark_sources(spark: Any, exports: dict[str, Path]) -> Iterator[dict[str, EventSource]]:
    from touchpath.store.spark import SparkSource

    sources = {name: SparkSource.from_parquet(spark, path) for name, path in exports.items()}
    yield sources  # type: ignore[misc]
    for source in sources.values():
        source.close()
