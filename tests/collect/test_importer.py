"""File imports: mapping checks, times, rejects with line numbers, idempotent re-imports."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.collect.importer import (
    AUTO_FORMATS,
    _general_time_sql,
    _time_sql,
    _utc,
    import_file,
)
from touchpath.collect.mapping import ImportMapping, load_mapping, mapping_from_dict
from touchpath.config import load_settings
from touchpath.errors import ConfigError, ValidationError
from touchpath.identity.keys import email_hash
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.store.duckdb_store import DuckDBStore

POS_CSV = """receipt,email,phone,bought_at,total,store
r1,dana@example.com,,01/05/2024 10:00,120.50,Tel Aviv
r2,omar@example.com,054-1234567,01/05/2024 11:30,not-a-number,Haifa
r3,,,02/05/2024 12:00,10,Haifa
r4,lea@example.com,,31/02/2024 09:00,10,Haifa
r5,"broken,line,with,too,many,columns
r6,noa@example.com,,03/05/2024 08:15,55,Eilat
"""

POS_MAPPING = ImportMapping(
    columns={"message_id": "receipt", "email": "email", "phone": "phone",
             "timestamp": "bought_at", "revenue": "total"},
    event="Order Completed", source="pos", time_format="%d/%m/%Y %H:%M",
    timezone="Asia/Jerusalem",
)


@pytest.fixture
def store(tmp_path: Path) -> DuckDBStore:
    s = DuckDBStore(load_settings(env={}, store_path=tmp_path / "s.duckdb",
                                  default_country_code="972"))
    yield s
    s.close()


def _rejects(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_with_bad_rows_keeps_good_rows_and_writes_rejects(store: DuckDBStore,
                                                               tmp_path: Path) -> None:
    src = tmp_path / "pos.csv"
    src.write_text(POS_CSV, encoding="utf-8")
    summary = import_file(store, src, POS_MAPPING)
    assert (summary.rows_read, summary.stored, summary.rejected) == (6, 2, 4)
    rejects = {int(r["line"]): r["reason"] for r in _rejects(Path(summary.rejects_file or ""))}
    assert set(rejects) == {3, 4, 5, 6}
    assert "revenue" in rejects[3] and "not-a-number" in rejects[3]
    assert "no identity" in rejects[4]
    assert "timestamp" in rejects[5]  # 31 February
    assert "Columns" in rejects[6]
    rows = store.sql(
        "SELECT message_id, timestamp, revenue, channel, event FROM events ORDER BY message_id"
    ).to_pylist()
    assert [r["message_id"] for r in rows] == ["r1", "r6"]
    # 10:00 in Israel on 1 May 2024 (summer time, UTC+3) is 07:00 UTC
    assert rows[0]["timestamp"] == datetime(2024, 5, 1, 7, 0)
    assert rows[0]["revenue"] == 120.5
    assert {r["channel"] for r in rows} == {"store"}


def test_reimport_stores_nothing_twice(store: DuckDBStore, tmp_path: Path) -> None:
    src = tmp_path / "pos.csv"
    src.write_text(POS_CSV, encoding="utf-8")
    import_file(store, src, POS_MAPPING)
    again = import_file(store, src, POS_MAPPING)
    assert (again.stored, again.duplicates) == (0, 2)
    assert store.stats()["events"] == 2


def test_content_hash_ids_survive_reordering_and_keep_identical_rows(
    store: DuckDBStore, tmp_path: Path
) -> None:
    mapping = ImportMapping(columns={"email": "email", "timestamp": "at"}, event="Visit",
                            source="store")
    rows = ["a@x.com,2024-05-01 10:00", "a@x.com,2024-05-01 10:00", "b@x.com,2024-05-02 10:00"]
    first = tmp_path / "one.csv"
    first.write_text("email,at\n" + "\n".join(rows) + "\n")
    assert import_file(store, first, mapping).stored == 3  # two identical rows are two visits
    second = tmp_path / "two.csv"
    second.write_text("email,at\n" + "\n".join(reversed(rows)) + "\nc@x.com,2024-05-03 10:00\n")
    result = import_file(store, second, mapping)
    assert (result.stored, result.duplicates) == (1, 3)


def test_parquet_and_jsonl(store: DuckDBStore, tmp_path: Path) -> None:
    table = pa.table({
        "customer": ["c1", "c2"],
        "at": pa.array([datetime(2024, 5, 1, 9), datetime(2024, 5, 1, 10)], pa.timestamp("us")),
        "amount": [10.0, 20.0],
        "sku": ["A", "B"],
    })
    pq.write_table(table, tmp_path / "orders.parquet")
    mapping = ImportMapping(columns={"user_id": "customer", "timestamp": "at",
                                     "revenue": "amount"}, event="Order Completed")
    assert import_file(store, tmp_path / "orders.parquet", mapping).stored == 2
    props = store.sql("SELECT properties FROM events WHERE user_id = 'c1'").to_pylist()
    assert json.loads(props[0]["properties"]) == {"sku": "A"}

    lines = [
        json.dumps({"ticket": 1, "email": "c1@x.com", "opened": "2024-05-02T10:00:00+03:00"}),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"ticket": 2, "email": "c2@x.com", "opened": 1714557600}),
    ]
    (tmp_path / "tickets.jsonl").write_text("\n".join(lines) + "\n")
    jmap = ImportMapping(columns={"email": "email", "timestamp": "opened"},
                         event="Support Ticket Opened", source="zendesk")
    summary = import_file(store, tmp_path / "tickets.jsonl", jmap)
    assert (summary.stored, summary.rejected) == (2, 2)
    assert {int(r["line"]) for r in _rejects(Path(summary.rejects_file or ""))} == {2, 4}
    times = store.sql(
        "SELECT timestamp FROM events WHERE channel = 'help_desk' ORDER BY timestamp"
    ).column("timestamp").to_pylist()
    assert times == [datetime(2024, 5, 1, 10), datetime(2024, 5, 2, 7)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01 10:00", datetime(2024, 5, 1, 7)),  # naive: Asia/Jerusalem (UTC+3)
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10)),
        ("2024-05-01T10:00:00+02:00", datetime(2024, 5, 1, 8)),
        ("2024-01-15", datetime(2024, 1, 14, 22)),  # winter: UTC+2
        ("1714557600", datetime(2024, 5, 1, 10)),
        ("1714557600000", datetime(2024, 5, 1, 10)),
        ("2024/05/01 10:00", datetime(2024, 5, 1, 7)),
        ("01.05.2024 10:00", datetime(2024, 5, 1, 7)),
    ],
)
def test_automatic_time_layouts(store: DuckDBStore, tmp_path: Path, value: str,
                                expected: datetime) -> None:
    src = tmp_path / "t.csv"
    src.write_text(f"user,at\nu1,{value}\n")
    mapping = ImportMapping(columns={"user_id": "user", "timestamp": "at"}, event="E",
                            timezone="Asia/Jerusalem")
    assert import_file(store, src, mapping).stored == 1
    assert store.sql("SELECT timestamp FROM events").column(0).to_pylist() == [expected]


def test_ambiguous_slashed_date_is_rejected_with_a_hint(store: DuckDBStore,
                                                        tmp_path: Path) -> None:
    src = tmp_path / "t.csv"
    src.write_text("user,at\nu1,01/05/2024 10:00\n")
    summary = import_file(store, src, ImportMapping(
        columns={"user_id": "user", "timestamp": "at"}, event="E"))
    assert summary.rejected == 1
    assert "--time-format" in _rejects(Path(summary.rejects_file or ""))[0]["reason"]


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        (ImportMapping(columns={"user_id": "user"}, event="E"), "columns.timestamp"),
        (ImportMapping(columns={"timestamp": "at"}, event="E"), "columns.user_id"),
        (ImportMapping(columns={"user_id": "nope", "timestamp": "at"}, event="E"),
         "columns.user_id"),
        (ImportMapping(columns={"user_id": "user", "timestamp": "at"}), "event"),
        (ImportMapping(columns={"user_id": "user", "timestamp": "at", "colour": "user"},
                       event="E"), "columns.colour"),
        (ImportMapping(columns={"user_id": "user", "timestamp": "at"}, event="E",
                       timezone="Mars/Olympus"), "timezone"),
    ],
)
def test_bad_mapping_fails_before_writing(store: DuckDBStore, tmp_path: Path,
                                          mapping: ImportMapping, field: str) -> None:
    src = tmp_path / "t.csv"
    src.write_text("user,at\nu1,2024-05-01 10:00\n")
    with pytest.raises(ValidationError) as info:
        import_file(store, src, mapping)
    assert info.value.field == field
    assert store.stats()["events"] == 0


def test_unknown_file_format_and_missing_file(store: DuckDBStore, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        import_file(store, tmp_path / "nope.csv", POS_MAPPING)
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    with pytest.raises(ValidationError) as info:
        import_file(store, odd, POS_MAPPING)
    assert info.value.field == "format"


def test_store_purchase_joins_the_web_customer_by_email(store: DuckDBStore,
                                                        tmp_path: Path) -> None:
    received = datetime(2024, 4, 30, 12)
    web = [
        {"type": "page", "anonymousId": "anon-77", "messageId": "w1",
         "timestamp": "2024-04-30T09:00:00Z"},
        {"type": "identify", "anonymousId": "anon-77", "userId": "cust-7", "messageId": "w2",
         "traits": {"email": "Dana@Example.com"}, "timestamp": "2024-04-30T09:05:00Z"},
    ]
    store.write(rows_to_table([parse_message(m, received_at=received) for m in web]))
    src = tmp_path / "pos.csv"
    src.write_text(POS_CSV, encoding="utf-8")
    import_file(store, src, POS_MAPPING)
    persons = store.sql(
        "SELECT DISTINCT person_id FROM events WHERE message_id IN ('w1', 'w2', 'r1')"
    ).column(0).to_pylist()
    assert len(persons) == 1
    assert store.explain("dana@example.com")["persons"][0]["channels"] == ["direct", "store"]


def test_phone_numbers_join_in_any_layout(store: DuckDBStore, tmp_path: Path) -> None:
    src = tmp_path / "calls.csv"
    src.write_text("phone,at\n054-123-4567,2024-05-01 10:00\n+972 54 1234567,2024-05-02 10:00\n")
    mapping = ImportMapping(columns={"phone": "phone", "timestamp": "at"}, event="Call",
                            source="call_center")
    assert import_file(store, src, mapping).stored == 2
    assert store.stats()["persons"] == 1
    assert store.sql("SELECT DISTINCT channel FROM events").column(0).to_pylist() == [
        "call_centre"]


def test_mapping_yaml(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("source: pos\nevent: Order Completed\ncolumns:\n  email: mail\n"
                    "  timestamp: at\nproperties: [store]\n")
    mapping = load_mapping(path)
    assert mapping.columns == {"email": "mail", "timestamp": "at"}
    assert mapping.properties == ("store",)
    with pytest.raises(ConfigError) as info:
        mapping_from_dict({"colums": {}})
    assert info.value.field == "colums"
    with pytest.raises(ConfigError):
        load_mapping(tmp_path / "missing.yaml")


def test_email_hash_column_matches_python(store: DuckDBStore, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("email,at\n  Mixed.Case@Example.COM ,2024-05-01 10:00\n")
    import_file(store, src, ImportMapping(columns={"email": "email", "timestamp": "at"},
                                          event="E"))
    stored = store.sql("SELECT email_hash FROM events").column(0).to_pylist()
    assert stored == [email_hash("mixed.case@example.com")]


def test_progress_reports_every_row(store: DuckDBStore, tmp_path: Path) -> None:
    src = tmp_path / "c.csv"
    src.write_text("user,at\n" + "".join(f"u{i},2024-05-01 10:00\n" for i in range(50)))
    seen: list[tuple[int, int]] = []
    import_file(store, src, ImportMapping(columns={"user_id": "user", "timestamp": "at"},
                                          event="E"), progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 50) and seen[-1] == (50, 50)


def test_content_hash_ids_and_lines_stay_those_of_earlier_versions(
    store: DuckDBStore, tmp_path: Path
) -> None:
    # Ids written by earlier versions must be found again, or a re-import would store twice.
    src = tmp_path / "visits.csv"
    src.write_text("email,at,page\na@x.com,2024-05-01 10:00,home\n1,2,3,4\n"
                   "a@x.com,2024-05-01 10:00,home\nb@x.com,2024-05-02 10:00,\"two\nlines\"\n")
    summary = import_file(store, src, ImportMapping(
        columns={"email": "email", "timestamp": "at"}, event="Visit", source="web"))
    assert (summary.stored, summary.rejected) == (3, 1)
    rows = store.sql("SELECT message_id, context FROM events ORDER BY context").to_pylist()
    assert [(r["message_id"], json.loads(r["context"])["import"]["line"]) for r in rows] == [
        ("imp-bc1c741464a920d0ec6dc429d49bd552", 2),
        ("imp-406dbbd6e3642a49bd75ff55ca1f934e", 4),
        ("imp-94e8425ce77351b30841eecf4add5e87", 5),
    ]
    assert json.loads(rows[0]["context"]) == {"import": {"file": "visits.csv", "line": 2}}


def test_an_empty_message_id_is_a_rejected_row(store: DuckDBStore, tmp_path: Path) -> None:
    src = tmp_path / "pos.csv"
    src.write_text("receipt,email,at\nr1,a@x.com,2024-05-01 10:00\n,b@x.com,2024-05-01 11:00\n")
    summary = import_file(store, src, ImportMapping(
        columns={"message_id": "receipt", "email": "email", "timestamp": "at"}, event="E"))
    assert (summary.stored, summary.rejected) == (1, 1)
    rejects = _rejects(Path(summary.rejects_file or ""))
    assert [(r["line"], r["reason"]) for r in rejects] == [("3", "message_id: empty")]


def _events(store: DuckDBStore) -> list[dict[str, object]]:
    return store.sql(
        "SELECT * EXCLUDE (loaded_at, received_at) FROM events ORDER BY message_id").to_pylist()


@pytest.mark.parametrize("bad_line", [True, False])
def test_chunked_import_and_the_general_write_path_store_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_line: bool
) -> None:
    """The import's insert in ranges of rows, in one range, and the Arrow path of
    ``DuckDBStore.write`` store identical rows (persons, channels, keys) for one file, with
    and without an unreadable line (a row rejected for its values, in the middle, is left out
    of the insert)."""
    lines = ["receipt,email,phone,user,at,total,utm_source,utm_medium"]
    for i in range(23):
        lines.append(f"r{i},c{i % 4}@x.com,{'054-123456' + str(i % 3) if i % 5 else ''},"
                     f"{'u' + str(i % 2) if i % 7 == 0 else ''},2024-05-0{1 + i % 9} 10:00,"
                     f"{i}.5,{'google' if i % 3 else ''},{'cpc' if i % 6 else ''}")
        if i == 11:
            lines.append("rx,c1@x.com,,,not a time,1.5,,")
    src = tmp_path / "rows.csv"
    src.write_text("\n".join(lines) + ("\n1,2,3,4,5,6,7,8,9\n" if bad_line else "\n"))
    mapping = ImportMapping(
        columns={"message_id": "receipt", "email": "email", "phone": "phone",
                 "user_id": "user", "timestamp": "at", "revenue": "total",
                 "utm_source": "utm_source", "utm_medium": "utm_medium"},
        event="Order Completed", timezone="Asia/Jerusalem")
    stored = []
    incoming = pa.table({})
    for name, chunk in (("one", 1_000_000), ("ranges", 4)):
        monkeypatch.setattr("touchpath.collect.importer.CHUNK_ROWS", chunk)
        seen: list[tuple[int, int]] = []
        with DuckDBStore(load_settings(env={}, store_path=tmp_path / f"{name}.duckdb",
                                       default_country_code="972")) as target:
            summary = import_file(target, src, mapping,
                                  progress=lambda d, t, seen=seen: seen.append((d, t)))
            assert (summary.stored, summary.rejected) == (23, 1 + int(bad_line))
            stored.append(_events(target))
            incoming = target.sql("SELECT * EXCLUDE (person_id, session_index, loaded_at, "
                                  "channel) FROM events")
        assert seen[-1] == (24, 24) and seen == sorted(seen)
        if name == "ranges":
            assert len(seen) > 3
    assert stored[0] == stored[1]
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "arrow.duckdb",
                                   default_country_code="972")) as target:
        target.write(incoming)  # channel unset: classified again from the utm columns
        assert _events(target) == stored[0]


def test_ranges_of_a_partly_stored_file_with_repeated_ids_store_each_row_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows already stored and ids repeated in the file: the ranges store what a single range
    stores."""
    head = "receipt,email,at,utm_source"
    lines = [f"r{i},c{i % 3}@x.com,2024-05-0{1 + i % 9} 10:00,{'google' if i % 2 else ''}"
             for i in range(17)]
    part, full = tmp_path / "part.csv", tmp_path / "full.csv"
    part.write_text("\n".join([head, *lines[:6]]) + "\n")
    full.write_text("\n".join([head, *lines, lines[9].replace("10:00", "11:00")]) + "\n")
    mapping = ImportMapping(columns={"message_id": "receipt", "email": "email", "timestamp": "at",
                                     "utm_source": "utm_source"}, event="E")
    stored = []
    for name, chunk in (("one", 1_000_000), ("ranges", 4)):
        monkeypatch.setattr("touchpath.collect.importer.CHUNK_ROWS", chunk)
        with DuckDBStore(load_settings(env={}, store_path=tmp_path / f"{name}.duckdb")) as target:
            import_file(target, part, mapping)
            summary = import_file(target, full, mapping)
            assert (summary.stored, summary.duplicates) == (11, 7)
            stored.append(_events(target))
    assert stored[0] == stored[1] and len(stored[0]) == 17
    assert {r["channel"] for r in stored[0]} == {"direct", "organic_search"}


