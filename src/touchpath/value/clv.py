"""Predictions from fitted models: purchases ahead, probability alive, spend, and CLV.

CLV over a horizon of ``H`` days with an annual discount rate ``d``, in steps of ``step``
days: the expected purchases in each step ``(t_{k-1}, t_k]`` (``t_k = min(k·step, H)``), times
the expected spend per purchase, discounted to the start by ``(1 + d)^(t_k / 365)``::

    CLV = E[Z | x, z̄] · Σ_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d)^(t_k / 365)

(the lifetimes package's ``customer_lifetime_value`` with monthly steps is the same sum with
a per-step rate). Every prediction is a function of ``(x, t_x, T)`` alone, so it is computed
once per distinct summary and spread back to the customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from touchpath.value._fit import Array, group
from touchpath.value.bgnbd import BGNBDModel
from touchpath.value.gammagamma import GammaGammaModel
from touchpath.value.paretonbd import ParetoNBDModel

PurchaseModel = BGNBDModel | ParetoNBDModel


@dataclass(frozen=True)
class Horizon:
    """``days`` ahead, in ``step_days`` steps, discounted at ``annual_discount_rate``."""

    days: int = 365
    step_days: int = 30
    annual_discount_rate: float = 0.10

    def steps(self) -> tuple[Array, Array]:
        """The step ends in days and each step's discount factor."""
        ends = np.minimum(np.arange(1, -(-self.days // self.step_days) + 1) * self.step_days,
                          self.days).astype(np.float64)
        return ends, (1.0 + self.annual_discount_rate) ** (-ends / 365.0)


def predict(model: PurchaseModel, spend: GammaGammaModel | None, persons: pd.DataFrame,
            horizon: Horizon, unit_days: float, holdout_length: float) -> pd.DataFrame:
    """Per person (the rows of ``persons``, a summary): ``p_alive``,
    ``expected_purchases`` (over the horizon), ``predicted_holdout_purchases`` (over the
    holdout, NaN without one), ``expected_spend``, ``discounted_purchases`` and ``clv``."""
    grouped = group(persons["frequency"], persons["recency"], persons["T"])
    x, t_x, age = grouped.columns
    ends, factors = horizon.steps()
    cumulative = np.vstack([model.expected_purchases(end / unit_days, x, t_x, age)
                            for end in ends])
    increments = np.diff(np.vstack([np.zeros_like(x), cumulative]), axis=0)
    distinct = pd.DataFrame({
        "frequency": x, "recency": t_x, "T": age,
        "p_alive": model.probability_alive(x, t_x, age),
        "expected_purchases": cumulative[-1],
        "discounted_purchases": np.einsum("k,kn->n", factors, increments),
        "predicted_holdout_purchases": (model.expected_purchases(holdout_length, x, t_x, age)
                                        if holdout_length > 0 else np.nan),
    })
    keys = persons[["frequency", "recency", "T"]].astype("float64")
    out = keys.merge(distinct, on=["frequency", "recency", "T"], how="left")
    out.index = persons.index
    if spend is not None:
        out["expected_spend"] = spend.expected_spend(persons["frequency"],
                                                     persons["monetary"])
        if spend.q <= 1:  # no population mean: only buyers with their own mean get one
            out.loc[persons["frequency"].to_numpy() == 0, "expected_spend"] = np.nan
    else:
        out["expected_spend"] = np.nan
    out["clv"] = out["discounted_purchases"] * out["expected_spend"]
    return out[["p_alive", "expected_purchases", "predicted_holdout_purchases",
                "expected_spend", "discounted_purchases", "clv"]]
