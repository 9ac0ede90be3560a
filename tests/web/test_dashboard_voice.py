"""The dashboard's surveys and cases pages in-process (FastAPI TestClient) on the demo data with
the template surveys installed and their cases backfilled, as ``touchpath serve --demo`` does:
the pages in three languages, login and CSRF, escaping of answers' comments, pausing and
resuming a survey, signed links, updating and closing cases, the CSV export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.spec.timestamps import utcnow
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.cases import get_case, list_cases, open_past_cases
from touchpath.voice.catalog import load_survey, save_survey
from touchpath.voice.links import read_token, survey_secret
from touchpath.voice.satisfaction import SatisfactionSpec, run_satisfaction
from touchpath.voice.survey import template_surveys
from touchpath.web.app import create_app
from touchpath.web.dashboard import auth
from touchpath.web.dashboard.i18n import Translator
from touchpath.web.dashboard.voice_pages import score_text

USER, PASSWORD = "dana", "a long enough passphrase"
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'
RECENT_USER = "cust-recent-xss"
PAGES = ("/dashboard/surveys", "/dashboard/surveys/nps-post-purchase", "/dashboard/cases")


def _answer(user: str, when: datetime, score: int, comment: str, n: int) -> dict[str, Any]:
    return {"type": "track", "event": "Survey Answered", "userId": user,
            "messageId": f"voice-test-{n}", "timestamp": when.isoformat() + "Z",
            "properties": {"survey_id": "csat-support", "survey": "csat", "score": score,
                           "scale_min": 1, "scale_max": 5, "comment": comment,
                           "language": "en", "touchpoint": "support_ticket",
                           "response_id": f"voice-test-{n}"}}


def _demo_store(path: Path) -> None:
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        load_demo(store, size="800", seed=7)
        yesterday = utcnow().replace(microsecond=0) - timedelta(days=1)
        messages = [_answer(RECENT_USER, yesterday, 1, SCRIPT, 1),
                    _answer("cust-formula", datetime(2026, 7, 1, 9), 2, FORMULA, 2)]
        rows = [parse_message(m, received_at=utcnow()) for m in messages]
        store.write(rows_to_table(rows))
        for survey in template_surveys():  # what `touchpath serve --demo` does
            save_survey(store, survey)
            open_past_cases(store, survey)
        auth.create_user(store, USER, PASSWORD)


def _client(path: Path) -> Iterator[TestClient]:
    app = create_app(load_settings(env={}, store_path=path), admin_token="voice-admin-token")
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("voice") / "v.duckdb"
    _demo_store(path)
    yield from _client(path)


def login(client: TestClient) -> str:
    """Log in; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/dashboard/login", data={
        "csrf_token": token.group(1), "username": USER, "password": PASSWORD},
        follow_redirects=False)
    assert answer.status_code == 303
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/dashboard/cases").text)
    assert found is not None
    return found.group(1)


@pytest.fixture
def session(client: TestClient) -> tuple[TestClient, str]:
    return client, login(client)


def store_of(client: TestClient) -> DuckDBStore:
    store: DuckDBStore = client.app.state.store  # type: ignore[attr-defined]
    return store


def _text(html: str) -> str:
    """The page's text with the direction isolates of placeholders taken out."""
    return html.translate({0x2068: None, 0x2069: None})


