"""The survey routes in-process: targeting and caps, answers as events with their stage,
dismissals, signed links, the closed loop with a real webhook receiver, and the admin API."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from touchpath.collect.keys import create_key
from touchpath.config import load_settings
from touchpath.web.app import create_app

ADMIN = {"Authorization": "Bearer admin-secret"}
KEY = {"Authorization": "Basic " + base64.b64encode(b"tpk_test:").decode()}


class Receiver:
    """A help desk's webhook endpoint on 127.0.0.1: records every POST."""

    def __init__(self, status: int = 200) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls.append((dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.calls) >= count

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def nps_survey(webhook: str | None = None, **targeting: Any) -> dict[str, Any]:
    return {
        "id": "post-purchase", "name": "After the order",
        "questions": [
            {"id": "nps", "type": "nps",
             "text": {"en": "How likely are you to recommend us?", "he": "עד כמה תמליצו עלינו?",
                      "ar": "ما مدى احتمال أن توصي بنا؟"},
             "follow_up": [{"min_score": 0, "max_score": 6,
                            "text": {"en": "What could we do better?"}}]},
            {"id": "topics", "type": "multiple_choice", "text": {"en": "What mattered?"},
             "choices": [{"id": "price", "text": {"en": "Price"}},
                         {"id": "delivery", "text": {"en": "Delivery"}}], "required": False},
        ],
        "targeting": {"triggers": [{"event": "Order Completed"}], **targeting},
        "cases": [{"name": "detractor", "max_score": 6, "owner": "cx-team", "due_hours": 24,
                   "webhook_url": webhook}],
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(load_settings(env={}, store_path=tmp_path / "s.duckdb"),
                     admin_token="admin-secret")
    with TestClient(app) as test_client:
        create_key(app.state.store, "website", source="web", key="tpk_test")
        app.state.keys.reload()
        yield test_client


def put(client: TestClient, survey: dict[str, Any]) -> None:
    response = client.put(f"/v1/surveys/{survey['id']}", json=survey, headers=ADMIN)
    assert response.status_code == 200, response.text


def track(client: TestClient, user: str, event: str, **props: Any) -> None:
    response = client.post("/v1/track", headers=KEY, json={
        "userId": user, "event": event, "properties": props})
    assert response.status_code == 200


def events(client: TestClient, user: str) -> list[dict[str, Any]]:
    store = client.app.state.store  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = store.sql(
        "SELECT event, properties FROM events WHERE user_id = $u ORDER BY timestamp",
        {"u": user}).to_pylist()
    return [{"event": r["event"], **json.loads(r["properties"] or "{}")} for r in rows]


def test_due_after_the_trigger_event_then_capped(client: TestClient) -> None:
    put(client, nps_survey())
    track(client, "u1", "Product Viewed")
    ask = {"userId": "u1", "event": "Product Viewed", "language": "he-IL"}
    assert client.post("/v1/surveys/next", json=ask, headers=KEY).json() == {"survey": None}
    track(client, "u1", "Order Completed")
    shown = client.post("/v1/surveys/next", headers=KEY,
                        json={**ask, "event": "Order Completed"}).json()["survey"]
    assert shown["id"] == "post-purchase" and shown["dir"] == "rtl" and shown["language"] == "he"
    assert shown["questions"][0]["text"] == "עד כמה תמליצו עלינו?"
    assert shown["questions"][0]["min"] == 0 and shown["questions"][0]["max"] == 10
    # no Hebrew follow-up text: the default language's
    assert shown["questions"][0]["follow_up"][0]["text"] == "What could we do better?"
    assert shown["touchpoint"] == "Order Completed" and shown["stage"] == "Purchase"
    assert shown["title"] == "After the order"  # no title given: the name
    # shown once: the 30-day cap holds it back now
    again = client.post("/v1/surveys/next", headers=KEY, json={**ask, "event": "Order Completed"})
    assert again.json() == {"survey": None}
    assert [e["event"] for e in events(client, "u1")][-1] == "Survey Shown"


def test_answer_is_an_event_with_stage_and_opens_a_case_with_webhook(
        client: TestClient, receiver: Receiver) -> None:
    put(client, nps_survey(receiver.url))
    track(client, "u2", "Order Completed")
    body = {"userId": "u2", "responseId": "r-1", "language": "en",
            "touchpoint": "Order Completed", "stage": "Purchase",
            "answers": {"nps": 3, "topics": ["delivery"]}, "comment": "late and broken"}
    response = client.post("/v1/surveys/post-purchase/responses", json=body, headers=KEY)
    assert response.status_code == 200, response.text
    case_id = response.json()["case"]
    assert case_id
    answer = events(client, "u2")[-1]
    assert answer["event"] == "Survey Answered"
    assert (answer["survey"], answer["score"], answer["scale_min"], answer["scale_max"]) == (
        "nps", 3, 0, 10)
    assert answer["stage"] == "Purchase" and answer["touchpoint"] == "Order Completed"
    assert answer["comment"] == "late and broken"
    assert answer["answers"] == {"nps": 3, "topics": ["delivery"]}
    receiver.wait(1)
    headers, raw = receiver.calls[0]
    sent = json.loads(raw)
    assert sent["case"]["case_id"] == case_id and sent["answer"]["score"] == 3
    assert headers["X-Touchpath-Signature"].startswith("sha256=")
    # the same answer again (a client retry): stored once, no second case
    client.post("/v1/surveys/post-purchase/responses", json=body, headers=KEY)
    assert sum(e["event"] == "Survey Answered" for e in events(client, "u2")) == 1
    cases = client.get("/v1/cases", headers=ADMIN).json()
    assert [c["case_id"] for c in cases] == [case_id]
    assert cases[0]["owner"] == "cx-team" and cases[0]["status"] == "open"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = client.get("/v1/cases", headers=ADMIN).json()[0]["webhook_status"]
        if status != "pending":
            break
        time.sleep(0.05)
    assert status == "delivered (200)"


def test_closing_needs_a_root_cause_and_a_later_answer_measures_recovery(
        client: TestClient) -> None:
    put(client, nps_survey())
    for user, score in (("u3", 2), ("u4", 5)):
        client.post("/v1/surveys/post-purchase/responses", headers=KEY, json={
            "userId": user, "responseId": f"first-{user}", "answers": {"nps": score}})
    cases = client.get("/v1/cases", headers=ADMIN).json()
    assert len(cases) == 2
    first = cases[0]["case_id"]
    refused = client.patch(f"/v1/cases/{first}", json={"status": "closed"}, headers=ADMIN)
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "root_cause"
    closed = client.patch(f"/v1/cases/{first}", headers=ADMIN,
                          json={"status": "closed", "root_cause": "courier"}).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    # u3 answers again as a promoter (recovered), u4 again as a detractor (not recovered)
    for user, score in (("u3", 9), ("u4", 4)):
        client.post("/v1/surveys/post-purchase/responses", headers=KEY, json={
            "userId": user, "responseId": f"second-{user}", "answers": {"nps": score}})
    rate = client.get("/v1/cases-recovery", headers=ADMIN).json()
    assert rate["answered_again"] == 2 and rate["recovered"] == 1
    assert rate["recovery_rate"] == 0.5 and rate["closed"] == 1
    assert rate["cases"] == 3  # u4's second answer opened a case of its own


def test_bad_answers_name_the_field(client: TestClient) -> None:
    put(client, nps_survey())
    cases = [({"nps": 11}, "answers.nps"), ({"nps": "high"}, "answers.nps"),
             ({"nps": 5, "topics": ["colour"]}, "answers.topics"),
             ({"nps": 5, "mood": 1}, "answers.mood"), ({}, "answers.nps")]
    for answers, field in cases:
        response = client.post("/v1/surveys/post-purchase/responses", headers=KEY,
                               json={"userId": "u5", "answers": answers})
        assert response.status_code == 400, answers
        assert response.json()["error"]["field"] == field
    missing = client.post("/v1/surveys/nope/responses", headers=KEY,
                          json={"userId": "u5", "answers": {"nps": 1}})
    assert missing.status_code == 404
    unauthorised = client.post("/v1/surveys/post-purchase/responses",
                               json={"userId": "u5", "answers": {"nps": 1}})
    assert unauthorised.status_code == 401
    assert events(client, "u5") == []


def test_dismissal_stops_the_survey_for_good(client: TestClient) -> None:
    put(client, nps_survey(min_days_between_surveys=0))
    ask = {"userId": "u6", "event": "Order Completed"}
    assert client.post("/v1/surveys/next", json=ask, headers=KEY).json()["survey"]
    # shown but not answered, no day cap: due again
    assert client.post("/v1/surveys/next", json=ask, headers=KEY).json()["survey"]
    client.post("/v1/surveys/post-purchase/dismissals", json={"userId": "u6"}, headers=KEY)
    assert client.post("/v1/surveys/next", json=ask, headers=KEY).json() == {"survey": None}


def test_sample_percent_is_stable_per_person(client: TestClient) -> None:
    put(client, nps_survey(sample_percent=30, min_days_between_surveys=0, once_per_person=False))
    due = [bool(client.post("/v1/surveys/next", headers=KEY, json={
        "anonymousId": f"a{i}", "event": "Order Completed"}).json()["survey"])
        for i in range(200)]
    assert 40 <= sum(due) <= 80  # 30% of 200, within about 3.5 standard deviations
    again = [bool(client.post("/v1/surveys/next", headers=KEY, json={
        "anonymousId": f"a{i}", "event": "Order Completed"}).json()["survey"])
        for i in range(200)]
    assert again == due


def test_stage_trigger_fires_on_entering_the_stage_only(client: TestClient) -> None:
    survey = nps_survey()
    survey["targeting"] = {"triggers": [{"stage": "retention"}], "min_days_between_surveys": 0,
                           "once_per_person": False}
    put(client, survey)
    ask = {"userId": "u7", "event": "Order Completed"}
    track(client, "u7", "Order Completed")  # the first order: Purchase, not Retention
    assert client.post("/v1/surveys/next", headers=KEY, json=ask).json() == {"survey": None}
    track(client, "u7", "Order Completed")  # the second order moves the person to Retention
    first = client.post("/v1/surveys/next", headers=KEY, json=ask).json()["survey"]
    assert first and first["stage"] == "Retention"
    track(client, "u7", "Order Completed")  # already in Retention: no entry
    assert client.post("/v1/surveys/next", headers=KEY, json=ask).json() == {"survey": None}
    # the event not stored yet (the widget asks before the batch is committed): it counts
    pending = client.post("/v1/surveys/next", headers=KEY,
                          json={"userId": "u9", "event": "Order Completed",
                                "messageId": "not-yet"}).json()
    assert pending == {"survey": None}  # a first order is no entry into Retention


def test_signed_link_ties_the_answer_to_the_person(client: TestClient) -> None:
    put(client, nps_survey())
    made = client.post("/v1/surveys/post-purchase/links", headers=ADMIN, json={
        "userId": "u8", "touchpoint": "delivery", "language": "ar"}).json()
    token = made["token"]
    assert made["url"].endswith(f"/s/{token}")
    tampered = token[:-2] + ("aa" if token[-2:] != "aa" else "bb")
    assert client.post(f"/s/{tampered}", json={"answers": {"nps": 9}}).status_code == 401
    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and 'lang="ar"' in page.text
    response = client.post(f"/s/{token}", json={"answers": {"nps": 9}})
    assert response.status_code == 200, response.text
    answer = events(client, "u8")[-1]
    assert answer["score"] == 9 and answer["touchpoint"] == "delivery"
    assert answer["language"] == "ar"


def test_survey_definition_errors_name_the_field(client: TestClient) -> None:
    bad = nps_survey()
    bad["questions"][0]["follow_up"][0]["max_score"] = 12
    response = client.put("/v1/surveys/post-purchase", json=bad, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "questions[0].follow_up[0]"
    assert client.put("/v1/surveys/post-purchase", json=nps_survey()).status_code == 401


def test_widget_routes_answer_cors(client: TestClient) -> None:
    preflight = client.options("/v1/surveys/post-purchase/responses")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in client.options("/v1/surveys").headers
