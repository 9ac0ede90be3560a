"""The Gamma-Gamma model of spend per transaction (Fader & Hardie, "The Gamma-Gamma Model of
Monetary Value", 2013; Colombo & Jiang 1999).

A customer's transaction values are Gamma(``p``, ``ν``) with ``ν`` ~ Gamma(``q``, ``γ``) across
customers, independent of their purchase counts. Fitted on the customers with at least one
repeat purchase, from ``x`` (repeat purchases) and ``z̄`` (their mean value).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from touchpath.value._fit import Array, group, maximise, wsum


@dataclass(frozen=True)
class GammaGammaModel:
    """Fitted Gamma-Gamma parameters (``gamma`` is the paper's ``γ``)."""

    name: ClassVar[str] = "gammagamma"
    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    customers: int = 0

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @classmethod
    def fit(cls, frequency: ArrayLike, monetary: ArrayLike,
            weights: ArrayLike | None = None) -> GammaGammaModel:
        """Maximum likelihood over customers with ``frequency > 0`` and ``monetary > 0``
        (the caller filters; others are an error here)."""
        x_all = np.asarray(frequency, dtype=np.float64)
        z_all = np.asarray(monetary, dtype=np.float64)
        if np.any(x_all <= 0) or np.any(~(z_all > 0)):
            raise ValueError("the Gamma-Gamma model needs frequency > 0 and monetary > 0")
        grouped = group(x_all, z_all, weights=weights)
        x, z = grouped.columns
        w = grouped.weights
        # the special functions depend on x alone (a few distinct values): computed per x
        xs, x_index = np.unique(x, return_inverse=True)
        w_by_x = np.bincount(x_index, weights=w).astype(np.float64)
        wx_by_x = w_by_x * xs
        log_z = np.log(z)
        constant = wsum(w, x * (log_z + np.log(x)))  # Σ w x (log z + log x)
        sum_log_z = wsum(w, log_z)

        def objective(u: Array) -> tuple[float, Array]:
            p, q, g = np.exp(u)
            pxs = p * xs
            big = g + x * z
            log_big = np.log(big)
            total = (wsum(w_by_x, gammaln(pxs + q) - gammaln(pxs)) - w.sum() * gammaln(q)
                     + w.sum() * q * np.log(g) + p * constant - sum_log_z
                     - wsum(w, (p * x + q) * log_big))
            psi = digamma(pxs + q)
            d_p = (wsum(wx_by_x, psi - digamma(pxs)) + constant - wsum(w, x * log_big))
            d_q = (wsum(w_by_x, psi) - w.sum() * digamma(q) + w.sum() * np.log(g)
                   - wsum(w, log_big))
            d_g = w.sum() * q / g - wsum(w, (p * x + q) / big)
            grad = np.array([d_p, d_q, d_g]) * np.exp(u)
            return -float(total), -grad

        fit = maximise(objective, np.ones(3), grouped.customers,
                       names=("p", "q", "gamma"), gradient=True)
        p, q, g = (float(v) for v in fit.params)
        return cls(p, q, g, fit.log_likelihood, round(grouped.customers))

    @property
    def mean_spend(self) -> float:
        """E[Z] over the population, ``pγ/(q-1)`` (infinite when ``q ≤ 1``)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def expected_spend(self, frequency: ArrayLike, monetary: ArrayLike) -> Array:
        """E[Z | x, z̄] (FH 2013, eq. 5): a weighted mean of the population mean and the
        customer's own mean; the population mean for customers without repeat purchases
        (or without a positive mean value)."""
        x = np.asarray(frequency, dtype=np.float64)
        z = np.asarray(monetary, dtype=np.float64)
        known = (x > 0) & (z > 0)  # a repeat buyer without a (positive) mean: as a new one
        x = np.where(known, x, 0.0)
        z = np.where(known, z, 0.0)
        return np.asarray((self.gamma + x * z) * self.p / (self.p * x + self.q - 1),
                          dtype=np.float64)
