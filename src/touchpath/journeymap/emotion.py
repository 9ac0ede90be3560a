"""The emotion curve: how people feel in each stage, from their survey answers (NPS, CSAT,
CES, ratings) and the sentiment of their comments.

Each scored answer becomes a number from -1 to 1: on NPS a promoter (9-10) is 1, a passive
0, a detractor (0-6) -1, so the mean of an NPS answer set is NPS / 100; on any other scale
the score is placed linearly between the scale's ends (CSAT 1..5 -> -1..1, CES 2.0 1..7 ->
-1..1 with 7 the easiest). Each comment adds its sentiment (-1..1, the lexicon scorer of
:mod:`touchpath.voice.sentiment`). A stage's **emotion** is the mean of all of these, with
``answers`` and ``comments`` behind it; fewer than ``min_n`` answers and the point is flagged
``small_sample``. Answers count in the stage the person was in when they answered
(``before``, see :mod:`touchpath.journeymap.staged`). The stage's NPS, CSAT and CES are the
metrics of :mod:`touchpath.voice.metrics` over the same answers, those on the metric's own
scale (NPS 0-10, CSAT 1-5, CES 1-7; an answer on another scale still counts in the emotion).
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from touchpath.analytics.filters import Filters
from touchpath.analytics.frame import json_text
from touchpath.analytics.source import EventSource
from touchpath.voice.metrics import DEFAULT_SCALES, ces, csat, nps
from touchpath.voice.satisfaction import answers
from touchpath.voice.sentiment import get_scorer

EMOTION_COLUMNS = ["stage", "emotion", "answers", "comments", "score_part", "sentiment",
                   "small_sample", "nps", "nps_n", "csat", "csat_n", "ces", "ces_n"]


def staged_answers(source: EventSource, filters: Filters, staged: ir.Table) -> ir.Table:
    """Survey answers with ``stage`` (the ``before`` stage), ``_survey``, ``_score``,
    ``_scale_min``/``_scale_max``, ``_comment``, ``_language``, ``_touchpoint``."""
    rows = answers(source, filters)
    rows = rows.mutate(_comment=json_text(rows, "properties", "comment"),
                       _language=json_text(rows, "properties", "language"),
                       _touchpoint=json_text(rows, "properties", "touchpoint"))
    keys = staged.select("person_id", "message_id", stage=staged.before)
    joined = rows.join(keys, [rows.person_id == keys.person_id,
                              rows.message_id == keys.message_id])
    return joined.select("person_id", "stage", "_survey", "_score", "_scale_min",
                         "_scale_max", "_comment", "_language", "_touchpoint")


def normalised(survey: np.ndarray[Any, Any], score: np.ndarray[Any, Any],
               low: np.ndarray[Any, Any], high: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Scores as -1..1 (see the module's docstring); NaN where there is no usable score."""
    score = score.astype("float64")
    span = (high - low).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        linear = 2 * (score - low) / span - 1
    promoter = np.where(score >= 9, 1.0, np.where(score >= 7, 0.0, -1.0))
    value = np.where(survey == "nps", promoter, linear)
    bad = np.isnan(score) | (score < low) | (score > high) | (span <= 0)
    return np.where(bad, np.nan, value)


def emotion_by_stage(rows: ir.Table, min_n: int) -> pd.DataFrame:
    """One row per stage with answers (see :data:`EMOTION_COLUMNS`)."""
    scores = rows.group_by("stage", "_survey", "_score", "_scale_min", "_scale_max").agg(
        n=rows.count()).to_pandas()
    texts = rows.filter(rows._comment.notnull() & (rows._comment.strip() != ""))
    comments = texts.group_by("stage", "_comment", "_language").agg(
        n=texts.count()).to_pandas()
    if not comments.empty:
        scorer = get_scorer("lexicon")
        comments["sentiment"] = scorer.score(list(comments["_comment"]),
                                             [None if pd.isna(v) else str(v)
                                              for v in comments["_language"]])
    scores = scores[scores["stage"].notna()]
    comments = comments[comments["stage"].notna()] if not comments.empty else comments
    scores["value"] = normalised(scores["_survey"].to_numpy(), scores["_score"].to_numpy(),
                                 scores["_scale_min"].to_numpy(),
                                 scores["_scale_max"].to_numpy())
    rows_out = []
    stages = sorted({int(s) for s in scores["stage"]}
                    | ({int(s) for s in comments["stage"]} if not comments.empty else set()))
    for stage in stages:
        mine = scores[(scores["stage"] == stage) & scores["value"].notna()]
        said = comments[comments["stage"] == stage] if not comments.empty else comments
        n_answers = int(mine["n"].sum())
        n_comments = int(said["n"].sum()) if not said.empty else 0
        score_sum = float((mine["value"] * mine["n"]).sum())
        sentiment_sum = float((said["sentiment"] * said["n"]).sum()) if n_comments else 0.0
        total = n_answers + n_comments
        row: dict[str, Any] = {
            "stage": stage,
            "emotion": (score_sum + sentiment_sum) / total if total else None,
            "answers": n_answers, "comments": n_comments,
            "score_part": score_sum / n_answers if n_answers else None,
            "sentiment": sentiment_sum / n_comments if n_comments else None,
            "small_sample": n_answers < min_n,
        }
        for name, metric in (("nps", nps), ("csat", csat), ("ces", ces)):
            low, high = DEFAULT_SCALES[name]  # as satisfaction: other scales are left out
            part = mine[(mine["_survey"] == name) & (mine["_scale_min"] == low)
                        & (mine["_scale_max"] == high)]
            if part.empty:
                row[name], row[f"{name}_n"] = None, 0
                continue
            value = metric(part["_score"].to_numpy(), part["n"].to_numpy(), min_n=min_n)
            row[name], row[f"{name}_n"] = value.value, value.n
        rows_out.append(row)
    return pd.DataFrame(rows_out, columns=EMOTION_COLUMNS)
