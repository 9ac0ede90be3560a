"""The dashboard in a real headless Chromium against a real ``touchpath serve`` on the demo data.

One server for the module (the demo store, a dashboard account, an event whose name is an HTML
injection attempt); every test logs in with a fresh browser profile. No request may leave
127.0.0.1 (plotly.js is served by the server itself). Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.dashboard import charts_ready, dashboard_server, logged_in
from tests.realserver import Server
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import ParseOptions, parse_message
from touchpath.store.duckdb_store import DuckDBStore

USER, PASSWORD = "maya", "a long passphrase"
XSS = "<img src=x onerror=alert(1)>"
XSS_USER = "cust-0000012"
PAGES = ("overview", "journey", "funnels", "paths", "retention", "stages", "surveys", "people",
         "data")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    def inject(store: DuckDBStore) -> None:
        received = datetime(2026, 6, 1, 12, 0)
        for n, event in enumerate((XSS, "Product Viewed")):
            message = {"type": "track", "event": event, "userId": XSS_USER,
                       "messageId": f"xss-{n}", "timestamp": f"2026-06-01T1{n}:00:00Z",
                       "properties": {"note": "<script>alert(2)</script>"}}
            row = parse_message(message, received_at=received, options=ParseOptions())
            store.write(rows_to_table([row]))

    with dashboard_server(tmp_path_factory.mktemp("dashboard-browser"), "300", USER, PASSWORD,
                          inject) as started:
        yield started


@pytest.fixture
def dash(page: Any, server: Server) -> Any:
    return logged_in(page, server, USER, PASSWORD, "/dashboard/stages")


def _shot(page: Any, name: str, full: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=full)


def _clean(page: Any) -> None:
    assert page.console_errors == []
    assert page.outside == []
    assert page.dialogs == []


def test_log_in_and_walk_every_page(dash: Any, server: Server) -> None:
    for name in PAGES:
        link = dash.locator(f'.sidebar a[data-nav="{name}"]')
        link.click()
        dash.wait_for_load_state("load")
        assert link.get_attribute("aria-current") == "page"
        charts_ready(dash)
        assert dash.locator("h1").inner_text()
        _shot(dash, f"en-{name}")
    dash.goto(server.url + "/dashboard")
    charts_ready(dash)
    analyses = [a["name"] for a in dash.request.get(server.url + "/dashboard/api/analyses").json()]
    # the funnel and the channels; the NPS trend when the server has the satisfaction analysis
    assert dash.locator(".chart").count() == 2 + ("satisfaction" in analyses)
    assert dash.locator("#nps").count() == ("satisfaction" in analyses)
    people = dash.locator('[data-kpi="people"]').inner_text()
    assert int(people.replace(",", "")) > 300
    dash.goto(server.url + "/dashboard/data")
    snippet = dash.locator("#snippet").inner_text()
    assert snippet == (f'<script src="{server.url}/t.js" data-write-key="YOUR_WRITE_KEY" '
                       'async></script>')
    dash.get_by_role("button", name="Copy").click()
    dash.wait_for_function("() => document.querySelector('[data-copy]').textContent === 'Copied'",
                           polling=50)
    dash.goto(server.url + "/dashboard/people?q=" + XSS_USER)
    assert dash.locator("h2", has_text="Identities").count() == 1
    assert dash.locator(".identities li").count() >= 2
    _shot(dash, "en-person")
    # log out: the session ends, pages send the browser to the login again
    dash.get_by_role("button", name="Log out").click()
    dash.wait_for_url("**/dashboard/login")
    _shot(dash, "en-login", full=False)
    dash.goto(server.url + "/dashboard/data")
    assert "/dashboard/login" in dash.url
    dash.goto(server.url + "/dashboard/login?lang=he")
    assert dash.locator("html").get_attribute("dir") == "rtl"
    assert dash.get_by_label("שם משתמש").count() == 1
    _shot(dash, "he-login", full=False)
    _clean(dash)


def test_build_a_funnel(dash: Any, server: Server) -> None:
    dash.goto(server.url + "/dashboard/funnels")
    steps = dash.locator("#steps input")
    assert steps.count() == 3
    steps.nth(0).fill("Product Viewed")
    steps.nth(1).fill("Cart Viewed")
    steps.nth(2).fill("Checkout Started")
    dash.get_by_role("button", name="Add a step").click()
    assert steps.count() == 4
    assert dash.evaluate("document.activeElement.id") == "step-4"
    steps.nth(3).fill("Order Completed")
    dash.get_by_label("Conversion window (days)").fill("14")
    dash.get_by_label("Break down by").select_option("person:initial_channel")
    dash.get_by_role("button", name="Run").click()
    dash.wait_for_url("**/dashboard/funnels?**")
    charts_ready(dash)
    summary = dash.locator('[data-summary="conversion"]').inner_text()
    assert "people entered" in summary and "%" in summary
    rows = dash.locator("section.card table tbody tr")
    assert rows.count() >= 8 * 4  # 4 steps x the demo's acquisition channels
    table = dash.locator("section.card table").first.inner_text()
    assert "paid_social" in table and "email" in table
    _shot(dash, "en-funnel-built")
    dropped = dash.locator(".dropped a").first
    assert "stopped after" in dropped.inner_text()
    dropped.click()
    dash.wait_for_load_state("load")
    persons = dash.locator(".columns a")
    assert persons.count() > 0
    persons.first.click()
    dash.wait_for_load_state("load")
    assert dash.locator(".identities li").count() >= 1
    _clean(dash)


@pytest.mark.parametrize("language", ["he", "ar"])
def test_right_to_left(dash: Any, server: Server, language: str) -> None:
    dash.goto(server.url + f"/dashboard/stages?lang={language}")
    charts_ready(dash)
    html = dash.locator("html")
    assert html.get_attribute("dir") == "rtl" and html.get_attribute("lang") == language
    nav = dash.locator(".sidebar").bounding_box()
    main = dash.locator("main").bounding_box()
    assert nav["x"] > main["x"]  # the navigation is on the right
    stages = dash.locator(".stage")
    assert stages.count() == 5
    first, last = stages.first.bounding_box(), stages.last.bounding_box()
    assert first["x"] > last["x"]  # the journey starts on the right
    assert dash.locator(".stage").first.get_attribute("data-stage") == "awareness"
    expected = {"he": "מודעות", "ar": "الوعي"}[language]
    assert expected in stages.first.inner_text()
    _shot(dash, f"{language}-stages")
    # the language sticks (cookie) on the next pages
    for name in ("overview", "funnels", "people", "data", "journey"):
        dash.locator(f'.sidebar a[data-nav="{name}"]').click()
        dash.wait_for_load_state("load")
        assert dash.locator("html").get_attribute("dir") == "rtl"
        charts_ready(dash)
        _shot(dash, f"{language}-{name}")
    dash.goto(server.url + "/dashboard/funnels?step=Product+Viewed&step=Checkout+Started"
              "&step=Order+Completed")
    charts_ready(dash)
    _shot(dash, f"{language}-funnel-built")
    dash.goto(server.url + "/dashboard/people?q=" + XSS_USER)
    assert dash.locator(".identities li").count() >= 2
    _shot(dash, f"{language}-person")
    # back to English: left to right, navigation on the left
    dash.goto(server.url + "/dashboard/stages?lang=en")
    assert dash.locator("html").get_attribute("dir") == "ltr"
    stages = dash.locator(".stage")
    assert stages.first.bounding_box()["x"] < stages.last.bounding_box()["x"]
    assert dash.locator(".sidebar").bounding_box()["x"] < dash.locator("main").bounding_box()["x"]
    _clean(dash)


def test_an_event_named_like_html_shows_as_text(dash: Any, server: Server) -> None:
    dash.goto(server.url + "/dashboard")
    charts_ready(dash)
    assert dash.get_by_role("cell", name=XSS, exact=True).count() == 0  # not a top-10 event
    dash.goto(server.url + "/dashboard/people?q=" + XSS_USER)
    assert dash.get_by_role("cell", name=XSS, exact=True).count() == 1
    assert dash.get_by_text("<script>alert(2)</script>", exact=False).count() >= 1
    dash.goto(server.url + "/dashboard/funnels")
    dash.locator("#steps input").nth(0).fill(XSS)
    dash.locator("#steps input").nth(1).fill("Product Viewed")
    dash.locator("#steps input").nth(2).fill("")
    dash.get_by_role("button", name="Run").click()
    dash.wait_for_url("**/dashboard/funnels?**")
    charts_ready(dash)
    assert dash.get_by_role("cell", name=XSS, exact=True).count() >= 1
    assert dash.locator(".chart text", has_text="onerror").count() >= 1  # the chart label
    assert dash.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    _shot(dash, "en-xss-funnel")
    _clean(dash)


def test_a_running_analysis_shows_a_loading_state(dash: Any, server: Server) -> None:
    dash.goto(server.url + "/dashboard/retention")
    charts_ready(dash)
    assert dash.locator("#loading").is_hidden()
    # what the page shows the moment the form is sent is recorded where the next page can
    # read it (sessionStorage), since the old page is gone by the time Python could look
    dash.evaluate("""() => new MutationObserver(() => {
        const box = document.getElementById('loading');
        if (box.hidden) return;
        sessionStorage.setItem('seen', JSON.stringify([
            box.getAttribute('role'), box.querySelector('.loading-text').textContent.trim(),
            document.getElementById('main').getAttribute('aria-busy'),
            document.querySelector('form.js-loading button[type=submit]').disabled]));
    }).observe(document.getElementById('loading'), {attributes: true})""")
    dash.get_by_label("Periods").fill("6")
    dash.get_by_role("button", name="Run").click()
    dash.wait_for_url("**/dashboard/retention?**")
    charts_ready(dash)
    seen = dash.evaluate("() => JSON.parse(sessionStorage.getItem('seen'))")
    assert seen == ["status", "Running the analysis…", "true", True]
    assert dash.locator("#loading").is_hidden()
    assert dash.locator("table tbody tr").count() > 5
    _clean(dash)


def test_a_slow_answer_counts_the_seconds_and_can_be_cancelled(dash: Any, server: Server) -> None:
    """A slow query, played by holding the server's answer back (a Playwright route). While a
    navigation is pending, Playwright's locators and evaluate() wait for it to end, so the page
    records what it shows (sessionStorage) and the test reads it once the wait is over."""
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    dash.route(lambda url: "/dashboard/retention?" in url or url.endswith("/dashboard/paths"),
               hold)
    dash.goto(server.url + "/dashboard/retention")
    charts_ready(dash)
    run = dash.get_by_role("button", name="Run")
    box = dash.locator("#loading")
    assert box.get_attribute("role") == "status" and box.get_attribute("aria-live") == "polite"
    rows = dash.locator("table tbody tr").count()
    record = """() => {
        sessionStorage.setItem('seen', '[]');
        const box = document.getElementById('loading');
        new MutationObserver(() => {
            const seen = JSON.parse(sessionStorage.getItem('seen'));
            seen.push({hidden: box.hidden, text: box.querySelector('.loading-text').textContent,
                       elapsed: box.querySelector('.loading-elapsed').textContent,
                       busy: document.getElementById('main').getAttribute('aria-busy'),
                       disabled: document.querySelector('form.js-loading [type=submit]').disabled,
                       focus: document.activeElement.id});
            sessionStorage.setItem('seen', JSON.stringify(seen));
        }).observe(box, {attributes: true, subtree: true, childList: true, characterData: true});
    }"""

    def seen() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = dash.evaluate("JSON.parse(sessionStorage.getItem('seen'))")
        return found

    # sent from the keyboard; after 2.5 s the seconds are counted; Esc cancels
    dash.evaluate(record)
    run.focus()
    dash.keyboard.press("Enter")
    dash.wait_for_timeout(2500)
    dash.keyboard.press("Escape")
    states = seen()
    assert {"hidden": False, "text": "Running the analysis…", "elapsed": "", "busy": "true",
            "disabled": True, "focus": "loading-cancel"} in states  # the pressed button is
    # disabled: the keyboard is on "Cancel"
    assert list(dict.fromkeys(s["elapsed"] for s in states if s["elapsed"])) == [
        "Still working… 1 s", "Still working… 2 s"]
    assert states[-1]["hidden"] and dash.url == server.url + "/dashboard/retention"
    assert run.is_enabled() and box.is_hidden()
    assert dash.locator("#main").get_attribute("aria-busy") is None
    assert dash.locator("table tbody tr").count() == rows  # the page stayed as it was
    # again, with Enter on the focused "Cancel" button
    dash.evaluate(record)
    assert dash.evaluate("document.activeElement.id") == "main"  # Esc moved it from "Cancel"
    run.focus()
    dash.keyboard.press("Enter")
    dash.wait_for_timeout(300)
    dash.keyboard.press("Enter")  # on "Cancel"
    assert seen()[-1]["hidden"] and box.is_hidden() and run.is_enabled()
    assert dash.url == server.url + "/dashboard/retention"
    # following a link shows the state too (after 0.4 s), until the next page arrives
    dash.evaluate(record)
    link = dash.locator('.sidebar a[data-nav="paths"]').bounding_box()
    dash.mouse.click(link["x"] + link["width"] / 2, link["y"] + link["height"] / 2)
    dash.wait_for_timeout(1000)
    assert len(held) == 3
    held[-1].continue_()
    dash.wait_for_url("**/dashboard/paths")
    charts_ready(dash)
    assert box.is_hidden()
    assert {"hidden": False, "text": "Loading the page…", "elapsed": "", "busy": "true",
            "disabled": False, "focus": ""} in seen()
    _clean(dash)


def test_keyboard_and_phone_width(dash: Any, server: Server) -> None:
    dash.goto(server.url + "/dashboard/people?lang=he")
    dash.keyboard.press("Tab")
    skip = dash.locator(".skip-link")
    assert dash.evaluate("document.activeElement.className") == "skip-link"
    assert skip.bounding_box()["y"] >= 0  # visible when focused
    ring = dash.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert ring == "solid"  # the focus ring
    dash.keyboard.press("Enter")
    dash.keyboard.press("Tab")
    # the search field is the first control of the main content
    assert dash.evaluate("document.activeElement.id") == "q"
    dash.keyboard.type(XSS_USER)
    dash.keyboard.press("Enter")
    dash.wait_for_url("**/dashboard/people?q=**")
    assert dash.locator(".identities li").count() >= 2
    dash.set_viewport_size({"width": 390, "height": 844})
    dash.goto(server.url + "/dashboard")
    charts_ready(dash)
    width = dash.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing overflows the phone's width
    _shot(dash, "he-phone-overview")
    dash.goto(server.url + "/dashboard/stages?lang=ar")
    charts_ready(dash)
    assert dash.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(dash, "ar-phone-stages")
    _clean(dash)



PHONE = {"width": 390, "height": 844}
PHONE_PAGES = {
    "overview": "/dashboard", "funnels": "/dashboard/funnels?step=Product+Viewed"
    "&step=Checkout+Started&step=Order+Completed&breakdown=channel",
    "dropped": "/dashboard/funnels/dropped?step=Product+Viewed&step=Order+Completed&at=1",
    "paths": "/dashboard/paths", "retention": "/dashboard/retention", "stages": "/dashboard/stages",
    "people": "/dashboard/people?q=" + XSS_USER, "data": "/dashboard/data",
    "journey": "/dashboard/journey"}
"""Every page at phone width (the journey map has its own layout and tests: screenshot only)."""


def test_every_page_fits_a_phone(dash: Any, server: Server) -> None:
    dash.set_viewport_size(PHONE)
    wide: list[tuple[str, str, int, list[str]]] = []
    for language in ("en", "he"):
        for name, path in PHONE_PAGES.items():
            dash.goto(server.url + path + ("&" if "?" in path else "?") + f"lang={language}")
            charts_ready(dash)
            width = dash.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"] and name != "journey":
                culprits = dash.evaluate("""(limit) => [...document.querySelectorAll('body *')]
                    .filter(e => { const r = e.getBoundingClientRect();
                                   return r.right > limit + 1 || r.left < -1; })
                    .filter(e => !e.closest('.table-wrap, .chart, .stage-strip, .nav-list'))
                    .slice(0, 5).map(e => e.tagName + '.' + e.className)""", PHONE["width"])
                wide.append((language, name, width, culprits))
            ARTIFACTS.mkdir(exist_ok=True)
            dash.screenshot(path=str(ARTIFACTS / f"phone-{name}-{language}.png"), full_page=True)
    assert wide == []
    # the navigation folds behind "Menu"; keyboard: Enter opens, Esc closes and comes back
    nav, toggle = dash.locator(".nav-list"), dash.locator("#nav-toggle")
    assert nav.is_hidden() and toggle.get_attribute("aria-expanded") == "false"
    toggle.focus()
    assert dash.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    dash.keyboard.press("Enter")
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert dash.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    dash.screenshot(path=str(ARTIFACTS / "phone-menu-he.png"))
    dash.keyboard.press("Tab")  # into the menu
    assert dash.evaluate("document.activeElement.dataset.nav") == "overview"
    dash.keyboard.press("Escape")
    assert nav.is_hidden() and dash.evaluate("document.activeElement.id") == "nav-toggle"
    toggle.click()
    dash.locator('.nav-list a[data-nav="data"]').click()
    dash.wait_for_url("**/dashboard/data")
    assert dash.locator(".nav-list").is_hidden()  # folded again on the next page
    # on a wide screen there is no "Menu": the list is the sidebar
    dash.set_viewport_size({"width": 1024, "height": 768})
    assert dash.locator("#nav-toggle").is_hidden() and dash.locator(".nav-list").is_visible()
    _clean(dash)
