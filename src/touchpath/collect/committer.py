"""Group commit: many requests, one transaction.

Each request hands its parsed rows to :meth:`GroupCommitter.submit` and waits on the returned
future. A single thread takes everything that arrived while the previous commit ran, writes it
in one store transaction (DuckDB syncs its write-ahead log on commit) and only then resolves
the futures: a request is answered 2xx only after its events are durable, and one slow fsync is
shared by every request that waited for it.

The commit thread spends its time in DuckDB, which releases the GIL while a statement runs
and needs it back when the statement ends. With the request threads busy in Python, taking it
back waits for the interpreter's switch interval (5 ms by default) at every statement of a
commit: measured on a 1,600-row commit beside one busy Python thread, 52 ms alone became
123 ms. While a committer runs, the switch interval is therefore lowered to
:data:`SWITCH_INTERVAL` (69 ms in the same measurement); :meth:`GroupCommitter.close` restores it.

DuckDB checkpoints (writes the WAL's rows into the file, compressed) inside the commit that
takes the WAL past ``checkpoint_threshold``, and each checkpoint also rewrites the table's last,
partly filled row group: at the default 16 MB that is about every 50,000 collector rows, 0.4 to
0.8 s each. A committer raises the threshold to :data:`CHECKPOINT_THRESHOLD`, so checkpoints
come four times less often and cost less in all (1,600-row commits on a 160,000-row store: 42.0
against 37.0 ms on average over 200 commits); the WAL, and its replay after a crash, is larger.

When the store fails the futures fail (the HTTP layer answers 503 so that clients retry); when
more rows wait than ``max_pending_rows`` new submissions are refused at once (also 503) rather
than queued without bound.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from touchpath.errors import OverloadedError, StorageError
from touchpath.spec.columns import NAMES, tuples_to_table
from touchpath.spec.timestamps import utcnow
from touchpath.store.duckdb_store import DuckDBStore

SWITCH_INTERVAL = 0.0005
"""Seconds: the interpreter's switch interval while a committer runs (``sys.setswitchinterval``)."""


CHECKPOINT_THRESHOLD = "64MB"
"""DuckDB's ``checkpoint_threshold`` while a committer runs (DuckDB's default: 16MB)."""


@dataclass(frozen=True)
class CommitStats:
    commits: int
    rows: int
    seconds: float


class GroupCommitter:
    """Serialises writes from many threads into few transactions."""

    def __init__(self, store: DuckDBStore, *, max_rows_per_commit: int = 50_000,
                 max_pending_rows: int = 200_000, dedupe_window: timedelta | None = None) -> None:
        self._store = store
        self._dedupe_window = dedupe_window
        self._max_rows = max_rows_per_commit
        self._max_pending = max_pending_rows
        self._cv = threading.Condition()
        self._pending: deque[tuple[list[tuple[Any, ...]], Future[int]]] = deque()
        self._pending_rows = 0
        self._closed = False
        self._commits = 0
        self._rows = 0
        self._seconds = 0.0
        with store.session() as con:
            con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._run, name="touchpath-commit", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[tuple[Any, ...]] | Sequence[dict[str, Any]]
               ) -> Future[int]:
        """Queue rows for the next commit; the future gives the number of rows submitted.

        Rows are tuples in ``spec.columns.NAMES`` order (what the collector's parser gives) or
        dicts keyed by those names (missing keys are nulls).
        """
        future: Future[int] = Future()
        if not rows:
            future.set_result(0)
            return future
        chunk = [row if isinstance(row, tuple) else tuple(row.get(name) for name in NAMES)
                 for row in rows]
        with self._cv:
            if self._closed:
                raise StorageError("the collector is shutting down; retry")
            if self._pending_rows + len(rows) > self._max_pending:
                raise OverloadedError(
                    f"{self._pending_rows:,} events are waiting to be written; retry shortly"
                )
            self._pending.append((chunk, future))
            self._pending_rows += len(rows)
            self._cv.notify()
        return future

    def _take(self) -> list[tuple[list[tuple[Any, ...]], Future[int]]]:
        with self._cv:
            while not self._pending and not self._closed:
                self._cv.wait()
            taken: list[tuple[list[tuple[Any, ...]], Future[int]]] = []
            count = 0
            while self._pending and (
                not taken or count + len(self._pending[0][0]) <= self._max_rows
            ):
                item = self._pending.popleft()
                taken.append(item)
                count += len(item[0])
            self._pending_rows -= count
            return taken

    def _run(self) -> None:
        while True:
            taken = self._take()
            if not taken:
                return  # closed and drained
            rows = [row for chunk, _ in taken for row in chunk]
            started = time.perf_counter()
            try:
                since = utcnow() - (self._dedupe_window or timedelta(days=36500))
                self._store.write(tuples_to_table(rows), recent_ids_since=since)
            except Exception as exc:
                for _, future in taken:
                    future.set_exception(exc)
                continue
            self._commits += 1
            self._rows += len(rows)
            self._seconds += time.perf_counter() - started
            for chunk, future in taken:
                future.set_result(len(chunk))

    def close(self) -> None:
        """Write what is queued, then stop (called at shutdown, e.g. on SIGTERM)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join()
        sys.setswitchinterval(self._switch_interval)

    def stats(self) -> CommitStats:
        return CommitStats(self._commits, self._rows, self._seconds)
