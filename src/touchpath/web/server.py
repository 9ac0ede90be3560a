"""Run the app with uvicorn, on the settings' host and port."""

from __future__ import annotations

import secrets

import uvicorn
from rich.console import Console

from touchpath.config import Settings
from touchpath.web.app import create_app


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn shuts down gracefully and the store closes."""
    token = settings.admin_token or secrets.token_urlsafe(24)
    app = create_app(settings, admin_token=token)
    console = Console(stderr=True)
    console.print(f"touchpath on http://{settings.host}:{settings.port}  (API docs at /docs)")
    if not settings.admin_token:
        console.print(f"admin token for this run (set TOUCHPATH_ADMIN_TOKEN to fix it): {token}")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
