"""The dashboard's pages: each reads the query, calls the Python API (the analyses by name,
the store) and hands the result to a template. No analysis logic lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

import ibis
import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Request, Response

from touchpath.analytics.codec import from_dict
from touchpath.analytics.funnels import FunnelSpec, dropped_persons
from touchpath.analytics.registry import ANALYSES, run_json
from touchpath.collect.keys import list_keys
from touchpath.errors import NotFoundError, TouchpathError, ValidationError
from touchpath.journey.stages import templates as stage_templates
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.store.spark import run_timed, serving_source
from touchpath.web.dashboard.i18n import Translator
from touchpath.web.dashboard.views import figure_json, safe_csv, table_view

PREFIX = "/dashboard"


@dataclass(frozen=True)
class NavItem:
    id: str
    href: str
    placeholder: bool = False


NAV = (
    NavItem("overview", PREFIX),
    NavItem("journey", PREFIX + "/journey"),
    NavItem("funnels", PREFIX + "/funnels"),
    NavItem("paths", PREFIX + "/paths"),
    NavItem("retention", PREFIX + "/retention"),
    NavItem("stages", PREFIX + "/stages"),
    NavItem("surveys", PREFIX + "/surveys"),
    NavItem("people", PREFIX + "/people"),
    NavItem("data", PREFIX + "/data"),
)
DEFAULT_FUNNEL = ("Product Viewed", "Checkout Started", "Order Completed")
"""The overview's funnel, when the store has these events (the Segment e-commerce spec's)."""
BREAKDOWNS = ("channel", "source", "utm_source", "utm_medium", "utm_campaign",
              "person:initial_channel")
ORDERS = ("sequential", "strict", "any")
PERIODS = ("day", "week", "month")

Render = Callable[..., Response]
StoreOf = Callable[[Request], DuckDBStore]


def event_counts(db: DuckDBStore, limit: int = 300) -> list[dict[str, Any]]:
    events = db.table("events")
    rows = (events.group_by("event").aggregate(count=events.count())
            .order_by([ibis.desc("count"), "event"]).limit(limit).to_pyarrow().to_pylist())
    return [{"event": r["event"], "count": int(r["count"])} for r in rows
            if r["event"] is not None]


def _int(params: Any, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError("must be a whole number", field=name) from None
    if not low <= value <= high:
        raise ValidationError(f"must be from {low} to {high}", field=name)
    return value


def _choice(params: Any, name: str, options: tuple[str, ...], default: str) -> str:
    value = params.get(name) or default
    if value not in options:
        raise ValidationError(f"one of {', '.join(options)}", field=name)
    return str(value)


# -- specs from the query string (pages and their CSV exports share them) --------------------

def funnel_spec(params: Any) -> dict[str, Any] | None:
    """The funnel spec of the builder's query, or None before the builder was used."""
    steps = [s.strip() for s in params.getlist("step") if s.strip()]
    if not steps:
        return None
    spec: dict[str, Any] = {
        "steps": [{"event": s} for s in steps],
        "window_seconds": _int(params, "window_days", 7, 1, 366) * 86400,
        "order": _choice(params, "order", ORDERS, "sequential"),
    }
    breakdown = params.get("breakdown") or ""
    if breakdown:
        _choice(params, "breakdown", BREAKDOWNS, "")
        kind, _, name = breakdown.rpartition(":")
        spec["breakdown"] = {"property": name, "source": "person" if kind else "event"}
    return spec


def paths_spec(params: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"max_steps": _int(params, "max_steps", 5, 2, 10),
                            "top": _int(params, "top", 10, 1, 50)}
    for name in ("start", "end"):
        if (params.get(name) or "").strip():
            spec[name] = {"event": params[name].strip()}
    return spec


def retention_spec(params: Any) -> dict[str, Any]:
    return {"cohort_event": {"event": (params.get("cohort_event") or "").strip() or "*"},
            "return_event": {"event": (params.get("return_event") or "").strip() or "*"},
            "period": _choice(params, "period", PERIODS, "week"),
            "periods": _int(params, "periods", 8, 2, 26)}


def stages_spec(params: Any, tr: Translator) -> dict[str, Any]:
    return {"model": _choice(params, "model", stage_templates(), "default"),
            "language": tr.language, "period": _choice(params, "period", PERIODS, "week")}


