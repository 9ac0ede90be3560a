"""The journey map page, its opportunities form, and its exports (HTML, PNG, PDF).

The query string holds the map's filters (stage model, period, channel, segment or persona)
and what to compare with (the period before, or another segment); the page and the exports
read it the same way, so an export is the map on the screen."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from touchpath.analytics.segments import list_segments
from touchpath.errors import TouchpathError, ValidationError
from touchpath.journey.channels import CHANNELS
from touchpath.journey.stages import templates as stage_templates
from touchpath.journeymap import STATUSES, save_opportunity
from touchpath.store.spark import run_timed, serving_source
from touchpath.web.dashboard import journey_export
from touchpath.web.dashboard.i18n import Translator
from touchpath.web.dashboard.journey_view import columns, emotion_svg, ranked_pains
from touchpath.web.dashboard.pages import PREFIX, Render, StoreOf

HERE = Path(str(resources.files("touchpath.web.dashboard")))
COMPARE = ("", "previous", "segment")


def _day(params: Any, name: str) -> date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("a date as YYYY-MM-DD", field=name) from None


def _filters(start: date | None, end: date | None, channel: str, segment: str
             ) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if start or end:
        filters["date_range"] = {k: v.isoformat() for k, v in (("start", start), ("end", end))
                                 if v is not None}
    if channel:
        filters["channels"] = [channel]
    if segment:
        filters["segments"] = [{"kind": "saved", "name": segment}]
    return filters


def map_specs(params: Any, tr: Translator) -> tuple[dict[str, Any], dict[str, Any] | None,
                                                    tuple[str, str] | None]:
    """The map's spec from the query, the compared map's spec (or None) and the two labels."""
    model = params.get("model") or "default"
    if model not in stage_templates():
        raise ValidationError(f"one of {', '.join(stage_templates())}", field="model")
    channel = params.get("channel") or ""
    if channel and channel not in CHANNELS:
        raise ValidationError("a channel of the list", field="channel")
    start, end = _day(params, "start"), _day(params, "end")
    if start and end and end < start:
        raise ValidationError("the end is before the start", field="end")
    segment = params.get("segment") or ""
    base = {"model": model, "language": tr.language}
    spec = {**base, "filters": _filters(start, end, channel, segment)}
    compare = params.get("compare") or ""
    if compare not in COMPARE:
        raise ValidationError("previous or segment", field="compare")
    if compare == "previous":
        if not (start and end):
            raise ValidationError("comparing with the period before needs a start and an end",
                                  field="compare")
        length = (end - start).days + 1
        before_start, before_end = start - timedelta(days=length), start - timedelta(days=1)
        other = {**base, "filters": _filters(before_start, before_end, channel, segment)}
        return spec, other, (f"{start} – {end}", f"{before_start} – {before_end}")
    if compare == "segment":
        second = params.get("segment_b") or ""
        if not second:
            raise ValidationError("pick the segment to compare with", field="segment_b")
        other = {**base, "filters": _filters(start, end, channel, second)}
        return spec, other, (segment or tr("map.everyone"), second)
    return spec, None, None


def build_map(db: Any, params: Any, tr: Translator) -> dict[str, Any]:
    """Everything the map's templates need (shared by the page and the exports)."""
    spec, other_spec, labels = map_specs(params, tr)
    source = serving_source(db)
    timed = run_timed(source, "journey_map", spec)
    result = timed.result
    other = run_timed(source, "journey_map", other_spec).result if other_spec else None
    return {
        "result": result, "answered": timed, "compare_labels": labels,
        "columns": columns(tr, result, other, PREFIX),
        "curve": emotion_svg(tr, result.frame, other.frame if other is not None else None),
        "pains": ranked_pains(tr, result, PREFIX),
        "lanes": ("touchpoints", "channels", "actions", "paths"),
        "empty": int(result.summary["people"]) == 0,
    }


def register(router: APIRouter, store: StoreOf, render: Render) -> None:
    @router.get(PREFIX + "/journey")
    def journey(request: Request) -> Response:
        db, tr, params = store(request), request.state.tr, request.query_params
        context: dict[str, Any] = {"error": None, "map": None}
        try:
            if db.stats()["events"]:
                context["map"] = build_map(db, params, tr)
        except TouchpathError as exc:
            where = f" ({exc.field})" if exc.field else ""
            context["error"] = f"{tr('error.invalid')}{where}: {exc.message}"
        query = urlencode([(k, v) for k, v in params.multi_items() if k != "lang"])
        return render(request, "journey.html", active="journey", title=tr("nav.journey"),
                      params=params, models=stage_templates(), channels=CHANNELS,
                      segments=sorted(list_segments(db)), statuses=STATUSES,
                      query=query, **context)

    @router.post(PREFIX + "/journey/opportunities")
    async def opportunity(request: Request) -> Response:
        db = store(request)
        fields = parse_qs((await request.body()).decode("utf-8", "replace"),
                          keep_blank_values=True)

        def form(name: str) -> str:
            return fields.get(name, [""])[0]

        session = request.state.session
        save_opportunity(db, form("pain_point_id"), action=form("action") or None,
                         owner=form("owner"), status=form("status") or None,
                         note=form("note"), by=session.username)
        back = form("back")
        target = back if back.startswith(PREFIX + "/journey") else PREFIX + "/journey"
        return RedirectResponse(target, status_code=303)

    @router.get(PREFIX + "/journey/map.css")
    def map_css() -> Response:
        return FileResponse(HERE / "static" / "journey-map.css", media_type="text/css",
                            headers={"Cache-Control": "public, max-age=3600"})

    @router.get(PREFIX + "/journey/export.{fmt}")
    def export(request: Request, fmt: str) -> Response:
        db, tr = store(request), request.state.tr
        if fmt not in journey_export.FORMATS:
            raise ValidationError(f"one of {', '.join(journey_export.FORMATS)}", field="format")
        html = journey_export.standalone_html(tr, build_map(db, request.query_params, tr))
        body, media = journey_export.convert(html, fmt)
        name = f"journey-map-{tr.language}.{fmt}"
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
