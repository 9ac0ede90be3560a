"""The collector's routes: Segment's tracking API (``/v1/track`` ... ``/v1/batch``) and ``/t.js``.

Answers follow what the SDKs retry on: 200 only after the events are committed; 400/413 for
bad input (not retried); 401 for a bad key; 429 and 503 with ``Retry-After`` (retried).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from touchpath.collect.body import body_limit, inflate, parse_json
from touchpath.collect.committer import GroupCommitter
from touchpath.collect.ingest import ROUTES, RateLimiter, parse_payload
from touchpath.collect.keys import KeyRing
from touchpath.config import Settings
from touchpath.errors import PayloadTooLargeError, ValidationError
from touchpath.spec.messages import ParseOptions
from touchpath.spec.timestamps import utcnow

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Segment-spec message (see docs/event-model.md).",
    "properties": {
        "userId": {"type": "string"}, "anonymousId": {"type": "string"},
        "messageId": {"type": "string"}, "event": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"}, "traits": {"type": "object"},
        "context": {"type": "object"}, "writeKey": {"type": "string"},
    },
}
_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["batch"],
    "properties": {
        "batch": {"type": "array", "maxItems": 2500, "items": _MESSAGE_SCHEMA},
        "sentAt": {"type": "string", "format": "date-time"},
        "context": {"type": "object"}, "writeKey": {"type": "string"},
    },
}


def basic_auth_user(header: str) -> str | None:
    """The user name of an HTTP Basic ``Authorization`` header (Segment puts the key there)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValidationError("the Basic credentials are not valid base64",
                              field="Authorization") from None
    return decoded.partition(":")[0] or None


def _too_large(limit: int, declared: int | None = None) -> PayloadTooLargeError:
    if declared is not None:
        return PayloadTooLargeError(f"the body is {declared:,} bytes; the limit is {limit:,}",
                                    field="body")
    return PayloadTooLargeError(f"the body is over the limit of {limit:,} bytes", field="body")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing early what cannot fit (a compressed body is never larger)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer, nothing stored."""


async def read_asgi_body(receive: Receive, declared: bytes | None, limit: int) -> bytes:
    """:func:`read_body` on plain ASGI messages."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, int(declared))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


HOT_PATHS = {f"/v1/{route}": route for route in ROUTES}
"""The write routes, answered by :meth:`Collector.asgi` without FastAPI's routing."""


class Collector:
    """The write routes' handling: body, key, rate, parse, group commit, answer.

    Two doors lead here. :meth:`asgi` is plain ASGI: the app sends ``POST /v1/...`` to it
    before FastAPI's routing, request objects and dependency machinery (measured: FastAPI alone
    answers ``GET /health`` at about 2,400 requests/s on this 2-core machine, so a write route
    behind it could not reach the 2,000 requests/s target). The FastAPI routes of
    :func:`collector_router` call the same :meth:`ingest`; they document the API in OpenAPI
    (``/docs``) and serve an app that mounts the router without the fast door.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limiter = RateLimiter()

    async def ingest(self, state: Any, route: str, raw: bytes, *, received_at: datetime,
                     encoding: str, authorization: str, client_ip: str | None) -> bytes:
        """Store what one request carries; the JSON answer, once the rows are durable.

        ``state`` is the app's state (store, write keys, committer). Raises TouchpathError
        subclasses for the client's mistakes (4xx) and for what was not stored (503).
        """
        settings = self.settings
        payload = parse_json(inflate(raw, encoding, body_limit(route)))
        keys: KeyRing = state.keys
        key = keys.verify(basic_auth_user(authorization) or payload.get("writeKey"))
        self.limiter.check(key.key_id, key.rate_per_second)
        options = ParseOptions(
            ip_mode=settings.ip_mode, ip_salt=settings.ip_salt,
            match_keys=settings.identity_match_keys,
            default_country_code=settings.default_country_code,
            source=key.source or key.name,
        )
        parsed = parse_payload(route, payload, received_at=received_at, options=options,
                               client_ip=client_ip)
        if not parsed.rows:
            first = parsed.rejected[0] if parsed.rejected else {}
            error = ValidationError(
                f"no valid message in the batch; first problem: {first.get('message')}",
                field=first.get("field"),
            )
            error.details = {"rejected": parsed.rejected}
            raise error
        committer: GroupCommitter = state.committer
        await asyncio.wrap_future(committer.submit(parsed.rows))
        return orjson.dumps(
            {"success": True, "accepted": len(parsed.rows), "rejected": parsed.rejected})

    async def asgi(self, app: Any, scope: Scope, receive: Receive, send: Send, *,
                   error_response: Callable[[Exception, str], Response],
                   cors: list[tuple[bytes, bytes]]) -> None:
        """Answer ``POST`` on a path of :data:`HOT_PATHS`, as plain ASGI.

        ``error_response`` renders an exception as the app's JSON error envelope (with
        ``Retry-After`` where it belongs); ``cors`` are the write routes' CORS headers.
        """
        received_at = utcnow()
        path: str = scope["path"]
        route = HOT_PATHS[path]
        declared = encoding = authorization = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"content-encoding":
                encoding = value
            elif name == b"authorization":
                authorization = value
        client = scope.get("client")
        try:
            raw = await read_asgi_body(receive, declared, body_limit(route))
            body = await self.ingest(
                app.state, route, raw, received_at=received_at,
                encoding=encoding.decode("latin-1") if encoding else "",
                authorization=authorization.decode("latin-1") if authorization else "",
                client_ip=client[0] if client else None,
            )
            status = 200
            headers = [(b"content-type", b"application/json"),
                       (b"content-length", str(len(body)).encode())]
        except ClientGone:
            return
        except Exception as exc:  # every failure answers the one error envelope
            response = error_response(exc, path)
            status, headers, body = response.status_code, response.raw_headers, bytes(response.body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, *cors]})
        await send({"type": "http.response.body", "body": body})


def collector_router(settings: Settings, collector: Collector | None = None) -> APIRouter:
    """The write routes as FastAPI routes (see :class:`Collector` for the fast door)."""
    router = APIRouter(tags=["collector"])
    handler = collector or Collector(settings)

    def endpoint_for(route: str) -> Any:
        # the route is bound here, not as a default argument, which FastAPI would expose as a
        # query parameter (?_route=batch on /v1/track)
        async def endpoint(request: Request) -> Response:
            received_at = utcnow()
            raw = await read_body(request, body_limit(route))
            body = await handler.ingest(
                request.app.state, route, raw, received_at=received_at,
                encoding=request.headers.get("content-encoding", ""),
                authorization=request.headers.get("authorization", ""),
                client_ip=request.client.host if request.client else None,
            )
            return Response(body, media_type="application/json")

        return endpoint

    for route in ROUTES:
        schema = _BATCH_SCHEMA if route in ("batch", "import") else _MESSAGE_SCHEMA
        endpoint = endpoint_for(route)

        endpoint.__doc__ = (
            f"Record {'a batch of messages' if route in ('batch', 'import') else 'a ' + route}"
            " (Segment tracking API). Write key as HTTP Basic user name or `writeKey`."
        )
        router.add_api_route(
            f"/v1/{route}", endpoint, methods=["POST"], name=f"collect_{route}",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": schema}}}},
        )

    @router.get("/t.js", include_in_schema=False)
    def tracker() -> Response:
        script = resources.files("touchpath.web").joinpath("static/t.js").read_bytes()
        return Response(script, media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=300"})

    return router
