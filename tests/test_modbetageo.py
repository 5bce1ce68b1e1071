"""MBG/NBD: CDNOW fit against lifetimes, predictions, integrals, parameter recovery, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate, optimize, special

from retention.models import ConvergenceError, NotFittedError
from retention.models.modbetageo import ModifiedBetaGeo, _MBGNBDLikelihood

# lifetimes 0.11.3 ModifiedBetaGeoFitter().fit(frequency, recency, T) (default tol) on the
# summary of the `cdnow_summary` fixture below (written to CSV and read back in a separate
# environment with lifetimes installed); its log-likelihood is
# -len(summary) * ModifiedBetaGeoFitter._negative_log_likelihood(log(params), ..., weights=1).
LIFETIMES_FIT = {"r": 0.5248429031495716, "alpha": 6.183081764399113,
                 "a": 0.8913595172712548, "b": 1.6140029311984752}
LIFETIMES_LL = -9582.135715553766
LIFETIMES_SE = {"r": 0.083268, "alpha": 0.695620, "a": 0.154790, "b": 0.537495}

# Predictions of lifetimes 0.11.3's ModifiedBetaGeoFitter with params_ set to PEER:
# conditional_probability_alive(x, t_x, T),
# conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
# expected_number_of_purchases_up_to_time(t) for t in (1, 39, 78) and
# probability_of_n_purchases_up_to_time(39, n) for n in (0, 1, 2, 5).
PEER = {"r": 0.5248, "alpha": 6.1831, "a": 0.8914, "b": 1.6140}
HISTORIES = [(0, 0.0, 38.86), (0, 0.0, 10.0), (1, 1.71, 38.86), (2, 30.43, 38.86),
             (5, 10.0, 35.0), (12, 37.0, 38.0)]
LIFETIMES_ALIVE = [0.38972453325717227, 0.5221710674198102, 0.17082450494207602,
                   0.7061180002642629, 0.04084192515467512, 0.919777560826382]
LIFETIMES_COND_39 = [0.15394516025397187, 0.4824748380082362, 0.1887887143420337,
                     1.2626267058525227, 0.16580115618683783, 7.78360456263779]
LIFETIMES_NEW = [0.0530549407564247, 1.1821536950210723, 1.8034315653155257]
LIFETIMES_PMF_39 = [0.582631726362371, 0.18275898956348538, 0.08686576421125869,
                    0.01937356796339095]


@pytest.fixture
def peer_model() -> ModifiedBetaGeo:
    mbg = ModifiedBetaGeo()
    mbg.params_ = dict(PEER)
    return mbg


def simulate_mbgnbd(n: int, r: float, alpha: float, a: float, b: float,
                    seed: int) -> pd.DataFrame:
    """Customers observed for T in [26, 52] weeks; a coin with P(drop) = p is tossed after
    every purchase, the first included, so x = min(Poisson count, geometric - 1)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(26, 52, n)
    n_events = rng.poisson(lam * T)  # repeat purchases in (0, T] if she never dropped out
    repeats_before_dropout = rng.geometric(p) - 1
    x = np.minimum(n_events, repeats_before_dropout)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), n_events - x + 1), 0.0)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


# ---------------------------------------------------------------------------------------------
# CDNOW
# ---------------------------------------------------------------------------------------------


