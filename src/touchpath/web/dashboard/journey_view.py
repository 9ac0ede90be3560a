"""The journey map as the page and its exports show it: a result (or two, compared) turned
into translated, formatted cells, the emotion curve as an SVG drawn here (no script, so the
exported file needs none), pain points in the page's language."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from touchpath.web.dashboard.i18n import Translator

LANES = ("touchpoints", "channels", "actions", "paths")
WIDTH, HEIGHT, PAD = 1000, 190, 34


@dataclass
class StageColumn:
    id: str
    name: str
    kpis: list[tuple[str, str, str | None]]  # label, value, compared value
    lanes: dict[str, list[tuple[str, str]]]  # lane -> (item, volume)
    pains: list[dict[str, Any]] = field(default_factory=list)


def _value(tr: Translator, kind: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "percent":
        return tr.percent(value)
    if kind == "days":
        return tr("map.days", days=tr.number(round(float(value), 1), 1))
    if kind == "money":
        return tr.number(round(float(value)))
    if kind == "score":
        return tr.number(round(float(value), 1), 1)
    if kind == "emotion":
        return tr.number(round(float(value), 2), 2)
    return tr.number(value)


KPIS = (("entered", "int"), ("people_now", "int"), ("conversion", "percent"),
        ("median_days_to_next", "days"), ("returned_rate", "percent"), ("revenue", "money"),
        ("ctr", "percent"), ("nps", "score"), ("csat", "score"), ("ces", "score"))


def _item(tr: Translator, lane: str, row: dict[str, Any]) -> tuple[str, str]:
    if lane == "channels":
        return tr.messages.get(f"channel.{row['channel']}", str(row["channel"])), \
            tr.number(row["people"])
    if lane == "paths":
        return f"{row['event']} → {row['next_event']}", tr.number(row["people"])
    key = "source" if lane == "touchpoints" else "event"
    return str(row[key]), tr.number(row["people"])


def pain_text(tr: Translator, pain: dict[str, Any], names: dict[str, str]) -> str:
    """A pain point in the page's language (the catalogue's ``map.pain.<kind>``)."""
    e = pain["evidence"]
    stage = names.get(pain["stage"] or "", pain["stage"] or "")
    kind = pain["kind"]
    if kind == "drop_off":
        return tr("map.pain.drop_off", lost=tr.number(e["entered"] - e["converted"]),
                  entered=tr.number(e["entered"]), stage=stage,
                  next=names.get(e["to_stage"], e["to_stage"]),
                  share=tr.percent(1 - pain["rate"]))
    if kind == "slow_transition":
        return tr("map.pain.slow_transition", stage=stage,
                  next=names.get(e["to_stage"], e["to_stage"]),
                  median=tr.number(round(e["median_days"], 1), 1),
                  p90=tr.number(round(e["p90_days"], 1), 1))
    if kind == "checkout_abandonment":
        return tr("map.pain.checkout_abandonment", lost=tr.number(e["started"] - e["finished"]),
                  started=tr.number(e["started"]), share=tr.percent(1 - pain["rate"]))
    if kind == "checkout_step":
        return tr("map.pain.checkout_step", step=e["step_label"], lost=tr.number(e["lost"]),
                  reached=tr.number(e["reached"]), share=tr.percent(1 - pain["rate"]))
    if kind == "segment_gap":
        return tr("map.pain.segment_gap", group=e["group"],
                  dimension=tr(f"map.dimension.{e['dimension']}"), step=e["step_label"],
                  previous=e["from_label"], rate=tr.percent(pain["rate"]),
                  baseline=tr.percent(pain["baseline"]), people=tr.number(e["people"]))
    if kind == "low_scores":
        return tr("map.pain.low_scores", touchpoint=e["touchpoint"],
                  survey=str(e["survey"]).upper(), share=tr.percent(pain["rate"]),
                  baseline=tr.percent(pain["baseline"]), answers=tr.number(e["answers"]))
    listed = ", ".join(f"{k} {tr.number(v)}" for k, v in e["events"].items())
    return tr("map.pain.problems", people=tr.number(e["people"]),
              active=tr.number(e["active"]), stage=stage, events=listed)


def suggestion_text(tr: Translator, pain: dict[str, Any], names: dict[str, str]) -> str:
    """The suggested action in the page's language (a saved action is shown as written)."""
    if not pain["suggested"]:
        return str(pain["action"])
    e = pain["evidence"]
    return tr(f"map.suggest.{pain['kind']}", stage=names.get(pain["stage"] or "", ""),
              step=e.get("step_label", ""), group=e.get("group", ""),
              touchpoint=e.get("touchpoint", ""))


