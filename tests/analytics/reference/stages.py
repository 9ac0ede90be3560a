"""Journey stages in plain Python: the reference for ``touchpath.analytics.stages``.

One loop over each person's events in order: the stage of each event (the latest stage with a
rule it matches), the stage changes, then every aggregate counted from the changes.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from tests.analytics.reference.common import Event, by_person, day_begins, is_match, local
from touchpath.journey.stages import StageModel, StageRule

Change = dict[str, Any]  # person, pos, timestamp, from_stage, stage (indexes)


def rule_holds(rule: StageRule, event: Event, earlier: list[Event]) -> bool:
    if not is_match(event, rule.matcher):
        return False
    if rule.channels and event["channel"] not in rule.channels:
        return False
    if rule.after is not None:
        done = sum(1 for e in earlier if is_match(e, rule.after))
        if done < rule.after_count:
            return False
    return rule.not_after is None or not any(is_match(e, rule.not_after) for e in earlier)


def stage_of(event: Event, earlier: list[Event], model: StageModel) -> int | None:
    for index in reversed(range(len(model.stages))):
        if any(rule_holds(r, event, earlier) for r in model.stages[index].rules):
            return index
    return None


def changes(events: list[Event], model: StageModel) -> list[Change]:
    """Every stage change of every person (``events`` scoped and in order)."""
    out: list[Change] = []
    for person, own in by_person(events).items():
        current: int | None = None
        for pos, event in enumerate(own):
            stage = stage_of(event, own[:pos], model)
            if stage is None or stage == current:
                continue
            out.append({"person": person, "pos": pos, "timestamp": event["timestamp"],
                        "from_stage": current, "stage": stage})
            current = stage
    return out


def upto(events: list[Event], as_of: date | None, zone: str = "UTC") -> list[Event]:
    if as_of is None:
        return events
    end = day_begins(as_of + timedelta(days=1), zone)
    return [e for e in events if e["timestamp"] < end]


def person_table(all_changes: list[Change], model: StageModel) -> dict[str, dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {}
    for change in all_changes:
        row = people.setdefault(change["person"], {
            "path": [], **{f"entered_{s.id}": None for s in model.stages}})
        stage_id = model.stages[change["stage"]].id
        row["path"].append(stage_id)
        row["current_stage"] = stage_id
        if row[f"entered_{stage_id}"] is None:
            row[f"entered_{stage_id}"] = change["timestamp"]
    return people


def quantile(values: list[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (DuckDB's quantile_cont)."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    if lo + 1 >= len(xs):
        return xs[lo]
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def period_start(moment: datetime, period: str) -> datetime:
    day = datetime.combine(moment.date(), time())
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def next_period(start: datetime, period: str) -> datetime:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def analyse(events: list[Event], model: StageModel, period: str,
            as_of: date | None, zone: str = "UTC") -> dict[str, Any]:
    """Every table of the stages result, as plain lists and dicts (periods: calendar periods
    of ``zone``)."""
    events = upto(events, as_of, zone)
    all_changes = changes(events, model)
    n = len(model.stages)
    per_person: dict[str, list[Change]] = {}
    for change in all_changes:
        per_person.setdefault(change["person"], []).append(change)

    now = Counter(own[-1]["stage"] for own in per_person.values())
    furthest = Counter(max(c["stage"] for c in own) for own in per_person.values())
    entered = [0] * n
    converted = [0] * n
    took: list[list[float]] = [[] for _ in range(n)]
    for own in per_person.values():
        for k in range(n):
            into_k = [c for c in own if c["stage"] == k]
            if not into_k:
                continue
            entered[k] += 1
            first = into_k[0]
            later = [c for c in own if c["stage"] == k + 1 and c["pos"] > first["pos"]]
            if later:
                converted[k] += 1
                took[k].append((later[0]["timestamp"] - first["timestamp"]).total_seconds())
    conversion = [
        {"from_stage": model.stages[k].id, "to_stage": model.stages[k + 1].id,
         "entered": entered[k], "converted": converted[k],
         "conversion_rate": converted[k] / entered[k] if entered[k] else None,
         "median_seconds": quantile(took[k], 0.5), "p90_seconds": quantile(took[k], 0.9)}
        for k in range(n - 1)
    ]
    drop_off = [
        {"stage": model.stages[k].id, "entered": entered[k], "furthest": furthest[k],
         "drop_off_rate": furthest[k] / entered[k] if entered[k] and k < n - 1 else None}
        for k in range(n)
    ]
    flows: Counter[tuple[int | None, int]] = Counter()
    flow_people: dict[tuple[int | None, int], set[str]] = {}
    for change in all_changes:
        key = (change["from_stage"], change["stage"])
        flows[key] += 1
        flow_people.setdefault(key, set()).add(change["person"])
    transitions = []
    for (start, to), count in sorted(flows.items(), key=lambda kv: (
            -1 if kv[0][0] is None else kv[0][0], kv[0][1])):
        transitions.append({
            "from_stage": None if start is None else model.stages[start].id,
            "to_stage": model.stages[to].id,
            "direction": "entry" if start is None else "forward" if to > start else "back",
            "transitions": count, "people": len(flow_people[(start, to)])})

    over_time = []
    if all_changes:
        first_period = period_start(local(min(c["timestamp"] for c in all_changes), zone),
                                    period)
        last_period = period_start(local(max(c["timestamp"] for c in all_changes), zone),
                                   period)
        if as_of is not None:
            last_period = max(last_period, period_start(datetime.combine(as_of, time()), period))
        start = first_period
        while start <= last_period:
            end = next_period(start, period)
            counts = [0] * n
            for own in per_person.values():
                before = [c for c in own if c["timestamp"] < day_begins(end.date(), zone)]
                if before:
                    counts[before[-1]["stage"]] += 1
            over_time.append({"period": start, **{
                model.stages[k].id: counts[k] for k in range(n)}})
            start = end

    return {
        "now": [now[k] for k in range(n)],
        "people": len({e["person_id"] for e in events}),
        "conversion": conversion, "drop_off": drop_off, "transitions": transitions,
        "over_time": over_time, "persons": person_table(all_changes, model),
    }
