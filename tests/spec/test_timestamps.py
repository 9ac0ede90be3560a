"""ISO-8601 parsing to naive UTC and Segment's clock-skew rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpath.errors import ValidationError
from touchpath.spec.timestamps import EPOCH_MIN, corrected_timestamp, parse_iso, utcnow

offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                  max_value=timedelta(hours=23, minutes=59)).map(
        lambda d: timedelta(minutes=round(d.total_seconds() / 60))
    ),
)
naive = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12)),
        ("2024-05-01T12:00:00+00:00", datetime(2024, 5, 1, 12)),
        ("2024-05-01T15:30:00+03:30", datetime(2024, 5, 1, 12)),
        ("2024-05-01T07:00:00-05:00", datetime(2024, 5, 1, 12)),
        ("2024-05-01T01:00:00+02:00", datetime(2024, 4, 30, 23)),
        ("2024-05-01T12:00:00", datetime(2024, 5, 1, 12)),  # no zone: taken as UTC
        ("2024-05-01T12:00:00.123456Z", datetime(2024, 5, 1, 12, 0, 0, 123456)),
        ("2024-05-01T12:00:00.123Z", datetime(2024, 5, 1, 12, 0, 0, 123000)),
        ("2024-05-01", datetime(2024, 5, 1)),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1)),
    ],
)
def test_parse_iso_examples(text: str, expected: datetime) -> None:
    parsed = parse_iso(text, "timestamp")
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize("text", ["yesterday", "", "2024-13-01T00:00:00Z", "01/05/2024",
                                  "2024-05-01T25:00:00Z", "1714564800"])
def test_unparseable_text_names_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_iso(text, "batch[1].timestamp")
    assert info.value.field == "batch[1].timestamp"
    assert "ISO-8601" in info.value.message


@pytest.mark.parametrize("value", [1714564800, 17.5, None, True, ["2024-05-01"], {"t": 1}])
def test_non_string_names_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse_iso(value, "sentAt")
    assert info.value.field == "sentAt"


@pytest.mark.parametrize(
    "text", ["1969-12-31T23:59:59Z", "1900-01-01", "1970-01-01T01:00:00+02:00"]
)
def test_before_1970_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_iso(text, "timestamp")
    assert info.value.field == "timestamp"


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-01:00"]
)
def test_out_of_range_after_zone_conversion_is_a_validation_error(text: str) -> None:
    # Converting to UTC leaves datetime's range: must be reported on the field, not crash.
    with pytest.raises(ValidationError) as info:
        parse_iso(text, "timestamp")
    assert info.value.field == "timestamp"


@given(moment=naive, tz=offsets)
def test_parse_iso_round_trips_aware_datetimes(moment: datetime, tz: timezone) -> None:
    aware = moment.replace(tzinfo=tz)
    expected = aware.astimezone(UTC).replace(tzinfo=None)
    if expected < EPOCH_MIN:
        return
    assert parse_iso(aware.isoformat(), "t") == expected
    if tz.utcoffset(None) == timedelta(0):
        assert parse_iso(moment.isoformat() + "Z", "t") == moment


@given(
    text=st.one_of(
        st.text(max_size=40),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31),
                     timezones=st.none() | offsets).map(lambda d: d.isoformat()),
        # the edges of datetime's range, where a zone offset can push the UTC value out of it
        st.one_of(
            st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 1, 23, 59)),
            st.datetimes(min_value=datetime(9999, 12, 31),
                         max_value=datetime(9999, 12, 31, 23, 59, 59)),
        ).flatmap(lambda d: offsets.map(lambda tz: d.replace(tzinfo=tz).isoformat())),
    )
)
def test_parse_iso_raises_only_validation_errors(text: str) -> None:
    try:
        parsed = parse_iso(text, "t")
    except ValidationError as exc:
        assert exc.field == "t"
    else:
        assert parsed.tzinfo is None
        assert parsed >= EPOCH_MIN


def test_corrected_timestamp_rule() -> None:
    received = datetime(2024, 5, 1, 12, 0, 0)
    original = datetime(2024, 5, 1, 10, 0, 0)  # device clock
    sent = datetime(2024, 5, 1, 10, 5, 0)  # device clock, 5 minutes later
    assert corrected_timestamp(received, sent, original) == datetime(2024, 5, 1, 11, 55, 0)
    assert corrected_timestamp(received, None, original) == original
    assert corrected_timestamp(received, sent, None) == received
    assert corrected_timestamp(received, None, None) == received


@given(
    received=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    skew=st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30)),
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=7)),
    latency=st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=5)),
)
def test_skew_correction_recovers_true_time(
    received: datetime, skew: timedelta, delay: timedelta, latency: timedelta
) -> None:
    """A device whose clock is off by ``skew`` queues an event for ``delay`` before sending; the
    corrected time is the true event time up to the network latency."""
    true_sent = received - latency
    true_event = true_sent - delay
    corrected = corrected_timestamp(received, true_sent + skew, true_event + skew)
    assert corrected == received - delay
    assert corrected - true_event == latency


def test_utcnow_is_naive_utc() -> None:
    now = utcnow()
    assert now.tzinfo is None
    assert abs(datetime.now(UTC).replace(tzinfo=None) - now) < timedelta(seconds=5)
