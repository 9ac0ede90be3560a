"""The BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005, "Counting Your Customers
the Easy Way").

While alive, a customer buys at a Poisson rate ``λ`` ~ Gamma(``r``, ``α``); after each purchase
they drop out with probability ``p`` ~ Beta(``a``, ``b``). A customer is summarised by ``x``
(repeat purchases), ``t_x`` (time of the last purchase, from the first) and ``T`` (time from the
first purchase to the end of the calibration period).

>>> model = BGNBDModel.fit(frequency, recency, T)                  # doctest: +SKIP
>>> model.expected_purchases(52, frequency, recency, T)            # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from touchpath.value._fit import Array, as_arrays, group, maximise, wsum


@dataclass(frozen=True)
class BGNBDModel:
    """Fitted BG/NBD parameters (``log_likelihood`` over the ``customers`` it was fitted on)."""

    name: ClassVar[str] = "bgnbd"
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    customers: int = 0

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @classmethod
    def fit(cls, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> BGNBDModel:
        """Maximum likelihood over customers (``weights``: customers per row)."""
        grouped = group(frequency, recency, T, weights=weights)
        x, t_x, age = grouped.columns
        w = grouped.weights

        def objective(u: Array) -> tuple[float, Array]:
            terms, grads = _log_likelihood(np.exp(u), x, t_x, age, gradient=True)
            return -wsum(w, terms), -np.einsum("ij,j->i", grads, w) * np.exp(u)

        fit = maximise(objective, np.ones(4), grouped.customers,
                       names=("r", "alpha", "a", "b"), gradient=True)
        r, alpha, a, b = (float(v) for v in fit.params)
        return cls(r, alpha, a, b, fit.log_likelihood, round(grouped.customers))

    def log_likelihood_terms(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                             ) -> Array:
        """Each customer's log-likelihood."""
        x, t_x, age = as_arrays(frequency, recency, T)
        terms, _ = _log_likelihood(np.array([self.r, self.alpha, self.a, self.b]), x, t_x, age,
                                   gradient=False)
        return terms

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                          ) -> Array:
        """P(alive at ``T`` | x, t_x, T); 1 for customers without repeat purchases."""
        x, t_x, age = np.broadcast_arrays(*as_arrays(frequency, recency, T))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        buyers = x > 0
        log_odds = np.full(x.shape, -np.inf)
        xb = x[buyers]
        log_odds[buyers] = (np.log(a) - np.log(b + xb - 1)
                            + (r + xb) * (np.log(alpha + age[buyers])
                                          - np.log(alpha + t_x[buyers])))
        return np.asarray(expit(-log_odds), dtype=np.float64)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike,
                           T: ArrayLike) -> Array:
        """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10).

        The Gauss hypergeometric term ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)``, ``z =
        t/(α+T+t)``, is taken after two Pfaff transformations as ``(1-z)^(a-1) 2F1(a+b-1-r,
        a-1; a+b+x-1; z)``: the argument stays in [0, 1) and only the third parameter grows
        with ``x`` (scipy's ``hyp2f1`` returned wrong values, even negative ones, for the
        one-step form's argument ``-t/(α+T)`` below -1). Where the result is still not
        finite, or the factor comes out negative (``a`` or ``b`` in the hundreds of
        thousands, ``a`` near 0: fits on data without dropouts run to such edges), the same
        quantity is integrated numerically (:func:`_purchases_if_alive_many`).
        """
        horizon, x, t_x, age = as_arrays(t, frequency, recency, T)
        a = self.a
        if abs(a - 1.0) < _NEAR_ONE:  # 0/0 at a = 1: interpolate between a = 1 ± δ
            low = self._if_alive(1.0 - _NEAR_ONE, horizon, x, age)
            high = self._if_alive(1.0 + _NEAR_ONE, horizon, x, age)
            first = low + (high - low) * (a - 1.0 + _NEAR_ONE) / (2 * _NEAR_ONE)
        else:
            first = self._if_alive(a, horizon, x, age)
        return np.asarray(first * self.probability_alive(x, t_x, age), dtype=np.float64)

    def _if_alive(self, a: float, horizon: Array, x: Array, age: Array) -> Array:
        """The first factor of :meth:`expected_purchases` (purchases ahead if alive), for
        dropout parameter ``a``."""
        r, alpha, b = self.r, self.alpha, self.b
        c = a + b + x - 1
        z = horizon / (alpha + age + horizon)
        with np.errstate(all="ignore"):  # 0 · inf at the edges: NaN, handled below
            hyp = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, c, z)
            first = np.array(c / (a - 1) * (1.0 - hyp), dtype=np.float64, ndmin=1)
        bad = np.flatnonzero(~np.isfinite(first) | (first < 0))
        if bad.size:
            shape = first.shape
            h, xs, ts = (np.broadcast_to(v, shape).reshape(-1)[bad] for v in (horizon, x, age))
            flat = first.reshape(-1)
            flat[bad] = _purchases_if_alive_many(r, alpha, a, b, h, xs, ts)
            first = flat.reshape(shape)
        if np.ndim(c) == 0 and np.ndim(horizon) == 0:
            return np.asarray(first[0], dtype=np.float64)
        return first

    def expected_purchases_new(self, t: ArrayLike) -> Array:
        """E[X(t)]: purchases of a new customer in their first ``t`` (FHL 2005, eq. 9)."""
        (horizon,) = as_arrays(t)
        zero = np.zeros_like(horizon)
        return self.expected_purchases(horizon, zero, zero, zero)


