"""The survey metrics as pure functions: NPS, CSAT, CES, a mean, each with its confidence
interval, its scale and a small-sample flag.

Every function takes the scores (a sequence or numpy array) and, optionally, ``counts``: how
many answers gave each score (so a table of score counts from an engine can be passed as two
columns). They return a :class:`MetricValue`.

>>> nps([10, 9, 9, 8, 7, 6, 3, 10, 9, 0]).value     # 5 promoters, 3 detractors of 10
20.0

Definitions (``docs/voice-metrics.md``):

- NPS (Bain & Company, Reichheld 2003): % promoters (9-10) minus % detractors (0-6) on the
  0-10 scale, from -100 to 100. Interval: Wald, with the variance of a difference of two
  multinomial shares, ``Var(NPS) = (p_prom + p_det - (p_prom - p_det)^2) / n`` (in points,
  times 100^2); see Rocks (2016), "Interval estimation for the Net Promoter Score", The
  American Statistician 70(4), 365-372, whose "Wald" interval this is.
- CSAT: share of 4 and 5 on the 1-5 scale (top-two-box), in percent; Wilson score interval
  (Wilson 1927). ``csat_mean``: the mean score, Student-t interval.
- CES 2.0 (1-7 agreement, 7 = easiest): the mean, Student-t interval; ``ces_share``: the share
  of 5-7, Wilson interval.
- ``mean``: the mean of any rating scale, Student-t interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from scipy import stats

from touchpath.errors import ValidationError

MetricName = Literal["nps", "csat", "csat_mean", "ces", "ces_share", "mean"]
SurveyType = Literal["nps", "csat", "ces", "rating"]
Band = Literal["low", "mid", "high"]

METRICS: tuple[str, ...] = ("nps", "csat", "csat_mean", "ces", "ces_share", "mean")
SURVEY_OF_METRIC: dict[str, str] = {"nps": "nps", "csat": "csat", "csat_mean": "csat",
                                    "ces": "ces", "ces_share": "ces", "mean": "rating"}
"""The survey type (the ``survey`` property of an answer) each metric reads."""
DEFAULT_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7),
                                               "rating": (1, 5)}
"""The scale of each survey type when an answer carries no ``scale_min``/``scale_max``."""
DEFAULT_MIN_N = 30
"""Fewer answers than this and a metric is flagged ``small_sample``."""
DEFAULT_CONFIDENCE = 0.95

Scores = Sequence[float] | np.ndarray[Any, Any]


@dataclass(frozen=True)
class MetricValue:
    """One metric over a set of answers.

    ``value`` is in ``unit``: ``points`` (NPS, -100..100), ``percent`` (a share, 0..100) or
    ``mean`` (on the scale ``scale_min``..``scale_max``); ``None`` when ``n`` is 0.
    ``ci_low``/``ci_high``: the ``confidence`` interval by ``ci_method`` (``None`` when it is
    undefined: no answers, or a mean of one answer). ``parts``: the shares behind the value
    (promoters, passives, detractors for NPS; the counted share for a top-box metric).
    """

    metric: str
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    confidence: float
    ci_method: str
    scale_min: float
    scale_max: float
    unit: str
    small_sample: bool
    parts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "value": self.value, "n": self.n,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "confidence": self.confidence,
                "ci_method": self.ci_method, "scale_min": self.scale_min,
                "scale_max": self.scale_max, "unit": self.unit,
                "small_sample": self.small_sample, "parts": dict(self.parts)}


def _prepare(scores: Scores, counts: Sequence[int] | np.ndarray[Any, Any] | None,
             scale: tuple[float, float], confidence: float, min_n: int
             ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    weights = (np.ones(len(values), dtype=np.int64) if counts is None
               else np.asarray(counts, dtype=np.int64).reshape(-1))
    if len(weights) != len(values):
        raise ValidationError(f"{len(weights)} counts for {len(values)} scores", field="counts")
    if (weights < 0).any():
        raise ValidationError("counts cannot be negative", field="counts")
    if np.isnan(values).any():
        raise ValidationError("scores must be numbers (no NaN)", field="scores")
    low, high = scale
    outside = (values < low) | (values > high)
    if (outside & (weights > 0)).any():
        bad = values[outside & (weights > 0)][0]
        raise ValidationError(f"score {bad:g} is outside the scale {low:g}-{high:g}",
                              field="scores")
    if not 0 < confidence < 1:
        raise ValidationError("must be between 0 and 1 (e.g. 0.95)", field="confidence")
    if min_n < 1:
        raise ValidationError("must be at least 1", field="min_n")
    return values, weights


def z_value(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE
                    ) -> tuple[float, float]:
    """Wilson's score interval for a proportion (Wilson 1927, JASA 22, 209-212), as shares.

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        raise ValidationError("needs at least one answer", field="n")
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # rounding can push an end past p at p = 0 or 1; the interval always holds p
    return max(0.0, min(centre - half, p)), min(1.0, max(centre + half, p))


