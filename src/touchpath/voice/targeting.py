"""Which survey, if any, a person should see now: triggers, segment, sample, frequency caps.

:func:`due_survey` tries the active surveys oldest first and returns the first that is due:

1. a trigger holds: the event just sent has the trigger's name and properties, or it moves the
   person into the trigger's stage (their stage before the event is another, after it this
   one, by the stage model's rules over their whole history); a survey with no trigger is due
   on any page;
2. the person is in the survey's saved segment, if it has one;
3. the person falls in the survey's sample (a stable hash of the survey and the user id, else
   the anonymous id, so the same visitor gets the same answer every time);
4. no survey was shown to the person within ``min_days_between_surveys``, and, with
   ``once_per_person``, the person never answered nor dismissed this survey.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyarrow.compute as pc

from touchpath.analytics.filters import Filters, PersonList, PropertyFilter, SavedSegment
from touchpath.journey.stages import load_stages
from touchpath.spec.timestamps import utcnow
from touchpath.voice.answers import (
    ANSWERED,
    DISMISSED,
    SHOWN,
    person_events,
    stage_of,
    with_pending,
)
from touchpath.voice.catalog import list_surveys
from touchpath.voice.survey import Survey, Trigger


@dataclass(frozen=True)
class Visitor:
    """Who is asking and what just happened."""

    user_id: str | None = None
    anonymous_id: str | None = None
    event: str | None = None
    properties: dict[str, Any] | None = None
    message_id: str | None = None
    """The id of the event just sent, to tell whether it is stored yet."""


@dataclass(frozen=True)
class Due:
    survey: Survey
    person_id: str | None
    touchpoint: str | None
    stage: str | None


def person_of(store: Any, visitor: Visitor) -> str | None:
    """The stored person behind the visitor's ids (user id first), or None if new."""
    for identity in (f"user:{visitor.user_id}" if visitor.user_id else None,
                     f"anon:{visitor.anonymous_id}" if visitor.anonymous_id else None):
        if identity:
            persons: list[str] = store.find_persons(identity)
            if persons:
                return persons[0]
    return None


def holds(value: Any, rule: PropertyFilter) -> bool:
    """A property filter on one value (the counting rules' semantics, in Python)."""
    op, want = rule.op, rule.value
    if op == "is_set":
        return value is not None
    if op == "is_not_set":
        return value is None
    if op in ("eq", "neq", "in", "not_in"):
        options = want if op in ("in", "not_in") else [want]
        hit = any(value == o or (value is not None and str(value) == str(o)) for o in options)
        return hit if op in ("eq", "in") else not hit
    text = None if value is None else str(value)
    if op in ("contains", "not_contains"):
        found = text is not None and str(want).lower() in text.lower()
        return found if op == "contains" else not found
    if op == "regex":
        return text is not None and re.search(str(want), text) is not None
    try:
        number, bound = float(value), float(want)
    except (TypeError, ValueError):
        return False
    return {"gt": number > bound, "gte": number >= bound, "lt": number < bound,
            "lte": number <= bound}.get(op, False)


def _props_hold(props: dict[str, Any], rules: tuple[PropertyFilter, ...]) -> bool:
    return all(holds(props.get(r.property), r) for r in rules)


@dataclass(frozen=True)
class Stages:
    """The person's stage before and after the event just sent."""

    before: str | None
    after: str | None


def stages_around(store: Any, person: str | None, survey: Survey, visitor: Visitor) -> Stages:
    events = person_events(store, person)
    if not visitor.event:
        now = stage_of(events, survey)
        return Stages(now, now)
    stored = _stored_id(store, person, visitor)
    if stored is not None:
        before = events.filter(pc.not_equal(events["message_id"], stored))
        return Stages(stage_of(before, survey), stage_of(events, survey))
    after = with_pending(events, person, visitor.event, visitor.properties or {})
    return Stages(stage_of(events, survey), stage_of(after, survey))


