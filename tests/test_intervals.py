"""Prediction intervals from the parameters' sampling distribution."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention.models import (
    BetaGeo,
    GammaGamma,
    NotFittedError,
    ShiftedBetaGeometric,
    customer_value,
)
from retention.models.intervals import (
    PredictionInterval,
    parameter_draws,
    prediction_interval,
    with_intervals,
)

sys.path.insert(0, str(Path(__file__).parent))
from test_betageo import simulate_bgnbd  # noqa: E402

TRUE = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    data = simulate_bgnbd(2000, *TRUE.values(), seed=11)
    data["T"] = np.round(data["T"])
    data["recency"] = np.minimum(np.round(data["recency"]), data["T"])
    rng = np.random.default_rng(5)
    data["monetary_value"] = np.where(data["frequency"] > 0,
                                      np.round(rng.gamma(4.0, 10.0, len(data)), 1), 0.0)
    data.index = [f"c{i}" for i in range(len(data))]
    return data


@pytest.fixture(scope="module")
def bgf(summary) -> BetaGeo:
    return BetaGeo().fit(summary)


@pytest.fixture(scope="module")
def ggf(summary) -> GammaGamma:
    return GammaGamma().fit(summary)


def test_draws_follow_the_log_normal_of_the_fit(bgf):
    draws = parameter_draws(bgf, 20000, seed=1)
    assert list(draws.columns) == ["r", "alpha", "a", "b"]
    logs = np.log(draws.to_numpy())
    theta = np.array(list(bgf.params_.values()))
    expected = bgf.covariance_.to_numpy() / np.outer(theta, theta)
    np.testing.assert_allclose(logs.mean(axis=0), np.log(theta), atol=0.01)
    noise = np.sqrt(np.outer(np.diag(expected), np.diag(expected)) / len(logs))  # sd of cov
    assert (np.abs(np.cov(logs.T) - expected) < 5 * noise).all()
    pd.testing.assert_frame_equal(parameter_draws(bgf, 10, seed=3), parameter_draws(bgf, 10, 3))


def test_interval_of_a_scalar_prediction(bgf):
    pi = prediction_interval(bgf, "expected_purchases_new", 52, n_draws=300)
    assert isinstance(pi, PredictionInterval)
    assert isinstance(pi.low, float) and isinstance(pi.high, float)
    assert pi.value == bgf.expected_purchases_new(52)
    assert pi.low < pi.value < pi.high
    assert pi.total == pi.value and (pi.total_low, pi.total_high) == (pi.low, pi.high)
    wider = prediction_interval(bgf, "expected_purchases_new", 52, n_draws=300, level=0.99)
    assert wider.low < pi.low and wider.high > pi.high
    again = prediction_interval(bgf, "expected_purchases_new", 52, n_draws=300)
    assert (again.low, again.high) == (pi.low, pi.high)
    other = prediction_interval(bgf, "expected_purchases_new", 52, n_draws=300, seed=1)
    assert other.low != pi.low


def test_per_customer_interval_keeps_the_index_and_collapses(bgf, summary):
    x, tx, big_t = summary["frequency"], summary["recency"], summary["T"]
    pi = prediction_interval(bgf, "conditional_expected_purchases", 26, x, tx, big_t,
                             n_draws=200)
    assert isinstance(pi.low, pd.Series) and pi.low.index.equals(summary.index)
    assert (pi.low <= pi.value).all() and (pi.value <= pi.high).all()
    assert pi.total == pytest.approx(pi.value.sum(), rel=1e-12)
    assert pi.total_low < pi.total < pi.total_high
    # identical customers get identical bounds, whether evaluated once or one by one (to
    # the single-precision rounding of the quantiles of many customers)
    rows = [0, 5, 17]
    single = prediction_interval(bgf, "conditional_expected_purchases", 26,
                                 x.iloc[rows].to_numpy(), tx.iloc[rows].to_numpy(),
                                 big_t.iloc[rows].to_numpy(), n_draws=200)
    np.testing.assert_allclose(single.low, pi.low.iloc[rows].to_numpy(), rtol=2.0**-24)
    np.testing.assert_allclose(single.high, pi.high.iloc[rows].to_numpy(), rtol=2.0**-24)


def test_vectorised_and_per_draw_evaluation_agree(bgf, summary):
    x, tx, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    fast = prediction_interval(bgf, "probability_alive", x, tx, big_t, n_draws=50)
    slow_model = BetaGeo()
    slow_model.__dict__.update(bgf.__dict__)
    slow_model._vectorised_params = False
    slow = prediction_interval(slow_model, "probability_alive", x, tx, big_t, n_draws=50)
    np.testing.assert_allclose(fast.low, slow.low, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.high, slow.high, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.total_high, slow.total_high, rtol=1e-12)
    for t in (13.0, 52.0):
        f = prediction_interval(bgf, "conditional_expected_purchases", t, x, tx, big_t,
                                n_draws=50)
        s = prediction_interval(slow_model, "conditional_expected_purchases", t, x, tx, big_t,
                                n_draws=50)
        np.testing.assert_allclose(f.low, s.low, rtol=1e-10)
        np.testing.assert_allclose(f.high, s.high, rtol=1e-10)


def test_any_model_works_one_draw_at_a_time():
    sbg = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    pi = prediction_interval(sbg, "survival", [1, 5, 12], n_draws=200)
    assert pi.value.shape == pi.low.shape == (3,)
    assert (pi.low < pi.value).all() and (pi.value < pi.high).all()
    del_pi = prediction_interval(sbg, "discounted_expected_lifetime", 0.1, n_draws=100)
    assert del_pi.low < del_pi.value < del_pi.high


def test_with_intervals_on_the_customer_table(bgf, ggf, summary):
    values = customer_value(summary, bgf, ggf, horizon=6, model_time_unit="W")
    out = with_intervals(values, bgf, ggf, n_draws=200)
    for q in ("probability_alive", "expected_purchases", "expected_average_order_value",
              "clv"):
        at = list(out.columns).index(q)
        assert list(out.columns[at:at + 3]) == [q, f"{q}_low", f"{q}_high"]
        assert (out[f"{q}_low"] <= out[q] * (1 + 1e-12)).all(), q
        assert (out[q] <= out[f"{q}_high"] * (1 + 1e-12)).all(), q
        total = out.attrs["totals"][q]
        assert total["low"] < total["value"] < total["high"], q
        pd.testing.assert_series_equal(out[q], values[q])
    assert out.attrs["interval_level"] == 0.9 and out.attrs["interval_draws"] == 200
    assert out.attrs["horizon"] == 6
    # the same bounds as prediction_interval for the quantities it can compute alone
    pa = prediction_interval(bgf, "probability_alive", summary["frequency"],
                             summary["recency"], summary["T"], n_draws=200)
    np.testing.assert_allclose(out["probability_alive_high"], pa.high, rtol=1e-12)
    # purchases only, without the spend model
    short = with_intervals(values, bgf, n_draws=50)
    assert "clv_low" not in short and "expected_purchases_low" in short


def test_clv_interval_matches_predict_clv_at_the_draws(bgf, ggf, summary):
    values = customer_value(summary.iloc[:40], bgf, ggf, horizon=3, model_time_unit="W")
    out = with_intervals(values, bgf, ggf, n_draws=30, level=0.5, seed=4)
    rng = np.random.default_rng(4)
    bg_draws = parameter_draws(bgf, 30, rng).to_numpy()
    gg_draws = parameter_draws(ggf, 30, rng).to_numpy()
    from retention.models import predict_clv

    clvs = []
    for bg_theta, gg_theta in zip(bg_draws, gg_draws, strict=True):
        b, g = BetaGeo(), GammaGamma()
        b.params_ = dict(zip(bgf.params_, map(float, bg_theta), strict=True))
        g.params_ = dict(zip(ggf.params_, map(float, gg_theta), strict=True))
        clvs.append(predict_clv(b, g, summary.iloc[:40], horizon=3, model_time_unit="W",
                                time_unit="M")["clv"].to_numpy())
    low, high = np.quantile(np.array(clvs), [0.25, 0.75], axis=0)
    np.testing.assert_allclose(out["clv_low"], low, rtol=1e-9)
    np.testing.assert_allclose(out["clv_high"], high, rtol=1e-9)


def test_errors(bgf, summary):
    sbg = ShiftedBetaGeometric.from_params(0.7, 1.2)
    with pytest.raises(ValueError, match="no finite covariance matrix"):
        prediction_interval(sbg, "survival", 3)
    with pytest.raises(NotFittedError):
        prediction_interval(BetaGeo(), "expected_purchases_new", 3)
    with pytest.raises(ValueError, match="no prediction method 'predict'"):
        prediction_interval(bgf, "predict", 3)
    with pytest.raises(ValueError, match="level"):
        prediction_interval(bgf, "expected_purchases_new", 3, level=1.0)
    with pytest.raises(ValueError, match="n_draws"):
        prediction_interval(bgf, "expected_purchases_new", 3, n_draws=0)
    with pytest.raises(ValueError, match="none of the prediction columns"):
        with_intervals(summary, bgf)
    table = summary.assign(expected_purchases=1.0)
    with pytest.raises(ValueError, match=r"attrs lacks \['horizon'"):
        with_intervals(table, bgf)
    bad = summary.assign(probability_alive=1.0)
    bad.loc["c3", "recency"] = bad.loc["c3", "T"] + 1
    with pytest.raises(ValueError, match=r"'recency'|recency has 1 value\(s\) greater than T"):
        with_intervals(bad, bgf)


def test_coverage_of_expected_purchases_of_a_new_customer():
    """Repeated fits on BG/NBD data simulated from known parameters: the 90% interval of
    E[X(52)] of a new customer covers the true value about 90% of the time."""
    truth = BetaGeo()
    truth.params_ = dict(TRUE)
    target = truth.expected_purchases_new(52)
    hits = []
    for rep in range(60):
        data = simulate_bgnbd(1500, *TRUE.values(), seed=1000 + rep)
        model = BetaGeo().fit(data)
        pi = prediction_interval(model, "expected_purchases_new", 52, n_draws=400, seed=rep)
        hits.append(pi.low <= target <= pi.high)
    coverage = float(np.mean(hits))
    # binomial sd at 60 fits is 0.04: 0.9 +- 3 sd
    assert 0.78 <= coverage <= 1.0, coverage


def test_quantiles_equal_numpy_quantile():
    """Sorted in single precision, the bounds are numpy's to its rounding (2**-24 relative,
    1e-38 absolute below its normal range); few columns, values beyond its range, and NaN
    are sorted in double precision, exactly."""
    from retention.models.intervals import _quantiles

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 200, 500):
        for scale in (1.0, 1e-30, 1e-45, 1e300):
            sampled = rng.gamma(2.0, scale, (n, 137))
            for lo_q, hi_q in ((0.05, 0.95), (0.25, 0.75), (0.0, 1.0)):
                low, high = _quantiles(sampled, lo_q, hi_q)
                expected = np.quantile(sampled, [lo_q, hi_q], axis=0)
                rtol = 0 if scale > 1e38 else 2.0**-24
                for got, want in zip((low, high), expected, strict=True):
                    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-38)
    for columns in (4, 100):  # double precision: few columns, or a NaN
        sampled = rng.gamma(2.0, 1.0, (50, columns))
        sampled[3, 1] = np.nan
        low, high = _quantiles(sampled, 0.05, 0.95)
        assert np.isnan(low[1]) and np.isnan(high[1])
        rest = np.arange(columns) != 1
        assert np.array_equal(low[rest], np.quantile(sampled[:, rest], 0.05, axis=0))


@pytest.mark.parametrize("kind", ["BetaGeo", "ModifiedBetaGeo"])
def test_factored_horizon_equals_month_by_month(bgf, ggf, summary, kind, monkeypatch):
    """P(alive) times the expectation if alive, once per (frequency, T) for every month,
    gives the bounds of the month-by-month evaluation of conditional_expected_purchases."""
    from retention.models import ModifiedBetaGeo, intervals

    small = summary.iloc[:300]
    model = bgf if kind == "BetaGeo" else ModifiedBetaGeo().fit(summary)
    values = customer_value(small, model, ggf, horizon=12, model_time_unit="W")
    n_draws = 200 if kind == "BetaGeo" else 40
    fast = with_intervals(values, model, ggf, n_draws=n_draws, seed=4)
    monkeypatch.setattr(intervals, "_factorises", lambda model: False)
    slow = with_intervals(values, model, ggf, n_draws=n_draws, seed=4)
    assert list(fast.columns) == list(slow.columns)
    for col in fast.columns:
        np.testing.assert_allclose(fast[col], slow[col], rtol=1e-10, atol=0, err_msg=col)
    for q, total in slow.attrs["totals"].items():
        for key, value in total.items():
            assert fast.attrs["totals"][q][key] == pytest.approx(value, rel=1e-10, abs=0), q
