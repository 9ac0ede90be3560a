"""From attempts to the numbers a person reads: counts per step, times, histogram, trend.

Every aggregate runs in Ibis over the attempts table; pandas only reshapes the aggregated rows
(one per breakdown value or period).
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics._funnel_spec import FunnelSpec
from touchpath.analytics.zones import to_local

NONE = "(none)"
PERCENTILES = (0.25, 0.5, 0.75, 0.9)
BINS: tuple[tuple[float, str], ...] = (
    (60, "< 1 min"), (300, "1-5 min"), (900, "5-15 min"), (3600, "15-60 min"),
    (6 * 3600, "1-6 h"), (24 * 3600, "6-24 h"), (3 * 86400, "1-3 days"),
    (7 * 86400, "3-7 days"), (30 * 86400, "7-30 days"),
)
LAST_BIN = "30+ days"


def seconds_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    return micros_between(later, earlier).cast("float64") / 1e6


def micros_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    """Whole microseconds: their sum is exact, so a mean does not vary with the engine's
    parallel summation order (a float sum did, in the last digits, from run to run)."""
    return later.delta(earlier, unit="microsecond")


def mean_seconds(total_micros: Any, count: Any) -> float | None:
    if count is None or total_micros is None or pd.isna(count) or int(count) == 0:
        return None
    return int(total_micros) / int(count) / 1e6


def chosen(attempts: ir.Table, spec: FunnelSpec, by: list[str]) -> ir.Table:
    """The attempts that count: all (``every``) or each unit's best per group (``unique``):
    the furthest step reached, then the earliest first step."""
    if spec.conversions == "every":
        return attempts
    rank = ibis.row_number().over(
        group_by=[attempts[c] for c in [*by, "unit"]],
        order_by=[ibis.desc(attempts.reached), attempts.entry_ts, attempts.entry_msg])
    ranked = attempts.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


def _pairs(n: int) -> list[tuple[int, int]]:
    pairs = [(k - 1, k) for k in range(2, n + 1)]
    return [*pairs, (1, n)] if n > 2 else pairs


def aggregates(picked: ir.Table, spec: FunnelSpec, by: list[str], full: bool) -> pd.DataFrame:
    """One query: per group, the count at each step and the median and mean time from the
    previous step; with ``full`` also the percentiles of each step pair and the histogram."""
    n = len(spec.steps)
    aggs: dict[str, Any] = {}
    for k in range(1, n + 1):
        aggs[f"c_{k}"] = (picked.reached >= k).cast("int64").sum()
        if k > 1:
            gap = seconds_between(picked[f"t_{k}"], picked[f"t_{k - 1}"])
            if not full:  # else the median is the pair's 50th percentile, below
                aggs[f"med_{k}"] = gap.median()
            aggs[f"sum_{k}"] = micros_between(picked[f"t_{k}"], picked[f"t_{k - 1}"]).sum()
            aggs[f"cnt_{k}"] = gap.count()
    if full:
        for a, b in _pairs(n):
            gap = seconds_between(picked[f"t_{b}"], picked[f"t_{a}"])
            aggs[f"n_{a}_{b}"] = gap.count()
            aggs[f"sum_{a}_{b}"] = micros_between(picked[f"t_{b}"], picked[f"t_{a}"]).sum()
            # every percentile of the pair from one sort of its times
            aggs[f"q_{a}_{b}"] = gap.quantile(list(PERCENTILES))
        for k in range(2, n + 1):
            gap = seconds_between(picked[f"t_{k}"], picked[f"t_{k - 1}"])
            low = 0.0
            for i, (edge, _) in enumerate((*BINS, (math.inf, LAST_BIN))):
                inside = (gap >= low) if math.isinf(edge) else (gap >= low) & (gap < edge)
                aggs[f"h_{k}_{i}"] = inside.fill_null(False).cast("int64").sum()
                low = edge
    grouped = picked.group_by(by).aggregate(**aggs) if by else picked.aggregate(**aggs)
    data = grouped.to_pandas()
    if not full:
        return data
    columns: dict[str, list[float | None]] = {}
    for a, b in _pairs(n):
        values = [_percentiles(v) for v in data.pop(f"q_{a}_{b}")]
        for i, p in enumerate(PERCENTILES):
            columns[f"p{int(p * 100)}_{a}_{b}"] = [v[i] for v in values]
        if b == a + 1:
            columns[f"med_{b}"] = columns[f"p50_{a}_{b}"]
    return pd.concat([data, pd.DataFrame(columns, index=data.index)], axis=1)


def _percentiles(value: Any) -> list[float | None]:
    """The percentiles of one pair (NULL when no attempt made that pair)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return [None] * len(PERCENTILES)
    return [None if v is None else float(v) for v in value]


