"""The surveys and cases pages in a real headless Chromium against a real ``touchpath serve`` on
the demo data, with the template surveys installed and their cases backfilled as ``touchpath
serve --demo`` does. No request may leave 127.0.0.1. Screenshots: tests/browser/artifacts/
surveys-he.png and cases-en.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.dashboard import charts_ready, dashboard_server, logged_in
from tests.realserver import Server
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.cases import open_past_cases
from touchpath.voice.catalog import save_survey
from touchpath.voice.survey import template_surveys

USER, PASSWORD = "rina", "a long passphrase"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    def surveys(store: DuckDBStore) -> None:
        for survey in template_surveys():  # what `touchpath serve --demo` does
            save_survey(store, survey)
            open_past_cases(store, survey)

    with dashboard_server(tmp_path_factory.mktemp("dashboard-voice"), "800", USER, PASSWORD,
                          surveys) as started:
        yield started


@pytest.fixture
def dash(page: Any, server: Server) -> Any:
    return logged_in(page, server, USER, PASSWORD, "/dashboard/surveys?lang=he")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_surveys_in_hebrew_and_cases_in_english(dash: Any, server: Server) -> None:
    # the surveys page, right to left: the navigation on the right, the time axis mirrored
    assert dash.locator("html").get_attribute("dir") == "rtl"
    charts_ready(dash)
    assert dash.locator(".chart").count() == 3
    assert dash.locator('.sidebar a[data-nav="surveys"]').get_attribute("aria-current") == "page"
    nav, main = dash.locator(".sidebar").bounding_box(), dash.locator("main").bounding_box()
    assert nav["x"] > main["x"]
    first, last = dash.evaluate("document.getElementById('fig-trend')._fullLayout.xaxis.range")
    assert first > last  # the first month on the right
    assert dash.locator("h1").inner_text() == "סקרים ותשובות"
    assert dash.locator('tr[data-survey="nps-post-purchase"]').count() == 1
    assert dash.locator("#answers tbody tr").count() > 10
    _shot(dash, "surveys-he")
    # pause a survey from the page and resume it again
    dash.locator('button[data-toggle="nps-post-purchase"]').click()
    dash.wait_for_url("**done=paused")
    row = dash.locator('tr[data-survey="nps-post-purchase"]')
    assert row.locator(".state-paused").count() == 1
    assert dash.get_by_role("status").first.inner_text().startswith("הסקר הושהה")
    row.locator('button[data-toggle="nps-post-purchase"]').click()
    dash.wait_for_url("**done=resumed")
    assert dash.locator('tr[data-survey="nps-post-purchase"] .state-active').count() == 1
    # the cases page in English: overdue cases flagged, closing without a root cause refused
    dash.goto(server.url + "/dashboard/cases?lang=en")
    assert dash.locator("html").get_attribute("dir") == "ltr"
    cases = dash.locator("table.cases tbody tr")
    assert cases.count() > 5
    assert dash.locator("tr.overdue .badge-overdue").count() == cases.count()
    _shot(dash, "cases-en")
    first = cases.first
    case_id = first.get_attribute("data-case")
    first.locator("summary").click()
    first.get_by_label("Status").select_option("closed")
    first.get_by_role("button", name="Save").click()
    dash.wait_for_load_state("load")
    alert = dash.get_by_role("alert")
    assert "closing a case records its root cause" in alert.inner_text()
    assert case_id in alert.inner_text()
    again = dash.locator(f'tr[data-case="{case_id}"]')
    again.get_by_label("Root cause").fill("the courier lost the parcel")
    again.get_by_role("button", name="Save").click()
    dash.wait_for_url("**updated=*")
    assert dash.locator(f'tr[data-case="{case_id}"]').count() == 0  # closed: out of the list
    # at phone width nothing overflows the page (wide tables scroll inside their frame)
    dash.set_viewport_size({"width": 390, "height": 844})
    for path in ("/dashboard/surveys?lang=he", "/dashboard/cases?lang=ar",
                 "/dashboard/surveys/csat-support?lang=en"):
        dash.goto(server.url + path)
        charts_ready(dash)
        width = dash.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert width[0] <= width[1], (path, width)
    # the refused form answered 400 (the browser logs that status); nothing else went wrong
    assert dash.console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    assert dash.outside == []
    assert dash.dialogs == []
