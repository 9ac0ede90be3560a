"""The models against the published CDNOW estimates, an independent implementation (lifetimes),
direct numerical integration, and data drawn from the models themselves."""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import gammaln

from tests.value import cdnow
from touchpath.value import BGNBDModel, GammaGammaModel, ParetoNBDModel
from touchpath.value.paretonbd import _log_likelihood as pareto_terms
from touchpath.value.simulate import simulate_bgnbd, simulate_paretonbd, simulate_spend


def within(got: dict[str, float], published: dict[str, float], tolerance: float = 0.01
           ) -> None:
    for name, value in published.items():
        assert got[name] == pytest.approx(value, rel=tolerance), (name, got)


def test_bgnbd_on_cdnow_matches_fader_hardie_lee_2005() -> None:
    # Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to
    # the Pareto/NBD Model", Marketing Science 24(2), p. 279: r = 0.243, α = 4.414,
    # a = 0.793, b = 2.426, LL = -9582.4 (2,357 customers, 39-week calibration, weeks)
    data = cdnow.summary()
    model = BGNBDModel.fit(data["frequency"], data["recency"], data["T"])
    within(model.params, {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert model.customers == 2357


def test_pareto_nbd_on_cdnow_matches_fader_hardie_lee() -> None:
    # Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
    # Analysis", JMR 42(4) (and the BG/NBD paper's Pareto/NBD comparison): r = 0.553,
    # α = 10.578, s = 0.606, β = 11.669, LL = -9595.0
    data = cdnow.summary()
    model = ParetoNBDModel.fit(data["frequency"], data["recency"], data["T"])
    within(model.params, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669})
    assert model.log_likelihood == pytest.approx(-9595.0, abs=0.1)


def test_gamma_gamma_on_cdnow_matches_fader_hardie_2013() -> None:
    # Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value": the 946 customers
    # with a repeat purchase in the 39-week calibration period, zbar the mean value of those
    # repeat purchases: p = 6.25, q = 3.74, γ = 15.44
    data = cdnow.summary_with_spend()
    repeaters = data[data["x"] > 0]
    assert len(repeaters) == 946
    model = GammaGammaModel.fit(repeaters["x"], repeaters["zbar"])
    within(model.params, {"p": 6.25, "q": 3.74, "gamma": 15.44})
    # the note's E(Z) for the population: pγ/(q-1) = 35.17
    assert model.mean_spend == pytest.approx(35.17, abs=0.02)


def _lifetimes() -> Any:
    pytest.importorskip("autograd")
    with warnings.catch_warnings():  # lifetimes imports pkg_resources (deprecated)
        warnings.simplefilter("ignore")
        import lifetimes
    return lifetimes


def _customers() -> pd.DataFrame:
    rows = [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (5, 20.0, 30.0),
            (7, 35.0, 36.0), (12, 30.0, 38.0), (30, 10.0, 39.0), (1, 0.5, 1.0), (0, 0.0, 2.0)]
    return pd.DataFrame(rows, columns=["frequency", "recency", "T"])


@pytest.mark.parametrize("t", [1.0, 10.0, 39.0, 200.0])
def test_bgnbd_predictions_equal_lifetimes(t: float) -> None:
    lifetimes = _lifetimes()
    model = BGNBDModel(0.243, 4.414, 0.793, 2.426)
    other = lifetimes.BetaGeoFitter()
    other.params_ = pd.Series(model.params)
    c = _customers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = other.conditional_expected_number_of_purchases_up_to_time(
            t, c["frequency"], c["recency"], c["T"])
        alive = other.conditional_probability_alive(c["frequency"], c["recency"], c["T"])
        new = other.expected_number_of_purchases_up_to_time(t)
    got = model.expected_purchases(t, c["frequency"], c["recency"], c["T"])
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-8)
    np.testing.assert_allclose(model.probability_alive(c["frequency"], c["recency"], c["T"]),
                               np.asarray(alive), rtol=1e-10)
    assert model.expected_purchases_new(t) == pytest.approx(float(new), rel=1e-8)


@pytest.mark.parametrize("t", [1.0, 10.0, 39.0, 200.0])
def test_pareto_nbd_predictions_equal_lifetimes(t: float) -> None:
    lifetimes = _lifetimes()
    model = ParetoNBDModel(0.553, 10.578, 0.606, 11.669)
    other = lifetimes.ParetoNBDFitter()
    other.params_ = pd.Series(model.params)
    c = _customers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = other.conditional_expected_number_of_purchases_up_to_time(
            t, c["frequency"], c["recency"], c["T"])
        alive = other.conditional_probability_alive(c["frequency"], c["recency"], c["T"])
        new = other.expected_number_of_purchases_up_to_time(t)
    got = model.expected_purchases(t, c["frequency"], c["recency"], c["T"])
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-8)
    np.testing.assert_allclose(model.probability_alive(c["frequency"], c["recency"], c["T"]),
                               np.asarray(alive), rtol=1e-8)
    assert model.expected_purchases_new(t) == pytest.approx(float(new), rel=1e-8)


