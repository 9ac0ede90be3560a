"""The journey map as a file: a standalone HTML page (styles inlined, no script, no request
to anywhere: it opens offline and in e-mail attachments), and PNG or PDF printed from it by a
headless Chromium (Debian's ``chromium`` driven by Playwright; both must be installed)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from touchpath.errors import ConfigError
from touchpath.web.dashboard.i18n import Translator

HERE = Path(str(resources.files("touchpath.web.dashboard")))
FORMATS = ("html", "png", "pdf")
MEDIA = {"html": "text/html; charset=utf-8", "png": "image/png", "pdf": "application/pdf"}
PAGE_WIDTH = 1600


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True)


ENV = _environment()


def standalone_html(tr: Translator, view: dict[str, Any]) -> str:
    """The map (see :func:`~touchpath.web.dashboard.journey_page.build_map`) as one HTML
    file in ``tr``'s language and direction."""
    css = (HERE / "static" / "journey-map.css").read_text(encoding="utf-8")
    return ENV.get_template("journey_export.html").render(tr=tr, map=view, css=css,
                                                          export=True, prefix="")


def browser_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError("PNG and PDF exports need Chromium: apt-get install chromium "
                      "(the HTML export works without it)", field="format")


def convert(html: str, fmt: str) -> tuple[bytes, str]:
    """``html`` as ``fmt`` (``html``, ``png`` or ``pdf``) and its media type."""
    if fmt == "html":
        return html.encode("utf-8"), MEDIA[fmt]
    executable = browser_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ConfigError("PNG and PDF exports need Playwright: pip install playwright "
                          "(its browsers are not needed: the system's Chromium is used)",
                          field="format") from None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": PAGE_WIDTH, "height": 900})
            # nothing may be fetched: the file is self-contained
            page.route("**/*", lambda route: route.abort()
                       if not route.request.url.startswith("data:") else route.continue_())
            page.set_content(html, wait_until="load")
            if fmt == "png":
                body = page.screenshot(full_page=True, type="png")
            else:
                body = page.pdf(landscape=True, format="A3", print_background=True,
                                margin={"top": "10mm", "bottom": "10mm", "left": "8mm",
                                        "right": "8mm"})
        finally:
            browser.close()
    return body, MEDIA[fmt]
