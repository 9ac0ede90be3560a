"""What every analysis returns: DataFrames, the numbers a person reads, a chart, a JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import pandas as pd

from touchpath.analytics.codec import to_dict


@dataclass(frozen=True)
class AnalysisResult:
    """Base of every typed result.

    ``frame`` is the main table; ``tables`` adds named secondary tables (a funnel's time to
    convert, a path's transition matrix); ``summary`` holds the headline numbers (overall
    conversion, people counted). Subclasses add typed accessors and :meth:`figure`.
    """

    kind: ClassVar[str] = "analysis"
    person_tables: ClassVar[tuple[str, ...]] = ()
    """Tables that list people (one row per person): left out of :meth:`to_dict` unless asked
    for, since they grow with the store (a REST answer would carry every churned person)."""
    spec: Any
    frame: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def to_dict(self, *, persons: bool = False) -> dict[str, Any]:
        """JSON-ready: ``{"kind", "spec", "summary", "rows", "tables": {name: rows}}``; the
        :attr:`person_tables` only with ``persons=True`` (their names are listed under
        ``"person_tables"`` either way)."""
        tables = {name: records(frame) for name, frame in self.tables.items()
                  if persons or name not in self.person_tables}
        return {
            "kind": self.kind,
            "spec": to_dict(self.spec),
            "summary": json_ready(self.summary),
            "rows": records(self.frame),
            "tables": tables,
            "person_tables": [n for n in self.person_tables if n in self.tables],
        }

    def figure(self) -> Any:
        """A Plotly figure of the result (subclasses draw their own chart)."""
        import plotly.express as px

        return px.bar(self.frame) if not self.frame.empty else px.scatter()

    def _repr_html_(self) -> str:  # notebooks show the main table
        return str(self.frame._repr_html_())


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a DataFrame as JSON-ready dicts (NaN as null, times as ISO text)."""
    return [json_ready(row) for row in frame.to_dict(orient="records")]


def json_ready(value: Any) -> Any:
    """``value`` with every NaN, timestamp, numpy number and tuple made JSON-ready."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy scalars and arrays
        return json_ready(value.tolist())
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if value is pd.NaT or value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta | pd.Timedelta):
        return pd.Timedelta(value).total_seconds()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value
