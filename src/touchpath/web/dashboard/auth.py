"""Local dashboard accounts and their sessions.

Passwords are hashed with scrypt (standard library; n=2**14, r=8, p=1, a 16-byte salt per
password) and compared in constant time. A session is a random token in an HttpOnly cookie; the
store keeps only its SHA-256, with the user, the session's CSRF token and an expiry time.

The tables are store migrations 7 (accounts, sessions) and 9 (failed logins). Logins are
throttled: after :data:`MAX_FAILURES` failed logins for a user name, or from a client address,
within :data:`FAILURE_WINDOW`, the login is refused without checking the password until the
oldest of those failures is older than the window. Whether the user exists makes no difference.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from touchpath.errors import NotFoundError, ValidationError
from touchpath.spec.timestamps import utcnow
from touchpath.store.duckdb_store import DuckDBStore

SESSION_HOURS = 12
"""A session ends this long after the login (there is no "remember me")."""
MIN_PASSWORD = 8
"""Shortest password ``users create`` accepts (the demo account is created by code)."""

MAX_FAILURES = 5
"""Failed logins for one user name, or from one client address, before logins are refused."""
FAILURE_WINDOW = timedelta(minutes=15)
"""How long a failed login counts."""

_N, _R, _P, _LEN = 2**14, 8, 1, 32


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) of ``password``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                               n=int(n), r=int(r), p=int(p), dklen=len(base64.b64decode(digest)))
    except ValueError:
        return False
    return hmac.compare_digest(given, base64.b64decode(digest))


_DUMMY = hash_password("not a password", salt=b"0123456789abcdef")


@dataclass(frozen=True)
class User:
    username: str
    created_at: datetime
    last_login: datetime | None


@dataclass(frozen=True)
class Session:
    username: str
    csrf_token: str
    expires_at: datetime


def _check_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 64 or any(c.isspace() or not c.isprintable() for c in name):
        raise ValidationError("a user name is 1-64 printable characters without spaces",
                              field="username")
    return name


def create_user(store: DuckDBStore, username: str, password: str, *,
                min_length: int = MIN_PASSWORD) -> User:
    """Create (or give a new password to) the account ``username``."""
    name = _check_username(username)
    if len(password) < min_length:
        raise ValidationError(f"a password has at least {min_length} characters",
                              field="password")
    now = utcnow()
    with store.session() as con:
        con.execute(
            "INSERT INTO dashboard_users VALUES (?, ?, ?, NULL) ON CONFLICT (username) "
            "DO UPDATE SET password_hash = excluded.password_hash",
            [name, hash_password(password), now],
        )
        # a new password ends the account's sessions
        con.execute("DELETE FROM dashboard_sessions WHERE username = ?", [name])
    return User(name, now, None)


def list_users(store: DuckDBStore) -> list[User]:
    with store.session() as con:
        rows = con.execute("SELECT username, created_at, last_login FROM dashboard_users "
                           "ORDER BY username").fetchall()
    return [User(*row) for row in rows]


def delete_user(store: DuckDBStore, username: str) -> None:
    """Delete the account and end its sessions; :class:`NotFoundError` if there is none."""
    with store.session() as con:
        found = con.execute("DELETE FROM dashboard_users WHERE username = ? RETURNING username",
                            [username]).fetchall()
        con.execute("DELETE FROM dashboard_sessions WHERE username = ?", [username])
    if not found:
        raise NotFoundError(f"no dashboard user {username!r}", field="username")


def authenticate(store: DuckDBStore, username: str, password: str) -> bool:
    """Whether the account exists and the password is right (same work either way)."""
    with store.session() as con:
        rows = con.execute("SELECT password_hash FROM dashboard_users WHERE username = ?",
                           [username]).fetchall()
    ok = check_password(password, rows[0][0] if rows else _DUMMY)
    return ok and bool(rows)


def _throttle_name(username: str) -> str:
    # case and surrounding space do not make a new name to guess against; a bounded length
    return username.strip().casefold()[:128]


_NTH_BY_NAME = ("SELECT failed_at FROM dashboard_login_failures WHERE username = ? "
                "AND failed_at > ? ORDER BY failed_at DESC LIMIT 1 OFFSET ?")
_NTH_BY_CLIENT = ("SELECT failed_at FROM dashboard_login_failures WHERE client = ? "
                  "AND failed_at > ? ORDER BY failed_at DESC LIMIT 1 OFFSET ?")


def login_blocked(store: DuckDBStore, username: str, client: str, *,
                  now: datetime | None = None) -> int:
    """Seconds until a login for ``username`` from ``client`` is allowed again (0: allowed now).

    Blocked while :data:`MAX_FAILURES` or more failures for the user name, or from the client
    address, lie within :data:`FAILURE_WINDOW`; the wait ends when enough of them age out.
    """
    now = now or utcnow()
    since = now - FAILURE_WINDOW
    wait = 0.0
    with store.session() as con:
        for query, value in ((_NTH_BY_NAME, _throttle_name(username)), (_NTH_BY_CLIENT, client)):
            # the MAX_FAILURES-th newest failure: once it leaves the window, fewer remain
            rows = con.execute(query, [value, since, MAX_FAILURES - 1]).fetchall()
            if rows:
                wait = max(wait, (rows[0][0] + FAILURE_WINDOW - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else 0


def record_failure(store: DuckDBStore, username: str, client: str, *,
                   now: datetime | None = None) -> None:
    """Count a failed login (and forget the failures older than the window)."""
    now = now or utcnow()
    with store.session() as con:
        con.execute("DELETE FROM dashboard_login_failures WHERE failed_at <= ?",
                    [now - FAILURE_WINDOW])
        con.execute("INSERT INTO dashboard_login_failures VALUES (?, ?, ?)",
                    [_throttle_name(username), client, now])


def forget_failures(store: DuckDBStore, username: str) -> None:
    """After a successful login: the user name's failures no longer count (the client
    address's failures for other names still do)."""
    with store.session() as con:
        con.execute("DELETE FROM dashboard_login_failures WHERE username = ?",
                    [_throttle_name(username)])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(store: DuckDBStore, username: str) -> tuple[str, Session]:
    """A new session for ``username``: the cookie token (returned once) and the session."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session = Session(username, secrets.token_urlsafe(32), now + timedelta(hours=SESSION_HOURS))
    with store.session() as con:
        con.execute("DELETE FROM dashboard_sessions WHERE expires_at < ?", [now])
        con.execute("INSERT INTO dashboard_sessions VALUES (?, ?, ?, ?, ?)",
                    [_digest(token), username, session.csrf_token, now, session.expires_at])
        con.execute("UPDATE dashboard_users SET last_login = ? WHERE username = ?",
                    [now, username])
    return token, session


def find_session(store: DuckDBStore, token: str | None) -> Session | None:
    """The live session of a cookie token, or None."""
    if not token:
        return None
    with store.session() as con:
        rows = con.execute(
            "SELECT s.username, s.csrf_token, s.expires_at FROM dashboard_sessions s "
            "JOIN dashboard_users u USING (username) WHERE s.token_sha256 = ? "
            "AND s.expires_at > ?", [_digest(token), utcnow()]).fetchall()
    return Session(*rows[0]) if rows else None


def end_session(store: DuckDBStore, token: str | None) -> None:
    if token:
        with store.session() as con:
            con.execute("DELETE FROM dashboard_sessions WHERE token_sha256 = ?", [_digest(token)])


DEMO_USER = ("demo", "demo")
"""The account ``touchpath serve --demo`` creates (never without ``--demo``)."""


def ensure_demo_user(store: DuckDBStore) -> bool:
    """Create the demo account ``demo``/``demo`` unless it exists; True if created."""
    if any(u.username == DEMO_USER[0] for u in list_users(store)):
        return False
    create_user(store, *DEMO_USER, min_length=1)
    return True


START_HINT = ("dashboard: http://{host}:{port}/dashboard - create an account with "
              "'touchpath users create <name>' (stop the server first: it owns the store)")
"""What ``touchpath serve`` prints at start-up."""
