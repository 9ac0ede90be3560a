"""The map's lanes, per stage: touchpoints (where: the source system), channels (how people
came), actions (the events people do) and paths (what follows what), plus the stage KPIs
that come from events (people, revenue, click-through, returning people).

Everything is counted over :func:`~touchpath.journeymap.staged.events_in_stages` by ``at``:
an event belongs to the stage the person was in once it happened. Only aggregates leave the
engine (a few rows per stage and item)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.frame import ORDER, matches
from touchpath.journeymap.spec import ClickRate

HIDDEN_ACTIONS = ("$identify",)
"""Events that are bookkeeping rather than something a customer does."""


def _top(frame: pd.DataFrame, by: str | list[str], top: int, rank: list[str]) -> pd.DataFrame:
    """The first ``top`` rows of each stage by ``rank`` (descending, then the item name, or
    names: ties must not be cut in the engine's row order)."""
    if frame.empty:
        return frame
    names = [by] if isinstance(by, str) else by
    frame = frame.sort_values(["stage", *rank, *names],
                              ascending=[True, *([False] * len(rank)), *([True] * len(names))],
                              kind="stable")
    return frame.groupby("stage", sort=False).head(top).reset_index(drop=True)


def _counted(table: ir.Table, item: str) -> pd.DataFrame:
    table = table.filter(table.at.notnull())  # before the person's first staged event
    grouped = table.group_by(stage=table.at, **{item: table[item]}).agg(
        events=table.count(), people=table.person_id.nunique())
    return grouped.to_pandas()


def touchpoints(events: ir.Table, top: int) -> pd.DataFrame:
    """Per stage, the sources (web, ios, email, pos, helpdesk...) by people, with events."""
    return _top(_counted(events.filter(events.source.notnull()), "source"), "source", top,
                ["people", "events"])


def channels(events: ir.Table, top: int) -> pd.DataFrame:
    """Per stage, the channels (classified: paid search, e-mail, store...) by people."""
    return _top(_counted(events.filter(events.channel.notnull()), "channel"), "channel", top,
                ["people", "events"])


def actions(events: ir.Table, top: int) -> pd.DataFrame:
    """Per stage, the events people do, by people."""
    done = events.filter(events.event.notnull() & ~events.event.isin(list(HIDDEN_ACTIONS)))
    return _top(_counted(done, "event"), "event", top, ["people", "events"])


def paths(events: ir.Table, top: int) -> pd.DataFrame:
    """Per stage, the most common steps from one event to a different next one within the
    stage (``event`` -> ``next_event``), by people who took them."""
    done = events.filter(events.event.notnull() & ~events.event.isin(list(HIDDEN_ACTIONS)))
    window = ibis.window(group_by=done.person_id, order_by=[done[c] for c in ORDER])
    done = done.mutate(next_event=done.event.lead().over(window),
                       next_at=done.at.lead().over(window))
    steps = done.filter((done.next_at == done.at) & (done.next_event != done.event))
    grouped = steps.group_by(stage=steps.at, event=steps.event,
                             next_event=steps.next_event).agg(
        times=steps.count(), people=steps.person_id.nunique()).to_pandas()
    return _top(grouped, ["event", "next_event"], top, ["people", "times"])


def stage_activity(events: ir.Table, rates: tuple[ClickRate, ...]) -> pd.DataFrame:
    """Per stage: ``active`` people (with an event in it), ``events``, ``revenue``, and for
    every click rate ``<label>_impressions`` / ``<label>_clicks``."""
    events = events.filter(events.at.notnull())  # in no stage: in no stage's numbers
    columns: dict[str, ir.Value] = {
        "active": events.person_id.nunique(), "events": events.count(),
        "revenue": events.revenue.sum()}
    for rate in rates:
        columns[f"{rate.label}_impressions"] = events.count(where=matches(events,
                                                                          rate.impression))
        columns[f"{rate.label}_clicks"] = events.count(where=matches(events, rate.click))
    return events.group_by(stage=events.at).agg(**columns).to_pandas()


def returned(events: ir.Table, entries: ir.Table, days: int) -> pd.DataFrame:
    """Per stage: of the people who first entered it at least ``days`` days before the last
    event seen (``eligible``), how many were active again from one day to ``days`` days after
    entering (``returned``)."""
    last = events.timestamp.max().as_scalar()
    eligible = entries.filter(entries.first_at + ibis.interval(seconds=days * 86400) <= last)
    joined = eligible.join(events, eligible.person_id == events.person_id)
    back = joined.filter(
        (joined.timestamp > joined.first_at + ibis.interval(seconds=86400))
        & (joined.timestamp <= joined.first_at + ibis.interval(seconds=days * 86400)))
    came = back.group_by(stage=back.stage).agg(returned=back.person_id.nunique())
    base = eligible.group_by(stage=eligible.stage).agg(eligible=eligible.count())
    return base.left_join(came, "stage").drop("stage_right").to_pandas()


def first_entries(events: ir.Table) -> ir.Table:
    """``person_id``, ``stage``, ``first_at``: when each person first entered each stage."""
    staged = events.filter(events.at.notnull())
    return staged.group_by(["person_id", staged.at.name("stage")]).agg(
        first_at=staged.timestamp.min())
