"""The survey widget (``/survey.js``) in a real headless Chromium, against a real collector.

The customer site and the collector are two origins, as in production. The site's page loads
the one-tag snippet with ``data-surveys="on"`` under a strict Content-Security-Policy (no inline
script or style, scripts and requests only from the collector) and a hostile style sheet; the
snippet asks the collector after each call whether a survey is due, and loads the widget when
one is. Every answer is read back from the store once the server has stopped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.realserver import WRITE_KEY, Server
from touchpath.config import load_settings
from touchpath.store.duckdb_store import DuckDBStore

LOADED = "() => !!(window.touchpath && window.touchpath.loaded)"
WIDGET = "touchpath-survey"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

NPS_TEXT = {"en": "How likely are you to recommend Shoply to a friend or colleague?",
            "he": "עד כמה סביר שתמליצו על Shoply לחבר או לעמית?",
            "ar": "ما مدى احتمال أن توصي بـ Shoply لصديق أو زميل؟"}
BETTER = {"en": "What could we do better?", "he": "מה היינו יכולים לעשות טוב יותר?",
          "ar": "ما الذي كان بإمكاننا تحسينه؟"}
NPS_SURVEY: dict[str, Any] = {
    "id": "post-purchase-nps", "name": "After your order",
    "questions": [{"id": "nps", "type": "nps", "text": NPS_TEXT, "follow_up": [
        {"min_score": 0, "max_score": 6, "text": BETTER},
        {"min_score": 9, "max_score": 10, "text": {"en": "What did you like most?",
                                                   "he": "מה אהבתם במיוחד?",
                                                   "ar": "ما الذي أعجبك أكثر؟"}}]}],
    "targeting": {"triggers": [{"event": "Order Completed"}]},
}
FULL_SURVEY: dict[str, Any] = {  # one question of every kind the widget draws differently
    "id": "checkout-feedback", "name": "Checkout feedback",
    "questions": [
        NPS_SURVEY["questions"][0],
        {"id": "topics", "type": "multiple_choice",
         "text": {"en": "What mattered most?", "he": "מה היה חשוב לכם?", "ar": "ما الأهم لك؟"},
         "choices": [{"id": "price", "text": {"en": "Price", "he": "מחיר", "ar": "السعر"}},
                     {"id": "speed", "text": {"en": "Delivery speed", "he": "מהירות משלוח",
                                              "ar": "سرعة التوصيل"}},
                     {"id": "support", "text": {"en": "Support", "he": "שירות", "ar": "الدعم"}}]},
        {"id": "plan", "type": "single_choice",
         "text": {"en": "How did you pay?", "he": "איך שילמתם?", "ar": "كيف دفعت؟"},
         "choices": [{"id": "card", "text": {"en": "Card", "he": "כרטיס", "ar": "بطاقة"}},
                     {"id": "wallet", "text": {"en": "Wallet", "he": "ארנק", "ar": "محفظة"}}]},
        {"id": "why", "type": "text", "required": False,
         "text": {"en": "Anything else?", "he": "משהו נוסף?", "ar": "هل من شيء آخر؟"}},
    ],
    "targeting": {"triggers": [{"event": "Order Completed"}]},
}
CES_SURVEY: dict[str, Any] = {
    "id": "support-ces", "name": "Your support request",
    "questions": [{"id": "ease", "type": "ces", "text": {
        "en": "The company made it easy for me to handle my issue.",
        "he": "החברה הקלה עליי לטפל בפנייה שלי.",
        "ar": "سهّلت الشركة عليّ معالجة مشكلتي."}}],
    "targeting": {"triggers": [{"event": "Ticket Closed"}]},
}
HOSTILE_CSS = ("* { color: #0a0 !important; font-family: serif !important;"
               " letter-spacing: 3px !important; }"
               " button { font-size: 28px; padding: 20px 40px; background: red; border: 0; }"
               " div, p, section { margin: 30px; } [role=dialog] { display: none; }")


def add_survey(server: Server, survey: dict[str, Any]) -> None:
    response = server.admin("PUT", f"/v1/surveys/{survey['id']}", json=survey)
    assert response.status_code == 200, response.text


def shop(server: Server, root: Path, title: str, lang: str = "en", body: str = "",
         **attrs: str) -> str:
    """A customer page under a strict CSP, with the snippet (surveys on) and hostile CSS;
    ``attrs`` are extra ``data-*`` attributes of the snippet's tag."""
    extra = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    (root / "hostile.css").write_text(HOSTILE_CSS, encoding="utf-8")
    csp = (f"default-src 'self'; script-src {server.url}; connect-src {server.url};"
           " style-src 'self'; img-src data:")
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
        f"<link rel='icon' href='data:,'><title>{title}</title>"
        f'<script src="{server.url}/t.js" data-write-key="{WRITE_KEY}" data-surveys="on"{extra}'
        " async></script><link rel='stylesheet' href='hostile.css'>"
        f"</head><body><h1>{title}</h1><p>Order #1042 is confirmed.</p>{body}</body></html>"
    )


