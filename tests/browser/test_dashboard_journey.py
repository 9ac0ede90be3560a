"""The journey map in a real headless Chromium against a real ``touchpath serve`` on the demo
data: opened in English, Hebrew and Arabic (screenshots in tests/browser/artifacts/), stages
mirrored right to left, the planted checkout problem among the pain points, no request off
127.0.0.1, no script error, and an opportunity saved through the form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.dashboard import dashboard_server, logged_in
from tests.realserver import Server

USER, PASSWORD = "yael", "maps are for walking"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with dashboard_server(tmp_path_factory.mktemp("journey-browser"), "small", USER,
                          PASSWORD) as started:
        yield started


@pytest.fixture
def dash(page: Any, server: Server) -> Any:
    page.set_viewport_size({"width": 1440, "height": 900})
    return logged_in(page, server, USER, PASSWORD, "/dashboard/journey")


@pytest.mark.parametrize("lang", ["en", "he", "ar"])
def test_the_journey_map_in_each_language(dash: Any, server: Server, lang: str) -> None:
    dash.goto(f"{server.url}/dashboard/journey?lang={lang}")
    dash.wait_for_selector(".jm-grid")
    assert dash.evaluate("document.documentElement.dir") == ("ltr" if lang == "en" else "rtl")
    stages = dash.locator(".jm-stage")
    assert stages.count() == 5
    first = stages.nth(0).bounding_box()
    last = stages.nth(4).bounding_box()
    if lang == "en":
        assert first["x"] < last["x"]  # Awareness on the left
    else:
        assert first["x"] > last["x"]  # right to left: Awareness on the right
    # the emotion curve follows the columns: its first point sits over the first stage
    point = dash.locator(".jm-point circle").first.bounding_box()
    column = dash.locator(".jm-stage").nth(1).bounding_box()  # Consideration has answers
    assert abs((point["x"] + point["width"] / 2) - (column["x"] + column["width"] / 2)) < 40
    text = dash.locator(".jm-ranked-list").inner_text()
    assert "Safari (iOS)" in text and "Payment Info Entered" in text
    dash.screenshot(path=str(ARTIFACTS / f"journey-map-{lang}.png"), full_page=True)
    assert dash.outside == [] and dash.console_errors == [] and dash.dialogs == []


def test_an_opportunity_is_saved_from_the_map(dash: Any, server: Server) -> None:
    item = dash.locator(".jm-ranked-item").first
    item.get_by_label("Owner").fill("maya")
    item.get_by_label("Status").select_option("in_progress")
    item.get_by_role("button", name="Save").click()
    dash.wait_for_url("**/dashboard/journey*")
    item = dash.locator(".jm-ranked-item").first
    assert item.get_by_label("Owner").input_value() == "maya"
    assert item.get_by_label("Status").input_value() == "in_progress"
    assert "@maya" in dash.locator(".jm-opps").first.inner_text() or \
        "@maya" in dash.locator(".jm-grid").inner_text()
