"""The FastAPI application: the collector, health, readiness, and the admin API (statistics,
persons and their erasure, write keys).

The app owns the store for its whole life (DuckDB allows one process per file). Admin routes
(statistics, identities, erase) need ``Authorization: Bearer <admin token>``; errors answer the
one JSON envelope ``{"error": {"code", "message", "field"?}}``.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from touchpath import __version__
from touchpath.collect.committer import GroupCommitter
from touchpath.collect.keys import KeyRing, create_key, list_keys, revoke_key
from touchpath.config import Settings
from touchpath.errors import AuthError, RateLimitError, TouchpathError
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.cases import WebhookSender
from touchpath.web.analyses import analyses_router
from touchpath.web.collector import HOT_PATHS, Collector, collector_router
from touchpath.web.dashboard import dashboard_router
from touchpath.web.surveys import is_public_survey_path, surveys_router

logger = logging.getLogger("touchpath")


def _envelope(body: dict[str, Any]) -> dict[str, Any]:
    """The error envelope, with ``code`` and ``message`` repeated at the top level: the Segment
    and RudderStack SDKs read them there (RudderStack's raises ``KeyError`` without them and
    retries a rejected batch for minutes)."""
    error = body["error"]
    return {"error": error, "code": error["code"], "message": error["message"]}


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse(_envelope({"error": body}), status_code=status)


CORS_PATHS = ("/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias",
              "/v1/batch", "/v1/import", "/t.js")
"""Routes a web page on any origin may call: they write events and read nothing."""
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding",
    "Access-Control-Max-Age": "86400",
    "Access-Control-Expose-Headers": "Retry-After",
}
RAW_CORS_HEADERS = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]


def is_cors_path(path: str) -> bool:
    return path in CORS_PATHS or is_public_survey_path(path)


class WriteRoutesCors:
    """CORS for the write routes only, as plain ASGI (Starlette's ``BaseHTTPMiddleware`` costs
    more per request than a small ingest call itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = RAW_CORS_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_cors_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": self.headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.headers]}
            await send(message)

        await self.app(scope, receive, with_cors)


class LakeRoller:
    """Rolls committed events to the Parquet lake (setting ``lake_dir``) from a thread, every
    ``lake_roll_seconds`` and once more at :meth:`close`."""

    def __init__(self, store: DuckDBStore, settings: Settings) -> None:
        self.store, self.directory = store, Path(settings.lake_dir)
        self.every = settings.lake_roll_seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lake-roller", daemon=True)
        self.thread.start()

    def roll(self) -> None:
        try:
            rows = self.store.roll_parquet(self.directory)
            if rows:
                logger.info("rolled %d events to %s", rows, self.directory)
        except Exception:  # the next roll retries: nothing is marked rolled on failure
            logger.exception("rolling events to %s failed", self.directory)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.roll()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.roll()


def error_response(exc: Exception, path: str) -> JSONResponse:
    """The JSON error envelope for ``exc``: a TouchpathError answers its own status (429 and
    503 with ``Retry-After``); anything else is logged and answers 503 without its detail
    (nothing was stored for the request, since writes are atomic: the client retries)."""
    if isinstance(exc, TouchpathError):
        response = JSONResponse(_envelope(exc.to_dict()), status_code=exc.status)
        if isinstance(exc, RateLimitError):
            response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        elif exc.status == 503:
            response.headers["Retry-After"] = "1"
        return response
    logger.error("unexpected error on %s", path, exc_info=exc)
    response = _error(503, "storage_error", "the request failed and stored nothing; retry")
    response.headers["Retry-After"] = "1"
    return response


class TouchpathApp(FastAPI):
    """FastAPI, with the collector's write routes (``POST /v1/track`` ...) answered first by
    :meth:`Collector.asgi` (plain ASGI, with the write routes' CORS headers); the FastAPI
    routes of the same paths document them in OpenAPI."""

    collector: Collector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] in HOT_PATHS):
            await self.collector.asgi(self, scope, receive, send,
                                      error_response=error_response, cors=RAW_CORS_HEADERS)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, admin_token: str | None = None) -> FastAPI:
    """Build the app on ``settings``; the store opens at start-up and closes at shutdown."""
    token = admin_token or settings.admin_token or secrets.token_urlsafe(24)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = DuckDBStore(settings)
        app.state.store = store
        app.state.keys = KeyRing(store)
        app.state.webhooks = WebhookSender(store)
        window = settings.dedupe_window_hours
        app.state.committer = GroupCommitter(
            store, dedupe_window=timedelta(hours=window) if window else None)
        roller = LakeRoller(store, settings) if settings.lake_dir else None
        try:
            yield
        finally:
            app.state.committer.close()  # write what was acknowledged-to-be, then close
            if roller is not None:
                roller.close()  # and roll it to the lake
            store.close()

    app = TouchpathApp(
        title="touchpath",
        version=__version__,
        description="Customer-journey analytics: collector and API.",
        lifespan=lifespan,
    )
    app.state.admin_token = token

    app.add_middleware(WriteRoutesCors)

    @app.exception_handler(TouchpathError)
    async def _touchpath_error(request: Request, exc: TouchpathError) -> JSONResponse:
        return error_response(exc, request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # This handler runs outside the middleware stack, so the CORS headers of the write
        # routes are added here.
        response = error_response(exc, request.url.path)
        if is_cors_path(request.url.path):
            response.headers.update(CORS_HEADERS)
        return response

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or None
        return _error(400, "invalid", str(first.get("msg", "invalid request")), field)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))

    def store(request: Request) -> DuckDBStore:
        result: DuckDBStore = request.app.state.store
        return result

    def admin(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
            raise AuthError("send the admin token as 'Authorization: Bearer <token>'",
                            field="authorization")

    app.collector = Collector(settings)
    app.include_router(collector_router(settings, app.collector))
    app.include_router(analyses_router(admin, store))
    app.include_router(surveys_router(admin, store))
    app.include_router(dashboard_router(store))

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"])
    def ready(db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Readiness: the store accepts a write transaction right now."""
        db.check_writable()
        return {"status": "ready", "schema_version": db.schema_version}

    @app.get("/v1/stats", tags=["store"], dependencies=[Depends(admin)])
    def stats(db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Events, people, identities and channels in the store."""
        return db.stats()

    @app.get("/v1/persons/{identity}", tags=["privacy"], dependencies=[Depends(admin)])
    def explain(identity: str, db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """A person's identities and the merge log that made them one."""
        return db.explain(identity)

    @app.delete("/v1/persons/{identity}", tags=["privacy"], dependencies=[Depends(admin)])
    def erase(identity: str, db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Erase every trace of the person(s) an identity names (right to be forgotten)."""
        result = db.erase(identity)
        return {"erased": list(result.persons), "rows_deleted": result.rows_deleted}

    @app.get("/v1/admin/keys", tags=["admin"], dependencies=[Depends(admin)])
    def keys_list(db: DuckDBStore = Depends(store)) -> list[dict[str, Any]]:  # noqa: B008
        """Every write key (never the secret)."""
        return [key.to_dict() for key in list_keys(db)]

    @app.post("/v1/admin/keys", tags=["admin"], dependencies=[Depends(admin)])
    def keys_create(request: Request, body: KeyRequest,
                    db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Create a write key; the answer holds the secret, shown this once."""
        secret, key = create_key(db, body.name, source=body.source,
                                 rate_per_second=body.rate_per_second)
        request.app.state.keys.reload()
        return {"write_key": secret, **key.to_dict()}

    @app.delete("/v1/admin/keys/{key_id}", tags=["admin"], dependencies=[Depends(admin)])
    def keys_revoke(request: Request, key_id: str,
                    db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Revoke a write key at once."""
        key = revoke_key(db, key_id)
        request.app.state.keys.reload()
        return key.to_dict()

    return app


class KeyRequest(BaseModel):
    name: str
    source: str | None = None
    rate_per_second: float | None = None
