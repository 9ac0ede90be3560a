"""The DuckDB store on a real file: migrations, writes, stitching, locking, erasure, Parquet."""

from __future__ import annotations

import gc
import itertools
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from touchpath.config import Settings, load_settings
from touchpath.errors import NotFoundError, StorageError, ValidationError
from touchpath.identity.keys import email_hash
from touchpath.identity.resolve import person_id_for
from touchpath.spec.columns import rows_to_table
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.store.schema import EXPORT_TABLES, LATEST_VERSION, MIGRATIONS, PERSON_COLUMNS

MakeRows = Callable[..., pa.Table]
T = datetime(2024, 5, 1, 10, 0, 0)


def at(minutes: float) -> str:
    return (T + timedelta(minutes=minutes)).isoformat() + "Z"


def page(mid: str, anon: str, minute: float, **extra: Any) -> dict[str, Any]:
    return {"type": "page", "messageId": mid, "anonymousId": anon, "timestamp": at(minute),
            **extra}


def track(mid: str, event: str, minute: float, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "messageId": mid, "event": event, "timestamp": at(minute), **extra}


def identify(mid: str, user: str, anon: str | None, minute: float,
             **traits: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "identify", "messageId": mid, "userId": user,
                           "timestamp": at(minute), "traits": traits}
    if anon is not None:
        msg["anonymousId"] = anon
    return msg


def persons(store: DuckDBStore, where: str = "true") -> dict[str, str]:
    rows = store.sql(f"SELECT message_id, person_id FROM events WHERE {where}").to_pylist()
    return {r["message_id"]: r["person_id"] for r in rows}


def sorted_table(store: DuckDBStore, name: str) -> pa.Table:
    return store.sql(f"SELECT * FROM {name} ORDER BY ALL")


# -- migrations ----------------------------------------------------------------------------------

def test_migrations_are_recorded_and_not_reapplied(
    make_settings: Callable[..., Settings], store_path: Path
) -> None:
    with DuckDBStore(make_settings()) as store:
        assert store.schema_version == LATEST_VERSION
        first = store.sql("SELECT version, description, applied_at FROM schema_migrations "
                          "ORDER BY version").to_pylist()
        assert [r["version"] for r in first] == [m.version for m in MIGRATIONS]
        tables = {r["table_name"] for r in store.sql(
            "SELECT table_name FROM information_schema.tables").to_pylist()}
        assert set(EXPORT_TABLES) | {"schema_migrations"} <= tables
    assert store_path.exists()
    with DuckDBStore(make_settings()) as store:
        again = store.sql("SELECT version, description, applied_at FROM schema_migrations "
                          "ORDER BY version").to_pylist()
        assert again == first
        assert store.schema_version == LATEST_VERSION


def test_a_newer_store_is_refused(make_settings: Callable[..., Settings], store_path: Path) -> None:
    DuckDBStore(make_settings()).close()
    con = duckdb.connect(str(store_path))
    con.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', now()::TIMESTAMP)",
                [LATEST_VERSION + 1])
    con.close()
    with pytest.raises(StorageError) as info:
        DuckDBStore(make_settings())
    assert info.value.field == "store_path"
    assert "upgrade" in info.value.message


def test_an_empty_store(store: DuckDBStore) -> None:
    stats = store.stats()
    assert stats["events"] == 0 and stats["persons"] == 0
    assert stats["first_event"] is None and stats["by_type"] == {}
    assert store.write(rows_to_table([])).stored == 0


# -- writing and deduplication ------------------------------------------------------------------

