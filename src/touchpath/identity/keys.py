"""Match keys: e-mail addresses and phone numbers, normalised then hashed.

Raw e-mails and phones are never kept in the identity graph; only their SHA-256 (hex) of the
normalised form, the same convention ad platforms use for customer matching, so an e-mail on a
store receipt joins the web visitor who signed up with it. The SQL forms below must give the same
result as the Python ones: the importer hashes millions of rows inside DuckDB (a test checks the
two agree).
"""

from __future__ import annotations

import hashlib
import re

_NON_PHONE = re.compile(r"[^0-9+]")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())
# Only ASCII letters are lower-cased: Python and DuckDB fold other scripts differently (the
# Turkish dotted capital I, for one), and both sides must give the same key.
_SPACE = " \t\r\n"


def normalise_email(raw: str) -> str | None:
    """Trim and lower-case (ASCII letters); ``None`` when it does not look like an address."""
    value = raw.strip(_SPACE).translate(_ASCII_LOWER)
    if "@" not in value or value.startswith("@") or value.endswith("@"):
        return None
    return value


def normalise_phone(raw: str, default_country_code: str = "") -> str | None:
    """Digits with the country code, no '+': '+972 54-123-4567', '00972541234567' and (with
    country code 972) '054-1234567' all give '972541234567'. ``None`` under 7 digits."""
    value = _NON_PHONE.sub("", raw)
    if value.startswith("+"):
        digits = value[1:].replace("+", "")
    elif value.startswith("00"):
        digits = value[2:].replace("+", "")
    elif value.startswith("0") and default_country_code:
        digits = default_country_code + value[1:].replace("+", "")
    else:
        digits = value.replace("+", "")
    return digits if len(digits) >= 7 else None


def hash_value(normalised: str) -> str:
    """SHA-256 hex of a normalised key."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def email_hash(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    value = normalise_email(raw)
    return hash_value(value) if value else None


def phone_hash(raw: object, default_country_code: str = "") -> str | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(int(raw))
    if not isinstance(raw, str):
        return None
    value = normalise_phone(raw, default_country_code)
    return hash_value(value) if value else None


def email_hash_sql(column: str) -> str:
    """DuckDB expression equal to :func:`email_hash` over ``column`` (an identifier we own)."""
    text = f"CAST({column} AS VARCHAR)"
    norm = f"translate(trim({text}, ' \t\r\n'), '{_UPPER}', '{_UPPER.lower()}')"
    # Most addresses are ASCII (bytes = characters) and start and end with a visible character:
    # nothing to trim, and lower() folds them exactly as the ASCII-only translate does, at a
    # fraction of its cost. '@' is not a letter, so it can be looked for before folding.
    plain = (f"strlen({text}) = length({text}) AND ascii({text}) > 32 "
             f"AND ascii(array_extract({text}, -1)) > 32")
    return (
        f"CASE WHEN {plain} THEN "
        f"CASE WHEN contains({text}, '@') AND NOT starts_with({text}, '@') "
        f"AND NOT ends_with({text}, '@') THEN sha256(lower({text})) END "
        f"ELSE CASE WHEN contains({norm}, '@') AND NOT starts_with({norm}, '@') "
        f"AND NOT ends_with({norm}, '@') THEN sha256({norm}) END END"
    )


def phone_hash_sql(column: str, default_country_code: str) -> str:
    """DuckDB expression equal to :func:`phone_hash` over ``column``.

    ``default_country_code`` is digits only (checked by the settings) so it is safe inline.
    """
    if default_country_code and not default_country_code.isdigit():
        raise ValueError("country code must be digits")
    c = f"regexp_replace(CAST({column} AS VARCHAR), '[^0-9+]', '', 'g')"
    national = (
        f"WHEN starts_with({c}, '0') THEN '{default_country_code}' || replace({c}[2:], '+', '') "
        if default_country_code
        else ""
    )
    d = (
        f"(CASE WHEN starts_with({c}, '+') THEN replace({c}[2:], '+', '') "
        f"WHEN starts_with({c}, '00') THEN replace({c}[3:], '+', '') "
        f"{national}ELSE replace({c}, '+', '') END)"
    )
    return f"CASE WHEN length({d}) >= 7 THEN sha256({d}) END"
