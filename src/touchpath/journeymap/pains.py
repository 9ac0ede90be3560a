"""Pain points: detected from the data, each with its evidence, the analysis behind it, and
the number of people it touches (``affected``), by which the map ranks them.

Kinds (``docs/journey_map.md`` has the exact rules):

- ``drop_off``: people who entered a stage and never reached the next one, where they are at
  least ``DROP`` of those who entered.
- ``slow_transition``: the stage-to-stage move with the longest median time.
- ``checkout_abandonment``: people who started the checkout and did not finish it, and
  ``checkout_step``: the checkout step that loses the most people.
- ``segment_gap``: a group (a source such as the iOS app, or a browser family) that passes a
  checkout step clearly less often than everyone else (at least ``GAP`` lower and a
  two-proportion z-test with p < ``ALPHA``); ``affected`` is the people it loses beyond the
  others' rate.
- ``low_scores``: a touchpoint whose survey answers are low (NPS detractors, CSAT/CES below the
  scale's middle) clearly more often than the other touchpoints' (same test); ``affected``
  is the low answers beyond the others' share.
- ``problems``: people with a support ticket, a refund or a return in a stage.
"""

from __future__ import annotations

import math
import re
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from touchpath.analytics.filters import EventMatcher
from touchpath.analytics.frame import matches
from touchpath.analytics.funnels import Breakdown, FunnelSpec, FunnelStep, run_funnel
from touchpath.analytics.source import EventSource
from touchpath.journeymap.spec import CHECKOUT, JourneyMapSpec
from touchpath.voice.metrics import band

DROP = 0.5
"""A stage is a ``drop_off`` pain point when at least this share never reaches the next."""
GAP = 0.10
"""The least gap (in rate) between a group and the rest that can make a pain point."""
ALPHA = 0.01
"""The significance a gap needs (two-sided two-proportion z-test)."""
PAIN_COLUMNS = ["id", "kind", "stage", "affected", "rate", "baseline", "p_value", "text",
                "evidence", "analysis", "analysis_spec"]


