"""Recording answers: one answer (widget, link, REST) or a file of them (another survey tool, a
call centre), each stored as the person's ``Survey Answered`` event and passed to the closed loop.

A file (CSV, JSON lines or Parquet) has one row per answer with the columns ``user_id``,
``anonymous_id`` or ``email`` (at least one), ``score`` (the survey's scored question),
``comment``, ``timestamp`` (ISO 8601; default: now), ``language``, ``touchpoint``, ``stage``,
``response_id``, and ``answer.<question id>`` for any other question. A bad row is reported
with its line and field; the good rows beside it are stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from touchpath.errors import ValidationError
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import ParseOptions, parse_message
from touchpath.spec.timestamps import parse_iso, utcnow
from touchpath.voice.answers import Answer, answer_message, answer_properties, current_stage
from touchpath.voice.cases import WebhookSender, open_cases
from touchpath.voice.survey import Survey
from touchpath.voice.targeting import Visitor, person_of

Commit = Callable[[list[dict[str, Any]]], None]
KNOWN_COLUMNS = ("user_id", "anonymous_id", "email", "score", "comment", "timestamp",
                 "language", "touchpoint", "stage", "response_id")


@dataclass(frozen=True)
class Recorded:
    response_id: str
    person_id: str | None
    stage: str | None
    cases: tuple[dict[str, Any], ...] = ()


def parse_options(settings: Any, source: str = "survey") -> ParseOptions:
    return ParseOptions(ip_mode=settings.ip_mode, ip_salt=settings.ip_salt,
                        match_keys=settings.identity_match_keys,
                        default_country_code=settings.default_country_code, source=source)


def _store_commit(store: Any) -> Commit:
    def commit(rows: list[dict[str, Any]]) -> None:
        store.write(rows_to_table(rows))

    return commit


def record_answer(store: Any, survey: Survey, answer: Answer, *, commit: Commit | None = None,
                  webhooks: WebhookSender | None = None, source: str = "survey") -> Recorded:
    """Check ``answer``, attach the stage (the person's current stage when not given), store
    it durably (``commit``, default: a direct write), open the cases it calls for and post
    their webhooks."""
    props = answer_properties(survey, answer)
    if "stage" not in props:
        person = person_of(store, Visitor(answer.user_id, answer.anonymous_id))
        stage = current_stage(store, person, survey)
        if stage:
            props["stage"] = stage
    message = answer_message(survey, answer, props)
    row = parse_message(message, received_at=utcnow(),
                        options=parse_options(store.settings, source))
    (commit or _store_commit(store))([row])
    # the person the write path stitched the answer to (through the identities, not a scan
    # of the events)
    person_id = person_of(store, Visitor(answer.user_id, answer.anonymous_id))
    cases: list[dict[str, Any]] = []
    if person_id is not None:
        cases = open_cases(store, survey, props, person_id)
        sender = webhooks or WebhookSender(store)
        for case in cases:
            sender.send(case, {"survey_id": survey.id, "person_id": person_id, **props})
    return Recorded(props["response_id"], person_id, props.get("stage"), tuple(cases))


@dataclass
class ImportReport:
    stored: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    cases: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"stored": self.stored, "rejected": self.rejected, "cases": self.cases}


def read_answer_file(path: Path) -> pa.Table:
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"no file {path}", field="file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pq.read_table(path)
    if suffix in (".jsonl", ".ndjson", ".json"):
        rows = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ValidationError(f"line {number} is not JSON: {exc}",
                                          field=f"line {number}") from exc
        return pa.Table.from_pylist(rows)
    if suffix in (".csv", ".txt"):
        options = pacsv.ConvertOptions(strings_can_be_null=True,
                                       column_types={"user_id": pa.string(),
                                                     "anonymous_id": pa.string(),
                                                     "timestamp": pa.string(),
                                                     "response_id": pa.string()})
        return pacsv.read_csv(path, convert_options=options)
    raise ValidationError("a .csv, .jsonl or .parquet file", field="file")


def _answer_of(survey: Survey, row: dict[str, Any]) -> Answer:
    unknown = [c for c in row if c not in KNOWN_COLUMNS and not c.startswith("answer.")]
    if unknown:
        raise ValidationError(f"unknown column {unknown[0]!r}; columns: "
                              f"{', '.join(KNOWN_COLUMNS)}, answer.<question id>",
                              field=unknown[0])
    answers = {c.removeprefix("answer."): v for c, v in row.items()
               if c.startswith("answer.") and v is not None}
    scored = survey.scored_question
    if row.get("score") is not None:
        if scored is None:
            raise ValidationError(f"the survey {survey.id!r} has no scored question",
                                  field="score")
        answers[scored.id] = row["score"]
    for key, value in list(answers.items()):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            answers[key] = int(value)
    email = row.get("email")
    anonymous = row.get("anonymous_id")
    if email and not (row.get("user_id") or anonymous):
        anonymous = "svy-" + hashlib.sha256(str(email).strip().lower().encode()).hexdigest()[:16]
    stamp = row.get("timestamp")
    return Answer(
        answers=answers, user_id=row.get("user_id"), anonymous_id=anonymous,
        response_id=row.get("response_id"), language=row.get("language"),
        touchpoint=row.get("touchpoint"), stage=row.get("stage"), comment=row.get("comment"),
        timestamp=parse_iso(stamp, "timestamp") if isinstance(stamp, str) else stamp,
        context={"traits": {"email": email}} if email else {})


def import_answers(store: Any, survey: Survey, path: Path, *,
                   webhooks: WebhookSender | None = None) -> ImportReport:
    """Store the answers of a file; rows with a problem are reported (line, field, message)
    and skipped, the others stored."""
    table = read_answer_file(path)
    report = ImportReport()
    rows: list[dict[str, Any]] = []
    props_of: list[tuple[dict[str, Any], str]] = []
    options = parse_options(store.settings, "survey-import")
    received = utcnow()
    for number, raw in enumerate(table.to_pylist(), start=2 if path.suffix == ".csv" else 1):
        try:
            answer = _answer_of(survey, raw)
            props = answer_properties(survey, answer)
            message = answer_message(survey, answer, props)
            rows.append(parse_message(message, received_at=received, options=options))
            props_of.append((props, rows[-1]["message_id"]))
        except ValidationError as exc:
            report.rejected.append({"line": number, "field": exc.field, "message": exc.message})
    if rows:
        result = store.write(rows_to_table(rows))
        report.stored = result.stored
    sender = webhooks or WebhookSender(store)
    stored = store.sql(  # one query for the file, not one scan per answer
        "SELECT message_id, person_id FROM events WHERE message_id IN (SELECT unnest($m))",
        {"m": [message_id for _, message_id in props_of]}).to_pylist()
    person_of_message = {r["message_id"]: r["person_id"] for r in stored}
    for props, message_id in props_of:
        person = person_of_message.get(message_id)
        if person is not None:
            for case in open_cases(store, survey, props, person):
                report.cases += 1
                sender.send(case, {"survey_id": survey.id, **props})
    return report
