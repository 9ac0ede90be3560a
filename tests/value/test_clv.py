"""The CLV sum: steps, discounting, and the spread of per-summary predictions to people."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from touchpath.value import BGNBDModel, GammaGammaModel, Horizon, ParetoNBDModel, predict

PERSONS = pd.DataFrame({
    "frequency": [0, 2, 2, 7, 1],
    "recency": [0.0, 30.43, 30.43, 35.0, 1.71],
    "T": [38.86, 38.86, 38.86, 38.0, 38.86],
    "monetary": [np.nan, 22.35, 22.35, 40.0, np.nan],
}, index=[10, 11, 12, 13, 14])


def test_steps_end_at_the_horizon() -> None:
    ends, factors = Horizon(days=365, step_days=30, annual_discount_rate=0.1).steps()
    assert list(ends) == [30.0 * k for k in range(1, 13)] + [365.0]
    assert factors[-1] == pytest.approx(1 / 1.1)
    assert np.all(np.diff(factors) < 0)
    ends, factors = Horizon(days=60, step_days=30, annual_discount_rate=0.0).steps()
    assert list(ends) == [30.0, 60.0] and list(factors) == [1.0, 1.0]


@pytest.mark.parametrize("model", [BGNBDModel(0.243, 4.414, 0.793, 2.426),
                                   ParetoNBDModel(0.553, 10.578, 0.606, 11.669)])
def test_clv_is_the_discounted_sum_of_each_step(model: BGNBDModel | ParetoNBDModel) -> None:
    spend = GammaGammaModel(6.25, 3.74, 15.44)
    horizon = Horizon(days=365, step_days=30, annual_discount_rate=0.12)
    got = predict(model, spend, PERSONS, horizon, unit_days=7.0, holdout_length=39.0)
    assert list(got.index) == list(PERSONS.index)
    for person, row in PERSONS.iterrows():
        x, t_x, age = row["frequency"], row["recency"], row["T"]
        total, before = 0.0, 0.0
        for end in [*range(30, 361, 30), 365]:
            now = float(model.expected_purchases(end / 7.0, x, t_x, age))
            total += (now - before) / 1.12 ** (end / 365)
            before = now
        money = float(spend.expected_spend(x, row["monetary"]))
        assert got.loc[person, "clv"] == pytest.approx(total * money, rel=1e-12)
        assert got.loc[person, "expected_purchases"] == pytest.approx(before, rel=1e-12)
        assert got.loc[person, "predicted_holdout_purchases"] == pytest.approx(
            float(model.expected_purchases(39.0, x, t_x, age)), rel=1e-12)
    # identical summaries get identical predictions; no discount = purchases × spend
    assert got.loc[11].equals(got.loc[12])
    flat = predict(model, spend, PERSONS, Horizon(365, 30, 0.0), 7.0, 0.0)
    np.testing.assert_allclose(flat["clv"], flat["expected_purchases"] * flat["expected_spend"])
    assert (got["clv"] < flat["clv"]).all()
    assert flat["predicted_holdout_purchases"].isna().all()


def test_without_a_spend_model_there_is_no_clv() -> None:
    got = predict(BGNBDModel(0.243, 4.414, 0.793, 2.426), None, PERSONS, Horizon(), 7.0, 0.0)
    assert got["clv"].isna().all() and got["expected_purchases"].notna().all()