def _error_text(exc: TouchpathError, tr: Translator) -> str:
    where = f" ({exc.field})" if exc.field else ""
    return f"{tr('error.invalid')}{where}: {exc.message}"


def _csv(frame: pd.DataFrame, name: str) -> Response:
    return Response(safe_csv(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# -- pages ------------------------------------------------------------------------------------

def register(router: APIRouter, store: StoreOf, render: Render) -> None:
    @router.get(PREFIX)
    def overview(request: Request) -> Response:
        db, tr = store(request), request.state.tr
        stats = db.stats()
        events = event_counts(db, 10)
        names = {e["event"] for e in event_counts(db)}
        funnel = None
        if stats["events"] and all(n in names for n in DEFAULT_FUNNEL):
            result = run_json(db, "funnel", {"steps": [{"event": n} for n in DEFAULT_FUNNEL]})
            funnel = {"result": result, "figure": figure_json(result.figure(), tr, height=300),
                      "steps": DEFAULT_FUNNEL,
                      "href": PREFIX + "/funnels?" + "&".join(
                          f"step={n.replace(' ', '+')}" for n in DEFAULT_FUNNEL)}
        nps = None
        if "satisfaction" in ANALYSES and "Survey Answered" in names:
            result = run_json(db, "satisfaction", {"metric": "nps", "breakdown": "period",
                                                   "period": "month"})
            if not result.frame.empty:
                nps = {"result": result, "figure": figure_json(result.figure(), tr, height=300)}
        channels = None
        if stats["by_channel"]:
            items = list(stats["by_channel"].items())
            fig = go.Figure(go.Bar(x=[tr.messages.get(f"channel.{k}", k) for k, _ in items],
                                   y=[v for _, v in items],
                                   marker_color="#2a6fdb"))
            channels = figure_json(fig, tr, height=300, reverse_x=tr.rtl)
        pages_done = {"funnel", "paths", "retention", "stages", "satisfaction", "journey_map"}
        others = [(n, ANALYSES[n].help) for n in sorted(ANALYSES) if n not in pages_done]
        top = table_view(pd.DataFrame(events, columns=["event", "count"]), tr)
        return render(request, "overview.html", active="overview", title=tr("nav.overview"),
                      stats=stats, funnel=funnel, nps=nps, channels=channels, top=top,
                      others=others)

    @router.get(PREFIX + "/funnels")
    def funnels(request: Request) -> Response:
        db, tr, params = store(request), request.state.tr, request.query_params
        context: dict[str, Any] = {"error": None, "result": None}
        try:
            spec = funnel_spec(params)
            if spec is not None:
                timed = run_timed(serving_source(db), "funnel", spec)
                result = timed.result
                context["answered"] = timed
                overall = result.tables.get("overall", result.frame)
                context.update(
                    result=result, figure=figure_json(result.figure(), tr),
                    table=table_view(result.frame, tr),
                    dropped=[(int(r["step"]), r["label"], int(r["dropped"]))
                             for r in overall.to_dict(orient="records")
                             if not pd.isna(r["dropped"]) and int(r["step"]) < len(spec["steps"])])
        except TouchpathError as exc:
            context["error"] = _error_text(exc, tr)
        steps = [s for s in params.getlist("step") if s.strip()] or list(
            DEFAULT_FUNNEL if context["result"] is None else [])
        while len(steps) < 3:
            steps.append("")
        return render(request, "funnels.html", active="funnels", title=tr("nav.funnels"),
                      steps=steps, events=event_counts(db), breakdowns=BREAKDOWNS,
                      orders=ORDERS, params=params, query=request.url.query, **context)

    @router.get(PREFIX + "/funnels/dropped")
    def funnel_dropped(request: Request) -> Response:
        db, tr, params = store(request), request.state.tr, request.query_params
        error, persons = None, []
        try:
            spec = funnel_spec(params)
            if spec is None:
                raise ValidationError("a funnel needs steps", field="step")
            step = _int(params, "at", 1, 1, 30)
            persons = list(dropped_persons(db, from_dict(FunnelSpec, spec), step).person_ids)
        except TouchpathError as exc:
            error = _error_text(exc, tr)
        query = "&".join(p for p in request.url.query.split("&") if not p.startswith("at="))
        return render(request, "dropped.html", active="funnels", title=tr("funnels.dropped"),
                      error=error, persons=persons[:500], total=len(persons),
                      query=request.url.query, back=PREFIX + "/funnels?" + query)

    @router.get(PREFIX + "/funnels/dropped.csv")
    def funnel_dropped_csv(request: Request) -> Response:
        db, params = store(request), request.query_params
        spec = funnel_spec(params)
        if spec is None:
            raise ValidationError("a funnel needs steps", field="step")
        step = _int(params, "at", 1, 1, 30)
        ids = dropped_persons(db, from_dict(FunnelSpec, spec), step).person_ids
        return _csv(pd.DataFrame({"person_id": list(ids)}), f"dropped-at-step-{step}")

    def _export(name: str, spec: dict[str, Any] | None, request: Request) -> Response:
        if spec is None:
            raise ValidationError("a funnel needs steps", field="step")
        return _csv(run_json(store(request), name, spec).frame, name)

    @router.get(PREFIX + "/funnels.csv")
    def funnels_csv(request: Request) -> Response:
        return _export("funnel", funnel_spec(request.query_params), request)

    @router.get(PREFIX + "/paths.csv")
    def paths_csv(request: Request) -> Response:
        return _export("paths", paths_spec(request.query_params), request)

    @router.get(PREFIX + "/retention.csv")
    def retention_csv(request: Request) -> Response:
        return _export("retention", retention_spec(request.query_params), request)

    @router.get(PREFIX + "/stages.csv")
    def stages_csv(request: Request) -> Response:
        spec = stages_spec(request.query_params, request.state.tr)
        return _export("stages", spec, request)

    def _analysis_page(request: Request, name: str, page: str,
                       make: Callable[[], dict[str, Any]],
                       more: Callable[[Any], dict[str, Any]] | None = None,
                       **extra: Any) -> Response:
        db, tr = store(request), request.state.tr
        context: dict[str, Any] = {"error": None, "result": None, "figure": None, "table": None}
        try:
            if db.stats()["events"]:
                timed = run_timed(serving_source(db), name, make())
                result = timed.result
                context.update(result=result, table=table_view(result.frame, tr), answered=timed)
                if more is not None:
                    context.update(more(result))
                if not result.frame.empty:
                    context["figure"] = figure_json(_translated(result.figure(), tr), tr,
                                                    height=520)
        except TouchpathError as exc:
            context["error"] = _error_text(exc, tr)
        return render(request, f"{page}.html", active=page, title=tr(f"nav.{page}"),
                      params=request.query_params, events=event_counts(db),
                      query=request.url.query, periods=PERIODS, **context, **extra)

    @router.get(PREFIX + "/paths")
    def paths(request: Request) -> Response:
        return _analysis_page(request, "paths", "paths",
                              lambda: paths_spec(request.query_params))

    @router.get(PREFIX + "/retention")
    def retention(request: Request) -> Response:
        tr: Translator = request.state.tr

        def more(result: Any) -> dict[str, Any]:
            # the rates per period, headed "Week 0, Week 1, ..." in the page's language
            periods = int(result.summary["periods"])
            unit = tr(f"period.{result.summary['period']}")
            rates = [f"rate_{k}" for k in range(periods)]
            headers = {f"rate_{k}": f"{unit} {tr.number(k)}" for k in range(periods)}
            view = table_view(result.frame, tr, columns=["cohort", "size", *rates, "churned",
                                                         "churn_rate"], headers=headers)
            return {"table": view}

        return _analysis_page(request, "retention", "retention",
                              lambda: retention_spec(request.query_params), more)

    @router.get(PREFIX + "/stages")
    def stages(request: Request) -> Response:
        tr: Translator = request.state.tr

        def more(result: Any) -> dict[str, Any]:
            names = dict(zip(result.frame["stage"], result.frame["name"], strict=True))
            conversion = result.tables["conversion"].copy()
            rates = dict(zip(conversion["from_stage"], conversion["conversion_rate"],
                             strict=True))
            for column in ("from_stage", "to_stage"):
                conversion[column] = [names.get(s, s) for s in conversion[column]]
            return {"conversions": rates, "conversion": table_view(conversion, tr)}

        return _analysis_page(request, "stages", "stages",
                              lambda: stages_spec(request.query_params, tr), more,
                              models=stage_templates())

    @router.get(PREFIX + "/people")
    def people(request: Request) -> Response:
        db, tr = store(request), request.state.tr
        q = (request.query_params.get("q") or "").strip()
        found: dict[str, Any] | None = None
        timeline = None
        if q:
            try:
                found = db.explain(q)
            except NotFoundError:
                found = None
            if found and len(found["persons"]) == 1:
                events = timeline_view(person_timeline(db, found["persons"][0]["person_id"]))
                timeline = table_view(events, tr, truncate=80)
        return render(request, "people.html", active="people", title=tr("nav.people"), q=q,
                      found=found, timeline=timeline, query=request.url.query)

    @router.get(PREFIX + "/people/timeline.csv")
    def people_csv(request: Request) -> Response:
        db = store(request)
        persons = db.find_persons((request.query_params.get("q") or "").strip())
        if len(persons) != 1:
            raise NotFoundError("name one person (search first)", field="q")
        return _csv(person_timeline(db, persons[0], limit=100_000), "timeline")

    @router.get(PREFIX + "/data")
    def data(request: Request) -> Response:
        db, tr = store(request), request.state.tr
        stats = db.stats()
        keys = [k.to_dict() for k in list_keys(db)]
        imports = db.sql(
            "SELECT started_at, file, source, rows_read, rows_stored, rows_duplicate, "
            "rows_rejected FROM imports ORDER BY started_at DESC LIMIT 50").to_pandas()
        if not imports.empty:
            imports["file"] = [PurePath(str(f)).name for f in imports["file"]]

        def counts(d: dict[str, int], label: str) -> Any:
            return table_view(pd.DataFrame(list(d.items()), columns=[label, "count"]), tr)

        base = str(request.base_url).rstrip("/")
        return render(request, "data.html", active="data", title=tr("nav.data"), stats=stats,
                      sources=counts(stats["by_source"], "source"),
                      channels=counts({tr.messages.get(f"channel.{k}", k): v
                                       for k, v in stats["by_channel"].items()}, "channel"),
                      types=counts(stats["by_type"], "type"),
                      identities=counts(stats["identities"], "kind"),
                      keys=table_view(pd.DataFrame(keys, columns=[
                          "key_id", "name", "source", "created_at", "revoked_at"]), tr),
                      imports=table_view(imports, tr),
                      snippet=f'<script src="{base}/t.js" data-write-key="YOUR_WRITE_KEY" '
                              'async></script>')


def _translated(fig: Any, tr: Translator) -> Any:
    """The analyses' own words in a figure (the stage flow's "(start)", the paths' "(end)")."""
    words = {"(start)": tr("chart.start"), "(end)": tr("chart.end")}
    for trace in fig.data:
        node = getattr(trace, "node", None)
        if node is not None and node.label is not None:
            node.label = [words.get(str(v), v) for v in node.label]
    return fig


def timeline_view(events: pd.DataFrame) -> pd.DataFrame:
    """The timeline as the page shows it: the page's name with its event, the page's path
    without the site, the source with the channel (the CSV export keeps every column)."""
    def joined(a: Any, b: Any) -> Any:
        parts = [str(v) for v in (a, b) if isinstance(v, str) and v]
        return " · ".join(parts) if parts else None

    return pd.DataFrame({
        "timestamp": events["timestamp"],
        "event": [joined(e, n) for e, n in zip(events["event"], events["name"], strict=True)],
        "channel": [joined(c, s) for c, s in zip(events["channel"], events["source"],
                                                 strict=True)],
        "page_url": [_path(u) for u in events["page_url"]],
        "properties": [None if p in (None, "{}") else p for p in events["properties"]],
    })


def _path(url: Any) -> Any:
    if not isinstance(url, str) or not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


TIMELINE = ("timestamp", "event", "name", "channel", "source", "type", "page_url",
            "properties")


def person_timeline(db: DuckDBStore, person_id: str, limit: int = 300) -> pd.DataFrame:
    """A person's events, newest first, across every channel."""
    events = db.table("events")
    rows = (events.filter(events.person_id == person_id)
            .order_by([ibis.desc("timestamp"), ibis.desc("message_id")])
            .select(*TIMELINE).limit(limit))
    return rows.to_pandas()
