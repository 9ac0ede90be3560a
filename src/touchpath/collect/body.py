"""Request bodies of the collector: decompression with a cap, size limits, JSON parsing.

A gzip body is inflated incrementally and abandoned as soon as it passes the limit, so a small
compressed body (a "gzip bomb") cannot blow up memory.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from touchpath.errors import PayloadTooLargeError, ValidationError
from touchpath.spec.limits import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES

ENCODINGS = ("", "identity", "gzip", "deflate")


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """Decompress ``raw`` (gzip or deflate) without producing more than ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(raw, limit + 1)
        except zlib.error as exc:
            raise ValidationError(f"the body is not valid {encoding}: {exc}",
                                  field="Content-Encoding") from exc
        if len(data) <= limit and not inflater.eof and not inflater.unconsumed_tail:
            raise ValidationError(f"the {encoding} body is truncated", field="Content-Encoding")
    else:
        raise ValidationError(f"unsupported Content-Encoding {encoding!r}; send gzip or none",
                              field="Content-Encoding")
    if len(data) > limit:
        raise PayloadTooLargeError(
            f"the body is over the limit of {limit:,} bytes"
            + (" after decompression" if data is not raw else ""),
            field="body",
        )
    return data


def body_limit(route: str) -> int:
    """Segment's limits: 500 KB for a batch request, 32 KB for a single message."""
    return MAX_BATCH_BYTES if route in ("batch", "import") else MAX_MESSAGE_BYTES


def parse_json(data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise ValidationError("the body is empty; send a JSON object", field="body")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"the body is not valid JSON: {exc}", field="body") from None
    if not isinstance(value, dict):
        raise ValidationError(f"the body must be a JSON object, got {type(value).__name__}",
                              field="body")
    return value
