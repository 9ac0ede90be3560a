"""The voice-of-the-customer pages: surveys and their answers (the cases they opened are
:mod:`touchpath.web.dashboard.cases_page`).

``/dashboard/surveys`` lists the surveys with their scores and shows what the answers say (the
"satisfaction", "themes" and "drivers" analyses, the latest answers); ``/dashboard/surveys/{id}``
is one survey (its questions, targeting and case rules; pause or resume it; make a signed link
for a person). Everything goes through
the Python API of :mod:`touchpath.voice`, as the CLI and the REST routes do; the forms POST
with the session's CSRF token (checked by ``DashboardRoute``) and redirect back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import ibis
import pandas as pd
import plotly.graph_objects as go
from babel.dates import format_skeleton
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from touchpath.analytics.filters import DateRange
from touchpath.analytics.frame import date_bounds, json_text
from touchpath.errors import TouchpathError
from touchpath.journey.stages import load_stages
from touchpath.journey.stages import templates as stage_templates
from touchpath.store.duckdb_store import DuckDBStore
from touchpath.store.spark import run_timed, serving_source
from touchpath.voice.catalog import list_surveys, load_survey, set_active
from touchpath.voice.links import make_token, survey_secret
from touchpath.voice.survey import Survey, localized
from touchpath.web.dashboard.i18n import LANGUAGES, Translator
from touchpath.web.dashboard.pages import PREFIX, Render, StoreOf, _choice, _error_text
from touchpath.web.dashboard.views import figure_json

ANSWERED = "Survey Answered"
DAYS = ("all", "30", "90", "365")
METRIC_OF = {"nps": "nps", "csat": "csat", "ces": "ces", "rating": "mean"}
"""The satisfaction metric of each scored question type."""
METRICS = ("nps", "csat", "ces", "mean")
RECENT = 50


@dataclass(frozen=True)
class Scope:
    """What the surveys page looks at: one survey or all, a metric, the last N days."""

    survey: Survey | None
    metric: str | None
    days: str

    @property
    def filters(self) -> dict[str, Any]:
        return {} if self.days == "all" else {"date_range": {"last_days": int(self.days)}}

    def spec(self, **more: Any) -> dict[str, Any]:
        ids = {"survey_ids": [self.survey.id]} if self.survey else {}
        return {**ids, "filters": self.filters, **more}


def survey_metric(survey: Survey) -> str | None:
    question = survey.scored_question
    return METRIC_OF[question.type] if question is not None else None


def score_text(tr: Translator, value: Any, unit: str | None) -> str:
    """A metric's value as people read it: NPS in points, shares in percent, means with two
    decimals."""
    if value is None or value != value:
        return "–"
    if unit == "percent":
        return tr.percent(float(value) / 100)
    if unit == "mean":
        return tr.number(float(value), 2)
    return tr.number(round(float(value)))  # NPS: whole points, as it is reported


def _since(days: str, zone: str) -> Any:
    return None if days == "all" else date_bounds(DateRange(last_days=int(days)), zone=zone)[0]


def answer_rows(db: DuckDBStore, days: str) -> Any:
    events = db.table("events")
    rows = events.filter(events.event == ANSWERED)
    since = _since(days, db.timezone)
    if since is not None:
        rows = rows.filter(rows.timestamp >= since)
    return rows


def answer_counts(db: DuckDBStore, days: str) -> dict[str, int]:
    """Answers per survey id in the period (scored or not)."""
    rows = answer_rows(db, days)
    rows = rows.mutate(survey_id=json_text(rows, "properties", "survey_id"))
    counted = rows.group_by("survey_id").aggregate(n=rows.count()).to_pyarrow().to_pylist()
    return {str(r["survey_id"]): int(r["n"]) for r in counted if r["survey_id"] is not None}


def answered_types(db: DuckDBStore) -> set[str]:
    """The scored question types the stored answers have (``nps``, ``csat``, ...)."""
    rows = answer_rows(db, "all")
    kinds = rows.select(kind=json_text(rows, "properties", "survey")).distinct()
    return {str(r["kind"]) for r in kinds.to_pyarrow().to_pylist() if r["kind"]}


def recent_answers(db: DuckDBStore, scope: Scope, limit: int = RECENT) -> list[dict[str, Any]]:
    """The latest answers with their comments, newest first."""
    rows = answer_rows(db, scope.days)
    rows = rows.mutate(survey_id=json_text(rows, "properties", "survey_id"))
    if scope.survey is not None:
        rows = rows.filter(rows.survey_id == scope.survey.id)
    picked = rows.order_by([ibis.desc("timestamp"), ibis.desc("message_id")]).limit(limit)
    out = picked.select(
        "timestamp", "person_id", "user_id", "survey_id",
        kind=json_text(picked, "properties", "survey"),
        score=json_text(picked, "properties", "score"),
        scale_max=json_text(picked, "properties", "scale_max"),
        comment=json_text(picked, "properties", "comment"),
        language=json_text(picked, "properties", "language"),
        touchpoint=json_text(picked, "properties", "touchpoint"),
        stage=json_text(picked, "properties", "stage"))
    answers: list[dict[str, Any]] = out.to_pyarrow().to_pylist()
    for row in answers:
        row["who"] = row["user_id"] or f"person:{row['person_id']}"
        row["score"], row["scale_max"] = _number(row["score"]), _number(row["scale_max"])
    return answers


def _number(text: Any) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def person_href(who: str) -> str:
    return f"{PREFIX}/people?q={quote(who, safe=':')}"


def stage_names(model: str, language: str) -> dict[str, str]:
    """English stage names (as answers carry them) in the page's language: the survey's stage
    model first, in journey order, then the names of the other templates (an answer may name
    a stage of another model, as the demo's "Loyalty" does)."""
    names: dict[str, str] = {}
    for name in (model, *stage_templates()):
        try:
            stages = load_stages(name).stages
        except TouchpathError:
            continue
        for stage in stages:
            names.setdefault(stage.name("en"), stage.name(language))
    return names


def _axis(s: dict[str, Any]) -> dict[str, Any]:
    if s.get("unit") == "points":
        return {"range": [-100, 100]}
    if s.get("unit") == "percent":
        return {"range": [0, 100]}
    return {"range": [s.get("scale_min", 0), s.get("scale_max", 10)]}


def _errors(frame: pd.DataFrame) -> dict[str, Any]:
    values = frame["value"].astype("float64")
    return {"type": "data", "symmetric": False,
            "array": (frame["ci_high"].astype("float64") - values).fillna(0).tolist(),
            "arrayminus": (values - frame["ci_low"].astype("float64")).fillna(0).tolist()}


def period_labels(frame: pd.DataFrame, period: str, tr: Translator) -> list[str]:
    if period == "month":
        return [str(format_skeleton("yMMM", v, locale=tr.locale)) for v in frame["period"]]
    return [tr.date(v) for v in frame["period"]]


def trend_figure(frame: pd.DataFrame, summary: dict[str, Any], tr: Translator,
                 labels: list[str]) -> Any:
    """The metric per period, with its intervals; small samples grey."""
    fig = go.Figure(go.Scatter(
        x=labels, y=frame["value"].astype("float64").tolist(), mode="lines+markers",
        error_y=_errors(frame), customdata=frame["n"].tolist(),
        marker={"size": 9, "color": ["#9aa3ae" if s else "#1f5fbf"
                                     for s in frame["small_sample"]]},
        line={"color": "#1f5fbf"}, hovertemplate="%{x}: %{y:.1f} (n=%{customdata})"))
    fig.update_yaxes(**_axis(summary))
    return figure_json(fig, tr, height=320, reverse_x=tr.rtl)


def bars_figure(frame: pd.DataFrame, summary: dict[str, Any], tr: Translator,
                names: list[str]) -> Any:
    fig = go.Figure(go.Bar(
        x=names, y=frame["value"].astype("float64").tolist(), error_y=_errors(frame),
        customdata=frame["n"].tolist(), hovertemplate="%{x}: %{y:.1f} (n=%{customdata})",
        marker_color=["#9aa3ae" if s else "#1f5fbf" for s in frame["small_sample"]]))
    fig.update_yaxes(**_axis(summary))
    return figure_json(fig, tr, height=320, reverse_x=tr.rtl)


def breakdown_rows(frame: pd.DataFrame, summary: dict[str, Any], tr: Translator,
                   labels: list[str]) -> list[dict[str, Any]]:
    unit = summary.get("unit")
    return [{"group": label,
             "score": score_text(tr, r["value"], unit), "n": tr.number(r["n"]),
             "interval": f"{score_text(tr, r['ci_low'], unit)} – "
                         f"{score_text(tr, r['ci_high'], unit)}",
             "small": bool(r["small_sample"])}
            for label, r in zip(labels, frame.to_dict(orient="records"), strict=True)]


def survey_list(db: DuckDBStore, surveys: list[Survey], tr: Translator, days: str
                ) -> list[dict[str, Any]]:
    """One row per survey: its title in the page's language, metric, triggers, state,
    answers in the period and its current score with the number of answers behind it."""
    counts = answer_counts(db, days)
    scores: dict[str, tuple[str, int, bool]] = {}
    filters = Scope(None, None, days).filters
    by_metric: dict[str, list[str]] = {}
    for survey in surveys:
        metric = survey_metric(survey)
        if metric is not None and counts.get(survey.id):
            by_metric.setdefault(metric, []).append(survey.id)
    for metric, ids in by_metric.items():
        # ratings may differ in scale: one run per survey; the others one run per metric
        groups = [[i] for i in ids] if metric == "mean" else [ids]
        for group in groups:
            result = run_timed(serving_source(db), "satisfaction", {
                "metric": metric, "survey_ids": group, "breakdown": "survey",
                "filters": filters}).result
            for row in result.frame.to_dict(orient="records"):
                scores[str(row["survey"])] = (score_text(tr, row["value"],
                                                         result.summary["unit"]),
                                              int(row["n"]), bool(row["small_sample"]))
    rows = []
    for survey in surveys:
        score = scores.get(survey.id)
        rows.append({"id": survey.id, "title": localized(survey, tr.language)["title"],
                     "name": survey.name, "metric": survey_metric(survey),
                     "triggers": triggers(survey, tr), "active": survey.active,
                     "answers": counts.get(survey.id, 0), "score": score})
    return rows


def triggers(survey: Survey, tr: Translator) -> list[str]:
    """When the survey shows, in words: after an event, on entering a stage, or any page."""
    stages = {s.id: s.name(tr.language) for s in load_stages(survey.stage_model).stages}
    found = []
    for trigger in survey.targeting.triggers:
        if trigger.event:
            found.append(tr("surveys.trigger.event", event=trigger.event))
        elif trigger.stage:
            found.append(tr("surveys.trigger.stage",
                            stage=stages.get(trigger.stage, trigger.stage)))
    return found or [tr("surveys.trigger.any")]


def _in_journey_order(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    order = {name: i for i, name in enumerate(names)}
    rank = [order.get(str(v), len(order)) for v in frame["stage"]]
    return frame.assign(_rank=rank).sort_values(["_rank", "stage"], kind="stable").drop(
        columns="_rank").reset_index(drop=True)


def analyses(db: DuckDBStore, scope: Scope, tr: Translator) -> dict[str, Any]:
    """What the answers in scope say: the metric overall, over time, by stage and by
    touchpoint; the themes of the comments of unhappy and happy answers; the drivers."""
    out: dict[str, Any] = {"overall": None, "trend": None, "stages": None,
                           "touchpoints": None, "themes": None, "drivers": None,
                           "answered": None}
    if scope.metric is None:
        return out
    source = serving_source(db)
    period = "month" if scope.days in ("all", "365") else "week"
    timed = run_timed(source, "satisfaction", scope.spec(metric=scope.metric,
                                                         breakdown="period", period=period))
    trend = timed.result
    summary = trend.summary
    if not summary["n"]:
        return out
    unit = summary["unit"]
    out["answered"] = timed
    out["overall"] = {
        "score": score_text(tr, summary["value"], unit), "n": summary["n"],
        "interval": f"{score_text(tr, summary['ci_low'], unit)} – "
                    f"{score_text(tr, summary['ci_high'], unit)}",
        "small": summary["small_sample"],
        "parts": {k: tr.percent(v / 100) for k, v in summary["parts"].items()}
        if scope.metric == "nps" else {}}
    labels = period_labels(trend.frame, period, tr)
    out["trend"] = {"figure": trend_figure(trend.frame, summary, tr, labels),
                    "rows": breakdown_rows(trend.frame, summary, tr, labels), "period": period}
    names = stage_names(scope.survey.stage_model if scope.survey else "default", tr.language)
    by_stage = run_timed(source, "satisfaction", scope.spec(metric=scope.metric,
                                                            breakdown="stage")).result
    frame = _in_journey_order(by_stage.frame, names)
    shown = [names.get(str(v), str(v)) for v in frame["stage"]]
    out["stages"] = {"figure": bars_figure(frame, summary, tr, shown),
                     "rows": breakdown_rows(frame, summary, tr, shown)}
    by_touchpoint = run_timed(source, "satisfaction", scope.spec(
        metric=scope.metric, breakdown="touchpoint")).result
    frame = by_touchpoint.frame.head(12)
    shown = [str(v) for v in frame["touchpoint"]]
    out["touchpoints"] = {"figure": bars_figure(frame, summary, tr, shown),
                          "rows": breakdown_rows(frame, summary, tr, shown)}
    kind = {v: k for k, v in METRIC_OF.items()}[scope.metric]
    themes = run_timed(source, "themes", scope.spec(
        **({} if scope.survey else {"surveys": [kind]}), by=["band"])).result
    out["themes"] = {band: themes.frame[themes.frame["band"] == band].head(5).to_dict(
        orient="records") for band in ("low", "high")}
    if scope.metric in ("nps", "csat", "ces"):
        drivers = run_timed(source, "drivers", scope.spec(metric=scope.metric)).result
        out["drivers"] = [{**row, "factor_text": _factor(row, tr)}
                          for row in drivers.frame.head(10).to_dict(orient="records")]
    return out


def _factor(row: dict[str, Any], tr: Translator) -> str:
    if row["kind"] == "channel":
        return tr.messages.get(f"channel.{row['factor']}", str(row["factor"]))
    return str(row["factor"])


def back_to(target: str | None, default: str) -> str:
    """Where a form goes back to: a page of this module, never another site."""
    if not target or "\\" in target or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(
            (PREFIX + "/surveys", PREFIX + "/cases")):
        return default
    return target


def here(request: Request) -> str:
    """This page's address for its forms to come back to, without the last form's notice."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("done", "updated")]
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in kept)
    return request.url.path + (f"?{query}" if query else "")


def with_query(target: str, **values: str) -> str:
    joiner = "&" if "?" in target else "?"
    return target + joiner + "&".join(f"{k}={quote(v)}" for k, v in values.items())


async def form_fields(request: Request) -> dict[str, str]:
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def survey_context(db: DuckDBStore, params: Any, tr: Translator) -> dict[str, Any]:
    """Everything the surveys page shows, for its query string."""
    surveys = list_surveys(db)
    context: dict[str, Any] = {"surveys": [], "answers": [], "scope": None, "error": None,
                               "metrics": [], **analyses(db, Scope(None, None, "all"), tr)}
    try:
        days = _choice(params, "days", DAYS, "all")
        wanted = (params.get("survey") or "").strip()
        survey = next((s for s in surveys if s.id == wanted), None)
        if wanted and survey is None:
            survey = load_survey(db, wanted)  # NotFoundError naming the known surveys
        kinds = {survey_metric(s) for s in surveys} | {METRIC_OF.get(k) for k in
                                                      answered_types(db)}
        available = [m for m in METRICS if m in kinds]
        if survey is not None:
            metric = survey_metric(survey)
        else:
            metric = _choice(params, "metric", METRICS, available[0] if available else "nps")
            metric = metric if metric in available else None
        scope = Scope(survey, metric, days)
        context.update(scope=scope, metrics=available, surveys=survey_list(db, surveys, tr,
                                                                          days),
                       answers=recent_answers(db, scope), **analyses(db, scope, tr))
    except TouchpathError as exc:
        context["error"] = _error_text(exc, tr)
        context["surveys"] = context["surveys"] or [
            {"id": s.id, "title": localized(s, tr.language)["title"], "name": s.name,
             "metric": survey_metric(s), "triggers": triggers(s, tr), "active": s.active,
             "answers": None, "score": None} for s in surveys]
    context["defined"] = bool(surveys)
    return context


def survey_detail(db: DuckDBStore, survey: Survey, tr: Translator) -> dict[str, Any]:
    shown = localized(survey, tr.language)
    stages = {s.id: s.name(tr.language) for s in load_stages(survey.stage_model).stages}
    question = survey.scored_question
    return {"survey": survey, "shown": shown, "triggers": triggers(survey, tr),
            "metric": survey_metric(survey), "stages": stages,
            "scale": question.scale if question else None,
            "answers": answer_counts(db, "all").get(survey.id, 0)}


# -- routes -----------------------------------------------------------------------------------

def register(router: APIRouter, store: StoreOf, render: Render) -> None:
    """The surveys pages and their forms."""

    @router.get(PREFIX + "/surveys")
    def surveys(request: Request) -> Response:
        tr = request.state.tr
        context = survey_context(store(request), request.query_params, tr)
        back = here(request)
        return render(request, "surveys.html", active="surveys", title=tr("nav.surveys"),
                      params=request.query_params, days=DAYS, person_href=person_href,
                      back=back,
                      done=request.query_params.get("done"), **context)

    @router.get(PREFIX + "/surveys/{survey_id}")
    def survey_page(request: Request, survey_id: str) -> Response:
        db, tr = store(request), request.state.tr
        try:
            survey = load_survey(db, survey_id)
        except TouchpathError as exc:
            return render(request, "survey.html", status=exc.status, active="surveys",
                          title=tr("nav.surveys"), error=_error_text(exc, tr), survey=None)
        return render(request, "survey.html", active="surveys", title=survey.name,
                      error=None, link=None, form={}, languages_=LANGUAGES,
                      done=request.query_params.get("done"), **survey_detail(db, survey, tr))

    @router.post(PREFIX + "/surveys/{survey_id}/active")
    async def survey_active(request: Request, survey_id: str) -> Response:
        form = await form_fields(request)
        active = form.get("active") == "true"
        await run_in_threadpool(set_active, store(request), survey_id, active)
        target = back_to(form.get("next"), f"{PREFIX}/surveys")
        return RedirectResponse(with_query(target, done="resumed" if active else "paused"),
                                status_code=303)

    @router.post(PREFIX + "/surveys/{survey_id}/link")
    async def survey_link(request: Request, survey_id: str) -> Response:
        form = await form_fields(request)
        db, tr = store(request), request.state.tr

        def make() -> dict[str, Any]:
            survey = load_survey(db, survey_id)
            context = survey_detail(db, survey, tr)
            try:
                days = int(form.get("valid_days") or 30)
            except ValueError:
                days = 0
            try:
                token = make_token(survey_secret(db), survey.id,
                                   user_id=form.get("user_id", "").strip() or None,
                                   anonymous_id=form.get("anonymous_id", "").strip() or None,
                                   touchpoint=form.get("touchpoint", "").strip() or None,
                                   language=form.get("language") or None, valid_days=days)
            except TouchpathError as exc:
                return {**context, "error": _error_text(exc, tr), "link": None}
            url = str(request.base_url).rstrip("/") + f"/s/{token}"
            return {**context, "error": None, "link": url}

        context = await run_in_threadpool(make)
        return render(request, "survey.html", status=400 if context["error"] else 200,
                      active="surveys", title=context["survey"].name, form=form,
                      languages_=LANGUAGES, done=None, **context)
