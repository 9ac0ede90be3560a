"""The dashboard's routes: ``dashboard_router(store)`` for ``app.include_router``.

Every route needs a session (pages redirect to the login, ``/dashboard/api/*`` and CSV exports
answer 401) except the login page and the static files; every POST needs the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``). Both are enforced by
:class:`DashboardRoute` for every route of the router, so a new page cannot forget them. Every
answer carries a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Callable, Coroutine
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader

from touchpath.analytics.registry import ANALYSES, run_json
from touchpath.errors import NotFoundError
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.web.dashboard import auth, cases_page, journey_page, pages, voice_pages
from touchpath.web.dashboard.i18n import LANGUAGES, NAMES, Translator, pick_language
from touchpath.web.dashboard.views import json_script

PREFIX = "/dashboard"
API = PREFIX + "/api/"
SESSION_COOKIE = "tp_session"
LOGIN_CSRF_COOKIE = "tp_login_csrf"
LANG_COOKIE = "tp_lang"
PUBLIC = frozenset({PREFIX + "/login", PREFIX + "/static/{name}"})
"""Routes answered without a session (everything else redirects or answers 401)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
"""No inline script anywhere; Plotly sets inline styles on its SVG, hence style-src."""
HERE = Path(str(resources.files("touchpath.web.dashboard")))
STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript",
          "favicon.svg": "image/svg+xml"}

StoreOf = Callable[[Request], DuckDBStore]


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["json_script"] = json_script
    return env


