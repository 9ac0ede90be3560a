"""The closed loop's page: ``/dashboard/cases`` lists the follow-up cases that unhappy answers
opened, with a form to assign, progress and close each (closing needs a root cause), the
recovery rate, and a CSV export. Through :mod:`touchpath.voice.cases`, as the CLI and REST do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from touchpath.errors import TouchpathError
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.cases import STATUSES, list_cases, recovery_rate, update_case
from touchpath.voice.catalog import list_surveys
from touchpath.web.dashboard.i18n import Translator
from touchpath.web.dashboard.pages import PREFIX, Render, StoreOf, _choice, _error_text
from touchpath.web.dashboard.views import safe_csv
from touchpath.web.dashboard.voice_pages import (
    back_to,
    form_fields,
    here,
    person_href,
    with_query,
)

CASE_FILTERS = ("active", *STATUSES, "all")
"""``active``: open or in progress (the default view of the cases page)."""
CASES_SHOWN = 200
CASE_COLUMNS = ["case_id", "opened_at", "due_at", "overdue", "status", "owner", "person_id",
                "survey_id", "rule", "score", "comment", "root_cause", "closed_at"]


def cases_context(db: DuckDBStore, params: Any, tr: Translator) -> dict[str, Any]:
    """The cases page: the filtered cases, their owners, and the closed loop's numbers."""
    status = _choice(params, "status", CASE_FILTERS, "active")
    owner = (params.get("owner") or "").strip()
    every = list_cases(db)
    frame = filter_cases(every, status, owner)
    scales = {s.id: s.scored_question.scale for s in list_surveys(db)
              if s.scored_question is not None}
    rows = []
    for case in frame.head(CASES_SHOWN).to_dict(orient="records"):
        case = {k: (None if _missing(v) else v) for k, v in case.items()}
        scale = scales.get(str(case["survey_id"]))
        case["score_text"] = "–" if case["score"] is None else (
            tr.number(case["score"]) + (f" / {tr.number(scale[1])}" if scale else ""))
        case["person_href"] = person_href(f"person:{case['person_id']}")
        rows.append(case)
    recovery = recovery_rate(db)
    open_ = every[every["status"] != "closed"] if not every.empty else every
    return {"cases": rows, "total": len(frame), "status_filter": status, "owner": owner,
            "owners": sorted({str(o) for o in every["owner"] if not _missing(o)}),
            "statuses": STATUSES, "filters": CASE_FILTERS, "recovery": recovery,
            "counts": {"all": len(every), "open": len(open_),
                       "overdue": int(every["overdue"].sum()) if not every.empty else 0},
            "shown": CASES_SHOWN}


def filter_cases(frame: pd.DataFrame, status: str, owner: str) -> pd.DataFrame:
    if status == "active":
        frame = frame[frame["status"] != "closed"]
    elif status != "all":
        frame = frame[frame["status"] == status]
    if owner:
        frame = frame[frame["owner"] == owner]
    return frame


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def register(router: APIRouter, store: StoreOf, render: Render) -> None:
    """The cases page, its update form and its CSV export."""

    @router.get(PREFIX + "/cases")
    def cases(request: Request) -> Response:
        tr = request.state.tr
        try:
            context = cases_context(store(request), request.query_params, tr)
            error = None
        except TouchpathError as exc:
            context = cases_context(store(request), {}, tr)
            error = _error_text(exc, tr)
        return render(request, "cases.html", active="surveys", title=tr("cases.title"),
                      error=error, failed=None, query=request.url.query,
                      back=here(request),
                      updated=request.query_params.get("updated"), **context)

    @router.get(PREFIX + "/cases.csv")
    def cases_csv(request: Request) -> Response:
        params = request.query_params
        status = _choice(params, "status", CASE_FILTERS, "active")
        frame = filter_cases(list_cases(store(request)), status,
                             (params.get("owner") or "").strip())
        columns = [c for c in CASE_COLUMNS if c in frame.columns]
        return Response(safe_csv(frame[columns]), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="cases.csv"'})

    @router.post(PREFIX + "/cases/{case_id}")
    async def case_update(request: Request, case_id: str) -> Response:
        form = await form_fields(request)
        db, tr = store(request), request.state.tr
        target = back_to(form.get("next"), f"{PREFIX}/cases")
        try:
            await run_in_threadpool(
                update_case, db, case_id, status=form.get("status") or None,
                owner=form.get("owner", "").strip() or None,
                root_cause=form.get("root_cause", "").strip() or None)
        except TouchpathError as exc:
            query = parse_qs(urlsplit(target).query)
            params = {k: v[0] for k, v in query.items()}
            context = await run_in_threadpool(cases_context, db, params, tr)
            return render(request, "cases.html", status=exc.status, active="surveys",
                          title=tr("cases.title"), error=_error_text(exc, tr),
                          failed={"case_id": case_id, **form}, back=target,
                          query=urlsplit(target).query, updated=None, **context)
        return RedirectResponse(with_query(target, updated=case_id), status_code=303)
