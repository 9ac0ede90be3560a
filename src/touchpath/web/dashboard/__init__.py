"""The dashboard: server-rendered pages over the analyses, in English, Hebrew and Arabic.

``app.include_router(dashboard_router(store))`` mounts it under ``/dashboard``; accounts are
made with ``touchpath users create`` (:mod:`touchpath.cli_dashboard`). See docs/dashboard.md.
"""

from touchpath.web.dashboard.routes import dashboard_router

__all__ = ["dashboard_router"]
