"""A survey answer: checked against its survey, turned into the person's ``Survey Answered``
event (stage and touchpoint attached), and written to the store.

Every way an answer arrives — the in-page widget, a survey link, the REST API, a file from
another survey tool or a call centre — goes through :func:`answer_message`, so they all give
the same event, and the closed loop (:mod:`touchpath.voice.cases`) sees them all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from touchpath.analytics.source import TableSource
from touchpath.analytics.stages import StagesSpec, person_stages
from touchpath.errors import ValidationError
from touchpath.journey.stages import load_stages
from touchpath.spec.timestamps import utcnow
from touchpath.voice.survey import Survey, pick_language

ANSWERED = "Survey Answered"
SHOWN = "Survey Shown"
DISMISSED = "Survey Dismissed"
MAX_TEXT = 5_000


@dataclass(frozen=True)
class Answer:
    """One person's answers to one survey. ``answers`` maps question ids to a score (int), a
    choice id, a list of choice ids or a text; ``comment`` is the follow-up answer."""

    answers: dict[str, Any]
    user_id: str | None = None
    anonymous_id: str | None = None
    response_id: str | None = None
    language: str | None = None
    touchpoint: str | None = None
    stage: str | None = None
    comment: str | None = None
    timestamp: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)


def check_answers(survey: Survey, answers: dict[str, Any], where: str = "answers"
                  ) -> dict[str, Any]:
    """The answers, checked against the survey's questions (errors name ``answers.<id>``)."""
    if not isinstance(answers, dict):
        raise ValidationError("a JSON object of answers by question id", field=where)
    by_id = {q.id: q for q in survey.questions}
    for key in answers:
        if key not in by_id:
            raise ValidationError(f"the survey {survey.id!r} has no question {key!r}; "
                                  f"questions: {', '.join(by_id)}", field=f"{where}.{key}")
    out: dict[str, Any] = {}
    for q in survey.questions:
        value = answers.get(q.id)
        path = f"{where}.{q.id}"
        if value is None or value == "" or value == []:
            if q.required and q.scale is not None:
                raise ValidationError("the scored question needs an answer", field=path)
            continue
        scale = q.scale
        if scale is not None:
            if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
                raise ValidationError(f"a whole number from {scale[0]} to {scale[1]}", field=path)
            if not scale[0] <= value <= scale[1]:
                raise ValidationError(f"{value} is outside the scale {scale[0]}-{scale[1]}",
                                      field=path)
            out[q.id] = int(value)
        elif q.type == "text":
            if not isinstance(value, str):
                raise ValidationError("a text", field=path)
            out[q.id] = value[:MAX_TEXT]
        else:
            ids = {c.id for c in q.choices}
            chosen = value if isinstance(value, list) else [value]
            if q.type == "single_choice" and len(chosen) != 1:
                raise ValidationError("one choice id", field=path)
            for c in chosen:
                if c not in ids:
                    raise ValidationError(f"no choice {c!r}; choices: {', '.join(sorted(ids))}",
                                          field=path)
            out[q.id] = chosen[0] if q.type == "single_choice" else list(dict.fromkeys(chosen))
    if not out:
        raise ValidationError("no question was answered", field=where)
    return out


def response_id_for(survey: Survey, answer: Answer) -> str:
    """The answer's id: the one given, else one derived from who answered what and when."""
    if answer.response_id:
        return answer.response_id
    who = answer.user_id or answer.anonymous_id or ""
    when = (answer.timestamp or utcnow()).isoformat()
    return hashlib.sha256(f"{survey.id}|{who}|{when}".encode()).hexdigest()[:24]


def answer_properties(survey: Survey, answer: Answer) -> dict[str, Any]:
    """The properties of the ``Survey Answered`` event (see ``touchpath.voice``)."""
    answers = check_answers(survey, answer.answers)
    props: dict[str, Any] = {
        "survey_id": survey.id,
        "response_id": response_id_for(survey, answer),
        "language": pick_language(survey, answer.language),
        "answers": answers,
    }
    scored = survey.scored_question
    if scored is not None and scored.id in answers:
        low, high = scored.scale or (0, 0)
        props.update(survey=scored.type, score=answers[scored.id], scale_min=low,
                     scale_max=high)
    comment = answer.comment
    if comment is None:  # else the first open-text answer is the comment
        comment = next((answers[q.id] for q in survey.questions
                        if q.type == "text" and q.id in answers), None)
    if comment:
        if not isinstance(comment, str):
            raise ValidationError("a text", field="comment")
        props["comment"] = comment[:MAX_TEXT]
    if answer.touchpoint:
        props["touchpoint"] = answer.touchpoint
    if answer.stage:
        props["stage"] = answer.stage
    return props


def answer_message(survey: Survey, answer: Answer, properties: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    """The Segment track message of an answer; its ``messageId`` comes from the response id,
    so an answer sent twice is stored once."""
    if not (answer.user_id or answer.anonymous_id):
        raise ValidationError("an answer needs userId or anonymousId (or a survey link token)",
                              field="userId")
    props = properties or answer_properties(survey, answer)
    message: dict[str, Any] = {
        "type": "track", "event": ANSWERED, "properties": props,
        "messageId": f"svy-{survey.id}-{props['response_id']}",
        "context": {**answer.context, "locale": props["language"]},
    }
    if answer.user_id:
        message["userId"] = answer.user_id
    if answer.anonymous_id:
        message["anonymousId"] = answer.anonymous_id
    if answer.timestamp:
        message["timestamp"] = answer.timestamp.isoformat()
    return message


def event_message(event: str, survey: Survey, *, user_id: str | None,
                  anonymous_id: str | None, touchpoint: str | None = None,
                  stage: str | None = None) -> dict[str, Any]:
    """A ``Survey Shown`` or ``Survey Dismissed`` message (they drive the frequency caps)."""
    props = {"survey_id": survey.id, "touchpoint": touchpoint, "stage": stage}
    message: dict[str, Any] = {"type": "track", "event": event,
                               "properties": {k: v for k, v in props.items() if v is not None}}
    if user_id:
        message["userId"] = user_id
    if anonymous_id:
        message["anonymousId"] = anonymous_id
    return message


def person_events(store: Any, person_id: str | None) -> pa.Table:
    """Every stored event of a person (none for a person not stored yet)."""
    return store.sql("SELECT * FROM events WHERE person_id = $p", {"p": person_id or ""})


def with_pending(events: pa.Table, person_id: str | None, name: str,
                 properties: dict[str, Any]) -> pa.Table:
    """``events`` plus the event just sent, not committed yet."""
    row: dict[str, Any] = dict.fromkeys(events.schema.names)
    now = utcnow()
    row.update(message_id="~pending", type="track", event=name,
               person_id=person_id or "~pending", timestamp=now, received_at=now,
               loaded_at=now, channel="direct", properties=orjson.dumps(properties).decode())
    return pa.concat_tables([events, pa.Table.from_pylist([row], events.schema)])


def stage_of(events: pa.Table, survey: Survey) -> str | None:
    """The English name of the current journey stage (survey's stage model) of the one
    person whose events these are; None before any stage."""
    if events.num_rows == 0:
        return None
    people = person_stages(TableSource(events), StagesSpec(model=survey.stage_model))
    if people.empty:
        return None
    model = load_stages(survey.stage_model)
    return model.stages[model.index(str(people["current_stage"].iloc[0]))].name("en")


def current_stage(store: Any, person_id: str | None, survey: Survey) -> str | None:
    """The person's current stage from the events stored so far."""
    return stage_of(person_events(store, person_id), survey) if person_id else None
