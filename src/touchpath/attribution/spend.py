"""Marketing spend per touchpoint, for cost per acquisition and return on ad spend.

A table (CSV, Parquet, or a DataFrame) with a column naming the touchpoint -- the spec's
``touchpoint`` name (``channel``, ``utm_campaign``, ``properties.ad_group``) or just
``channel`` / ``touchpoint`` -- a ``cost`` column, and optionally a ``date`` column
(``YYYY-MM-DD``): rows dated outside the analysis' date range are left out, so one spend file
can serve every period.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from touchpath.errors import ValidationError

KEY_COLUMNS = ("channel", "touchpoint")


def read_spend(path: str) -> pd.DataFrame:
    """A spend table from a ``.csv`` or ``.parquet`` file."""
    file = Path(path)
    if not file.is_file():
        raise ValidationError(f"no spend file at {path}", field="spend")
    try:
        if file.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(file)
        return pd.read_csv(file)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read {path}: {exc}", field="spend") from exc


def cost_per_touchpoint(spend: pd.DataFrame, touchpoint: str, start: datetime | None,
                        end: datetime | None) -> pd.Series:
    """Total cost per touchpoint value (a Series indexed by value), dated rows kept only when
    ``start <= date < end``."""
    key = next((c for c in (touchpoint, *KEY_COLUMNS) if c in spend.columns), None)
    if key is None:
        raise ValidationError(f"the spend table needs a {touchpoint!r} (or 'channel') column; "
                              f"it has {', '.join(map(str, spend.columns))}", field="spend")
    if "cost" not in spend.columns:
        raise ValidationError("the spend table needs a 'cost' column", field="spend")
    cost = pd.to_numeric(spend["cost"], errors="coerce")
    if cost.isna().any():
        row = int(cost.isna().to_numpy().nonzero()[0][0])
        raise ValidationError(f"cost on row {row + 1} is not a number: "
                              f"{spend['cost'].iloc[row]!r}", field="spend")
    table = pd.DataFrame({"key": spend[key].astype(str), "cost": cost})
    if "date" in spend.columns and (start is not None or end is not None):
        dates = pd.to_datetime(spend["date"], errors="coerce")
        if dates.isna().any():
            row = int(dates.isna().to_numpy().nonzero()[0][0])
            raise ValidationError(f"date on row {row + 1} is not a date: "
                                  f"{spend['date'].iloc[row]!r}", field="spend")
        keep = pd.Series(True, index=spend.index)
        if start is not None:
            keep &= dates >= pd.Timestamp(start)
        if end is not None:
            keep &= dates < pd.Timestamp(end)
        table = table[keep.to_numpy()]
    return table.groupby("key")["cost"].sum()