def survey_rows(server: Server) -> list[dict[str, Any]]:
    """Every stored event (properties parsed), read once the server has let go of the store."""
    assert server.stop() == 0
    with DuckDBStore(load_settings(env={}, store_path=server.store)) as store:
        rows: list[dict[str, Any]] = store.sql(
            "SELECT event, anonymous_id, user_id, person_id, source, properties FROM events"
            " ORDER BY timestamp, message_id").to_pylist()
    for row in rows:
        row["properties"] = json.loads(row["properties"]) if row["properties"] else {}
    return rows


def focused(page: Any) -> str | None:
    """What has the focus inside the widget: a scale value, else a tag/class/type."""
    return page.evaluate("""() => {
        const host = document.querySelector('touchpath-survey');
        if (!host || document.activeElement !== host) return null;
        const a = host.shadowRoot.activeElement;
        if (!a) return null;
        return a.dataset.value ? 'radio:' + a.dataset.value
             : a.type === 'checkbox' || a.type === 'radio' ? a.type + ':' + a.value
             : a.tagName.toLowerCase() + (a.className ? '.' + a.className : '');
    }""")


def checked(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        f"{WIDGET} [role=radio][aria-checked=true]", "els => els.map(e => e.dataset.value)")


def box(page: Any, selector: str) -> dict[str, float]:
    page.wait_for_function(  # the card slides in for 0.18 s
        "() => document.querySelector('touchpath-survey').shadowRoot.getAnimations()"
        ".every(a => a.playState === 'finished')")
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return dict(found)


def open_shop(page: Any, collector: Server, site: Callable[..., str], tmp_path: Path,
              lang: str = "en", user: str = "user-42") -> None:
    base = site(shop=shop(collector, tmp_path / "site", "Thank you for your order", lang))
    page.goto(f"{base}/shop.html")
    page.wait_for_function(LOADED)
    page.evaluate("(u) => touchpath.identify(u, {plan: 'pro'})", user)
    page.evaluate("() => touchpath.track('Order Completed', {revenue: 42})")
    page.wait_for_selector(f"{WIDGET} [role=dialog]")


