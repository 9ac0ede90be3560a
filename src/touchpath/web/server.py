"""Run the app with uvicorn, on the settings' host and port."""

from __future__ import annotations

import gc
import secrets
import signal
import sys

import uvicorn

from touchpath.config import Settings
from touchpath.web.app import create_app


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn shuts down gracefully and the store closes."""
    token = settings.admin_token or secrets.token_urlsafe(24)
    app = create_app(settings, admin_token=token)
    # plain prints: a terminal-width wrap would break the token for copy and paste
    print(f"touchpath on http://{settings.host}:{settings.port}  (API docs at /docs)",
          file=sys.stderr)
    if not settings.admin_token:
        print(f"admin token for this run (set TOUCHPATH_ADMIN_TOKEN to fix it): {token}",
              file=sys.stderr, flush=True)
    # uvicorn shuts down gracefully on SIGTERM (requests finish, the committer writes what it
    # holds, the store closes), then re-raises the signal to the handler that was there before
    # it started: this one makes that a clean exit with status 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # What start-up made (modules, the app and its routes: ~200,000 objects) lives as long as
    # the process, yet every full run of Python's cycle collector would walk it again, with the
    # GIL held: ~0.1 s a run, several runs a second under ingest load (benchmarks/RESULTS.md).
    # Frozen, the collector skips it.
    gc.collect()
    gc.freeze()
    # No access log: a line per request costs more than handling a small one (measured: the
    # /health floor went from ~950 to several thousand requests/s on this machine).
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info",
                    access_log=False)
    finally:
        committer = getattr(app.state, "committer", None)
        if committer is not None:  # what the group commit did (benchmarks/ingest_speed reads it)
            stats = committer.stats()
            print(f"group commit: {stats.commits:,} commits, {stats.rows:,} rows, "
                  f"{stats.seconds:.1f} s writing", file=sys.stderr, flush=True)