ENV = _environment()


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page of the dashboard, in the request's language, with the session's CSRF token."""
    tr: Translator = request.state.tr
    session: auth.Session | None = getattr(request.state, "session", None)

    def lang_url(code: str) -> str:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
        query.append(("lang", code))
        return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query)

    html = ENV.get_template(template).render(
        tr=tr, session=session, csrf_token=session.csrf_token if session else "",
        nav=pages.NAV, languages=[(c, NAMES[c], lang_url(c)) for c in LANGUAGES],
        static=lambda name: f"{PREFIX}/static/{name}", prefix=PREFIX, request=request,
        **context)
    return HTMLResponse(html, status_code=status)


def secured(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers.setdefault("Cache-Control", "no-store")
    return response


def _unauthorized(request: Request, wants_json: bool) -> Response:
    if wants_json:
        error = {"code": "unauthorized", "message": "log in to the dashboard first"}
        return JSONResponse({"error": error, **error}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)


async def form_data(request: Request) -> dict[str, list[str]]:
    """An urlencoded form body (the dashboard's forms send nothing else)."""
    body = await request.body()
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


async def _csrf_ok(request: Request, expected: str) -> bool:
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        given = (await form_data(request)).get("csrf_token", [""])[0]
    return given is not None and given != "" and hmac.compare_digest(given.encode(),
                                                                     expected.encode())


class DashboardRoute(APIRoute):
    """Login, CSRF, language and security headers for every route of the dashboard."""

    store_of: ClassVar[StoreOf]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()
        public = self.path in PUBLIC
        wants_json = self.path.startswith(API) or self.path.endswith(".csv")
        store_of = type(self).store_of

        async def handler(request: Request) -> Response:
            asked = request.query_params.get("lang")
            request.state.tr = Translator(pick_language(
                asked, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language")))
            if not public:
                db = store_of(request)
                session = await run_in_threadpool(auth.find_session, db,
                                                  request.cookies.get(SESSION_COOKIE))
                if session is None:
                    return secured(_unauthorized(request, wants_json))
                request.state.session = session
                if request.method not in SAFE_METHODS and not await _csrf_ok(
                        request, session.csrf_token):
                    error = {"code": "csrf", "message": "the form's CSRF token is missing or "
                             "wrong; reload the page and try again"}
                    return secured(JSONResponse({"error": error, **error}, status_code=403))
            response = await inner(request)
            if asked in LANGUAGES:
                response.set_cookie(LANG_COOKIE, str(asked), max_age=365 * 86400,
                                    path=PREFIX, samesite="lax", httponly=True,
                                    secure=request.url.scheme == "https")
            return secured(response)

        return handler


def _safe_next(target: str | None) -> str:
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX


def dashboard_router(store: StoreOf) -> APIRouter:
    """The dashboard under ``/dashboard``; ``store(request)`` gives the app's store."""
    route_class = type("BoundDashboardRoute", (DashboardRoute,), {"store_of": staticmethod(store)})
    router = APIRouter(route_class=route_class, include_in_schema=False)

    @router.get(PREFIX + "/static/{name}")
    def static(name: str) -> Response:
        if name == "plotly.min.js":
            import plotly

            path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
            media = "text/javascript"
        elif name in STATIC:
            path, media = HERE / "static" / name, STATIC[name]
        else:
            raise NotFoundError(f"no static file {name!r}", field="name")
        return FileResponse(path, media_type=media,
                            headers={"Cache-Control": "public, max-age=3600"})

    @router.get(PREFIX + "/login")
    def login_page(request: Request, next: str | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", title="touchpath", login_csrf=token,
                          next=_safe_next(next), error=None)
        _set_login_cookie(request, response, token)
        return response

    @router.post(PREFIX + "/login")
    async def login(request: Request) -> Response:
        form = await form_data(request)

        def field(name: str) -> str:
            return form.get(name, [""])[0]

        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        target = _safe_next(field("next"))
        if not cookie or not hmac.compare_digest(cookie.encode(), field("csrf_token").encode()):
            return _login_again(request, "login.csrf", target, 403)
        db = store(request)
        client = request.client.host if request.client else "unknown"
        wait = await run_in_threadpool(auth.login_blocked, db, field("username"), client)
        if wait:
            # refused before the password is looked at, the same for every user name
            minutes = math.ceil(wait / 60)
            response = _login_again(request, "login.throttled", target, 429,
                                    minutes=request.state.tr.number(minutes), plural=minutes)
            response.headers["Retry-After"] = str(wait)
            return response
        ok = await run_in_threadpool(auth.authenticate, db, field("username"), field("password"))
        if not ok:
            await run_in_threadpool(auth.record_failure, db, field("username"), client)
            return _login_again(request, "login.failed", target, 401)
        await run_in_threadpool(auth.forget_failures, db, field("username"))
        token, _ = await run_in_threadpool(auth.start_session, db, field("username"))
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=auth.SESSION_HOURS * 3600,
                            path=PREFIX, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
        return response

    @router.post(PREFIX + "/logout")
    def logout(request: Request) -> Response:
        auth.end_session(store(request), request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse(PREFIX + "/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    @router.get(PREFIX + "/api/analyses")
    def api_analyses() -> list[dict[str, str]]:
        """The analyses the dashboard can run (by name, with their help)."""
        return [{"name": n, "help": ANALYSES[n].help} for n in sorted(ANALYSES)]

    @router.post(PREFIX + "/api/analyses/{name}")
    def api_run(request: Request, name: str,
                spec: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Run an analysis on a JSON spec (the same as ``POST /v1/analyses/{name}``)."""
        return run_json(store(request), name, spec).to_dict()

    @router.get(PREFIX + "/api/events")
    def api_events(request: Request) -> list[dict[str, Any]]:
        """Event names with their counts, most frequent first."""
        return pages.event_counts(store(request))

    pages.register(router, store, render)
    journey_page.register(router, store, render)
    voice_pages.register(router, store, render)
    cases_page.register(router, store, render)
    return router


def _set_login_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path=PREFIX, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def _login_again(request: Request, message: str, target: str, status: int,
                 plural: Any = None, **values: Any) -> Response:
    token = secrets.token_urlsafe(24)
    error = request.state.tr(message, plural, **values)
    response = render(request, "login.html", status=status, title="touchpath",
                      login_csrf=token, next=target, error=error)
    _set_login_cookie(request, response, token)
    return response
