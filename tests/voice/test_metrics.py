"""The metric functions against their definitions: hand-checked examples, published interval
values and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from touchpath.errors import ValidationError
from touchpath.voice.metrics import (
    band,
    ces,
    csat,
    mean_score,
    metric_value,
    nps,
    t_interval,
    wilson_interval,
    z_value,
)

SETTINGS = settings(max_examples=80, deadline=None)


def test_nps_by_hand() -> None:
    # 10 answers: promoters 10, 9, 9, 10, 9 (5); passives 8, 7 (2); detractors 6, 3, 0 (3)
    # NPS = 50% - 30% = 20. Wald: var = (0.5 + 0.3 - 0.2^2) / 10 = 0.076, sd = 0.275681,
    # half width = 1.959964 * 0.275681 = 0.540325 -> [-34.03, 74.03] points.
    value = nps([10, 9, 9, 8, 7, 6, 3, 10, 9, 0])
    assert value.value == pytest.approx(20.0)
    assert value.n == 10
    assert value.ci_low == pytest.approx(-34.0325, abs=1e-4)
    assert value.ci_high == pytest.approx(74.0325, abs=1e-4)
    assert value.parts == pytest.approx({"promoters": 50.0, "passives": 20.0,
                                         "detractors": 30.0})
    assert (value.scale_min, value.scale_max, value.unit) == (0, 10, "points")
    assert value.small_sample  # 10 < 30


def test_nps_from_counts_equals_nps_of_the_answers() -> None:
    scores = [0, 6, 7, 8, 9, 10]
    counts = [2, 3, 1, 4, 5, 5]
    listed = [s for s, c in zip(scores, counts, strict=True) for _ in range(c)]
    assert nps(scores, counts) == nps(listed)
    # 10 promoters, 5 detractors of 20: 50% - 25% = 25
    assert nps(scores, counts).value == pytest.approx(25.0)


def test_extremes_and_the_boundaries_of_the_bands() -> None:
    assert nps([10] * 40).value == 100.0
    assert nps([6] * 40).value == -100.0
    assert nps([7, 8]).value == 0.0
    assert nps([9]).parts["promoters"] == 100.0 and nps([6]).parts["detractors"] == 100.0
    assert [band("nps", s, 0, 10) for s in (0, 6, 7, 8, 9, 10)] == [
        "low", "low", "mid", "mid", "high", "high"]
    assert [band("csat", s, 1, 5) for s in (1, 2, 3, 4, 5)] == [
        "low", "low", "mid", "high", "high"]
    assert [band("ces", s, 1, 7) for s in range(1, 8)] == [
        "low", "low", "low", "mid", "high", "high", "high"]


def test_csat_top_two_box_and_mean_by_hand() -> None:
    scores = [5, 4, 4, 3, 2, 1, 5, 5]  # 5 of 8 answers are 4 or 5
    top = csat(scores)
    assert top.value == pytest.approx(62.5)
    assert top.ci_method == "wilson" and top.unit == "percent"
    low, high = wilson_interval(5, 8)
    assert (top.ci_low, top.ci_high) == pytest.approx((100 * low, 100 * high))
    mean = csat(scores, mean=True)
    assert mean.value == pytest.approx(29 / 8)
    assert mean.metric == "csat_mean" and (mean.scale_min, mean.scale_max) == (1, 5)


def test_ces_mean_and_share_by_hand() -> None:
    scores = [7, 6, 5, 4, 3, 2, 1, 7]  # mean 35/8; 4 of 8 are 5-7
    assert ces(scores).value == pytest.approx(35 / 8)
    assert ces(scores, share=True).value == pytest.approx(50.0)
    assert ces(scores).scale_max == 7


def test_wilson_matches_newcombe_1998() -> None:
    # Newcombe, R. G. (1998), "Two-sided confidence intervals for the single proportion:
    # comparison of seven methods", Statistics in Medicine 17, 857-872, Table I, method 3
    # (score interval without continuity correction), examples (a)-(d).
    published = {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                 (0, 20): (0.0, 0.1611), (1, 29): (0.0061, 0.1718)}
    for (hits, n), (low, high) in published.items():
        have = wilson_interval(hits, n)
        assert round(have[0], 4) == low and round(have[1], 4) == high


def test_t_interval_by_hand() -> None:
    # 1..5: mean 3, sd sqrt(2.5) = 1.581139; t(4, 0.975) = 2.776445 (any t table):
    # half width 2.776445 * 1.581139 / sqrt(5) = 1.963243
    value = mean_score([1, 2, 3, 4, 5], scale=(1, 5))
    assert value.value == 3.0
    assert value.ci_low == pytest.approx(1.036757, abs=1e-6)
    assert value.ci_high == pytest.approx(4.963243, abs=1e-6)
    assert t_interval(3.0, 1.0, 1) == (None, None)
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)


def test_small_sample_threshold_is_configurable() -> None:
    scores = [9] * 12
    assert nps(scores).small_sample
    assert not nps(scores, min_n=12).small_sample
    assert nps(scores, min_n=13).small_sample


def test_empty_and_bad_input() -> None:
    empty = nps([])
    assert empty.n == 0 and empty.value is None and empty.ci_low is None and empty.small_sample
    assert csat([], mean=True).value is None
    with pytest.raises(ValidationError) as caught:
        nps([11])
    assert caught.value.field == "scores"
    with pytest.raises(ValidationError) as caught:
        csat([0])
    assert caught.value.field == "scores"
    with pytest.raises(ValidationError) as caught:
        nps([1, 2], [1])
    assert caught.value.field == "counts"
    with pytest.raises(ValidationError) as caught:
        metric_value("happiness", [1])
    assert caught.value.field == "metric"
    with pytest.raises(ValidationError) as caught:
        nps([5], confidence=1.5)
    assert caught.value.field == "confidence"


nps_scores = st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=300)


@SETTINGS
@given(nps_scores, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_nps_properties(scores: list[int], confidence: float) -> None:
    value = nps(scores, confidence=confidence)
    n = len(scores)
    promoters = sum(s >= 9 for s in scores) / n
    detractors = sum(s <= 6 for s in scores) / n
    assert value.value is not None and value.ci_low is not None and value.ci_high is not None
    assert -100 <= value.value <= 100
    assert value.value == pytest.approx(100 * promoters - 100 * detractors)
    assert -100 <= value.ci_low <= value.value + 1e-9
    assert value.value - 1e-9 <= value.ci_high <= 100
    assert value.n == n and value.small_sample == (n < 30)
    wider = nps(scores, confidence=0.999)
    assert wider.ci_low is not None and wider.ci_high is not None
    assert wider.ci_low <= value.ci_low + 1e-9 and wider.ci_high >= value.ci_high - 1e-9
    # the variance formula, unclipped
    half = z_value(confidence) * math.sqrt(
        (promoters + detractors - (promoters - detractors) ** 2) / n)
    assert value.ci_high == pytest.approx(min(100.0, 100 * (promoters - detractors + half)))


@SETTINGS
@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=300))
def test_csat_properties(scores: list[int]) -> None:
    top = csat(scores)
    share = sum(s in (4, 5) for s in scores) / len(scores)
    assert top.value == pytest.approx(100 * share)
    assert top.ci_low is not None and top.ci_high is not None
    assert 0 <= top.ci_low <= top.value <= top.ci_high <= 100
    mean = csat(scores, mean=True)
    assert mean.value == pytest.approx(float(np.mean(scores)))
    if len(scores) > 1:
        assert mean.ci_low is not None and mean.ci_high is not None
        assert 1 <= mean.ci_low <= mean.value <= mean.ci_high <= 5


@SETTINGS
@given(st.lists(st.integers(min_value=1, max_value=7), min_size=2, max_size=300))
def test_ces_properties(scores: list[int]) -> None:
    mean = ces(scores)
    assert mean.value == pytest.approx(float(np.mean(scores)))
    sd = float(np.std(scores, ddof=1))
    assert mean.parts["sd"] == pytest.approx(sd)
    assert mean.ci_low is not None and mean.ci_high is not None
    assert 1 <= mean.ci_low <= mean.value <= mean.ci_high <= 7
    share = ces(scores, share=True)
    assert share.value == pytest.approx(100 * sum(s >= 5 for s in scores) / len(scores))
