"""The REST API of the analytics: ``POST /v1/analyses/{name}`` takes a spec as JSON and answers
the result's JSON form (or CSV with ``?format=csv``); saved segments under ``/v1/segments``.

Routes are thin: they parse, call :mod:`touchpath.analytics` and serialise. They need the admin
token (the results describe people).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body, Depends, Response

from touchpath.analytics.codec import to_dict
from touchpath.analytics.registry import ANALYSES
from touchpath.analytics.segments import list_segments, save_segment, segment_from_dict
from touchpath.errors import ValidationError
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.store.spark import run_timed, serving_source


def analyses_router(admin: Callable[..., None], store: Callable[..., DuckDBStore]) -> APIRouter:
    router = APIRouter(dependencies=[Depends(admin)])

    @router.get("/v1/analyses", tags=["analytics"])
    def list_analyses() -> list[dict[str, str]]:
        """Every analysis: its name and what it answers."""
        return [{"name": name, "help": ANALYSES[name].help} for name in sorted(ANALYSES)]

    @router.post("/v1/analyses/{name}", tags=["analytics"])
    def run_analysis(
        name: str,
        response: Response,
        spec: dict[str, Any] = Body(..., examples=[{"steps": [  # noqa: B008
            {"event": "Product Viewed"}, {"event": "Order Completed"}],
            "window_seconds": 604800}]),
        format: str = "json",
        persons: bool = False,
        db: DuckDBStore = Depends(store),  # noqa: B008
    ) -> Any:
        """Run the analysis ``name`` on the spec in the body (see docs/<analysis>.md) on the
        configured engine (setting ``engine``; headers ``X-Touchpath-Engine`` and
        ``X-Touchpath-Seconds`` say which answered and how long it took).
        ``persons=true`` adds the tables that list people (e.g. retention's churned people)."""
        if format not in ("json", "csv"):
            raise ValidationError("use json or csv", field="format")
        timed = run_timed(serving_source(db), name, spec)
        result = timed.result
        headers = {"X-Touchpath-Engine": timed.engine,
                   "X-Touchpath-Seconds": f"{timed.seconds:.3f}"}
        if format == "csv":
            return Response(result.frame.to_csv(index=False), media_type="text/csv",
                            headers=headers)
        response.headers.update(headers)
        return result.to_dict(persons=persons)

    @router.get("/v1/segments", tags=["analytics"])
    def segments(db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Every saved segment by name."""
        return {name: to_dict(s) for name, s in list_segments(db).items()}

    @router.put("/v1/segments/{name}", tags=["analytics"])
    def put_segment(name: str, segment: dict[str, Any] = Body(...),  # noqa: B008
                    db: DuckDBStore = Depends(store)) -> dict[str, Any]:  # noqa: B008
        """Save a segment under ``name`` (replacing one of that name)."""
        parsed = segment_from_dict(segment)
        save_segment(db, name, parsed)
        return {"name": name, "segment": to_dict(parsed)}

    return router
