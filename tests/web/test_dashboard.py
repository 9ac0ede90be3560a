"""The dashboard in-process (FastAPI TestClient): login and sessions on every route, CSRF on
every POST, escaping, the CSP, CSV formula neutralising, the catalogues, Babel formatting, the
``touchpath users`` commands."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pytest
from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import touchpath.cli_dashboard  # adds "touchpath users" to the CLI
import touchpath.voice.satisfaction  # noqa: F401  (registers "satisfaction": the NPS trend)
from touchpath.analytics.registry import ANALYSES
from touchpath.cli import app as cli_app
from touchpath.collect.keys import create_key
from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.web.app import create_app
from touchpath.web.dashboard import auth, i18n, pages, routes, views
from touchpath.web.dashboard.routes import PUBLIC
from touchpath.web.dashboard.views import safe_csv, safe_csv_value

TOKEN = "admin-token-for-tests"
WRITE_KEY = "tpk_dashboard_test_key"
USER, PASSWORD = "noa", "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example","click")'
TEMPLATES = Path(pages.__file__).parent / "templates"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("dashboard") / "s.duckdb"
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        load_demo(store, size="200", seed=7)
        messages = [
            {"type": "track", "event": XSS, "userId": "xss-user", "messageId": "x1",
             "timestamp": "2026-03-01T10:00:00Z", "properties": {"note": "</script><b>hi"}},
            {"type": "track", "event": FORMULA, "userId": "xss-user", "messageId": "x2",
             "timestamp": "2026-03-01T10:05:00Z"},
            {"type": "identify", "userId": "xss-user", "messageId": "x3",
             "traits": {"email": "xss@example.com"}, "timestamp": "2026-03-01T09:00:00Z"},
        ]
        rows = [parse_message(m, received_at=datetime(2026, 3, 1, 12)) for m in messages]
        store.write(rows_to_table(rows))
        create_key(store, "site", source="web", key=WRITE_KEY)
        auth.create_user(store, USER, PASSWORD)
    app = create_app(load_settings(env={}, store_path=path), admin_token=TOKEN)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def anonymous(client: TestClient) -> TestClient:
    client.cookies.clear()
    return client


def login(client: TestClient, username: str = USER, password: str = PASSWORD,
          next_page: str = "/dashboard") -> Any:
    client.cookies.clear()
    page = client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client.post("/dashboard/login", data={
        "csrf_token": token.group(1), "username": username, "password": password,
        "next": next_page}, follow_redirects=False)


@pytest.fixture
def session(client: TestClient) -> tuple[TestClient, str]:
    """A logged-in client and its CSRF token."""
    assert login(client).status_code == 303
    page = client.get("/dashboard/journey")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return client, token.group(1)


def dashboard_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) of the dashboard router, path parameters filled in."""
    found = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI keeps included routers as such
                walk(route.original_router.routes)
            elif isinstance(route, APIRoute) and route.path.startswith("/dashboard"):
                found.extend((m, route.path) for m in sorted(route.methods - {"HEAD"}))

    walk(client.app.routes)  # type: ignore[attr-defined]
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "funnel", path)


def test_every_route_needs_a_login(anonymous: TestClient) -> None:
    routes = dashboard_routes(anonymous)
    protected = [(m, p) for m, p in routes if p not in PUBLIC]
    assert len(protected) >= 15  # pages, exports and the JSON API
    for method, path in protected:
        for headers in ({}, {"Authorization": f"Bearer {WRITE_KEY}"},
                        {"Authorization": f"Bearer {TOKEN}"}):
            response = anonymous.request(method, concrete(path), headers=headers,
                                         follow_redirects=False)
            if path.startswith("/dashboard/api/") or path.endswith(".csv"):
                assert response.status_code == 401, (method, path)
                assert response.json()["error"]["code"] == "unauthorized"
            else:
                assert response.status_code == 303, (method, path)
                assert response.headers["location"].startswith("/dashboard/login?next=")
            assert "Content-Security-Policy" in response.headers