def t_interval(mean: float, sd: float, n: int, confidence: float = DEFAULT_CONFIDENCE
               ) -> tuple[float | None, float | None]:
    """Student's t interval for a mean: ``mean ± t(n-1) · sd / sqrt(n)`` (None for n < 2)."""
    if n < 2:
        return None, None
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def nps(scores: Scores, counts: Sequence[int] | np.ndarray[Any, Any] | None = None, *,
        confidence: float = DEFAULT_CONFIDENCE, min_n: int = DEFAULT_MIN_N) -> MetricValue:
    """Net Promoter Score (Bain): % of 9-10 minus % of 0-6 on the 0-10 scale.

    The interval is the Wald interval ``NPS ± z · 100 · sqrt((p_prom + p_det - (p_prom -
    p_det)^2) / n)``, clipped to [-100, 100].
    """
    values, weights = _prepare(scores, counts, (0, 10), confidence, min_n)
    n = int(weights.sum())
    promoters = int(weights[values >= 9].sum())
    detractors = int(weights[values <= 6].sum())
    if n == 0:
        return _empty("nps", "points", (0, 10), confidence, "wald (Rocks 2016)")
    p_prom, p_det = promoters / n, detractors / n
    score = p_prom - p_det
    half = z_value(confidence) * math.sqrt(max(p_prom + p_det - score * score, 0.0) / n)
    return MetricValue(
        "nps", 100 * score, n, max(-100.0, 100 * (score - half)),
        min(100.0, 100 * (score + half)), confidence, "wald (Rocks 2016)", 0, 10, "points",
        n < min_n, {"promoters": 100 * p_prom, "passives": 100 * (1 - p_prom - p_det),
                    "detractors": 100 * p_det})


def top_box(scores: Scores, counts: Sequence[int] | np.ndarray[Any, Any] | None = None, *,
            threshold: float, scale: tuple[float, float], metric: str = "top_box",
            confidence: float = DEFAULT_CONFIDENCE, min_n: int = DEFAULT_MIN_N
            ) -> MetricValue:
    """The share (in percent) of answers scoring ``threshold`` or more, Wilson interval."""
    values, weights = _prepare(scores, counts, scale, confidence, min_n)
    n = int(weights.sum())
    if n == 0:
        return _empty(metric, "percent", scale, confidence, "wilson")
    hits = int(weights[values >= threshold].sum())
    low, high = wilson_interval(hits, n, confidence)
    return MetricValue(metric, 100 * hits / n, n, 100 * low, 100 * high, confidence, "wilson",
                       scale[0], scale[1], "percent", n < min_n,
                       {"counted": float(hits)})


