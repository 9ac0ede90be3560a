"""The browser snippet ``/t.js`` in a real headless Chromium, against a real collector.

The customer site and the collector are two origins (two ports on 127.0.0.1), as in production:
the page loads ``<script src="{collector}/t.js" data-write-key=... async>`` and its events travel
cross-origin by ``fetch(keepalive)`` and ``navigator.sendBeacon``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.browser.conftest import ARTIFACTS, html
from tests.realserver import Server
from touchpath.config import load_settings
from touchpath.store.duckdb_store import DuckDBStore

UTM = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"
BUTTON = ("<div class='hero'><p>Spring sale.</p>"
          "<button id='buy' class='cta primary'>Buy now <b>50% off</b></button></div>")
NEXT_LINK = "<p><a id='next' href='next.html'>Next</a></p>"
LOADED = "() => !!(window.touchpath && window.touchpath.loaded)"


def stored_events(server: Server) -> int:
    return int(server.admin("GET", "/v1/stats").json()["events"])


def wait_for_events(server: Server, count: int, seconds: float = 10) -> int:
    """Poll the collector's statistics until ``count`` events are stored (bounded)."""
    deadline = time.monotonic() + seconds
    seen = stored_events(server)
    while seen < count and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = stored_events(server)
    assert seen >= count, f"{seen} of {count} events arrived within {seconds} s"
    return seen


def read_rows(server: Server) -> list[dict[str, Any]]:
    """The stored events, read from the DuckDB file once the server has let go of it."""
    assert server.stop() == 0
    with DuckDBStore(load_settings(env={}, store_path=server.store)) as store:
        rows: list[dict[str, Any]] = store.sql(
            "SELECT message_id, type, event, anonymous_id, user_id, person_id, channel, utm_source,"
            " utm_campaign, page_url, referrer, properties, traits, context"
            " FROM events ORDER BY timestamp").to_pylist()
    for row in rows:
        for column in ("properties", "traits", "context"):
            row[column] = json.loads(row[column]) if row[column] else {}
    return rows


def storage_keys(page: Any) -> list[str]:
    return sorted(page.evaluate("() => Object.keys(localStorage)"))