def test_an_nps_answer_with_its_follow_up_is_stored_against_the_person(
    page: Any, collector: Server, site: Callable[..., str], tmp_path: Path
) -> None:
    add_survey(collector, NPS_SURVEY)
    requests: list[Any] = []
    page.on("request", lambda r: "/survey" in r.url and requests.append(r))
    base = site(shop=shop(collector, tmp_path / "site", "Thank you for your order"))
    page.goto(f"{base}/shop.html")
    page.wait_for_function(LOADED)
    page.wait_for_timeout(300)
    assert page.locator(WIDGET).count() == 0, "no survey before the order"
    assert not [r for r in requests if r.url.endswith("/survey.js")], "loaded only when due"

    page.evaluate("() => touchpath.identify('user-42', {plan: 'pro'})")
    page.evaluate("() => touchpath.track('Order Completed', {revenue: 42})")
    dialog = page.locator(f"{WIDGET} [role=dialog]")
    dialog.wait_for()
    assert dialog.get_attribute("aria-modal") == "false"
    title_id = dialog.get_attribute("aria-labelledby")
    assert page.locator(f"{WIDGET} #{title_id}").inner_text() == NPS_TEXT["en"]
    assert focused(page) == "div.card", "focus moves to the dialog"
    assert page.locator(f"{WIDGET} [role=radiogroup] [role=radio]").count() == 11
    assert page.get_by_role("button", name="Close").count() == 1
    assert page.locator(f"{WIDGET} .ends").inner_text().split("\n") == [
        "Not at all likely", "Extremely likely"]
    # The host page's CSS does not reach into the widget.
    style = page.eval_on_selector(
        f"{WIDGET} [data-value='3']",
        "b => { const s = getComputedStyle(b); return [s.color, s.fontSize, s.backgroundColor,"
        " s.letterSpacing, s.fontFamily]; }")
    assert style[:4] == ["rgb(31, 41, 55)", "14px", "rgb(255, 255, 255)", "normal"]
    assert style[4].startswith("system-ui"), "not the page's serif"
    submit = page.locator(f"{WIDGET} button.go")
    assert submit.inner_text() == "Send" and submit.is_disabled(), "the score is required"

    page.locator(f"{WIDGET} [data-value='3']").click()
    assert checked(page) == ["3"]
    follow = page.get_by_label(BETTER["en"])
    assert follow.is_visible(), "a detractor is asked what to do better"
    follow.fill("Deliver faster, please.")
    page.locator(f"{WIDGET} [data-value='9']").click()
    assert page.get_by_label("What did you like most?").is_visible()
    assert not follow.is_visible()
    page.locator(f"{WIDGET} [data-value='3']").click()
    assert follow.input_value() == "Deliver faster, please.", "the text survives a change"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "survey-widget-en.png"))
    submit.click()
    thanks = page.locator(f"{WIDGET} .thanks")
    thanks.wait_for()
    assert thanks.inner_text() == "Thank you!" and thanks.get_attribute("role") == "status"
    page.screenshot(path=str(ARTIFACTS / "survey-widget-en-thanks.png"))

    # Not again on this page view: the snippet does not even ask.
    asked = len([r for r in requests if r.url.endswith("/v1/surveys/next")])
    page.evaluate("() => touchpath.track('Order Completed', {revenue: 7})")
    assert page.evaluate("() => touchpath.survey.check('Order Completed')") is None
    page.get_by_role("button", name="Close").click()
    assert page.locator(WIDGET).count() == 0
    assert len([r for r in requests if r.url.endswith("/v1/surveys/next")]) == asked
    assert page.evaluate("() => touchpath.flush()") is True
    assert not page.console_errors, page.console_errors  # CSP violations are console errors

    posted = [r for r in requests if r.url.endswith("/responses")]
    assert len(posted) == 1
    assert posted[0].headers["authorization"] == "Basic dHBrX2UyZV93cml0ZV9rZXk6"  # key + ':'
    rows = survey_rows(collector)
    events = [r["event"] for r in rows]
    assert events.count("Survey Shown") == 1 and events.count("Survey Answered") == 1
    answered = next(r for r in rows if r["event"] == "Survey Answered")
    props = answered["properties"]
    assert UUID.match(props["response_id"]), "the widget's response id"
    assert {k: props[k] for k in ("survey_id", "survey", "score", "scale_min", "scale_max",
                                  "comment", "language", "touchpoint", "stage", "answers")} == {
        "survey_id": "post-purchase-nps", "survey": "nps", "score": 3, "scale_min": 0,
        "scale_max": 10, "comment": "Deliver faster, please.", "language": "en",
        "touchpoint": "Order Completed", "stage": "Purchase", "answers": {"nps": 3}}
    assert answered["user_id"] == "user-42"
    order = next(r for r in rows if r["event"] == "Order Completed")
    assert answered["anonymous_id"] == order["anonymous_id"]
    assert len({r["person_id"] for r in rows}) == 1, "the answer is the same person's event"


