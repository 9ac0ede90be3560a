"""The FastAPI application: health, readiness, store statistics and person privacy routes.

The app owns the store for its whole life (DuckDB allows one process per file). Admin routes
(statistics, identities, erase) need ``Authorization: Bearer <admin token>``; errors answer the
one JSON envelope ``{"error": {"code", "message", "field"?}}``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from touchpath import __version__
from touchpath.config import Settings
from touchpath.errors import AuthError, TouchpathError
from touchpath.store.duckdb_store import DuckDBStore


def _error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return JSONResponse({"error": body}, status_code=status)


def create_app(settings: Settings, *, admin_token: str | None = None) -> FastAPI:
    """Build the app on ``settings``; the store opens at start-up and closes at shutdown."""
    token = admin_token or settings.admin_token or secrets.token_urlsafe(24)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = DuckDBStore(settings)
        try:
            yield
        finally:
            app.state.store.close()

    app = FastAPI(
        title="touchpath",
        version=__version__,
        description="Customer-journey analytics: collector and API.",
        lifespan=lifespan,
    )
    app.state.admin_token = token

    @app.exception_handler(TouchpathError)
    async def _touchpath_error(request: Request, exc: TouchpathError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.field)

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

    return app