def test_a_forged_or_expired_cookie_is_no_session(anonymous: TestClient) -> None:
    anonymous.cookies.set("tp_session", "made-up", path="/dashboard")
    assert anonymous.get("/dashboard", follow_redirects=False).status_code == 303
    assert anonymous.get("/dashboard/api/events").status_code == 401


def test_write_keys_read_nothing_and_the_admin_api_still_works(anonymous: TestClient) -> None:
    write = {"Authorization": f"Bearer {WRITE_KEY}"}
    admin = {"Authorization": f"Bearer {TOKEN}"}
    for method, path in (("GET", "/v1/stats"), ("GET", "/v1/admin/keys"),
                         ("GET", "/v1/persons/xss-user"), ("GET", "/v1/analyses")):
        assert anonymous.request(method, path, headers=write).status_code == 401
        assert anonymous.request(method, path, headers=admin).status_code == 200
    funnel = {"steps": [{"event": "Product Viewed"}, {"event": "Order Completed"}]}
    assert anonymous.post("/v1/analyses/funnel", json=funnel, headers=write).status_code == 401
    assert anonymous.post("/v1/analyses/funnel", json=funnel, headers=admin).status_code == 200


def test_login_sets_a_safe_session_cookie(client: TestClient) -> None:
    response = login(client, next_page="/dashboard/data")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/data"
    cookie = [c for c in response.headers.get_list("set-cookie") if c.startswith("tp_session=")]
    assert len(cookie) == 1
    flags = cookie[0].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/dashboard" in flags
    assert "secure" not in flags  # plain http (tests); https adds it, below
    assert client.get("/dashboard/data").status_code == 200
    https = TestClient(client.app, base_url="https://dash.example")
    page = https.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = https.post("/dashboard/login", data={"csrf_token": token.group(1), "username": USER,
                                                  "password": PASSWORD},
                        follow_redirects=False)
    assert answer.status_code == 303
    assert "secure" in next(c for c in answer.headers.get_list("set-cookie")
                        if c.startswith("tp_session=")).lower()


def test_login_refuses_wrong_passwords_forged_forms_and_foreign_redirects(
        client: TestClient) -> None:
    wrong = login(client, password="nope")
    assert wrong.status_code == 401 and "wrong" in wrong.text
    assert "tp_session" not in client.cookies
    unknown = login(client, username="nobody")
    assert unknown.status_code == 401
    client.cookies.clear()
    client.get("/dashboard/login")
    forged = client.post("/dashboard/login", data={"csrf_token": "guess", "username": USER,
                                                   "password": PASSWORD},
                         follow_redirects=False)
    assert forged.status_code == 403 and "tp_session" not in client.cookies
    for target in ("https://evil.example/", "//evil.example", "/elsewhere", "/dashboard\\@x"):
        assert login(client, next_page=target).headers["location"] == "/dashboard"


def _alert(response: Any) -> str:
    found = re.search(r'<div class="alert" role="alert">(.*?)</div>', response.text, re.S)
    assert found is not None, response.text[:500]
    return found.group(1)