def test_gamma_gamma_spend_equals_lifetimes() -> None:
    lifetimes = _lifetimes()
    model = GammaGammaModel(6.25, 3.74, 15.44)
    other = lifetimes.GammaGammaFitter()
    other.params_ = pd.Series({"p": 6.25, "q": 3.74, "v": 15.44})
    x = pd.Series([1, 2, 5, 10])
    z = pd.Series([10.0, 30.0, 55.5, 12.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = other.conditional_expected_average_profit(x, z)
    np.testing.assert_allclose(model.expected_spend(x, z), np.asarray(expected), rtol=1e-12)
    # no repeat purchase, or no value: the population mean
    assert model.expected_spend([0, 3], [np.nan, np.nan]) == pytest.approx(
        [model.mean_spend] * 2)


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669),   # α < β
                                    (0.9, 30.0, 1.4, 8.0),            # α > β
                                    (2.0, 5.0, 0.5, 5.0),             # α = β
                                    (0.5, 1.0, 0.6, 500.0),           # β ≫ α
                                    (0.5, 500.0, 0.6, 1.0),           # α ≫ β
                                    (3.0, 2.0, 0.2, 2000.0)])
@pytest.mark.parametrize("x, t_x, T", [(0, 0.0, 38.86), (2, 30.43, 38.86), (1, 1.71, 38.86),
                                       (40, 10.0, 38.0), (150, 20.0, 60.0), (3, 5.0, 5.0),
                                       (3000, 50.0, 52.0), (3000, 0.5, 52.0)])
def test_pareto_nbd_likelihood_equals_the_integral(params: tuple[float, ...], x: int,
                                                   t_x: float, T: float) -> None:
    # L = C [ (α+T)^-(r+x) (β+T)^-s + ∫_{t_x}^T s (α+τ)^-(r+x) (β+τ)^-(s+1) dτ ]: the
    # hypergeometric closed form, integrated numerically instead (scaled by the integrand at
    # t_x so that heavy buyers stay within floating point)
    r, alpha, s, beta = params
    log_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    shift = (r + x) * np.log(alpha + t_x) + (s + 1) * np.log(beta + t_x)
    alive = np.exp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T) + shift)
    died, _ = quad(lambda tau: s * np.exp(shift - (r + x) * np.log(alpha + tau)
                                          - (s + 1) * np.log(beta + tau)),
                   t_x, T, epsabs=0, epsrel=1e-13, limit=500,
                   points=t_x + (T - t_x) * np.array([1e-5, 1e-4, 1e-3, 1e-2, 0.1]))
    expected = log_c - shift + np.log(alive + died)
    got = pareto_terms(np.array(params), np.array([x], float), np.array([t_x]), np.array([T]))
    assert got[0] == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_pareto_nbd_stays_finite_for_heavy_buyers() -> None:
    # (1-z)^-(r+x) overflows a float for x in the thousands when α < β; the log form does not
    model = ParetoNBDModel(0.5, 1.0, 0.6, 500.0)
    x = np.array([3000.0, 5000.0])
    terms = model.log_likelihood_terms(x, [50.0, 51.0], [52.0, 52.0])
    alive = model.probability_alive(x, [50.0, 51.0], [52.0, 52.0])
    assert np.all(np.isfinite(terms))
    assert np.all((alive >= 0) & (alive <= 1))


@pytest.mark.parametrize("model", [BGNBDModel(0.243, 4.414, 0.793, 2.426),
                                   ParetoNBDModel(0.553, 10.578, 0.606, 11.669),
                                   BGNBDModel(2.0, 3.0, 1.5, 0.7)])
def test_expected_purchases_grow_with_t_and_p_alive_is_a_probability(model: Any) -> None:
    c = _customers()
    horizons = np.array([0.0, 0.5, 1.0, 5.0, 20.0, 52.0, 104.0, 520.0])
    curves = np.vstack([model.expected_purchases(t, c["frequency"], c["recency"], c["T"])
                        for t in horizons])
    assert np.all(curves[0] == pytest.approx(0.0, abs=1e-12))
    assert np.all(np.diff(curves, axis=0) > 0)
    alive = model.probability_alive(c["frequency"], c["recency"], c["T"])
    assert np.all((alive >= 0) & (alive <= 1))
    new = model.expected_purchases_new(horizons)
    assert np.all(np.diff(new) > 0)


