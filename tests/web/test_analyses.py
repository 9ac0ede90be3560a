"""The REST API of the analytics answers what the Python API answers, in the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.analytics.examples import EXAMPLES, same
from touchpath.analytics.registry import run_json
from touchpath.config import load_settings
from touchpath.web.app import create_app

TOKEN = "test-token-analyses"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(demo_store_path: Path) -> Iterator[TestClient]:
    app = create_app(load_settings(env={}, store_path=demo_store_path), admin_token=TOKEN)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rest_equals_the_python_api(client: TestClient, name: str) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    expected: dict[str, Any] = orjson.loads(orjson.dumps(
        run_json(store, name, EXAMPLES[name]).to_dict()))
    answer = client.post(f"/v1/analyses/{name}", json=EXAMPLES[name], headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert same(answer.json(), expected)
    csv = client.post(f"/v1/analyses/{name}?format=csv", json=EXAMPLES[name], headers=AUTH)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.count("\n") == len(expected["rows"]) + 1


def test_analyses_need_the_admin_token(client: TestClient) -> None:
    assert client.get("/v1/analyses").status_code == 401
    assert client.post("/v1/analyses/funnel", json={}).status_code == 401


def test_the_list_names_every_analysis(client: TestClient) -> None:
    names = {a["name"] for a in client.get("/v1/analyses", headers=AUTH).json()}
    assert names == set(EXAMPLES)


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/v1/analyses/funnel", {"steps": [{"event": "Order Completed"}]}, 400, "steps"),
    ("/v1/analyses/nope", {}, 404, "analysis"),
    ("/v1/analyses/retention", {"colour": "red"}, 400, "colour"),
    ("/v1/segments/x", {"kind": "behaviour"}, 400, "segment.event"),
])
def test_bad_requests_answer_the_error_shape(client: TestClient, path: str, body: Any,
                                             status: int, field: str) -> None:
    method = client.put if path.startswith("/v1/segments") else client.post
    answer = method(path, json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"].startswith(field), error
    assert error["message"]


def test_malformed_json_is_a_400(client: TestClient) -> None:
    answer = client.post("/v1/analyses/funnel", content=b"{not json",
                         headers={**AUTH, "content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


def test_segments_round_trip(client: TestClient) -> None:
    segment = {"kind": "property", "where": [{"property": "initial_channel", "value": "email"}]}
    saved = client.put("/v1/segments/email-acquired", json=segment, headers=AUTH)
    assert saved.status_code == 200, saved.text
    assert client.get("/v1/segments", headers=AUTH).json()["email-acquired"]["where"][0][
        "value"] == "email"


def test_person_lists_only_when_asked(client: TestClient) -> None:
    spec = {"cohort_event": {"event": "Order Completed"}, "period": "month", "periods": 2}
    plain = client.post("/v1/analyses/retention", json=spec, headers=AUTH).json()
    assert plain["person_tables"] == ["churned"] and "churned" not in plain["tables"]
    full = client.post("/v1/analyses/retention?persons=true", json=spec, headers=AUTH).json()
    churned = full["tables"]["churned"]
    assert len(churned) == full["summary"]["churned"] > 0
    assert churned[0]["person_id"].startswith("p_")
