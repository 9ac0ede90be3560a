"""Funnels in plain Python: the rules of docs/funnels.md, one loop per attempt.

Deliberately slow and literal: each attempt walks its entity's ordered events index by index.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from tests.analytics.reference import common
from touchpath.analytics.funnels import FunnelSpec
from touchpath.analytics.source import EventSource

Event = dict[str, Any]
NONE = "(none)"
SEP = "\x1f"


def entities(events: list[Event], spec: FunnelSpec) -> dict[str, list[Event]]:
    """The events of each entity (person, session, held value, person+value) in order."""
    out: dict[str, list[Event]] = {}
    for event in events:
        held = None
        if spec.hold_constant is not None:
            held = common.as_text(common.value_of(event, spec.hold_constant))
            if held is None:
                continue
        if spec.count_by == "persons":
            unit = event["person_id"]
        elif spec.count_by == "sessions":
            unit = event["session_id"]
        else:
            unit = held
        entity = unit if held is None or spec.count_by == "property" else unit + SEP + held
        out.setdefault(entity, []).append({**event, "_unit": unit})
    for evs in out.values():
        evs.sort(key=lambda e: (e["timestamp"], e["message_id"]))
    return out


def _first_after(evs: list[Event], start: int, matcher: Any) -> int | None:
    for i in range(start, len(evs)):
        if common.is_match(evs[i], matcher):
            return i
    return None


def _ordered_chain(evs: list[Event], s: int, spec: FunnelSpec) -> list[int]:
    window = timedelta(seconds=spec.window_seconds)
    chain = [s]
    for k in range(2, len(spec.steps) + 1):
        step = spec.steps[k - 1]
        previous = chain[-1]
        if spec.order == "strict":
            nxt: int | None = previous + 1
            if nxt >= len(evs) or not common.is_match(evs[nxt], step.matcher):
                break
        else:
            nxt = _first_after(evs, previous + 1, step.matcher)
            if nxt is None:
                break
        assert nxt is not None
        if evs[nxt]["timestamp"] > evs[s]["timestamp"] + window:
            break
        if step.within_seconds is not None and evs[nxt]["timestamp"] > (
                evs[previous]["timestamp"] + timedelta(seconds=step.within_seconds)):
            break
        blocked = False
        for exclusion in spec.exclusions:
            between = exclusion.from_step <= k - 1 and k <= exclusion.to_step
            if between and any(common.is_match(evs[i], exclusion.matcher)
                               for i in range(previous + 1, nxt)):
                blocked = True
        if blocked:
            break
        chain.append(nxt)
    return chain


def attempts(source: EventSource, spec: FunnelSpec) -> list[dict[str, Any]]:
    """One dict per attempt: unit, person_id, entry_ts, entry_msg, reached, t (prefix
    completion times), group, last_msg."""
    every = common.load(source)
    people = common.by_person(every)
    events = common.scoped(every, spec.filters, with_sessions=spec.count_by == "sessions",
                           session_timeout_seconds=spec.session_timeout_seconds)
    out = []
    for entity, evs in entities(events, spec).items():
        for s, start in enumerate(evs):
            if spec.order == "any":
                if not any(common.is_match(start, step.matcher) for step in spec.steps):
                    continue
                firsts = []
                limit = start["timestamp"] + timedelta(seconds=spec.window_seconds)
                for step in spec.steps:
                    i = _first_after(evs, s, step.matcher)
                    if i is None or evs[i]["timestamp"] > limit:
                        break
                    firsts.append(i)
                if not firsts:
                    continue
                times = [max(evs[i]["timestamp"] for i in firsts[: k + 1])
                         for k in range(len(firsts))]
                last = max(firsts)
                at_step = firsts
            else:
                if not common.is_match(start, spec.steps[0].matcher):
                    continue
                chain = _ordered_chain(evs, s, spec)
                times = [evs[i]["timestamp"] for i in chain]
                last = chain[-1]
                at_step = chain
            reached = len(times)
            group = None
            breakdown = spec.breakdown
            if breakdown is not None and breakdown.source == "person":
                group = common.person_property(people[start["person_id"]], breakdown.property)
            elif breakdown is not None:
                if breakdown.attribution == "first_step":
                    where: int | None = s
                elif breakdown.attribution == "last_step":
                    where = last
                else:
                    k = breakdown.step or 1
                    where = at_step[k - 1] if reached >= k else None
                if where is not None:
                    group = common.as_text(common.value_of(evs[where], breakdown.property))
            out.append({"entity": entity, "unit": start["_unit"], "person_id": start["person_id"],
                        "entry_ts": start["timestamp"], "entry_msg": start["message_id"],
                        "reached": reached, "t": times, "group": group,
                        "last_msg": evs[last]["message_id"]})
    return out


def chosen(rows: list[dict[str, Any]], spec: FunnelSpec, key: str | None
           ) -> list[dict[str, Any]]:
    """All attempts (every) or each (group, unit)'s best one (unique)."""
    if spec.conversions == "every":
        return rows
    best: dict[tuple[Any, str], dict[str, Any]] = {}
    for row in rows:
        group = row[key] if key else None
        slot = (group, row["unit"])
        rank = (-row["reached"], row["entry_ts"], row["entry_msg"])
        if slot not in best or rank < (-best[slot]["reached"], best[slot]["entry_ts"],
                                       best[slot]["entry_msg"]):
            best[slot] = row
    return list(best.values())


