"""File imports: CSV, Parquet and JSONL exports of CRM, POS and help-desk systems.

DuckDB reads the file (in parallel, natively) and one SQL pass turns the mapped columns into
touchpoints in a staging table (``_prep``, in file order), giving every bad row its reason; the
good rows go to the store's write path in one transaction (deduplicated, classified, stitched,
inserted in ranges for the progress bar), so an import is re-runnable: a row's
``message_id`` is its mapped id column or a hash of its content and its occurrence in the file,
and re-importing the same file stores nothing twice.

Line numbers in the rejects file are the file's physical lines (the CSV header is line 1; a
quoted value spanning lines counts as one line), or 1-based rows for Parquet.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from touchpath.collect.mapping import ImportMapping
from touchpath.errors import ValidationError
from touchpath.identity.keys import email_hash_sql, phone_hash_sql
from touchpath.spec.columns import NAMES
from touchpath.spec.timestamps import FUTURE_TOLERANCE, utcnow
from touchpath.store.duckdb_store import DuckDBStore

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
CHUNK_ROWS = 1_000_000
# Unambiguous layouts tried when no --time-format is given (day-first dotted dates are the
# European convention; slashed dates are ambiguous and need an explicit format).
AUTO_FORMATS = ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d.%m.%Y %H:%M:%S",
                "%d.%m.%Y %H:%M", "%d.%m.%Y"]
_OFFSET = r"\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"
_OFFSET_PADDED = _OFFSET.removesuffix("$") + " *$"
"""``_OFFSET`` on an untrimmed text (trim removes spaces only)."""

Progress = Callable[[int, int], None]
_NUMBERS = frozenset(("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT",
                      "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"))
STAGING_TABLES = ("_raw", "_prep", "_pos", "_bad", "_rejects", "_text", "_lines", "_ok", "_rej",
                  "_rej_scan")

_PREPARED = frozenset((
    "message_id", "event", "name", "user_id", "anonymous_id", "email_hash", "phone_hash",
    "revenue", "currency", "session_id", "utm_source", "utm_medium", "utm_campaign", "source",
    "channel", "properties", "traits", "timestamp",
))
"""Output columns ``_prep`` holds under the same name (those the mapping leaves NULL on every
row excepted, see ``_prepare``); the others are computed below."""
_COMPUTED = {
    "type": "$type",
    "original_timestamp": "p.timestamp",
    "received_at": "$now",
}


@dataclass(frozen=True)
class ImportSummary:
    """The outcome of one file import (printed by ``touchpath import``)."""

    file: str
    rows_read: int
    stored: int
    duplicates: int
    rejected: int
    rejects_file: str | None
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in ("csv", "parquet", "jsonl"):
            raise ValidationError("must be csv, parquet or jsonl", field="format")
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValidationError(
            f"cannot tell the format of {path.name}; name it .csv, .parquet or .jsonl "
            "or pass --format", field="format",
        )
    return found


def _ident(name: str) -> str:
    """A quoted SQL identifier (file column names are data, never trusted as SQL)."""
    return '"' + name.replace('"', '""') + '"'


_CSV = ("read_csv($p, all_varchar = true, header = true, store_rejects = true, "
        "rejects_table = '_rej', rejects_scan = '_rej_scan')")


def _stage(cur: duckdb.DuckDBPyConnection, path: Path, fmt: str, copy: bool
           ) -> tuple[dict[str, str], str]:
    """Open the file: returns its columns and their types (in file order) and the SQL the
    conversion pass reads it from. CSV and Parquet are read by that pass itself unless
    ``copy`` (content-hash ids need a staged ``_raw`` with file-order row ids); JSONL is
    always staged: its lines are checked one by one first. Structural rejects go to ``_bad``.
    """
    _drop_staging(cur)
    cur.execute("CREATE OR REPLACE TEMP TABLE _bad (line BIGINT, reason VARCHAR, raw VARCHAR)")
    p = {"p": str(path)}
    reader = _CSV if fmt == "csv" else "read_parquet($p)"
    try:
        if fmt == "jsonl":
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE _text AS SELECT j FROM "
                "read_csv($p, columns = {'j': 'VARCHAR'}, header = false, delim = chr(1), "
                "quote = '', escape = '', auto_detect = false)", p,
            )
            cur.execute("CREATE OR REPLACE TEMP TABLE _lines AS SELECT rowid + 1 AS line, j "
                        "FROM _text")
            cur.execute(
                "INSERT INTO _bad SELECT line, 'not a JSON object on this line', j FROM _lines "
                "WHERE j IS NOT NULL AND NOT coalesce("
                "CASE WHEN json_valid(j) THEN json_type(j) = 'OBJECT' END, false)"
            )
            keys = [r[0] for r in cur.execute(
                "SELECT DISTINCT unnest(json_keys(j)) AS k FROM _lines "
                "WHERE json_valid(j) AND json_type(j) = 'OBJECT' ORDER BY k"
            ).fetchall()]
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE _ok AS SELECT line, j FROM _lines "
                "WHERE json_valid(j) AND json_type(j) = 'OBJECT' ORDER BY line"
            )
            select = ", ".join(
                f"j ->> ${i} AS {_ident(k)}" for i, k in enumerate(keys, start=1)
            ) or "NULL AS _empty"
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT {select} FROM _ok ORDER BY line",
                keys,
            )
            cur.execute("CREATE OR REPLACE TEMP TABLE _pos AS SELECT rowid AS k, line FROM _ok")
        elif copy:
            cur.execute(f"CREATE OR REPLACE TEMP TABLE _raw AS SELECT * FROM {reader}", p)
        types = {r[0]: r[1] for r in cur.execute(
            "DESCRIBE _raw" if fmt == "jsonl" or copy else f"DESCRIBE SELECT * FROM {reader}",
            {} if fmt == "jsonl" or copy else p,
        ).fetchall()}
    except duckdb.Error as exc:
        raise ValidationError(f"cannot read {path.name} as {fmt}: {exc}", field="file") from exc
    return types, ("_raw" if fmt == "jsonl" or copy else reader)


def _line_numbers(cur: duckdb.DuckDBPyConnection, fmt: str) -> tuple[str, str]:
    """SQL for the physical line of a ``_prep`` row ``p`` and the join it needs.

    A row's line is its ordinal (``_prep`` keeps file order), shifted past the header and past
    the lines rejected before it; ``_pos`` maps ordinals to lines when lines were rejected.
    """
    header = 1 if fmt == "csv" else 0
    if fmt != "jsonl":
        if fmt == "csv":
            cur.execute(
                "INSERT INTO _bad SELECT line, error_message, csv_line FROM _rej "
                "WHERE NOT (error_type = 'MISSING COLUMNS' AND csv_line = '')"
            )
        if not cur.execute("SELECT count(*) FROM _bad").fetchall()[0][0]:
            return f"(p.rowid + {1 + header})", ""
        cur.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _pos AS
            SELECT r.rowid AS k, r.rowid + 1 + {header} + coalesce(t.shift, 0) AS line
            FROM _prep r ASOF LEFT JOIN (
              SELECT line - 1 - {header} - row_number() OVER (ORDER BY line) + 1 AS threshold,
                     row_number() OVER (ORDER BY line) AS shift
              FROM _bad
            ) t ON r.rowid >= t.threshold
            """
        )
    return "l.line", "JOIN _pos l ON l.k = p.rowid"


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` refers to (DuckDB refuses unused named parameters)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _drop_staging(cur: duckdb.DuckDBPyConnection) -> None:
    for table in STAGING_TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


def _time_sql(column: str, column_type: str, mapping: ImportMapping) -> str:
    col = f"r.{_ident(column)}"
    t = column_type.upper()
    if t.startswith("TIMESTAMP WITH TIME ZONE"):
        return _utc(col)
    if t.startswith("TIMESTAMP") or t == "DATE":
        return _local(f"CAST({col} AS TIMESTAMP)", mapping)
    if any(t.startswith(n) for n in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT", "FLOAT",
                                      "DECIMAL")):
        return (f"timezone('UTC', CASE WHEN {col} < 100000000000 THEN to_timestamp({col}) "
                f"ELSE to_timestamp({col} / 1000.0) END)")
    text = f"trim(CAST({col} AS VARCHAR))"
    if mapping.time_format:
        parsed = f"try_strptime({text}, $fmt)"
        if "%z" in mapping.time_format or "%Z" in mapping.time_format:
            return f"timezone('UTC', {parsed})"
        return _local(parsed, mapping)
    # The common case first: a date-time DuckDB casts (ISO layouts) without an offset. No
    # epoch number casts, so the general rules below would give the same for these rows.
    # Untrimmed (trim cost as much as the cast and the offset check together): the cast skips
    # surrounding white space, or fails and the row takes the general rules (which trim); the
    # offset check allows the trailing spaces trim would have removed.
    raw = f"CAST({col} AS VARCHAR)"
    cast = f"TRY_CAST({raw} AS TIMESTAMP)"
    return f"""CASE WHEN {cast} IS NOT NULL AND NOT regexp_matches({raw}, '{_OFFSET_PADDED}')
               THEN {_local(cast, mapping)} ELSE {_general_time_sql(text)} END"""


def _local(timestamp: str, mapping: ImportMapping) -> str:
    """A zone-less time read in the mapping's time zone, as UTC."""
    if mapping.timezone == "UTC":
        return timestamp
    return _utc(f"timezone($tz, {timestamp})")


def _utc(instant: str) -> str:
    """A TIMESTAMPTZ as a zone-less UTC time: ``timezone('UTC', instant)``.

    A TIMESTAMPTZ holds microseconds since the epoch in UTC, so for a finite instant that is
    ``make_timestamp(epoch_us(instant))`` without a second pass through ICU's calendar (~40%
    less time for the conversion); infinities take ``timezone`` (``make_timestamp`` gives
    NULL for them).
    """
    return f"coalesce(make_timestamp(epoch_us({instant})), timezone('UTC', {instant}))"


def _general_time_sql(text: str) -> str:
    """The automatic layouts of docs/import.md for a text time (see ``_time_sql``)."""
    return f"""coalesce(
        CASE WHEN regexp_full_match({text}, '\\d{{9,10}}(\\.\\d+)?')
               THEN timezone('UTC', to_timestamp(TRY_CAST({text} AS DOUBLE)))
             WHEN regexp_full_match({text}, '\\d{{12,13}}')
               THEN timezone('UTC', to_timestamp(TRY_CAST({text} AS DOUBLE) / 1000)) END,
        CASE WHEN regexp_matches({text}, '{_OFFSET}')
               THEN timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ))
             ELSE timezone('UTC', timezone($tz, coalesce(TRY_CAST({text} AS TIMESTAMP),
                                                         try_strptime({text}, $auto)))) END)"""


def _text(column: str) -> str:
    return f"nullif(trim(CAST(r.{_ident(column)} AS VARCHAR)), '')"


def _json(columns: list[str]) -> str:
    if not columns:
        return "NULL"
    items = ", ".join(f"{_ident(c)} := r.{_ident(c)}" for c in columns)
    return f"CAST(to_json(struct_pack({items})) AS VARCHAR)"


def _prepare(cur: duckdb.DuckDBPyConnection, mapping: ImportMapping, types: dict[str, str],
             source: str, path: Path, country_code: str) -> frozenset[str]:
    """Build ``_prep`` in one pass over ``source``: one touchpoint per row of the file, in file
    order, with ``_reason`` (and the row as JSON, ``_raw``) for the bad ones. Returns the
    output columns the mapping leaves NULL on every row: ``_prep`` does not store them (a
    column of NULLs costs as much to write as a column of numbers)."""
    columns = list(types)
    m = mapping.columns
    ts = _time_sql(m["timestamp"], types[m["timestamp"]], mapping)
    ident = {f: (_text(m[f]) if f in m else "NULL") for f in
             ("user_id", "anonymous_id", "session_id", "currency", "utm_source", "utm_medium",
              "utm_campaign", "name")}
    email = email_hash_sql(f"r.{_ident(m['email'])}") if "email" in m else "NULL"
    phone = phone_hash_sql(f"r.{_ident(m['phone'])}", country_code) if "phone" in m else "NULL"
    if mapping.type != "track":
        event = f"'${mapping.type}'"
    elif "event" in m:
        event = _text(m["event"])
    else:
        event = "$event"
    revenue_raw = revenue = "NULL"
    if "revenue" in m and types[m["revenue"]].upper() in _NUMBERS:
        revenue = f"CAST(r.{_ident(m['revenue'])} AS DOUBLE)"  # a number: nothing to check
    elif "revenue" in m:
        revenue_raw = _text(m["revenue"])
        revenue = f"TRY_CAST({revenue_raw} AS DOUBLE)"
    if "message_id" in m:
        message_id, order = _text(m["message_id"]), ""
    else:  # content + occurrence: the same file imported twice gives the same ids
        # (``r`` is the row, unless the file has a column named r: kept, ids must not change)
        content = "md5(coalesce(CAST(to_json(r) AS VARCHAR), 'null'))"
        message_id = (f"'imp-' || left(sha256({content} || ':' || row_number() OVER "
                      f"(PARTITION BY {content} ORDER BY r.rowid)), 32)")
        order = "ORDER BY r.rowid"
    source_sql = _text(m["source"]) if "source" in m else "$source"
    row = ", ".join(f"{_ident(c)} := r.{_ident(c)}" for c in columns)
    channel = _text(m["channel"]) if "channel" in m else (
        "$channel" if mapping.channel is not None else "NULL")
    nulls = frozenset(name for name, value in (
        *ident.items(), ("email_hash", email), ("phone_hash", phone), ("revenue", revenue),
        ("channel", channel), ("properties", _json(mapping.property_columns(columns))),
        ("traits", _json(list(mapping.traits)))) if value == "NULL")
    sql = f"""
        CREATE OR REPLACE TEMP TABLE _prep AS
        WITH conv AS (
          SELECT {ts} AS timestamp,
            {message_id} AS message_id,
            {event} AS event,
            {ident['user_id']} AS user_id, {ident['anonymous_id']} AS anonymous_id,
            {email} AS email_hash, {phone} AS phone_hash,
            {revenue_raw} AS _revenue_raw, {revenue} AS revenue,
            {ident['currency']} AS currency, {ident['session_id']} AS session_id,
            {ident['utm_source']} AS utm_source, {ident['utm_medium']} AS utm_medium,
            {ident['utm_campaign']} AS utm_campaign, {ident['name']} AS name,
            {source_sql} AS source, {channel} AS channel,
            {_json(mapping.property_columns(columns))} AS properties,
            {_json(list(mapping.traits))} AS traits,
            r.{_ident(m['timestamp'])} AS _time_raw,
            struct_pack({row}) AS _row
          FROM {source} r
          {order}
        ), checked AS (
          SELECT c.*, nullif(concat_ws('; ',
            CASE WHEN c.message_id IS NULL THEN 'message_id: empty' END,
            CASE WHEN c._time_raw IS NULL THEN 'timestamp: empty'
                 WHEN c.timestamp IS NULL THEN 'timestamp: cannot read '
                   || to_json(CAST(c._time_raw AS VARCHAR))
                   || CASE WHEN $fmt IS NULL
                        THEN ' (for a layout such as 01/05/2024 give --time-format)' ELSE
                        ' with --time-format ' || $fmt END
                 WHEN c.timestamp > $latest THEN 'timestamp: more than a day in the future' END,
            CASE WHEN c.event IS NULL THEN 'event: empty' END,
            CASE WHEN c._revenue_raw IS NOT NULL AND c.revenue IS NULL
                 THEN 'revenue: ' || to_json(c._revenue_raw) || ' is not a number' END,
            CASE WHEN coalesce(c.user_id, c.anonymous_id, c.email_hash, c.phone_hash) IS NULL
                 THEN 'no identity: user_id, anonymous_id, email and phone are all empty or invalid'
            END
          ), '') AS _reason
          FROM conv c
        )
        SELECT * EXCLUDE (_row, _time_raw, _revenue_raw{"".join(", " + n for n in sorted(nulls))}),
          CASE WHEN _reason IS NOT NULL THEN CAST(to_json(_row) AS VARCHAR) END AS _raw
        FROM checked
        """
    try:
        cur.execute(sql, _used(sql, {
            "p": str(path), "tz": mapping.timezone, "fmt": mapping.time_format,
            "auto": AUTO_FORMATS, "event": mapping.event, "source": mapping.source or "import",
            "channel": mapping.channel, "latest": utcnow() + FUTURE_TOLERANCE}))
    except duckdb.Error as exc:
        raise ValidationError(f"cannot read {path.name}: {exc}", field="file") from exc
    return nulls


def _check_settings(cur: duckdb.DuckDBPyConnection, mapping: ImportMapping) -> None:
    try:
        cur.execute("SELECT CAST(timezone($tz, TIMESTAMP '2020-01-01') AS VARCHAR)",
                    {"tz": mapping.timezone})
        cur.fetchall()
    except duckdb.Error:
        raise ValidationError(
            f"unknown time zone {mapping.timezone!r}; use an IANA name such as "
            "'Asia/Jerusalem' or 'UTC'", field="timezone",
        ) from None
    if mapping.time_format:
        try:
            cur.execute("SELECT try_strptime('2020-01-01', $fmt)", {"fmt": mapping.time_format})
            cur.fetchall()
        except duckdb.Error as exc:
            raise ValidationError(
                f"not a valid strptime format: {exc}", field="time_format"
            ) from None


def _write_rejects(cur: duckdb.DuckDBPyConnection, target: Path, line: str, join: str) -> int:
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE _rejects AS "
        "SELECT line, reason, raw FROM _bad UNION ALL "
        f"SELECT {line}, p._reason, p._raw FROM _prep p {join} WHERE p._reason IS NOT NULL"
    )
    count = int(cur.execute("SELECT count(*) FROM _rejects").fetchall()[0][0])
    if count:
        target.parent.mkdir(parents=True, exist_ok=True)
        cur.sql("SELECT * FROM _rejects ORDER BY line").write_csv(str(target))
    return count


def _context_head(cur: duckdb.DuckDBPyConnection, file: str) -> str:
    """``{"import":{"file":<file>,"line":`` as DuckDB's json_object writes it (rows append
    their line and ``}}``: one concatenation instead of two JSON objects per row)."""
    inner = str(cur.execute("SELECT CAST(json_object('file', $f) AS VARCHAR)",
                            {"f": file}).fetchall()[0][0])
    return '{"import":' + inner[:-1] + ',"line":'


def import_file(
    store: DuckDBStore,
    path: str | Path,
    mapping: ImportMapping,
    *,
    rejects: str | Path | None = None,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file into ``store``; see the module documentation for the rules.

    The mapping is checked against the file before any row is written. Bad rows go to
    ``rejects`` (default: ``<file>.rejects.csv`` beside the file) with line and reason.
    """
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{path} does not exist or is not a file", field="file")
    fmt = detect_format(path, fmt)
    rejects_path = Path(rejects) if rejects else path.with_name(path.name + ".rejects.csv")
    with store.session() as cur:
        _check_settings(cur, mapping)
        types, source = _stage(cur, path, fmt, copy="message_id" not in mapping.columns)
        mapping.check(list(types))
        nulls = _prepare(cur, mapping, types, source, path,
                         mapping.country_code or store.settings.default_country_code)
        line, join = _line_numbers(cur, fmt)
        total, good = cur.execute(
            "SELECT count(*), count(*) FILTER (WHERE _reason IS NULL) FROM _prep"
        ).fetchall()[0]
        bad_lines = int(cur.execute("SELECT count(*) FROM _bad").fetchall()[0][0])
        rejected = _write_rejects(cur, rejects_path, line, join)
        computed = {**_COMPUTED, "context": f"$context || {line} || '}}}}'"}
        select = ", ".join(
            f"p.{c}" if c in _PREPARED and c not in nulls else f"{computed.get(c, 'NULL')} AS {c}"
            for c in NAMES
        )
        query = (f"SELECT {select}, p.rowid AS _pos FROM _prep p {join} "
                 "WHERE p._reason IS NULL")
        params = {"type": mapping.type, "now": utcnow(),
                  "context": _context_head(cur, path.name)}
        if progress:
            progress(0, total)
        stored = duplicates = 0
        if good:
            result = store.write_query(
                query, _used(query, params), good, chunk_rows=CHUNK_ROWS,
                progress=(lambda done: progress(min(done, total), total)) if progress else None,
            )
            stored, duplicates = result.stored, result.duplicates
        if progress:
            progress(total, total)
        _drop_staging(cur)
    seconds = time.perf_counter() - started
    summary = ImportSummary(
        file=str(path), rows_read=total + bad_lines, stored=stored, duplicates=duplicates,
        rejected=rejected, rejects_file=str(rejects_path) if rejected else None, seconds=seconds,
    )
    store.record_import(
        import_id=str(uuid.uuid4()), file=str(path), file_sha256=_sha256(path),
        source=mapping.source, rows_read=summary.rows_read, rows_stored=stored,
        rows_duplicate=duplicates, rows_rejected=rejected,
    )
    return summary


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
