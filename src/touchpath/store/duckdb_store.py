"""The embedded default store: one DuckDB file.

DuckDB lets one process open a file for writing and no other process open it at all, so the
process that opens the store owns it (normally the server); other processes go through its HTTP
API or through Parquet exports. Inside the process, one connection serialises writes; readers
get their own cursors and see only committed batches.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from touchpath.config import Settings
from touchpath.errors import NotFoundError, StorageError, StoreLockedError, ValidationError
from touchpath.identity.keys import email_hash, phone_hash
from touchpath.identity.resolve import Combo, KnownPerson, resolve
from touchpath.journey.channels import CLICK_IDS, classify
from touchpath.spec.columns import NAMES, conform
from touchpath.spec.timestamps import utcnow
from touchpath.store.base import EraseResult, WriteResult
from touchpath.store.schema import EXPORT_TABLES, LATEST_VERSION, MIGRATIONS, PERSON_COLUMNS

KEY_COLUMNS = ("k_user", "k_email", "k_phone", "k_anon", "k_prev")
CHANNEL_INPUTS = ("source", "utm_source", "utm_medium", "ref_host", "page_host", "click_id")
_CLICK_ID_PATTERN = r"[?&](" + "|".join(CLICK_IDS) + r")="
_HOST_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)"
_DROP_TEMP = "; ".join(f"DROP TABLE IF EXISTS {t}"
                       for t in ("_batch", "_combos", "_combo_person", "_final"))
_DROP_STAGED = "DROP VIEW IF EXISTS _batch; " + _DROP_TEMP.replace("_batch", "_batch_rows")
"""The temporary tables of a write; ``_DROP_STAGED`` when ``_batch`` is a view (not the
collector's writes)."""
_BATCH_INPUTS = {
    "channel": ("channel",), "source": ("source",), "utm_source": ("utm_source",),
    "utm_medium": ("utm_medium",), "k_user": ("user_id",), "k_email": ("email_hash",),
    "k_phone": ("phone_hash",), "k_anon": ("anonymous_id",), "k_prev": ("previous_id",),
    "ref_host": ("referrer",), "page_host": ("page_url",), "click_id": ("page_url",),
}
"""Columns of ``_batch`` and the incoming columns they are computed from (NULL when those are)."""
_STAGE_MODEL = "stage_model:"
"""``derived_state`` names ``stage_model:<key>`` the stage models kept in ``stage_changes``;
the value is when the model was last used."""
STAGE_MODELS_KEPT = 8
"""How many stage models ``stage_changes`` keeps (the most recently used)."""


def _open(path: Path, memory_limit: str = "") -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
        if memory_limit:  # validated by the settings
            con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        return con
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(
                f"{path} is in use by another process (usually a running 'touchpath serve'). "
                "Stop it, or send the work through its HTTP API. Detail: "
                + str(exc).splitlines()[0],
                field="store_path",
            ) from exc
        raise StorageError(f"cannot open {path}: {exc}", field="store_path") from exc


class DuckDBStore:
    """The event store in one DuckDB file (``settings.store_path``).

    >>> import tempfile, pathlib
    >>> from touchpath.config import load_settings
    >>> tmp = pathlib.Path(tempfile.mkdtemp()) / "t.duckdb"
    >>> with DuckDBStore(load_settings(env={}, store_path=tmp)) as store:
    ...     store.stats()["events"]
    0
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = Path(settings.store_path)
        self._lock = threading.RLock()
        self._con = _open(self.path, settings.duckdb_memory_limit)
        self._readers = threading.local()
        self._reader_cursors: list[duckdb.DuckDBPyConnection] = []
        self._generation = 0
        self._pruned_at: datetime | None = None
        # the collector's recent message ids in memory: exactly the rows of recent_message_ids
        # (loaded on the first collector write, changed only after a commit); ``_recent_log``
        # holds them by ``loaded_at``, oldest first, so pruning pops from the left. A dict of
        # str keys and None values and tuples of str are not tracked by Python's cycle
        # collector (a set always is): a million ids would otherwise be walked by every full
        # collection, which held the GIL for ~0.1 s each under the collector's load
        self._recent: dict[str, None] | None = None
        self._recent_log: deque[tuple[datetime, tuple[str, ...]]] = deque()
        self._stage_queries: dict[str, str] = {}  # model key -> SQL (see stored_stage_changes)
        self._migrate()

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._drop_readers()
            self._con.close()

    def _drop_readers(self) -> None:
        """Close every reader cursor (before the connection closes or the file is replaced)."""
        self._generation += 1
        for cursor in self._reader_cursors:
            cursor.close()
        self._reader_cursors.clear()

    def _reader(self) -> tuple[duckdb.DuckDBPyConnection, Any]:
        """This thread's read cursor and Ibis backend.

        DuckDB refuses concurrent calls on one connection, so each reading thread gets a cursor
        of its own: reads never wait for the writer and see only committed batches.
        """
        local = self._readers
        if getattr(local, "generation", None) != self._generation:
            with self._lock:
                cursor = self._con.cursor()
                self._reader_cursors.append(cursor)
                local.cursor = cursor
                local.ibis = ibis.duckdb.from_connection(cursor)
                local.generation = self._generation
        return local.cursor, local.ibis

    def _migrate(self) -> None:
        con = self._con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL, "
            "description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        current = int(_one(con, "SELECT coalesce(max(version), 0) FROM schema_migrations"))
        if current > LATEST_VERSION:
            raise StorageError(
                f"{self.path} has schema version {current}, newer than this touchpath "
                f"({LATEST_VERSION}); upgrade touchpath",
                field="store_path",
            )
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            con.begin()
            try:
                for statement in migration.statements:
                    con.execute(statement)
                con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    [migration.version, migration.description, utcnow()],
                )
                con.commit()
            except Exception:
                con.rollback()
                raise

    def check_writable(self) -> None:
        """Raise :class:`StorageError` unless a write transaction commits right now."""
        with self._lock:
            try:
                self._con.begin()
                self._con.execute("CREATE OR REPLACE TEMP TABLE _ready AS SELECT 1 AS ok")
                self._con.execute("DROP TABLE _ready")
                self._con.commit()
            except duckdb.Error as exc:
                raise StorageError(f"the store cannot be written: {exc}") from exc

    @property
    def schema_version(self) -> int:
        reader = self._reader()[0]
        return int(_one(reader, "SELECT coalesce(max(version), 0) FROM schema_migrations"))

    def table(self, name: str = "events") -> ir.Table:
        """An Ibis expression over one of the store's tables (bound to this thread's reader)."""
        return self._reader()[1].table(name)

    def sql(self, query: str, params: list[Any] | dict[str, Any] | None = None) -> pa.Table:
        """Run a read query with bound parameters on this thread's reader; returns Arrow."""
        return self._reader()[0].sql(query, params=params or None).to_arrow_table()

    # -- writing ----------------------------------------------------------------------------

    def write(self, incoming: pa.Table, *, recent_ids_since: datetime | None = None
              ) -> WriteResult:
        """Store a batch of touchpoints atomically: all of it or none of it.

        Messages whose ``message_id`` is already stored (or repeats in the batch) are skipped.
        With ``recent_ids_since`` (the collector) the ids are checked against the ids recently
        seen by the collector instead of every stored event — a set in memory that mirrors the
        table ``recent_message_ids``, so the cost follows the batch, not the store — and ids
        older than that time are pruned (from the table and the set, once a minute).
        """
        incoming = conform(incoming)
        if incoming.num_rows == 0:
            return WriteResult(0, 0, 0)
        _check_required(incoming)
        with self._lock:
            if recent_ids_since is not None:
                return self._write_recent(incoming, recent_ids_since)
            positions = pa.array(np.arange(incoming.num_rows, dtype=np.int64))
            self._con.register("_arrow_in", incoming.append_column("_pos", positions))
            try:
                return self._transaction("SELECT * FROM _arrow_in", {}, incoming.num_rows)
            finally:
                self._con.unregister("_arrow_in")

    def _recent_ids(self) -> dict[str, None]:
        """The ids of ``recent_message_ids`` as dict keys (read from the table on first use)."""
        if self._recent is None:
            self._recent_log.clear()
            for loaded_at, ids in self._con.execute(
                "SELECT loaded_at, list(message_id) FROM recent_message_ids "
                "GROUP BY loaded_at ORDER BY loaded_at"
            ).fetchall():
                self._recent_log.append((loaded_at, tuple(ids)))
            self._recent = dict.fromkeys(i for _, ids in self._recent_log for i in ids)
        return self._recent

    def _write_recent(self, incoming: pa.Table, since: datetime) -> WriteResult:
        """The collector's write: dedupe against the recent ids in memory, then store the new
        rows and their ids in one transaction; the set changes only once that committed."""
        recent = self._recent_ids()
        rows = incoming.num_rows
        fresh_ids: list[str] = []
        fresh_pos: list[int] = []
        batch_ids: set[str] = set()
        for pos, message_id in enumerate(incoming.column("message_id").to_pylist()):
            if message_id not in recent and message_id not in batch_ids:
                batch_ids.add(message_id)
                fresh_ids.append(message_id)
                fresh_pos.append(pos)
        if not fresh_ids:
            return WriteResult(rows, 0, rows)
        if len(fresh_pos) < rows:  # the first copy of a message repeated in the batch wins
            incoming = incoming.take(pa.array(fresh_pos, pa.int64()))
        now = utcnow()
        prune = self._pruned_at is None or (now - self._pruned_at).total_seconds() > 60
        positions = pa.array(np.arange(len(fresh_ids), dtype=np.int64))
        self._con.register("_arrow_in", incoming.append_column("_pos", positions))
        try:
            result = self._transaction("SELECT * FROM _arrow_in", {}, len(fresh_ids),
                                       (now, since if prune else None))
        except duckdb.ConstraintException:
            self._recent = None  # the set disagreed with the table: read it again next time
            raise
        finally:
            self._con.unregister("_arrow_in")
        recent.update(dict.fromkeys(fresh_ids))
        self._recent_log.append((now, tuple(fresh_ids)))
        if prune:
            log = self._recent_log
            while log and log[0][0] < since:
                for message_id in log.popleft()[1]:
                    recent.pop(message_id, None)
            self._pruned_at = now
        return WriteResult(rows, result.stored, rows - result.stored, result.merges)

    def write_query(self, query: str, params: dict[str, Any], rows: int, *,
                    chunk_rows: int | None = None,
                    progress: Callable[[int], None] | None = None) -> WriteResult:
        """Store the ``rows`` rows of a SELECT run on this store's connection (see
        :meth:`session`): the columns of ``spec.columns.INCOMING`` and a unique ``_pos``.

        File imports use it to hand staged rows over without a round trip through Arrow. The
        query runs more than once (a narrow pass for deduplication and identities, then the
        insert), so it should read staged tables. The whole write is one transaction; with
        ``chunk_rows`` the insert runs in ranges of ``_pos`` and ``progress`` gets the end of
        each range.
        """
        with self._lock:
            return self._transaction(query, params, rows, chunk_rows=chunk_rows,
                                     progress=progress)

    @contextmanager
    def session(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The store's own connection, held for a unit of work (staging tables of an import
        live here so that :meth:`write_query` can read them)."""
        with self._lock:
            yield self._con

    def _transaction(self, query: str, params: dict[str, Any], rows: int,
                     recent_ids: tuple[datetime, datetime | None] | None = None, *,
                     chunk_rows: int | None = None,
                     progress: Callable[[int], None] | None = None) -> WriteResult:
        con = self._con
        drop = _DROP_TEMP if recent_ids is not None else _DROP_STAGED
        con.begin()
        try:
            result = self._write(con, query, params, rows, recent_ids, chunk_rows, progress)
            con.execute(drop)  # in the transaction: no commit of its own
            con.commit()
        except Exception:
            con.rollback()
            con.execute(drop)
            raise
        finally:
            for view in ("_channels", "_remap"):
                con.unregister(view)
        return result

    def _write(self, con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any],
               rows: int, recent_ids: tuple[datetime, datetime | None] | None,
               chunk_rows: int | None = None,
               progress: Callable[[int], None] | None = None) -> WriteResult:
        """Dedupe, stitch, classify and insert one batch (inside the caller's transaction).

        ``_batch`` holds what deduplication, stitching and classification need of the new
        rows (their ``_pos``, identity keys and channel inputs), not the rows themselves: the
        insert reads the incoming rows again and joins them on ``_pos`` with their person and
        channel. With ``recent_ids`` (loaded_at, prune before) the caller has deduplicated the
        rows already (the collector): their ids go into ``recent_message_ids`` instead.
        Otherwise ``_batch`` is a view of ``_batch_rows``, which leaves out the columns whose
        inputs are NULL on every row (typed NULL in the query: the columns a file's mapping
        leaves out): a column of NULLs costs as much to write as any other.
        """
        settings = self.settings
        email_on = "email" in settings.identity_match_keys
        phone_on = "phone" in settings.identity_match_keys
        blocked = [value.strip().lower() for value in settings.identity_blocked_values]
        # an id is usable for stitching unless blank or a blocked placeholder
        usable = ("(trim({c}, ' \t\r\n') <> '' AND "
                  "NOT list_contains($blocked, lower(trim({c}, ' \t\r\n'))))")
        seen = "ANTI JOIN events e ON e.message_id = i.message_id"
        if recent_ids is not None:
            self._remember_ids(con, query, params, *recent_ids)
            seen = ""
        computed = {
            "_pos": "i._pos", "message_id": "i.message_id", "timestamp": "i.timestamp",
            "channel": "i.channel", "source": "i.source", "utm_source": "i.utm_source",
            "utm_medium": "i.utm_medium",
            "k_user": f"CASE WHEN {usable.format(c='i.user_id')} THEN 'user:' || i.user_id END",
            "k_email": f"""CASE WHEN {email_on} AND i.email_hash IS NOT NULL
                               THEN 'email:' || i.email_hash END""",
            "k_phone": f"""CASE WHEN {phone_on} AND i.phone_hash IS NOT NULL
                               THEN 'phone:' || i.phone_hash END""",
            "k_anon": f"""CASE WHEN {usable.format(c='i.anonymous_id')}
                              THEN 'anon:' || i.anonymous_id END""",
            "k_prev": f"""CASE WHEN i.type = 'alias' AND {usable.format(c='i.previous_id')}
                              THEN 'prev:' || i.previous_id END""",
            "ref_host": "nullif(regexp_extract(i.referrer, $host, 1), '')",
            "page_host": "nullif(regexp_extract(i.page_url, $host, 1), '')",
            "click_id": "nullif(regexp_extract(i.page_url, $click, 1), '')",
        }
        rows_table, null = "_batch", set()
        if recent_ids is None:
            types = {r[0]: str(r[1]).strip('"') for r in con.execute(
                f"DESCRIBE SELECT * FROM ({query})", params).fetchall()}
            null = {c for c, inputs in _BATCH_INPUTS.items()
                    if all(types.get(i) == "NULL" for i in inputs)}
            rows_table = "_batch_rows"
        select = ",\n".join(f"{sql} AS {c}" for c, sql in computed.items() if c not in null)
        batch_sql = f"""
            CREATE OR REPLACE TEMP TABLE {rows_table} AS
            WITH _incoming AS ({query})
            SELECT {select}
            FROM _incoming i {seen}
            """
        con.execute(batch_sql, _used_params(batch_sql, {
            **params, "blocked": blocked, "host": _HOST_PATTERN, "click": _CLICK_ID_PATTERN}))
        if rows_table != "_batch":
            con.execute("CREATE OR REPLACE TEMP VIEW _batch AS SELECT *"
                        + "".join(f", CAST(NULL AS VARCHAR) AS {c}" for c in sorted(null))
                        + " FROM _batch_rows")
        if recent_ids is not None:  # deduplicated by the caller; _pos is 0 .. rows - 1
            total, fresh, low, high = rows, rows, 0, rows - 1
        else:
            # distinct hashes of the ids prove the ids distinct (grouping 64-bit hashes is
            # cheaper than grouping strings); only when two hashes repeat are the ids counted
            total, fresh, low, high = con.execute(
                "SELECT count(*), count(DISTINCT hash(message_id)), min(_pos), max(_pos) "
                "FROM _batch"
            ).fetchall()[0]
            if fresh < total:
                fresh = _one(con, "SELECT count(DISTINCT message_id) FROM _batch")
        if fresh < total:  # the same message twice in one batch: keep its first copy
            con.execute(
                f"DELETE FROM {rows_table} WHERE _pos NOT IN "
                f"(SELECT min(_pos) FROM {rows_table} GROUP BY message_id)"
            )
        duplicates = rows - fresh
        if fresh == 0:
            return WriteResult(rows, 0, duplicates)

        merges = self._stitch(con)
        channels = self._classify(con)
        # (a column NULL on every row of _batch is NULL in every combination too)
        join_keys = " AND ".join(
            f"b.{k} IS NOT DISTINCT FROM cp.{k}" for k in KEY_COLUMNS if k not in null
        ) or "false"
        join_channel = " AND ".join(
            f"b.{c} IS NOT DISTINCT FROM ch.{c}" for c in CHANNEL_INPUTS if c not in null
        ) or "true"
        channel = "ch.channel"
        channel_join = f"LEFT JOIN _channels ch ON b.channel IS NULL AND {join_channel}"
        if recent_ids is None and len(channels) <= 1:
            # one combination of channel inputs among the rows without a channel (a file of
            # one source without campaign columns: most imports): its channel, no join
            channel, channel_join = (_quote(channels[0]) if channels else "NULL"), ""
        final = f"""
            SELECT b._pos,
              CASE WHEN cp.person_id IS NULL
                   THEN 'p_' || left(sha256('msg:' || b.message_id), 16)
                   ELSE cp.person_id END AS person_id,
              coalesce(b.channel, {channel}, 'direct') AS channel
            FROM _batch b
            LEFT JOIN _combo_person cp ON {join_keys}
            {channel_join}
        """
        columns = ", ".join(f"i.{c}" for c in NAMES if c not in ("channel", "event"))

        def insert(person_channel: str, where: str = "") -> str:
            return f"""
                INSERT INTO events BY NAME
                SELECT {columns},
                  coalesce(i.event, '$' || i.type) AS event, f.person_id, f.channel,
                  $loaded_now AS loaded_at
                FROM ({query}) i JOIN ({person_channel}) f ON f._pos = i._pos {where}
                """

        values = {**params, "loaded_now": utcnow()}
        if recent_ids is not None:
            # the collector's rows are _pos 0 .. rows - 1 in order, every one of them in
            # _batch: a positional join, not a hash join on _pos (the guard fails the write,
            # should the two sides ever disagree)
            con.execute(
                f"""
                INSERT INTO events BY NAME
                SELECT {columns},
                  coalesce(i.event, '$' || i.type) AS event,
                  CASE WHEN f._pos = i._pos THEN f.person_id
                       ELSE error('collector write: rows out of order') END AS person_id,
                  f.channel, $loaded_now AS loaded_at
                FROM ({query}) i POSITIONAL JOIN ({final} ORDER BY b._pos) f
                """,
                values,
            )
        elif chunk_rows is None or high - low < chunk_rows:
            con.execute(insert(final), values)
        else:
            # person and channel once for the whole batch (a join per chunk would build the
            # hash table of every key combination again), then the insert range by range (a
            # hash join on _pos: a positional join would pair them without one, but DuckDB runs
            # it on one thread, which measured slower in wall time on two free cores)
            con.execute(f"CREATE OR REPLACE TEMP TABLE _final AS {final}")
            for start in range(low, high + 1, chunk_rows):
                stop = start + chunk_rows
                con.execute(insert("SELECT * FROM _final WHERE _pos >= $lo AND _pos < $hi",
                                   "WHERE i._pos >= $lo AND i._pos < $hi"),
                            {**values, "lo": start, "hi": stop})
                if progress:
                    progress(stop)
        return WriteResult(rows, fresh, duplicates, merges)

    def _remember_ids(self, con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any],
                      now: datetime, prune_before: datetime | None) -> None:
        """Store the (new, deduplicated) ids of the batch in ``recent_message_ids``; with
        ``prune_before``, delete the older ones (the caller prunes its set alike on commit)."""
        con.execute(f"INSERT INTO recent_message_ids SELECT message_id, $now FROM ({query})",
                    {**params, "now": now})
        if prune_before is not None:
            con.execute("DELETE FROM recent_message_ids WHERE loaded_at < $since",
                        {"since": prune_before})

    def _classify(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """Register ``_channels``, the channel of every combination of channel inputs among
        the rows of ``_batch`` without one; return those channels."""
        inputs = ", ".join(CHANNEL_INPUTS)
        combos = con.sql(
            f"SELECT DISTINCT {inputs} FROM _batch WHERE channel IS NULL"
        ).to_arrow_table()
        data = combos.to_pydict()
        channels = [
            classify(*values) for values in zip(*(data[c] for c in CHANNEL_INPUTS), strict=True)
        ]
        con.register("_channels", combos.append_column("channel", pa.array(channels, pa.string())))
        return channels

    def _stitch(self, con: duckdb.DuckDBPyConnection) -> int:
        """Resolve every key combination of ``_batch`` to a person; return the merge count.

        A combination of one key that no other combination of the batch shares (most rows of
        most imports: a store receipt with an e-mail, a visitor who never signs up) needs no
        graph: its person is the key's stored person, or a new person named after the key,
        computed in SQL. Only combinations that link keys go through :func:`resolve`.
        """
        keys = ", ".join(KEY_COLUMNS)
        first_key = "coalesce(k_user, k_email, k_phone, k_anon)"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _combos AS
            SELECT {keys}, min(timestamp) AS first_seen, min(message_id) AS message_id,
              k_prev IS NULL AND (k_user IS NOT NULL)::INT + (k_email IS NOT NULL)::INT
                + (k_phone IS NOT NULL)::INT + (k_anon IS NOT NULL)::INT = 1 AS lone
            FROM _batch WHERE coalesce({keys}) IS NOT NULL GROUP BY ALL
            """
        )
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _combo_person AS
            WITH linked AS (
              SELECT DISTINCT unnest([k_user, k_email, k_phone, k_anon,
                                      'user:' || k_prev[6:], 'anon:' || k_prev[6:]]) AS key
              FROM _combos WHERE NOT lone
            )
            SELECT c.*, {first_key} AS key, i.person_id AS known,
              coalesce(i.person_id, 'p_' || left(sha256({first_key}), 16)) AS person_id
            FROM _combos c
            LEFT JOIN identities i ON i.key = {first_key}
            WHERE c.lone AND {first_key} NOT IN (SELECT key FROM linked WHERE key IS NOT NULL)
            """
        )
        con.execute(
            """
            INSERT INTO identities
            SELECT key, split_part(key, ':', 1), key[strpos(key, ':') + 1:], person_id,
                   first_seen
            FROM _combo_person WHERE known IS NULL
            """
        )
        table = con.sql(
            f"SELECT {keys}, first_seen, message_id FROM _combos c "
            f"WHERE NOT EXISTS (SELECT 1 FROM _combo_person s WHERE "
            + " AND ".join(f"s.{k} IS NOT DISTINCT FROM c.{k}" for k in KEY_COLUMNS)
            + ")"
        ).to_arrow_table()
        if table.num_rows == 0:
            return 0
        return self._resolve_linked(con, table)

    def _resolve_linked(self, con: duckdb.DuckDBPyConnection, table: pa.Table) -> int:
        """Run the merge rules over the combinations that link keys, and persist the result."""
        columns = [table.column(k).to_pylist() for k in KEY_COLUMNS]
        combos = [
            Combo(tuple(k for k in keyset if k is not None), seen, message_id)
            for *keyset, seen, message_id in zip(
                *columns, table.column("first_seen").to_pylist(),
                table.column("message_id").to_pylist(), strict=True,
            )
        ]
        con.register("_linked_combos", table)
        known = con.execute(
            """
            SELECT i.key, i.person_id FROM identities i
            SEMI JOIN (
              SELECT unnest([k_user, k_email, k_phone, k_anon,
                             'user:' || k_prev[6:], 'anon:' || k_prev[6:]]) AS key
              FROM _linked_combos
            ) b ON i.key = b.key
            """
        ).fetchall()
        con.unregister("_linked_combos")
        known_keys = dict(known)
        persons = sorted(set(known_keys.values()))
        known_persons: dict[str, KnownPerson] = {}
        if persons:
            for person, first_seen, users in con.execute(
                """
                SELECT person_id, min(first_seen),
                       list(key) FILTER (WHERE kind = 'user')
                FROM identities WHERE person_id IN (SELECT unnest($persons))
                GROUP BY person_id
                """,
                {"persons": persons},
            ).fetchall():
                known_persons[person] = KnownPerson(first_seen, frozenset(users or ()))
        resolution = resolve(combos, known_keys, known_persons, self.settings.identity_max_user_ids)

        resolved = table.select(list(KEY_COLUMNS)).append_column(
            "person_id", pa.array(resolution.person_of_combo, pa.string())
        )
        con.register("_resolved", resolved)
        con.execute("INSERT INTO _combo_person BY NAME SELECT * FROM _resolved")
        con.unregister("_resolved")
        if resolution.new_identities:
            key, kind, value, person, seen = zip(*resolution.new_identities, strict=True)
            new = pa.table({"key": key, "kind": kind, "value": value, "person_id": person,
                            "first_seen": pa.array(seen, pa.timestamp("us"))})
            con.register("_new_identities", new)
            con.execute("INSERT INTO identities SELECT * FROM _new_identities")
            con.unregister("_new_identities")
        if resolution.remap:
            remap = pa.table({"merged": list(resolution.remap),
                              "kept": list(resolution.remap.values())})
            con.register("_remap", remap)
            # _combo_person: a row of this batch resolved by the SQL fast path to a person
            # that this batch merges away must follow the merge
            for table_name in ("identities", "events", "survey_cases", "stage_changes",
                               "sessions", "_combo_person"):
                con.execute(
                    f"UPDATE {table_name} SET person_id = r.kept FROM _remap r "
                    f"WHERE {table_name}.person_id = r.merged"
                )
        if resolution.log:
            now = utcnow()
            log = pa.table({
                "recorded_at": pa.array([now] * len(resolution.log), pa.timestamp("us")),
                "event_time": pa.array([r.event_time for r in resolution.log],
                                       pa.timestamp("us")),
                "outcome": [r.outcome for r in resolution.log],
                "kept_person": [r.kept_person for r in resolution.log],
                "merged_person": [r.merged_person for r in resolution.log],
                "key_a": [r.key_a for r in resolution.log],
                "key_b": [r.key_b for r in resolution.log],
                "message_id": [r.message_id for r in resolution.log],
                "reason": [r.reason for r in resolution.log],
            })
            con.register("_log", log)
            con.execute("INSERT INTO identity_merges BY NAME SELECT * FROM _log")
            con.unregister("_log")
        return sum(1 for r in resolution.log if r.outcome == "merged")

    # -- derived columns ------------------------------------------------------------------

    @property
    def timezone(self) -> str:
        """Where the analyses' calendar days begin (setting ``timezone``)."""
        return self.settings.timezone

    @property
    def session_timeout_seconds(self) -> int:
        """The timeout the stored ``session_index`` follows (setting session_timeout_minutes)."""
        return self.settings.session_timeout_minutes * 60

    def refresh_sessions(self) -> int:
        """Bring ``events.session_index``, the table ``sessions`` and the stored stage changes
        up to date; returns the number of events renumbered.

        Writes leave ``session_index`` NULL on new events; the people who have such an event
        (which includes everyone an identity merge touched: the merging event is new) get all
        their events renumbered, in one statement, and their rows of ``sessions`` (one per
        session: start, end, events, the channel of its first event) written again. A
        changed timeout setting renumbers everyone. Analyses call this before they read
        sessions, so the cost is paid once per batch of new events, not once per query. The
        same NULLs mark whose stage changes are stale (see :meth:`stored_stage_changes`):
        all are brought up to date in one transaction.
        """
        timeout = self.session_timeout_seconds
        with self._lock:
            con = self._con
            con.begin()
            try:
                stored = con.execute(
                    "SELECT value FROM derived_state WHERE name = 'session_timeout_seconds'"
                ).fetchall()
                everyone = not stored or int(stored[0][0]) != timeout
                # (a temporary table created in the transaction goes with it on a rollback)
                con.execute("CREATE OR REPLACE TEMP TABLE _changed_persons AS "
                            "SELECT DISTINCT person_id FROM events" + (
                                "" if everyone else " WHERE session_index IS NULL"))
                changed = 0
                if everyone or _one(con, "SELECT count(*) FROM _changed_persons"):
                    self._refresh_stage_changes(con)
                    changed = self._renumber_sessions(con, timeout, everyone)
                if everyone:
                    con.execute("INSERT OR REPLACE INTO derived_state VALUES "
                                "('session_timeout_seconds', $timeout)",
                                {"timeout": str(timeout)})
                con.execute("DROP TABLE _changed_persons")
                con.commit()
            except Exception:
                con.rollback()
                raise
        return changed

    @staticmethod
    def _renumber_sessions(con: duckdb.DuckDBPyConnection, timeout: int, everyone: bool
                           ) -> int:
        """Number the sessions of the people in ``_changed_persons`` (all when ``everyone``)
        and write their rows of ``sessions``; returns the number of events renumbered."""
        people = "events" if everyone else "events SEMI JOIN _changed_persons USING (person_id)"
        changed = con.execute(
            f"""
            UPDATE events SET session_index = s.n FROM (
              SELECT person_id, message_id,
                sum(starts) OVER (PARTITION BY person_id ORDER BY timestamp, message_id
                                  ROWS UNBOUNDED PRECEDING)::INTEGER AS n
              FROM (
                SELECT person_id, message_id, timestamp,
                  CASE WHEN lag(timestamp) OVER w IS NULL
                         OR timestamp > lag(timestamp) OVER w + to_seconds($timeout)
                       THEN 1 ELSE 0 END AS starts
                FROM {people}
                WINDOW w AS (PARTITION BY person_id ORDER BY timestamp, message_id)
              )
            ) s
            WHERE events.person_id = s.person_id AND events.message_id = s.message_id
              AND events.session_index IS DISTINCT FROM s.n
            """,
            {"timeout": timeout},
        ).fetchall()[0][0]
        con.execute("DELETE FROM sessions" if everyone else
                    "DELETE FROM sessions WHERE person_id IN "
                    "(SELECT person_id FROM _changed_persons)")
        con.execute(
            f"""
            INSERT INTO sessions
            SELECT person_id, session_index, min(timestamp), max(timestamp), count(*),
                   first(channel ORDER BY timestamp, message_id)
            FROM {people} GROUP BY person_id, session_index
            """)
        return int(changed)

    def stored_sessions(self) -> ir.Table:
        """One row per session of the stored session numbers (setting
        ``session_timeout_minutes``), brought up to date: ``person_id``, ``session_index``,
        ``started``, ``ended``, ``events`` and ``entry_channel`` (of the first event)."""
        self.refresh_sessions()
        return self.table("sessions")

    def stored_stage_changes(self, model_key: str, query: str) -> ir.Table:
        """The stored stage changes of one stage model, brought up to date: the columns of
        :func:`touchpath.analytics.stages.stage_changes`, as it computes them over all events.

        ``query`` is the SQL that computes them for the people in the table
        ``_changed_persons`` (``person_id``); ``model_key`` names the model and the code that
        wrote the query. A model used for the first time is computed for everyone; after
        that, :meth:`refresh_sessions` recomputes the people with new events (the events
        whose ``session_index`` is NULL), so a query costs the new events, not the store.
        A model whose query this process does not know is dropped at the first refresh that
        has new events (and computed again at its next use). At most
        :data:`STAGE_MODELS_KEPT` models are kept, the least recently used goes first.
        """
        with self._lock:
            self._stage_queries[model_key] = query
            self.refresh_sessions()
            con = self._con
            con.begin()
            try:
                name = _STAGE_MODEL + model_key
                known = con.execute("SELECT 1 FROM derived_state WHERE name = $n",
                                    {"n": name}).fetchall()
                if not known:
                    con.execute("CREATE OR REPLACE TEMP TABLE _changed_persons AS "
                                "SELECT DISTINCT person_id FROM events")
                    self._insert_stage_changes(con, model_key, query)
                    con.execute("DROP TABLE _changed_persons")
                con.execute("INSERT OR REPLACE INTO derived_state VALUES ($n, $used)",
                            {"n": name, "used": utcnow().isoformat(timespec="microseconds")})
                con.execute(
                    """
                    DELETE FROM stage_changes WHERE model_key IN (
                      SELECT substr(name, $from) FROM derived_state
                      WHERE starts_with(name, $prefix)
                      ORDER BY value DESC OFFSET $kept)
                    """, {"from": len(_STAGE_MODEL) + 1, "prefix": _STAGE_MODEL,
                          "kept": STAGE_MODELS_KEPT})
                con.execute(
                    """
                    DELETE FROM derived_state WHERE name IN (
                      SELECT name FROM derived_state WHERE starts_with(name, $prefix)
                      ORDER BY value DESC OFFSET $kept)
                    """, {"prefix": _STAGE_MODEL, "kept": STAGE_MODELS_KEPT})
                kept = {str(r[0])[len(_STAGE_MODEL):] for r in con.execute(
                    "SELECT name FROM derived_state WHERE starts_with(name, $p)",
                    {"p": _STAGE_MODEL}).fetchall()}
                con.commit()
                self._stage_queries = {k: q for k, q in self._stage_queries.items()
                                       if k in kept}
            except Exception:
                con.rollback()
                raise
        changes = self.table("stage_changes")
        return changes.filter(changes.model_key == model_key).select(
            "person_id", "timestamp", "message_id", _pos=changes.pos,
            stage=changes.stage.cast("int64"), from_stage=changes.from_stage.cast("int64"),
            next_at=changes.next_at, furthest=changes.furthest.cast("int64"),
            first_entry=changes.first_entry, first_move=changes.first_move, took=changes.took)

    def _refresh_stage_changes(self, con: duckdb.DuckDBPyConnection) -> None:
        """Recompute, in the caller's transaction, the stored stage changes of the people in
        ``_changed_persons`` (see :meth:`stored_stage_changes`)."""
        models = [str(r[0])[len(_STAGE_MODEL):] for r in con.execute(
            "SELECT name FROM derived_state WHERE starts_with(name, $p)",
            {"p": _STAGE_MODEL}).fetchall()]
        for key in models:
            query = self._stage_queries.get(key)
            if query is None:
                con.execute("DELETE FROM stage_changes WHERE model_key = $k", {"k": key})
                con.execute("DELETE FROM derived_state WHERE name = $n",
                            {"n": _STAGE_MODEL + key})
                continue
            con.execute("DELETE FROM stage_changes WHERE model_key = $k AND person_id IN "
                        "(SELECT person_id FROM _changed_persons)", {"k": key})
            self._insert_stage_changes(con, key, query)

    @staticmethod
    def _insert_stage_changes(con: duckdb.DuckDBPyConnection, key: str, query: str) -> None:
        con.execute(
            "INSERT INTO stage_changes SELECT $k, person_id, timestamp, message_id, _pos, "
            f"stage, from_stage, next_at, furthest, first_entry, first_move, took FROM ({query})",
            {"k": key})

    def record_import(self, **row: Any) -> None:
        """Log a finished file import (shown by ``stats`` and the dashboard's data page)."""
        with self._lock:
            self._con.execute(
                "INSERT INTO imports BY NAME SELECT $import_id AS import_id, $now AS started_at, "
                "$file AS file, $file_sha256 AS file_sha256, $source AS source, "
                "$rows_read AS rows_read, $rows_stored AS rows_stored, "
                "$rows_duplicate AS rows_duplicate, $rows_rejected AS rows_rejected",
                {**row, "now": utcnow()},
            )

    # -- identities -------------------------------------------------------------------------

    def _match_keys(self, identity: str) -> list[str]:
        """Identity keys an e-mail or a phone number stands for."""
        keys = []
        mail = email_hash(identity)
        if mail:
            keys.append(f"email:{mail}")
        phone = phone_hash(identity, self.settings.default_country_code)
        if phone and not identity.strip().isalpha():
            keys.append(f"phone:{phone}")
        return keys

    def find_persons(self, identity: str) -> list[str]:
        """Persons an identity names.

        ``identity`` is a person id, a user id or an anonymous id (an exact match wins), else an
        e-mail or a phone number. A prefix says which: ``user:``, ``anon:``, ``email:``,
        ``phone:``, ``person:``. The exact match comes first so that erasing the user id
        ``5551234567`` cannot reach a stranger whose phone has those digits.
        """
        kind, _, value = identity.partition(":")
        explicit = kind in ("user", "anon", "email", "phone", "person") and value
        exact: list[str]
        fallback: list[str]
        if explicit and kind in ("user", "anon"):
            exact, fallback = [identity], []
        elif explicit and kind == "person":
            exact, fallback, identity = [], [], value
        elif explicit:
            exact, fallback = [], self._match_keys(value)
        else:
            exact, fallback = [f"user:{identity}", f"anon:{identity}"], self._match_keys(identity)
        reader = self._reader()[0]
        for keys in (exact, fallback):
            rows = reader.execute(
                "SELECT DISTINCT person_id FROM identities WHERE key IN (SELECT unnest($keys)) "
                "UNION SELECT DISTINCT person_id FROM events WHERE person_id = $identity "
                "ORDER BY 1",
                {"keys": keys, "identity": identity},
            ).fetchall()
            if rows:
                return [r[0] for r in rows]
        return []

    def explain(self, identity: str) -> dict[str, Any]:
        """Why an identity belongs to its person: the person's keys, merges and refusals."""
        persons = self.find_persons(identity)
        if not persons:
            raise NotFoundError(f"no person has the identity {identity!r}", field="identity")
        reader = self._reader()[0]
        out = []
        for person in persons:
            keys = reader.execute(
                "SELECT kind, value, first_seen FROM identities WHERE person_id = ? "
                "ORDER BY first_seen, kind, value",
                [person],
            ).fetchall()
            log = reader.execute(
                "SELECT event_time, outcome, kept_person, merged_person, key_a, key_b, "
                "message_id, reason FROM identity_merges "
                "WHERE kept_person = ? OR merged_person = ? ORDER BY event_time, recorded_at",
                [person, person],
            ).fetchall()
            count = reader.execute(
                "SELECT count(*), min(timestamp), max(timestamp), list(DISTINCT channel) "
                "FROM events WHERE person_id = ?",
                [person],
            ).fetchall()[0]
            out.append({
                "person_id": person,
                "identities": [
                    {"kind": k, "value": v, "first_seen": s.isoformat()} for k, v, s in keys
                ],
                "events": count[0],
                "first_event": count[1].isoformat() if count[1] else None,
                "last_event": count[2].isoformat() if count[2] else None,
                "channels": sorted(count[3] or []),
                "merges": [
                    {"at": t.isoformat(), "outcome": o, "kept": k, "merged": m,
                     "keys": [a, b], "message_id": mid, "reason": why}
                    for t, o, k, m, a, b, mid, why in log
                ],
            })
        return {"identity": identity, "persons": out}

    # -- privacy ----------------------------------------------------------------------------

    def erase(self, identity: str, *, compact: bool = True) -> EraseResult:
        """Remove every row of the persons an identity names, from every table.

        With ``compact`` (the default) the file is then rewritten, because DuckDB keeps deleted
        rows' bytes in freed blocks until they are reused.
        """
        persons = self.find_persons(identity)
        if not persons:
            raise NotFoundError(f"no person has the identity {identity!r}", field="identity")
        deleted: dict[str, int] = {}
        with self._lock:
            con = self._con
            con.begin()
            try:
                for table_name, columns in PERSON_COLUMNS.items():
                    where = " OR ".join(f"{c} IN (SELECT unnest($p))" for c in columns)
                    row = con.execute(
                        f"DELETE FROM {table_name} WHERE {where} RETURNING 1", {"p": persons}
                    ).fetchall()
                    deleted[table_name] = len(row)
                con.commit()
            except Exception:
                con.rollback()
                raise
            if compact:
                self.compact()
        return EraseResult(tuple(persons), deleted)

    def compact(self) -> None:
        """Rewrite the file so no freed block keeps old bytes (and space is reclaimed)."""
        with self._lock:
            tmp = self.path.with_name(self.path.name + ".compact")
            for stale in (tmp, Path(str(tmp) + ".wal")):
                stale.unlink(missing_ok=True)
            database = _one(self._con, "SELECT current_database()")
            self._con.execute(f"ATTACH {_quote(str(tmp))} AS _compact")
            self._con.execute(f'COPY FROM DATABASE "{database}" TO _compact')
            self._con.execute("DETACH _compact")
            self._drop_readers()
            self._con.close()
            os.replace(tmp, self.path)
            self._con = _open(self.path, self.settings.duckdb_memory_limit)

    # -- parquet ----------------------------------------------------------------------------

    def export_parquet(self, directory: Path) -> dict[str, int]:
        """Write every table as Parquet under ``directory``: ``events/date=YYYY-MM-DD/*.parquet``
        (readable by Spark and any lakehouse tool) and one file per other table, plus
        ``manifest.json`` (schema version and row counts)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        with self._lock:
            con = self._con
            events_dir = directory / "events"
            if events_dir.exists() and any(events_dir.iterdir()):
                raise ValidationError(
                    f"{events_dir} is not empty; export into a new directory", field="directory"
                )
            counts["events"] = self._count("events")
            if counts["events"]:
                con.sql("SELECT *, CAST(timestamp AS DATE) AS date FROM events").write_parquet(
                    str(events_dir), partition_by=["date"], compression="zstd"
                )
            else:
                events_dir.mkdir(exist_ok=True)
            for table_name in EXPORT_TABLES:
                if table_name == "events":
                    continue
                con.table(table_name).write_parquet(
                    str(directory / f"{table_name}.parquet"), compression="zstd"
                )
                counts[table_name] = self._count(table_name)
        manifest = {
            "format": "touchpath-export",
            "schema_version": self.schema_version,
            "exported_at": utcnow().isoformat(),
            "rows": counts,
        }
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return counts

    def roll_parquet(self, directory: Path) -> int:
        """Append the events committed since the last roll to a Parquet lake under
        ``directory``: ``events/date=YYYY-MM-DD/<uuid>.parquet``, the layout of
        :meth:`export_parquet`, so Spark and lakehouse tools read both alike. Returns the
        number of events written. Events are written as they were at the roll: a later identity
        merge re-labels ``person_id`` in the store, not in files already rolled (a full
        ``export`` does)."""
        directory = Path(directory)
        events_dir = directory / "events"
        with self._lock:
            con = self._con
            row = con.execute("SELECT value FROM derived_state WHERE name = 'lake_rolled_until'"
                              ).fetchone()
            since = datetime.fromisoformat(row[0]) if row else datetime(1970, 1, 1)
            until = con.execute("SELECT max(loaded_at) FROM events").fetchall()[0][0]
            if until is None or until <= since:
                return 0
            params = {"since": since, "until": until}
            window = "FROM events WHERE loaded_at > $since AND loaded_at <= $until"
            rows = con.execute(f"SELECT count(*) {window}", params).fetchall()[0][0]
            events_dir.mkdir(parents=True, exist_ok=True)
            con.sql(f"SELECT *, CAST(timestamp AS DATE) AS date {window}", params=params
                    ).write_parquet(str(events_dir), partition_by=["date"], append=True,
                                    compression="zstd")
            con.execute("INSERT OR REPLACE INTO derived_state VALUES ('lake_rolled_until', ?)",
                        [until.isoformat()])
        manifest = {"format": "touchpath-lake", "schema_version": self.schema_version,
                    "rolled_until": until.isoformat(), "rolled_at": utcnow().isoformat()}
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return int(rows)

    def import_parquet(self, directory: Path) -> dict[str, int]:
        """Load an export. Into an empty store the tables are restored exactly; into a store
        that has events, the events go through :meth:`write` (deduplicated, stitched again)."""
        directory = Path(directory)
        manifest_path = directory / "manifest.json"
        if not manifest_path.exists():
            raise ValidationError(
                f"{directory} has no manifest.json; is it a 'touchpath export' directory?",
                field="directory",
            )
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("schema_version", 0) > LATEST_VERSION:
            raise ValidationError(
                f"export has schema version {manifest['schema_version']}, newer than this "
                "touchpath; upgrade touchpath", field="directory",
            )
        files = sorted(str(p) for p in (directory / "events").rglob("*.parquet"))
        with self._lock:
            con = self._con
            events = (
                con.read_parquet(files, hive_partitioning=True).to_arrow_table()
                if files else None
            )
            if self._count("events") == 0 and self._count("identities") == 0:
                con.begin()
                try:
                    if events is not None:
                        events = events.drop_columns(["date"])
                        con.register("_events_in", events)
                        con.execute("INSERT INTO events BY NAME SELECT * FROM _events_in")
                        con.unregister("_events_in")
                    # what is derived from the events: computed again (sessions at the
                    # next refresh, a stage model at its next use)
                    con.execute("DELETE FROM stage_changes")
                    con.execute("DELETE FROM derived_state WHERE starts_with(name, $p) "
                                "OR name = 'session_timeout_seconds'", {"p": _STAGE_MODEL})
                    for table_name in EXPORT_TABLES[1:]:
                        path = directory / f"{table_name}.parquet"
                        if path.exists():
                            con.register("_in", con.read_parquet(str(path)).to_arrow_table())
                            con.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM _in")
                            con.unregister("_in")
                    con.commit()
                except Exception:
                    con.rollback()
                    raise
                return {t: self._count(t) for t in EXPORT_TABLES}
        if events is None:
            return {"events": 0}
        result = self.write(events.select(list(NAMES)))
        return {"events": result.stored, "duplicates": result.duplicates}

    # -- reading ----------------------------------------------------------------------------

    def _count(self, table_name: str, con: duckdb.DuckDBPyConnection | None = None) -> int:
        return int(_one(con or self._reader()[0], f"SELECT count(*) FROM {table_name}"))

    def stats(self) -> dict[str, Any]:
        """Counts a person reads first: events, people, identities, by type, channel, source."""
        events = self.table("events")
        totals = events.aggregate(
            events=events.count(),
            persons=events.person_id.nunique(),
            first=events.timestamp.min(),
            last=events.timestamp.max(),
        ).to_pyarrow().to_pylist()[0]

        def by(column: str) -> dict[str, int]:
            grouped = events.group_by(column).aggregate(n=events.count())
            rows = grouped.order_by(ibis.desc("n")).to_pyarrow().to_pylist()
            return {
                "(not set)" if r[column] is None else str(r[column]): int(r["n"]) for r in rows
            }

        ids = self.table("identities")
        identities = {
            r["kind"]: int(r["n"])
            for r in ids.group_by("kind").aggregate(n=ids.count()).to_pyarrow().to_pylist()
        }
        merges = self.table("identity_merges")
        merge_counts = {
            r["outcome"]: int(r["n"])
            for r in merges.group_by("outcome").aggregate(n=merges.count())
            .to_pyarrow().to_pylist()
        }
        return {
            "store": str(self.path),
            "schema_version": self.schema_version,
            "events": int(totals["events"]),
            "persons": int(totals["persons"]),
            "first_event": _iso(totals["first"]),
            "last_event": _iso(totals["last"]),
            "by_type": by("type"),
            "by_channel": by("channel"),
            "by_source": by("source"),
            "identities": identities,
            "merges": merge_counts,
            "imports": self._count("imports"),
        }


def _used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``sql`` refers to (DuckDB refuses unused named parameters)."""
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def _one(con: duckdb.DuckDBPyConnection, query: str) -> Any:
    """The single value of a query, with the result drained (DuckDB 2 requires it)."""
    return con.execute(query).fetchall()[0][0]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _quote(text: str) -> str:
    """A SQL string literal, for the few statements (ATTACH) that take no parameters."""
    return "'" + text.replace("'", "''") + "'"


def _check_required(table: pa.Table) -> None:
    for column in ("message_id", "type", "timestamp", "received_at"):
        if table.column(column).null_count:
            raise ValidationError(f"{column} is required on every row", field=column)
