"""Fixtures for real-browser tests: headless Chromium (Playwright), the collector as a real
``touchpath serve`` process, and a customer site on a second local origin."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.realserver import WRITE_KEY, Server, start_server

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "pip install playwright"
    if not shutil.which("chromium"):
        return "apt-get install chromium"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("REQUIRE_BROWSER_TESTS"):
            pytest.fail(f"browser tests need: {missing}")
        pytest.skip(f"browser tests need: {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (empty storage) and its page; console errors are collected."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    opened.console_errors = []  # type: ignore[attr-defined]
    opened.on("console", lambda msg: msg.type == "error" and opened.console_errors.append(msg.text))
    opened.on("pageerror", lambda exc: opened.console_errors.append(str(exc)))
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """``site(collector, **pages)`` writes HTML pages to a directory served on its own origin
    (127.0.0.1, another port than the collector's) and returns the site's base URL."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def make(**pages: str) -> str:
        for name, html in pages.items():
            (root / f"{name}.html").write_text(html, encoding="utf-8")
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    try:
        yield make
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def html(server: Server, title: str, body: str = "", **attrs: str) -> str:
    """A customer page with the one-tag snippet; ``attrs`` are extra ``data-*`` attributes."""
    extra = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return (
        "<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>"
        f"<title>{title}</title>"
        f'<script src="{server.url}/t.js" data-write-key="{WRITE_KEY}"{extra} async></script>'
        "<style>body{font-family:sans-serif;margin:40px} .hero{height:900px}"
        " button{font-size:20px;padding:12px 24px}</style>"
        f"</head><body><h1>{title}</h1>{body}</body></html>"
    )
