"""Presentation helpers: tables of formatted cells, figures as JSON for ``<script
type="application/json">``, and CSV that spreadsheets cannot run."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from babel.dates import format_skeleton, format_timedelta
from babel.numbers import get_decimal_symbol, get_group_symbol
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
    # the locale's decimal and group symbols for every number Plotly writes (ticks, hovers)
    fig.update_layout(separators=get_decimal_symbol(tr.locale) + get_group_symbol(tr.locale))
    for axis in ("x", "y"):
        _localise_ticks(fig, axis, tr)
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


_DATE_TEXT = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ]00:00(?::00(?:\.0+)?)?)?( \(.*\))?$")
"""A date as the analyses write it, maybe with a count after it (a cohort: "2026-01-05 (13)")."""
_PERIOD_TEXT = re.compile(r"^(day|week|month) (\d+)$")
"""A period number as the analyses write it ("week 3": retention's columns)."""
MAX_TICKS = 12


def _as_day(value: Any) -> tuple[date, str] | None:
    """The date of an axis value and the text after it, or None if it is not a date."""
    if isinstance(value, str):
        found = _DATE_TEXT.match(value)
        if not found:
            return None
        try:
            return date.fromisoformat(found.group(1)), found.group(2) or ""
        except ValueError:
            return None
    if isinstance(value, datetime | pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT or (stamp.hour, stamp.minute, stamp.second) != (0, 0, 0):
            return None
        return stamp.date(), ""
    if isinstance(value, date):
        return value, ""
    return None


def _localise_ticks(fig: Any, axis: str, tr: Translator) -> None:
    """Dates on an axis written by Babel in the page's language (Plotly would write English
    month names; its own locales are separate files), and "week 3" in the page's words."""
    by_axis: dict[str, list[Any]] = {}
    for trace in fig.data:
        values = getattr(trace, axis, None) if trace.type in ("bar", "scatter", "heatmap") else None
        if values is not None:
            by_axis.setdefault(getattr(trace, f"{axis}axis", None) or axis, []).extend(values)
    for ref, values in by_axis.items():
        unique = list({str(v): v for v in values}.values())
        if not unique:
            continue
        days = [_as_day(v) for v in unique]
        ticks: list[tuple[Any, Any, str]]  # (order, tick value, text)
        most = MAX_TICKS
        hover: str | None = None
        if all(d is not None for d in days):
            found = [d for d in days if d is not None]
            firsts = sorted({d for d, _ in found})
            monthly = all(d.day == 1 for d in firsts) and all(
                (b - a).days >= 28 for a, b in itertools.pairwise(firsts))
            if any(rest for _, rest in found):
                most = 3 * MAX_TICKS  # a heatmap's rows (cohorts): each row keeps its name
            else:  # a date axis: hover labels in digits, not plotly.js's English month names
                hover = "%Y-%m" if monthly else "%Y-%m-%d"
            ticks = []
            for value, (day, rest) in zip(unique, found, strict=True):
                text = (str(format_skeleton("yMMM", day, locale=tr.locale)) if monthly
                        else tr.date(day))
                ticks.append((day, value if isinstance(value, str) else day.isoformat(),
                              text + rest))
        elif all(isinstance(v, str) and _PERIOD_TEXT.match(v) for v in unique):
            ticks = []
            for value in unique:
                unit, number = value.split(" ")
                text = f"{tr(f'period.{unit}')} {tr.number(int(number))}"
                ticks.append((int(number), value, text))
        else:
            continue
        ticks.sort(key=lambda t: t[0])
        step = -(-len(ticks) // most)
        shown = ticks[::step]
        name = ref[0] + "axis" + ref[1:]
        layout: dict[str, Any] = {"tickmode": "array", "tickvals": [t[1] for t in shown],
                                  "ticktext": [t[2] for t in shown]}
        if hover:
            layout["hoverformat"] = hover
        fig.update_layout({name: layout})


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
