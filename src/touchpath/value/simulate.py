"""Customers drawn from the models themselves, for checks and benchmarks: a fit on data drawn
with known parameters must find them again.

Times are drawn in continuous time and, with ``resolution``, rounded to the nearest whole
``resolution`` (1 for days when the unit is days): real purchase data comes in whole days, and
whole times let identical customers be grouped in the fit. (Flooring instead of rounding makes
every customer look a little longer inactive and biases the Pareto/NBD dropout rate.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def _ages(n: int, T: ArrayLike | float) -> np.ndarray:
    return np.broadcast_to(np.asarray(T, dtype=np.float64), (n,)).copy()


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, T: ArrayLike | float,
                   *, seed: int = 0, resolution: float = 0.0) -> pd.DataFrame:
    """``n`` BG/NBD customers observed for ``T`` (a number or one per customer) since their
    first purchase: ``frequency``, ``recency``, ``T``. Each waits an exponential time (rate
    ``λ`` ~ Gamma(r, α)) for the next purchase and drops out after each purchase with
    probability ``p`` ~ Beta(a, b)."""
    rng = np.random.default_rng(seed)
    ages = _ages(n, T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    clock = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    last = np.zeros(n)
    active = np.arange(n)
    while active.size:
        clock[active] += rng.exponential(1.0, active.size) / lam[active]
        bought = clock[active] <= ages[active]
        active = active[bought]
        x[active] += 1
        last[active] = clock[active]
        stays = rng.random(active.size) >= p[active]
        active = active[stays]
    return _frame(x, last, ages, resolution)


def simulate_paretonbd(n: int, r: float, alpha: float, s: float, beta: float,
                       T: ArrayLike | float, *, seed: int = 0, resolution: float = 0.0
                       ) -> pd.DataFrame:
    """``n`` Pareto/NBD customers: purchases at rate ``λ`` ~ Gamma(r, α) over an exponential
    lifetime of rate ``μ`` ~ Gamma(s, β), observed for ``T`` since their first purchase."""
    rng = np.random.default_rng(seed)
    ages = _ages(n, T)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    lifetime = rng.exponential(1.0, n) / mu
    span = np.minimum(lifetime, ages)
    x = rng.poisson(lam * span)
    # the last of x uniform times on (0, span): span · U^(1/x)
    last = np.where(x > 0, span * rng.random(n) ** (1.0 / np.maximum(x, 1)), 0.0)
    return _frame(x, last, ages, resolution)


def simulate_spend(frequency: ArrayLike, p: float, q: float, gamma: float, *, seed: int = 0
                   ) -> np.ndarray:
    """Mean repeat-purchase value of each customer under Gamma-Gamma(p, q, γ): each
    customer's scale ``ν`` ~ Gamma(q, γ), the mean of ``x`` Gamma(p, ν) values ~
    Gamma(p·x, x·ν). NaN where ``frequency`` is 0."""
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(q, 1.0 / gamma, x.size)
    shape = np.where(x > 0, p * x, 1.0)
    means = rng.gamma(shape, 1.0 / (np.maximum(x, 1.0) * nu))
    return np.where(x > 0, means, np.nan)


def _frame(x: np.ndarray, last: np.ndarray, ages: np.ndarray, resolution: float
           ) -> pd.DataFrame:
    if resolution > 0:
        last = np.minimum(np.round(last / resolution) * resolution, ages)
    return pd.DataFrame({"frequency": x, "recency": np.where(x > 0, last, 0.0), "T": ages})
