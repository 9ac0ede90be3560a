"""The survey routes.

Public, with a write key (the in-page widget calls them from the customer's site, so CORS is
open as on the collector): ``POST /v1/surveys/next`` (is a survey due?),
``POST /v1/surveys/{id}/responses`` and ``/dismissals``. Public with a signed link token (e-mail
or SMS): ``GET``/``POST /s/{token}``. The widget's script: ``GET /survey.js``. Admin (bearer
token): surveys (list, get, put, pause), link tokens, follow-up cases and recovery.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse, Response

from touchpath.analytics.codec import to_dict
from touchpath.collect.committer import GroupCommitter
from touchpath.collect.keys import DEMO_KEY
from touchpath.errors import AuthError, NotFoundError, ValidationError
from touchpath.spec.messages import parse_message
from touchpath.spec.timestamps import utcnow
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.answers import DISMISSED, SHOWN, Answer, event_message
from touchpath.voice.cases import list_cases, recovery_rate, update_case
from touchpath.voice.catalog import list_surveys, load_survey, save_survey, set_active
from touchpath.voice.links import make_token, read_token, survey_secret
from touchpath.voice.record import parse_options, record_answer
from touchpath.voice.survey import localized, survey_from_dict
from touchpath.voice.targeting import Visitor, due_survey
from touchpath.web.collector import basic_auth_user

PUBLIC_PREFIX = "/v1/surveys/"
PUBLIC_SUFFIXES = ("/next", "/responses", "/dismissals")


def is_public_survey_path(path: str) -> bool:
    """Paths a page on any origin may call (CORS): the widget's three routes."""
    return path.startswith(PUBLIC_PREFIX) and path.endswith(PUBLIC_SUFFIXES)


def _static(name: str) -> bytes:
    return resources.files("touchpath.web").joinpath(f"static/{name}").read_bytes()


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ValidationError("must be a string", field=key)
    return value