def test_pages_render_on_demo_data_in_three_languages(session: tuple[TestClient, str]) -> None:
    client, _ = session
    store = store_of(client)
    nps = run_satisfaction(store, SatisfactionSpec("nps", survey_ids=("nps-post-purchase",)))
    assert nps.summary["n"] > 30  # the demo has enough answers for the page to mean something
    for language, direction, title, cases_title in (
            ("en", "ltr", "Surveys and answers", "Follow-up cases"),
            ("he", "rtl", "סקרים ותשובות", "פניות לטיפול"),
            ("ar", "rtl", "الاستبيانات والإجابات", "حالات المتابعة")):
        tr = Translator(language)
        page = client.get("/dashboard/surveys", params={"lang": language,
                                                        "survey": "nps-post-purchase"})
        assert page.status_code == 200
        assert f'<html lang="{language}" dir="{direction}">' in page.text
        assert f"<h1>{title}</h1>" in page.text
        # the headline is the satisfaction analysis' own number, formatted for the locale
        kpi = re.search(r'data-kpi="score">([^<]+)<', page.text)
        assert kpi is not None and kpi.group(1) == score_text(tr, nps.summary["value"], "points")
        for section in ('id="fig-trend"', 'id="fig-stage"', 'id="fig-touchpoint"',
                        'id="themes"', 'id="drivers"', 'id="answers"'):
            assert section in page.text, (language, section)
        assert 'aria-current="page"' in page.text and 'data-nav="surveys"' in page.text
        title_he = load_survey(store, "nps-post-purchase").title
        assert title_he is not None
        expected = title_he.get(language, title_he["en"]).replace("&", "&amp;")
        assert expected in page.text  # the survey's title in the page's language
        one = client.get("/dashboard/surveys/nps-post-purchase", params={"lang": language})
        assert one.status_code == 200 and f'dir="{direction}"' in one.text
        cases = client.get("/dashboard/cases", params={"lang": language})
        assert cases.status_code == 200 and f"<h1>{cases_title}</h1>" in cases.text
    # the Hebrew stage names come from the stage templates ("Loyalty" in the demo's answers)
    hebrew = client.get("/dashboard/surveys", params={"lang": "he"}).text
    assert "נאמנות" in hebrew and ">Loyalty<" not in hebrew
    client.get("/dashboard/surveys", params={"lang": "en"})  # the language cookie back to English


def test_the_survey_list_and_its_filters(session: tuple[TestClient, str]) -> None:
    client, _ = session
    page = client.get("/dashboard/surveys").text
    rows = re.findall(r'<tr data-survey="([^"]+)">', page)
    assert rows == ["csat-support", "nps-post-purchase"]  # oldest first, as targeting tries
    csat = page[page.index('data-survey="csat-support"'):]
    assert "Customer satisfaction (CSAT)" in csat[:2000] and "after" in csat[:2000]
    assert "Support Ticket Closed" in csat[:2000]
    # the last 30 days hold one answer: the one planted yesterday
    recent = client.get("/dashboard/surveys", params={"days": "30",
                                                      "survey": "csat-support"}).text
    answers = recent[recent.index('id="answers"'):]
    assert len(re.findall(r"<tr><td class=\"time\">", answers)) == 1
    assert f'href="/dashboard/people?q={RECENT_USER}"' in answers
    everything = client.get("/dashboard/surveys", params={"survey": "csat-support"}).text
    assert len(re.findall(r"<tr><td class=\"time\">", everything)) > 1
    wrong = client.get("/dashboard/surveys", params={"survey": "no-such-survey"})
    assert wrong.status_code == 200 and 'role="alert"' in wrong.text
    assert "no-such-survey" in wrong.text and "csat-support" in wrong.text
    bad = client.get("/dashboard/surveys", params={"days": "7"})
    assert 'role="alert"' in bad.text and "days" in bad.text
    missing = client.get("/dashboard/surveys/no-such-survey")
    assert missing.status_code == 404 and 'role="alert"' in missing.text


def test_comments_are_escaped(session: tuple[TestClient, str]) -> None:
    client, _ = session
    for path in ("/dashboard/surveys?survey=csat-support", "/dashboard/cases"):
        html = client.get(path).text
        assert SCRIPT not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    # the themes' examples carry comments too, inside the page and inside no script element
    html = client.get("/dashboard/surveys?survey=csat-support").text
    for data in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S):
        assert "<" not in data