def test_cdnow_fit_matches_lifetimes(cdnow_summary):
    mbg = ModifiedBetaGeo().fit(cdnow_summary)
    for name, value in LIFETIMES_FIT.items():
        assert mbg.params_[name] == pytest.approx(value, rel=1e-3), name
        assert mbg.standard_errors_[name] == pytest.approx(LIFETIMES_SE[name], rel=1e-3), name
    # rounded as usually published: r = 0.525, alpha = 6.183, a = 0.891, b = 1.614
    assert {k: round(v, 3) for k, v in mbg.params_.items()} == {
        "r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
    assert mbg.log_likelihood_ == pytest.approx(LIFETIMES_LL, abs=1e-3)
    assert mbg.n_customers_ == 2357
    assert mbg.time_unit_ == "W"
    assert list(mbg.summary.index) == ["r", "alpha", "a", "b"]


def test_cdnow_fit_does_not_depend_on_time_unit(cdnow_summary):
    weeks = ModifiedBetaGeo().fit(cdnow_summary)
    days = ModifiedBetaGeo().fit(cdnow_summary.assign(recency=cdnow_summary["recency"] * 7,
                                                      T=cdnow_summary["T"] * 7))
    assert days.params_["alpha"] == pytest.approx(7 * weeks.params_["alpha"], rel=1e-5)
    for k in ("r", "a", "b"):
        assert days.params_[k] == pytest.approx(weeks.params_[k], rel=1e-5)


# ---------------------------------------------------------------------------------------------
# predictions
# ---------------------------------------------------------------------------------------------


def _columns(histories):
    return (np.array([h[i] for h in histories], dtype=float) for i in range(3))


def test_predictions_equal_lifetimes(peer_model):
    x, tx, T = _columns(HISTORIES)
    np.testing.assert_allclose(peer_model.probability_alive(x, tx, T), LIFETIMES_ALIVE,
                               rtol=1e-10)
    np.testing.assert_allclose(peer_model.conditional_expected_purchases(39, x, tx, T),
                               LIFETIMES_COND_39, rtol=1e-9)
    np.testing.assert_allclose(peer_model.expected_purchases_new([1.0, 39.0, 78.0]),
                               LIFETIMES_NEW, rtol=1e-9)
    np.testing.assert_allclose(peer_model.probability_of_purchases([0, 1, 2, 5], 39.0),
                               LIFETIMES_PMF_39, rtol=1e-9)


def test_one_time_buyer_is_not_certainly_alive(peer_model):
    a, b = PEER["a"], PEER["b"]
    assert peer_model.probability_alive(0, 0, 0) == pytest.approx(b / (a + b), rel=1e-12)
    alive = peer_model.probability_alive(0, 0, np.array([1.0, 10.0, 39.0]))
    assert (alive < 1).all() and (np.diff(alive) < 0).all()


def test_new_customer_is_the_zero_history_case(peer_model):
    t = np.array([0.5, 10.0, 52.0])
    np.testing.assert_allclose(peer_model.expected_purchases_new(t),
                               peer_model.conditional_expected_purchases(t, 0, 0.0, 0.0),
                               rtol=1e-12)


def _over_p(f):
    value, _ = integrate.quad(f, 0, 1, weight="alg", wvar=(PEER["a"] - 1, PEER["b"] - 1),
                              epsabs=0, epsrel=1e-10, limit=200)
    return value / special.beta(PEER["a"], PEER["b"])


def _gamma_moment(x, s):  # E[lambda^x e^(-lambda s)], lambda ~ Gamma(r, alpha)
    r, alpha = PEER["r"], PEER["alpha"]
    return np.exp(special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                  - (r + x) * np.log(alpha + s))


@pytest.mark.parametrize(("x", "tx", "T"), [(2, 30.43, 38.86), (0, 0.0, 20.0), (5, 10.0, 35.0)])
def test_conditional_expectation_and_alive_match_integrals(peer_model, x, tx, T):
    # Over p with quad (Beta weight), over lambda with the elementary Gamma integral. Alive at
    # T: x+1 coins (first purchase and every repeat) came up "stay"; dropped out: x "stay"
    # then "drop" right after the last purchase.
    t = 39.0

    def alive_lik(q):
        return (1 - q) ** (x + 1) * _gamma_moment(x, T)

    def dead_lik(q):
        return q * (1 - q) ** x * _gamma_moment(x, tx)

    def future(q):  # alive, times E[purchases in (T, T+t] | alive, lambda, p]
        if q == 0:
            return t * _gamma_moment(x + 1, T)
        return (1 - q) ** (x + 1) * (_gamma_moment(x, T) - _gamma_moment(x, T + q * t)) / q

    evidence = _over_p(lambda q: alive_lik(q) + dead_lik(q))
    assert peer_model.probability_alive(x, tx, T) == pytest.approx(
        _over_p(alive_lik) / evidence, rel=1e-7)
    assert peer_model.conditional_expected_purchases(t, x, tx, T) == pytest.approx(
        _over_p(future) / evidence, rel=1e-7)


def test_purchase_count_distribution_sums_to_one_with_right_mean(peer_model):
    k = np.arange(600)
    for t in (1.0, 39.0, 78.0):
        pmf = peer_model.probability_of_purchases(k, t)
        assert (pmf >= 0).all()
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert (k * pmf).sum() == pytest.approx(peer_model.expected_purchases_new(t), rel=1e-7)


def test_a_near_one_is_continuous(peer_model):
    values = []
    for a in (1 - 2e-4, 1 - 5e-5, 1.0, 1 + 5e-5, 1 + 2e-4):
        peer_model.params_ = {**PEER, "a": a}
        values.append(peer_model.conditional_expected_purchases(39, 2, 30.43, 38.86))
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, values[2], rtol=1e-3)