def surveys_router(admin: Callable[..., None], store: Callable[..., DuckDBStore]) -> APIRouter:
    router = APIRouter(tags=["surveys"])

    def commit_with(request: Request) -> Callable[[list[dict[str, Any]]], None]:
        committer: GroupCommitter = request.app.state.committer

        def commit(rows: list[dict[str, Any]]) -> None:
            committer.submit(rows).result()

        return commit

    def check_key(request: Request, body: dict[str, Any]) -> None:
        request.app.state.keys.verify(
            basic_auth_user(request.headers.get("authorization", "")) or body.get("writeKey"))

    def record_event(request: Request, db: DuckDBStore, message: dict[str, Any]) -> None:
        row = parse_message(message, received_at=utcnow(),
                            options=parse_options(db.settings, "survey"))
        commit_with(request)([row])

    @router.post("/v1/surveys/next")
    def next_survey(request: Request, body: dict[str, Any] = Body(...),  # noqa: B008
                    db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """The survey due for this visitor now (``{"survey": null}`` when none); records
        that it was shown. Body: ``anonymousId``, ``userId``, ``event`` (and its
        ``messageId`` and ``properties``) just sent, ``language``."""
        check_key(request, body)
        visitor = Visitor(_text(body, "userId"), _text(body, "anonymousId"),
                          _text(body, "event"), body.get("properties") or {},
                          _text(body, "messageId"))
        if not (visitor.user_id or visitor.anonymous_id):
            raise ValidationError("send anonymousId or userId", field="anonymousId")
        due = due_survey(db, visitor)
        if due is None:
            return {"survey": None}
        record_event(request, db, event_message(
            SHOWN, due.survey, user_id=visitor.user_id, anonymous_id=visitor.anonymous_id,
            touchpoint=due.touchpoint, stage=due.stage))
        shown = localized(due.survey, _text(body, "language"))
        return {"survey": {**shown, "touchpoint": due.touchpoint, "stage": due.stage}}

    @router.post("/v1/surveys/{survey_id}/responses")
    def respond(request: Request, survey_id: str, body: dict[str, Any] = Body(...),  # noqa: B008
                db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Store an answer (the person's ``Survey Answered`` event) once it is durable; open
        the follow-up cases it calls for."""
        check_key(request, body)
        survey = load_survey(db, survey_id)
        answer = Answer(
            answers=body.get("answers") or {}, user_id=_text(body, "userId"),
            anonymous_id=_text(body, "anonymousId"), response_id=_text(body, "responseId"),
            language=_text(body, "language"), touchpoint=_text(body, "touchpoint"),
            stage=_text(body, "stage"), comment=_text(body, "comment"))
        done = record_answer(db, survey, answer, commit=commit_with(request),
                             webhooks=request.app.state.webhooks)
        return {"stored": True, "response_id": done.response_id,
                "case": done.cases[0]["case_id"] if done.cases else None}

    @router.post("/v1/surveys/{survey_id}/dismissals")
    def dismiss(request: Request, survey_id: str, body: dict[str, Any] = Body(...),  # noqa: B008
                db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Record that the visitor closed the survey without answering."""
        check_key(request, body)
        survey = load_survey(db, survey_id)
        user, anon = _text(body, "userId"), _text(body, "anonymousId")
        if not (user or anon):
            raise ValidationError("send anonymousId or userId", field="anonymousId")
        record_event(request, db, event_message(DISMISSED, survey, user_id=user,
                                                anonymous_id=anon,
                                                touchpoint=_text(body, "touchpoint")))
        return {"stored": True}

    @router.get("/survey.js", include_in_schema=False)
    def widget_script() -> Response:
        return Response(_static("survey.js"), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300",
                                 "Access-Control-Allow-Origin": "*"})

    @router.get("/demo", include_in_schema=False)
    def demo_shop(request: Request) -> HTMLResponse:
        """A pretend shop page to try the snippet and the surveys (with the demo write key,
        which ``touchpath serve --demo`` creates; 404 without it)."""
        try:
            request.app.state.keys.verify(DEMO_KEY)
        except AuthError:
            raise NotFoundError("no demo here: start the server with --demo",
                                field="path") from None
        page = _static("demo-shop.html").decode().replace("{{write_key}}", DEMO_KEY)
        return HTMLResponse(page, headers={"Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self' data:")})

    @router.get("/demo-shop.js", include_in_schema=False)
    def demo_script() -> Response:
        return Response(_static("demo-shop.js"), media_type="text/javascript")

    @router.get("/demo-shop.css", include_in_schema=False)
    def demo_style() -> Response:
        return Response(_static("demo-shop.css"), media_type="text/css")

    @router.get("/s/{token}", include_in_schema=False)
    def link_page(token: str, lang: str | None = None,
                  db: DuckDBStore = Depends(store)) -> HTMLResponse:  # noqa: B008
        """The page behind a survey link (e-mail, SMS)."""
        claims = read_token(survey_secret(db), token)
        survey = load_survey(db, claims.survey_id)
        shown = localized(survey, lang or claims.language)
        shown.update(touchpoint=claims.touchpoint, stage=None)
        page = _static("survey-page.html").decode()
        # JSON inside a <script type="application/json">: '<' escaped so no tag can close it
        data = json.dumps(shown, ensure_ascii=False).replace("<", "\\u003c")
        for key, value in (("{{survey_json}}", data), ("{{post_url}}", html.escape(f"/s/{token}")),
                           ("{{lang}}", html.escape(shown["language"])),
                           ("{{dir}}", shown["dir"]), ("{{title}}", html.escape(shown["title"]))):
            page = page.replace(key, value)
        return HTMLResponse(page)

    @router.post("/s/{token}", include_in_schema=False)
    def link_answer(request: Request, token: str, body: dict[str, Any] = Body(...),  # noqa: B008
                    db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """An answer given through a survey link: the token names the person."""
        claims = read_token(survey_secret(db), token)
        survey = load_survey(db, claims.survey_id)
        answer = Answer(
            answers=body.get("answers") or {}, user_id=claims.user_id,
            anonymous_id=claims.anonymous_id,
            response_id=_text(body, "responseId") or f"link-{token[-24:]}",
            language=_text(body, "language") or claims.language, touchpoint=claims.touchpoint,
            comment=_text(body, "comment"))
        done = record_answer(db, survey, answer, commit=commit_with(request),
                             webhooks=request.app.state.webhooks, source="survey-link")
        return {"stored": True, "response_id": done.response_id,
                "case": done.cases[0]["case_id"] if done.cases else None}

    guarded = APIRouter(tags=["surveys"], dependencies=[Depends(admin)])

    @guarded.get("/v1/surveys")
    def surveys(db: DuckDBStore = Depends(store)) -> list[dict[str, Any]]:  # noqa: B008
        """Every survey with its definition."""
        return [to_dict(s) for s in list_surveys(db)]

    @guarded.put("/v1/surveys/{survey_id}")
    def put_survey(survey_id: str, body: dict[str, Any] = Body(...),  # noqa: B008
                   db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Create or replace a survey (its JSON form; see docs/surveys.md)."""
        survey = survey_from_dict({**body, "id": body.get("id", survey_id)})
        if survey.id != survey_id:
            raise ValidationError(f"the body's id {survey.id!r} differs from the URL's",
                                  field="id")
        saved: dict[str, Any] = to_dict(save_survey(db, survey))
        return saved

    @guarded.post("/v1/surveys/{survey_id}/active")
    def activate(survey_id: str, active: bool = Body(..., embed=True),
                 db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Pause (``{"active": false}``) or resume a survey."""
        return {"id": survey_id, "active": set_active(db, survey_id, active).active}

    @guarded.post("/v1/surveys/{survey_id}/links")
    def link(request: Request, survey_id: str, body: dict[str, Any] = Body(...),  # noqa: B008
             db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """A signed survey link for one person (``userId`` or ``anonymousId``, optional
        ``touchpoint``, ``language``, ``validDays``) to send by e-mail or SMS."""
        load_survey(db, survey_id)
        days = body.get("validDays", 30)
        if not isinstance(days, int):
            raise ValidationError("a whole number of days", field="validDays")
        token = make_token(survey_secret(db), survey_id, user_id=_text(body, "userId"),
                           anonymous_id=_text(body, "anonymousId"),
                           touchpoint=_text(body, "touchpoint"),
                           language=_text(body, "language"), valid_days=days)
        return {"token": token, "url": str(request.base_url).rstrip("/") + f"/s/{token}"}

    @guarded.get("/v1/cases")
    def cases(status: str | None = None,
              db: DuckDBStore = Depends(store)) -> Response:  # noqa: B008
        """Follow-up cases (``?status=open|in_progress|closed``), newest first."""
        frame = list_cases(db, status)
        return Response(orjson.dumps(frame.to_dict(orient="records"), default=str),
                        media_type="application/json")

    @guarded.patch("/v1/cases/{case_id}")
    def patch_case(case_id: str, body: dict[str, Any] = Body(...),  # noqa: B008
                   db: DuckDBStore = Depends(store)) -> Response:  # noqa: B008
        """Assign (``owner``), progress or close (``status``, ``root_cause``) a case."""
        unknown = set(body) - {"status", "owner", "root_cause"}
        if unknown:
            raise ValidationError("only status, owner and root_cause change",
                                  field=sorted(unknown)[0])
        case = update_case(db, case_id, status=_text(body, "status"),
                           owner=_text(body, "owner"), root_cause=_text(body, "root_cause"))
        return Response(orjson.dumps(case, default=str), media_type="application/json")

    @guarded.get("/v1/cases-recovery")
    def recovery(db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """How many people with a case answered again, and how many of them recovered."""
        return recovery_rate(db)

    router.include_router(guarded)
    return router
