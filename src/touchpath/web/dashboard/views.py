"""Presentation helpers: tables of formatted cells, figures as JSON for ``<script
type="application/json">``, and CSV that spreadsheets cannot run."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from babel.dates import format_timedelta
from markupsafe import Markup

from touchpath.web.dashboard.i18n import Translator

FONT = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Hebrew", '
        '"Noto Sans Arabic", Arial, sans-serif')
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def json_script(value: Any) -> Markup:
    """``value`` as JSON safe inside a ``<script type="application/json">`` element: ``<``,
    ``>`` and ``&`` are escaped so that no text can close the element."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))  # noqa: S704


def figure_json(fig: Any, tr: Translator, *, height: int = 420, reverse_x: bool = False) -> Markup:
    """A Plotly figure styled for the dashboard (its own title dropped: the card has one)."""
    fig.update_layout(
        title=None, template="plotly_white", height=height, autosize=True,
        font={"family": FONT, "size": 13}, margin={"l": 40, "r": 40, "t": 30, "b": 40},
        legend={"orientation": "h", "y": -0.15},
    )
    if reverse_x:
        fig.update_xaxes(autorange="reversed")
    funnels = [t for t in fig.data if t.type == "funnel"]
    if funnels:
        # Plotly measures label widths in the page; under dir="rtl" it gets them wrong and
        # cuts the step names, so the margin is set from the longest name instead.
        longest = max((len(str(y)) for t in funnels for y in (t.y or ())), default=10)
        fig.update_layout(margin={"l": min(320, 20 + 7 * longest)})
        fig.update_yaxes(automargin=False)
    return json_script(fig.to_json())


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False
    href: str | None = None
    time: bool = False
    title: str | None = None
    long: bool = False
    """Holds a word too long to wrap (a URL, JSON): the table may break it anywhere."""


@dataclass(frozen=True)
class TableView:
    headers: list[Cell]
    rows: list[list[Cell]]

    @property
    def empty(self) -> bool:
        return not self.rows


def _is_rate(column: str) -> bool:
    return any(w in column for w in ("rate", "share", "conversion", "probability"))


def cell(value: Any, column: str, tr: Translator, truncate: int = 160) -> Cell:
    """One value formatted for the locale: rates as percents, seconds as durations, numbers
    with the locale's separators, times as dates."""
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):
        missing = False
    if value is None or missing:
        return Cell("–")
    if isinstance(value, bool):
        return Cell(tr("yes") if value else tr("no"))
    if isinstance(value, datetime | pd.Timestamp) and (value.hour, value.minute) != (0, 0):
        return Cell(tr.datetime(value), time=True)
    if isinstance(value, datetime | date | pd.Timestamp):
        return Cell(tr.date(value), time=True)
    if isinstance(value, timedelta | pd.Timedelta):
        value = pd.Timedelta(value).total_seconds()
        column = column + "_seconds"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, int | float):
        if "seconds" in column:
            return Cell(format_timedelta(timedelta(seconds=float(value)), locale=tr.locale,
                                         threshold=1.1), numeric=True)
        if _is_rate(column) or column.startswith("rate_"):
            return Cell(tr.percent(value), numeric=True)
        digits = 1 if isinstance(value, float) and not float(value).is_integer() else 0
        return Cell(tr.number(value, digits), numeric=True)
    text = str(value)
    long = any(len(word) > 24 for word in text.split())
    if len(text) > truncate:  # the page shows the start, the CSV export all of it
        return Cell(text[:truncate] + "…", title=text, long=long)
    return Cell(text, long=long)


def table_view(frame: pd.DataFrame, tr: Translator, *, columns: list[str] | None = None,
               headers: dict[str, str] | None = None, limit: int = 500,
               truncate: int = 160) -> TableView:
    """A DataFrame as formatted cells; headers are translated where the catalogue has
    ``col.<name>``, else shown as they are."""
    names = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    given = headers or {}
    heads = []
    for name in names:
        text = given.get(name) or tr.messages.get(f"col.{name}", str(name))
        heads.append(Cell(text, numeric=pd.api.types.is_numeric_dtype(frame[name])))
    rows = [[cell(row[name], str(name), tr, truncate) for name in names]
            for row in frame.head(limit).to_dict(orient="records")]
    return TableView(heads, rows)


def safe_csv_value(value: Any) -> Any:
    """A cell a spreadsheet shows as text: a leading ``= + - @`` (or tab / carriage return)
    gets an apostrophe in front (OWASP's advice on CSV injection). Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV with every text cell (and header) neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_csv_value(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if _missing(v) else safe_csv_value(_plain(v)) for v in row])
    return out.getvalue()


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value if isinstance(value, int | float | str) else str(value)
