"""Sessions: how many, how long, how deep, how often a single event, and where they start.

A session is a person's run of events with no gap longer than ``timeout_seconds`` (and,
optionally, no change of campaign): see :func:`touchpath.analytics.frame.with_sessions` and
``docs/sessions.md``.

>>> from touchpath.analytics.sessions import SessionsSpec, run_sessions
>>> run_sessions(store, SessionsSpec(period="week", split_on_campaign=True)).frame  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.filters import Filters
from touchpath.analytics.frame import (
    DEFAULT_SESSION_TIMEOUT_SECONDS,
    ORDER,
    first_in_order,
    in_person_scope,
    materialized,
    scoped_events,
)
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource
from touchpath.analytics.zones import to_local, zone_of
from touchpath.errors import ValidationError

Period = Literal["day", "week", "month"]
TRUNCATE = {"day": "D", "week": "W", "month": "M"}
FREQUENCY = {"day": "D", "week": "W-MON", "month": "MS"}
NO_CHANNEL = "(none)"
COLUMNS = ["period", "sessions", "people", "sessions_per_person", "median_length_seconds",
           "p90_length_seconds", "median_events", "p90_events", "bounce_rate"]


@dataclass(frozen=True)
class SessionsSpec:
    """Sessions per ``period`` (a session counts in the period its first event falls in).
    ``timeout_seconds``: the longest gap within a session; ``split_on_campaign``: a new
    campaign also starts a session (Google Analytics' old rule)."""

    timeout_seconds: int = DEFAULT_SESSION_TIMEOUT_SECONDS
    split_on_campaign: bool = False
    period: Period = "day"
    filters: Filters = Filters()

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0:
            raise ValidationError("must be a positive number of seconds",
                                  field="timeout_seconds")


@dataclass(frozen=True)
class SessionsResult(AnalysisResult):
    """``frame``: one row per period (sessions, people, sessions per person, median and p90
    session length in seconds and events per session, bounce rate). ``summary``: the same
    over the whole range. ``tables["entry_channels"]``: the channel of each session's first
    event (``sessions``, ``share``)."""

    kind: ClassVar[str] = "sessions"

    @property
    def entry_channels(self) -> pd.DataFrame:
        return self.tables["entry_channels"]

    def figure(self) -> Any:
        import plotly.express as px

        return px.bar(self.frame, x="period", y="sessions", hover_data=["people", "bounce_rate"])


def session_table(source: EventSource, spec: SessionsSpec,
                  stored: ir.Table | None = None) -> ir.Table:
    """One row per session: ``person_id``, ``session_index``, ``started``, ``length_seconds``,
    ``events`` and ``entry_channel`` (of the session's first event the analysis sees).

    From the store's table of sessions when the source keeps one (``stored_sessions``, the
    DuckDB store) for this timeout and the spec sees whole histories (no date range, no
    event filter: person filters and segments keep whole people; ``stored``: that table,
    when the caller has it already); computed otherwise."""
    grouped = stored if stored is not None else _stored_sessions(source, spec)
    if grouped is None:
        events = scoped_events(source, spec.filters, sessions=True,
                               session_timeout_seconds=spec.timeout_seconds,
                               split_on_campaign=spec.split_on_campaign)
        order = [events[c] for c in ORDER]
        grouped = events.group_by("person_id", "session_index").agg(  # an int: cheaper
            started=events.timestamp.min(), ended=events.timestamp.max(),
            events=events.count(),
            entry_channel=first_in_order(events.channel, *order))  # channel: NOT NULL
    return grouped.mutate(
        length_seconds=grouped.ended.delta(grouped.started, unit="microsecond")
        .cast("float64") / 1e6,
        period=to_local(grouped.started, zone_of(source, spec.filters.timezone))
        .truncate(TRUNCATE[spec.period]),
    ).drop("ended")


def _stored_sessions(source: EventSource, spec: SessionsSpec) -> ir.Table | None:
    keep = getattr(source, "stored_sessions", None)
    filters = spec.filters
    if (keep is None or spec.split_on_campaign or filters.date_range is not None
            or filters.where or filters.channels
            or getattr(source, "session_timeout_seconds", None) != spec.timeout_seconds):
        return None
    stored: ir.Table = keep()
    return in_person_scope(source, stored, filters, None).select(
        "person_id", "session_index", "started", "ended", "events", "entry_channel")


def _measures(table: ir.Table) -> dict[str, Any]:
    return {
        "sessions": table.count(), "people": table.person_id.nunique(),
        "median_length_seconds": table.length_seconds.median(),
        "p90_length_seconds": table.length_seconds.quantile(0.9),
        "median_events": table.events.cast("float64").median(),
        "p90_events": table.events.cast("float64").quantile(0.9),
        "bounces": (table.events == 1).cast("int64").sum(),
    }


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    sessions = int(row.pop("sessions") or 0)
    bounces = int(row.pop("bounces") or 0)
    people = int(row["people"] or 0)
    done = {**row, "sessions": sessions, "people": people,
            "sessions_per_person": sessions / people if people else None,
            "bounce_rate": bounces / sessions if sessions else None}
    return {key: done[key] for key in COLUMNS if key in done}


@register("sessions", SessionsSpec, "Sessions per period: people, sessions per person, "
          "session length, events per session, bounce rate and entry channels.")
def run_sessions(source: EventSource, spec: SessionsSpec) -> SessionsResult:
    """Run a sessions analysis (see :class:`SessionsSpec` and ``docs/sessions.md``)."""
    # one row per session, computed once (a temporary table on DuckDB, cached on Spark: a
    # fetch of every session from Spark exceeded its 1 GB result limit at 50M events); the
    # three tables are counted from it in one query. The store's table of sessions is read
    # as it is, unless a join picks the people.
    stored = _stored_sessions(source, spec)
    sessions = session_table(source, spec, stored)
    if stored is not None and not (spec.filters.person_where or spec.filters.segments):
        data = _aggregated(sessions, whole_histories=True)
    else:
        with materialized(sessions) as table:
            data = _aggregated(table, whole_histories=stored is not None)
    parts = {part: rows.drop(columns="part") for part, rows in data.groupby("part")}
    per_period = parts.get("period", pd.DataFrame(columns=data.columns))
    rows = {pd.Timestamp(r["period"]): _finish(r)
            for r in per_period.drop(columns="channel").to_dict(orient="records")}
    if rows:
        periods = pd.date_range(min(rows), max(rows), freq=FREQUENCY[spec.period])
        empty = {"people": 0, "sessions": 0, "sessions_per_person": None,
                 "median_length_seconds": None, "p90_length_seconds": None,
                 "median_events": None, "p90_events": None, "bounce_rate": None}
        frame = pd.DataFrame([{**rows.get(p, empty), "period": p} for p in periods],
                             columns=COLUMNS)
    else:
        frame = pd.DataFrame(columns=COLUMNS)

    overall = parts["all"].drop(columns=["period", "channel"]).to_dict(orient="records")[0]
    summary = _finish(overall)

    counted = parts.get("channel", pd.DataFrame(columns=["channel", "sessions"]))
    counted = counted[["channel", "sessions"]].astype({"sessions": "int64"})
    counted = counted.sort_values(["sessions", "channel"], ascending=[False, True])
    total = int(counted["sessions"].sum())
    counted["share"] = counted["sessions"] / total if total else []
    entry = counted.reset_index(drop=True)[["channel", "sessions", "share"]]
    return SessionsResult(spec, frame, summary, {"entry_channels": entry})


def _aggregated(table: ir.Table, whole_histories: bool = False) -> pd.DataFrame:
    """The measures per period and over all sessions, and the sessions per entry channel, as
    rows of one table told apart by ``part`` (``period``, ``all``, ``channel``)."""
    text, stamp = ibis.null("string"), ibis.null("timestamp")
    measures = _measures(table)
    per_period = table.group_by("period").agg(**measures)
    # with whole histories every person has a first session: counted, not told apart
    overall = table.aggregate(**{**measures, **(
        {"people": (table.session_index == 1).cast("int64").sum()} if whole_histories else {})})
    channel = table.entry_channel.fill_null(NO_CHANNEL).cast("string")
    by_channel = table.group_by(channel=channel).agg(sessions=table.count())
    nothing = {name: ibis.null(value.type()) for name, value in measures.items()
               if name != "sessions"}
    both = ibis.union(
        per_period.select(part=ibis.literal("period"), period=per_period.period.cast("timestamp"),
                          channel=text, **{m: per_period[m] for m in measures}),
        overall.select(part=ibis.literal("all"), period=stamp, channel=text,
                       **{m: overall[m] for m in measures}),
        by_channel.select(part=ibis.literal("channel"), period=stamp,
                          channel=by_channel.channel, sessions=by_channel.sessions,
                          **nothing),
    )
    return both.to_pandas()
