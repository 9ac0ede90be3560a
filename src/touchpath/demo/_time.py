"""When things happen: Israeli wall-clock time, busy days and busy hours.

People browse in the evening and less on Friday and Saturday; the stores open Sunday to
Thursday 10:00-21:00 and Friday 09:00-14:00; traffic grows over the window and jumps in the
spring sale. Times are drawn on the Asia/Jerusalem wall clock and stored as naive UTC.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from touchpath.demo._arrow import EPOCH, I64, US_PER_DAY, US_PER_H, US_PER_S
from touchpath.demo._catalogue import SALE_DAYS, SALE_START_DAY

ZONE = ZoneInfo("Asia/Jerusalem")

WEB_HOURS = np.array([0.8, 0.4, 0.2, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 2.3, 2.4, 2.5, 2.4, 2.3,
                      2.3, 2.4, 2.6, 2.9, 3.3, 3.8, 4.0, 3.2, 1.8])
STORE_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.0, 1.3, 1.5, 1.4, 1.2, 1.2, 1.4, 1.8,
                        2.2, 2.3, 1.9, 1.0], dtype=np.float64)
STORE_HOURS = np.concatenate([STORE_HOURS, np.zeros(2)])
FRIDAY_STORE_HOURS = np.array([0] * 9 + [1.2, 1.6, 1.9, 1.8, 1.2] + [0] * 10, dtype=np.float64)
WEB_WEEKDAY = np.array([1.0, 1.0, 1.0, 1.0, 0.85, 0.7, 1.05])  # Monday .. Sunday


class Clock:
    """Asia/Jerusalem wall clock <-> UTC over the demo window, one table look-up per row.

    Offsets come from the time-zone database once per hour of the window (+2 h in winter, +3 h
    in summer), so the daylight-saving changes fall where Israel's law puts them.
    """

    def __init__(self, start_us: int, days: int) -> None:
        self.start = start_us
        self.days = days
        self.end = start_us + days * US_PER_DAY
        self.base = start_us - 2 * US_PER_DAY
        hours = (days + 40) * 24
        first = EPOCH + timedelta(microseconds=self.base)
        offsets = np.empty(hours, dtype=np.int64)
        for h in range(hours):
            offset = (first + timedelta(hours=h)).replace(tzinfo=ZONE).utcoffset()
            offsets[h] = int(offset.total_seconds()) * US_PER_S if offset is not None else 0
        self.offsets = offsets
        weekday0 = (EPOCH + timedelta(microseconds=start_us)).weekday()
        self.weekday = (weekday0 + np.arange(days + 40)) % 7
        day = np.arange(days, dtype=np.float64)
        weights = WEB_WEEKDAY[self.weekday[:days]] * (1.0 + 0.35 * day / max(days, 1))
        sale = (day >= SALE_START_DAY) & (day < SALE_START_DAY + SALE_DAYS)
        self.web_days = np.where(sale, weights * 1.5, weights)
        self.sale = (start_us + SALE_START_DAY * US_PER_DAY,
                     start_us + (SALE_START_DAY + SALE_DAYS) * US_PER_DAY)

    def _hour(self, us: I64) -> I64:
        return np.clip((us - self.base) // US_PER_H, 0, len(self.offsets) - 1)

    def offset_of_utc(self, utc_us: I64) -> I64:
        """The zone offset (µs) in force at these UTC instants."""
        # the table is indexed by wall-clock hour; +2 h is right outside the one changing hour
        return self.offsets[self._hour(utc_us + 2 * US_PER_H)]

    def to_utc(self, local_us: I64) -> I64:
        return local_us - self.offsets[self._hour(local_us)]

    def to_local(self, utc_us: I64) -> I64:
        return utc_us + self.offset_of_utc(utc_us)

    def web_times(self, rng: np.random.Generator, n: int, horizon: float = 1.0) -> I64:
        """``n`` first-visit times over the first ``horizon`` of the window."""
        last = max(1, int(self.days * horizon))
        w = self.web_days[:last]
        day = rng.choice(last, size=n, p=w / w.sum())
        return self.at_web_hour(rng, self.start + day * US_PER_DAY)

    def at_web_hour(self, rng: np.random.Generator, utc_us: I64) -> I64:
        """Move each instant to a likely browsing hour of its own local day (never earlier)."""
        local = self.to_local(utc_us)
        day = local // US_PER_DAY * US_PER_DAY
        hour = rng.choice(24, size=len(utc_us), p=WEB_HOURS / WEB_HOURS.sum())
        seconds = rng.integers(0, 3600, size=len(utc_us))
        out = self.to_utc(day + hour * US_PER_H + seconds * US_PER_S)
        return np.where(out < utc_us, out + US_PER_DAY, out)

    def store_times(self, rng: np.random.Generator, utc_us: I64) -> I64:
        """Move each instant into store opening hours (Saturday moves to Sunday)."""
        local = self.to_local(utc_us)
        day_index = np.clip((local - self.start) // US_PER_DAY, 0, len(self.weekday) - 2)
        weekday = self.weekday[day_index]
        shift = (weekday == 5).astype(np.int64)  # Saturday: closed
        day = (local // US_PER_DAY + shift) * US_PER_DAY
        friday = self.weekday[day_index + shift] == 4
        hour = np.where(
            friday,
            rng.choice(24, size=len(utc_us), p=FRIDAY_STORE_HOURS / FRIDAY_STORE_HOURS.sum()),
            rng.choice(24, size=len(utc_us), p=STORE_HOURS / STORE_HOURS.sum()),
        )
        seconds = rng.integers(0, 3600, size=len(utc_us))
        return self.to_utc(day + hour * US_PER_H + seconds * US_PER_S)

    def in_sale(self, utc_us: I64) -> np.ndarray:
        return (utc_us >= self.sale[0]) & (utc_us < self.sale[1])
