"""Where surveys are kept: the ``surveys`` table of the store (one row per survey id, its latest
definition as JSON, and whether it is active)."""

from __future__ import annotations

from typing import Any

import orjson

from touchpath.analytics.codec import to_dict
from touchpath.errors import NotFoundError
from touchpath.spec.timestamps import utcnow
from touchpath.voice.survey import Survey, survey_from_dict


def save_survey(store: Any, survey: Survey) -> Survey:
    """Save ``survey`` (replacing the survey of that id); it shows from now on if active."""
    definition = orjson.dumps(to_dict(survey)).decode()
    with store.session() as con:
        con.execute("INSERT OR REPLACE INTO surveys VALUES (?, ?, ?, ?)",
                    [survey.id, definition, survey.active, utcnow()])
    return survey


def list_surveys(store: Any, *, active_only: bool = False) -> list[Survey]:
    """Every survey, oldest first (the order in which targeting tries them)."""
    where = " WHERE active" if active_only else ""
    rows = store.sql(f"SELECT definition, active FROM surveys{where} ORDER BY saved_at, id")
    out = []
    for row in rows.to_pylist():
        data = orjson.loads(row["definition"])
        data["active"] = row["active"]
        out.append(survey_from_dict(data))
    return out


def load_survey(store: Any, survey_id: str) -> Survey:
    """The survey ``survey_id``; :class:`NotFoundError` when there is none."""
    rows = store.sql("SELECT definition, active FROM surveys WHERE id = $id",
                     {"id": survey_id}).to_pylist()
    if not rows:
        known = ", ".join(s.id for s in list_surveys(store)) or "none yet"
        raise NotFoundError(f"no survey {survey_id!r} (surveys: {known})", field="survey_id")
    data = orjson.loads(rows[0]["definition"])
    data["active"] = rows[0]["active"]
    return survey_from_dict(data)


def set_active(store: Any, survey_id: str, active: bool) -> Survey:
    """Pause (``active=False``) or resume a survey."""
    load_survey(store, survey_id)
    with store.session() as con:
        con.execute("UPDATE surveys SET active = ? WHERE id = ?", [active, survey_id])
    return load_survey(store, survey_id)
