"""Survey links for e-mail and SMS: a signed token that says which survey, which person and
which touchpoint, so that an answer given through the link lands on the right person with no
login and no write key.

A token is ``<payload>.<signature>``: the payload is base64url JSON (``s`` survey id, ``u`` user
id or ``a`` anonymous id, ``t`` touchpoint, ``l`` language, ``x`` expiry as Unix seconds), the
signature an HMAC-SHA256 of the payload with the store's survey secret (setting
``survey_secret``, else a random one made once and kept in the store).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from touchpath.errors import AuthError, ValidationError

_SECRET_NAME = "survey_secret"  # noqa: S105 - a row name, not a secret


def survey_secret(store: Any) -> bytes:
    """The secret that signs links and webhooks (made and stored on first use)."""
    if store.settings.survey_secret:
        return str(store.settings.survey_secret).encode()
    rows = store.sql("SELECT value FROM derived_state WHERE name = $n",
                     {"n": _SECRET_NAME}).to_pylist()
    if rows:
        return str(rows[0]["value"]).encode()
    made = secrets.token_urlsafe(32)
    with store.session() as con:
        con.execute("INSERT INTO derived_state VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [_SECRET_NAME, made])
    return survey_secret(store)


def sign(secret: bytes, data: bytes) -> str:
    return hmac.new(secret, data, hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass(frozen=True)
class LinkClaims:
    survey_id: str
    user_id: str | None
    anonymous_id: str | None
    touchpoint: str | None
    language: str | None
    expires: int


def make_token(secret: bytes, survey_id: str, *, user_id: str | None = None,
               anonymous_id: str | None = None, touchpoint: str | None = None,
               language: str | None = None, valid_days: int = 30) -> str:
    """A signed link token for one person and survey, valid for ``valid_days``."""
    if not (user_id or anonymous_id):
        raise ValidationError("a survey link needs a user id or an anonymous id",
                              field="user_id")
    if valid_days < 1:
        raise ValidationError("at least 1 day", field="valid_days")
    claims = {"s": survey_id, "u": user_id, "a": anonymous_id, "t": touchpoint, "l": language,
              "x": int(time.time()) + valid_days * 86_400}
    payload = _b64(orjson.dumps({k: v for k, v in claims.items() if v is not None}))
    return f"{payload}.{sign(secret, payload.encode())}"


def read_token(secret: bytes, token: str) -> LinkClaims:
    """The claims of a token; :class:`AuthError` when it is forged, damaged or expired."""
    payload, _, signature = token.partition(".")
    if not payload or not hmac.compare_digest(signature, sign(secret, payload.encode())):
        raise AuthError("this survey link is not valid (damaged or not ours)", field="token")
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise AuthError("this survey link is damaged", field="token") from exc
    if claims["x"] < time.time():
        raise AuthError("this survey link has expired", field="token")
    return LinkClaims(claims["s"], claims.get("u"), claims.get("a"), claims.get("t"),
                      claims.get("l"), claims["x"])
