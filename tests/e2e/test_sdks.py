"""The official Python SDKs from PyPI against a real ``touchpath serve``.

``segment-analytics-python`` (``segment.analytics``) and ``rudder-sdk-python``
(``rudderstack.analytics``) post ``{"batch": [...], "sentAt": ...}`` to ``{host}/v1/batch``
with the write key as HTTP Basic user name; Rudder gzips by default. Each SDK runs one
scenario against its own server (module-scoped, the server start is the slow part) and the
tests below check what the store holds afterwards.

Failures must be loud: the SDKs drop events silently (a full queue, an error after the
retries), so every enqueue result is checked, every ``on_error`` call is collected, and every
HTTP exchange is recorded by a spy on the SDK's ``requests`` session.

Rudder's import runs ``dotenv.load_dotenv()``: it copies a ``.env`` found above the installed
package (or above the working directory when a tracer such as coverage is active) into
``os.environ``, which the test server would inherit. The import below stubs ``load_dotenv``.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from tests.realserver import WRITE_KEY, Server, start_server
from touchpath.config import load_settings
from touchpath.identity.keys import email_hash
from touchpath.store.duckdb_store import DuckDBStore

SDKS = ("segment", "rudder")
BULK = 1_000
SKEW = timedelta(hours=2)
"""How far ahead the device clock runs in the clock-skew step."""
TOLERANCE = timedelta(seconds=1)
EMAIL = "Ada.Lovelace@Example.com"


# -- the SDKs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sdk:
    name: str
    client: ModuleType  # the module holding ``Client``
    request: ModuleType  # the module holding ``post`` and the ``requests`` session
    version: str

    def make(self, host: str, *, write_key: str = WRITE_KEY,
             on_error: Callable[[Exception, list[dict[str, Any]]], None] | None = None,
             **options: Any) -> Any:
        options.setdefault("upload_interval", 0.1)
        options.setdefault("max_retries", 2)
        options.setdefault("timeout", 30)
        return self.client.Client(write_key, host=host, on_error=on_error, **options)


def _import_rudder() -> tuple[ModuleType, ModuleType, str]:
    """Import ``rudderstack.analytics`` without letting it read a ``.env`` file."""
    import dotenv

    before = dict(os.environ)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dotenv, "load_dotenv", lambda *args, **kwargs: False)
        package = importlib.import_module("rudderstack.analytics")
    assert dict(os.environ) == before, "importing rudderstack changed the environment"
    return (importlib.import_module("rudderstack.analytics.client"),
            importlib.import_module("rudderstack.analytics.request"), package.VERSION)


def load_sdk(name: str) -> Sdk:
    if name == "segment":
        package = importlib.import_module("segment.analytics")
        return Sdk(name, importlib.import_module("segment.analytics.client"),
                   importlib.import_module("segment.analytics.request"), package.VERSION)
    client, request, version = _import_rudder()
    return Sdk(name, client, request, version)


@dataclass
class Exchange:
    url: str
    encoding: str | None
    gzip_magic: bool
    status: int | None


class Wire:
    """Every HTTP exchange of an SDK's ``requests`` session (the SDK threads included)."""

    def __init__(self, sdk: Sdk, patch: pytest.MonkeyPatch) -> None:
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        session = sdk.request._session
        original = session.post

        def spy(url: str, **kwargs: Any) -> Any:
            data = kwargs.get("data") or b""
            headers = kwargs.get("headers") or {}
            exchange = Exchange(url, headers.get("Content-Encoding"),
                                isinstance(data, bytes) and data[:2] == b"\x1f\x8b", None)
            with self._lock:
                self.exchanges.append(exchange)
            response = original(url, **kwargs)
            exchange.status = response.status_code
            return response

        patch.setattr(session, "post", spy)


