"""Match keys: normalisation, hashing, and the SQL forms that must agree with Python."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.identity.keys import (
    email_hash,
    email_hash_sql,
    hash_value,
    normalise_email,
    normalise_phone,
    phone_hash,
    phone_hash_sql,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann@Example.COM", "ann@example.com"),
        ("  ann@example.com\t\r\n", "ann@example.com"),
        ("a@b", "a@b"),
        ("דני@דוגמה.קום", "דני@דוגמה.קום"),
        ("no-at-sign.example.com", None),
        ("@example.com", None),
        ("ann@", None),
        ("  @x ", None),
        ("", None),
        ("   ", None),
    ],
)
def test_normalise_email(raw: str, expected: str | None) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+972 54-123-4567", "", "972541234567"),
        ("00972541234567", "", "972541234567"),
        ("054-1234567", "972", "972541234567"),
        ("+972 54-123-4567", "972", "972541234567"),
        ("00972541234567", "972", "972541234567"),
        ("054-1234567", "", "0541234567"),  # no country code: national digits kept
        ("(212) 555-0100", "1", "2125550100"),
        ("+1 (212) 555-0100", "1", "12125550100"),
        ("+1+2 345 6789", "", "123456789"),  # stray '+' inside are dropped
        ("tel: 054 123 4567", "972", "972541234567"),
        ("123456", "", None),  # under 7 digits
        ("0123456", "", "0123456"),
        ("012345", "972", "97212345"),
        ("+", "", None),
        ("", "", None),
        ("call me", "", None),
    ],
)
def test_normalise_phone(raw: str, country: str, expected: str | None) -> None:
    assert normalise_phone(raw, country) == expected


def test_the_three_israeli_forms_hash_alike() -> None:
    forms = ["+972 54-123-4567", "00972541234567", "054-1234567"]
    hashes = {phone_hash(f, "972") for f in forms}
    assert hashes == {sha("972541234567")}


def test_hashes_are_sha256_hex_of_the_normalised_form() -> None:
    assert hash_value("ann@example.com") == sha("ann@example.com")
    assert email_hash(" Ann@Example.com ") == sha("ann@example.com")
    assert phone_hash("+44 20 7946 0958") == sha("442079460958")
    assert len(email_hash("a@b") or "") == 64


@pytest.mark.parametrize("raw", [None, 5, 1.5, ["a@b"], {"email": "a@b"}, True, "nope"])
def test_email_hash_of_non_addresses_is_none(raw: object) -> None:
    assert email_hash(raw) is None


def test_phone_hash_of_numbers_and_non_strings() -> None:
    assert phone_hash(972541234567) == sha("972541234567")
    assert phone_hash(972541234567.0) == sha("972541234567")
    assert phone_hash(True) is None
    assert phone_hash(None) is None
    assert phone_hash(["+972541234567"]) is None
    assert phone_hash(123) is None


ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALPHABET = "0123456789+-() @.\t\r\n" + ASCII_LETTERS + "éÉüÜñÑ" + "אבגדהוזחטיכלמנסעפצקרשתםןךףץ"
texts = st.text(alphabet=ALPHABET, max_size=30)
# phone-like text more often: mostly digits with the punctuation people type
phone_texts = st.text(alphabet="0123456789+-() ", max_size=20) | texts
email_texts = st.builds(
    lambda local, host, pad: f"{pad}{local}@{host}{pad}",
    st.text(alphabet=ASCII_LETTERS + "אבג.+", max_size=8),
    st.text(alphabet=ASCII_LETTERS + "אבג.", max_size=8),
    st.sampled_from(["", " ", "\t", "\n "]),
) | texts


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    try:
        yield connection
    finally:
        connection.close()


def _sql_value(con: duckdb.DuckDBPyConnection, expression: str, value: str | None) -> object:
    return con.execute(f"SELECT {expression} FROM (SELECT ?::VARCHAR AS v)", [value]).fetchone()[0]


@settings(max_examples=300, deadline=None)
@given(value=email_texts)
def test_email_hash_sql_equals_python(con: duckdb.DuckDBPyConnection, value: str) -> None:
    assert _sql_value(con, email_hash_sql("v"), value) == email_hash(value)


@settings(max_examples=300, deadline=None)
@given(value=phone_texts, country=st.sampled_from(["", "972", "1", "44"]))
def test_phone_hash_sql_equals_python(
    con: duckdb.DuckDBPyConnection, value: str, country: str
) -> None:
    assert _sql_value(con, phone_hash_sql("v", country), value) == phone_hash(value, country)


def test_sql_forms_of_null_are_null(con: duckdb.DuckDBPyConnection) -> None:
    assert _sql_value(con, email_hash_sql("v"), None) is None
    assert _sql_value(con, phone_hash_sql("v", "972"), None) is None


def test_sql_forms_over_a_table_column(con: duckdb.DuckDBPyConnection) -> None:
    values = ["Ann@Example.com", "+972 54-123-4567", "054-1234567", "junk", None]
    rows = con.execute(
        f"SELECT {email_hash_sql('raw')}, {phone_hash_sql('raw', '972')} "
        "FROM (SELECT unnest(?::VARCHAR[]) AS raw, generate_subscripts(?::VARCHAR[], 1) AS i) "
        "ORDER BY i",
        [values, values],
    ).fetchall()
    assert rows == [(email_hash(v), phone_hash(v, "972")) for v in values]


@pytest.mark.parametrize("country", ["+972", "97'2", "1; DROP TABLE x"])
def test_phone_hash_sql_refuses_a_non_digit_country_code(country: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        phone_hash_sql("v", country)


@pytest.mark.parametrize(
    "value",
    [
        "İLKER@example.com",  # Turkish dotted capital I: Python lower() gives 'i̇' (2 chars)
        "ΟΔΥΣΣΕΑΣ@example.gr",  # Greek capital sigma at a word end: Python lower() gives 'ς'
    ],
    ids=["turkish-dotted-capital-i", "greek-final-sigma"],
)
def test_email_hash_sql_equals_python_beyond_ascii_case_folding(
    con: duckdb.DuckDBPyConnection, value: str
) -> None:
    # The importer hashes in DuckDB and the collector in Python: both must give one key.
    assert _sql_value(con, email_hash_sql("v"), value) == email_hash(value)


@given(local=st.text(alphabet=ASCII_LETTERS + "0123456789._", min_size=1, max_size=10),
       host=st.text(alphabet=ASCII_LETTERS + ".", min_size=1, max_size=10),
       pad=st.sampled_from(["", " ", "\t\n"]))
def test_email_hash_ignores_case_and_surrounding_space(local: str, host: str, pad: str) -> None:
    address = f"{local}@{host}"
    assert email_hash(pad + address.upper() + pad) == email_hash(address.lower())
    assert email_hash(address) == sha(address.lower())


@given(digits=st.text(alphabet="0123456789", min_size=7, max_size=14),
       seps=st.lists(st.sampled_from(["", " ", "-", "(", ")", "."]), min_size=15, max_size=15))
def test_phone_hash_ignores_formatting(digits: str, seps: list[str]) -> None:
    formatted = "".join(d + s for d, s in zip(digits, seps, strict=False))
    assert phone_hash("+" + formatted) == phone_hash("00" + digits) == sha(digits)