def analysis_link(prefix: str, pain: dict[str, Any]) -> str | None:
    """The dashboard page of the analysis behind a pain point."""
    from urllib.parse import urlencode

    spec = pain.get("analysis_spec") or {}
    if pain["analysis"] == "funnel":
        query: list[tuple[str, str]] = [("step", s) for s in spec.get("steps", [])]
        query.append(("window_days", str(max(1, int(spec.get("window_seconds", 604800))
                                             // 86400))))
        if spec.get("breakdown") == "source":
            query.append(("breakdown", "source"))
        return f"{prefix}/funnels?{urlencode(query)}"
    if pain["analysis"] == "stages":
        return f"{prefix}/stages"
    if pain["analysis"] == "satisfaction":
        return f"{prefix}/surveys"
    if pain["analysis"] == "people":
        return f"{prefix}/people"
    return None


def emotion_svg(tr: Translator, frame: pd.DataFrame, other: pd.DataFrame | None = None
                ) -> dict[str, Any]:
    """The curve's geometry: one point per stage with answers, at the stage column's centre
    (mirrored in right-to-left pages), y from -1 (bottom) to 1 (top)."""
    n = len(frame)

    def x(i: int) -> float:
        position = (i + 0.5) / n
        return round(WIDTH * ((1 - position) if tr.rtl else position), 1)

    def y(v: float) -> float:
        return round(PAD + (1 - v) / 2 * (HEIGHT - 2 * PAD), 1)

    def series(table: pd.DataFrame) -> dict[str, Any]:
        points = []
        for i, row in enumerate(table.to_dict(orient="records")):
            value = row["emotion"]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            answers = int(row["answers"])
            tone = "good" if value > 0.1 else "bad" if value < -0.1 else "mixed"
            points.append({"x": x(i), "y": y(float(value)), "r": round(5 + min(answers, 400)
                                                                       ** 0.5 / 2, 1),
                           "tone": tone, "label": _value(tr, "emotion", value),
                           "n": tr("map.answers", plural=answers, n=tr.number(answers))})
        line = " ".join(f"{p['x']},{p['y']}" for p in points)
        return {"points": points, "line": line}

    return {"width": WIDTH, "height": HEIGHT, "zero": y(0.0), "top": y(1.0), "bottom": y(-1.0),
            "a": series(frame), "b": series(other) if other is not None else None}


def columns(tr: Translator, result: Any, other: Any | None, prefix: str) -> list[StageColumn]:
    frame = result.frame
    names = dict(zip(frame["stage"], frame["name"], strict=True))
    pains = result.pain_points.to_dict(orient="records")
    compare = other.frame.set_index("stage") if other is not None else None
    out = []
    for row in frame.to_dict(orient="records"):
        kpis = []
        for name, kind in KPIS:
            value = row[name]
            if kind in ("score",) and not row.get(f"{name}_n"):
                continue
            if name == "ctr" and value is None:
                continue
            theirs = None
            if compare is not None and row["stage"] in compare.index:
                theirs = _value(tr, kind, compare.loc[row["stage"], name])
            kpis.append((tr(f"map.kpi.{name}"), _value(tr, kind, value), theirs))
        lanes = {lane: [_item(tr, lane, r) for r in result.lane(lane, row["stage"])
                        .to_dict(orient="records")] for lane in LANES}
        mine = [dict(p, text=pain_text(tr, p, names), action_text=suggestion_text(tr, p, names),
                     link=analysis_link(prefix, p)) for p in pains if p["stage"] == row["stage"]]
        out.append(StageColumn(row["stage"], row["name"], kpis, lanes, mine[:5]))
    return out


def ranked_pains(tr: Translator, result: Any, prefix: str) -> list[dict[str, Any]]:
    frame = result.frame
    names = dict(zip(frame["stage"], frame["name"], strict=True))
    return [dict(p, text=pain_text(tr, p, names), action_text=suggestion_text(tr, p, names),
                 stage_name=names.get(p["stage"] or "", "–"), link=analysis_link(prefix, p),
                 affected_text=tr.number(p["affected"]))
            for p in result.pain_points.to_dict(orient="records")]
