"""The journey map page in-process: the map on the demo data in three languages, filters and
comparisons, the opportunities form (login and CSRF), escaping, and the exports."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from touchpath.analytics.filters import DidEvent, EventMatcher
from touchpath.analytics.segments import save_segment
from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.web.app import create_app
from touchpath.web.dashboard import auth

USER, PASSWORD = "dana", "a journey map passphrase"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("journey") / "s.duckdb"
    with DuckDBStore(load_settings(env={}, store_path=path)) as store:
        load_demo(store, size="small", seed=7)
        message = {"type": "track", "event": XSS, "userId": "cust-0000012", "messageId": "x1",
                   "timestamp": "2026-03-01T10:00:00Z"}
        store.write(rows_to_table([parse_message(message,
                                                 received_at=datetime(2026, 3, 1, 12))]))
        save_segment(store, "ticket holders",
                     DidEvent(EventMatcher("Support Ticket Opened")))
        auth.create_user(store, USER, PASSWORD)
    app = create_app(load_settings(env={}, store_path=path), admin_token="t")
    with TestClient(app) as test_client:
        yield test_client


def _login(client: TestClient) -> str:
    client.cookies.clear()
    page = client.get("/dashboard/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/dashboard/login", data={
        "csrf_token": token.group(1), "username": USER, "password": PASSWORD,
        "next": "/dashboard"}, follow_redirects=False)
    assert answer.status_code == 303
    page = client.get("/dashboard/journey")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _stage_names(html: str) -> list[str]:
    return re.findall(r'<div class="jm-stage" data-stage="[^"]+"><h3>([^<]+)</h3>', html)


def test_the_map_needs_a_login(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/dashboard/journey", follow_redirects=False)
    assert page.status_code == 303 and "/dashboard/login" in page.headers["location"]
    export = client.get("/dashboard/journey/export.html", follow_redirects=False)
    assert export.status_code in (303, 401)
    post = client.post("/dashboard/journey/opportunities", data={"pain_point_id": "x"},
                       follow_redirects=False)
    assert post.status_code in (303, 401)


@pytest.mark.parametrize(("lang", "names"), [
    ("en", ["Awareness", "Consideration", "Purchase", "Retention", "Advocacy"]),
    ("he", ["מודעות", "שקילה", "רכישה", "שימור", "סנגור"]),
    ("ar", ["الوعي", "الاعتبار", "الشراء", "الاحتفاظ", "المناصرة"]),
])
def test_the_map_in_three_languages(client: TestClient, lang: str, names: list[str]) -> None:
    _login(client)
    page = client.get(f"/dashboard/journey?lang={lang}")
    assert page.status_code == 200
    html = page.text
    assert _stage_names(html) == names  # the stages in order; CSS mirrors them in RTL
    assert f'dir="{"ltr" if lang == "en" else "rtl"}"' in html
    for lane in ("touchpoints", "channels", "actions", "paths", "emotion", "pains",
                 "opportunities"):
        assert 'class="jm-label"' in html, lane
    assert html.count('class="jm-point') >= 3  # emotion points where answers exist
    # the planted checkout problem is on the map, in the page's language
    assert "Safari (iOS)" in html and "Payment Info Entered" in html
    assert "map." not in re.sub(r"<[^>]+>", "", html).replace("journey/map.css", "")


def test_an_event_name_with_html_shows_as_text(client: TestClient) -> None:
    _login(client)
    html = client.get("/dashboard/journey?lang=en").text
    assert XSS not in html  # the injected event (a rare one) may not be on the map at all,
    assert "<img src=x" not in html  # but if it is, it is escaped


def test_filters_and_comparisons(client: TestClient) -> None:
    _login(client)
    everyone = client.get("/dashboard/journey").text
    email = client.get("/dashboard/journey?channel=email").text
    assert everyone != email
    compared = client.get("/dashboard/journey?start=2026-04-01&end=2026-04-30&compare=previous")
    assert compared.status_code == 200
    assert "2026-03-02 – 2026-03-31" in compared.text
    assert 'class="jm-line jm-line-b"' in compared.text
    segment = client.get("/dashboard/journey?compare=segment&segment_b=ticket+holders")
    assert segment.status_code == 200 and "ticket holders" in segment.text
    bad = client.get("/dashboard/journey?compare=previous")
    assert "compare" in bad.text and 'role="alert"' in bad.text
    assert 'role="alert"' in client.get("/dashboard/journey?start=yesterday").text


def test_opportunities_are_saved_with_csrf(client: TestClient) -> None:
    csrf = _login(client)
    html = client.get("/dashboard/journey").text
    pain_id = re.findall(r'name="pain_point_id" value="([^"]+)"', html)[0]
    form = {"pain_point_id": pain_id, "action": "Ship the fix <b>now</b>", "owner": "noa",
            "status": "in_progress", "back": "/dashboard/journey"}
    refused = client.post("/dashboard/journey/opportunities", data=form,
                          follow_redirects=False)
    assert refused.status_code == 403
    saved = client.post("/dashboard/journey/opportunities", data={**form, "csrf_token": csrf},
                        follow_redirects=False)
    assert saved.status_code == 303
    html = client.get("/dashboard/journey").text
    assert "Ship the fix &lt;b&gt;now&lt;/b&gt;" in html and "@noa" in html
    bad = client.post("/dashboard/journey/opportunities",
                      data={**form, "status": "later", "csrf_token": csrf})
    assert bad.status_code == 400 and "status" in bad.text


def test_the_html_export_is_standalone(client: TestClient) -> None:
    _login(client)
    answer = client.get("/dashboard/journey/export.html?lang=he")
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    html = answer.text
    assert html.startswith("<!doctype html>") and 'dir="rtl"' in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "<style>" in html and "מודעות" in html
    assert client.get("/dashboard/journey/export.doc").status_code == 400


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium")
@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_png_and_pdf_exports(client: TestClient, fmt: str, magic: bytes) -> None:
    _login(client)
    answer = client.get(f"/dashboard/journey/export.{fmt}?lang=ar")
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(magic) and len(answer.content) > 10_000
