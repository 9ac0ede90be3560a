"""The closed loop: an unhappy answer opens a follow-up case, tells the help desk (a webhook),
and a later answer of the same person shows whether they recovered.

A case has an owner, a status (``open`` -> ``in_progress`` -> ``closed``), a due time, and on
closing a root cause. Cases live in the ``survey_cases`` table (erased with the person, moved
with them when identities merge). Recovery is read from the events, not stored: a case's person
*recovered* when their next answer to a survey of the same metric, after the case opened, falls
outside the rule's score band; *not recovered* when it falls inside; unknown without one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
import pandas as pd

from touchpath.errors import NotFoundError, ValidationError
from touchpath.spec.timestamps import utcnow
from touchpath.voice.links import sign, survey_secret
from touchpath.voice.survey import CaseRule, Survey

logger = logging.getLogger("touchpath")
Status = Literal["open", "in_progress", "closed"]
STATUSES = ("open", "in_progress", "closed")


def rule_matches(rule: CaseRule, properties: dict[str, Any]) -> bool:
    """Does an answer (its event properties) fall under ``rule``?"""
    if rule.min_score is not None or rule.max_score is not None:
        score = properties.get("score")
        if score is None:
            return False
        if rule.min_score is not None and score < rule.min_score:
            return False
        if rule.max_score is not None and score > rule.max_score:
            return False
    if rule.keywords:
        text = " ".join(str(v) for v in (properties.get("comment"),
                                         *properties.get("answers", {}).values())
                        if isinstance(v, str)).lower()
        if not any(k.lower() in text for k in rule.keywords):
            return False
    return True


def open_cases(store: Any, survey: Survey, properties: dict[str, Any], person_id: str,
               at: datetime | None = None) -> list[dict[str, Any]]:
    """Open a case for each of the survey's rules the answer falls under (once per answer and
    rule, however often the answer arrives); returns the cases opened now."""
    opened = []
    now = at or utcnow()
    for rule in survey.cases:
        if not rule_matches(rule, properties):
            continue
        key = f"{survey.id}|{properties['response_id']}|{rule.name}"
        case_id = "case-" + hashlib.sha256(key.encode()).hexdigest()[:16]
        row = {
            "case_id": case_id, "person_id": person_id, "survey_id": survey.id,
            "response_id": properties["response_id"], "rule": rule.name,
            "score": properties.get("score"), "comment": properties.get("comment"),
            "opened_at": now, "due_at": now + timedelta(hours=rule.due_hours),
            "owner": rule.owner, "status": "open", "closed_at": None, "root_cause": None,
            "webhook_url": rule.webhook_url,
            "webhook_status": "pending" if rule.webhook_url else None, "webhook_attempts": 0,
        }
        with store.session() as con:
            inserted = con.execute(
                "INSERT INTO survey_cases BY NAME SELECT * FROM (SELECT "
                + ", ".join(f"${k} AS {k}" for k in row)
                + ") ON CONFLICT DO NOTHING RETURNING case_id", row).fetchall()
        if inserted:
            opened.append(row)
    return opened


def open_past_cases(store: Any, survey: Survey, since: datetime | None = None) -> int:
    """Apply the survey's case rules to the answers already stored (after a rule was added,
    or for answers that arrived as plain events), each case opened at its answer's time. No
    webhook is posted: a help desk should not receive a backlog unasked. Returns the number of
    cases opened."""
    rows = store.sql(
        "SELECT person_id, timestamp, properties FROM events WHERE event = 'Survey Answered' "
        "AND properties->>'survey_id' = $s AND timestamp >= $since ORDER BY timestamp",
        {"s": survey.id, "since": since or datetime(1970, 1, 1)}).to_pylist()
    opened = 0
    for row in rows:
        props = orjson.loads(row["properties"])
        props.setdefault("response_id", f"{row['person_id']}@{row['timestamp'].isoformat()}")
        opened += len(open_cases(store, survey, props, row["person_id"], at=row["timestamp"]))
    return opened


def list_cases(store: Any, status: str | None = None) -> pd.DataFrame:
    """Every case (or those of one status), newest first, with ``overdue``."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"one of {', '.join(STATUSES)}", field="status")
    where = "WHERE status = $s" if status else ""
    frame: pd.DataFrame = store.sql(
        f"SELECT * FROM survey_cases {where} ORDER BY opened_at DESC, case_id",
        {"s": status} if status else None).to_pandas()
    frame["overdue"] = (frame["status"] != "closed") & (frame["due_at"] < utcnow())
    return frame


def get_case(store: Any, case_id: str) -> dict[str, Any]:
    rows = store.sql("SELECT * FROM survey_cases WHERE case_id = $c", {"c": case_id}).to_pylist()
    if not rows:
        raise NotFoundError(f"no case {case_id!r}", field="case_id")
    row: dict[str, Any] = rows[0]
    return row


def update_case(store: Any, case_id: str, *, status: str | None = None,
                owner: str | None = None, root_cause: str | None = None) -> dict[str, Any]:
    """Assign, progress or close a case. Closing needs the root cause."""
    case = get_case(store, case_id)
    if status is not None and status not in STATUSES:
        raise ValidationError(f"one of {', '.join(STATUSES)}", field="status")
    closing = status == "closed" and case["status"] != "closed"
    if closing and not (root_cause or case["root_cause"]):
        raise ValidationError("closing a case records its root cause", field="root_cause")
    given = {"status": status, "owner": owner, "root_cause": root_cause}
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if closing:
        changes["closed_at"] = utcnow()
    if status is not None and status != "closed":
        changes["closed_at"] = None
    if changes:
        sets = ", ".join(f"{k} = ${k}" for k in changes)
        with store.session() as con:
            con.execute(f"UPDATE survey_cases SET {sets} WHERE case_id = $case_id",
                        {**changes, "case_id": case_id})
    return get_case(store, case_id)