def test_fits_recover_the_parameters_they_were_drawn_with() -> None:
    rng = np.random.default_rng(11)
    n = 100_000
    ages = rng.integers(1, 53, n) * 7.0
    drawn = simulate_bgnbd(n, 0.25, 28.0, 0.8, 2.5, ages, seed=1, resolution=1.0)
    bg = BGNBDModel.fit(drawn["frequency"], drawn["recency"], drawn["T"])
    within(bg.params, {"r": 0.25, "alpha": 28.0, "a": 0.8, "b": 2.5}, 0.1)
    spend = simulate_spend(drawn["frequency"], 6.25, 3.74, 15.44, seed=2)
    buyers = drawn["frequency"] > 0
    gg = GammaGammaModel.fit(drawn["frequency"][buyers], spend[buyers])
    within(gg.params, {"p": 6.25, "q": 3.74, "gamma": 15.44}, 0.1)
    drawn = simulate_paretonbd(n, 0.55, 70.0, 0.6, 84.0, ages, seed=3, resolution=1.0)
    pn = ParetoNBDModel.fit(drawn["frequency"], drawn["recency"], drawn["T"])
    within(pn.params, {"r": 0.55, "alpha": 70.0, "s": 0.6, "beta": 84.0}, 0.15)


def test_grouped_weights_equal_repeated_rows() -> None:
    data = cdnow.summary()
    counted = data.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    grouped = BGNBDModel.fit(counted["frequency"], counted["recency"], counted["T"],
                             weights=counted["n"])
    plain = BGNBDModel.fit(data["frequency"], data["recency"], data["T"])
    within(grouped.params, plain.params, 1e-6)


def test_gamma_gamma_refuses_customers_without_repeat_value() -> None:
    with pytest.raises(ValueError, match="frequency > 0 and monetary > 0"):
        GammaGammaModel.fit([1, 0], [10.0, 5.0])


def test_bgnbd_predictions_where_scipy_hyp2f1_gives_up() -> None:
    # a fit on data without dropouts runs to a, b in the hundreds of thousands (the demo
    # does); scipy's hyp2f1 returns NaN there and the integral over p takes over
    from touchpath.value.bgnbd import _purchases_if_alive

    edge = BGNBDModel(0.494, 14.07, 958096.0, 1443037.0)
    near = BGNBDModel(0.494, 14.07, 9580.96, 14430.37)
    t = np.array([1.0, 10.0, 52.0])
    x, t_x, T = np.array([0.0, 1, 3]), np.array([0.0, 2, 5]), np.array([8.0, 8, 9])
    got = edge.expected_purchases(t, x, t_x, T)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, near.expected_purchases(t, x, t_x, T), rtol=1e-3)
    # and the integral equals the closed form where both work
    r, alpha, a, b = 0.243, 4.414, 0.793, 2.426
    for horizon, x0, age in [(10.0, 0.0, 38.0), (39.0, 2.0, 38.86), (100.0, 5.0, 20.0)]:
        closed = BGNBDModel(r, alpha, a, b).expected_purchases(horizon, x0, age, age)
        odds = a / (b + x0 - 1) if x0 > 0 else 0.0  # t_x = T: P(alive) = 1 / (1 + odds)
        assert _purchases_if_alive(r, alpha, a, b, horizon, x0, age) / (1 + odds) == (
            pytest.approx(float(closed), rel=1e-9))


def test_bgnbd_gradient_equals_finite_differences() -> None:
    from touchpath.value.bgnbd import _log_likelihood as bg_terms

    data = cdnow.summary()
    x, t_x, T = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    for params in ([0.243, 4.414, 0.793, 2.426], [1.5, 2.0, 3.0, 0.8], [0.3, 9.0, 1.2, 5.0]):
        point = np.array(params)
        _, grads = bg_terms(point, x, t_x, T, gradient=True)
        for i in range(4):
            step = np.zeros(4)
            step[i] = 1e-6 * point[i]
            up, _ = bg_terms(point + step, x, t_x, T, gradient=False)
            down, _ = bg_terms(point - step, x, t_x, T, gradient=False)
            numeric = (up.sum() - down.sum()) / (2 * step[i])
            assert grads[i].sum() == pytest.approx(numeric, rel=1e-6, abs=1e-6), (params, i)


POSITIVE = st.floats(min_value=0.05, max_value=50.0)


@st.composite
def customers(draw: st.DrawFn) -> tuple[float, float, float]:
    age = draw(st.floats(min_value=0.5, max_value=100.0))
    x = draw(st.integers(min_value=0, max_value=60))
    t_x = 0.0 if x == 0 else draw(st.floats(min_value=0.0, max_value=age))
    return float(x), t_x, age


