"""The Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo 1987; the
likelihood as in Fader & Hardie, "A Note on Deriving the Pareto/NBD Model and Related
Expressions", 2005).

While alive, a customer buys at a Poisson rate ``λ`` ~ Gamma(``r``, ``α``); their lifetime is
exponential with rate ``μ`` ~ Gamma(``s``, ``β``).

Numerics. The likelihood needs ``A0 = (r+s+x) ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ``,
which the note writes as a difference of two Gauss hypergeometric terms at ``t = t_x`` and
``t = T``. For ``α ≥ β`` the note's term ``2F1(r+s+x, s+1; r+s+x+1; (α-β)/(α+t)) /
(α+t)^(r+s+x)`` is well behaved (its ``2F1`` lies between 1 and ``((α+t)/(β+t))^(s+1)``) and is
used as written, in logs. For ``α < β`` the note's term ``2F1(r+s+x, r+x; r+s+x+1;
(β-α)/(β+t)) / (β+t)^(r+s+x)`` carries a parameter that grows with ``x``: the function and the
power overflow for heavy buyers, and scipy's ``hyp2f1`` loses its answer first. Pfaff's
transformation ``2F1(a, b; c; z) = (1-z)^-b 2F1(c-a, b; c; z/(z-1))`` applied twice turns it
into::

    (α+t)^-(r+s+x) ((β+t)/(α+t))^-(s+1) 2F1(s+1, 1; r+s+x+1; (β-α)/(β+t))

whose ``2F1`` has small parameters, an argument in ``[0, 1)`` and terms that shrink like
``(s+1)_n / (r+s+x+1)_n``. Where scipy's ``hyp2f1`` still fails (NaN for ``r+s+x`` in
the thousands with an argument near 1), the ``2F1`` is integrated numerically from its Euler
integral (:func:`_log_hyp`). Both forms are checked against direct numerical integration of
the likelihood in the tests, heavy buyers (``x = 3000``) included. The difference of the two
terms is taken as ``log(e^u - e^v) = u + log1p(-e^(v-u))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, gammaln, hyp2f1

from touchpath.value._fit import Array, as_arrays, group, maximise, wsum


@dataclass(frozen=True)
class ParetoNBDModel:
    """Fitted Pareto/NBD parameters."""

    name: ClassVar[str] = "paretonbd"
    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float = float("nan")
    customers: int = 0

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}

    @classmethod
    def fit(cls, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> ParetoNBDModel:
        """Maximum likelihood over customers (``weights``: customers per row). The gradient
        is by central differences (the hypergeometric function has no cheap derivative in
        its parameters)."""
        grouped = group(frequency, recency, T, weights=weights)
        x, t_x, age = grouped.columns
        w = grouped.weights
        terms = _GroupedTerms(x, t_x, age)

        def value(u: Array) -> float:
            return -wsum(w, terms.log_likelihood(np.exp(u)))

        def objective(u: Array) -> tuple[float, Array]:
            here = value(u)
            grad = np.empty(4)
            for i in range(4):
                step = np.zeros(4)
                step[i] = 1e-6
                grad[i] = (value(u + step) - value(u - step)) / 2e-6
            return here, grad

        fit = maximise(objective, np.ones(4), grouped.customers,
                       names=("r", "alpha", "s", "beta"), gradient=True)
        r, alpha, s, beta = (float(v) for v in fit.params)
        return cls(r, alpha, s, beta, fit.log_likelihood, round(grouped.customers))

    def log_likelihood_terms(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                             ) -> Array:
        x, t_x, age = as_arrays(frequency, recency, T)
        return _log_likelihood(self._vector, x, t_x, age)

    @property
    def _vector(self) -> Array:
        return np.array([self.r, self.alpha, self.s, self.beta])

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                          ) -> Array:
        """P(alive at ``T`` | x, t_x, T) (FH 2005 note, eq. 18)."""
        x, t_x, age = as_arrays(frequency, recency, T)
        r, alpha, s, beta = self._vector
        log_odds = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + age)
                    + s * np.log(beta + age) + _log_a0(self._vector, x, t_x, age))
        return np.asarray(expit(-log_odds), dtype=np.float64)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           T: ArrayLike) -> Array:
        """E[purchases in (T, T + t] | x, t_x, T] (FH 2005 note, eq. 22)."""
        horizon, x, t_x, age = as_arrays(t, frequency, recency, T)
        r, alpha, s, beta = self._vector
        s1 = s - 1 if abs(s - 1) > 1e-9 else 1e-9  # removable singularity at s = 1
        growth = -np.expm1(s1 * (np.log(beta + age) - np.log(beta + age + horizon))) / s1
        rate = (r + x) * (beta + age) / (alpha + age)
        return np.asarray(rate * growth * self.probability_alive(x, t_x, age),
                          dtype=np.float64)

    def expected_purchases_new(self, t: ArrayLike) -> Array:
        """E[X(t)] for a new customer (FH 2005 note, eq. 17)."""
        (horizon,) = as_arrays(t)
        r, alpha, s, beta = self._vector
        s1 = s - 1 if abs(s - 1) > 1e-9 else 1e-9
        return np.asarray(r * beta / (alpha * s1)
                          * -np.expm1(s1 * (np.log(beta) - np.log(beta + horizon))),
                          dtype=np.float64)


def _log_term(params: Array, x: Array, t: Array) -> Array:
    """``log[(r+s+x) ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ]`` (module docstring)."""
    r, alpha, s, beta = params
    rsx = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        log_hyp = _log_hyp(hyp2f1(s + 1, rsx, rsx + 1, z), s, rsx, z, True)
        return np.asarray(-rsx * np.log(alpha + t) + log_hyp, dtype=np.float64)
    y = (beta - alpha) / (beta + t)
    log_hyp = _log_hyp(hyp2f1(s + 1, 1.0, rsx + 1, y), s, rsx, y, False)
    return np.asarray(-rsx * np.log(alpha + t) - (s + 1) * (np.log(beta + t) - np.log(alpha + t))
                      + log_hyp, dtype=np.float64)


def _log_hyp(values: Array, s: float, rsx: Array, z: Array, first: bool) -> Array:
    """``log`` of scipy's ``hyp2f1`` values, with the ones it could not compute (NaN: large
    ``r+s+x`` with the argument near 1) integrated numerically instead: with ``A = r+s+x``
    and ``v = e^(-u/A)`` in the Euler integrals, ``2F1(s+1, A; A+1; z) = ∫_0^∞ e^-u
    (1 - z e^(-u/A))^-(s+1) du`` (``first``) and ``2F1(s+1, 1; A+1; z) = ∫_0^∞ e^-u
    (1 - z + z e^(-u/A))^-(s+1) du``."""
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(values)
    bad = np.flatnonzero(~np.isfinite(out) | ~(values > 0))
    if bad.size == 0:
        return out
    from scipy.integrate import quad

    zs = np.broadcast_to(z, values.shape)
    a_s = np.broadcast_to(rsx, values.shape)
    for i in bad:
        zi, ai = float(zs[i]), float(a_s[i])
        if first:  # scaled by (1-z)^(s+1), the integrand's largest value
            def integrand(u: float, zi: float = zi, ai: float = ai) -> float:
                return float(np.exp(-u) * ((1 - zi) / (1 - zi * np.exp(-u / ai))) ** (s + 1))
            scale = -(s + 1) * np.log1p(-zi)
        else:
            def integrand(u: float, zi: float = zi, ai: float = ai) -> float:
                return float(np.exp(-u) * (1 - zi + zi * np.exp(-u / ai)) ** -(s + 1))
            scale = 0.0
        value, _ = quad(integrand, 0.0, np.inf, epsabs=0.0, epsrel=1e-12, limit=200)
        out[i] = scale + np.log(value)
    return out


class _Pairs:
    """The distinct ``(x, t)`` pairs of a column pair, to evaluate :func:`_log_term` once each."""

    def __init__(self, x: Array, t: Array) -> None:
        pairs, self.inverse = np.unique(np.column_stack([x, t]), axis=0, return_inverse=True)
        self.inverse = self.inverse.reshape(-1)
        self.x, self.t = pairs[:, 0], pairs[:, 1]

    def log_term(self, params: Array) -> Array:
        return _log_term(params, self.x, self.t)[self.inverse]


class _GroupedTerms:
    """The log-likelihood of many rows, each part computed once per distinct value it depends
    on (``x``; ``T``; the pairs ``(x, t_x)`` and ``(x, T)``) and spread back by index: the
    special functions run over a few thousand values instead of every row."""

    def __init__(self, x: Array, t_x: Array, age: Array) -> None:
        self.x = x
        self.xs, self.x_index = np.unique(x, return_inverse=True)
        self.ages, self.age_index = np.unique(age, return_inverse=True)
        self.at_last = _Pairs(x, t_x)
        self.at_end = _Pairs(x, age)

    def log_likelihood(self, params: Array) -> Array:
        r, alpha, s, beta = params
        xs, ages = self.xs, self.ages
        by_x = (gammaln(r + xs) - gammaln(r))[self.x_index]
        log_rsx = np.log(r + s + xs)[self.x_index]
        log_alpha_t = np.log(alpha + ages)[self.age_index]
        log_beta_t = np.log(beta + ages)[self.age_index]
        log_a0 = _difference(self.at_last.log_term(params), self.at_end.log_term(params))
        alive = -(r + self.x) * log_alpha_t - s * log_beta_t
        died = np.log(s) - log_rsx + log_a0
        return np.asarray(by_x + r * np.log(alpha) + s * np.log(beta)
                          + np.logaddexp(alive, died), dtype=np.float64)


def _log_a0(params: Array, x: Array, t_x: Array, age: Array) -> Array:
    """``log A0``; ``-inf`` where ``t_x = T`` (the customer cannot have died in between)."""
    return _difference(_log_term(params, x, t_x), _log_term(params, x, age))


def _difference(first: Array, second: Array) -> Array:
    """``log(e^first - e^second)`` for ``first >= second``."""
    with np.errstate(divide="ignore"):
        return np.asarray(first + np.log1p(-np.exp(np.minimum(second - first, 0.0))),
                          dtype=np.float64)


def _log_likelihood(params: Array, x: Array, t_x: Array, age: Array,
                    log_a0: Array | None = None) -> Array:
    r, alpha, s, beta = params
    if log_a0 is None:
        log_a0 = _log_a0(params, x, t_x, age)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
    died = np.log(s) - np.log(r + s + x) + log_a0
    return np.asarray(base + np.logaddexp(alive, died), dtype=np.float64)
