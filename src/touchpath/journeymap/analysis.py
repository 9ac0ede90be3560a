"""The journey map as an analysis ("journey_map"): stages as columns; lanes computed from the
data; the emotion curve; pain points ranked, with opportunities; KPIs per stage.

>>> from touchpath.journeymap import JourneyMapSpec, run_journey_map
>>> result = run_journey_map(store, JourneyMapSpec(language="he"))    # doctest: +SKIP
>>> result.frame            # the KPIs, one row per stage                 # doctest: +SKIP
>>> result.pain_points      # ranked, with evidence                       # doctest: +SKIP
>>> result.figure()         # the emotion curve                           # doctest: +SKIP

The rules: ``docs/journey_map.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.filters import EventMatcher
from touchpath.analytics.frame import check_events, materialized
from touchpath.analytics.funnels import FunnelStep
from touchpath.analytics.registry import register
from touchpath.analytics.result import AnalysisResult
from touchpath.analytics.source import EventSource, event_names
from touchpath.analytics.stages import run_stages
from touchpath.journeymap import emotion, lanes, pains
from touchpath.journeymap.opportunities import with_opportunities
from touchpath.journeymap.spec import CLICK_RATES, PROBLEMS, ClickRate, JourneyMapSpec
from touchpath.journeymap.staged import events_in_stages, stages_spec

KPI_COLUMNS = ["stage", "name", "entered", "people_now", "active", "events", "conversion",
               "next_stage", "median_days_to_next", "returned_rate", "revenue", "ctr",
               "nps", "nps_n", "csat", "csat_n", "ces", "ces_n", "emotion", "answers"]


@dataclass(frozen=True)
class JourneyMapResult(AnalysisResult):
    """``frame``: the KPIs, one row per stage (see :data:`KPI_COLUMNS`). ``tables``:
    ``touchpoints``, ``channels``, ``actions``, ``paths`` (the lanes, ``stage`` is the stage
    id), ``emotion`` (the curve), ``pain_points`` (ranked, with their ``opportunity``: the
    suggested or saved action, owner and status) and ``click_rates`` (per stage and rate)."""

    kind: ClassVar[str] = "journey_map"

    @property
    def stages(self) -> list[str]:
        return list(self.frame["stage"])

    @property
    def pain_points(self) -> pd.DataFrame:
        return self.tables["pain_points"]

    @property
    def emotion(self) -> pd.DataFrame:
        return self.tables["emotion"]

    def lane(self, name: str, stage: str) -> pd.DataFrame:
        """One lane (``touchpoints``, ``channels``, ``actions``, ``paths``) of one stage."""
        table = self.tables[name]
        return table[table["stage"] == stage].drop(columns="stage").reset_index(drop=True)

    def figure(self) -> Any:
        """The emotion curve: one point per stage (-1 to 1), sized by the answers behind it."""
        import plotly.graph_objects as go

        curve = self.frame
        values = [None if pd.isna(v) else float(v) for v in curve["emotion"]]
        answers = [int(n) for n in curve["answers"]]
        fig = go.Figure(go.Scatter(
            x=list(curve["name"]), y=values, mode="lines+markers", connectgaps=True,
            line={"shape": "spline", "color": "#2a6fdb", "width": 3},
            marker={"size": [8 + min(n, 400) ** 0.5 for n in answers], "color": [
                "#1a9850" if v is not None and v > 0.1 else "#d73027"
                if v is not None and v < -0.1 else "#fdae61" for v in values]},
            customdata=answers, hovertemplate="%{x}: %{y:.2f} (n=%{customdata})"))
        fig.add_hline(y=0, line_dash="dot", line_color="#888888")
        fig.update_layout(yaxis={"range": [-1.05, 1.05], "title": "emotion (-1..1)"},
                          title="Emotion curve")
        return fig


def _lane(table: pd.DataFrame, ids: tuple[str, ...]) -> pd.DataFrame:
    if table.empty:
        return table
    return table.assign(stage=[ids[int(s)] for s in table["stage"]])


@register("journey_map", JourneyMapSpec, "The journey map: per stage the touchpoints, "
          "channels, actions and paths, the emotion curve from surveys, ranked pain points "
          "with opportunities, and KPIs.")
def run_journey_map(source: EventSource, spec: JourneyMapSpec) -> JourneyMapResult:
    """Compute the journey map (see :class:`JourneyMapSpec` and ``docs/journey_map.md``)."""
    check_events(source, {
        **{f"checkout[{i}]": step.matcher for i, step in enumerate(spec.checkout)},
        **{f"problems[{i}]": m for i, m in enumerate(spec.problems)},
        **{f"click_rates[{i}].{end}": getattr(r, end) for i, r in enumerate(spec.click_rates)
           for end in ("impression", "click")},
    })
    model = spec.stage_model
    names = {s.id: s.name(spec.language) for s in model.stages}
    stage_result = run_stages(source, stages_spec(spec))
    known = event_names(source)
    rates = _rates(spec.click_rates or CLICK_RATES, known, bool(spec.click_rates))
    problems = spec.problems or tuple(EventMatcher(p) for p in PROBLEMS if p in known)
    # the staged events feed every lane: computed once
    with materialized(events_in_stages(source, spec)) as events:
        tables, frame, found = _computed(source, spec, events, stage_result, known, rates,
                                         problems)
    tables["pain_points"] = with_opportunities(source, pains.ranked(found), names)
    steps = pains.checkout_steps(spec, known)
    curve = tables["emotion"]
    summary = {
        "model": model.name, "language": spec.language,
        "people": stage_result.summary["people"],
        "people_in_stages": stage_result.summary["people_in_stages"],
        "answers": int(curve["answers"].sum()) if not curve.empty else 0,
        "pain_points": len(found),
        "checkout": [pains.step_label(s) for s in steps],
        "problems": [m.title for m in problems],
        "click_rates": [r.label for r in rates],
    }
    return JourneyMapResult(spec, frame, summary, tables)


def _computed(source: EventSource, spec: JourneyMapSpec, events: ir.Table, stage_result: Any,
              known: set[str], rates: tuple[ClickRate, ...],
              problems: tuple[EventMatcher, ...]
              ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[dict[str, Any]]]:
    model = spec.stage_model
    ids = model.ids
    names = {s.id: s.name(spec.language) for s in model.stages}
    activity = lanes.stage_activity(events, rates)
    back = lanes.returned(events, lanes.first_entries(events), spec.return_days)
    answered = emotion.staged_answers(source, spec.filters, events)
    curve = emotion.emotion_by_stage(answered, spec.min_n)
    tables = {
        "touchpoints": _lane(lanes.touchpoints(events, spec.top), ids),
        "channels": _lane(lanes.channels(events, spec.top), ids),
        "actions": _lane(lanes.actions(events, spec.top), ids),
        "paths": _lane(lanes.paths(events, spec.top), ids),
        "emotion": _lane(curve, ids),
        "click_rates": _click_rates(activity, rates, ids),
    }
    frame = _kpis(stage_result, activity, back, curve, rates, names, ids)

    steps = pains.checkout_steps(spec, known)
    checkout_stage = _stage_of(model, steps)
    found = [*pains.stage_pains(stage_result.tables["conversion"], names, spec.min_n),
             *pains.checkout_pains(source, spec, steps, checkout_stage),
             *pains.low_score_pains(answered, names, ids, spec.min_n),
             *pains.problem_pains(events, problems, activity, ids, names)]
    return tables, frame, found


def _rates(rates: tuple[ClickRate, ...], known: set[str], given: bool
           ) -> tuple[ClickRate, ...]:
    """The spec's rates, or the default ones whose impressions the store has."""
    if given:
        return rates
    return tuple(r for r in rates if any(n in known for n in r.impression.names))


