"""The journey map page and its exports (HTML, PNG, PDF)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from touchpath.web.dashboard.pages import PREFIX, Render, StoreOf


def register(router: APIRouter, store: StoreOf, render: Render) -> None:
    @router.get(PREFIX + "/journey")
    def journey(request: Request) -> Response:
        tr = request.state.tr
        return render(request, "journey.html", active="journey", title=tr("nav.journey"))