def test_pages_need_a_login(client: TestClient) -> None:
    client.cookies.clear()
    for path in (*PAGES, "/dashboard/surveys?survey=csat-support"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/dashboard/login?next=")
    export = client.get("/dashboard/cases.csv")
    assert export.status_code == 401 and export.json()["error"]["code"] == "unauthorized"
    case_id = str(list_cases(store_of(client))["case_id"].iloc[0])
    for path in ("/dashboard/surveys/csat-support/active", "/dashboard/surveys/csat-support/link",
                 f"/dashboard/cases/{case_id}"):
        answer = client.post(path, data={"active": "false", "status": "closed",
                                         "root_cause": "x", "user_id": "u"},
                             follow_redirects=False)
        assert answer.status_code == 303, path
    assert load_survey(store_of(client), "csat-support").active
    assert get_case(store_of(client), case_id)["status"] != "closed"


def test_posts_need_the_csrf_token(session: tuple[TestClient, str]) -> None:
    client, _ = session
    store = store_of(client)
    case_id = str(list_cases(store)["case_id"].iloc[0])
    before = get_case(store, case_id)
    for path, form in (("/dashboard/surveys/csat-support/active", {"active": "false"}),
                       (f"/dashboard/cases/{case_id}", {"status": "closed",
                                                        "root_cause": "forged"}),
                       ("/dashboard/surveys/csat-support/link", {"user_id": "u"})):
        for token in (None, "wrong"):
            data = form if token is None else {**form, "csrf_token": token}
            answer = client.post(path, data=data, follow_redirects=False)
            assert answer.status_code == 403, path
            assert answer.json()["error"]["code"] == "csrf"
    assert load_survey(store, "csat-support").active
    assert get_case(store, case_id) == before


def test_pause_and_resume_a_survey(session: tuple[TestClient, str]) -> None:
    client, token = session
    store = store_of(client)
    back = "/dashboard/surveys?survey=nps-post-purchase"
    paused = client.post("/dashboard/surveys/nps-post-purchase/active", data={
        "csrf_token": token, "active": "false", "next": back}, follow_redirects=False)
    assert paused.status_code == 303
    assert paused.headers["location"] == back + "&done=paused"
    assert not load_survey(store, "nps-post-purchase").active
    page = client.get(paused.headers["location"]).text
    assert 'role="status"' in page and "The survey is paused" in page
    row = page[page.index('data-survey="nps-post-purchase"'):]
    assert "state-paused" in row[:1500] and ">Resume<" in row[:2000]
    resumed = client.post("/dashboard/surveys/nps-post-purchase/active", data={
        "csrf_token": token, "active": "true", "next": "https://evil.example/"},
        follow_redirects=False)
    assert resumed.headers["location"] == "/dashboard/surveys?done=resumed"  # not elsewhere
    assert load_survey(store, "nps-post-purchase").active
    unknown = client.post("/dashboard/surveys/no-such-survey/active", data={
        "csrf_token": token, "active": "false"}, follow_redirects=False)
    assert unknown.status_code == 404


def test_a_signed_link_for_a_person(session: tuple[TestClient, str]) -> None:
    client, token = session
    made = client.post("/dashboard/surveys/csat-support/link", data={
        "csrf_token": token, "user_id": "cust-0000042", "touchpoint": "call_centre",
        "language": "he", "valid_days": "7"})
    assert made.status_code == 200
    url = re.search(r'<code id="survey-link">([^<]+)</code>', made.text)
    assert url is not None and url.group(1).startswith("http://testserver/s/")
    claims = read_token(survey_secret(store_of(client)), url.group(1).rsplit("/", 1)[1])
    assert (claims.survey_id, claims.user_id, claims.touchpoint, claims.language) == (
        "csat-support", "cust-0000042", "call_centre", "he")
    assert client.get(urlsplit(url.group(1)).path).status_code == 200  # the link's page
    nobody = client.post("/dashboard/surveys/csat-support/link", data={"csrf_token": token})
    assert nobody.status_code == 400 and 'role="alert"' in nobody.text
    assert "user id or an anonymous id" in nobody.text and "survey-link" not in nobody.text


def test_update_and_close_a_case(session: tuple[TestClient, str]) -> None:
    client, token = session
    store = store_of(client)
    case_id = str(list_cases(store, "open")["case_id"].iloc[-1])
    back = "/dashboard/cases?status=all"
    moved = client.post(f"/dashboard/cases/{case_id}", data={
        "csrf_token": token, "status": "in_progress", "owner": "noa", "root_cause": "",
        "next": back}, follow_redirects=False)
    assert moved.status_code == 303
    target = urlsplit(moved.headers["location"])
    assert target.path == "/dashboard/cases" and parse_qs(target.query) == {
        "status": ["all"], "updated": [case_id]}
    case = get_case(store, case_id)
    assert (case["status"], case["owner"], case["root_cause"]) == ("in_progress", "noa", None)
    after = client.get(moved.headers["location"]).text
    assert "Case " + case_id + " updated." in _text(after)
    # the page's forms come back to the list, not to this notice
    assert 'name="next" value="/dashboard/cases?status=all"' in after
    assert "noa" in client.get("/dashboard/cases", params={"owner": "noa"}).text
    # closing without a root cause: the API's message on the page, the case unchanged
    refused = client.post(f"/dashboard/cases/{case_id}", data={
        "csrf_token": token, "status": "closed", "owner": "noa", "root_cause": " ",
        "next": back})
    assert refused.status_code == 400
    alert = re.search(r'<div class="alert" role="alert">(.*?)</div>', refused.text, re.S)
    assert alert is not None
    assert case_id in alert.group(1) and "closing a case records its root cause" in alert.group(1)
    assert f'data-case="{case_id}"' in refused.text
    assert re.search(r'<details class="case-edit" open>', refused.text)  # its form stays open
    assert get_case(store, case_id)["status"] == "in_progress"
    closed = client.post(f"/dashboard/cases/{case_id}", data={
        "csrf_token": token, "status": "closed", "root_cause": "courier lost the parcel",
        "next": back}, follow_redirects=False)
    assert closed.status_code == 303
    case = get_case(store, case_id)
    assert case["status"] == "closed" and case["root_cause"] == "courier lost the parcel"
    assert case["closed_at"] is not None
    # the default view lists open and in-progress cases only
    active = client.get("/dashboard/cases").text
    assert f'data-case="{case_id}"' not in active
    assert f'data-case="{case_id}"' in client.get("/dashboard/cases?status=closed").text


def test_cases_kpis_follow_the_api(session: tuple[TestClient, str]) -> None:
    client, _ = session
    store = store_of(client)
    every = list_cases(store)
    page = client.get("/dashboard/cases").text
    kpi = dict(re.findall(r'data-kpi="(\w+)">([^<]+)<', page))
    assert int(kpi["open"]) == int((every["status"] != "closed").sum()) > 0
    assert int(kpi["overdue"]) == int(every["overdue"].sum())
    rows = re.findall(r'<tr data-case="[^"]+"( class="overdue")?>', page)
    assert rows and all(r for r in rows)  # the demo's cases are all past due, all flagged
    assert page.count("badge-overdue") == len(rows)


def test_cases_csv_neutralises_formulas(session: tuple[TestClient, str]) -> None:
    client, _ = session
    export = client.get("/dashboard/cases.csv", params={"status": "all"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][:3] == ["case_id", "opened_at", "due_at"]
    assert len(rows) - 1 == len(list_cases(store_of(client)))
    comments = [row[rows[0].index("comment")] for row in rows[1:]]
    assert "'" + FORMULA in comments and SCRIPT in comments
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    only = client.get("/dashboard/cases.csv", params={"status": "closed"})
    assert len(list(csv.reader(io.StringIO(only.text)))) - 1 == len(
        list_cases(store_of(client), "closed"))


def test_empty_states_say_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        auth.create_user(store, USER, PASSWORD)
    for client in _client(path):
        login(client)
        surveys = _text(client.get("/dashboard/surveys").text)
        assert "No surveys yet" in surveys and "touchpath surveys create" in surveys
        assert "touchpath serve --demo" in surveys and "No answers yet" in surveys
        cases = _text(client.get("/dashboard/cases", params={"lang": "he"}).text)
        assert "אין כאן פניות" in cases and "touchpath cases backfill" in cases
        assert client.get("/dashboard/cases.csv").text.startswith("case_id,")