@settings(max_examples=int(os.environ.get("CLV_EXAMPLES", "80")), deadline=None)
@given(st.tuples(POSITIVE, POSITIVE, POSITIVE, POSITIVE), customers(),
       st.sampled_from(["bgnbd", "paretonbd"]))
def test_predictions_are_probabilities_and_grow_with_t(
        params: tuple[float, float, float, float], customer: tuple[float, float, float],
        name: str) -> None:
    model: Any = BGNBDModel(*params) if name == "bgnbd" else ParetoNBDModel(*params)
    x, t_x, age = customer
    alive = float(model.probability_alive(x, t_x, age))
    assert 0.0 <= alive <= 1.0
    horizons = np.array([0.0, 1.0, 5.0, 20.0, 100.0])
    curve = np.array([float(model.expected_purchases(t, x, t_x, age)) for t in horizons])
    assert np.all(np.isfinite(curve)), curve
    assert curve[0] == pytest.approx(0.0, abs=1e-9)
    assert np.all(np.diff(curve) >= -1e-9 * np.maximum(1.0, curve[1:])), curve
    assert np.isfinite(model.log_likelihood_terms(x, t_x, age)).all()


@settings(max_examples=int(os.environ.get("CLV_EXAMPLES", "60")), deadline=None)
@given(st.tuples(POSITIVE, POSITIVE, POSITIVE, POSITIVE), customers(),
       st.floats(min_value=0.1, max_value=200.0))
def test_bgnbd_closed_form_equals_the_integral_over_p(
        params: tuple[float, float, float, float], customer: tuple[float, float, float],
        t: float) -> None:
    # E[purchases ahead | alive] = E_p[(1 - (1 + p t/(α+T))^-(r+x)) / p], p ~ Beta(a, b+x):
    # an independent route (adaptive quadrature) to what the hypergeometric closed form gives
    from touchpath.value.bgnbd import _purchases_if_alive

    r, alpha, a, b = params
    x, _, age = customer
    model = BGNBDModel(*params)
    closed = float(model._if_alive(a, np.array(t), np.array(x), np.array(age)))
    integral = _purchases_if_alive(r, alpha, a, b, t, x, age)
    assert closed == pytest.approx(integral, rel=1e-6, abs=1e-12)


def _pareto_integral(params: tuple[float, ...], x: float, t_x: float, T: float) -> float:
    r, alpha, s, beta = params
    log_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    shift = (r + x) * np.log(alpha + t_x) + (s + 1) * np.log(beta + t_x)
    alive = np.exp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T) + shift)
    died, *_ = quad(lambda tau: s * np.exp(shift - (r + x) * np.log(alpha + tau)
                                           - (s + 1) * np.log(beta + tau)),
                    t_x, T, epsabs=0, epsrel=1e-13, limit=500, full_output=1,
                    points=t_x + (T - t_x) * np.array([1e-5, 1e-4, 1e-3, 1e-2, 0.1]))
    return float(log_c - shift + np.log(alive + died))


@settings(max_examples=int(os.environ.get("CLV_EXAMPLES", "60")), deadline=None)
@given(st.tuples(POSITIVE, POSITIVE, POSITIVE, POSITIVE), customers())
def test_pareto_nbd_likelihood_equals_the_integral_for_random_cases(
        params: tuple[float, float, float, float], customer: tuple[float, float, float]
        ) -> None:
    x, t_x, T = customer
    got = pareto_terms(np.array(params), np.array([x]), np.array([t_x]), np.array([T]))
    assert got[0] == pytest.approx(_pareto_integral(params, x, t_x, T), rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("params", [(1.74, 52.46, 26055.6, 2896500.5),   # concentrated Beta
                                    (1.26, 31.28, 9.15e-5, 29584.0),     # piled against 0
                                    (0.243, 4.414, 0.793, 2.426)])       # CDNOW
def test_fixed_rules_equal_the_adaptive_integral(params: tuple[float, ...]) -> None:
    from touchpath.value.bgnbd import _purchases_if_alive, _purchases_if_alive_many

    r, alpha, a, b = params
    t = np.array([4.3, 8.7, 52.0, 52.0, 300.0])
    x = np.array([0.0, 1.0, 3.0, 12.0, 2.0])
    age = np.array([8.0, 20.0, 3.0, 17.0, 30.0])
    many = _purchases_if_alive_many(r, alpha, a, b, t, x, age)
    for i in range(len(t)):
        one = _purchases_if_alive(r, alpha, a, b, float(t[i]), float(x[i]), float(age[i]))
        assert many[i] == pytest.approx(one, rel=1e-8)