def test_failed_logins_are_throttled_by_name_and_by_address(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    auth.create_user(store, "tamar", "tamar's long password")

    def at(address: str, **headers: str) -> TestClient:
        return TestClient(client.app, client=(address, 4000), headers=headers)

    # by user name: five wrong passwords, each from another address
    for n in range(5):
        assert login(at(f"198.51.100.{n}"), "tamar", "wrong").status_code == 401
    known = login(at("198.51.100.99"), "tamar", "tamar's long password")
    assert known.status_code == 429  # the right password no longer helps
    assert "tp_session" not in known.cookies
    assert 895 <= int(known.headers["retry-after"]) <= 900
    assert "Too many failed logins. Try again in \u206815\u2069 minutes." in _alert(known)
    assert 'name="password"' in known.text  # still the login page, with its form
    # an unknown user name is answered the same way: no hint whether the account exists
    for n in range(5):
        assert login(at(f"198.51.100.{n + 10}"), "ghost", "wrong").status_code == 401
    unknown = login(at("198.51.100.98"), "ghost", "wrong")
    assert unknown.status_code == 429 and _alert(unknown) == _alert(known)
    assert abs(int(unknown.headers["retry-after"]) - int(known.headers["retry-after"])) <= 2
    assert login(at("198.51.100.97"), " GHOST", "wrong").status_code == 429  # same name
    hebrew = login(at("198.51.100.96", **{"Accept-Language": "he"}), "ghost", "x")
    assert hebrew.status_code == 429 and "נסו שוב בעוד" in _alert(hebrew)
    # by address: five names guessed from one address lock that address, for every name
    for n in range(5):
        assert login(at("203.0.113.7"), f"guess{n}", "wrong").status_code == 401
    assert login(at("203.0.113.7"), USER, PASSWORD).status_code == 429
    assert login(at("203.0.113.8"), USER, PASSWORD).status_code == 303
    # a successful login forgets the name's failures
    auth.create_user(store, "omer", "omer's long password")
    for n in range(4):
        assert login(at(f"192.0.2.{n}"), "omer", "wrong").status_code == 401
    assert login(at("192.0.2.50"), "omer", "omer's long password").status_code == 303
    for n in range(4):
        assert login(at(f"192.0.2.{n + 10}"), "omer", "wrong").status_code == 401
    assert login(at("192.0.2.51"), "omer", "omer's long password").status_code == 303


def test_a_throttled_name_is_let_in_again_after_the_window(tmp_path: Path) -> None:
    with DuckDBStore(load_settings(env={}, store_path=tmp_path / "t.duckdb")) as store:
        start = datetime(2026, 2, 1, 9, 0)
        for n in range(4):
            auth.record_failure(store, "zed", f"192.0.2.{n}", now=start + timedelta(minutes=n))
        assert auth.login_blocked(store, "zed", "192.0.2.200", now=start + timedelta(
            minutes=4)) == 0  # four failures: not yet
        auth.record_failure(store, "Zed", "192.0.2.9", now=start + timedelta(minutes=4))
        later = start + timedelta(minutes=5)
        # blocked until the oldest of the five leaves the 15-minute window
        assert auth.login_blocked(store, "zed", "192.0.2.200", now=later) == 10 * 60
        assert auth.login_blocked(store, "ZED", "192.0.2.200", now=later) == 10 * 60
        assert auth.login_blocked(store, "other", "192.0.2.200", now=later) == 0
        assert auth.login_blocked(store, "zed", "x", now=start + timedelta(
            minutes=15, seconds=1)) == 0


def test_every_post_needs_the_csrf_token(session: tuple[TestClient, str]) -> None:
    client, token = session
    posts = [p for m, p in dashboard_routes(client) if m == "POST" and p not in PUBLIC]
    assert "/dashboard/logout" in posts and "/dashboard/api/analyses/{name}" in posts
    for path in posts:
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            response = client.post(concrete(path), headers=headers, json={},
                                   follow_redirects=False)
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "csrf"
        form = client.post(concrete(path), data={"csrf_token": "wrong"},
                           follow_redirects=False)
        assert form.status_code == 403
    funnel = {"steps": [{"event": "Product Viewed"}, {"event": "Order Completed"}]}
    answer = client.post("/dashboard/api/analyses/funnel", json=funnel,
                         headers={"X-CSRF-Token": token})
    direct = client.post("/v1/analyses/funnel", json=funnel,
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and answer.json() == direct.json()
    out = client.post("/dashboard/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_every_page_renders_with_a_csp_and_no_inline_script(
        session: tuple[TestClient, str]) -> None:
    client, _ = session
    pages_ = [p for m, p in dashboard_routes(client)
              if m == "GET" and "{" not in p and not p.endswith(".csv") and "/api/" not in p]
    assert len(pages_) >= 9
    for path in pages_:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp)
        assert script_src is not None and script_src.group(1).strip() == "'self'"
        assert "frame-ancestors 'none'" in csp
        for tag in re.findall(r"<script\b[^>]*>", response.text):
            assert 'src="/dashboard/static/' in tag or 'type="application/json"' in tag, tag
        assert "cdn" not in response.text.lower()


def test_user_values_are_escaped(session: tuple[TestClient, str]) -> None:
    client, _ = session
    person = client.get("/dashboard/people", params={"q": "xss-user"}).text
    assert XSS not in person
    assert "&lt;img src=x onerror=alert(1)&gt;" in person
    assert "</script><b>" not in person and "&lt;/script&gt;&lt;b&gt;hi" in person
    funnel = client.get("/dashboard/funnels", params={"step": [XSS, FORMULA]}).text
    assert XSS not in funnel
    # in the chart's JSON, "<" is \u003c: no text can close the <script> element
    data = re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', funnel, re.S)
    assert data and all("<" not in d for d in data)
    assert any("\\u003cimg src=x onerror=alert(1)\\u003e" in d for d in data)
    search = client.get("/dashboard/people", params={"q": '"><script>alert(3)</script>'}).text
    assert "<script>alert(3)" not in search and "&#34;&gt;&lt;script&gt;" in search


def test_csv_exports_neutralise_formulas(session: tuple[TestClient, str]) -> None:
    assert [safe_csv_value(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "ok", -5, 1.5)
            ] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "ok", -5, 1.5]
    text = safe_csv(pd.DataFrame({"=name": ["=cmd", "fine"], "n": [-1, 2]}))
    assert text.splitlines() == ["'=name,n", "'=cmd,-1", "fine,2"]
    client, _ = session
    timeline = client.get("/dashboard/people/timeline.csv", params={"q": "xss-user"})
    assert timeline.status_code == 200 and timeline.headers["content-type"].startswith("text/csv")
    assert "attachment" in timeline.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(timeline.text)))
    events = [row[1] for row in rows[1:]]
    assert "'" + FORMULA in events and "'=HYPERLINK" not in FORMULA
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    funnel = client.get("/dashboard/funnels.csv", params={"step": [FORMULA, XSS]})
    assert funnel.status_code == 200 and "'=HYPERLINK" in funnel.text
    assert "\n=" not in funnel.text and ",=" not in funnel.text


