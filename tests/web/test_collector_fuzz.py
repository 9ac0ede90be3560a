"""Property test of the collector over HTTP: whatever the body, headers or route, the answer is
never a 5xx, always the one error shape when it is an error, and a 200 stores what it says."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from touchpath.collect.ingest import ROUTES
from touchpath.collect.keys import create_key
from touchpath.config import load_settings
from touchpath.web.app import create_app

KEY = "tpk_fuzz"
AUTH = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
fields = {
    "type": st.sampled_from(["track", "identify", "page", "screen", "group", "alias", "x", 3]),
    "event": json_values, "userId": json_values, "anonymousId": json_values,
    "messageId": json_values, "timestamp": json_values | st.sampled_from(
        ["2024-05-01T10:00:00Z", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]),
    "sentAt": json_values, "properties": json_values, "traits": json_values,
    "context": json_values, "groupId": json_values, "previousId": json_values,
}
messages = st.fixed_dictionaries({}, optional=fields)
bodies = st.one_of(
    messages.map(orjson.dumps),
    st.fixed_dictionaries({"batch": st.lists(messages | json_values, max_size=5)},
                          optional={"sentAt": json_values, "context": json_values}
                          ).map(orjson.dumps),
    json_values.map(orjson.dumps),
    st.binary(max_size=200),
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("fuzz") / "s.duckdb"
    app = create_app(load_settings(env={}, store_path=path), admin_token="admin")
    with TestClient(app, raise_server_exceptions=False) as test_client:
        create_key(app.state.store, "fuzz", key=KEY)
        app.state.keys.reload()
        yield test_client


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES), body=bodies, gzipped=st.booleans(),
       auth=st.sampled_from([AUTH, "Basic !!!", "Bearer x", ""]),
       encoding=st.sampled_from(["", "gzip", "br"]))
def test_no_body_gets_a_5xx(client: TestClient, route: str, body: bytes, gzipped: bool,
                            auth: str, encoding: str) -> None:
    headers: dict[str, Any] = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    elif encoding:
        headers["Content-Encoding"] = encoding
    response = client.post(f"/v1/{route}", content=body, headers=headers)
    assert response.status_code < 500, response.text
    payload = response.json()
    if response.status_code == 200:
        assert payload["success"] is True and payload["accepted"] >= 1
    else:
        assert set(payload["error"]) >= {"code", "message"}
        assert payload["code"] == payload["error"]["code"]
