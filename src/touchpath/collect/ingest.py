"""From a request payload to incoming rows: the Segment tracking API's rules.

Single-message routes (``/v1/track`` ...) take one message whose type is the route's; batch
routes (``/v1/batch``, ``/v1/import``) take ``{"batch": [...], "sentAt"?, "context"?}`` where
the batch-level ``sentAt`` and ``context`` apply to every message. In a batch, an invalid
message is rejected alone, with its index and reason; the others are kept.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from touchpath.errors import PayloadTooLargeError, RateLimitError, ValidationError
from touchpath.spec.limits import MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES
from touchpath.spec.messages import (
    MESSAGE_TYPES,
    MessageParser,
    ParseOptions,
    check_message_size,
)
from touchpath.spec.timestamps import parse_iso

BATCH_ROUTES = ("batch", "import")
ROUTES = (*MESSAGE_TYPES, *BATCH_ROUTES)


@dataclass
class Parsed:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    """Incoming rows in ``spec.columns.NAMES`` order."""
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _reject(index: int, error: ValidationError) -> dict[str, Any]:
    return {"index": index, **error.to_dict()["error"]}


def parse_payload(route: str, payload: dict[str, Any], *, received_at: datetime,
                  options: ParseOptions, client_ip: str | None) -> Parsed:
    """Validate a request's messages; raise for a request that is wrong as a whole."""
    parsed = Parsed()
    if route not in BATCH_ROUTES:
        parser = MessageParser(received_at=received_at, options=options, client_ip=client_ip)
        parsed.rows.append(parser.row(payload, route))
        return parsed
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise ValidationError("a batch request needs a 'batch' array of messages", field="batch")
    if len(batch) > MAX_BATCH_MESSAGES:
        raise PayloadTooLargeError(
            f"{len(batch):,} messages; a batch holds at most {MAX_BATCH_MESSAGES:,}", field="batch"
        )
    sent_at = parse_iso(payload["sentAt"], "sentAt") if payload.get("sentAt") else None
    shared = payload.get("context")
    if shared is not None and not isinstance(shared, dict):
        raise ValidationError("must be a JSON object", field="context")
    parser = MessageParser(received_at=received_at, options=options, sent_at=sent_at,
                           client_ip=client_ip)
    row, rows, dumps = parser.row, parsed.rows, orjson.dumps
    for index, message in enumerate(batch):
        try:
            if isinstance(message, dict):
                if len(serialised := dumps(message)) > MAX_MESSAGE_BYTES:
                    check_message_size(serialised, f"batch[{index}]")
                if shared:
                    own = message.get("context")
                    message = {**message, "context": {**shared, **own} if isinstance(own, dict)
                               else shared}
            rows.append(row(message, None, f"batch[{index}]."))
        except ValidationError as error:
            parsed.rejected.append(_reject(index, error))
    return parsed


class RateLimiter:
    """A token bucket per write key: ``rate`` requests per second, bursts of ``rate``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key_id: str, rate: float | None) -> None:
        if not rate:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, now)
                raise RateLimitError(
                    f"this write key may send {rate:g} requests per second",
                    retry_after=(1 - tokens) / rate, field="writeKey",
                )
            self._buckets[key_id] = (tokens - 1, now)
