"""Attribution on Spark (Ibis' PySpark backend) answers what it answers on DuckDB, from the same
Parquet export. Skipped without PySpark or Java, unless REQUIRE_SPARK_TESTS=1 (as the
conformance suite does)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.conformance.data import small_log_rows, write_export
from touchpath.analytics import EventMatcher
from touchpath.analytics.source import TableSource
from touchpath.attribution import MODELS, AttributionSpec, run_attribution
from touchpath.config import load_settings

# PySpark 4.0's toPandas passes pandas 3 a deprecated ``copy=`` keyword (inside PySpark, not
# ours), as the conformance suite notes; and Py4J leaves its local sockets to the garbage
# collector, which reports them inside this test (the conformance suite's session-wide Spark
# fixture outlives its tests)
pytestmark = [pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime"
    return None


def test_spark_and_duckdb_give_the_same_attribution(tmp_path: Path) -> None:
    missing = _spark_missing()
    if missing:
        if os.environ.get("REQUIRE_SPARK_TESTS") == "1":
            pytest.fail(f"REQUIRE_SPARK_TESTS=1 but Spark cannot run: {missing}")
        pytest.skip(missing)
    from touchpath.store.spark import SparkSource, spark_session

    path = write_export(small_log_rows(), tmp_path)
    duckdb = TableSource.from_parquet(path)
    session = spark_session(load_settings(env={}, engine="spark", spark_master="local[2]",
                                          spark_conf=("spark.driver.memory=1g",)))
    session.sparkContext.setLogLevel("ERROR")
    spark = SparkSource.from_parquet(session, path)
    try:
        for spec in (
            AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
                            models=MODELS),
            AttributionSpec(conversion=EventMatcher("Order Completed"), value="revenue",
                            touches="event", collapse_repeats=True, lookback_days=7,
                            touchpoint="properties.plan", models=MODELS, markov_order=2),
        ):
            want = run_attribution(duckdb, spec).frame
            got = run_attribution(spark, spec).frame
            assert len(want) > 0
            pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
    finally:
        spark.close()
        session.stop()
