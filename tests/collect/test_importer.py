"""File imports: mapping checks, times, rejects with line numbers, idempotent re-imports."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from touchpath.collect.importer import import_file
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
