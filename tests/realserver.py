"""A real ``touchpath serve`` process on 127.0.0.1 for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

WRITE_KEY = "tpk_e2e_write_key"
ADMIN_TOKEN = "e2e-admin-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_store(store: Path) -> None:
    """Create the store with the e2e write key (before the server owns the file)."""
    code = (
        "from touchpath.config import load_settings;"
        "from touchpath.store.duckdb_store import DuckDBStore;"
        "from touchpath.collect.keys import create_key;"
        f"s = DuckDBStore(load_settings(env={{}}, store_path={str(store)!r}));"
        f"create_key(s, 'e2e', source='e2e', key={WRITE_KEY!r}); s.close()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@dataclass
class Server:
    store: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Server:
        env = {**os.environ, "TOUCHPATH_STORE_PATH": str(self.store),
               "TOUCHPATH_PORT": str(self.port), "TOUCHPATH_ADMIN_TOKEN": ADMIN_TOKEN,
               **self.env}
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "touchpath.cli", "serve"], env=env, stdout=handle,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def kill(self) -> None:
        """``kill -9``: no flush, no clean shutdown."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start_server(tmp_path: Path, **env: str) -> Server:
    store = tmp_path / "e2e.duckdb"
    if not store.exists():
        prepare_store(store)
    return Server(store, free_port(), tmp_path / "server.log", env=env).start()