def _trigger_holds(survey: Survey, trigger: Trigger, visitor: Visitor,
                   stages: Callable[[], Stages]) -> bool:
    props = visitor.properties or {}
    if not _props_hold(props, trigger.where):
        return False
    if trigger.event:
        return visitor.event == trigger.event
    if trigger.stage:
        if visitor.event is None:
            return False
        name = next(s.name("en") for s in load_stages(survey.stage_model).stages
                    if s.id == trigger.stage)
        seen = stages()
        return seen.after == name and seen.before != name
    return True


def in_sample(survey: Survey, who: str) -> bool:
    digest = hashlib.sha256(f"{survey.id}|{who}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 10_000 < survey.targeting.sample_percent * 100


def _in_segment(store: Any, name: str, person: str | None) -> bool:
    if person is None:
        return False
    from touchpath.analytics.frame import scoped_events

    people = scoped_events(store, Filters(segments=(SavedSegment(name),
                                                    PersonList((person,)))))
    return bool(people.count().to_pyarrow().as_py())


def _history(store: Any, person: str | None) -> list[dict[str, Any]]:
    """The person's survey events: name, survey id, time."""
    if person is None:
        return []
    return list(store.sql(
        "SELECT event, properties->>'survey_id' AS survey_id, timestamp FROM events "
        "WHERE person_id = $p AND event IN ($a, $s, $d)",
        {"p": person, "a": ANSWERED, "s": SHOWN, "d": DISMISSED}).to_pylist())


def _capped(survey: Survey, history: list[dict[str, Any]]) -> bool:
    t = survey.targeting
    if t.once_per_person and any(h["survey_id"] == survey.id and h["event"] != SHOWN
                                 for h in history):
        return True
    if t.min_days_between_surveys:
        since = utcnow() - timedelta(days=t.min_days_between_surveys)
        return any(h["event"] in (SHOWN, ANSWERED) and h["timestamp"] >= since
                   for h in history)
    return False


def _stored_id(store: Any, person: str | None, visitor: Visitor) -> str | None:
    """The message id of the visitor's event if it is stored already: by its message id when
    given, else the person's latest event of that name received in the last minute."""
    if person is None:
        return None
    if visitor.message_id:
        query = "SELECT message_id FROM events WHERE message_id = $m AND person_id = $p"
        params: dict[str, Any] = {"m": visitor.message_id, "p": person}
    else:
        query = ("SELECT message_id FROM events WHERE person_id = $p AND event = $e "
                 "AND received_at >= $since ORDER BY timestamp DESC, message_id DESC LIMIT 1")
        params = {"p": person, "e": visitor.event, "since": utcnow() - timedelta(minutes=1)}
    rows = store.sql(query, params).to_pylist()
    return str(rows[0]["message_id"]) if rows else None


def due_survey(store: Any, visitor: Visitor) -> Due | None:
    """The survey to show the visitor now, or None (see the module's rules)."""
    person = person_of(store, visitor)
    # the sample follows the id the client knows (stable before and after the first event)
    who = visitor.user_id or visitor.anonymous_id or ""
    history: list[dict[str, Any]] | None = None
    for survey in list_surveys(store, active_only=True):
        t = survey.targeting
        seen: list[Stages] = []

        def stages(survey: Survey = survey, seen: list[Stages] = seen) -> Stages:
            if not seen:  # computed once per survey, only when needed
                seen.append(stages_around(store, person, survey, visitor))
            return seen[0]

        triggered = (not t.triggers) or any(
            _trigger_holds(survey, trig, visitor, stages) for trig in t.triggers)
        if not triggered or not in_sample(survey, who):
            continue
        if t.segment and not _in_segment(store, t.segment, person):
            continue
        if history is None:
            history = _history(store, person)
        if _capped(survey, history):
            continue
        return Due(survey, person, visitor.event, stages().after)
    return None
