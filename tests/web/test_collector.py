"""The collector's HTTP contract, in-process: auth, limits, partial batches, gzip, retries."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from touchpath.collect.keys import create_key, revoke_key
from touchpath.config import load_settings
from touchpath.web.app import create_app
from touchpath.web.collector import collector_router

ADMIN = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(load_settings(env={}, store_path=tmp_path / "s.duckdb"),
                     admin_token="admin-secret")
    with TestClient(app) as test_client:
        secret, _ = create_key(app.state.store, "website", source="web", key="tpk_test")
        app.state.keys.reload()
        assert secret == "tpk_test"
        yield test_client


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


KEY = basic("tpk_test")


def count(client: TestClient) -> int:
    return int(client.get("/v1/stats", headers=ADMIN).json()["events"])


def track(i: int, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Product Viewed", "anonymousId": f"a{i}",
            "messageId": f"m{i}", **extra}


def test_track_with_basic_auth_and_with_write_key_in_body(client: TestClient) -> None:
    response = client.post("/v1/track", json=track(1), headers=KEY)
    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": 1, "rejected": []}
    response = client.post("/v1/track", json={**track(2), "writeKey": "tpk_test"})
    assert response.status_code == 200
    assert count(client) == 2


@pytest.mark.parametrize("route", ["identify", "page", "screen", "group", "alias"])
def test_every_message_type(client: TestClient, route: str) -> None:
    body = {"userId": "u1", "anonymousId": "a1", "groupId": "g1", "previousId": "old-1",
            "traits": {"email": "x@example.com"}, "name": "Home"}
    assert client.post(f"/v1/{route}", json=body, headers=KEY).status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, basic("tpk_wrong"), {"Authorization": "Bearer tpk_test"}]
)
def test_missing_or_wrong_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/track", json=track(1), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert count(client) == 0


def test_revoked_key_is_401(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    _, key = create_key(store, "old")
    client.app.state.keys.reload()  # type: ignore[attr-defined]
    revoke_key(store, key.key_id)
    client.app.state.keys.reload()  # type: ignore[attr-defined]
    assert client.post("/v1/track", json=track(1), headers=basic("tpk_test")).status_code == 200


def test_batch_keeps_valid_messages_and_names_the_rejected(client: TestClient) -> None:
    batch = [track(1), {"type": "track", "anonymousId": "a2"}, track(3),
             {"type": "track", "event": "X"}, "not an object",
             track(6, properties={"revenue": "lots"})]
    response = client.post("/v1/batch", json={"batch": batch}, headers=KEY)
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [
        (1, "batch[1].event"), (3, "batch[3].userId"), (4, "batch[4]"),
        (5, "batch[5].properties.revenue")]
    assert count(client) == 2


def test_batch_with_no_valid_message_is_400_with_the_list(client: TestClient) -> None:
    response = client.post("/v1/batch", json={"batch": [{"type": "track", "userId": "u"}]},
                           headers=KEY)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "batch[0].event"
    assert error["rejected"][0]["index"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"{not json", "body"), (b"[1, 2]", "body"), (b"", "body"),
     (b'{"batch": "nope"}', "batch")],
)
def test_malformed_bodies_are_400(client: TestClient, body: bytes, field: str) -> None:
    route = "/v1/batch"
    response = client.post(route, content=body, headers={**KEY, "Content-Type":
                                                        "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_single_route_errors_name_the_field(client: TestClient) -> None:
    response = client.post("/v1/track", json={"anonymousId": "a", "event": 5}, headers=KEY)
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid", "field": "event",
                                        "message": "must be a string, got int"}


def test_gzip_body_is_accepted(client: TestClient) -> None:
    body = gzip.compress(orjson.dumps({"batch": [track(i) for i in range(50)]}))
    response = client.post("/v1/batch", content=body,
                           headers={**KEY, "Content-Encoding": "gzip",
                                    "Content-Type": "application/json"})
    assert response.status_code == 200 and response.json()["accepted"] == 50


def test_gzip_bomb_is_413_and_bad_gzip_400(client: TestClient) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")
    assert len(bomb) < 100_000
    response = client.post("/v1/batch", content=bomb,
                           headers={**KEY, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    response = client.post("/v1/batch", content=b"not gzip at all",
                           headers={**KEY, "Content-Encoding": "gzip"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "Content-Encoding"


def test_size_limits(client: TestClient) -> None:
    big = track(1, properties={"blob": "x" * 33_000})
    assert client.post("/v1/track", json=big, headers=KEY).status_code == 413
    response = client.post("/v1/batch", json={"batch": [big, track(2)]}, headers=KEY)
    assert response.status_code == 200
    assert response.json()["rejected"][0]["code"] == "payload_too_large"
    many = {"batch": [{"type": "track", "event": "E", "anonymousId": "a"}] * 2501}
    assert client.post("/v1/batch", json=many, headers=KEY).status_code == 413
    huge = {"batch": [track(i, properties={"p": "y" * 20_000}) for i in range(30)]}
    assert client.post("/v1/batch", json=huge, headers=KEY).status_code == 413
    assert count(client) == 1


def test_retries_are_stored_once(client: TestClient) -> None:
    batch = {"batch": [track(i) for i in range(10)]}
    for _ in range(3):
        assert client.post("/v1/batch", json=batch, headers=KEY).status_code == 200
    assert count(client) == 10


def test_batch_sent_at_corrects_the_device_clock(client: TestClient) -> None:
    body = {"sentAt": "2020-01-01T00:00:10Z", "batch": [
        track(1, timestamp="2020-01-01T00:00:00Z")]}
    client.post("/v1/batch", json=body, headers=KEY)
    store = client.app.state.store  # type: ignore[attr-defined]
    row = store.sql("SELECT timestamp, received_at FROM events").to_pylist()[0]
    assert (row["received_at"] - row["timestamp"]).total_seconds() == pytest.approx(10, abs=0.01)


def test_rate_limit_is_429_with_retry_after(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    create_key(store, "slow", key="tpk_slow", rate_per_second=2)
    client.app.state.keys.reload()  # type: ignore[attr-defined]
    codes = [client.post("/v1/track", json=track(i), headers=basic("tpk_slow")).status_code
             for i in range(5)]
    assert codes[:2] == [200, 200] and 429 in codes
    limited = client.post("/v1/track", json=track(9), headers=basic("tpk_slow"))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_cors_for_the_browser_only_on_write_routes(client: TestClient) -> None:
    preflight = client.options("/v1/batch", headers={"Origin": "https://shop.example",
                                                     "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    response = client.get("/v1/stats", headers={**ADMIN, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_write_keys_cannot_read(client: TestClient) -> None:
    for path in ("/v1/stats", "/v1/persons/a1", "/v1/admin/keys"):
        response = client.get(path, headers=KEY)
        assert response.status_code == 401


def test_admin_key_api(client: TestClient) -> None:
    created = client.post("/v1/admin/keys", json={"name": "app", "source": "ios"},
                          headers=ADMIN).json()
    assert created["write_key"].startswith("tpk_")
    assert client.post("/v1/track", json=track(1),
                       headers=basic(created["write_key"])).status_code == 200
    client.delete(f"/v1/admin/keys/{created['key_id']}", headers=ADMIN)
    assert client.post("/v1/track", json=track(2),
                       headers=basic(created["write_key"])).status_code == 401
    listed = client.get("/v1/admin/keys", headers=ADMIN).json()
    assert all("write_key" not in k and "key_sha256" not in k for k in listed)


def test_openapi_documents_the_collector(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in ("track", "identify", "page", "screen", "group", "alias", "batch", "import"):
        assert f"/v1/{route}" in paths


def test_unexpected_failure_is_503_with_cors_and_no_internal_detail(client: TestClient) -> None:
    committer = client.app.state.committer  # type: ignore[attr-defined]

    def broken(rows: object) -> None:
        raise RuntimeError("internal detail /var/secret")

    original = committer.submit
    committer.submit = broken
    unraised = TestClient(client.app, raise_server_exceptions=False)
    try:
        response = unraised.post("/v1/track", json=track(1), headers=KEY)
    finally:
        committer.submit = original
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]
    assert "secret" not in response.text


def test_a_site_key_named_like_an_offline_source_stays_online(client: TestClient) -> None:
    store = client.app.state.store  # type: ignore[attr-defined]
    create_key(store, "shop", key="tpk_shop")
    client.app.state.keys.reload()  # type: ignore[attr-defined]
    page = {"anonymousId": "v", "messageId": "shop-1",
            "context": {"page": {"url": "https://shop.example/", "referrer": ""}}}
    assert client.post("/v1/page", json=page, headers=basic("tpk_shop")).status_code == 200
    assert store.sql("SELECT channel FROM events").column(0).to_pylist() == ["direct"]


def test_routes_take_no_query_parameters(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert all(not paths[f"/v1/{r}"]["post"].get("parameters") for r in
               ("track", "identify", "page", "screen", "group", "alias", "batch", "import"))
    response = client.post("/v1/track?_route=batch", json=track(1), headers=KEY)
    assert response.status_code == 200 and response.json()["accepted"] == 1


def test_a_body_in_chunks_is_read_whole_and_capped_without_a_length(client: TestClient) -> None:
    body = orjson.dumps({"batch": [track(i) for i in range(20)]})

    def chunks(data: bytes, size: int = 100) -> Iterator[bytes]:
        yield from (data[i:i + size] for i in range(0, len(data), size))

    response = client.post("/v1/batch", content=chunks(body), headers=KEY)
    assert response.status_code == 200 and response.json()["accepted"] == 20
    huge = b'{"batch": [' + b" " * 600_000 + b"]}"
    response = client.post("/v1/batch", content=chunks(huge, 64_000), headers=KEY)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_fastapi_routes_answer_like_the_fast_door(client: TestClient, tmp_path: Path) -> None:
    # The app answers POST /v1/* before FastAPI's routing; the router's routes (which document
    # the API) must still work where the router is mounted on its own.
    plain = FastAPI()
    plain.state = client.app.state  # type: ignore[attr-defined]
    plain.include_router(collector_router(load_settings(env={}, store_path=tmp_path / "x")))
    batch = {"batch": [track(i) for i in range(3)] + [{"type": "track"}]}
    fast = client.post("/v1/batch", json=batch, headers=KEY)
    routed = TestClient(plain).post("/v1/batch", json=batch, headers=KEY)
    assert routed.status_code == fast.status_code == 200
    assert routed.json() == fast.json()
    assert count(client) == 3