def _stage_of(model: Any, steps: tuple[FunnelStep, ...]) -> str | None:
    """The stage whose rules name the checkout's first step (the default model: Purchase)."""
    if not steps:
        return None
    first = set(steps[0].matcher.names)
    for stage in model.stages:
        if any(first & set(rule.matcher.names) for rule in stage.rules):
            return str(stage.id)
    return None


def _click_rates(activity: pd.DataFrame, rates: tuple[ClickRate, ...], ids: tuple[str, ...]
                 ) -> pd.DataFrame:
    rows = []
    for row in activity.to_dict(orient="records"):
        for rate in rates:
            shown = int(row[f"{rate.label}_impressions"])
            clicked = int(row[f"{rate.label}_clicks"])
            rows.append({"stage": ids[int(row["stage"])], "rate": rate.label,
                         "impressions": shown, "clicks": clicked,
                         "ctr": clicked / shown if shown else None})
    frame = pd.DataFrame(rows, columns=["stage", "rate", "impressions", "clicks", "ctr"])
    order = {s: i for i, s in enumerate(ids)}
    return frame.sort_values(["stage", "rate"], key=lambda c: c.map(order) if c.name ==
                             "stage" else c).reset_index(drop=True)


def _kpis(stage_result: Any, activity: pd.DataFrame, back: pd.DataFrame, curve: pd.DataFrame,
          rates: tuple[ClickRate, ...], names: dict[str, str], ids: tuple[str, ...]
          ) -> pd.DataFrame:
    conversion = stage_result.tables["conversion"].set_index("from_stage")
    drop_off = stage_result.tables["drop_off"]
    entered = dict(zip(drop_off["stage"], drop_off["entered"],
                       strict=True))
    now = dict(zip(stage_result.frame["stage"], stage_result.frame["people"], strict=True))
    act = activity.set_index("stage")
    ret = back.set_index("stage")
    emo = curve.set_index("stage")
    rows = []
    for i, stage in enumerate(ids):
        a = act.loc[i] if i in act.index else None
        shown = sum(int(a[f"{r.label}_impressions"]) for r in rates) if a is not None else 0
        clicked = sum(int(a[f"{r.label}_clicks"]) for r in rates) if a is not None else 0
        c = conversion.loc[stage] if stage in conversion.index else None
        r = ret.loc[i] if i in ret.index else None
        e = emo.loc[i] if i in emo.index else None
        median = None if c is None or pd.isna(c["median_seconds"]) else \
            float(c["median_seconds"]) / 86400
        rows.append({
            "stage": stage, "name": names[stage], "entered": int(entered.get(stage, 0)),
            "people_now": int(now.get(stage, 0)),
            "active": int(a["active"]) if a is not None else 0,
            "events": int(a["events"]) if a is not None else 0,
            "conversion": None if c is None else _float(c["conversion_rate"]),
            "next_stage": None if c is None else str(c["to_stage"]),
            "median_days_to_next": median,
            "returned_rate": (int(_int(r["returned"])) / int(r["eligible"])
                              if r is not None and int(r["eligible"]) else None),
            "revenue": _float(a["revenue"]) if a is not None else None,
            "ctr": clicked / shown if shown else None,
            **{k: (_float(e[k]) if e is not None else None)
               for k in ("nps", "csat", "ces", "emotion")},
            **{k: (int(e[k]) if e is not None else 0)
               for k in ("nps_n", "csat_n", "ces_n", "answers")},
        })
    return pd.DataFrame(rows, columns=KPI_COLUMNS)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value: Any) -> int:
    return 0 if value is None or pd.isna(value) else int(value)