def test_write_stores_events_with_person_and_channel(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    batch = make_rows(
        page("m1", "a1", 0, context={"page": {"url": "https://shop.example.com/?gclid=x1"}}),
        page("m2", "a1", 1, context={"page": {"url": "https://shop.example.com/p",
                                              "referrer": "https://www.google.co.il/search"}}),
        page("m3", "a1", 2, context={"page": {"url": "https://shop.example.com/q",
                                              "referrer": "https://shop.example.com/p"}}),
        track("m4", "Clicked", 3, anonymousId="a1",
              context={"campaign": {"source": "newsletter", "medium": "email"}}),
        track("m5", "Called", 4, anonymousId="a1"),
    )
    result = store.write(batch)
    assert (result.received, result.stored, result.duplicates) == (5, 5, 0)
    rows = {r["message_id"]: r for r in store.sql("SELECT * FROM events").to_pylist()}
    assert {m: r["channel"] for m, r in rows.items()} == {
        "m1": "paid_search", "m2": "organic_search", "m3": "direct", "m4": "email",
        "m5": "direct"}
    assert {r["person_id"] for r in rows.values()} == {person_id_for("anon:a1")}
    assert rows["m1"]["event"] == "$page" and rows["m4"]["event"] == "Clicked"
    assert rows["m1"]["timestamp"] == T
    assert all(r["loaded_at"] is not None for r in rows.values())


def test_a_channel_set_by_the_source_is_kept(store: DuckDBStore) -> None:
    row = {"message_id": "imp-1", "type": "track", "event": "Webinar", "anonymous_id": "a",
           "timestamp": T, "received_at": T, "channel": "events",
           "referrer": "https://www.google.com/"}
    store.write(rows_to_table([row]))
    assert store.sql("SELECT channel FROM events").to_pylist() == [{"channel": "events"}]


def test_same_batch_twice_is_stored_once(store: DuckDBStore, make_rows: MakeRows) -> None:
    batch = make_rows(page("m1", "a1", 0), page("m2", "a1", 1), track("m3", "E", 2, userId="u"))
    assert store.write(batch).stored == 3
    again = store.write(batch)
    assert (again.received, again.stored, again.duplicates) == (3, 0, 3)
    assert store.stats()["events"] == 3


def test_duplicates_inside_one_batch(store: DuckDBStore, make_rows: MakeRows) -> None:
    batch = make_rows(page("m1", "a1", 0), page("m1", "a1", 0), page("m2", "a1", 1),
                      page("m1", "a1", 0))
    result = store.write(batch)
    assert (result.received, result.stored, result.duplicates) == (4, 2, 2)
    assert sorted(persons(store)) == ["m1", "m2"]


def test_partly_known_batch(store: DuckDBStore, make_rows: MakeRows) -> None:
    store.write(make_rows(page("m1", "a1", 0)))
    result = store.write(make_rows(page("m1", "a1", 0), page("m2", "a1", 1)))
    assert (result.stored, result.duplicates) == (1, 1)


# -- the collector's write: recent ids in memory, mirrored by recent_message_ids -------------

def recent_table(store: DuckDBStore) -> list[str]:
    return [r["message_id"] for r in store.sql(
        "SELECT message_id FROM recent_message_ids ORDER BY message_id").to_pylist()]


def test_collector_writes_dedupe_across_batches_and_restarts(
    make_settings: Callable[..., Settings], make_rows: MakeRows
) -> None:
    since = datetime(2000, 1, 1)
    batch = make_rows(page("c1", "a1", 0), page("c2", "a1", 1), page("c1", "a1", 0))
    with DuckDBStore(make_settings()) as first:
        result = first.write(batch, recent_ids_since=since)
        assert (result.received, result.stored, result.duplicates) == (3, 2, 1)
        again = first.write(make_rows(page("c2", "a1", 1), page("c3", "a1", 2)),
                            recent_ids_since=since)
        assert (again.received, again.stored, again.duplicates) == (2, 1, 1)
        assert recent_table(first) == ["c1", "c2", "c3"]
    with DuckDBStore(make_settings()) as reopened:  # the set is read back from the table
        result = reopened.write(batch, recent_ids_since=since)
        assert (result.stored, result.duplicates) == (0, 3)
        assert sorted(persons(reopened)) == ["c1", "c2", "c3"]
        assert recent_table(reopened) == ["c1", "c2", "c3"]


def test_collector_forgets_ids_older_than_the_window_in_table_and_memory(
    make_settings: Callable[..., Settings], make_rows: MakeRows
) -> None:
    with DuckDBStore(make_settings()) as store:
        store.write(make_rows(page("old", "a1", 0)), recent_ids_since=datetime(2000, 1, 1))
        stored = store.sql("SELECT max(loaded_at) AS t FROM recent_message_ids").to_pylist()
    window_start = stored[0]["t"] + timedelta(microseconds=1)
    with DuckDBStore(make_settings()) as store:
        # a window that starts after "old" was stored: the first write of a store prunes, from
        # the table and from the set alike
        store.write(make_rows(page("new", "a1", 1)), recent_ids_since=window_start)
        assert recent_table(store) == ["new"]
        result = store.write(make_rows(page("old", "a1", 0)), recent_ids_since=window_start)
        assert result.stored == 1  # forgotten, so stored again (no clash with the table)
        ids = store.sql("SELECT message_id FROM events ORDER BY 1").column(0).to_pylist()
        assert ids == ["new", "old", "old"]
        assert recent_table(store) == ["new", "old"]


def test_a_failed_collector_write_leaves_its_ids_unseen(
    store: DuckDBStore, make_rows: MakeRows, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = datetime(2000, 1, 1)
    batch = make_rows(page("f1", "a1", 0), identify("f2", "u1", "a1", 1))

    def broken(con: duckdb.DuckDBPyConnection) -> None:
        raise duckdb.IOException("disk gone")

    monkeypatch.setattr(store, "_classify", broken)
    with pytest.raises(duckdb.IOException):
        store.write(batch, recent_ids_since=since)
    monkeypatch.undo()
    assert recent_table(store) == [] and store.stats()["events"] == 0
    result = store.write(batch, recent_ids_since=since)  # the client's retry is stored
    assert (result.stored, result.duplicates) == (2, 0)
    assert recent_table(store) == ["f1", "f2"]


def test_a_set_that_disagrees_with_the_table_heals_on_the_next_write(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    since = datetime(2000, 1, 1)
    batch = make_rows(page("h1", "a1", 0))
    store.write(batch, recent_ids_since=since)
    assert store._recent is not None
    store._recent.pop("h1")  # as if the set had lost an id the table holds
    with pytest.raises(duckdb.ConstraintException):
        store.write(batch, recent_ids_since=since)  # refused whole: nothing stored twice
    result = store.write(batch, recent_ids_since=since)  # the set was read again
    assert (result.stored, result.duplicates) == (0, 1)
    assert store.stats()["events"] == 1


def test_recent_ids_stay_out_of_the_cycle_collectors_walk(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    # a full collection walks every tracked container with the GIL held: a million recent ids
    # in a set (or lists) cost the collector's server ~0.1 s a collection (docs/collector.md)
    since = datetime(2000, 1, 1)
    store.write(make_rows(page("g1", "a1", 0), page("g2", "a1", 1)), recent_ids_since=since)
    store.write(make_rows(page("g3", "a2", 2)), recent_ids_since=since)
    gc.collect()
    assert store._recent is not None and set(store._recent) == {"g1", "g2", "g3"}
    assert not gc.is_tracked(store._recent)
    assert not any(gc.is_tracked(ids) for _, ids in store._recent_log)


def test_collector_write_stitches_and_classifies_like_a_plain_write(
    make_settings: Callable[..., Settings], make_rows: MakeRows, tmp_path: Path
) -> None:
    batches = [
        make_rows(page("s1", "anon-1", 0, context={"page": {"url": "https://x.example/?gclid=1"}}),
                  page("s2", "anon-2", 1, context={"referrer": {"url": "https://google.com/"}}),
                  track("s3", "Viewed", 2, anonymousId="anon-3")),
        make_rows(identify("s4", "user-1", "anon-1", 3, email="a@example.com"),
                  identify("s5", "user-1", "anon-2", 4),
                  track("s6", "Bought", 5, userId="user-1", channel="email"),
                  track("s3", "Viewed", 2, anonymousId="anon-3")),
        make_rows({"type": "alias", "messageId": "s7", "userId": "user-2",
                   "previousId": "anon-3", "timestamp": at(6)},
                  identify("s8", "user-2", None, 7, email="a@example.com")),
    ]
    plain = DuckDBStore(make_settings(store_path=tmp_path / "plain.duckdb"))
    collected = DuckDBStore(make_settings(store_path=tmp_path / "collected.duckdb"))
    try:
        for batch in batches:
            expected = plain.write(batch)
            got = collected.write(batch, recent_ids_since=datetime(2000, 1, 1))
            assert got == expected
        query = "SELECT message_id, person_id, channel FROM events ORDER BY message_id"
        assert collected.sql(query) == plain.sql(query)
        for table_name in ("identities", "identity_merges"):
            columns = "* EXCLUDE (recorded_at)" if table_name == "identity_merges" else "*"
            query = f"SELECT {columns} FROM {table_name} ORDER BY ALL"
            assert collected.sql(query) == plain.sql(query)
        assert collected.stats()["merges"] == plain.stats()["merges"] != {}
    finally:
        plain.close()
        collected.close()


def test_rows_missing_required_columns_are_refused_whole(store: DuckDBStore) -> None:
    good = {"message_id": "ok", "type": "track", "event": "E", "anonymous_id": "a",
            "timestamp": T, "received_at": T}
    bad = {**good, "message_id": None}
    with pytest.raises(ValidationError) as info:
        store.write(rows_to_table([good, bad]))
    assert info.value.field == "message_id"
    assert store.stats()["events"] == 0


# -- identity stitching --------------------------------------------------------------------------

def test_web_visitor_then_store_purchase_is_one_person(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    store.write(make_rows(
        page("w1", "anon-web", 0),
        identify("w2", "cust-77", "anon-web", 5, email="Dana@Example.com"),
        track("w3", "Product Viewed", 6, anonymousId="anon-web", userId="cust-77"),
    ))
    pos = {"message_id": "pos-991", "type": "track", "event": "Order Completed",
           "timestamp": T + timedelta(days=2), "received_at": T + timedelta(days=2),
           "source": "pos", "email_hash": email_hash(" dana@example.COM "), "revenue": 120.0}
    store.write(rows_to_table([pos]))
    events = store.sql("SELECT message_id, person_id, channel FROM events").to_pylist()
    assert len({e["person_id"] for e in events}) == 1
    assert {e["message_id"]: e["channel"] for e in events}["pos-991"] == "store"
    explained = store.explain("dana@example.com")
    [person] = explained["persons"]
    assert person["events"] == 4
    assert "store" in person["channels"]
    assert store.find_persons("cust-77") == store.find_persons("anon-web") == [
        person["person_id"]]


def test_late_identification_across_two_writes(store: DuckDBStore, make_rows: MakeRows) -> None:
    store.write(make_rows(page("b1-1", "anon-late", 0), page("b1-2", "anon-late", 3)))
    before = persons(store)
    store.write(make_rows(identify("b2-1", "user-late", "anon-late", 60),
                          track("b2-2", "Order Completed", 61, userId="user-late")))
    after = persons(store)
    assert len(set(after.values())) == 1
    assert after["b1-1"] == before["b1-1"]
    explained = store.explain("user-late")
    [person] = explained["persons"]
    assert person["events"] == 4
    kinds = {(i["kind"], i["value"]) for i in person["identities"]}
    assert {("anon", "anon-late"), ("user", "user-late")} <= kinds
    assert any("user:user-late" in m["keys"] for m in person["merges"])


def test_late_identification_relabels_earlier_events(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    # batch 1: an anonymous visitor, and the same customer logged in on another device
    store.write(make_rows(
        page("d1-1", "laptop", 0),
        page("d1-2", "laptop", 2),
        track("d2-1", "Logged In", 10, userId="cust-5", anonymousId="phone"),
    ))
    before = persons(store)
    assert before["d1-1"] != before["d2-1"]
    # batch 2: the customer logs in on the laptop
    result = store.write(make_rows(identify("d1-3", "cust-5", "laptop", 30)))
    assert result.merges == 1
    after = persons(store)
    assert len(set(after.values())) == 1
    # the older person (the laptop visitor, first seen at minute 0) keeps its id
    assert set(after.values()) == {before["d1-1"]}
    assert after["d2-1"] != before["d2-1"]  # re-labelled
    ids = store.sql("SELECT DISTINCT person_id FROM identities").to_pylist()
    assert ids == [{"person_id": before["d1-1"]}]
    explained = store.explain("cust-5")
    [person] = explained["persons"]
    merged = [m for m in person["merges"] if m["outcome"] == "merged"]
    assert len(merged) == 1
    assert (merged[0]["kept"], merged[0]["merged"]) == (before["d1-1"], before["d2-1"])
    assert merged[0]["message_id"] == "d1-3"
    assert store.stats()["merges"]["merged"] == 1


def test_shared_device_is_not_merged_and_the_refusal_is_logged(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    store.write(make_rows(identify("k1", "alice", "kiosk", 0)))
    store.write(make_rows(identify("k2", "bob", "kiosk", 10)))
    p = persons(store)
    assert p["k1"] != p["k2"]
    refused = store.sql("SELECT * FROM identity_merges WHERE outcome = 'refused'").to_pylist()
    assert len(refused) == 1
    assert {refused[0]["key_a"], refused[0]["key_b"]} == {"user:bob", "anon:kiosk"}
    assert any(m["outcome"] == "refused" for m in store.explain("bob")["persons"][0]["merges"])


def test_shared_device_merges_when_the_cap_allows(
    make_settings: Callable[..., Settings], make_rows: MakeRows
) -> None:
    with DuckDBStore(make_settings(identity_max_user_ids=2)) as store:
        store.write(make_rows(identify("k1", "alice", "kiosk", 0)))
        store.write(make_rows(identify("k2", "bob", "kiosk", 10)))
        assert len(set(persons(store).values())) == 1


def test_alias_merges_two_known_users(store: DuckDBStore, make_rows: MakeRows) -> None:
    store.write(make_rows(identify("x1", "old-id", "dev-1", 0),
                          identify("x2", "new-id", "dev-2", 5)))
    assert len(set(persons(store).values())) == 2
    store.write(make_rows({"type": "alias", "messageId": "x3", "userId": "new-id",
                           "previousId": "old-id", "timestamp": at(9)}))
    assert len(set(persons(store).values())) == 1


@pytest.mark.parametrize("blocked", ["null", "NULL", " undefined ", "0", "anonymous", " ", "\t"])
def test_blocked_user_id_never_merges_strangers(
    store: DuckDBStore, make_rows: MakeRows, blocked: str
) -> None:
    store.write(make_rows(identify("s1", blocked, "stranger-1", 0),
                          track("s2", "Order Completed", 1, userId=blocked,
                                anonymousId="stranger-2")))
    store.write(make_rows(identify("s3", blocked, "stranger-3", 5)))
    p = persons(store)
    assert len(set(p.values())) == 3
    kinds = store.sql("SELECT DISTINCT kind FROM identities").to_pylist()
    assert kinds == [{"kind": "anon"}]
    assert store.find_persons(blocked) == []


def test_empty_user_id_on_imported_rows_never_merges_strangers(store: DuckDBStore) -> None:
    rows = [{"message_id": f"r{i}", "type": "track", "event": "Order Completed",
             "user_id": user, "anonymous_id": f"stranger-{i}", "timestamp": T,
             "received_at": T} for i, user in enumerate(["", "", " "])]
    store.write(rows_to_table(rows))
    assert len(set(persons(store).values())) == 3
    assert store.sql("SELECT key FROM identities WHERE kind = 'user'").num_rows == 0


def test_an_event_in_the_batch_of_a_merge_follows_the_merge(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    # batch 1: a customer (older) and, separately, a visitor who left an e-mail
    store.write(make_rows(
        identify("c1", "cust-9", "dev-c", 0),
        {"type": "identify", "messageId": "v1", "anonymousId": "visitor-9",
         "timestamp": at(60), "traits": {"email": "nine@example.com"}},
    ))
    # batch 2: the visitor browses again, and the customer confirms the same e-mail
    result = store.write(make_rows(
        page("v2", "visitor-9", 120),
        identify("c2", "cust-9", None, 121, email="nine@example.com"),
    ))
    assert result.merges == 1
    p = persons(store)
    assert len(set(p.values())) == 1, p
    identity_persons = store.sql("SELECT DISTINCT person_id FROM identities").to_pylist()
    assert identity_persons == [{"person_id": p["c1"]}]


def test_match_keys_off_means_no_email_join(
    make_settings: Callable[..., Settings], make_rows: MakeRows
) -> None:
    with DuckDBStore(make_settings(identity_match_keys="")) as store:
        store.write(make_rows(identify("e1", "u1", None, 0, email="x@example.com"),
                              identify("e2", "u2", None, 1, email="x@example.com")))
        assert len(set(persons(store).values())) == 2


# -- locking ---------------------------------------------------------------------------------------

def test_a_second_process_cannot_open_the_store(store: DuckDBStore, store_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from touchpath.config import load_settings\n"
        "from touchpath.errors import TouchpathError\n"
        "from touchpath.store.duckdb_store import DuckDBStore\n"
        "try:\n"
        "    DuckDBStore(load_settings(env={}, store_path=sys.argv[1]))\n"
        "except TouchpathError as exc:\n"
        "    print(json.dumps({'type': type(exc).__name__, **exc.to_dict()}))\n"
        "else:\n"
        "    print(json.dumps({'type': None}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(store_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["type"] == "StoreLockedError"
    assert answer["error"]["code"] == "store_locked"
    assert answer["error"]["field"] == "store_path"


# -- erasure ---------------------------------------------------------------------------------------

SECRET_USER = "erase-me-user-8c1f2a"
SECRET_ANON = "erase-me-anon-5d7e3b"
SECRET_EMAIL = "erase-me-8c1f2a@example.com"
KEEP_USER = "keep-me-user-41b9d0"
KEEP_ANON = "keep-me-anon-77ac15"


def _files_containing(directory: Path, needle: bytes) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.is_file() and needle in p.read_bytes())


def test_erase_by_email_removes_every_trace(
    make_settings: Callable[..., Settings], make_rows: MakeRows, store_path: Path
) -> None:
    directory = store_path.parent
    with DuckDBStore(make_settings()) as store:
        store.write(make_rows(
            page("e-1", SECRET_ANON, 0),
            identify("e-2", SECRET_USER, SECRET_ANON, 1, email=SECRET_EMAIL),
            track("e-3", "Order Completed", 2, userId=SECRET_USER,
                  properties={"revenue": 10, "note": SECRET_USER}),
            page("k-1", KEEP_ANON, 0),
            identify("k-2", KEEP_USER, KEEP_ANON, 1, email="keeper@example.com"),
        ))
        # a refused merge mentioning both persons (the secret user on the keeper's device)
        store.write(make_rows(identify("e-4", SECRET_USER, KEEP_ANON, 3)))
    # sanity: once checkpointed, the ids are in the file as plain bytes, so the check below can
    # see them
    for needle in (SECRET_USER, SECRET_ANON, KEEP_USER):
        assert store_path.name in _files_containing(directory, needle.encode())

    with DuckDBStore(make_settings()) as store:
        secret = store.find_persons(SECRET_EMAIL)
        keeper = store.find_persons(KEEP_USER)
        assert len(secret) == 1 and len(keeper) == 1 and secret != keeper
        kept_events = store.sql("SELECT * FROM events WHERE person_id = ? ORDER BY ALL",
                                [keeper[0]])

        result = store.erase(SECRET_EMAIL)
        assert result.persons == tuple(secret)
        assert result.rows_deleted["events"] == 4
        assert result.rows_deleted["identities"] == 3

        for table_name, columns in PERSON_COLUMNS.items():
            for column in columns:
                left = store.sql(f"SELECT count(*) AS n FROM {table_name} WHERE {column} = ?",
                                 [secret[0]]).to_pylist()
                assert left == [{"n": 0}], (table_name, column)
        for identity in (SECRET_EMAIL, SECRET_USER, SECRET_ANON):
            assert store.find_persons(identity) == []
            with pytest.raises(NotFoundError):
                store.explain(identity)
        # other persons remain, untouched
        assert store.find_persons(KEEP_USER) == keeper
        assert store.sql("SELECT * FROM events WHERE person_id = ? ORDER BY ALL",
                         [keeper[0]]).equals(kept_events)
        assert store.stats()["events"] == kept_events.num_rows == 2

        # the bytes are gone from disk while the store is still open
        assert not list(directory.glob("*.wal"))
        for needle in (SECRET_USER, SECRET_ANON, SECRET_EMAIL):
            assert _files_containing(directory, needle.encode()) == [], needle
    for needle in (SECRET_USER, SECRET_ANON, SECRET_EMAIL):
        assert _files_containing(directory, needle.encode()) == [], needle
    assert store_path.name in _files_containing(directory, KEEP_USER.encode())


def test_erase_of_an_unknown_identity(store: DuckDBStore) -> None:
    with pytest.raises(NotFoundError) as info:
        store.erase("nobody@example.com")
    assert info.value.field == "identity"


def test_store_is_usable_after_erase(store: DuckDBStore, make_rows: MakeRows) -> None:
    store.write(make_rows(page("a-1", "gone", 0), page("b-1", "stays", 0)))
    store.erase("gone")
    store.write(make_rows(page("b-2", "stays", 1)))
    assert store.table("events").count().execute() == 2
    assert store.stats()["persons"] == 1


# -- Parquet export and import -------------------------------------------------------------------

def _fill(store: DuckDBStore, make_rows: MakeRows) -> None:
    store.write(make_rows(
        page("p1", "anon-1", 0, context={"page": {"url": "https://shop.example.com/?gclid=z"}}),
        identify("p2", "cust-1", "anon-1", 5, email="p@example.com"),
        track("p3", "Order Completed", 60 * 24, userId="cust-1",
              properties={"revenue": 99.5, "currency": "ILS"}),
        identify("p4", "cust-2", "anon-1", 60 * 24 * 2),  # refused: shared device
        page("p5", "anon-9", 60 * 24 * 2 + 1),
    ))
    store.write(rows_to_table([{
        "message_id": "pos-1", "type": "track", "event": "Order Completed",
        "timestamp": T + timedelta(days=3), "received_at": T + timedelta(days=3),
        "source": "pos", "email_hash": email_hash("p@example.com"), "revenue": 15.0}]))


def test_export_then_import_into_a_fresh_store_is_identical(
    store: DuckDBStore, make_rows: MakeRows, make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    _fill(store, make_rows)
    out = tmp_path / "export"
    counts = store.export_parquet(out)
    assert set(counts) == set(EXPORT_TABLES)
    # identities: anon-1, cust-1, the e-mail, cust-2 (refused, a person of its own), anon-9
    assert (counts["events"], counts["identities"], counts["imports"]) == (6, 5, 0)
    assert counts["identity_merges"] == store.sql(
        "SELECT count(*) AS n FROM identity_merges").to_pylist()[0]["n"] >= 1
    dates = sorted(p.name for p in (out / "events").iterdir())
    assert dates == ["date=2024-05-01", "date=2024-05-02", "date=2024-05-03", "date=2024-05-04"]
    assert all(list(d.glob("*.parquet")) for d in (out / "events").iterdir())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == LATEST_VERSION
    assert manifest["rows"] == counts
    with pytest.raises(ValidationError):
        store.export_parquet(out)  # never into a used directory

    with DuckDBStore(make_settings(store_path=tmp_path / "restored.duckdb")) as restored:
        assert restored.import_parquet(out) == counts
        for name in EXPORT_TABLES:
            assert sorted_table(restored, name).equals(sorted_table(store, name)), name
        assert restored.stats() | {"store": None} == store.stats() | {"store": None}


def test_export_of_an_empty_store_imports_as_empty(
    store: DuckDBStore, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    counts = store.export_parquet(tmp_path / "empty")
    assert counts["events"] == 0
    with DuckDBStore(make_settings(store_path=tmp_path / "b.duckdb")) as other:
        other.import_parquet(tmp_path / "empty")
        assert other.stats()["events"] == 0


def test_import_into_a_non_empty_store_deduplicates(
    store: DuckDBStore, make_rows: MakeRows, make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    _fill(store, make_rows)
    out = tmp_path / "export"
    store.export_parquet(out)
    with DuckDBStore(make_settings(store_path=tmp_path / "other.duckdb")) as other:
        other.write(make_rows(page("p1", "anon-1", 0), page("own-1", "anon-own", 0)))
        result = other.import_parquet(out)
        assert result == {"events": 5, "duplicates": 1}
        ids = sorted(persons(other))
        assert ids == sorted(["p1", "p2", "p3", "p4", "p5", "pos-1", "own-1"])
        # stitched again: the web person and the POS purchase are one person here too
        p = persons(other)
        assert p["p1"] == p["p3"] == p["pos-1"]
        assert p["own-1"] != p["p1"]
        again = other.import_parquet(out)
        assert again == {"events": 0, "duplicates": 6}


def test_import_needs_a_manifest(store: DuckDBStore, tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        store.import_parquet(tmp_path)
    assert info.value.field == "directory"


# -- reading ---------------------------------------------------------------------------------------

def test_stats(store: DuckDBStore, make_rows: MakeRows, store_path: Path) -> None:
    _fill(store, make_rows)
    stats = store.stats()
    assert stats["store"] == str(store_path)
    assert stats["schema_version"] == LATEST_VERSION
    assert stats["events"] == 6
    # anon-1 + cust-1 + p@ + POS purchase; cust-2 refused on the shared device; anon-9
    assert stats["persons"] == 3
    assert stats["first_event"] == T.isoformat()
    assert stats["last_event"] == (T + timedelta(days=3)).isoformat()
    assert stats["by_type"] == {"identify": 2, "page": 2, "track": 2}
    assert stats["by_channel"] == {"direct": 4, "paid_search": 1, "store": 1}
    assert stats["by_source"] == {"(not set)": 5, "pos": 1}
    assert stats["identities"] == {"anon": 2, "user": 2, "email": 1}
    assert stats["merges"].get("refused") == 1
    assert stats["imports"] == 0


def test_table_is_an_ibis_expression_over_the_store(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    _fill(store, make_rows)
    events = store.table("events")
    assert events.count().execute() == store.stats()["events"] == 6
    tracks = events.filter(events.type == "track")
    assert tracks.count().execute() == 2
    assert tracks.revenue.sum().execute() == pytest.approx(114.5)
    assert store.table("identities").count().execute() == 5
    assert "person_id" in events.columns


# -- a property over random batches ----------------------------------------------------------------

USERS = ["u1", "u2", "null"]
ANONS = ["a1", "a2", "a3"]
EMAILS = ["x@example.com"]

message_strategy = st.fixed_dictionaries(
    {"type": st.sampled_from(["identify", "track", "page"]),
     "minute": st.integers(min_value=0, max_value=20)},
    optional={"userId": st.sampled_from(USERS), "anonymousId": st.sampled_from(ANONS),
              "email": st.sampled_from(EMAILS)},
).filter(lambda m: "userId" in m or "anonymousId" in m)


def _as_message(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": spec["type"], "messageId": f"r{index:03d}",
                           "timestamp": at(spec["minute"]), "event": "Did"}
    for key in ("userId", "anonymousId"):
        if key in spec:
            msg[key] = spec[key]
    if "email" in spec:
        msg["traits"] = {"email": spec["email"]}
    return msg


# Every example opens a DuckDB file: few examples, no shrinking (a failure here prints the
# whole example; the focused tests above give the minimal cases).
@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(message_strategy, min_size=2, max_size=10),
       cuts=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=2),
       cap=st.sampled_from([1, 1000]))
def test_stored_persons_agree_with_the_identity_graph(
    tmp_path: Path, make_rows: MakeRows, specs: list[dict[str, Any]], cuts: list[int], cap: int
) -> None:
    messages = [_as_message(i, spec) for i, spec in enumerate(specs)]
    bounds = [0, *sorted({c for c in cuts if c < len(messages)}), len(messages)]
    with tempfile.TemporaryDirectory(dir=tmp_path) as directory:
        settings_ = load_settings(env={}, store_path=Path(directory) / "p.duckdb",
                                  identity_max_user_ids=cap)
        with DuckDBStore(settings_) as store:
            for start, end in itertools.pairwise(bounds):
                store.write(make_rows(*messages[start:end]))
            events = store.sql("SELECT message_id, person_id, user_id, anonymous_id, "
                               "email_hash FROM events").to_pylist()
            identities = store.sql("SELECT key, person_id FROM identities").to_pylist()

    assert sorted(e["message_id"] for e in events) == [m["messageId"] for m in messages]
    key_person = {i["key"]: i["person_id"] for i in identities}
    assert len(key_person) == len(identities), "a key is stored twice"

    def keys_of(event: dict[str, Any]) -> list[str]:
        keys = []
        if event["user_id"] and event["user_id"] != "null":
            keys.append("user:" + event["user_id"])
        if event["email_hash"]:
            keys.append("email:" + event["email_hash"])
        if event["anonymous_id"]:
            keys.append("anon:" + event["anonymous_id"])
        return keys

    for event in events:
        keys = keys_of(event)
        if keys:
            # an event belongs to the person of its strongest key
            assert event["person_id"] == key_person[keys[0]], event
    assert set(key_person.values()) == {e["person_id"] for e in events if keys_of(e)}

    if cap == 1000:
        # nothing is refused: persons are the connected components of keys seen together,
        # however the messages were cut into batches
        parent: dict[str, str] = {}

        def find(key: str) -> str:
            while parent.get(key, key) != key:
                key = parent[key]
            return key

        for event in events:
            keys = keys_of(event)
            for key in keys[1:]:
                parent[find(key)] = find(keys[0])
        for a, b in itertools.combinations(key_person, 2):
            assert (find(a) == find(b)) == (key_person[a] == key_person[b]), (a, b)


def test_erasing_a_numeric_user_id_does_not_reach_a_phone_with_its_digits(
    store: DuckDBStore, make_rows: MakeRows
) -> None:
    store.write(make_rows(
        {"type": "identify", "messageId": "n1", "userId": "5551234567", "timestamp": at(0)},
        {"type": "identify", "messageId": "n2", "userId": "stranger", "timestamp": at(1),
         "traits": {"phone": "+5551234567"}},
    ))
    numeric = store.find_persons("5551234567")
    assert numeric == store.find_persons("user:5551234567")
    assert len(numeric) == 1
    stranger = store.find_persons("phone:+5551234567")
    assert len(stranger) == 1 and stranger != numeric
    store.erase("5551234567", compact=False)
    assert store.find_persons("stranger") == stranger


@pytest.mark.parametrize(("limit", "expected"), [("512MB", "488.2 MiB"), ("1.5GiB", "1.5 GiB")])
def test_the_memory_limit_setting_reaches_duckdb(tmp_path: Path, limit: str,
                                                 expected: str) -> None:
    configured = load_settings(env={}, store_path=tmp_path / "s.duckdb",
                               duckdb_memory_limit=limit)
    with DuckDBStore(configured) as store:
        assert store.sql("SELECT current_setting('memory_limit') AS m").to_pylist() == [
            {"m": expected}]