def test_catalogues_are_complete_in_three_languages() -> None:
    english = i18n.catalogue("en")
    for language in ("he", "ar"):
        other = i18n.catalogue(language)
        assert set(other) == set(english), language
        for key, text in english.items():
            assert other[key].strip(), (language, key)
            if key not in i18n.plurals(language):
                assert set(re.findall(r"{(\w+)}", other[key])) == set(
                    re.findall(r"{(\w+)}", text)), (language, key)
    # plural forms: every CLDR category of the language (Babel's rules pick one), and no
    # placeholder that the English message does not have
    assert set(i18n.plurals("he")) == set(i18n.plurals("ar")) == set(i18n.plurals("en"))
    for language, locale in i18n.LOCALES.items():
        tags = {*Locale.parse(locale).plural_form.tags, "other"}
        for key, forms in i18n.plurals(language).items():
            assert set(forms) == tags, (language, key)
            allowed = set(re.findall(r"{(\w+)}", english[key]))
            for text in forms.values():
                assert set(re.findall(r"{(\w+)}", text)) <= allowed, (language, key, text)
    assert i18n.catalogue("he")["nav.journey"] == "מפת מסע לקוח"  # GLOSSARY.md
    assert i18n.catalogue("ar")["nav.journey"] == "خريطة رحلة العميل"
    used = set()
    for template in TEMPLATES.glob("*.html"):
        found = re.findall(r"tr\('([^']+)'", template.read_text(encoding="utf-8"))
        used |= {k for k in found if not k.endswith(".")}  # prefixes: the sets below
    source = "".join(Path(m.__file__).read_text(encoding="utf-8")
                     for m in (pages, auth, routes, views))
    used |= set(re.findall(r'tr\("([^"{]+)"\)', source))
    used |= {f"nav.{item.id}" for item in pages.NAV}
    used |= {f"period.{p}" for p in pages.PERIODS}
    used |= {f"funnels.order.{o}" for o in pages.ORDERS}
    used |= {f"breakdown.{b}" for b in pages.BREAKDOWNS}
    used |= {"login.failed", "login.csrf", "login.throttled", "yes", "no"}
    used |= {f"analysis.{name}.help" for name in HELPED}
    used |= {f"channel.{c}" for c in ("direct", "email", "paid_search", "paid_social")}
    missing = sorted(k for k in used if k not in english)
    assert missing == []
    assert len(used) > 120


