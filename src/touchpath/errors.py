"""The one error tree of touchpath.

Every error a user can meet is a :class:`TouchpathError`. Each class has a stable ``code``
(part of the public contract: scripts and the HTTP API match on it) and the HTTP ``status`` the
API answers with::

    TouchpathError                    touchpath_error      500
    ├── ValidationError               invalid              400   bad input: a message, a row, a spec
    │   └── PayloadTooLargeError      payload_too_large    413
    ├── AuthError                     unauthorized         401
    ├── RateLimitError                rate_limited         429   a write key over its rate
    ├── ConfigError                   bad_config           500   a setting or a mapping file
    ├── StorageError                  storage_error        503   the store cannot be read or written
    │   ├── StoreLockedError          store_locked         503
    │   └── OverloadedError           overloaded           503   too many events waiting
    ├── NotFoundError                 not_found            404
    └── QueryError                    bad_query            400   an analysis that cannot run

``details`` may add keys to the envelope (a batch's ``rejected`` list). ``field`` names the
offending field (a JSON path such as ``batch[3].event``, a setting name, a
column) so that the message can tell the user exactly what to fix.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TouchpathError(Exception):
    """Root of every touchpath error."""

    code: ClassVar[str] = "touchpath_error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def to_dict(self) -> dict[str, Any]:
        """The JSON error envelope: ``{"error": {"code", "message", "field"?}}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body.update(self.details)
        return {"error": body}


class ValidationError(TouchpathError):
    """Input that does not follow the event model, a file mapping or an analysis spec."""

    code = "invalid"
    status = 400


class PayloadTooLargeError(ValidationError):
    """A message, a batch or a decompressed body over its documented limit."""

    code = "payload_too_large"
    status = 413


class AuthError(TouchpathError):
    """A missing, unknown or revoked write key, or a missing login."""

    code = "unauthorized"
    status = 401


class RateLimitError(TouchpathError):
    """A write key sent more requests per second than it is allowed; retry after a moment."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: float = 1.0, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class ConfigError(TouchpathError):
    """A setting or a configuration file that cannot be used; ``field`` names the setting."""

    code = "bad_config"
    status = 500


class StorageError(TouchpathError):
    """The store cannot be opened, read or written."""

    code = "storage_error"
    status = 503


class StoreLockedError(StorageError):
    """Another process (usually a running server) owns the DuckDB file."""

    code = "store_locked"


class OverloadedError(StorageError):
    """More events are waiting to be written than the collector accepts; retry shortly."""

    code = "overloaded"


class NotFoundError(TouchpathError):
    """A person, identity or object that does not exist."""

    code = "not_found"
    status = 404


class QueryError(TouchpathError):
    """An analysis that cannot run as asked."""

    code = "bad_query"
    status = 400
