"""Segment-spec messages: validate one message and turn it into an incoming row.

The six types are track, identify, page, screen, group and alias, with Segment's common fields
(https://segment.com/docs/connections/spec/common/). Validation is hand-written rather than done
with a schema library: the collector parses every message on its hot path, and an error must
name the field the way a user would write it (``batch[3].properties.revenue``).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from touchpath.errors import PayloadTooLargeError, ValidationError
from touchpath.identity.keys import email_hash, phone_hash
from touchpath.privacy import anonymise_ip
from touchpath.spec.columns import EVENT_OF_TYPE, NAMES
from touchpath.spec.limits import MAX_EVENT_NAME_CHARS, MAX_ID_CHARS, MAX_MESSAGE_BYTES
from touchpath.spec.timestamps import FUTURE_TOLERANCE, corrected_timestamp, parse_iso

MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
REVENUE_KEYS = ("revenue", "total", "value")


@dataclass(frozen=True)
class ParseOptions:
    """What parsing needs from the settings and the request."""

    ip_mode: str = "truncate"
    ip_salt: str = ""
    match_keys: tuple[str, ...] = ("email", "phone")
    default_country_code: str = ""
    source: str | None = None


def _object(msg: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = msg.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            f"must be a JSON object, got {type(value).__name__}", field=where + key
        )
    return value


def _id(msg: dict[str, Any], key: str, where: str) -> str | None:
    value = msg.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(
            f"must be a string, got {type(value).__name__}", field=where + key
        )
    text = str(value)
    if len(text) > MAX_ID_CHARS:
        raise ValidationError(f"longer than {MAX_ID_CHARS} characters", field=where + key)
    return text or None


def _string(container: dict[str, Any], key: str, field: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"must be a string, got {type(value).__name__}", field=field)
    return value or None


def _time(msg: dict[str, Any], key: str, where: str) -> datetime | None:
    value = msg.get(key)
    return None if value is None else parse_iso(value, where + key)


def _revenue(properties: dict[str, Any], where: str) -> float | None:
    for key in REVENUE_KEYS:
        value = properties.get(key)
        if value is None:
            continue
        if isinstance(value, bool):
            break
        if isinstance(value, int | float | str):
            try:
                number = float(value)
            except (ValueError, OverflowError):
                break
            if math.isfinite(number):
                return number
        break
    else:
        return None
    raise ValidationError(
        f"must be a number, got {properties[key]!r}", field=f"{where}properties.{key}"
    )


_dumps = orjson.dumps
_EMPTY: dict[str, Any] = {}  # shared, never written: stands for an absent object


def parse_message(
    msg: object,
    *,
    received_at: datetime,
    options: ParseOptions = ParseOptions(),
    message_type: str | None = None,
    sent_at: datetime | None = None,
    client_ip: str | None = None,
    where: str = "",
) -> dict[str, Any]:
    """Validate one Segment message and return its incoming row (see ``spec.columns``).

    ``message_type`` is the type implied by the endpoint (``/v1/track``); otherwise the
    message's own ``type``. ``sent_at`` is a batch-level ``sentAt``; ``where`` prefixes field
    names in errors (``batch[3].``).

    >>> from datetime import datetime
    >>> row = parse_message({"type": "track", "event": "Signed Up", "userId": "u1"},
    ...                     received_at=datetime(2024, 5, 1))
    >>> row["event"], row["user_id"]
    ('Signed Up', 'u1')
    """
    parser = MessageParser(received_at=received_at, options=options, sent_at=sent_at,
                           client_ip=client_ip)
    return dict(zip(NAMES, parser.row(msg, message_type, where), strict=True))


class MessageParser:
    """Parses the messages of one request: what they share (the times, the settings, the
    client's anonymised address) is worked out once.

    :meth:`row` gives a tuple in the order of ``spec.columns.NAMES`` (the collector builds its
    Arrow columns from these); :func:`parse_message` is the same parse as a dict.
    """

    def __init__(self, *, received_at: datetime, options: ParseOptions = ParseOptions(),
                 sent_at: datetime | None = None, client_ip: str | None = None) -> None:
        self.received_at = received_at
        self.latest = received_at + FUTURE_TOLERANCE
        self.options = options
        self.sent_at = sent_at
        self.email_on = "email" in options.match_keys
        self.phone_on = "phone" in options.match_keys
        self.client_ip = anonymise_ip(client_ip, options.ip_mode, options.ip_salt)

    def row(self, msg: object, message_type: str | None = None,
            where: str = "") -> tuple[Any, ...]:
        """Validate one message; its incoming row in ``NAMES`` order, or ValidationError."""
        if not isinstance(msg, dict):
            raise ValidationError(f"must be a JSON object, got {type(msg).__name__}",
                                  field=where.rstrip(".") or None)
        kind = message_type or msg.get("type")
        if kind not in MESSAGE_TYPES:
            raise ValidationError(
                f"must be one of {', '.join(MESSAGE_TYPES)}, got {kind!r}", field=where + "type"
            )

        anonymous_id = _id(msg, "anonymousId", where)
        user_id = _id(msg, "userId", where)
        if anonymous_id is None and user_id is None:
            raise ValidationError(
                "a message needs a userId or an anonymousId", field=where + "userId"
            )
        message_id = _id(msg, "messageId", where) or str(uuid.uuid4())

        properties = _object(msg, "properties", where)
        traits = _object(msg, "traits", where)
        context = _object(msg, "context", where)
        if context:
            campaign = _object(context, "campaign", where + "context.")
            page = _object(context, "page", where + "context.")
            context_traits = _object(context, "traits", where + "context.")
        else:
            campaign = page = context_traits = _EMPTY

        event: str | None
        name = _string(msg, "name", where + "name") if "name" in msg else None
        group_id = previous_id = None
        if kind == "track":
            event = _string(msg, "event", where + "event")
            if not event:
                raise ValidationError("a track call needs an event name", field=where + "event")
            if len(event) > MAX_EVENT_NAME_CHARS:
                raise ValidationError(
                    f"longer than {MAX_EVENT_NAME_CHARS} characters", field=where + "event"
                )
        else:
            event = EVENT_OF_TYPE[kind]
            if kind == "group":
                group_id = _id(msg, "groupId", where)
                if group_id is None:
                    raise ValidationError("a group call needs a groupId",
                                          field=where + "groupId")
            elif kind == "alias":
                previous_id = _id(msg, "previousId", where)
                if previous_id is None or user_id is None:
                    raise ValidationError(
                        "an alias call needs a previousId and a userId",
                        field=where + ("previousId" if previous_id is None else "userId"),
                    )
            if kind in ("page", "screen") and name is None:
                name = _string(properties, "name", where + "properties.name")

        received_at = self.received_at
        original = _time(msg, "originalTimestamp", where) or _time(msg, "timestamp", where)
        own_sent_at = _time(msg, "sentAt", where) or self.sent_at
        if original is None:
            timestamp = received_at
        else:
            timestamp = corrected_timestamp(received_at, own_sent_at, original,
                                            where + "sentAt")
            if timestamp > self.latest:
                raise ValidationError(
                    "is more than a day in the future; check the device clock or send sentAt",
                    field=where + ("originalTimestamp" if "originalTimestamp" in msg
                                   else "timestamp"),
                )

        email = phone = None
        if self.email_on or self.phone_on:
            all_traits = traits or context_traits
            if self.email_on:
                raw_email = all_traits.get("email") or context_traits.get("email")
                if raw_email is not None:
                    email = email_hash(raw_email)
            if self.phone_on:
                raw_phone = all_traits.get("phone") or context_traits.get("phone")
                if raw_phone is not None:
                    phone = phone_hash(raw_phone, self.options.default_country_code)

        ip = self.client_ip
        if "ip" in context:  # the device's own address beats the connection's
            context_ip = context["ip"]
            if isinstance(context_ip, str):
                ip = anonymise_ip(context_ip, self.options.ip_mode, self.options.ip_salt)
            context = {k: v for k, v in context.items() if k != "ip"}

        referrer = page.get("referrer") or (
            _object(context, "referrer", where + "context.").get("url") if context else None)
        page_url = page.get("url")
        currency = properties.get("currency")
        return (
            message_id,
            kind,
            event,
            name,
            anonymous_id,
            user_id,
            group_id,
            previous_id,
            timestamp,
            original,
            own_sent_at,
            received_at,
            self.options.source,
            None,  # channel: classified by the store
            _string(campaign, "source", where + "context.campaign.source") if campaign
            else None,
            _string(campaign, "medium", where + "context.campaign.medium") if campaign
            else None,
            _string(campaign, "name", where + "context.campaign.name") if campaign else None,
            referrer if isinstance(referrer, str) and referrer else None,
            page_url if isinstance(page_url, str) else None,
            _id(context, "sessionId", where + "context.") if context else None,
            _revenue(properties, where) if kind == "track" and properties else None,
            currency if isinstance(currency, str) else None,
            email,
            phone,
            ip,
            _dumps(properties).decode() if properties else None,
            # RudderStack's SDK sends identify traits in context.traits
            _dumps(traits).decode() if traits
            else _dumps(context_traits).decode() if kind == "identify" and context_traits
            else None,
            _dumps(context).decode() if context else None,
        )


def check_message_size(raw: bytes, where: str = "") -> None:
    """Refuse a serialised message over Segment's 32 KB limit."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise PayloadTooLargeError(
            f"message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (32 KB)",
            field=where or None,
        )
