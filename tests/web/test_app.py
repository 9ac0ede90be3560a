"""The HTTP app in-process (FastAPI TestClient): health, readiness, admin auth, error shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from touchpath.config import load_settings
from touchpath.spec.columns import rows_to_table
from touchpath.spec.messages import parse_message
from touchpath.web.app import create_app

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(load_settings(env={}, store_path=tmp_path / "s.duckdb"), admin_token=TOKEN)
    with TestClient(app) as test_client:
        messages = [
            {"type": "identify", "userId": "web-user-5", "anonymousId": "a-5",
             "traits": {"email": "x5@example.com"}, "messageId": "m1"},
            {"type": "track", "event": "Signed Up", "userId": "web-user-5", "messageId": "m2"},
        ]
        rows = [parse_message(m, received_at=datetime(2024, 5, 1)) for m in messages]
        app.state.store.write(rows_to_table(rows))
        yield test_client


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    body = client.get("/ready").json()
    assert body["status"] == "ready" and body["schema_version"] >= 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/stats"), ("GET", "/v1/persons/web-user-5"),
     ("DELETE", "/v1/persons/web-user-5")],
)
def test_admin_routes_need_the_token(client: TestClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


def test_stats_explain_erase(client: TestClient) -> None:
    assert client.get("/v1/stats", headers=AUTH).json()["events"] == 2
    explained = client.get("/v1/persons/x5@example.com", headers=AUTH).json()
    assert explained["persons"][0]["events"] == 2
    erased = client.delete("/v1/persons/web-user-5", headers=AUTH).json()
    assert erased["rows_deleted"]["events"] == 2
    assert client.get("/v1/stats", headers=AUTH).json()["events"] == 0
    missing = client.get("/v1/persons/web-user-5", headers=AUTH)
    assert missing.status_code == 404
    error = {"code": "not_found", "message": "no person has the identity 'web-user-5'",
             "field": "identity"}
    # the envelope, plus code and message at the top level where the SDKs read them
    assert missing.json() == {"error": error, "code": error["code"], "message": error["message"]}


def test_unknown_route_uses_the_error_shape(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"code", "message"}


def test_openapi_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/v1/persons/{identity}" in client.get("/openapi.json").json()["paths"]


def test_ready_fails_when_the_store_cannot_be_written(tmp_path: Path) -> None:
    app = create_app(load_settings(env={}, store_path=tmp_path / "r.duckdb"), admin_token=TOKEN)
    with TestClient(app) as test_client:
        assert test_client.get("/ready").status_code == 200
        app.state.store._con.close()  # the store's connection is gone: nothing can be written
        response = test_client.get("/ready")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "storage_error"
        assert response.headers["Retry-After"] == "1"
        assert test_client.get("/health").status_code == 200  # alive, but not ready
