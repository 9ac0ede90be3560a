"""Write keys: what a source (a site, an app, a server) sends to be allowed to write events.

A key is shown once, when it is created; the store keeps only its SHA-256 (keys are 32 random
bytes, so an unsalted hash is as strong as the key) and never logs it. A key can carry its own
rate limit (requests per second) and the ``source`` its events are tagged with. Write keys can
write events and nothing else: they read no data.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from touchpath.errors import AuthError, NotFoundError, ValidationError
from touchpath.spec.timestamps import utcnow
from touchpath.store.duckdb_store import DuckDBStore

KEY_PREFIX = "tpk_"
DEMO_KEY = "tpk_demo_public_write_key"
"""The write key ``touchpath serve --demo`` creates, so the demo site and SDKs work out of the
box. Only for the demo store: revoke it (``touchpath keys revoke``) on real data."""


@dataclass(frozen=True)
class WriteKey:
    key_id: str
    name: str
    source: str | None
    rate_per_second: float | None
    created_at: datetime
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id, "name": self.name, "source": self.source,
            "rate_per_second": self.rate_per_second, "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    store: DuckDBStore, name: str, *, source: str | None = None,
    rate_per_second: float | None = None, key: str | None = None,
) -> tuple[str, WriteKey]:
    """Create a write key; returns the secret (shown once) and its record.

    ``key`` sets the secret instead of generating one (the demo uses a documented key).
    """
    if not name.strip():
        raise ValidationError("a write key needs a name", field="name")
    if rate_per_second is not None and rate_per_second <= 0:
        raise ValidationError("must be a positive number of requests per second",
                              field="rate_per_second")
    secret = key or KEY_PREFIX + secrets.token_urlsafe(32)
    record = WriteKey("wk_" + secrets.token_hex(6), name.strip(), source, rate_per_second,
                      utcnow(), None)
    with store.session() as con:
        con.execute(
            "INSERT INTO write_keys VALUES ($id, $digest, $name, $source, $rate, $at, NULL)",
            {"id": record.key_id, "digest": _digest(secret), "name": record.name,
             "source": source, "rate": rate_per_second, "at": record.created_at},
        )
    return secret, record


def list_keys(store: DuckDBStore) -> list[WriteKey]:
    with store.session() as con:
        rows = con.execute(
            "SELECT key_id, name, source, rate_per_second, created_at, revoked_at "
            "FROM write_keys ORDER BY created_at"
        ).fetchall()
    return [WriteKey(*row) for row in rows]


def revoke_key(store: DuckDBStore, key_id: str) -> WriteKey:
    with store.session() as con:
        rows = con.execute(
            "UPDATE write_keys SET revoked_at = $at WHERE key_id = $id AND revoked_at IS NULL "
            "RETURNING key_id, name, source, rate_per_second, created_at, revoked_at",
            {"at": utcnow(), "id": key_id},
        ).fetchall()
    if not rows:
        raise NotFoundError(f"no active write key {key_id!r}", field="key_id")
    return WriteKey(*rows[0])


class KeyRing:
    """The server's view of the write keys: verified from memory, reloaded on change."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._by_digest: dict[str, WriteKey] = {}
        self.reload()

    def reload(self) -> None:
        with self._store.session() as con:
            rows = con.execute(
                "SELECT key_sha256, key_id, name, source, rate_per_second, created_at, revoked_at "
                "FROM write_keys WHERE revoked_at IS NULL"
            ).fetchall()
        with self._lock:
            self._by_digest = {row[0]: WriteKey(*row[1:]) for row in rows}

    def verify(self, key: str | None) -> WriteKey:
        """The active key for ``key``, or :class:`AuthError`."""
        if not key:
            raise AuthError(
                "send a write key as HTTP Basic auth (the key as user name, empty password) "
                "or as writeKey in the body", field="writeKey",
            )
        found = self._by_digest.get(_digest(key))
        if found is None:
            raise AuthError("unknown or revoked write key", field="writeKey")
        return found

    def __len__(self) -> int:
        return len(self._by_digest)
