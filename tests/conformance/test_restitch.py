"""``touchpath lake stitch``: re-stitching an exported lake on Spark groups the events into the
same persons as the store's stitching (run with no user-id cap, which Spark does not apply),
keeps every event and column, and writes identities DuckDB can import back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from touchpath.cli import app
from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.identity.spark_stitch import restitch
from touchpath.store.duckdb_store import DuckDBStore

from .test_conformance import pytestmark as spark_warnings

pytestmark = spark_warnings


def _persons(path: Path) -> dict[str, str]:
    rows = duckdb.sql(f"SELECT message_id, person_id FROM read_parquet('{path}/events/*/*.parquet')"
                      ).fetchall()
    return dict(rows)


def test_restitch_groups_events_as_the_store_does(spark: Any, tmp_path: Path) -> None:
    settings = load_settings(env={}, store_path=tmp_path / "s.duckdb",
                             identity_max_user_ids=10**6)
    with DuckDBStore(settings) as store:
        load_demo(store, size="300", seed=11)
        store.export_parquet(tmp_path / "export")
    report = restitch(spark, tmp_path / "export", tmp_path / "out", settings)
    before, after = _persons(tmp_path / "export"), _persons(tmp_path / "out")
    assert before.keys() == after.keys() and report.events == len(before)
    # the same partition of events into persons: a one-to-one map between the two labellings
    pairs = {(before[m], after[m]) for m in before}
    assert len(pairs) == len(set(before.values())) == len(set(after.values())) == report.persons
    # the store names a person after the first key it was *loaded* with, Spark after the
    # first key in time: labels may differ where files arrived out of time order, not groups
    assert report.changed < report.events
    columns = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/out/events/*/*.parquet'"
                         ", hive_partitioning = true)").fetchall()
    exported = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/export/events/*/"
                          "*.parquet', hive_partitioning = true)").fetchall()
    assert [c[0] for c in columns] == [c[0] for c in exported]
    identities = duckdb.sql(f"SELECT count(DISTINCT person_id) FROM "
                            f"'{tmp_path}/out/identities.parquet'").fetchall()
    assert identities[0][0] == report.persons


def test_the_command_refuses_a_bad_source_and_an_existing_target(tmp_path: Path) -> None:
    runner = CliRunner()
    answer = runner.invoke(app, ["--store", str(tmp_path / "s.duckdb"), "lake", "stitch",
                                 str(tmp_path / "nothing"), str(tmp_path / "out")])
    assert answer.exit_code == 2 and "source" in answer.output


@pytest.mark.parametrize("blocked", [("kiosk-tlv-01",)])
def test_blocked_ids_do_not_join_people(spark: Any, tmp_path: Path, blocked: tuple[str, ...]
                                        ) -> None:
    from touchpath.identity.spark_stitch import message_keys

    rows = [("m1", "track", "u1", "kiosk-tlv-01", None), ("m2", "track", "u2", "kiosk-tlv-01",
                                                          None),
            ("m3", "alias", "u3", None, "u1"), ("m4", "alias", "u4", None, "anon-9")]
    events = spark.createDataFrame(
        [(m, t, u, a, p, None, None, "2026-01-01 00:00:00") for m, t, u, a, p in rows],
        "message_id string, type string, user_id string, anonymous_id string, "
        "previous_id string, email_hash string, phone_hash string, timestamp string")
    settings = load_settings(env={}, identity_blocked_values=blocked)
    keys = {r["message_id"]: sorted(r["keys"]) for r in message_keys(events, settings).collect()}
    assert keys["m1"] == ["user:u1"] and keys["m2"] == ["user:u2"]  # the kiosk id is dropped
    assert keys["m3"] == ["user:u1", "user:u3"]  # an alias of a known user id joins users
    assert keys["m4"] == ["anon:anon-9", "user:u4"]  # else the previous id is anonymous
