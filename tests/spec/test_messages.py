"""Segment-spec messages: the six types, field-named errors, clock skew, privacy on the way in."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpath.errors import PayloadTooLargeError, ValidationError
from touchpath.spec.columns import INCOMING, NAMES, rows_to_table, tuples_to_table
from touchpath.spec.limits import MAX_EVENT_NAME_CHARS, MAX_ID_CHARS, MAX_MESSAGE_BYTES
from touchpath.spec.messages import (
    MESSAGE_TYPES,
    MessageParser,
    ParseOptions,
    check_message_size,
    parse_message,
)

RECEIVED = datetime(2024, 5, 1, 12, 0, 0)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse(msg: object, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("received_at", RECEIVED)
    return parse_message(msg, **kwargs)


def field_of(msg: object, **kwargs: Any) -> str | None:
    with pytest.raises(ValidationError) as info:
        parse(msg, **kwargs)
    return info.value.field


# -- the six types -------------------------------------------------------------------------

SIX = {
    "track": {"type": "track", "event": "Order Completed", "userId": "u1",
              "properties": {"revenue": 42.5, "currency": "EUR"}},
    "identify": {"type": "identify", "userId": "u1", "anonymousId": "a1",
                 "traits": {"email": "ann@example.com", "plan": "pro"}},
    "page": {"type": "page", "anonymousId": "a1", "name": "Pricing",
             "context": {"page": {"url": "https://shop.example.com/pricing",
                                  "referrer": "https://www.google.com/"}}},
    "screen": {"type": "screen", "anonymousId": "a1", "properties": {"name": "Home"}},
    "group": {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"size": 40}},
    "alias": {"type": "alias", "userId": "u1", "previousId": "a1"},
}


@pytest.mark.parametrize("kind", MESSAGE_TYPES)
def test_all_six_types_parse(kind: str) -> None:
    row = parse(SIX[kind])
    assert set(row) == set(NAMES)
    assert row["type"] == kind
    assert row["event"] == ("Order Completed" if kind == "track" else "$" + kind)
    assert row["timestamp"] == RECEIVED  # no time on the message: the server's
    assert row["received_at"] == RECEIVED
    # every row fits the incoming Arrow schema
    table = rows_to_table([row])
    assert table.schema == INCOMING
    assert table.num_rows == 1


def test_six_types_carry_their_own_fields() -> None:
    track = parse(SIX["track"])
    assert (track["revenue"], track["currency"]) == (42.5, "EUR")
    assert json.loads(track["properties"]) == {"revenue": 42.5, "currency": "EUR"}
    identify = parse(SIX["identify"])
    assert identify["email_hash"] == sha("ann@example.com")
    assert json.loads(identify["traits"]) == {"email": "ann@example.com", "plan": "pro"}
    page = parse(SIX["page"])
    assert page["name"] == "Pricing"
    assert page["page_url"] == "https://shop.example.com/pricing"
    assert page["referrer"] == "https://www.google.com/"
    assert parse(SIX["screen"])["name"] == "Home"  # from properties.name
    assert parse(SIX["group"])["group_id"] == "acme"
    alias = parse(SIX["alias"])
    assert (alias["previous_id"], alias["user_id"]) == ("a1", "u1")
    assert track["group_id"] is None and track["previous_id"] is None


def test_the_parser_gives_the_same_rows_as_tuples_and_their_table() -> None:
    parser = MessageParser(received_at=RECEIVED, client_ip="10.1.2.3")
    rows = [{**SIX[kind], "messageId": f"m-{kind}"} for kind in MESSAGE_TYPES]
    tuples = [parser.row(msg) for msg in rows]
    dicts = [parse(msg, client_ip="10.1.2.3") for msg in rows]
    assert [dict(zip(NAMES, t, strict=True)) for t in tuples] == dicts
    assert tuples_to_table(tuples).equals(rows_to_table(dicts))
    assert tuples_to_table([]).schema == INCOMING


def test_endpoint_type_overrides_message_type() -> None:
    row = parse({"event": "Clicked", "anonymousId": "a"}, message_type="track")
    assert row["type"] == "track"
    row = parse({"type": "track", "anonymousId": "a"}, message_type="page")
    assert row["type"] == "page" and row["event"] == "$page"


def test_common_fields() -> None:
    row = parse({
        "type": "track", "event": "Viewed", "anonymousId": "a1", "messageId": "msg-1",
        "context": {
            "campaign": {"source": "newsletter", "medium": "email", "name": "spring"},
            "page": {"url": "https://x.example/?a=1"},
            "referrer": {"url": "https://ref.example/"},
            "sessionId": 1234,
        },
    }, options=ParseOptions(source="web"))
    assert row["message_id"] == "msg-1"
    assert (row["utm_source"], row["utm_medium"], row["utm_campaign"]) == (
        "newsletter", "email", "spring")
    assert row["referrer"] == "https://ref.example/"  # context.referrer.url when no page referrer
    assert row["session_id"] == "1234"
    assert row["source"] == "web"
    assert row["channel"] is None


def test_message_id_is_generated_when_missing() -> None:
    a = parse({"type": "track", "event": "E", "userId": "u"})["message_id"]
    b = parse({"type": "track", "event": "E", "userId": "u"})["message_id"]
    assert a and b and a != b


def test_ids_may_be_integers_and_empty_means_missing() -> None:
    row = parse({"type": "track", "event": "E", "userId": 123, "anonymousId": ""})
    assert row["user_id"] == "123"
    assert row["anonymous_id"] is None


def test_empty_objects_are_stored_as_null() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u", "properties": {}})
    assert row["properties"] is None and row["traits"] is None and row["context"] is None
    assert row["revenue"] is None


@pytest.mark.parametrize(("key", "value"), [("revenue", "19.90"), ("total", 7), ("value", 3.5)])
def test_revenue_keys(key: str, value: object) -> None:
    row = parse({"type": "track", "event": "E", "userId": "u", "properties": {key: value}})
    assert row["revenue"] == float(value)  # type: ignore[arg-type]


def test_revenue_beats_total_and_only_tracks_have_revenue() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "properties": {"total": 10, "revenue": 8}})
    assert row["revenue"] == 8.0
    page = parse({"type": "page", "userId": "u", "properties": {"revenue": "abc"}})
    assert page["revenue"] is None


# -- errors name the field -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("msg", "field"),
    [
        ({"type": "track", "event": "E"}, "userId"),
        ({"type": "track", "event": "E", "userId": None, "anonymousId": ""}, "userId"),
        ({"type": "track", "userId": "u"}, "event"),
        ({"type": "track", "userId": "u", "event": ""}, "event"),
        ({"type": "track", "userId": "u", "event": 5}, "event"),
        ({"type": "track", "userId": "u", "event": "x" * (MAX_EVENT_NAME_CHARS + 1)}, "event"),
        ({"type": "track", "event": "E", "userId": "u", "timestamp": "last tuesday"},
         "timestamp"),
        ({"type": "track", "event": "E", "userId": "u", "timestamp": 1714564800}, "timestamp"),
        ({"type": "track", "event": "E", "userId": "u", "originalTimestamp": "nope"},
         "originalTimestamp"),
        ({"type": "track", "event": "E", "userId": "u", "sentAt": "nope"}, "sentAt"),
        ({"type": "track", "event": "E", "userId": "u", "properties": [1, 2]}, "properties"),
        ({"type": "track", "event": "E", "userId": "u", "properties": "x"}, "properties"),
        ({"type": "identify", "userId": "u", "traits": ["a"]}, "traits"),
        ({"type": "track", "event": "E", "userId": "u", "context": 3}, "context"),
        ({"type": "track", "event": "E", "userId": "u", "context": {"campaign": "spring"}},
         "context.campaign"),
        ({"type": "track", "event": "E", "userId": "u", "context": {"page": []}},
         "context.page"),
        ({"type": "track", "event": "E", "userId": "u",
          "context": {"campaign": {"source": 3}}}, "context.campaign.source"),
        ({"type": "track", "event": "E", "userId": "u", "properties": {"revenue": "abc"}},
         "properties.revenue"),
        ({"type": "track", "event": "E", "userId": "u", "properties": {"revenue": True}},
         "properties.revenue"),
        ({"type": "track", "event": "E", "userId": "u", "properties": {"total": [3]}},
         "properties.total"),
        ({"type": "track", "event": "E", "userId": ["u"]}, "userId"),
        ({"type": "track", "event": "E", "userId": True}, "userId"),
        ({"type": "track", "event": "E", "anonymousId": 1.5}, "anonymousId"),
        ({"type": "track", "event": "E", "userId": "u" * (MAX_ID_CHARS + 1)}, "userId"),
        ({"type": "track", "event": "E", "userId": "u", "messageId": {}}, "messageId"),
        ({"type": "group", "userId": "u"}, "groupId"),
        ({"type": "alias", "userId": "u"}, "previousId"),
        ({"type": "alias", "anonymousId": "a", "previousId": "p"}, "userId"),
        ({"type": "page", "userId": "u", "name": 7}, "name"),
        ({"type": "purchase", "userId": "u"}, "type"),
        ({"userId": "u"}, "type"),
    ],
)
def test_errors_name_the_field(msg: dict[str, Any], field: str) -> None:
    assert field_of(msg) == field
    assert field_of(msg, where="batch[3].") == "batch[3]." + field


@pytest.mark.parametrize("msg", [[1, 2], "track", None, 5])
def test_non_object_message(msg: object) -> None:
    assert field_of(msg) is None
    assert field_of(msg, where="batch[0]") == "batch[0]"


def test_error_envelope_of_a_bad_revenue() -> None:
    with pytest.raises(ValidationError) as info:
        parse({"type": "track", "event": "E", "userId": "u", "properties": {"revenue": "abc"}},
              where="batch[3].")
    assert info.value.to_dict() == {"error": {
        "code": "invalid", "message": "must be a number, got 'abc'",
        "field": "batch[3].properties.revenue"}}


@pytest.mark.parametrize("text", ["NaN", "nan", "inf", "-Infinity"])
def test_revenue_that_is_not_a_finite_number_is_refused(text: str) -> None:
    # float("NaN") parses, but a NaN revenue poisons every sum it enters.
    with pytest.raises(ValidationError) as info:
        parse({"type": "track", "event": "E", "userId": "u", "properties": {"revenue": text}})
    assert info.value.field == "properties.revenue"


# -- timestamps ----------------------------------------------------------------------------

def test_clock_skew_rule() -> None:
    # the device clock is 2 hours behind; it queued the event 5 minutes before sending
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "originalTimestamp": "2024-05-01T09:55:00Z", "sentAt": "2024-05-01T10:00:00Z"})
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 55)
    assert row["original_timestamp"] == datetime(2024, 5, 1, 9, 55)
    assert row["sent_at"] == datetime(2024, 5, 1, 10, 0)


def test_clock_skew_rule_with_timezone_offsets() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "originalTimestamp": "2024-05-01T12:55:00+03:00",
                 "sentAt": "2024-05-01T05:00:00-05:00"})
    # original 09:55Z, sent 10:00Z, received 12:00Z
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 55)
    assert row["original_timestamp"] == datetime(2024, 5, 1, 9, 55)


def test_timestamp_field_is_the_device_time_when_no_original_timestamp() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "timestamp": "2024-05-01T11:00:00Z", "sentAt": "2024-05-01T11:30:00Z"})
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 30)
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "originalTimestamp": "2024-05-01T11:00:00Z",
                 "timestamp": "2020-01-01T00:00:00Z"})
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 0)  # originalTimestamp wins


def test_batch_level_sent_at() -> None:
    msg = {"type": "track", "event": "E", "userId": "u",
           "originalTimestamp": "2024-05-01T09:55:00Z"}
    row = parse(msg, sent_at=datetime(2024, 5, 1, 10, 0))
    assert row["timestamp"] == datetime(2024, 5, 1, 11, 55)
    assert row["sent_at"] == datetime(2024, 5, 1, 10, 0)
    # the message's own sentAt beats the batch's
    own = parse({**msg, "sentAt": "2024-05-01T09:56:00Z"}, sent_at=datetime(2024, 5, 1, 10, 0))
    assert own["timestamp"] == datetime(2024, 5, 1, 11, 59)


def test_without_sent_at_the_device_time_is_kept() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "timestamp": "2024-04-01T08:00:00Z"})
    assert row["timestamp"] == datetime(2024, 4, 1, 8, 0)
    assert row["sent_at"] is None


@given(
    skew=st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=400)),
    queued=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    tz_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60),
    batch=st.booleans(),
)
def test_clock_skew_property(
    skew: timedelta, queued: timedelta, tz_minutes: int, batch: bool
) -> None:
    tz = timezone(timedelta(minutes=tz_minutes))
    sent = RECEIVED + skew
    original = sent - queued
    msg: dict[str, Any] = {"type": "track", "event": "E", "anonymousId": "a",
                           "originalTimestamp": original.replace(tzinfo=UTC)
                           .astimezone(tz).isoformat()}
    sent_text = sent.replace(tzinfo=UTC).astimezone(tz).isoformat()
    row = parse(msg, sent_at=sent) if batch else parse({**msg, "sentAt": sent_text})
    assert row["timestamp"] == RECEIVED - queued
    assert row["original_timestamp"] == original


@pytest.mark.parametrize("key", ["timestamp", "originalTimestamp"])
def test_future_timestamps_are_rejected(key: str) -> None:
    future = (RECEIVED + timedelta(days=2)).isoformat() + "Z"
    assert field_of({"type": "track", "event": "E", "userId": "u", key: future}) == key
    assert field_of({"type": "track", "event": "E", "userId": "u", key: future},
                    where="batch[2].") == "batch[2]." + key


def test_near_future_and_corrected_future_are_accepted() -> None:
    soon = (RECEIVED + timedelta(hours=23)).isoformat() + "Z"
    assert parse({"type": "track", "event": "E", "userId": "u", "timestamp": soon})[
        "timestamp"] == RECEIVED + timedelta(hours=23)
    # a device clock two days ahead is corrected by sentAt
    ahead = RECEIVED + timedelta(days=2)
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "timestamp": (ahead - timedelta(minutes=1)).isoformat() + "Z",
                 "sentAt": ahead.isoformat() + "Z"})
    assert row["timestamp"] == RECEIVED - timedelta(minutes=1)


def test_clock_skew_that_leaves_the_calendar_is_a_validation_error() -> None:
    # sentAt far in the future: received - (sent - original) is before year 1
    with pytest.raises(ValidationError) as info:
        parse({"type": "track", "event": "E", "userId": "u",
               "originalTimestamp": "1970-01-01T00:00:00Z", "sentAt": "9999-12-31T00:00:00Z"},
              where="batch[1].")
    assert (info.value.field or "").startswith("batch[1].")


def test_zone_offset_that_leaves_the_calendar_names_the_field() -> None:
    msg = {"type": "track", "event": "E", "userId": "u",
           "originalTimestamp": "0001-01-01T00:00:00+01:00"}
    assert field_of(msg) == "originalTimestamp"


# -- privacy on the way in ------------------------------------------------------------------

def test_ip_is_truncated_by_default_and_removed_from_context() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "context": {"ip": "203.0.113.77", "locale": "he-IL"}})
    assert row["ip"] == "203.0.113.0"
    assert "203.0.113.77" not in (row["context"] or "")
    assert json.loads(row["context"]) == {"locale": "he-IL"}


def test_client_ip_is_used_when_context_has_none() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u"}, client_ip="2001:db8:85a3:1:2::9")
    assert row["ip"] == "2001:db8:85a3::"
    row = parse({"type": "track", "event": "E", "userId": "u", "context": {"ip": "198.51.100.4"}},
                client_ip="203.0.113.9")
    assert row["ip"] == "198.51.100.0"  # the message's own context.ip wins


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("keep", "203.0.113.77"), ("drop", None),
     ("hash", sha("salt203.0.113.77")[:32]), ("truncate", "203.0.113.0")],
)
def test_ip_modes(mode: str, expected: str | None) -> None:
    row = parse({"type": "track", "event": "E", "userId": "u", "context": {"ip": "203.0.113.77"}},
                options=ParseOptions(ip_mode=mode, ip_salt="salt"))
    assert row["ip"] == expected
    assert row["context"] is None  # the raw address never reaches the stored context


def test_garbage_ip_is_dropped_and_removed() -> None:
    row = parse({"type": "track", "event": "E", "userId": "u",
                 "context": {"ip": "not-an-ip", "app": {"v": 1}}})
    assert row["ip"] is None
    assert json.loads(row["context"]) == {"app": {"v": 1}}


def test_email_and_phone_are_hashed() -> None:
    row = parse({"type": "identify", "userId": "u",
                 "traits": {"email": "  Ann@Example.COM ", "phone": "054-123 4567"}},
                options=ParseOptions(default_country_code="972"))
    assert row["email_hash"] == sha("ann@example.com")
    assert row["phone_hash"] == sha("972541234567")
    assert row["email_hash"] != "ann@example.com"


def test_context_traits_are_used_on_track_calls() -> None:
    row = parse({"type": "track", "event": "E", "anonymousId": "a",
                 "context": {"traits": {"email": "b@example.com", "phone": "+972541234567"}}})
    assert row["email_hash"] == sha("b@example.com")
    assert row["phone_hash"] == sha("972541234567")


def test_match_keys_setting_limits_hashing() -> None:
    msg = {"type": "identify", "userId": "u",
           "traits": {"email": "ann@example.com", "phone": "+972541234567"}}
    none = parse(msg, options=ParseOptions(match_keys=()))
    assert none["email_hash"] is None and none["phone_hash"] is None
    email_only = parse(msg, options=ParseOptions(match_keys=("email",)))
    assert email_only["email_hash"] == sha("ann@example.com")
    assert email_only["phone_hash"] is None


def test_check_message_size() -> None:
    check_message_size(b"x" * MAX_MESSAGE_BYTES)
    with pytest.raises(PayloadTooLargeError) as info:
        check_message_size(b"x" * (MAX_MESSAGE_BYTES + 1), where="batch[7]")
    assert info.value.field == "batch[7]"
    assert info.value.status == 413
    with pytest.raises(PayloadTooLargeError) as info:
        check_message_size(b"x" * (MAX_MESSAGE_BYTES + 1))
    assert info.value.field is None


# -- nothing but ValidationError, whatever arrives ------------------------------------------

json_ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what a JSON parser yields
json_scalars = (
    st.none() | st.booleans() | json_ints
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
# one class of dates each: around now, far future, the first day of the calendar, anything
iso_times = st.one_of(
    st.datetimes(min_value=datetime(2024, 4, 1), max_value=datetime(2024, 5, 3)),
    st.datetimes(min_value=datetime(5000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 1, 23, 59)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
).flatmap(lambda d: st.sampled_from([
    d.isoformat(), d.isoformat() + "Z", d.isoformat() + "+14:00", d.isoformat() + "-12:00",
]))
times = iso_times | json_values
ids = st.text(max_size=10) | json_values


def objects_with(**known: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly objects holding some of the ``known`` keys (plus noise), sometimes anything."""
    return st.one_of(
        st.fixed_dictionaries({}, optional=known).flatmap(
            lambda d: st.dictionaries(st.text(max_size=8), json_values, max_size=2).map(
                lambda extra: {**extra, **d})
        ),
        json_values,
    )