def counts(rows: list[dict[str, Any]], spec: FunnelSpec) -> list[int]:
    return [sum(1 for r in rows if r["reached"] >= k) for k in range(1, len(spec.steps) + 1)]


def gaps(rows: list[dict[str, Any]], k: int) -> list[float]:
    """Seconds from step k-1 to step k (k from 2) of the attempts that reached k."""
    return [(r["t"][k - 1] - r["t"][k - 2]).total_seconds() for r in rows if r["reached"] >= k]


def quantile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default, DuckDB's quantile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def funnel(source: EventSource, spec: FunnelSpec) -> dict[str, Any]:
    """Counts per step overall and per breakdown value, median gaps, trend."""
    rows = attempts(source, spec)
    for row in rows:
        row["breakdown"] = row["group"] if row["group"] is not None else NONE
    picked = chosen(rows, spec, None)
    result: dict[str, Any] = {
        "counts": counts(picked, spec),
        "medians": [statistics.median(g) if (g := gaps(picked, k)) else None
                    for k in range(2, len(spec.steps) + 1)],
        "p90": [quantile(gaps(picked, k), 0.9) for k in range(2, len(spec.steps) + 1)],
    }
    if spec.breakdown is not None:
        split = chosen(rows, spec, "breakdown")
        result["breakdown"] = {
            value: counts([r for r in split if r["breakdown"] == value], spec)
            for value in {r["breakdown"] for r in split}
        }
    if spec.trend is not None:
        for row in rows:
            row["period"] = period_start(common.local(row["entry_ts"],
                                                      common.zone_of(spec.filters)), spec.trend)
        dated = chosen(rows, spec, "period")
        trend = {}
        for period in sorted({r["period"] for r in dated}):
            inside = [r for r in dated if r["period"] == period]
            trend[period.date()] = (len(inside),
                                    sum(1 for r in inside if r["reached"] == len(spec.steps)))
        result["trend"] = trend
    return result


def period_start(ts: datetime, period: str) -> datetime:
    day = datetime(ts.year, ts.month, ts.day)
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return datetime(ts.year, ts.month, 1)


def _picked(source: EventSource, spec: FunnelSpec) -> tuple[list[dict[str, Any]],
                                                             dict[str, list[Event]]]:
    events = common.scoped(common.load(source), spec.filters,
                           with_sessions=spec.count_by == "sessions",
                           session_timeout_seconds=spec.session_timeout_seconds)
    return chosen(attempts(source, spec), spec, None), entities(events, spec)


def dropped(source: EventSource, spec: FunnelSpec, step: int) -> list[str]:
    picked, _ = _picked(source, spec)
    return sorted({r["person_id"] for r in picked if r["reached"] == step})


def next_after_drop(source: EventSource, spec: FunnelSpec) -> dict[tuple[int, str], int]:
    """(step, next event) -> counted attempts that stopped at step and then did that event."""
    picked, by_entity = _picked(source, spec)
    out: dict[tuple[int, str], int] = {}
    for row in picked:
        if row["reached"] == len(spec.steps):
            continue
        evs = by_entity[row["entity"]]
        at = [e["message_id"] for e in evs].index(row["last_msg"])
        name = evs[at + 1]["event"] if at + 1 < len(evs) else "(nothing)"
        key = (row["reached"], name)
        out[key] = out.get(key, 0) + 1
    return out


def correlation(source: EventSource, spec: FunnelSpec) -> dict[str, tuple[int, int]]:
    """event name -> (converted attempts that did it, others that did it), between the first
    step and the last step (converted) or the end of the window (not converted)."""
    picked, by_entity = _picked(source, spec)
    steps = {name for step in spec.steps if not step.matcher.any_event
             for name in step.matcher.names}
    out: dict[str, tuple[int, int]] = {}
    for row in picked:
        ok = row["reached"] == len(spec.steps)
        end = row["t"][-1] if ok else row["entry_ts"] + timedelta(seconds=spec.window_seconds)
        names = {e["event"] for e in by_entity[row["entity"]]
                 if row["entry_ts"] <= e["timestamp"] <= end and e["event"] not in steps}
        for name in names:
            yes, no = out.get(name, (0, 0))
            out[name] = (yes + ok, no + (not ok))
    return out