_LAYOUTS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M", "%d.%m.%Y",
            "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%Y%m%d"]


@settings(max_examples=400, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2037, 1, 1)),
    layout=st.sampled_from(_LAYOUTS),
    suffix=st.sampled_from(["", "Z", "z", "+03:00", "-0500", " +02", " UTC", "  ", ".5"]),
    epoch=st.sampled_from([None, "s", "ms", "s.f"]),
    junk=st.text(alphabet="0123456789-:+TZ. /", max_size=20),
    zone=st.sampled_from(["UTC", "Asia/Jerusalem", "America/New_York"]),
    lead=st.sampled_from(["", " ", "  ", "\t", " \t", "\n"]),
    trail=st.sampled_from(["", " ", "  ", "\t", "\t ", "\r\n", " Z "]),
)
def test_the_fast_time_rule_agrees_with_the_general_rules(
    moment: datetime, layout: str, suffix: str, epoch: str | None, junk: str, zone: str,
    lead: str, trail: str,
) -> None:
    """Text times take a shortcut when DuckDB casts them (see importer._time_sql); for every
    text, with white space around it or not, the shortcut gives what the documented rules
    give (the shortcut does not trim)."""
    stamp = moment.timestamp()
    if epoch == "s":
        texts = [str(int(stamp))]
    elif epoch == "ms":
        texts = [str(int(stamp * 1000))]
    elif epoch == "s.f":
        texts = [f"{stamp:.3f}"]
    else:
        texts = [moment.strftime(layout) + suffix]
    texts.append(junk)
    texts = [lead + text + trail for text in texts]
    mapping = ImportMapping(columns={"timestamp": "t"}, timezone=zone)
    params = {"tz": zone, "auto": AUTO_FORMATS}
    with duckdb.connect() as con:
        for text in texts:
            general = _general_time_sql("trim(CAST(r.t AS VARCHAR))")
            rows = con.execute(
                f"SELECT {_time_sql('t', 'VARCHAR', mapping)}, {general} "
                "FROM (SELECT $text AS t) r",
                {**_used_params(_time_sql("t", "VARCHAR", mapping) + general, params),
                 "text": text},
            ).fetchall()
            assert rows[0][0] == rows[0][1], text


def _used_params(sql: str, params: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in params.items() if f"${k}" in sql}


@pytest.mark.parametrize("zone", ["Asia/Jerusalem", "America/New_York", "Pacific/Chatham", "UTC"])
def test_utc_of_an_instant_equals_timezone_utc(zone: str) -> None:
    """``_utc`` (the epoch shortcut) gives what ``timezone('UTC', ...)`` gives, for times
    around daylight-saving changes, far dates, infinities and NULL."""
    texts = ["2024-03-29 01:59:59", "2024-03-29 02:30:00", "2024-10-27 01:30:00",
             "2024-03-10 02:30:00", "2024-11-03 01:30:00.123456", "1900-01-01 00:00:00",
             "0001-01-01 00:00:00", "2999-12-31 23:59:59", "infinity", "-infinity", None]
    with duckdb.connect() as con:
        for text in texts:
            instant = "timezone($tz, TRY_CAST($text AS TIMESTAMP))"
            shortcut, general = con.execute(
                f"SELECT CAST({_utc(instant)} AS VARCHAR), "
                f"CAST(timezone('UTC', {instant}) AS VARCHAR)",
                {"tz": zone, "text": text},
            ).fetchall()[0]
            assert shortcut == general, text
            assert (general is None) == (text is None)
