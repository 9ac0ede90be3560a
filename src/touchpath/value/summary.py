"""The frequency / recency / age / monetary summary of each buyer, from the purchase events.

Rules (``docs/clv.md``): a person's purchases (events matching the purchase matcher, among the
events an analysis sees) are collapsed to one **transaction per period** (UTC day, or ISO week
starting Monday), its value the sum of the purchases' values (NULL values left out; NULL when
all are). A purchase belongs to the calibration period when its day is on or before
``calibration_end``, to the holdout when after it and on or before ``observation_end``.
For each person with a purchase in the calibration period:

* ``frequency``: calibration transactions after the first (repeat purchases);
* ``recency``: time from the first to the last calibration transaction (0 without repeats);
* ``T``: time from the first transaction to the period of ``calibration_end``;
* ``monetary``: mean value of the repeat transactions that have one (NaN without);
* ``holdout_purchases`` / ``holdout_value``: transactions and their value in the holdout.

Times are differences of period starts, in the time unit (days, or weeks = days / 7), as in the
lifetimes package's ``summary_data_from_transaction_data``. The work is one Ibis query over
:func:`~touchpath.analytics.frame.scoped_events`; only the per-person result is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.filters import EventMatcher, Filters
from touchpath.analytics.frame import matches, property_value, scoped_events
from touchpath.analytics.source import EventSource
from touchpath.errors import QueryError

Period = Literal["day", "week"]
TimeUnit = Literal["days", "weeks"]
UNIT_DAYS = {"days": 1.0, "weeks": 7.0}
_TRUNCATE = {"day": "D", "week": "W"}
_EPOCH = date(1970, 1, 1)
SUMMARY_COLUMNS = ("person_id", "first_purchase", "frequency", "recency", "T", "monetary",
                   "first_value", "holdout_purchases", "holdout_value")


@dataclass(frozen=True)
class PurchaseSummary:
    """One row per buyer (:data:`SUMMARY_COLUMNS`) and the dates it was computed for."""

    persons: pd.DataFrame
    calibration_end: date
    observation_end: date
    period: Period
    time_unit: TimeUnit
    holdout_newcomers: int = 0
    """People whose first purchase is in the holdout (not customers of the calibration
    period, so not in :attr:`persons`)."""

    @property
    def holdout_length(self) -> float:
        """Length of the holdout in the time unit (0 without a holdout)."""
        return (self.observation_end - self.calibration_end).days / UNIT_DAYS[self.time_unit]


def _epoch_days(value: ir.TimestampValue) -> ir.IntegerValue:
    return (value.epoch_seconds() // 86400).cast("int64")


def _period_day(day: date, period: Period) -> int:
    """The epoch day of the start of ``day``'s period."""
    number = (day - _EPOCH).days
    if period == "week":
        number -= day.weekday()
    return number


def purchase_periods(source: EventSource, purchase: EventMatcher, value: str,
                     filters: Filters, period: Period) -> ir.Table:
    """One row per person and period with purchases: ``person_id``, ``day`` (epoch day of the
    earliest purchase), ``period`` (epoch day of the period start), ``value``, ``purchases``.
    Purchases of one period on both sides of a split are told apart by ``day`` in
    :func:`purchase_summary` (its grouping adds the split)."""
    events = scoped_events(source, filters)
    bought = events.filter(matches(events, purchase))
    amount = property_value(bought, value)
    amount = amount if amount.type().is_numeric() else amount.cast("string").try_cast("float64")
    return bought.select(
        person_id=bought.person_id,
        day=_epoch_days(bought.timestamp.truncate("D")),
        period=_epoch_days(bought.timestamp.truncate(_TRUNCATE[period])),
        value=amount.cast("float64"),
    )


def purchase_summary(source: EventSource, purchase: EventMatcher, *, value: str = "revenue",
                     calibration_end: date | None = None, observation_end: date | None = None,
                     period: Period = "day", time_unit: TimeUnit = "weeks",
                     filters: Filters = Filters()) -> PurchaseSummary:
    """The summary of every person with a purchase on or before ``calibration_end``.

    ``observation_end`` defaults to the day of the last purchase, ``calibration_end`` to
    ``observation_end`` (no holdout). Raises :class:`QueryError` when there is no purchase.
    """
    rows = purchase_periods(source, purchase, value, filters, period)
    if observation_end is None:
        last = rows.day.max().to_pyarrow().as_py()
        if last is None:
            raise QueryError(f"no {purchase.title!r} events among the events analysed "
                             "(check the purchase event and the filters)", field="purchase")
        observation_end = _EPOCH + pd.Timedelta(days=int(last)).to_pytimedelta()
    if calibration_end is None:
        calibration_end = observation_end
    if calibration_end > observation_end:
        raise QueryError(f"calibration_end {calibration_end} is after observation_end "
                         f"{observation_end}", field="calibration_end")
    cal_day = (calibration_end - _EPOCH).days
    obs_day = (observation_end - _EPOCH).days
    rows = rows.filter(rows.day <= obs_day)
    rows = rows.mutate(cal=rows.day <= cal_day)
    periods = rows.group_by("person_id", "period", "cal").agg(
        value=rows.value.sum(), purchases=rows.count())
    firsts = periods.filter(periods.cal).group_by("person_id").agg(first=periods.period.min())
    joined = periods.join(firsts, "person_id")
    cal = joined.cal
    repeat = cal & (joined.period > joined.first)
    unit = UNIT_DAYS[time_unit]
    cal_period = _period_day(calibration_end, period)
    per_person = joined.group_by("person_id").agg(
        first=joined.first.min(),
        frequency=cal.cast("int64").sum() - 1,
        last=joined.period.max(where=cal),
        repeat_sum=joined.value.sum(where=repeat),
        repeat_n=joined.value.count(where=repeat),
        first_value=joined.value.max(where=cal & (joined.period == joined.first)),
        holdout_purchases=(~cal).cast("int64").sum(),
        holdout_value=joined.value.sum(where=~cal),
    )
    frame = per_person.order_by("person_id").to_pandas()
    if frame.empty:
        window = (f"on or before {calibration_end}" if calibration_end == observation_end
                  else f"in the calibration period (on or before {calibration_end})")
        raise QueryError(f"no {purchase.title!r} events {window} among the events analysed",
                         field="purchase")
    first = frame["first"].astype("int64")
    persons = pd.DataFrame({
        "person_id": frame["person_id"].astype(str),
        "first_purchase": pd.to_datetime(first, unit="D").dt.date,
        "frequency": frame["frequency"].astype("int64"),
        "recency": (frame["last"].astype("int64") - first) / unit,
        "T": (cal_period - first) / unit,
        "monetary": (frame["repeat_sum"].astype("float64")
                     / frame["repeat_n"].astype("float64").where(frame["repeat_n"] > 0)),
        "first_value": frame["first_value"].astype("float64"),
        "holdout_purchases": frame["holdout_purchases"].astype("int64"),
        "holdout_value": frame["holdout_value"].astype("float64").fillna(0.0),
    })
    newcomers = 0
    if calibration_end < observation_end:
        every = periods.group_by("person_id").agg(any_cal=periods.cal.any())
        newcomers = int(every.filter(~every.any_cal).count().to_pyarrow().as_py())
    return PurchaseSummary(persons, calibration_end, observation_end, period, time_unit,
                           newcomers)