def step_rows(data: pd.DataFrame, spec: FunnelSpec, by: list[str]) -> pd.DataFrame:
    """One row per (group..., step): count, conversions, drop-off, times from the previous
    step, from the rows of :func:`aggregates`."""
    n = len(spec.steps)
    labels = spec.labels
    out: list[dict[str, Any]] = []
    for _, row in data.iterrows():
        first = _int(row["c_1"])
        for k in range(1, n + 1):
            count = _int(row[f"c_{k}"])
            previous = _int(row[f"c_{k - 1}"]) if k > 1 else count
            following = _int(row[f"c_{k + 1}"]) if k < n else None
            record: dict[str, Any] = {c: row[c] for c in by}
            record.update({
                "step": k, "label": labels[k - 1], "count": count,
                "conversion": count / first if first else None,
                "conversion_from_previous": count / previous if previous else None,
                "dropped": count - following if following is not None else None,
                "median_seconds_from_previous": _num(row.get(f"med_{k}")),
                "mean_seconds_from_previous": (
                    mean_seconds(row.get(f"sum_{k}"), row.get(f"cnt_{k}")) if k > 1 else None),
            })
            out.append(record)
    columns = [*by, "step", "label", "count", "conversion", "conversion_from_previous",
               "dropped", "median_seconds_from_previous", "mean_seconds_from_previous"]
    frame = pd.DataFrame(out, columns=columns)
    frame["dropped"] = frame["dropped"].astype("Int64")
    return frame


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _num(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


def time_to_convert(data: pd.DataFrame, spec: FunnelSpec) -> pd.DataFrame:
    """Per pair of consecutive steps (and first to last): attempts, mean and percentiles."""
    row = data.iloc[0]
    labels = spec.labels
    out = []
    for a, b in _pairs(len(spec.steps)):
        record: dict[str, Any] = {"from_step": a, "to_step": b,
                                  "from": labels[a - 1], "to": labels[b - 1],
                                  "converted": _int(row[f"n_{a}_{b}"]),
                                  "mean_seconds": mean_seconds(row[f"sum_{a}_{b}"],
                                                               row[f"n_{a}_{b}"])}
        for p in PERCENTILES:
            record[f"p{int(p * 100)}_seconds"] = _num(row[f"p{int(p * 100)}_{a}_{b}"])
        out.append(record)
    return pd.DataFrame(out)


def histogram(data: pd.DataFrame, spec: FunnelSpec) -> pd.DataFrame:
    """Counts of step-to-step times in fixed bins (under a minute ... over 30 days); a bin
    includes its lower edge."""
    row = data.iloc[0]
    names = [name for _, name in BINS] + [LAST_BIN]
    rows = [{"from_step": k - 1, "to_step": k, "bin": name, "count": _int(row[f"h_{k}_{i}"])}
            for k in range(2, len(spec.steps) + 1) for i, name in enumerate(names)]
    return pd.DataFrame(rows, columns=["from_step", "to_step", "bin", "count"])


def period_start(ts: ir.TimestampValue, period: str, zone: str) -> ir.TimestampValue:
    """The first day (in ``zone``) of the day, ISO week or month holding ``ts``."""
    unit = {"day": "D", "week": "W", "month": "M"}[period]
    return to_local(ts, zone).truncate(unit)


def trend(attempts: ir.Table, spec: FunnelSpec, period: str, zone: str) -> pd.DataFrame:
    """Conversion of attempts by the period (day, ISO week, month of ``zone``) of their first
    step. With ``unique``, each unit counts once per period, by its best attempt begun in it."""
    n = len(spec.steps)
    dated = attempts.mutate(period=period_start(attempts.entry_ts, period, zone))
    picked = chosen(dated, spec, ["period"])
    data = picked.group_by("period").aggregate(
        entered=picked.count(), converted=(picked.reached >= n).cast("int64").sum(),
    ).order_by("period").to_pandas()
    data["converted"] = data["converted"].astype("int64")
    data["conversion"] = data["converted"] / data["entered"]
    data["period"] = pd.to_datetime(data["period"]).dt.date
    return data[["period", "entered", "converted", "conversion"]]
