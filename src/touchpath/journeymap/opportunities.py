"""Opportunities: an action per pain point, with an owner and a status.

Every pain point gets a suggested action (by its kind, below); a person may replace it with
their own, assign an owner and move it through ``open`` -> ``in_progress`` -> ``done`` (or
``dismissed``). Saved opportunities live in the store's ``journey_opportunities`` table, keyed
by the pain point's id, which stays the same from one run of the map to the next as long as
the pain point is found (a pain point that disappears keeps its saved opportunity for when it
comes back)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from touchpath.errors import NotFoundError, ValidationError

STATUSES = ("open", "in_progress", "done", "dismissed")
SUGGESTIONS = {
    "drop_off": "Find out why people stop after {stage}: look at the paths of those who "
                "never moved on and test a nudge (reminder e-mail, retargeting, a clearer "
                "next step).",
    "slow_transition": "Shorten the time to the next stage: a timely reminder or offer "
                       "while the interest is fresh.",
    "checkout_abandonment": "Recover abandoned checkouts: a cart reminder within hours, "
                            "and fewer steps or fields in the checkout.",
    "checkout_step": "Review the {step} step: usability test it, watch its errors, "
                     "simplify it.",
    "segment_gap": "Fix the {step} step for {group}: reproduce it on that platform, check "
                   "errors and payment methods there.",
    "low_scores": "Follow up on low answers at {touchpoint}: read their comments, close the "
                  "loop with each detractor, fix the most named cause.",
    "problems": "Cut the problems in {stage}: the top reasons for tickets and returns, and "
                "self-service answers for them.",
}
OPPORTUNITY_COLUMNS = ["action", "owner", "status", "note", "suggested", "updated_at"]


def suggestion(kind: str, stage_name: str | None, evidence: dict[str, Any]) -> str:
    """The suggested action for a pain point of ``kind`` (English)."""
    values = {"stage": stage_name or "", "step": evidence.get("step_label", ""),
              "group": evidence.get("group", ""), "touchpoint": evidence.get("touchpoint", "")}
    return SUGGESTIONS[kind].format(**values)


def saved_opportunities(source: Any) -> pd.DataFrame:
    """The saved opportunities (empty for a source without the table, such as Spark's)."""
    columns = ["pain_point_id", "action", "owner", "status", "note", "updated_at",
               "updated_by"]
    if not hasattr(source, "sql"):
        return pd.DataFrame(columns=columns)
    frame: pd.DataFrame = source.sql(
        f"SELECT {', '.join(columns)} FROM journey_opportunities").to_pandas()
    return frame


def with_opportunities(source: Any, pains: pd.DataFrame, names: dict[str, str] | None = None
                       ) -> pd.DataFrame:
    """``pains`` with the :data:`OPPORTUNITY_COLUMNS` (the saved ones, else a suggestion)."""
    saved = saved_opportunities(source).set_index("pain_point_id")
    names = names or {}
    rows = []
    for pain in pains.to_dict(orient="records"):
        if pain["id"] in saved.index:
            s = saved.loc[pain["id"]]
            rows.append({"action": s["action"], "owner": s["owner"], "status": s["status"],
                         "note": s["note"], "suggested": False,
                         "updated_at": s["updated_at"]})
        else:
            stage = names.get(pain["stage"], pain["stage"]) if pain["stage"] else None
            rows.append({"action": suggestion(pain["kind"], stage, pain["evidence"]),
                         "owner": None, "status": "open", "note": None, "suggested": True,
                         "updated_at": None})
    extra = pd.DataFrame(rows, columns=OPPORTUNITY_COLUMNS, index=pains.index)
    return pd.concat([pains, extra], axis=1)


def save_opportunity(store: Any, pain_point_id: str, *, action: str | None = None,
                     owner: str | None = None, status: str | None = None,
                     note: str | None = None, by: str | None = None) -> dict[str, Any]:
    """Create or change the opportunity of a pain point; returns it. ``action`` is needed the
    first time; an empty ``owner`` or ``note`` clears it."""
    if not pain_point_id:
        raise ValidationError("names the pain point (its id)", field="pain_point_id")
    if status is not None and status not in STATUSES:
        raise ValidationError(f"one of {', '.join(STATUSES)}", field="status")
    if action is not None and not action.strip():
        raise ValidationError("cannot be empty", field="action")
    for name, value, limit in (("action", action, 2000), ("owner", owner, 200),
                               ("note", note, 4000)):
        if value is not None and len(value) > limit:
            raise ValidationError(f"at most {limit} characters", field=name)
    now = datetime.now(UTC).replace(tzinfo=None)
    with store.session() as con:
        old = con.execute("SELECT action, owner, status, note FROM journey_opportunities "
                          "WHERE pain_point_id = $id", {"id": pain_point_id}).fetchone()
        if old is None and action is None:
            raise ValidationError("a new opportunity needs its action", field="action")
        merged = {
            "action": action.strip() if action is not None else old[0],
            "owner": (owner.strip() or None) if owner is not None else (old[1] if old else None),
            "status": status or (old[2] if old else "open"),
            "note": (note.strip() or None) if note is not None else (old[3] if old else None),
        }
        con.execute(
            "INSERT OR REPLACE INTO journey_opportunities VALUES "
            "($id, $action, $owner, $status, $note, $now, $by)",
            {"id": pain_point_id, **merged, "now": now, "by": by})
    return {"pain_point_id": pain_point_id, **merged, "updated_at": now, "updated_by": by}


def delete_opportunity(store: Any, pain_point_id: str) -> None:
    """Forget a saved opportunity (the pain point goes back to its suggestion)."""
    with store.session() as con:
        gone = con.execute("DELETE FROM journey_opportunities WHERE pain_point_id = $id "
                           "RETURNING pain_point_id", {"id": pain_point_id}).fetchall()
    if not gone:
        raise NotFoundError(f"no saved opportunity for {pain_point_id!r}",
                            field="pain_point_id")
