"""What the dashboard's browser tests share: a real ``touchpath serve`` over a prepared demo
store with an account, and a page logged in to it that refuses (and counts) every request off
127.0.0.1 and records every JavaScript dialog (an executed injection would open one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.realserver import Server, start_server
from touchpath.config import load_settings
from touchpath.demo.load import load_demo
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.web.dashboard.auth import create_user


@contextmanager
def dashboard_server(tmp: Path, size: str, user: str, password: str,
                     prepare: Callable[[DuckDBStore], None] | None = None) -> Iterator[Server]:
    """A server on a demo store of ``size`` people with the account ``user``; ``prepare`` adds
    what a test needs (surveys, an injected event) before the server starts."""
    with DuckDBStore(load_settings(env={}, store_path=tmp / "e2e.duckdb")) as store:
        load_demo(store, size=size, seed=7)
        if prepare is not None:
            prepare(store)
        create_user(store, user, password)
    started = start_server(tmp)
    try:
        yield started
    finally:
        assert started.stop() == 0


def logged_in(page: Any, server: Server, user: str, password: str, path: str) -> Any:
    """``page`` guarded (``page.outside``, ``page.dialogs``), logged in through the login form
    that ``path`` redirects to, and back on ``path``."""
    page.outside = []
    page.dialogs = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(server.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(server.url + path)
    assert "/dashboard/login" in page.url
    for field in ("#username", "#password"):  # labelled, in any of the page's languages
        assert page.locator(field).evaluate("e => e.labels.length") == 1
    page.locator("#username").fill(user)
    page.locator("#password").fill(password)
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**" + path)
    return page


def charts_ready(page: Any) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')].every(c => c.dataset.ready)",
        timeout=20_000)