def p_value(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """Two-sided p-value of the two-proportion z-test (pooled)."""
    if n_a == 0 or n_b == 0:
        return 1.0
    pooled = (hits_a + hits_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return 1.0
    z = (hits_a / n_a - hits_b / n_b) / spread
    return math.erfc(abs(z) / math.sqrt(2))


def stands_out(hits: int, n: int, rest_hits: int, rest_n: int, min_n: int, *, higher: bool
               ) -> tuple[float, float, float] | None:
    """``(rate, baseline, p)`` when a group's rate (``hits / n``) is clearly ``higher`` (else
    lower) than the rest's: both have ``min_n``, the gap is at least ``GAP``, p < ``ALPHA``."""
    if n < min_n or rest_n < min_n:
        return None
    rate, baseline = hits / n, rest_hits / rest_n
    p = p_value(hits, n, rest_hits, rest_n)
    gap = rate - baseline if higher else baseline - rate
    return (rate, baseline, p) if gap >= GAP and p < ALPHA else None


def browser_family(agent: str) -> str:
    """A user agent's browser and platform, e.g. ``Safari (iOS)``, ``Chrome (Android)``."""
    platform = ("iOS" if re.search(r"iPhone|iPad|iPod", agent) else
                "Android" if "Android" in agent else
                "macOS" if "Macintosh" in agent else
                "Windows" if "Windows" in agent else
                "Linux" if "Linux" in agent else "other")
    browser = ("Edge" if re.search(r"Edg(e|A|iOS)?/", agent) else
               "Samsung Internet" if "SamsungBrowser" in agent else
               "Firefox" if re.search(r"Firefox|FxiOS", agent) else
               "Chrome" if re.search(r"Chrome|CriOS|Chromium", agent) else
               "Safari" if "Safari" in agent else "other")
    return f"{browser} ({platform})"


def _pain(kind: str, stage: str | None, affected: float, text: str, evidence: dict[str, Any],
          *, key: str = "", rate: float | None = None, baseline: float | None = None,
          p: float | None = None, analysis: str | None = None,
          analysis_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": ":".join(x for x in (kind, stage or "", key) if x), "kind": kind,
            "stage": stage, "affected": round(affected), "rate": rate,
            "baseline": baseline, "p_value": p, "text": text, "evidence": evidence,
            "analysis": analysis, "analysis_spec": analysis_spec}


def stage_pains(conversion: pd.DataFrame, names: dict[str, str], min_n: int
                ) -> list[dict[str, Any]]:
    """``drop_off`` for every stage with ``min_n`` people entered, and ``slow_transition``."""
    found = []
    for row in conversion.to_dict(orient="records"):
        entered, went = int(row["entered"]), int(row["converted"])
        if entered < min_n or went / entered > 1 - DROP:
            continue
        rate = went / entered
        found.append(_pain(
            "drop_off", row["from_stage"], entered - went,
            f"{entered - went} of {entered} people who entered {names[row['from_stage']]} "
            f"never reached {names[row['to_stage']]} ({1 - rate:.0%})",
            {"entered": entered, "converted": went, "to_stage": row["to_stage"]},
            key=row["to_stage"], rate=rate, analysis="stages", analysis_spec={}))
    timed = conversion[conversion["converted"] >= min_n].dropna(subset=["median_seconds"])
    if not timed.empty:
        row = timed.sort_values("median_seconds", ascending=False).iloc[0]
        days = float(row["median_seconds"]) / 86400
        found.append(_pain(
            "slow_transition", str(row["from_stage"]), int(row["converted"]),
            f"from {names[row['from_stage']]} to {names[row['to_stage']]} takes "
            f"{days:.1f} days (median; 90% within {float(row['p90_seconds']) / 86400:.1f})",
            {"median_days": days, "p90_days": float(row["p90_seconds"]) / 86400,
             "converted": int(row["converted"]), "to_stage": row["to_stage"]},
            key=str(row["to_stage"]), analysis="stages", analysis_spec={}))
    return found


def checkout_steps(spec: JourneyMapSpec, known: set[str]) -> tuple[FunnelStep, ...]:
    """The checkout's steps: the spec's, or the default steps the store has."""
    if spec.checkout:
        return spec.checkout
    steps = tuple(FunnelStep(name) for name in CHECKOUT if name in known)
    return steps if len(steps) >= 2 else ()


def step_label(step: FunnelStep) -> str:
    return step.label or step.matcher.title


def checkout_pains(source: EventSource, spec: JourneyMapSpec, steps: tuple[FunnelStep, ...],
                   stage: str | None) -> list[dict[str, Any]]:
    """``checkout_abandonment``, ``checkout_step`` and ``segment_gap`` on the checkout."""
    if len(steps) < 2:
        return []
    funnel = FunnelSpec(steps=steps, window_seconds=spec.window_seconds,
                        filters=spec.filters)
    link = {"steps": [step_label(s) for s in steps], "window_seconds": spec.window_seconds}
    overall = run_funnel(source, funnel).frame
    counts = [int(c) for c in overall["count"]]
    if not counts or counts[0] < spec.min_n:
        return []
    labels = [step_label(s) for s in steps]
    found = [_pain(
        "checkout_abandonment", stage, counts[0] - counts[-1],
        f"{counts[0] - counts[-1]} of {counts[0]} people who started the checkout "
        f"({labels[0]}) did not finish it ({labels[-1]}): {1 - counts[-1] / counts[0]:.0%}",
        {"started": counts[0], "finished": counts[-1]}, rate=counts[-1] / counts[0],
        analysis="funnel", analysis_spec=link)]
    losses = [(counts[k - 1] - counts[k], k) for k in range(1, len(counts)) if counts[k - 1]]
    if losses:
        lost, k = max(losses)
        found.append(_pain(
            "checkout_step", stage, lost,
            f"the checkout loses most people at {labels[k]}: {lost} of {counts[k - 1]} "
            f"who reached {labels[k - 1]} ({lost / counts[k - 1]:.0%})",
            {"step": k + 1, "step_label": labels[k], "reached": counts[k - 1], "lost": lost},
            key=labels[k], rate=counts[k] / counts[k - 1], analysis="funnel",
            analysis_spec=link))
    for dimension, breakdown, relabel in (
            ("source", Breakdown("source"), None),
            ("browser", Breakdown("context.userAgent"), browser_family)):
        split = run_funnel(source, FunnelSpec(steps=steps, window_seconds=spec.window_seconds,
                                              breakdown=breakdown, filters=spec.filters)).frame
        found.extend(_gaps(split, counts, labels, dimension, relabel, spec.min_n, stage,
                           {**link, "breakdown": dimension if dimension == "source"
                            else "context.userAgent"}))
    return found


def _gaps(split: pd.DataFrame, counts: list[int], labels: list[str], dimension: str,
          relabel: Any, min_n: int, stage: str | None, link: dict[str, Any]
          ) -> list[dict[str, Any]]:
    split = split[split["breakdown"] != "(none)"].copy()
    if relabel is not None:
        split["breakdown"] = [relabel(str(v)) for v in split["breakdown"]]
    table = split.groupby(["breakdown", "step"])["count"].sum().unstack("step").fillna(0)
    found = []
    for k in range(1, len(counts)):
        if k not in table.columns or (k + 1) not in table.columns:
            continue
        for group, row in table.iterrows():
            n, passed = int(row[k]), int(row[k + 1])
            found_gap = stands_out(passed, n, counts[k] - passed, counts[k - 1] - n, min_n,
                                   higher=False)
            if found_gap is None:
                continue
            rate, baseline, p = found_gap
            found.append(_pain(
                "segment_gap", stage, n * (baseline - rate),
                f"{dimension} {group}: {rate:.0%} of people go on from {labels[k - 1]} to "
                f"{labels[k]}, against {baseline:.0%} of everyone else ({n} people, "
                f"p = {p:.2g})",
                {"dimension": dimension, "group": str(group), "step": k + 1,
                 "step_label": labels[k], "from_label": labels[k - 1], "people": n,
                 "passed": passed},
                key=f"{labels[k]}:{dimension}={group}", rate=rate, baseline=baseline, p=p,
                analysis="funnel", analysis_spec=link))
    return found


def low_score_pains(rows: ir.Table, names: dict[str, str], ids: tuple[str, ...], min_n: int
                    ) -> list[dict[str, Any]]:
    """``low_scores``: touchpoints with clearly more low answers than the others."""
    scored = rows.filter(rows._touchpoint.notnull() & rows._score.notnull())
    counts = scored.group_by("_touchpoint", "_survey", "_score", "_scale_min", "_scale_max",
                             "stage").agg(n=scored.count()).to_pandas()
    if counts.empty:
        return []
    counts["low"] = [band(str(s), float(v), float(a), float(b)) == "low" for s, v, a, b in
                     zip(counts["_survey"], counts["_score"], counts["_scale_min"],
                         counts["_scale_max"], strict=True)]
    found = []
    for survey, answers in counts.groupby("_survey"):
        totals = answers.groupby("_touchpoint").apply(
            lambda g: pd.Series({"n": g["n"].sum(), "low": g.loc[g["low"], "n"].sum()}),
            include_groups=False)
        all_n, all_low = int(totals["n"].sum()), int(totals["low"].sum())
        for touchpoint, row in totals.iterrows():
            n, low = int(row["n"]), int(row["low"])
            found_gap = stands_out(low, n, all_low - low, all_n - n, min_n, higher=True)
            if found_gap is None:
                continue
            share, baseline, p = found_gap
            mine = answers[answers["_touchpoint"] == touchpoint]
            staged = mine.dropna(subset=["stage"])
            stage = (ids[int(staged.groupby("stage")["n"].sum().idxmax())]
                     if not staged.empty else None)
            found.append(_pain(
                "low_scores", stage, n * (share - baseline),
                f"{touchpoint}: {share:.0%} of its {survey.upper()} answers are low, against "
                f"{baseline:.0%} at other touchpoints ({n} answers, p = {p:.2g})",
                {"touchpoint": str(touchpoint), "survey": str(survey), "answers": n,
                 "low": low}, key=f"{touchpoint}:{survey}", rate=share, baseline=baseline,
                p=p, analysis="satisfaction",
                analysis_spec={"metric": str(survey), "breakdown": "touchpoint"}))
    return found


def problem_pains(events: ir.Table, problems: tuple[EventMatcher, ...], active: pd.DataFrame,
                  ids: tuple[str, ...], names: dict[str, str]) -> list[dict[str, Any]]:
    """``problems``: per stage, the people with a problem event in it."""
    if not problems:
        return []
    test = ibis.or_(*(matches(events, m) for m in problems))
    hit = events.filter(test & events.at.notnull())
    counts = hit.group_by(stage=hit.at, event=hit.event).agg(
        people=hit.person_id.nunique(), events=hit.count()).to_pandas()
    people = hit.group_by(stage=hit.at).agg(people=hit.person_id.nunique()).to_pandas()
    by_stage = dict(zip(active["stage"], active["active"], strict=True))
    found = []
    for row in people.to_dict(orient="records"):
        stage = ids[int(row["stage"])]
        base = int(by_stage.get(row["stage"], 0))
        mine = counts[counts["stage"] == row["stage"]].sort_values("people", ascending=False)
        detail = {str(e): int(p) for e, p in zip(mine["event"], mine["people"], strict=True)}
        listed = ", ".join(f"{e} {p}" for e, p in detail.items())
        found.append(_pain(
            "problems", stage, int(row["people"]),
            f"{int(row['people'])} of {base} people in {names[stage]} had a problem "
            f"({listed})", {"people": int(row["people"]), "active": base, "events": detail},
            rate=int(row["people"]) / base if base else None, analysis="people",
            analysis_spec={}))
    return found


def ranked(found: list[dict[str, Any]]) -> pd.DataFrame:
    """The pain points, most people affected first (ties: kind, id)."""
    frame = pd.DataFrame(found, columns=PAIN_COLUMNS)
    return frame.sort_values(["affected", "kind", "id"], ascending=[False, True, True],
                             kind="stable").reset_index(drop=True)
