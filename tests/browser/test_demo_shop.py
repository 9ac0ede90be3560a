"""The demo shop page (``/demo``, served with the demo write key): a visitor signs in, completes
an order, and the template NPS survey appears in their language and is answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.browser.conftest import ARTIFACTS
from tests.realserver import Server, free_port, prepare_store
from touchpath.collect.keys import DEMO_KEY, create_key
from touchpath.config import load_settings
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.voice.catalog import save_survey
from touchpath.voice.survey import template_surveys


def test_demo_shop_shows_the_template_survey_in_hebrew(tmp_path: Path, page: Any) -> None:
    store = tmp_path / "demo.duckdb"
    prepare_store(store)
    with DuckDBStore(load_settings(env={}, store_path=store)) as db:
        create_key(db, "demo", source="web", key=DEMO_KEY)
        for survey in template_surveys():
            save_survey(db, survey)
    server = Server(store, free_port(), tmp_path / "server.log", env={}).start()
    try:
        page.goto(f"{server.url}/demo")
        page.fill("#user", "shopper-1")
        page.select_option("#lang", "he")
        page.click("#identify")
        page.click("button[data-event='Order Completed']")
        card = page.locator("touchpath-survey [role=dialog]")
        card.wait_for(state="visible")
        assert card.get_attribute("dir") == "rtl" or page.locator(
            "touchpath-survey [dir=rtl]").count() > 0
        assert "Olive & Oak" in card.inner_text()
        card.locator("[role=radio]", has_text="2").first.click()
        card.locator("textarea").first.fill("המשלוח איחר")
        page.locator("touchpath-survey button.go").click()  # next: what was it about?
        card.get_by_label("משלוח").check()
        page.screenshot(path=str(ARTIFACTS / "demo-shop-he.png"))
        page.locator("touchpath-survey button.go").click()  # send
        thanks = page.locator("touchpath-survey .thanks")
        thanks.wait_for()
        assert thanks.inner_text() == "תודה רבה!"
        assert page.console_errors == []
    finally:
        assert server.stop() == 0
    with DuckDBStore(load_settings(env={}, store_path=store)) as db:
        answer = db.sql("SELECT user_id, properties FROM events "
                        "WHERE event = 'Survey Answered'").to_pylist()
        cases = db.sql("SELECT rule, owner FROM survey_cases").to_pylist()
    assert len(answer) == 1 and answer[0]["user_id"] == "shopper-1"
    props = json.loads(answer[0]["properties"])
    assert (props["survey_id"], props["score"], props["stage"], props["language"]) == (
        "nps-post-purchase", 2, "Purchase", "he")
    assert props["comment"] == "המשלוח איחר" and props["answers"]["topics"] == ["delivery"]
    assert cases == [{"rule": "detractor", "owner": "cx-team"}]