context = objects_with(
    ip=st.sampled_from(["203.0.113.7", "2001:db8::1", "::ffff:1.2.3.4", "x"]) | json_values,
    campaign=objects_with(source=ids, medium=ids, name=ids),
    page=objects_with(url=ids, referrer=ids),
    referrer=objects_with(url=ids),
    traits=objects_with(email=ids, phone=ids | json_ints),
    sessionId=ids,
)
optional_fields = {
    "type": st.sampled_from(MESSAGE_TYPES) | json_values,
    "userId": ids, "anonymousId": ids, "messageId": ids, "groupId": ids, "previousId": ids,
    "event": ids, "name": ids,
    "timestamp": times, "originalTimestamp": times, "sentAt": times,
    "properties": objects_with(revenue=json_values | st.sampled_from(["1.5", "abc"]),
                               total=json_values, value=json_values, name=ids,
                               currency=ids),
    "traits": objects_with(email=ids | st.just("a@b.c"), phone=ids | json_ints),
    "context": context,
}
# Mostly messages that pass the first checks, so that the deeper fields are reached too.
plausible = st.fixed_dictionaries(
    {"type": st.sampled_from(MESSAGE_TYPES), "userId": st.text(min_size=1, max_size=8),
     "event": st.text(min_size=1, max_size=8), "groupId": st.just("g"),
     "previousId": st.just("p")},
).flatmap(lambda base: st.fixed_dictionaries({}, optional=optional_fields).map(
    lambda extra: {**base, **extra}))
messages = plausible | st.fixed_dictionaries({}, optional=optional_fields)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    msg=st.one_of(plausible, messages, json_values),
    message_type=st.none() | st.sampled_from(MESSAGE_TYPES),
    sent_at=st.none() | st.datetimes(min_value=datetime(1970, 1, 1),
                                     max_value=datetime(2100, 1, 1)),
    client_ip=st.none() | st.sampled_from(["10.1.2.3", "garbage"]),
    where=st.sampled_from(["", "batch[3]."]),
)
def test_parse_message_raises_only_validation_errors(
    msg: object, message_type: str | None, sent_at: datetime | None, client_ip: str | None,
    where: str,
) -> None:
    try:
        row = parse(msg, message_type=message_type, sent_at=sent_at, client_ip=client_ip,
                    where=where)
    except ValidationError as exc:
        # a message that is not an object is named by its place alone: "batch[3]"
        assert exc.field is None or exc.field.startswith(where.rstrip("."))
        return
    assert set(row) == set(NAMES)
    assert row["timestamp"] <= RECEIVED + timedelta(days=1)
    for key in ("properties", "traits", "context"):
        if row[key] is not None:
            assert isinstance(orjson.loads(row[key]), dict)
    assert rows_to_table([row]).num_rows == 1
