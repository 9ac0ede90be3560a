"""Timestamp rules: ISO-8601 parsing to naive UTC and Segment's clock-skew correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from touchpath.errors import ValidationError

EPOCH_MIN = datetime(1970, 1, 1)
FUTURE_TOLERANCE = timedelta(days=1)


def parse_iso(value: object, field: str) -> datetime:
    """Parse an ISO-8601 date-time into naive UTC. A value without a zone is taken as UTC."""
    if not isinstance(value, str):
        raise ValidationError(
            f"must be an ISO-8601 date-time string, got {type(value).__name__}", field=field
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{value[:40]!r} is not an ISO-8601 date-time such as 2024-05-01T12:00:00Z",
            field=field,
        ) from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValidationError(f"{value!r} is out of range once converted to UTC",
                                  field=field) from None
    if parsed < EPOCH_MIN:
        raise ValidationError(f"{value!r} is before 1970", field=field)
    return parsed


def utcnow() -> datetime:
    """Now, as naive UTC (the store's convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def corrected_timestamp(
    received_at: datetime, sent_at: datetime | None, original: datetime | None,
    field: str = "sentAt",
) -> datetime:
    """Segment's rule: ``timestamp = receivedAt - (sentAt - originalTimestamp)``.

    Without ``sentAt`` the device clock cannot be corrected and ``originalTimestamp`` is used as
    sent; without either, the time the server received the message.
    """
    if original is None:
        return received_at
    if sent_at is None:
        return original
    try:
        return received_at - (sent_at - original)
    except OverflowError:
        raise ValidationError(
            "sentAt and timestamp are too far apart to correct the device clock",
            field=field,
        ) from None