def test_numbers_and_dates_follow_the_locale() -> None:
    en, he, ar = (i18n.Translator(code) for code in ("en", "he", "ar"))
    assert en.number(1234567) == he.number(1234567) == ar.number(1234567) == "1,234,567"
    assert en.percent(0.125) == "12.5%"
    when = datetime(2026, 1, 5, 14, 30)
    assert en.date(when) == "Jan 5, 2026"
    assert he.date(when) == "5 בינו׳ 2026"
    assert ar.date(when) == "05\u200f/01\u200f/2026"
    assert he.datetime(when) == "5 בינו׳ 2026, 14:30"
    assert en.datetime("2026-01-05T14:30:00") == "Jan 5, 2026, 2:30\u202fPM"
    assert en.number(None) == "–" and en.percent(float("nan")) == "–"
    # plural forms by Babel's rules for each language
    def dropped(tr: i18n.Translator, n: int) -> str:
        return tr.text("funnels.dropped_count", n=tr.number(n), plural=n).translate(
            {0x2068: None, 0x2069: None})

    assert [dropped(en, n) for n in (1, 2)] == ["1 person dropped off here",
                                                "2 people dropped off here"]
    assert [dropped(he, n) for n in (1, 2, 7)] == ["אדם אחד נשר כאן", "שני אנשים נשרו כאן",
                                                   "7 אנשים נשרו כאן"]
    assert [dropped(ar, n) for n in (0, 1, 2, 7, 25, 100)] == [
        "لم يتوقف أحد هنا", "توقف شخص واحد هنا", "توقف شخصان هنا", "توقف 7 أشخاص هنا",
        "توقف 25 شخصًا هنا", "توقف 100 شخص هنا"]
    # placeholders are isolated so an English name keeps its place in a right-to-left sentence
    assert he.text("funnels.step_n", n=3) == "שלב \u20683\u2069"


def test_language_from_query_cookie_and_browser(session: tuple[TestClient, str]) -> None:
    client, _ = session
    page = client.get("/dashboard/stages", params={"lang": "he"})
    assert '<html lang="he" dir="rtl">' in page.text
    assert "מודעות" in page.text  # the stage names in Hebrew
    assert client.cookies.get("tp_lang") == "he"
    assert '<html lang="he" dir="rtl">' in client.get("/dashboard/data").text
    assert '<html lang="ar" dir="rtl">' in client.get("/dashboard?lang=ar").text
    assert '<html lang="en" dir="ltr">' in client.get("/dashboard?lang=en").text
    client.cookies.delete("tp_lang")
    browser = client.get("/dashboard/journey", headers={"Accept-Language": "ar-IL,ar;q=0.9"})
    assert '<html lang="ar" dir="rtl">' in browser.text
    assert "خريطة رحلة العميل" in browser.text
    assert '<html lang="en" dir="ltr">' in client.get("/dashboard/journey?lang=xx").text


def test_plotly_is_served_from_the_installed_package(anonymous: TestClient) -> None:
    script = anonymous.get("/dashboard/static/plotly.min.js")
    assert script.status_code == 200 and len(script.content) > 1_000_000
    assert b"plotly" in script.content[:2000].lower()
    assert anonymous.get("/dashboard/static/dashboard.css").status_code == 200
    assert anonymous.get("/dashboard/static/secret.py").status_code == 404
    assert anonymous.get("/dashboard/static/..%2Froutes.py").status_code == 404