@pytest.mark.parametrize(("lang", "rtl"), [("en", False), ("he", True), ("ar", True)])
def test_the_scale_runs_with_the_writing_direction(
    page: Any, collector: Server, site: Callable[..., str], tmp_path: Path, lang: str, rtl: bool
) -> None:
    add_survey(collector, NPS_SURVEY)
    open_shop(page, collector, site, tmp_path, lang=lang)
    dialog = page.locator(f"{WIDGET} [role=dialog]")
    assert dialog.get_attribute("dir") == ("rtl" if rtl else "ltr")
    assert dialog.get_attribute("lang") == lang
    assert page.locator(f"{WIDGET} .q").inner_text() == NPS_TEXT[lang]
    zero, ten = box(page, f"{WIDGET} [data-value='0']"), box(page, f"{WIDGET} [data-value='10']")
    assert abs(zero["y"] - ten["y"]) < 1, "one row"
    assert (zero["x"] > ten["x"]) is rtl, f"{lang}: 0 at x={zero['x']}, 10 at x={ten['x']}"
    xs = [box(page, f"{WIDGET} [data-value='{v}']")["x"] for v in range(11)]
    assert xs == sorted(xs, reverse=rtl), "every step in order"
    low, high = (box(page, f"{WIDGET} .ends span:{n}-child") for n in ("first", "last"))
    assert (low["x"] > high["x"]) is rtl, "the end labels sit under their ends"
    card, close = box(page, f"{WIDGET} .card"), box(page, f"{WIDGET} .close")
    assert (close["x"] < card["x"] + card["width"] / 2) is rtl, "close in the leading corner"
    viewport = page.viewport_size
    assert (card["x"] < viewport["width"] / 2) is rtl, "the card sits at the inline end"
    assert card["y"] + card["height"] <= viewport["height"]

    # The arrow keys follow what is seen: the arrow towards 10 goes up.
    page.locator(f"{WIDGET} [data-value='5']").click()
    page.keyboard.press("ArrowLeft" if rtl else "ArrowRight")
    assert checked(page) == ["6"] and focused(page) == "radio:6"
    page.keyboard.press("ArrowRight" if rtl else "ArrowLeft")
    page.keyboard.press("ArrowRight" if rtl else "ArrowLeft")
    assert checked(page) == ["4"]
    page.get_by_label(BETTER[lang]).fill({"en": "Faster delivery", "he": "משלוח מהיר יותר",
                                          "ar": "توصيل أسرع"}[lang])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"survey-widget-{lang}.png"))
    assert not page.console_errors, page.console_errors


def test_keyboard_only_answers_every_kind_of_question(
    page: Any, collector: Server, site: Callable[..., str], tmp_path: Path
) -> None:
    add_survey(collector, FULL_SURVEY)
    open_shop(page, collector, site, tmp_path, lang="he", user="user-kb")
    key = page.keyboard.press
    assert focused(page) == "div.card"
    key("Tab")
    assert focused(page) == "button.close"
    key("Tab")
    assert focused(page) == "radio:0", "one tab stop for the scale (roving tabindex)"
    key("Space")
    assert checked(page) == ["0"]
    key("End")
    assert checked(page) == ["10"]
    key("Home")
    for _ in range(4):
        key("ArrowLeft")  # RTL: left is up
    assert checked(page) == ["4"] and focused(page) == "radio:4"
    key("ArrowDown")
    key("ArrowUp")
    key("ArrowUp")
    assert checked(page) == ["3"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "survey-widget-he-keyboard.png"))  # the focus ring
    key("Tab")
    assert focused(page) == "textarea"
    page.keyboard.type("השליח איחר")
    key("Tab")
    assert focused(page) == "button.go"
    key("Enter")  # next: what mattered most
    assert focused(page) == "checkbox:price"
    key("Space")
    key("Tab")
    key("Tab")
    assert focused(page) == "checkbox:support"
    key("Space")
    key("Tab")
    assert focused(page) == "button.go"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "survey-widget-he-choices.png"))
    key("Enter")  # next: how did you pay (one choice, required)
    assert focused(page) == "radio:card"
    assert page.locator(f"{WIDGET} button.go").is_disabled()
    key("ArrowDown")  # native radios: the arrow picks the next one
    assert page.locator(f"{WIDGET} input[value=wallet]").is_checked()
    key("Tab")
    key("Enter")  # next: anything else (optional)
    assert focused(page) == "textarea"
    page.keyboard.type("תודה")
    key("Tab")
    go = page.locator(f"{WIDGET} button.go")
    assert focused(page) == "button.go" and go.inner_text() == "שליחה"
    key("Enter")
    page.locator(f"{WIDGET} .thanks").wait_for()
    assert page.locator(f"{WIDGET} .thanks").inner_text() == "תודה רבה!"
    assert page.evaluate("() => touchpath.flush()") is True
    assert not page.console_errors, page.console_errors

    answered = [r for r in survey_rows(collector) if r["event"] == "Survey Answered"]
    assert len(answered) == 1 and answered[0]["user_id"] == "user-kb"
    props = answered[0]["properties"]
    assert props["answers"] == {"nps": 3, "topics": ["price", "support"], "plan": "wallet",
                                "why": "תודה"}
    assert (props["score"], props["comment"], props["language"]) == (3, "השליח איחר", "he")
    assert (props["touchpoint"], props["stage"]) == ("Order Completed", "Purchase")