class Errors:
    """An ``on_error`` callback that remembers what it was told (always truthy: the SDKs test
    ``if self.on_error``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Exception, list[dict[str, Any]]]] = []

    def __call__(self, error: Exception, batch: list[dict[str, Any]]) -> None:
        self.calls.append((error, batch))


def skew_clock(sdk: Sdk, patch: pytest.MonkeyPatch) -> None:
    """Make the SDK's ``sentAt`` clock run ``SKEW`` ahead, like a device with a wrong clock."""

    class Skewed(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Skewed:
            return super().now(tz) + SKEW

    patch.setattr(sdk.request, "datetime", Skewed)


def naive_utc(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed.astimezone(UTC).replace(tzinfo=None)


# -- one scenario per SDK ---------------------------------------------------------------------


@dataclass
class Run:
    sdk: Sdk
    server: Server
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # messageId -> as sent
    calls: dict[str, str] = field(default_factory=dict)  # step -> messageId
    bulk: list[str] = field(default_factory=list)
    retry_id: str = ""
    skewed_id: str = ""
    errors: Errors = field(default_factory=Errors)
    wire: list[Exchange] = field(default_factory=list)
    gzip_config: tuple[bool, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    person: dict[str, Any] = field(default_factory=dict)
    exit_code: int | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def ids(self, prefix: str) -> str:
        return f"{self.sdk.name}-{prefix}"

    def row(self, message_id: str) -> dict[str, Any]:
        found = [r for r in self.rows if r["message_id"] == message_id]
        assert len(found) == 1, f"{message_id}: {len(found)} rows"
        return found[0]

    def send(self, step: str, result: tuple[bool, dict[str, Any]]) -> str:
        ok, msg = result
        assert ok, f"{step}: the SDK did not queue the message (queue full?)"
        self.sent.setdefault(msg["messageId"], msg)
        if step:
            self.calls[step] = msg["messageId"]
        return str(msg["messageId"])


def run_scenario(run: Run, patch: pytest.MonkeyPatch) -> None:
    sdk, server = run.sdk, run.server
    wire = Wire(sdk, patch)
    user, anon, other_device = run.ids("user"), run.ids("anon"), run.ids("anon-device-2")
    client = sdk.make(server.url, on_error=run.errors)
    run.gzip_config = (client.gzip, *(c.gzip for c in client.consumers))
    try:
        # Anonymous visit, stored before anyone knows who it is.
        run.send("page", client.page(
            anonymous_id=anon, category="Docs", name="Pricing",
            properties={"url": "https://example.com/pricing"},
            context={"campaign": {"source": "newsletter", "medium": "email", "name": "spring"}},
        ))
        run.send("viewed", client.track(anonymous_id=anon, event="Product Viewed",
                                        properties={"sku": "sku-1", "price": 42.5}))
        client.flush()
        # Sign-up: identify links the anonymous id to the user and the e-mail.
        run.send("identify", client.identify(user_id=user, anonymous_id=anon,
                                             traits={"email": EMAIL, "name": "Ada"}))
        run.send("order", client.track(user_id=user, event="Order Completed",
                                       properties={"revenue": 42.5, "currency": "EUR",
                                                   "order_id": "o-1"}))
        # A second device, anonymous, then aliased to the user.
        run.send("screen", client.screen(anonymous_id=other_device, name="Home",
                                         properties={"tab": "start"}))
        client.flush()
        run.send("alias", client.alias(previous_id=other_device, user_id=user))
        run.send("group", client.group(user_id=user, group_id="acme",
                                       traits={"name": "Acme", "plan": "pro"}))
        client.flush()
        # A retry: the same messageId again, in a later request, and twice in one batch.
        run.retry_id = run.ids("retried-message")
        for _ in range(2):
            run.send("retry", client.track(user_id=user, event="Coupon Applied",
                                           properties={"coupon": "SPRING"},
                                           message_id=run.retry_id))
            client.flush()
        twice = run.ids("twice-in-a-batch")
        run.send("", client.track(user_id=user, event="Coupon Applied", message_id=twice))
        run.send("twice", client.track(user_id=user, event="Coupon Applied", message_id=twice))
        client.flush()
        # A burst: more messages than one request holds.
        for i in range(BULK):
            run.bulk.append(run.send("", client.track(
                anonymous_id=run.ids(f"bulk-anon-{i % 25}"), event="Bulk Event",
                properties={"i": i}, message_id=run.ids(f"bulk-{i:04d}"),
            )))
        client.flush()
    finally:
        client.shutdown()
    # A device whose clock runs two hours ahead (sync mode: an error raises here).
    with pytest.MonkeyPatch.context() as clock:
        skew_clock(sdk, clock)
        skewed = sdk.make(server.url, on_error=run.errors, sync_mode=True)
        run.skewed_id = run.send("skewed", skewed.track(
            user_id=user, event="Skewed Clock", timestamp=datetime.now(UTC) + SKEW))
    run.wire = list(wire.exchanges)
    run.stats = server.admin("GET", "/v1/stats").json()
    run.person = server.admin("GET", f"/v1/persons/{user}").json()
    run.exit_code = server.stop()
    with DuckDBStore(load_settings(env={}, store_path=server.store)) as store:
        run.rows = store.sql("SELECT * FROM events").to_pylist()


@pytest.fixture(scope="module", params=SDKS)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    sdk = load_sdk(request.param)
    server = start_server(tmp_path_factory.mktemp(f"sdk-{sdk.name}"))
    try:
        result = Run(sdk, server)
        with pytest.MonkeyPatch.context() as patch:
            run_scenario(result, patch)
        yield result
    finally:
        server.stop()


# -- what the store holds -----------------------------------------------------------------------


def test_no_error_and_every_request_accepted(run: Run) -> None:
    assert run.errors.calls == []
    assert run.wire, "the SDK sent nothing"
    assert {e.url for e in run.wire} == {run.server.url + "/v1/batch"}
    assert Counter(e.status for e in run.wire) == Counter({200: len(run.wire)})
    assert run.exit_code == 0


def test_every_call_is_stored_with_its_columns(run: Run) -> None:
    user, anon, other_device = run.ids("user"), run.ids("anon"), run.ids("anon-device-2")
    expected = {
        "page": ("page", "$page", None, anon),
        "viewed": ("track", "Product Viewed", None, anon),
        "identify": ("identify", "$identify", user, anon),
        "order": ("track", "Order Completed", user, None),
        "screen": ("screen", "$screen", None, other_device),
        "alias": ("alias", "$alias", user, None),
        "group": ("group", "$group", user, None),
        "retry": ("track", "Coupon Applied", user, None),
        "twice": ("track", "Coupon Applied", user, None),
        "skewed": ("track", "Skewed Clock", user, None),
    }
    for step, (kind, event, user_id, anonymous_id) in expected.items():
        row = run.row(run.calls[step])
        assert (row["type"], row["event"], row["user_id"], row["anonymous_id"]) == (
            kind, event, user_id, anonymous_id), step
        assert row["source"] == "e2e"
        assert row["sent_at"] is not None, f"{step}: the SDK's sentAt was not read"

    page = run.row(run.calls["page"])
    assert page["name"] == "Pricing"
    assert (page["utm_source"], page["utm_medium"], page["utm_campaign"]) == (
        "newsletter", "email", "spring")
    assert run.row(run.calls["screen"])["name"] == "Home"

    order = run.row(run.calls["order"])
    assert order["revenue"] == 42.5
    assert order["currency"] == "EUR"
    assert run.row(run.calls["viewed"])["revenue"] is None  # a price is not a revenue

    identify = run.row(run.calls["identify"])
    assert identify["email_hash"] == email_hash(EMAIL)
    assert run.row(run.calls["group"])["group_id"] == "acme"
    assert run.row(run.calls["alias"])["previous_id"] == other_device


def test_a_retried_message_is_stored_once(run: Run) -> None:
    counts = Counter(r["message_id"] for r in run.rows)
    assert counts[run.retry_id] == 1
    assert counts[run.ids("twice-in-a-batch")] == 1
    assert max(counts.values()) == 1
    assert len(run.rows) == len(run.sent)
    assert run.stats["events"] == len(run.sent)


def test_identify_and_alias_stitch_every_device_to_one_person(run: Run) -> None:
    steps = ("page", "viewed", "identify", "order", "screen", "alias", "group", "retry",
             "skewed")
    persons = {run.row(run.calls[step])["person_id"] for step in steps}
    assert len(persons) == 1, persons
    explained = run.person["persons"]
    assert [p["person_id"] for p in explained] == sorted(persons)
    identities = {(i["kind"], i["value"]) for i in explained[0]["identities"]}
    assert {("user", run.ids("user")), ("anon", run.ids("anon")),
            ("anon", run.ids("anon-device-2"))} <= identities
    assert ("email", email_hash(EMAIL)) in identities
    # 25 anonymous bulk visitors plus the user.
    assert run.stats["persons"] == 26


def test_timestamps_follow_the_sdk_event_time(run: Run) -> None:
    for message_id, msg in run.sent.items():
        if message_id == run.skewed_id:
            continue
        row = run.row(message_id)
        assert abs(row["timestamp"] - naive_utc(msg["timestamp"])) <= TOLERANCE, message_id
        assert row["timestamp"] <= row["received_at"]


def test_clock_skew_is_corrected_with_sent_at(run: Run) -> None:
    msg = run.sent[run.skewed_id]
    row = run.row(run.skewed_id)
    device_time = naive_utc(msg["timestamp"])
    assert abs(row["original_timestamp"] - device_time) <= timedelta(milliseconds=1)
    assert abs(row["sent_at"] - row["received_at"] - SKEW) <= TOLERANCE
    assert abs(row["timestamp"] - (device_time - SKEW)) <= TOLERANCE
    assert row["timestamp"] <= row["received_at"]


def test_a_burst_is_stored_exactly_once(run: Run) -> None:
    assert len(run.bulk) == BULK
    bulk = [r["message_id"] for r in run.rows if r["event"] == "Bulk Event"]
    assert len(bulk) == len(set(bulk)) == BULK
    assert set(bulk) == set(run.bulk)
    assert len(run.wire) > BULK // 100  # it took several requests
    assert run.stats["by_type"]["track"] == BULK + 5


def test_gzip_is_the_sdk_default_and_accepted(run: Run) -> None:
    """Rudder gzips every request (its default); Segment sends plain JSON (its default)."""
    gzipped = run.sdk.name == "rudder"
    assert run.gzip_config and set(run.gzip_config) == {gzipped}
    assert {(e.encoding, e.gzip_magic) for e in run.wire} == (
        {("gzip", True)} if gzipped else {(None, False)})
    assert {e.status for e in run.wire} == {200}


# -- a wrong write key ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("sdk-wrong-key"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("name", ["segment", "rudder"])
def test_a_wrong_write_key_is_reported_and_stores_nothing(name: str, plain_server: Server) -> None:
    sdk = load_sdk(name)
    errors = Errors()
    with pytest.MonkeyPatch.context() as patch:
        wire = Wire(sdk, patch)
        client = sdk.make(plain_server.url, write_key="tpk_not_a_key", on_error=errors)
        try:
            sent = [client.track(anonymous_id=f"{name}-a", event="Refused")[1]["messageId"]
                    for _ in range(3)]
            client.flush()
        finally:
            client.shutdown()
        # In sync mode the same refusal raises from the call itself.
        sync = sdk.make(plain_server.url, write_key="tpk_not_a_key", sync_mode=True)
        with pytest.raises(sdk.request.APIError) as raised:
            sync.track(anonymous_id=f"{name}-a", event="Refused")
        assert raised.value.status == 401

    assert errors.calls, "on_error was not called"
    assert [type(error).__name__ for error, _ in errors.calls] == ["APIError"] * len(errors.calls)
    assert {getattr(error, "status", None) for error, _ in errors.calls} == {401}
    assert sorted(m["messageId"] for _, batch in errors.calls for m in batch) == sorted(sent)
    # 401 is final: one request per batch, no retries.
    assert [e.status for e in wire.exchanges] == [401] * (len(errors.calls) + 1)
    assert plain_server.admin("GET", "/v1/stats").json()["events"] == 0
