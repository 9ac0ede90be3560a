"""Calendar days in a business's time zone: where days, weeks and months begin.

Events keep their instant as naive UTC (``timestamp``). An analysis counts calendar periods
(a date range's days, retention and lifecycle periods, trends) in one IANA time zone: the
spec's ``filters.timezone``, else the source's ``timezone`` (the store's setting ``timezone``),
else UTC. Durations (conversion windows, session timeouts, rolling periods, churn days) are
elapsed time and do not depend on the zone.

- :func:`to_local` turns an instant column into the zone's wall-clock time, which is then
  truncated to the day, week or month as before;
- :func:`day_start` is the instant (naive UTC) at which a local calendar day begins, for
  bounds computed in Python.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from touchpath.errors import ValidationError

DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=64)
def zone_info(name: str, field: str = "filters.timezone") -> ZoneInfo:
    """The :class:`ZoneInfo` called ``name``; a clear error naming ``field`` otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("expected an IANA time zone name such as 'Asia/Jerusalem'",
                              field=field)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"unknown time zone {name!r}; use an IANA name such as 'UTC',"
                              " 'Asia/Jerusalem' or 'America/New_York'", field=field) from None


def zone_of(source: Any, timezone: str | None) -> str:
    """The zone an analysis counts in: ``timezone`` (from the spec's filters), else the
    source's ``timezone`` attribute, else UTC."""
    if timezone is not None:
        return timezone
    return str(getattr(source, "timezone", None) or DEFAULT_ZONE)


def is_utc(zone: str) -> bool:
    return zone in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu")


def day_start(day: date, zone: str) -> datetime:
    """The instant (naive UTC) at which calendar day ``day`` begins in ``zone``. Where a
    clock change skips midnight, the day begins at the change."""
    if is_utc(zone):
        return datetime.combine(day, time())
    local = datetime.combine(day, time(), tzinfo=zone_info(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def local_date(instant: datetime, zone: str) -> date:
    """The calendar day in ``zone`` of ``instant`` (naive UTC)."""
    if is_utc(zone):
        return instant.date()
    return instant.replace(tzinfo=UTC).astimezone(zone_info(zone)).date()


def today(zone: str) -> date:
    """Today's date in ``zone``."""
    return datetime.now(zone_info(zone)).date()


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]
def _duckdb_instant(zone: str, wall: dt.Timestamp()) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]
    """DuckDB: a wall-clock time in ``zone`` as an instant."""


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]
def _duckdb_wall(zone: str, instant: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():  # type: ignore[valid-type]
    """DuckDB: an instant as the wall-clock time of ``zone``."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")  # type: ignore[untyped-decorator]
def _spark_wall(instant: dt.Timestamp(), zone: str) -> dt.Timestamp():  # type: ignore[valid-type]
    """Spark: a UTC time as the wall-clock time of ``zone``."""


TABLE_YEARS = (1970, 2100)
"""The years whose clock changes :func:`to_local` writes into the query; times outside them
(none in real data) are converted by the engine's own time-zone function."""


def to_local(ts: ir.TimestampValue, zone: str) -> ir.TimestampValue:
    """``ts`` (naive UTC) as the wall-clock time of ``zone`` (unchanged for UTC).

    The zone's UTC offsets from 1970 to 2100 come from Python's zoneinfo and go into the query
    as a balanced tree of comparisons with the instants the offset changes (about 8 deep for
    a zone with summer time): ``ts + offset``. That is plain arithmetic every engine runs the
    same, and at 10M events it costs 0.25 CPU s where DuckDB's ICU ``timezone()`` costs 1.8.
    Outside those years the engine's own function converts."""
    if is_utc(zone):
        return ts
    info = zone_info(zone)  # a clear error before the engine's
    value = getattr(ts.op(), "value", None)
    if isinstance(value, datetime):  # a literal: converted here
        wall = value.replace(tzinfo=UTC).astimezone(info).replace(tzinfo=None)
        return ibis.literal(wall, type="timestamp")
    first, changes = offsets(zone)
    low, high = (datetime(year, 1, 1) for year in TABLE_YEARS)
    offset = _offset_tree(ts, first, changes, 0, len(changes))
    shifted = ts + offset.as_interval("s")
    inside = (ts >= ibis.literal(low, type="timestamp")) & (
        ts < ibis.literal(high, type="timestamp"))
    return ibis.ifelse(inside, shifted, _engine_wall(ts, zone))


def _offset_tree(ts: ir.TimestampValue, before: int, changes: list[tuple[datetime, int]],
                 lo: int, hi: int) -> ir.IntegerValue:
    """The UTC offset (seconds) at ``ts``, given that it is ``before`` until ``changes[lo]``
    and that ``ts`` lies before ``changes[hi]`` (if any)."""
    if lo == hi:
        return ibis.literal(before, type="int32")
    mid = (lo + hi) // 2
    at, after = changes[mid]
    return ibis.ifelse(ts < ibis.literal(at, type="timestamp"),
                       _offset_tree(ts, before, changes, lo, mid),
                       _offset_tree(ts, after, changes, mid + 1, hi))


@lru_cache(maxsize=64)
def offsets(zone: str) -> tuple[int, list[tuple[datetime, int]]]:
    """The UTC offset (seconds) of ``zone`` at the start of :data:`TABLE_YEARS`, and each
    instant (naive UTC, to the second) in them where it changes, with the offset from then
    on. Found by a day-by-day scan of zoneinfo and bisection to the second."""
    info = zone_info(zone)

    def offset_at(at: datetime) -> int:
        delta = at.replace(tzinfo=UTC).astimezone(info).utcoffset()
        assert delta is not None
        return int(delta.total_seconds())

    day = datetime(TABLE_YEARS[0], 1, 1)
    end = datetime(TABLE_YEARS[1], 1, 1)
    first = current = offset_at(day)
    changes: list[tuple[datetime, int]] = []
    step = timedelta(days=1)
    while day < end:
        following = day + step
        now = offset_at(following)
        if now != current:
            lo, hi = day, following  # offset_at(lo) == current != offset_at(hi)
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if offset_at(mid) == current:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi.replace(microsecond=0), now))
            current = now
        day = following
    return first, changes


def _engine_wall(ts: ir.TimestampValue, zone: str) -> ir.TimestampValue:
    """The engine's own conversion (DuckDB's ICU ``timezone()``, Spark's
    ``from_utc_timestamp``), independent of the engine session's time zone."""
    try:
        spark = ts._find_backend().name == "pyspark"
    except Exception:  # an unbound expression compiles as DuckDB
        spark = False
    if spark:
        return _spark_wall(ts, zone)
    return _duckdb_wall(zone, _duckdb_instant("UTC", ts))