def test_escape_dismisses_and_the_dismissal_is_recorded(
    page: Any, collector: Server, site: Callable[..., str], tmp_path: Path
) -> None:
    add_survey(collector, NPS_SURVEY)
    base = site(shop=shop(collector, tmp_path / "site", "Thanks", "en",
                          "<button id='buy'>Buy again</button>", language="ar"))
    page.goto(f"{base}/shop.html")
    page.wait_for_function(LOADED)
    page.focus("#buy")
    page.evaluate("() => touchpath.track('Order Completed')")
    dialog = page.locator(f"{WIDGET} [role=dialog]")
    dialog.wait_for()
    assert (dialog.get_attribute("lang"), dialog.get_attribute("dir")) == ("ar", "rtl"), (
        "data-language wins over <html lang>")
    page.locator(f"{WIDGET} [data-value='8']").click()  # an answer started, not sent
    with page.expect_response(lambda r: r.url.endswith("/dismissals")) as dismissal:
        page.keyboard.press("Escape")
    assert dismissal.value.status == 200
    assert page.locator(WIDGET).count() == 0
    assert page.evaluate("() => document.activeElement.id") == "buy", "focus goes back"
    page.evaluate("() => touchpath.track('Order Completed')")
    assert page.evaluate("() => touchpath.survey.check('Order Completed')") is None
    assert page.locator(WIDGET).count() == 0, "not again on this page view"

    page.reload()  # a new page view: the survey is never shown again after a dismissal
    page.wait_for_function(LOADED)
    assert page.evaluate("() => touchpath.survey.check('Order Completed')") is None
    assert page.evaluate("() => touchpath.flush()") is True
    assert not page.console_errors, page.console_errors

    rows = survey_rows(collector)
    survey_events = [(r["event"], r["properties"].get("survey_id"),
                      r["properties"].get("touchpoint")) for r in rows
                     if r["event"].startswith("Survey")]
    assert survey_events == [("Survey Shown", "post-purchase-nps", "Order Completed"),
                             ("Survey Dismissed", "post-purchase-nps", "Order Completed")]
    assert len({r["person_id"] for r in rows}) == 1


def test_nothing_is_asked_before_consent_and_the_card_fits_a_phone(
    page: Any, collector: Server, site: Callable[..., str], tmp_path: Path
) -> None:
    add_survey(collector, NPS_SURVEY)
    asked: list[str] = []
    page.on("request", lambda r: "/survey" in r.url and asked.append(r.url.split("/")[-1]))
    page.set_viewport_size({"width": 375, "height": 700})
    base = site(shop=shop(collector, tmp_path / "site", "Shop", consent="required"))
    page.goto(f"{base}/shop.html")
    page.wait_for_function(LOADED)
    page.evaluate("() => touchpath.track('Order Completed')")
    assert page.evaluate("() => touchpath.survey.check('Order Completed')") is None
    page.wait_for_timeout(300)
    assert asked == [] and page.locator(WIDGET).count() == 0, "no request without consent"

    page.evaluate("() => touchpath.consent(true)")  # the held-back page view asks once
    page.wait_for_function("() => touchpath.flush()")
    assert asked == ["next"] and page.locator(WIDGET).count() == 0, "not due on a page view"
    assert page.evaluate("() => touchpath.survey.check('Order Completed')") == (
        "post-purchase-nps")
    assert asked == ["next", "next", "survey.js"]
    card = box(page, f"{WIDGET} .card")
    assert abs(card["x"] - 8) <= 1 and abs(card["width"] - 359) <= 1, card
    assert abs(card["y"] + card["height"] - 692) <= 1, "8 px from the bottom"
    xs = [box(page, f"{WIDGET} [data-value='{v}']")["x"] for v in (0, 10)]
    assert xs[0] < xs[1] and xs[1] + 20 < card["x"] + card["width"], "eleven buttons fit"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "survey-widget-phone-en.png"))
    assert not page.console_errors, page.console_errors