def test_builder_errors_name_the_field_and_empty_states_say_what_next(
        session: tuple[TestClient, str]) -> None:
    client, _ = session
    bad = client.get("/dashboard/funnels", params={"step": ["Product Viewed", "Nope Event"]})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "steps[1]" in bad.text
    window = client.get("/dashboard/funnels", params={"step": ["A", "B"], "window_days": "x"})
    assert "window_days" in window.text
    by_mail = client.get("/dashboard/people", params={"q": "XSS@example.com"})
    assert "xss-user" in by_mail.text and "Timeline across channels" in by_mail.text
    nobody = client.get("/dashboard/people", params={"q": "no-such-person"})
    assert "Nobody found" in nobody.text
    built = client.get("/dashboard/funnels", params={
        "step": ["Product Viewed", "Order Completed"], "breakdown": "person:initial_channel"})
    assert "people entered" in built.text and "Download CSV" in built.text
    dropped = client.get("/dashboard/funnels/dropped", params={
        "step": ["Product Viewed", "Order Completed"], "at": "1"})
    assert dropped.status_code == 200 and "/dashboard/people?q=person:" in dropped.text
    overview = client.get("/dashboard").text
    assert 'id="nps"' in overview and "Net Promoter Score by month" in overview
    assert 'data-kpi="people"' in overview and "fig-funnel-data" in overview
    assert client.get("/dashboard/journey").status_code == 200  # its own tests: journey's


HELPED = ("funnel", "paths", "retention", "stages", "sessions", "lifecycle", "satisfaction",
          "drivers", "themes", "attribution", "clv", "journey_map")
"""Analyses whose help the catalogues translate (any other shows the registry's English)."""


def test_the_overview_lists_the_other_analyses_with_translated_help(
        session: tuple[TestClient, str]) -> None:
    client, _ = session
    listed = {}
    for language in ("en", "he", "ar"):
        page = client.get(f"/dashboard?lang={language}").text
        items = dict(re.findall(r'<li data-analysis="([^"]+)"><strong dir="ltr">[^<]+</strong> — '
                                r'(.*?)</li>', page, re.S))
        listed[language] = items
        assert items and "funnel" not in items  # the ones with a page are not listed
        for name, text in items.items():
            if name in HELPED:
                assert text == html.escape(i18n.catalogue(language)[f"analysis.{name}.help"],
                                           quote=True), (language, name)
            else:  # not in the catalogues: the registry's own English words, marked as such
                assert text == f'<bdi lang="en">{html.escape(ANALYSES[name].help)}</bdi>'
    assert "lifecycle" in listed["en"]
    assert listed["he"]["lifecycle"] == "אנשים חדשים, חוזרים, שחזרו אחרי הפסקה ורדומים, לפי תקופה."
    assert listed["en"]["lifecycle"] == ANALYSES["lifecycle"].help
    client.get("/dashboard?lang=en")


