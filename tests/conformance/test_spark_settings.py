"""The Spark settings and source choices, without starting Spark."""

from __future__ import annotations

from pathlib import Path

import pytest

from touchpath.config import load_settings
from touchpath.errors import ConfigError, NotFoundError
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.store.spark import _conf_pairs, _is_path, _local_cores, engine_of, open_source


def test_engine_settings_are_checked() -> None:
    assert load_settings(env={}).engine == "duckdb"
    settings = load_settings(env={"TOUCHPATH_ENGINE": "spark",
                                  "TOUCHPATH_SPARK_CONF": "spark.driver.memory=2g, a.b=c"})
    assert settings.engine == "spark"
    assert _conf_pairs(settings.spark_conf) == [("spark.driver.memory", "2g"), ("a.b", "c")]
    with pytest.raises(ConfigError) as bad:
        load_settings(env={}, engine="oracle")
    assert bad.value.field == "engine"
    with pytest.raises(ConfigError) as bad:
        load_settings(env={}, spark_conf=("no-equals-sign",))
    assert bad.value.field == "spark_conf"
    with pytest.raises(ConfigError):
        load_settings(env={}, spark_shuffle_partitions=-1)


def test_local_masters_get_one_shuffle_partition_per_core() -> None:
    assert _local_cores("local[2]") == 2
    assert _local_cores("local[4,3]") == 4
    assert _local_cores("local") == 1
    assert _local_cores("local[*]") >= 1
    assert _local_cores("spark://host:7077") == 0
    assert _local_cores("yarn") == 0


def test_a_location_is_parquet_or_a_catalog_table() -> None:
    assert _is_path("lake/") and _is_path("s3a://bucket/events") and _is_path("x.parquet")
    assert not _is_path("lake.events") and not _is_path("events")


def test_open_source_gives_the_store_or_a_parquet_table_on_duckdb(tmp_path: Path) -> None:
    settings = load_settings(env={}, store_path=tmp_path / "s.duckdb")
    with open_source(settings) as source:
        assert isinstance(source, DuckDBStore) and engine_of(source) == "duckdb"
    with pytest.raises(NotFoundError), open_source(settings, events=tmp_path / "nothing"):
        pass
    with pytest.raises(ConfigError) as bad, open_source(settings, engine="spark"):
        pass
    assert bad.value.field == "spark_events"