def test_a_refused_answer_shows_the_collectors_message(
    page: Any, collector: Server, site: Callable[..., str], tmp_path: Path
) -> None:
    add_survey(collector, NPS_SURVEY)
    base = site(shop=shop(collector, tmp_path / "site", "Shop"))
    page.goto(f"{base}/shop.html")
    page.wait_for_function(LOADED)
    # A survey the collector does not know this question of (an outdated copy, say).
    page.evaluate(f"""() => new Promise((ok) => {{
        const s = document.createElement('script');
        s.src = '{collector.url}/survey.js'; s.onload = ok; document.head.append(s);
    }})""")
    page.evaluate(f"""() => touchpathSurvey.show({{id: 'post-purchase-nps', language: 'en',
        questions: [{{id: 'gone', type: 'rating', text: 'Rate us'}}]}},
        {{host: '{collector.url}', key: '{WRITE_KEY}',
          ids: () => ({{anonymousId: touchpath.anonymousId(), userId: null}})}})""")
    page.locator(f"{WIDGET} [data-value='5']").click()
    page.locator(f"{WIDGET} button.go").click()
    alert = page.locator(f"{WIDGET} [role=alert]")
    alert.wait_for()
    assert "no question 'gone'" in alert.inner_text()
    assert page.locator(f"{WIDGET} button.go").is_enabled(), "it can be sent again"
    assert page.locator(f"{WIDGET} .thanks").count() == 0
    page.console_errors.clear()  # the browser logs the 400 itself
    collector.stop()  # down: the widget asks to try again, in the survey's language
    page.locator(f"{WIDGET} button.go").click()
    page.wait_for_function(
        "() => document.querySelector('touchpath-survey').shadowRoot"
        ".querySelector('[role=alert]').textContent.includes('try again')")


def test_the_survey_link_page_renders_inline_and_stores_the_answer(
    page: Any, collector: Server
) -> None:
    add_survey(collector, CES_SURVEY)
    made = collector.admin("POST", "/v1/surveys/support-ces/links",
                           json={"userId": "user-77", "language": "ar", "touchpoint": "Support"})
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    csp: list[str] = []

    def strict(route: Any) -> None:  # the page must work under a strict CSP
        response = route.fetch()
        headers = {**response.headers, "content-security-policy":
                   "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self';"
                   " img-src data:"}
        csp.append(route.request.url)
        route.fulfill(response=response, headers=headers)

    page.route(re.compile(r".*/s/[^/]+$"), strict)
    page.goto(url)
    assert csp == [url]
    region = page.locator(f"{WIDGET} [role=region]")
    region.wait_for()
    assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]"
                         ) == ["ar", "rtl"]
    assert page.locator("h1").inner_text() == "Your support request"
    assert page.locator(f"{WIDGET} .q").inner_text() == CES_SURVEY["questions"][0]["text"]["ar"]
    assert page.locator(f"{WIDGET} .close").count() == 0, "a page, not a pop-up"
    assert region.inner_text().split() == [  # all that shows: question, scale, ends, button
        *CES_SURVEY["questions"][0]["text"]["ar"].split(), *"1234567", "لا", "أوافق", "بشدة",
        "أوافق", "بشدة", "إرسال"]
    assert page.locator(f"{WIDGET} [role=radio]").count() == 7, "CES 2.0: 1 to 7"
    one, seven = box(page, f"{WIDGET} [data-value='1']"), box(page, f"{WIDGET} [data-value='7']")
    assert one["x"] > seven["x"], "right to left"
    page.keyboard.press("Escape")
    assert page.locator(f"{WIDGET} [role=region]").count() == 1, "nothing to dismiss"
    page.locator(f"{WIDGET} [data-value='6']").click()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "survey-link-page-ar.png"), full_page=True)
    page.locator(f"{WIDGET} button.go").click()
    page.locator(f"{WIDGET} .thanks").wait_for()
    assert page.locator(f"{WIDGET} .thanks").inner_text() == "شكرًا لك!"
    assert not page.console_errors, page.console_errors

    answered = [r for r in survey_rows(collector) if r["event"] == "Survey Answered"]
    assert len(answered) == 1
    row = answered[0]
    assert (row["user_id"], row["source"]) == ("user-77", "survey-link")
    props = row["properties"]
    assert (props["survey"], props["score"], props["language"], props["touchpoint"]) == (
        "ces", 6, "ar", "Support")
    assert UUID.match(props["response_id"])