Rows = NDArray[np.intp]
_NEAR_ONE = 1e-4
"""Within this of a = 1 the closed form is 0/0 and is interpolated between a = 1 ± 1e-4
(linear in a: error of order 1e-8; each end loses only ~1e-12 to cancellation)."""


def _purchases_if_alive_many(r: float, alpha: float, a: float, b: float, t: Array, x: Array,
                             age: Array) -> Array:
    """:func:`_purchases_if_alive` for many rows, by fixed quadrature rules where two
    resolutions agree to 1e-10 (relative), else by the adaptive integral. Two rules, as the
    Beta may be of two kinds: Gauss-Legendre over the quantiles ``u`` (a Beta piled against 0,
    ``a`` near 0) and Gauss-Hermite over normal scores ``v``, ``u = Φ(v)`` (a Beta
    concentrated like a normal, ``a`` and ``b`` large, whose quantile function is then close
    to linear in ``v``)."""
    from scipy.special import betainccinv, betaincinv, ndtr

    xs, x_index = np.unique(x, return_inverse=True)  # the quantiles depend on x alone
    x_index = x_index.reshape(-1)
    b_x = (b + xs)[:, None]

    def expectation(rows: Rows, p: Array, weights: Array) -> Array:
        shape = (r + x[rows])[:, None]
        scale = (t[rows] / (alpha + age[rows]))[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(p > 0, -np.expm1(-shape * np.log1p(p * scale)) / p, shape * scale)
        return np.asarray(np.einsum("ij,j->i", gain, weights), dtype=np.float64)

    def legendre(rows: Rows, nodes: int) -> Array:
        u, weights = np.polynomial.legendre.leggauss(nodes)
        p = betaincinv(a, b_x, ((u + 1) / 2)[None, :])[x_index[rows]]
        return expectation(rows, p, weights / 2)

    def hermite(rows: Rows, nodes: int) -> Array:
        v, weights = np.polynomial.hermite_e.hermegauss(nodes)
        # upper half through the complement, so that Φ(v) does not round to 1
        lower = betaincinv(a, b_x, ndtr(np.minimum(v, 0.0))[None, :])
        upper = betainccinv(a, b_x, ndtr(-np.maximum(v, 0.0))[None, :])
        p = np.where(v[None, :] <= 0, lower, upper)[x_index[rows]]
        return expectation(rows, p, weights / np.sqrt(2 * np.pi))

    out = np.full(len(x), np.nan)
    for rule, (few, many) in ((legendre, (48, 96)), (hermite, (40, 80))):
        todo = np.flatnonzero(np.isnan(out))
        if not todo.size:
            break
        coarse, fine = rule(todo, few), rule(todo, many)
        good = np.abs(fine - coarse) <= 1e-10 * np.abs(fine)
        out[todo[good]] = fine[good]
    for i in np.flatnonzero(np.isnan(out)):
        out[i] = _purchases_if_alive(r, alpha, a, b, float(t[i]), float(x[i]), float(age[i]))
    return out


def _purchases_if_alive(r: float, alpha: float, a: float, b: float, t: float, x: float,
                        age: float) -> float:
    """E[purchases in (T, T+t] | alive at T, x, T] as an integral over the dropout
    probability: given ``λ`` and ``p`` it is ``(1 - e^(-λpt)) / p``; ``λ`` | data ~
    Gamma(r+x, α+T) and ``p`` | alive ~ Beta(a, b+x) give ``E_p[(1 - (1 + pt/(α+T))^-(r+x))
    / p]``, which equals the closed form's first factor. The expectation is integrated over
    the Beta's quantiles (``p = F^-1(u)``, ``u`` uniform): the integrand is then bounded and
    monotone however concentrated or singular the Beta density is."""
    from scipy.integrate import quad
    from scipy.special import betaincinv

    shape = r + x
    scale = t / (alpha + age)

    def integrand(u: float) -> float:
        p = float(betaincinv(a, b + x, u))
        return float(-np.expm1(-shape * np.log1p(p * scale)) / p) if p > 0 else shape * scale

    # full_output: no IntegrationWarning when the last digits stall on roundoff (the
    # integrand is bounded and monotone; the estimate is then still good to ~1e-9)
    value, *_ = quad(integrand, 0.0, 1.0, epsabs=0.0, epsrel=1e-10, limit=200, full_output=1)
    return float(value)


def _log_likelihood(params: Array, x: Array, t_x: Array, age: Array, *, gradient: bool
                    ) -> tuple[Array, Array]:
    """FHL 2005 eq. 6 per row, in logs, and (optionally) its gradient (4 × rows)."""
    r, alpha, a, b = params
    buyers = x > 0
    bx1 = np.where(buyers, b + x - 1, 1.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + age)
    a4 = np.where(buyers, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    mix = np.logaddexp(a3, a4)
    terms = a1 + a2 + mix
    if not gradient:
        return terms, np.empty((0, *np.shape(x)))
    w4 = np.exp(a4 - mix)  # share of the "dropped out at t_x" branch
    w3 = 1.0 - w4
    d_r = (digamma(r + x) - digamma(r) + np.log(alpha)
           - w3 * np.log(alpha + age) - w4 * np.log(alpha + t_x))
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + age) + w4 / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = (digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
           - np.where(buyers, w4 / bx1, 0.0))
    return terms, np.vstack([d_r, d_alpha, d_a, d_b])