def test_series_inputs_keep_the_index_and_impossible_histories_are_refused(peer_model):
    s = pd.DataFrame({"frequency": [0, 3, 0], "recency": [0.0, 20.0, 5.0],
                      "T": [30.0, 30.0, 30.0]}, index=["u", "v", "w"])
    possible = s.iloc[:2]
    alive = peer_model.probability_alive(possible["frequency"], possible["recency"],
                                         possible["T"])
    assert isinstance(alive, pd.Series) and list(alive.index) == ["u", "v"]
    assert alive.notna().all()
    expected = peer_model.conditional_expected_purchases(10, possible["frequency"],
                                                         possible["recency"], possible["T"])
    assert list(expected.index) == ["u", "v"] and expected.notna().all()
    with pytest.raises(ValueError, match=r"above 0 while frequency is 0.*\['w'\]"):
        peer_model.probability_alive(s["frequency"], s["recency"], s["T"])
    with pytest.raises(ValueError, match=r"recency has 1 value\(s\) greater than T"):
        peer_model.probability_alive(1, 40.0, 30.0)


params = st.fixed_dictionaries({
    "r": st.floats(0.05, 5), "alpha": st.floats(0.5, 50),
    "a": st.floats(0.1, 5), "b": st.floats(0.1, 10),
})
histories = st.tuples(st.integers(0, 60), st.floats(0, 1), st.floats(0, 200)).map(
    lambda h: (h[0], h[1] * h[2] if h[0] > 0 else 0.0, h[2]))


@settings(max_examples=200, deadline=None)
@given(p=params, h=histories, t=st.floats(0.1, 100))
def test_properties(p, h, t):
    mbg = ModifiedBetaGeo()
    mbg.params_ = p
    x, tx, T = h
    alive = mbg.probability_alive(x, tx, T)
    assert 0.0 <= alive < 1.0
    assert mbg.probability_alive(x, tx, T + 10) <= alive + 1e-12
    expected = mbg.conditional_expected_purchases(t, x, tx, T)
    assert expected >= 0
    assert mbg.conditional_expected_purchases(2 * t, x, tx, T) >= expected * (1 - 1e-9)


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------

TRUE = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def test_recovers_simulated_parameters():
    data = simulate_mbgnbd(20_000, **TRUE, seed=0)
    mbg = ModifiedBetaGeo().fit(data)
    for name, value in TRUE.items():
        se = mbg.standard_errors_[name]
        assert 0 < se < 0.3 * value, name  # the tolerance below is informative
        assert abs(mbg.params_[name] - value) < 4 * se, name


def test_analytic_gradient_matches_finite_differences():
    data = simulate_mbgnbd(1000, **TRUE, seed=1)
    w = np.random.default_rng(2).uniform(0.5, 2.0, len(data))
    nll = _MBGNBDLikelihood(*(data[c].to_numpy(float) for c in ("frequency", "recency", "T")),
                            w)
    theta = np.array([0.4, 3.0, 1.2, 2.0])
    numeric = optimize.approx_fprime(theta, lambda th: nll(th)[0], 1e-7)
    np.testing.assert_allclose(nll(theta)[1], numeric, rtol=1e-4)


def test_likelihood_matches_the_published_formula():
    data = simulate_mbgnbd(300, **TRUE, seed=4)
    x, tx, T = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    r, alpha, a, b = 0.4, 3.0, 1.2, 2.0
    direct = (special.gamma(r + x) * alpha ** r / special.gamma(r)
              * special.beta(a, b + x + 1) / special.beta(a, b) / (alpha + T) ** (r + x)
              * (1 + a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x)))
    nll = _MBGNBDLikelihood(x, tx, T, np.ones(len(x)))
    assert -nll(np.array([r, alpha, a, b]))[0] == pytest.approx(np.log(direct).sum(),
                                                                rel=1e-12)


def test_weights_equal_repeated_rows():
    data = simulate_mbgnbd(600, **TRUE, seed=3).round(1)
    counts = data.value_counts().rename("n").reset_index()
    expanded = ModifiedBetaGeo().fit(data)
    weighted = ModifiedBetaGeo().fit(counts, weights="n")
    for k in TRUE:
        assert weighted.params_[k] == pytest.approx(expanded.params_[k], rel=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-9)
    assert weighted.n_customers_ == 600


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

