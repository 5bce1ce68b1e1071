"""Candidate models fitted together, and the likelihood-ratio test of "segments differ"."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import retention as rt
from retention.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from retention.models.selection import TRANSACTION_MODELS, model_label

sys.path.insert(0, str(Path(__file__).parent))
from test_betageo import simulate_bgnbd  # noqa: E402

TRUE = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}


def test_fit_candidates_fits_each_model_like_its_own_class() -> None:
    data = simulate_bgnbd(3000, **TRUE, seed=1)
    fitted, failed = rt.fit_candidates(data)
    assert failed == {}
    assert list(fitted) == ["BG/NBD", "MBG/NBD", "Pareto/NBD"]
    for label, cls in [("BG/NBD", BetaGeo), ("MBG/NBD", ModifiedBetaGeo),
                       ("Pareto/NBD", ParetoNBD)]:
        assert type(fitted[label]) is cls
        assert fitted[label].params_ == pytest.approx(cls().fit(data).params_, rel=1e-9)


def test_fit_candidates_subset_columns_and_names() -> None:
    data = simulate_bgnbd(2000, **TRUE, seed=2).rename(
        columns={"frequency": "f", "recency": "r", "T": "age"})
    fitted, _ = rt.fit_candidates(data, ["pnbd"], frequency="f", recency="r", T="age")
    assert list(fitted) == ["Pareto/NBD"]
    with pytest.raises(ValueError, match="model must be one of.*'bgnbd'.*got 'nbd'"):
        rt.fit_candidates(data, ["nbd"])
    with pytest.raises(ValueError, match="models is empty"):
        rt.fit_candidates(data, [])
    assert model_label("bgnbd") == "BG/NBD" and set(TRANSACTION_MODELS) == {
        "bgnbd", "mbgnbd", "pnbd"}


def test_fit_candidates_reports_why_every_fit_failed() -> None:
    # nobody ever came back: no model can tell a purchase rate from a drop-out
    never = pd.DataFrame({"frequency": [0] * 50, "recency": [0.0] * 50, "T": [30.0] * 50})
    with pytest.raises(ValueError, match=r"no candidate model could be fitted \(BG/NBD: "):
        rt.fit_candidates(never)


def test_same_segments_do_not_differ() -> None:
    data = simulate_bgnbd(1500, **TRUE, seed=3)
    both = pd.concat([data.assign(channel="email"), data.assign(channel="web")])
    test = rt.segments_differ(BetaGeo(), both, "channel")
    assert test.df == 4
    assert test.statistic == pytest.approx(0.0, abs=1e-4)
    assert test.p_value == pytest.approx(1.0, abs=1e-3)
    # the pooled fit of two copies is the fit of one
    assert test.pooled.params_ == pytest.approx(test.models["email"].params_, rel=1e-4)
    assert test.fits.loc["all customers", "customers"] == 3000


def test_different_segments_differ_and_the_statistic_is_the_gain() -> None:
    slow = simulate_bgnbd(2000, **TRUE, seed=4).assign(channel="slow")
    fast = simulate_bgnbd(2000, **{**TRUE, "alpha": 1.5}, seed=5).assign(channel="fast")
    tiny = simulate_bgnbd(10, **TRUE, seed=6).assign(channel="tiny")
    test = rt.segments_differ(BetaGeo(), pd.concat([slow, fast, tiny]), "channel")
    assert set(test.models) == {"fast", "slow"}  # fewer than 30 customers: left out
    ll = test.fits["log_likelihood"]
    assert test.statistic == pytest.approx(2 * (ll["fast"] + ll["slow"] - ll["all customers"]))
    assert test.p_value == pytest.approx(stats.chi2.sf(test.statistic, 4))
    assert test.p_value < 1e-10
    # each segment's fit recovers its own purchase rate scale
    assert test.fits.loc["fast", "alpha"] < test.fits.loc["slow", "alpha"]


def test_segment_test_keeps_the_model_settings() -> None:
    data = simulate_bgnbd(600, **TRUE, seed=7)
    data["channel"] = np.where(np.arange(len(data)) % 2, "a", "b")
    plain = rt.segments_differ(BetaGeo(), data, "channel")
    shrunk = rt.segments_differ(BetaGeo(penalizer=0.5), data, "channel")
    assert shrunk.pooled.penalizer == 0.5
    assert np.sum(np.log(list(shrunk.pooled.params_.values())) ** 2) < np.sum(
        np.log(list(plain.pooled.params_.values())) ** 2)


def test_segment_test_needs_two_segments() -> None:
    data = simulate_bgnbd(100, **TRUE, seed=8).assign(channel="web")
    with pytest.raises(ValueError, match="'channel' has 1 segment.*at least 30"):
        rt.segments_differ(BetaGeo(), data, "channel")
    with pytest.raises(ValueError, match="region"):
        rt.segments_differ(BetaGeo(), data, "region")


def test_segment_fit_that_fails_names_the_segment() -> None:
    data = simulate_bgnbd(400, **TRUE, seed=10).assign(channel="web")
    never = pd.DataFrame({"frequency": [0] * 40, "recency": [0.0] * 40, "T": [30.0] * 40,
                          "channel": "print"})
    with pytest.raises(ValueError, match=r"BetaGeo fit on channel = 'print' \(40 customers\) "
                                         "failed: no customer has a repeat purchase"):
        rt.segments_differ(BetaGeo(), pd.concat([data, never]), "channel")


def test_comparison_table_has_readable_rows_and_directions() -> None:
    data = simulate_bgnbd(2000, **TRUE, seed=9)
    cal = data.rename(columns={"frequency": "frequency_cal", "recency": "recency_cal",
                               "T": "T_cal"})
    cal["frequency_holdout"] = np.random.default_rng(0).poisson(0.5, len(cal))
    cal["duration_holdout"] = 26.0
    fitted, _ = rt.fit_candidates(cal, ["bgnbd", "pnbd"], frequency="frequency_cal",
                                  recency="recency_cal", T="T_cal")
    res = rt.compare_models(fitted, cal)
    table = res.table()
    assert list(table.columns) == ["BG/NBD", "Pareto/NBD", "better"]
    assert table.loc["AIC", "better"] == "lower"
    assert table.loc["top-decile lift", "better"] == "higher"
    assert table.loc["bias (mean predicted minus actual)", "better"] == "closer to 0"
    assert table.loc["RMSE of holdout purchases per customer", "BG/NBD"] == pytest.approx(
        res.scorecard.loc["BG/NBD", "rmse"])
    assert not any("_" in label for label in table.index)


def test_fit_identified_penalises_only_a_fit_that_runs_away() -> None:
    rng = np.random.default_rng(4)
    varied = pd.DataFrame({"frequency": rng.integers(1, 6, 400),
                           "monetary_value": rng.gamma(4.0, 10.0, 400)})
    assert rt.fit_identified(rt.GammaGamma, varied).penalizer == 0.0  # identified: no penalty
    # every customer spends the same each time: p and v run away without a penalty
    steady = pd.DataFrame({"frequency": [1, 2, 3, 4] * 50,
                           "monetary_value": [20.0, 20.0, 20.1, 19.9] * 50})
    with pytest.raises(rt.ConvergenceError, match="ran away"):
        rt.GammaGamma().fit(steady)
    ggf = rt.fit_identified(rt.GammaGamma, steady)
    assert ggf.penalizer == 0.001  # the first penalizer that keeps the estimates finite
    assert ggf.expected_average_order_value(3, 20.0) == pytest.approx(20.0, rel=1e-3)
    with pytest.raises(rt.ConvergenceError, match="ran away"):
        rt.fit_identified(rt.GammaGamma, steady, penalizers=[0.0])
    with pytest.raises(ValueError, match="penalizers is empty"):
        rt.fit_identified(rt.GammaGamma, steady, penalizers=[])


def test_fit_spend_model_fits_the_repeat_buyers_with_positive_spend() -> None:
    rng = np.random.default_rng(5)
    summary = pd.DataFrame({"frequency": rng.integers(0, 6, 500),
                            "monetary_value": rng.gamma(4.0, 10.0, 500)})
    summary.loc[summary["frequency"] == 0, "monetary_value"] = 0.0
    summary.loc[:9, ["frequency", "monetary_value"]] = [2, -5.0]  # net refunds: left out
    ggf = rt.fit_spend_model(summary)
    kept = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    assert ggf.n_customers_ == kept.sum()
    assert ggf.params_ == pytest.approx(rt.GammaGamma().fit(summary[kept]).params_)