def mean_score(scores: Scores, counts: Sequence[int] | np.ndarray[Any, Any] | None = None, *,
               scale: tuple[float, float], metric: str = "mean",
               confidence: float = DEFAULT_CONFIDENCE, min_n: int = DEFAULT_MIN_N
               ) -> MetricValue:
    """The mean score with a Student-t interval (sample standard deviation, n - 1)."""
    values, weights = _prepare(scores, counts, scale, confidence, min_n)
    n = int(weights.sum())
    if n == 0:
        return _empty(metric, "mean", scale, confidence, "student t")
    mean = float((values * weights).sum() / n)
    sd = math.sqrt(float((weights * (values - mean) ** 2).sum()) / (n - 1)) if n > 1 else 0.0
    low, high = t_interval(mean, sd, n, confidence)
    if low is not None and high is not None:  # a mean inside its scale
        low, high = max(low, scale[0]), min(high, scale[1])
    return MetricValue(metric, mean, n, low, high, confidence, "student t", scale[0], scale[1],
                       "mean", n < min_n, {"sd": sd})


def csat(scores: Scores, counts: Sequence[int] | np.ndarray[Any, Any] | None = None, *,
         mean: bool = False, confidence: float = DEFAULT_CONFIDENCE,
         min_n: int = DEFAULT_MIN_N) -> MetricValue:
    """CSAT on the 1-5 scale: the share of 4 and 5 (top-two-box), or with ``mean`` the mean."""
    if mean:
        return mean_score(scores, counts, scale=(1, 5), metric="csat_mean",
                          confidence=confidence, min_n=min_n)
    return top_box(scores, counts, threshold=4, scale=(1, 5), metric="csat",
                   confidence=confidence, min_n=min_n)


def ces(scores: Scores, counts: Sequence[int] | np.ndarray[Any, Any] | None = None, *,
        share: bool = False, confidence: float = DEFAULT_CONFIDENCE,
        min_n: int = DEFAULT_MIN_N) -> MetricValue:
    """CES 2.0 on the 1-7 agreement scale (7 = easiest): the mean, or with ``share`` the share
    of 5-7."""
    if share:
        return top_box(scores, counts, threshold=5, scale=(1, 7), metric="ces_share",
                       confidence=confidence, min_n=min_n)
    return mean_score(scores, counts, scale=(1, 7), metric="ces", confidence=confidence,
                      min_n=min_n)


def metric_value(metric: str, scores: Scores,
                 counts: Sequence[int] | np.ndarray[Any, Any] | None = None, *,
                 scale: tuple[float, float] | None = None,
                 confidence: float = DEFAULT_CONFIDENCE, min_n: int = DEFAULT_MIN_N
                 ) -> MetricValue:
    """Any metric of :data:`METRICS` by name (``scale`` is used by ``mean`` only)."""
    options: dict[str, Any] = {"confidence": confidence, "min_n": min_n}
    if metric == "nps":
        return nps(scores, counts, **options)
    if metric in ("csat", "csat_mean"):
        return csat(scores, counts, mean=metric == "csat_mean", **options)
    if metric in ("ces", "ces_share"):
        return ces(scores, counts, share=metric == "ces_share", **options)
    if metric == "mean":
        return mean_score(scores, counts, scale=scale or DEFAULT_SCALES["rating"], **options)
    raise ValidationError(f"unknown metric {metric!r}; metrics: {', '.join(METRICS)}",
                          field="metric")


def band(survey: str, score: float, scale_min: float, scale_max: float) -> Band:
    """The score band of one answer: NPS detractors (0-6) ``low``, passives (7-8) ``mid``,
    promoters (9-10) ``high``; on any other scale below the midpoint ``low``, the midpoint
    ``mid``, above it ``high`` (CSAT 1-2 / 3 / 4-5, CES 1-3 / 4 / 5-7)."""
    if survey == "nps":
        return "low" if score <= 6 else "mid" if score <= 8 else "high"
    middle = (scale_min + scale_max) / 2
    return "low" if score < middle else "mid" if score == middle else "high"


def _empty(metric: str, unit: str, scale: tuple[float, float], confidence: float,
           method: str) -> MetricValue:
    return MetricValue(metric, None, 0, None, None, confidence, method, scale[0], scale[1],
                       unit, True)