GOOD = pd.DataFrame({"frequency": [0, 2, 1, 3], "recency": [0.0, 5.0, 3.0, 9.0],
                     "T": [10.0, 10.0, 12.0, 10.0]}, index=["a", "b", "c", "d"])


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        ("frequency", [0, -1, 1, -2], r"'frequency' has 2 negative value\(s\).*\['b', 'd'\]"),
        ("recency", [0.0, np.nan, 3.0, 9.0], r"'recency' has 1 missing or infinite.*\['b'\]"),
        ("frequency", [0, 2.5, 1, 3], r"'frequency' has 1 non-integer value\(s\).*\['b'\]"),
        ("recency", [0.0, 11.0, 3.0, 12.0],
         r"recency has 2 value\(s\) greater than T, e.g. at rows \['b', 'd'\]"),
        ("recency", [4.0, 5.0, 3.0, 9.0],
         r"recency has 1 value\(s\) above 0 while frequency is 0.*\['a'\]"),
        ("T", [10.0, np.inf, 12.0, 10.0], r"'T' has 1 missing or infinite"),
    ],
)
def test_bad_values_are_counted_with_examples(column, values, pattern):
    with pytest.raises(ValueError, match=pattern):
        ModifiedBetaGeo().fit(GOOD.assign(**{column: values}))


def test_structural_errors():
    with pytest.raises(ValueError, match=r"missing column\(s\) 'T' \(T=\).*available columns"):
        ModifiedBetaGeo().fit(GOOD.drop(columns="T"))
    with pytest.raises(ValueError, match="empty"):
        ModifiedBetaGeo().fit(GOOD.iloc[:0])
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        ModifiedBetaGeo().fit(GOOD.assign(frequency=0, recency=0.0))
    with pytest.raises(ValueError, match="weights has 2 values but the summary has 4 rows"):
        ModifiedBetaGeo().fit(GOOD, weights=[1, 2])
    with pytest.raises(NotFittedError, match=r"not fitted yet.*\.fit\(summary\)"):
        ModifiedBetaGeo().probability_alive(1, 1, 2)
    with pytest.raises(ValueError, match="whole numbers"):
        mbg = ModifiedBetaGeo()
        mbg.params_ = dict(PEER)
        mbg.probability_of_purchases(1.5, 10)


def test_unidentified_data_raise_convergence_error():
    # every repeat buyer bought on the last day: nobody ever drops out, b runs off to infinity
    rng = np.random.default_rng(0)
    T = rng.uniform(20, 40, 500)
    x = rng.poisson(3, 500) + 1
    data = pd.DataFrame({"frequency": x, "recency": T, "T": T})
    with pytest.raises(ConvergenceError, match="do not identify the model|flat"):
        ModifiedBetaGeo().fit(data)


# ---------------------------------------------------------------------------------------------
# penalizer
# ---------------------------------------------------------------------------------------------


def _log_size(model: ModifiedBetaGeo) -> float:
    return float(np.sum(np.log(list(model.params_.values())) ** 2))


@pytest.fixture(scope="module")
def penalizer_sample() -> pd.DataFrame:
    return simulate_mbgnbd(500, **TRUE, seed=5)


def test_penalizer_shrinks_the_log_parameters(penalizer_sample):
    plain = ModifiedBetaGeo().fit(penalizer_sample)
    shrunk = ModifiedBetaGeo(penalizer=0.1).fit(penalizer_sample)
    assert _log_size(shrunk) < 0.8 * _log_size(plain)
    assert shrunk.log_likelihood_ < plain.log_likelihood_  # the unpenalised likelihood falls
    assert shrunk.fit_options_["penalizer"] == 0.1


def test_penalizer_zero_is_the_unpenalised_fit(penalizer_sample):
    plain = ModifiedBetaGeo().fit(penalizer_sample)
    zero = ModifiedBetaGeo(penalizer=0).fit(penalizer_sample)
    assert zero.params_ == plain.params_
    assert zero.log_likelihood_ == plain.log_likelihood_
    assert zero.fit_options_["penalizer"] == plain.fit_options_["penalizer"] == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), True, "x"])
def test_penalizer_must_be_a_nonnegative_number(bad):
    with pytest.raises(ValueError, match="penalizer"):
        ModifiedBetaGeo(penalizer=bad)