def recovery(store: Any) -> pd.DataFrame:
    """Each case with the person's next answer to a survey of the same metric after it opened
    (``next_score``) and ``recovered`` (True / False / None when there is no later answer)."""
    frame: pd.DataFrame = store.sql("""
        WITH answers AS (
            SELECT person_id, timestamp, properties->>'survey' AS metric,
                   TRY_CAST(properties->>'score' AS DOUBLE) AS score,
                   properties->>'survey_id' AS survey_id,
                   properties->>'response_id' AS response_id
            FROM events WHERE event = 'Survey Answered'),
        -- a survey has one scored question, so one metric
        metric_of AS (SELECT survey_id, any_value(metric) AS metric FROM answers
                      WHERE metric IS NOT NULL GROUP BY survey_id)
        SELECT c.case_id, c.person_id, c.survey_id, c.rule, c.score, c.status, c.opened_at,
               arg_min(a.score, a.timestamp) AS next_score, min(a.timestamp) AS next_answer_at
        FROM survey_cases c
        LEFT JOIN metric_of m ON m.survey_id = c.survey_id
        LEFT JOIN answers a ON a.person_id = c.person_id AND a.metric = m.metric
             AND a.timestamp > c.opened_at
             AND a.response_id IS DISTINCT FROM c.response_id
        GROUP BY ALL ORDER BY c.opened_at, c.case_id
    """).to_pandas()
    if frame.empty:
        frame["recovered"] = pd.Series(dtype="object")
        return frame
    rules = _rules(store)
    recovered: list[bool | None] = []
    for row in frame.itertuples():
        rule = rules.get((row.survey_id, row.rule))
        if pd.isna(row.next_score) or rule is None:
            recovered.append(None)
        else:
            band = {"score": row.next_score, "comment": None, "answers": {}}
            in_band = rule_matches(CaseRule(rule.name, rule.min_score, rule.max_score), band) \
                if (rule.min_score is not None or rule.max_score is not None) else False
            recovered.append(not in_band)
    frame["recovered"] = recovered
    return frame


def recovery_rate(store: Any) -> dict[str, Any]:
    """Cases, closed cases, cases with a later answer, recovered, and the recovery rate
    (recovered / cases with a later answer)."""
    frame = recovery(store)
    known = frame["recovered"].dropna() if not frame.empty else pd.Series(dtype=bool)
    recovered = int(sum(bool(v) for v in known))
    return {"cases": len(frame), "closed": int((frame["status"] == "closed").sum())
            if not frame.empty else 0,
            "answered_again": len(known), "recovered": recovered,
            "recovery_rate": recovered / len(known) if len(known) else None}


def _rules(store: Any) -> dict[tuple[str, str], CaseRule]:
    from touchpath.voice.catalog import list_surveys

    return {(s.id, r.name): r for s in list_surveys(store) for r in s.cases}


@dataclass
class WebhookSender:
    """Posts opened cases to their rules' webhooks from a background thread, retrying (1, 2,
    4 ... s, ``attempts`` times) on errors and 5xx; records the outcome on the case. The body
    is JSON; ``X-Touchpath-Signature: sha256=<HMAC of the body with the survey secret>``."""

    store: Any
    attempts: int = 4
    timeout: float = 5.0

    def send(self, case: dict[str, Any], answer: dict[str, Any]) -> threading.Thread | None:
        if not case.get("webhook_url"):
            return None
        body = orjson.dumps({"type": "survey.case_opened", "case": case, "answer": answer},
                            default=str)
        thread = threading.Thread(target=self._deliver, args=(case, body), daemon=True,
                                  name=f"webhook-{case['case_id']}")
        thread.start()
        return thread

    def _deliver(self, case: dict[str, Any], body: bytes) -> None:
        signature = "sha256=" + sign(survey_secret(self.store), body)
        status = "failed"
        attempt = 0
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(  # noqa: S310 - the user's own http(s) URL
                case["webhook_url"], data=body, method="POST",
                headers={"Content-Type": "application/json",
                         "X-Touchpath-Signature": signature,
                         "X-Touchpath-Case": case["case_id"]})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    status = f"delivered ({response.status})"
                    break
            except urllib.error.HTTPError as exc:
                status = f"failed ({exc.code})"
                if exc.code < 500 and exc.code != 429:
                    break
            except (urllib.error.URLError, OSError) as exc:
                status = f"failed ({exc})"
            time.sleep(min(2 ** (attempt - 1), 30))
        logger.info("webhook for %s: %s after %d attempt(s)", case["case_id"], status, attempt)
        try:
            with self.store.session() as con:
                con.execute("UPDATE survey_cases SET webhook_status = ?, webhook_attempts = ? "
                            "WHERE case_id = ?", [status[:200], attempt, case["case_id"]])
        except Exception:  # the store closed meanwhile (shutdown): the log line remains
            logger.exception("could not record the webhook outcome of %s", case["case_id"])