def test_page_click_identify_track_reach_the_store_as_one_person(
    page: Any, collector: Server, site: Callable[..., str]
) -> None:
    base = site(index=html(collector, "Spring sale", BUTTON + NEXT_LINK, clicks="true"),
                next=html(collector, "Thank you", "<p>Welcome aboard.</p>"))
    batches: list[Any] = []
    page.on("request", lambda r: "/v1/batch" in r.url and batches.append(r))

    page.goto(f"{base}/index.html{UTM}")
    page.wait_for_function(LOADED)
    wait_for_events(collector, 1)  # the automatic page view, sent by the flush timer
    box = page.locator("#buy").bounding_box()
    page.click("#buy")  # Playwright clicks the element's centre
    page.evaluate("""() => {
        touchpath.identify("user-42", {email: "x@example.com"});
        touchpath.track("Signed Up", {plan: "pro"});
    }""")
    assert page.evaluate("() => touchpath.userId()") == "user-42"
    anonymous_id = page.evaluate("() => touchpath.anonymousId()")
    assert page.evaluate("() => localStorage.getItem('tp_aid')") == anonymous_id
    assert any(k.startswith("tp_q.") for k in storage_keys(page)), "unsent events are kept"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "snippet-page.png"), full_page=True)

    # Following a link away: pagehide -> sendBeacon delivers the clicks, identify and track.
    page.click("#next")
    page.wait_for_url(f"{base}/next.html")
    page.wait_for_function(LOADED)
    wait_for_events(collector, 6)
    # The next page remembers the visitor (its own page view carries both ids).
    assert page.evaluate("() => touchpath.anonymousId()") == anonymous_id

    # An explicit flush resolves once the collector acknowledged (= committed) the batch.
    page.evaluate("() => touchpath.track('Viewed Plan', {plan: 'pro'})")
    assert page.evaluate("() => touchpath.flush()") is True
    assert stored_events(collector) == 7  # ... + Viewed Plan
    assert not [k for k in storage_keys(page) if k.startswith("tp_q.")], "acknowledged = dropped"

    # Hiding the tab (visibilitychange) beacons what is queued.
    page.evaluate("""() => {
        touchpath.track('Tab Hidden');
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    wait_for_events(collector, 8)
    assert not page.console_errors
    assert {(r.method, r.headers["content-type"].split(";")[0]) for r in batches} == {
        ("POST", "text/plain")}, "a 'simple' cross-origin request: no CORS preflight"
    assert {r.resource_type for r in batches} == {"fetch", "ping"}, "fetch, and beacon if hidden"
    # Requests of a page being unloaded are not reported to Playwright: what arrived without
    # being seen in a request was sent as the page went away.
    seen = {m["messageId"] for r in batches for m in json.loads(r.post_data)["batch"]}

    rows = read_rows(collector)
    assert [(r["type"], r["event"]) for r in rows] == [
        ("page", "$page"), ("track", "$click"), ("identify", "$identify"),
        ("track", "Signed Up"), ("track", "$click"), ("page", "$page"),
        ("track", "Viewed Plan"), ("track", "Tab Hidden")]
    landing, click, identify, signed_up, link, next_page, *_ = rows

    assert landing["channel"] == "email"
    assert (landing["utm_source"], landing["utm_campaign"]) == ("newsletter", "spring")
    assert landing["page_url"] == f"{base}/index.html{UTM}"
    assert landing["user_id"] is None and landing["anonymous_id"] == anonymous_id
    context = landing["context"]
    assert context["campaign"] == {"source": "newsletter", "medium": "email", "name": "spring"}
    assert context["page"]["path"] == "/index.html" and context["page"]["title"] == "Spring sale"
    assert context["userAgent"] and context["locale"] and context["screen"]["width"] > 0
    assert landing["properties"]["title"] == "Spring sale"

    props = click["properties"]
    assert props["selector"] == "button#buy"
    assert props["text"] == "Buy now 50% off"
    assert props["path"] == "/index.html"
    assert (props["viewport_width"], props["viewport_height"]) == (1024, 768)
    assert props["page_width"] >= 1000 and props["page_height"] > 768  # the page scrolls
    assert abs(props["x"] - (box["x"] + box["width"] / 2)) <= 1
    assert abs(props["y"] - (box["y"] + box["height"] / 2)) <= 1

    assert identify["traits"] == {"email": "x@example.com"}
    assert signed_up["properties"] == {"plan": "pro"}
    assert link["properties"]["selector"] == "a#next" and link["properties"]["text"] == "Next"
    for row in (identify, signed_up, link, next_page):
        assert (row["user_id"], row["anonymous_id"]) == ("user-42", anonymous_id)
    assert next_page["referrer"] == f"{base}/index.html{UTM}"
    assert next_page["channel"] == "direct"  # a referrer on the site's own host
    # Identity stitching: the anonymous landing and the signed-up user are one person.
    assert len({r["person_id"] for r in rows}) == 1
    assert [r["event"] for r in rows if r["message_id"] not in seen] == [
        "$click", "$identify", "Signed Up", "$click"]
    assert len({r["context"]["library"]["name"] for r in rows}) == 1


def test_nothing_is_stored_or_sent_before_consent(
    page: Any, collector: Server, site: Callable[..., str]
) -> None:
    base = site(index=html(collector, "Consent", BUTTON, consent="required", clicks="true"))
    batches: list[Any] = []
    page.on("request", lambda r: "/v1/batch" in r.url and batches.append(r))
    page.goto(f"{base}/index.html{UTM}")
    page.wait_for_function(LOADED)

    page.click("#buy")
    page.evaluate("() => { touchpath.identify('user-7', {plan: 'x'}); touchpath.track('Early'); }")
    assert page.evaluate("() => touchpath.flush()") is False
    page.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(500)
    assert storage_keys(page) == [] and page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => touchpath.anonymousId()") is None
    assert batches == [] and stored_events(collector) == 0

    page.evaluate("() => touchpath.consent(true)")  # sends the page view it held back
    assert page.evaluate("() => touchpath.flush()") is True
    assert stored_events(collector) == 1
    assert {"tp_aid", "tp_consent"} <= set(storage_keys(page))

    page.evaluate("() => touchpath.consent(false)")  # withdrawn: forgotten, nothing more sent
    assert storage_keys(page) == []
    page.evaluate("() => touchpath.track('After Withdrawal')")
    assert page.evaluate("() => touchpath.flush()") is False
    assert not page.console_errors

    rows = read_rows(collector)
    assert [(r["type"], r["user_id"], r["channel"]) for r in rows] == [("page", None, "email")]


def test_do_not_track_and_global_privacy_control_are_honoured(
    page: Any, collector: Server, site: Callable[..., str]
) -> None:
    base = site(index=html(collector, "DNT", BUTTON, respect_dnt="true", clicks="true"),
                plain=html(collector, "No DNT opt-in", BUTTON))
    page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})")
    page.goto(f"{base}/index.html")
    page.wait_for_function(LOADED)
    page.click("#buy")
    page.evaluate("() => touchpath.consent(true)")  # DNT / GPC still win
    assert page.evaluate("() => touchpath.flush()") is False
    assert storage_keys(page) == [] and stored_events(collector) == 0

    page.goto(f"{base}/plain.html")  # a site that does not opt in to honouring the signal
    page.wait_for_function(LOADED)
    assert page.evaluate("() => touchpath.flush()") is True
    assert stored_events(collector) == 1


def test_a_failed_send_is_kept_and_retried(
    page: Any, collector: Server, site: Callable[..., str]
) -> None:
    base = site(index=html(collector, "Offline", "", auto_page="false"))
    page.goto(f"{base}/index.html")
    page.wait_for_function(LOADED)
    collector.stop()  # the collector is down

    page.evaluate("() => touchpath.track('While Down', {n: 1})")
    assert page.evaluate("() => touchpath.flush()") is False
    queued = [k for k in storage_keys(page) if k.startswith("tp_q.")]
    assert len(queued) == 1
    assert "While Down" in page.evaluate(f"() => localStorage.getItem('{queued[0]}')")

    collector.start()  # back, same port and store: the backed-off retry delivers the event
    wait_for_events(collector, 1, seconds=12)
    assert page.evaluate("() => touchpath.flush()") is True
    assert not [k for k in storage_keys(page) if k.startswith("tp_q.")]
    assert [(r["event"], r["properties"]) for r in read_rows(collector)] == [
        ("While Down", {"n": 1})]


def test_calls_made_before_the_script_loaded_are_replayed(
    page: Any, collector: Server, site: Callable[..., str]
) -> None:
    stub = ("<script>window.touchpath = window.touchpath || [];"  # as in docs/snippet.md
            "['track', 'page', 'identify', 'reset', 'consent', 'flush'].forEach(function (m) {"
            " touchpath[m] = touchpath[m] || function () {"
            " touchpath.push([m].concat([].slice.call(arguments))); }; });"
            "touchpath.identify('early-bird', {plan: 'free'});"
            "touchpath.push(['track', 'Queued Early']);</script>")
    base = site(index=stub + html(collector, "Stub"))
    page.goto(f"{base}/index.html")
    page.wait_for_function(LOADED)
    assert page.evaluate("() => touchpath.flush()") is True
    rows = read_rows(collector)
    assert [(r["event"], r["user_id"]) for r in rows] == [
        ("$identify", "early-bird"), ("Queued Early", "early-bird"), ("$page", "early-bird")]
    assert len({r["anonymous_id"] for r in rows}) == 1


def test_reset_and_the_cookie_fallback_when_local_storage_is_blocked(
    page: Any, collector: Server, site: Callable[..., str]
) -> None:
    base = site(index=html(collector, "No storage"))
    page.add_init_script("Object.defineProperty(window, 'localStorage', {get() {"
                         " throw new DOMException('blocked', 'SecurityError'); }})")
    page.goto(f"{base}/index.html")
    page.wait_for_function(LOADED)
    first = page.evaluate("() => touchpath.anonymousId()")
    page.evaluate("() => touchpath.identify('user-9')")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["tp_aid"]["value"] == first and cookies["tp_uid"]["value"] == "user-9"
    assert cookies["tp_aid"]["sameSite"] == "Lax"
    assert cookies["tp_aid"]["expires"] > time.time() + 360 * 86400  # a year
    assert page.evaluate("() => touchpath.flush()") is True  # no storage: memory queue

    page.evaluate("() => touchpath.reset()")
    second = page.evaluate("() => touchpath.anonymousId()")
    assert second != first and page.evaluate("() => touchpath.userId()") is None
    assert {c["name"] for c in page.context.cookies()} == {"tp_aid"}
    page.evaluate("() => touchpath.track('After Reset')")
    assert page.evaluate("() => touchpath.flush()") is True
    rows = read_rows(collector)
    assert [(r["event"], r["anonymous_id"], r["user_id"]) for r in rows] == [
        ("$page", first, None), ("$identify", first, "user-9"), ("After Reset", second, None)]
    assert rows[0]["person_id"] == rows[1]["person_id"] != rows[2]["person_id"]
