"""compare_models: metric definitions on a hand-computed table, CDNOW, and simulated data on
which the model that generated it wins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retention.metrics.rfm import calibration_and_holdout
from retention.models import BetaGeo, ModifiedBetaGeo, ParetoNBD
from retention.models.compare import ModelComparison, compare_models

COLS = {"frequency": "frequency_cal", "recency": "recency_cal", "T": "T_cal"}


class Stub:
    """A model with fixed predictions, to check the metric definitions by hand."""

    def __init__(self, pred, alive, ll=-10.0, k=2, pmf=None, n=10):
        self.pred, self.alive = np.asarray(pred, float), np.asarray(alive, float)
        self.params_ = {f"p{i}": 1.0 for i in range(k)}
        self.log_likelihood_ = ll
        self.n_customers_ = n
        self.pmf = pmf

    def conditional_expected_purchases(self, t, frequency, recency, T):
        return self.pred

    def probability_alive(self, frequency, recency, T):
        return self.alive

    def expected_purchases_new(self, t):
        return t

    def probability_of_purchases(self, k, t):
        return np.asarray([self.pmf[int(i)] for i in np.asarray(k)], float)


# ten customers, five of them with repeat purchases 1, 1, 2, 3, 8
TINY = pd.DataFrame({
    "frequency_cal": [0, 0, 0, 0, 0, 1, 1, 2, 3, 8],
    "recency_cal": [0, 0, 0, 0, 0, 5, 6, 7, 8, 9],
    "T_cal": [10.0] * 10,
    "frequency_holdout": [0, 0, 0, 0, 1, 0, 1, 2, 2, 4],
    "duration_holdout": [5.0] * 10,
}, index=[f"c{i}" for i in range(10)])
PRED = [0.0, 0.0, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 2.0, 5.0]
ALIVE = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.9, 1.0]


def test_hand_computed_metrics():
    pmf = [0.5, 0.2, 0.1, 0.05, 0.05, 0.03, 0.02]  # 7+ gets 0.05
    res = compare_models({"stub": Stub(PRED, ALIVE, ll=-20.0, k=2, pmf=pmf)}, TINY)
    assert isinstance(res, ModelComparison)
    row = res.scorecard.loc["stub"]
    actual = TINY["frequency_holdout"].to_numpy()
    err = np.array(PRED) - actual  # 0 0 .5 .5 -.5 1 0 -1 0 1
    assert row["mae"] == pytest.approx(4.5 / 10)
    assert row["rmse"] == pytest.approx(np.sqrt(3.75 / 10))
    assert row["bias"] == pytest.approx(err.mean()) == pytest.approx(0.15)
    assert row["predicted_total"] == 11.5 and row["actual_total"] == 10
    assert row["aggregate_error"] == pytest.approx(0.15)
    # top decile = 1 customer (the prediction 5.0) with 4 holdout purchases; mean is 1.0
    assert row["top_decile_lift"] == pytest.approx(4.0)
    # deciles of P(alive): one customer each; active = holdout purchase > 0
    cal = res.alive_calibration
    assert cal["decile"].tolist() == list(range(1, 11))
    assert cal["customers"].tolist() == [1] * 10
    assert cal["share_active"].tolist() == [0, 0, 0, 0, 1, 0, 1, 1, 1, 1]
    gaps = np.abs(np.array(ALIVE) - np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 1]))
    assert row["alive_calibration_error"] == pytest.approx(gaps.mean())
    counts = res.repeat_counts
    assert counts["repeat_purchases"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert counts["observed"].tolist() == [5, 2, 1, 1, 0, 0, 0, 1]
    expected = np.array(pmf + [0.05]) * 10
    assert counts["expected"].to_numpy() == pytest.approx(expected)
    obs = counts["observed"].to_numpy()
    assert row["repeat_count_distance"] == pytest.approx(np.sum((obs - expected) ** 2 / expected))
    fit = res.fit.loc["stub"]
    assert fit["aic"] == pytest.approx(2 * 2 + 40) and fit["bic"] == pytest.approx(
        2 * np.log(10) + 40)
    assert res.best == "stub" and res.by == "mae"


def test_likelihood_ratio_best_and_errors():
    models = {"small": Stub(PRED, ALIVE, ll=-20.0, k=2, pmf=[0.1] * 7),
              "big": Stub(np.array(PRED) * 0.9, ALIVE, ll=-17.0, k=4, pmf=[0.1] * 7)}
    res = compare_models(models, TINY, nested=[("small", "big")], by="aic")
    lr = res.likelihood_ratio.iloc[0]
    assert (lr["restricted"], lr["general"], lr["df"]) == ("small", "big", 2)
    assert lr["statistic"] == pytest.approx(6.0)
    assert lr["p_value"] == pytest.approx(np.exp(-3.0))  # chi2(2) tail = exp(-x/2)
    # AIC: small 2*2 + 40 = 44, big 2*4 + 34 = 42
    assert res.fit["aic"].tolist() == pytest.approx([44.0, 42.0])
    assert res.fit["delta_aic"].tolist() == pytest.approx([2.0, 0.0])
    assert res.best == "big" and res.by == "aic"
    # MAE: small 0.45; big |0.9 * PRED - actual| sums to 4.5 + ...: compare directly
    mae_big = np.abs(np.array(PRED) * 0.9 - TINY["frequency_holdout"]).mean()
    assert res.scorecard.loc["big", "mae"] == pytest.approx(mae_big)
    assert res.best_by("mae") == ("big" if mae_big < 0.45 else "small")
    assert res.best_by("bias") == ("big" if abs(0.9 * 11.5 / 10 - 1) < 0.15 else "small")
    assert res.best_by("log_likelihood") == "big"
    with pytest.raises(ValueError, match="degree"):
        compare_models(models, TINY, nested=[("big", "small")])
    with pytest.raises(ValueError, match="'nope'"):
        compare_models(models, TINY, nested=[("nope", "big")])
    with pytest.raises(ValueError, match="by must be one of"):
        compare_models(models, TINY, by="accuracy")
    with pytest.raises(ValueError, match="fitted on 99"):
        compare_models({"m": Stub(PRED, ALIVE, n=99)}, TINY)
    with pytest.raises(ValueError, match="duration_holdout"):
        compare_models(models, TINY.drop(columns="duration_holdout"))
    with pytest.raises(TypeError, match="conditional_expected_purchases"):
        compare_models({"m": object()}, TINY)
    with pytest.raises(ValueError, match="non-empty"):
        compare_models({}, TINY)


# ---------------------------------------------------------------------------------------------
# CDNOW 1/10 sample: calibration 1997-01-01 .. 1997-09-30, holdout to 1998-06-30 (weeks)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def cdnow_calibration(cdnow_sample_log: pd.DataFrame) -> pd.DataFrame:
    return calibration_and_holdout(
        cdnow_sample_log, "1997-09-30", "1998-06-30", freq="D", time_unit="W"
    )


def test_cdnow_comparison(cdnow_calibration):
    cal = cdnow_calibration
    assert len(cal) == 2357
    models = {"BG/NBD": BetaGeo().fit(cal, **COLS), "Pareto/NBD": ParetoNBD().fit(cal, **COLS),
              "MBG/NBD": ModifiedBetaGeo().fit(cal, **COLS)}
    res = compare_models(models, cal)
    # published log-likelihoods (Fader, Hardie & Lee 2005)
    assert res.fit.loc["BG/NBD", "log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert res.fit.loc["Pareto/NBD", "log_likelihood"] == pytest.approx(-9594.98, abs=0.05)
    assert res.fit.loc["BG/NBD", "bic"] == pytest.approx(4 * np.log(2357) + 2 * 9582.43,
                                                         abs=0.05)
    assert set(res.scorecard.index) == set(models) and res.best in models
    card = res.scorecard
    assert (card["actual_total"] == cal["frequency_holdout"].sum()).all()
    # every model under-predicts the holdout total (by 11-17 %) and ranks customers far above
    # chance
    assert card["aggregate_error"].between(-0.2, -0.08).all()
    assert (card["top_decile_lift"] > 3).all()
    assert (card["rmse"] >= card["mae"]).all()
    counts = res.repeat_counts
    assert counts.groupby("model")["observed"].sum().eq(2357).all()
    assert counts.groupby("model")["expected"].sum().to_numpy() == pytest.approx(2357)
    # the repeat-count distribution in the calibration period is fitted closely
    assert (card["repeat_count_distance"] < 50).all()
    cal_table = res.alive_calibration
    assert cal_table.groupby("model")["customers"].sum().eq(2357).all()
    # Pareto/NBD and MBG/NBD rank: their top P(alive) decile is far more active than the
    # bottom one
    for name in ("Pareto/NBD", "MBG/NBD"):
        g = cal_table[cal_table["model"] == name]
        assert g["share_active"].iloc[-1] > 2 * g["share_active"].iloc[0]
    # BG/NBD holds every one-time buyer certainly alive, so its upper P(alive) deciles are
    # the least active customers: the worst calibration of the three
    assert card["alive_calibration_error"].idxmax() == "BG/NBD"
    assert card["alive_calibration_error"].max() > 2 * card["alive_calibration_error"].min()
    # the tables are plain data: they survive Parquet
    for table in (res.fit, res.scorecard, res.alive_calibration, res.repeat_counts):
        assert table.shape == pd.read_parquet(_roundtrip(table)).shape


def _roundtrip(table: pd.DataFrame):
    import io

    buf = io.BytesIO()
    table.to_parquet(buf)
    buf.seek(0)
    return buf


# ---------------------------------------------------------------------------------------------
# simulated customers: the generating model wins
# ---------------------------------------------------------------------------------------------


def simulate(n: int, kind: str, seed: int, holdout: float = 52.0) -> pd.DataFrame:
    """Calibration (T in [26, 52] weeks) and holdout counts of BG/NBD or Pareto/NBD customers.

    Each customer's purchases over the whole span are uniform times of a Poisson count; the
    BG/NBD customer stops after a geometric number of repeat purchases, the Pareto/NBD one at
    an exponential lifetime.
    """
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.5, 1 / 4.0, n)
    T = rng.uniform(26, 52, n)
    end = T + holdout
    counts = rng.poisson(lam * end)
    cust = np.repeat(np.arange(n), counts)
    times = rng.random(len(cust)) * end[cust]
    order = np.lexsort((times, cust))
    cust, times = cust[order], times[order]
    rank = np.arange(len(cust)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    if kind == "bg":
        keep = rank <= rng.geometric(rng.beta(1.2, 3.0, n))[cust]
    else:
        keep = times < (rng.exponential(1.0, n) / rng.gamma(0.5, 1 / 8.0, n))[cust]
    cust, times = cust[keep], times[keep]
    in_cal = times <= T[cust]
    tx = np.zeros(n)
    np.maximum.at(tx, cust[in_cal], times[in_cal])
    return pd.DataFrame({
        "frequency_cal": np.bincount(cust[in_cal], minlength=n).astype(float),
        "recency_cal": tx, "T_cal": T,
        "frequency_holdout": np.bincount(cust[~in_cal], minlength=n).astype(float),
        "duration_holdout": holdout})


@pytest.mark.parametrize(("kind", "true"), [("bg", "BG/NBD"), ("pnbd", "Pareto/NBD")])
def test_generating_model_wins(kind, true):
    cal = simulate(20_000, kind, seed=1)
    models = {"BG/NBD": BetaGeo().fit(cal, **COLS), "Pareto/NBD": ParetoNBD().fit(cal, **COLS),
              "MBG/NBD": ModifiedBetaGeo().fit(cal, **COLS)}
    res = compare_models(models, cal, by="rmse")
    assert res.best == true
    assert res.fit["aic"].idxmin() == true and res.fit.loc[true, "delta_aic"] == 0
    assert res.best_by("bic") == true
    assert res.best_by("repeat_count_distance") == true
    # the true model's expected repeat-count distribution is within chance of the observed
    # one (8 bins, 4 parameters: a chi-square with about 3 degrees of freedom)
    assert res.scorecard.loc[true, "repeat_count_distance"] < 20
