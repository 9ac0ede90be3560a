"""The collector's routes: Segment's tracking API (``/v1/track`` ... ``/v1/batch``) and ``/t.js``.

Answers follow what the SDKs retry on: 200 only after the events are committed; 400/413 for
bad input (not retried); 401 for a bad key; 429 and 503 with ``Retry-After`` (retried).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from importlib import resources
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

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


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing early what cannot fit (a compressed body is never larger)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the body is {int(declared):,} bytes; the limit is "
                                   f"{limit:,}", field="body")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"the body is over the limit of {limit:,} bytes",
                                       field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def collector_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["collector"])
    limiter = RateLimiter()

    async def ingest(request: Request, route: str) -> Response:
        received_at = utcnow()
        limit = body_limit(route)
        raw = await read_body(request, limit)
        data = inflate(raw, request.headers.get("content-encoding", ""), limit)
        payload = parse_json(data)
        keys: KeyRing = request.app.state.keys
        key = keys.verify(basic_auth_user(request.headers.get("authorization", ""))
                          or payload.get("writeKey"))
        limiter.check(key.key_id, key.rate_per_second)
        options = ParseOptions(
            ip_mode=settings.ip_mode, ip_salt=settings.ip_salt,
            match_keys=settings.identity_match_keys,
            default_country_code=settings.default_country_code,
            source=key.source or key.name,
        )
        client_ip = request.client.host if request.client else None
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
        committer: GroupCommitter = request.app.state.committer
        await asyncio.wrap_future(committer.submit(parsed.rows))
        body = {"success": True, "accepted": len(parsed.rows), "rejected": parsed.rejected}
        return Response(orjson.dumps(body), media_type="application/json")

    def endpoint_for(route: str) -> Any:
        # the route is bound here, not as a default argument, which FastAPI would expose as a
        # query parameter (?_route=batch on /v1/track)
        async def endpoint(request: Request) -> Response:
            return await ingest(request, route)

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
