"""Acknowledged means durable: ``kill -9`` under load loses no acknowledged event and stores
none twice; SIGTERM finishes what it accepted and exits cleanly. Real server, real clients."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.realserver import WRITE_KEY, Server, start_server
from touchpath.config import load_settings
from touchpath.store.duckdb_store import DuckDBStore

BATCH = 50


class Load:
    """Client threads sending batches of unique messages; they remember what was acknowledged."""

    def __init__(self, server: Server, threads: int = 4) -> None:
        self.server = server
        self.acked: set[str] = set()
        self.sent: set[str] = set()
        self.errors = 0
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, worker: int) -> None:
        n = 0
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                ids = [f"w{worker}-{n}-{i}" for i in range(BATCH)]
                n += 1
                batch = [{"type": "track", "event": "Load Test", "anonymousId": f"a{worker}",
                          "messageId": mid, "properties": {"n": n}} for mid in ids]
                with self._lock:
                    self.sent.update(ids)
                try:
                    response = client.post(self.server.url + "/v1/batch",
                                           json={"batch": batch, "writeKey": WRITE_KEY})
                except httpx.HTTPError:
                    with self._lock:
                        self.errors += 1
                    time.sleep(0.01)
                    continue
                with self._lock:
                    self.statuses[response.status_code] = (
                        self.statuses.get(response.status_code, 0) + 1)
                    if response.status_code == 200:
                        self.acked.update(ids)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def stored_ids(store_path: Path) -> list[str]:
    with DuckDBStore(load_settings(env={}, store_path=store_path)) as store:
        return [str(m) for m in store.sql("SELECT message_id FROM events").column(0).to_pylist()]


def wait_for(predicate: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not predicate():  # type: ignore[operator]
        time.sleep(0.05)


def test_kill_9_under_load_loses_no_acknowledged_event(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    with Load(server) as load:
        wait_for(lambda: len(load.acked) >= 2_000, 30)
        server.kill()
        time.sleep(0.3)  # clients see the dead server
    assert len(load.acked) >= 2_000, load.statuses
    assert set(load.statuses) == {200}, load.statuses

    ids = stored_ids(server.store)  # the store recovers from its write-ahead log
    assert len(ids) == len(set(ids)), "an event was stored twice"
    missing = load.acked - set(ids)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"

    # Clients retry everything they sent (acknowledged or not): nothing is stored twice.
    server.start()
    sent = sorted(load.sent)
    for start in range(0, len(sent), 500):
        chunk = sent[start:start + 500]
        batch = [{"type": "track", "event": "Load Test", "anonymousId": "retry",
                  "messageId": mid} for mid in chunk]
        response = httpx.post(server.url + "/v1/batch",
                              json={"batch": batch, "writeKey": WRITE_KEY}, timeout=30)
        assert response.status_code == 200
    assert server.stop() == 0
    ids = stored_ids(server.store)
    assert len(ids) == len(set(ids)) == len(load.sent)


def test_sigterm_writes_what_it_accepted_and_exits_cleanly(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    with Load(server, threads=3) as load:
        wait_for(lambda: len(load.acked) >= 1_000, 30)
        code = server.stop()
    assert code == 0
    ids = set(stored_ids(server.store))
    assert load.acked <= ids
    log = server.log.read_text()
    assert "Application shutdown complete" in log


def test_queries_while_ingesting_see_whole_batches(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        with Load(server, threads=2) as load:
            counts = []
            for _ in range(20):
                stats = server.admin("GET", "/v1/stats")
                assert stats.status_code == 200
                counts.append(stats.json()["events"])
                time.sleep(0.05)
        assert all(c % BATCH == 0 for c in counts), counts  # never half a batch
        assert counts == sorted(counts) and counts[-1] > 0
        assert load.acked
    finally:
        server.stop()