def test_the_overview_charts_speak_the_page_language(session: tuple[TestClient, str]) -> None:
    client, _ = session
    page = client.get("/dashboard?lang=he").text
    client.get("/dashboard?lang=en")
    found = re.search(r'<script type="application/json" id="fig-nps-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    layout = json.loads(found.group(1))["layout"]
    ticks = layout["xaxis"]["ticktext"]
    assert ticks and all(re.fullmatch(r"\S+ \d{4}", t) for t in ticks), ticks
    assert any(t.startswith(("ינו׳", "פבר׳", "מרץ", "אפר׳", "מאי", "יוני")) for t in ticks), ticks
    channels = re.search(r'id="fig-channels-data">(.*?)</script>', page, re.S)
    assert channels is not None  # mirrored in RTL
    assert json.loads(channels.group(1))["layout"]["xaxis"]["autorange"] == "reversed"


def _layout(fig: Any, language: str, **options: Any) -> dict[str, Any]:
    text = str(views.figure_json(fig, i18n.Translator(language), **options))
    layout: dict[str, Any] = json.loads(text)["layout"]
    return layout


def test_chart_axes_follow_the_locale() -> None:
    months = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    for language, expected in (("en", ["Jan 2026", "Feb 2026", "Mar 2026"]),
                               ("he", ["ינו׳ 2026", "פבר׳ 2026", "מרץ 2026"]),
                               ("ar", ["يناير 2026", "فبراير 2026", "مارس 2026"])):
        layout = _layout(go.Figure(go.Bar(x=months, y=[1234.5, 2, 3])), language)
        locale = i18n.LOCALES[language]
        assert layout["separators"] == get_decimal_symbol(locale) + get_group_symbol(locale)
        assert layout["xaxis"]["ticktext"] == expected
        assert layout["xaxis"]["tickvals"] == ["2026-01-01", "2026-02-01", "2026-03-01"]
        assert layout["xaxis"]["hoverformat"] == "%Y-%m"  # digits, not English month names
    # retention's heatmap: "week 3" columns and cohorts written "2026-01-05 (13)"
    heat = go.Figure(go.Heatmap(z=[[1, 0.5], [1, 0.4]], x=["week 0", "week 1"],
                                y=["2026-01-05 (13)", "2026-01-12 (6)"]))
    layout = _layout(heat, "he")
    assert layout["xaxis"]["ticktext"] == ["שבוע 0", "שבוע 1"]
    assert layout["xaxis"]["tickvals"] == ["week 0", "week 1"]
    assert layout["yaxis"]["ticktext"] == ["5 בינו׳ 2026 (13)", "12 בינו׳ 2026 (6)"]
    # sixty days: at most twelve ticks, each the locale's date; the x axis mirrored in RTL
    days = pd.date_range("2026-01-01", periods=60, freq="D").to_numpy()
    layout = _layout(go.Figure(go.Bar(x=days, y=list(range(60)))), "ar", reverse_x=True)
    assert 6 <= len(layout["xaxis"]["ticktext"]) <= 12
    assert layout["xaxis"]["ticktext"][0] == i18n.Translator("ar").date(date(2026, 1, 1))
    assert layout["xaxis"]["autorange"] == "reversed"
    assert layout["xaxis"]["hoverformat"] == "%Y-%m-%d"
    # names are left alone
    layout = _layout(go.Figure(go.Bar(x=["Order Completed", "2026-01-01"], y=[1, 2])), "he")
    assert "tickvals" not in layout.get("xaxis", {})


def test_passwords_are_hashed_and_checked() -> None:
    stored = auth.hash_password("s3cret-pass")
    assert stored.startswith("scrypt$") and "s3cret-pass" not in stored
    assert auth.check_password("s3cret-pass", stored)
    assert not auth.check_password("s3cret-pasS", stored)
    assert not auth.check_password("x", "md5$abc")
    assert auth.hash_password("same") != auth.hash_password("same")  # salted


def test_users_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "u.duckdb"

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(cli_app, ["--store", str(store), *args], input=stdin,
                             env={"COLUMNS": "200"})

    created = run("users", "create", "dana", "--password-stdin", stdin="long enough pw\n")
    assert created.exit_code == 0, created.output
    prompted = run("users", "create", "omar", stdin="another long pw\nanother long pw\n")
    assert prompted.exit_code == 0, prompted.output
    short = run("users", "create", "eve", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "password" in short.output
    listed = run("users", "list")
    assert "dana" in listed.stdout and "omar" in listed.stdout and "eve" not in listed.stdout
    with DuckDBStore(load_settings(env={}, store_path=store)) as opened:
        assert auth.authenticate(opened, "dana", "long enough pw")
        assert not auth.authenticate(opened, "dana", "long enough pw!")
        token, _ = auth.start_session(opened, "dana")
        assert auth.find_session(opened, token) is not None
        auth.create_user(opened, "dana", "a new password")  # ends her sessions
        assert auth.find_session(opened, token) is None
        assert auth.ensure_demo_user(opened) and not auth.ensure_demo_user(opened)
        assert auth.authenticate(opened, "demo", "demo")
    assert run("users", "delete", "omar").exit_code == 0
    assert run("users", "delete", "omar").exit_code == 2
    assert "omar" not in run("users", "list").stdout


def test_analysis_pages_say_which_engine_answered_and_how_fast(
        session: tuple[TestClient, str]) -> None:
    """Issue 8: the dashboard shows the engine and the time of each analysis."""
    client, _ = session
    for page in ("funnels?step=Product+Viewed&step=Order+Completed", "paths", "retention",
                 "stages"):
        html = client.get(f"/dashboard/{page}").text
        # placeholders are wrapped in direction isolates (U+2068 ... U+2069)
        assert re.search(r"Answered by \u2068duckdb\u2069 in \u2068\d+\.\d\d\u2069 s", html), page
