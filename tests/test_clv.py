"""CLV breakdowns, diagnostics and their plots: hand-computed cases, invariants, independent
computations, Axes contents and errors."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings, strategies as st
from matplotlib.collections import QuadMesh

import retention as rt
from retention.metrics.value import (
    churn_risk,
    concentration_curve,
    customer_history,
    default_calibration_end,
    gini,
    historical_value,
    top_share,
    value_deciles,
)
from retention.models import BetaGeo, GammaGamma
from retention.models.clv import customer_value, predicted_value
from retention.models.diagnostics import (
    calibration_vs_holdout,
    expected_cumulative_transactions,
    frequency_recency_matrix,
)
from retention.plotting.value import (
    plot_calibration_vs_holdout,
    plot_concentration,
    plot_cumulative_transactions,
    plot_deciles,
    plot_frequency_recency_matrix,
    plot_value_by_group,
)
from retention.reports.narrative import clv_highlights, describe_clv

plt.switch_backend("Agg")

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_transactions.csv"
#: CDNOW estimates (Fader, Hardie & Lee 2005), weeks: fixed, so no test depends on a fit.
BG_PARAMS = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
GG_PARAMS = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def fixed_bgf(time_unit: str | None = "W") -> BetaGeo:
    bgf = BetaGeo()
    bgf.params_ = dict(BG_PARAMS)
    bgf.time_unit_ = time_unit
    return bgf


def fixed_ggf() -> GammaGamma:
    ggf = GammaGamma()
    ggf.params_ = dict(GG_PARAMS)
    return ggf


def make_tx(rows: list[tuple]) -> pd.DataFrame:
    customer, date, revenue, channel = zip(*rows, strict=True)
    return pd.DataFrame(
        {"customer_id": list(customer), "order_date": pd.to_datetime(list(date)),
         "revenue": np.asarray(revenue, dtype=float), "channel": list(channel)}
    )


# A: two orders the first day, a refund, a later order in another channel (segment stays email).
# B: one order.  C: acquired in February.  D: only a refund (no purchase).
HAND = make_tx([
    ("A", "2024-01-03", 10.0, "email"), ("A", "2024-01-03", 30.0, "email"),
    ("A", "2024-01-20", -5.0, "email"), ("A", "2024-03-01", 25.0, "social"),
    ("B", "2024-01-15", 40.0, "social"),
    ("C", "2024-02-10", 20.0, "email"), ("C", "2024-02-17", 20.0, "email"),
    ("D", "2024-02-11", -7.0, "email"),
])


# --------------------------------------------------------------------------------------------
# customer history and historical value
# --------------------------------------------------------------------------------------------


def test_customer_history_hand_computed():
    hist = customer_history(HAND, "M", segments="channel")
    assert hist.index.tolist() == ["A", "B", "C"]
    assert [str(c) for c in hist["cohort"]] == ["2024-01", "2024-01", "2024-02"]
    assert hist["channel"].tolist() == ["email", "social", "email"]  # segment of the 1st purchase
    assert hist["orders"].tolist() == [3, 1, 2]
    assert hist["revenue"].tolist() == [60.0, 40.0, 40.0]  # refunds netted
    assert hist.loc["A", "last_purchase"] == pd.Timestamp("2024-03-01")
    assert hist.attrs["n_customers_without_purchase"] == 1
    assert hist.attrs["revenue_without_purchase"] == -7.0


def test_customer_history_counts_distinct_orders():
    tx = HAND.assign(order_id=["o1", "o1", "r1", "o2", "o3", "o4", "o5", "r2"])
    hist = customer_history(tx, "Q", order="order_id")
    assert hist["orders"].tolist() == [2, 1, 2]
    assert [str(c) for c in hist["cohort"]] == ["2024Q1"] * 3


def test_customer_history_follows_the_package_purchase_rule():
    # a zero-value order is a purchase (as in rfm_summary and cohort_table); refunds are not
    tx = pd.concat([HAND, make_tx([("E", "2024-03-05", 0.0, "social"),
                                   ("F", "2024-03-06", 9.0, "email")])], ignore_index=True)
    tx = tx.assign(order_id=["o1", "o1", "r1", "o2", "o3", "o4", "o5", "r2", "o6", "o4"])
    hist = customer_history(tx, "M", segments="channel", order="order_id")
    assert hist.index.equals(rt.rfm_summary(tx, "D").index)
    assert hist.loc["E", ["orders", "revenue", "channel"]].tolist() == [1, 0.0, "social"]
    assert hist.loc["F", "orders"] == 1  # an order id shared with C counts for each customer
    assert hist.loc["C", "orders"] == 2
    with pytest.raises(ValueError, match=r"'order_id' has 1 orders without an order id"):
        customer_history(tx.assign(order_id=tx["order_id"].where(tx.index != 8)), order="order_id")


def test_historical_value_by_cohort_and_segment():
    hist = customer_history(HAND, "M", segments="channel")
    by_cohort = historical_value(hist)
    assert by_cohort["customers"].tolist() == [2, 1]
    assert by_cohort["revenue"].tolist() == [100.0, 40.0]
    assert by_cohort["revenue_per_customer"].tolist() == [50.0, 40.0]
    assert by_cohort["orders_per_customer"].tolist() == [2.0, 2.0]
    assert by_cohort["average_order_value"].tolist() == [25.0, 20.0]
    assert by_cohort["share_of_revenue"].sum() == pytest.approx(1.0)
    by_channel = historical_value(hist, "channel")
    assert by_channel.set_index("channel")["customers"].to_dict() == {"email": 2, "social": 1}


def test_historical_value_keeps_missing_segment():
    hist = pd.DataFrame({"channel": ["a", None, "a"], "orders": [1, 2, 3],
                         "revenue": [1.0, 2.0, 3.0]})
    table = historical_value(hist, "channel")
    assert table["customers"].sum() == 3
    assert table["channel"].isna().sum() == 1


def test_default_calibration_end():
    tx = pd.DataFrame({"order_date": pd.to_datetime(["2023-01-01", "2024-12-31"])})
    assert default_calibration_end(tx) == pd.Timestamp("2024-06-30")
    assert default_calibration_end(tx, align=None) == pd.Timestamp("2024-07-01")
    assert default_calibration_end(tx, 0.5, align="W") == pd.Timestamp("2023-12-31")  # a Sunday
    short = pd.DataFrame({"order_date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with pytest.raises(ValueError, match="too short"):
        default_calibration_end(short)
    with pytest.raises(ValueError, match="holdout"):
        default_calibration_end(tx, 1.0)


# --------------------------------------------------------------------------------------------
# predicted value
# --------------------------------------------------------------------------------------------


def test_customer_value_joins_history_and_matches_predict_clv():
    summary = rt.rfm_summary(HAND, "D", time_unit="W")
    hist = customer_history(HAND, "M", segments="channel")
    bgf, ggf = fixed_bgf(), fixed_ggf()
    values = customer_value(summary, bgf, ggf, history=hist, horizon=6, discount_rate=0.01)
    direct = rt.predict_clv(bgf, ggf, summary, horizon=6, discount_rate=0.01)
    np.testing.assert_allclose(values["clv"], direct["clv"])
    np.testing.assert_allclose(
        values["probability_alive"],
        bgf.probability_alive(summary["frequency"], summary["recency"], summary["T"]))
    assert values["channel"].tolist() == ["email", "social", "email"]
    assert values.attrs["horizon"] == 6 and values.attrs["n_without_history"] == 0


def test_customer_value_history_errors():
    summary = rt.rfm_summary(HAND, "D", time_unit="W")
    other = pd.DataFrame({"cohort": [1]}, index=["Z"])
    with pytest.raises(ValueError, match="no customer id"):
        customer_value(summary, fixed_bgf(), fixed_ggf(), history=other)
    with pytest.raises(ValueError, match="monetary_value"):
        customer_value(summary.drop(columns="monetary_value"), fixed_bgf(), fixed_ggf())


class WrappedPurchases:
    """A purchase-count model that is no BetaGeo: it hands every question to one."""

    def __init__(self, inner: BetaGeo) -> None:
        self.inner = inner
        self.time_unit_ = inner.time_unit_

    def conditional_expected_purchases(self, t, frequency, recency, T):
        return self.inner.conditional_expected_purchases(t, frequency, recency, T)

    def probability_alive(self, frequency, recency, T):
        return self.inner.probability_alive(frequency, recency, T)

    def expected_purchases_new(self, t):
        return self.inner.expected_purchases_new(t)


class FlatSpend:
    """An order-value model of its own: every future order is worth 20."""

    def expected_average_order_value(self, frequency, monetary_value):
        return np.full(np.shape(frequency), 20.0)


def test_customer_value_accepts_any_model_with_the_methods():
    summary = rt.rfm_summary(HAND, "D", time_unit="W")
    hist = customer_history(HAND, "M", segments="channel")
    bgf, ggf = fixed_bgf(), fixed_ggf()
    wrapped = WrappedPurchases(bgf)
    assert not isinstance(wrapped, BetaGeo)
    values = customer_value(summary, wrapped, ggf, history=hist, horizon=6)
    pd.testing.assert_frame_equal(values, customer_value(summary, bgf, ggf, history=hist,
                                                         horizon=6))
    assert values.attrs["model_time_unit"] == "W"  # read from the wrapper's time_unit_
    flat = customer_value(summary, wrapped, FlatSpend(), horizon=6)
    assert flat["expected_average_order_value"].tolist() == [20.0] * len(summary)
    np.testing.assert_allclose(flat["clv"] / 20.0, values["clv"]
                               / values["expected_average_order_value"])
    # the diagnostics take it too
    pd.testing.assert_frame_equal(frequency_recency_matrix(wrapped, 39, max_frequency=3),
                                  frequency_recency_matrix(bgf, 39, max_frequency=3))
    pd.testing.assert_frame_equal(expected_cumulative_transactions(HAND, wrapped),
                                  expected_cumulative_transactions(HAND, bgf))


def test_models_without_the_methods_are_named():
    summary = rt.rfm_summary(HAND, "D", time_unit="W")
    with pytest.raises(TypeError, match=r"bgf must be a fitted purchase-count model .*BetaGeo.*"
                       r"got GammaGamma without conditional_expected_purchases\(\), "
                       r"probability_alive\(\)"):
        customer_value(summary, fixed_ggf(), fixed_ggf(), model_time_unit="W")
    with pytest.raises(TypeError, match=r"ggf must be a fitted order-value model .*GammaGamma"
                       r".*got object without expected_average_order_value\(\)"):
        rt.predict_clv(fixed_bgf(), object(), summary)
    with pytest.raises(TypeError, match=r"got WrappedPurchases without expected_purchases_new"):
        partial = WrappedPurchases(fixed_bgf())
        partial.expected_purchases_new = None
        expected_cumulative_transactions(HAND, partial)


def test_predicted_value_hand_computed():
    values = pd.DataFrame({"cohort": ["x", "x", "y", "y", "y"],
                           "clv": [10.0, 30.0, 5.0, 5.0, 50.0],
                           "probability_alive": [1.0, 0.5, 0.2, 0.4, 0.9],
                           "expected_purchases": [1.0, 2.0, 0.0, 0.0, 3.0]})
    table = predicted_value(values)
    assert table["customers"].tolist() == [2, 3]
    assert table["clv"].tolist() == [40.0, 60.0]
    assert table["clv_per_customer"].tolist() == [20.0, 20.0]
    assert table["share_of_clv"].tolist() == [0.4, 0.6]
    assert table["probability_alive"].tolist() == pytest.approx([0.75, 0.5])
    assert table["expected_purchases_per_customer"].tolist() == [1.5, 1.0]


def test_predicted_value_missing_group_column_says_how_to_join():
    with pytest.raises(ValueError, match=r"'channel'.*history="):
        predicted_value(pd.DataFrame({"clv": [1.0]}), "channel")


# --------------------------------------------------------------------------------------------
# concentration
# --------------------------------------------------------------------------------------------

TEN = pd.DataFrame({"clv": [100.0, 60.0, 10, 10, 5, 5, 4, 3, 2, 1]},
                   index=[f"c{i}" for i in range(10)])


def test_top_share_ten_customers():
    assert top_share(TEN, "clv") == pytest.approx(160 / 200)
    assert top_share(TEN, "clv", 0.1) == pytest.approx(0.5)
    assert top_share(TEN, "clv", 1.0) == pytest.approx(1.0)
    # shuffled input, same answer
    assert top_share(TEN.sample(frac=1, random_state=3), "clv") == pytest.approx(0.8)


def test_top_share_interpolates_between_customers():
    values = pd.Series([40.0, 30.0, 10.0, 10.0, 5.0, 3.0, 2.0], name="v")  # total 100
    # top 20% of 7 customers = 1.4 customers: the first one and 0.4 of the second
    assert top_share(values, top=0.2) == pytest.approx((40 + 0.4 * 30) / 100)
    assert top_share(pd.Series([3.0] * 7), top=0.2) == pytest.approx(0.2)


def test_value_deciles_ten_customers():
    d = value_deciles(TEN, "clv")
    assert d["decile"].tolist() == list(range(1, 11))
    assert d["customers"].tolist() == [1] * 10
    assert d["total"].tolist() == [100.0, 60.0, 10, 10, 5, 5, 4, 3, 2, 1]
    assert d["share_of_value"].sum() == pytest.approx(1.0)
    assert d["cumulative_share_of_value"].iloc[1] == pytest.approx(0.8)


def test_value_deciles_sizes_and_compare():
    data = pd.DataFrame({"clv": np.arange(23, dtype=float), "actual": np.ones(23)})
    d = value_deciles(data, "clv", compare=["actual"])
    assert d["customers"].sum() == 23 and d["customers"].max() - d["customers"].min() <= 1
    assert d["actual"].sum() == 23 and d["actual_share"].sum() == pytest.approx(1.0)
    assert d["min"].iloc[0] >= d["max"].iloc[1]  # the top group holds the largest values
    q = value_deciles(data, "clv", groups=5)
    assert len(q) == 5 and q["share_of_customers"].sum() == pytest.approx(1.0)


def test_gini_and_curve():
    assert gini(pd.Series([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    assert gini(pd.Series([5.0] * 4)) == pytest.approx(0.0)
    # 1, 2, 3: G = (2*1-4)*1 + (2*2-4)*2 + (2*3-4)*3 = 4 over 3 * 6
    assert gini(pd.Series([3.0, 1.0, 2.0])) == pytest.approx(4 / 18)
    curve = concentration_curve(TEN, "clv")
    assert len(curve) == 11
    assert curve.iloc[0].tolist() == [0, 0.0, 0.0] and curve.iloc[-1].tolist() == [10, 1.0, 1.0]
    assert curve["share_of_value"].iloc[2] == pytest.approx(0.8)


def test_concentration_errors_name_column_count_and_examples():
    bad = pd.DataFrame({"clv": [1.0, -2.0, 3.0, -1.0]}, index=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"'clv'.* 2 negative.*\['b', 'd'\]"):
        top_share(bad, "clv")
    with pytest.raises(ValueError, match="missing or infinite"):
        value_deciles(pd.DataFrame({"clv": [1.0, np.nan]}), "clv", groups=2)
    with pytest.raises(ValueError, match="sums to 0"):
        gini(pd.Series([0.0, 0.0]))
    with pytest.raises(ValueError, match="more than the 3"):
        value_deciles(pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"missing column\(s\) 'value'.*available columns"):
        top_share(TEN, "value")
    with pytest.raises(ValueError, match="top"):
        top_share(TEN, "clv", 0.0)


def test_concentration_extreme_magnitudes():
    # one customer holds a subnormal value: its share used to underflow to 0
    tiny = pd.Series([0.0] * 9 + [5e-324], name="clv")
    assert top_share(tiny, top=0.03125) == 0.3125
    assert gini(tiny) == pytest.approx(0.9)
    assert concentration_curve(tiny)["share_of_value"].tolist() == [0.0] + [1.0] * 10
    assert value_deciles(tiny)["share_of_value"].tolist() == [1.0] + [0.0] * 9
    # values whose total overflows: the shares used to be 0 (value / inf)
    huge = pd.Series([1.5e308] * 4, name="clv")
    assert top_share(huge, top=0.5) == 0.5
    assert gini(huge) == 0.0
    quartiles = value_deciles(huge, groups=4)
    assert quartiles["share_of_value"].tolist() == [0.25] * 4
    assert quartiles["mean"].tolist() == [1.5e308] * 4


# any non-negative finite values (subnormal and near the float maximum included), not all 0
values_lists = st.lists(
    st.floats(0, allow_nan=False, allow_infinity=False), min_size=10, max_size=200
).filter(any)


@settings(max_examples=200, deadline=None)
@given(values=values_lists, top=st.floats(0.01, 1.0))
@example(values=[0.0] * 9 + [5e-324], top=0.03125)  # the total underflowed: share 0
@example(values=[1.5e308] * 10, top=0.2)  # the total overflowed
def test_concentration_invariants(values, top):
    series = pd.Series(values, name="clv")
    share = top_share(series, top=top)
    assert top - 1e-9 <= share <= 1 + 1e-12
    assert 0 <= gini(series) <= (len(values) - 1) / len(values) + 1e-12
    curve = concentration_curve(series)
    assert np.all(np.diff(curve["share_of_value"]) >= -1e-12)
    assert np.all(curve["share_of_value"] >= curve["share_of_customers"] - 1e-9)


@settings(max_examples=200, deadline=None)
@given(values=values_lists)
@example(values=[0.0] * 9 + [5e-324])
@example(values=[1.5e308] * 10)
def test_deciles_invariants(values):
    d = value_deciles(pd.Series(values, name="clv"))
    assert d["share_of_value"].sum() == pytest.approx(1.0)
    assert d["customers"].sum() == len(values)
    assert np.all(np.diff(d["mean"]) <= 1e-9 * max(values))  # deciles monotone
    assert np.all(d["min"].to_numpy()[:-1] >= d["max"].to_numpy()[1:])
    assert top_share(pd.Series(values), top=0.2) >= 0.2 - 1e-9


# --------------------------------------------------------------------------------------------
# churn risk
# --------------------------------------------------------------------------------------------


def risk_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"revenue": [1000.0, 900.0, 900.0, 800.0, 50.0, 40.0, 30.0, 20.0, 10.0, 5.0],
         "probability_alive": [0.9, 0.2, 0.1, 0.4, 0.01, 0.3, 0.9, 0.9, 0.9, 0.9],
         "frequency": [10, 4, 3, 5, 0, 1, 1, 1, 0, 0],
         "recency": [50.0, 20, 12, 30, 0, 5, 5, 5, 0, 0],
         "T": [52.0, 60, 60, 60, 40, 40, 40, 40, 10, 10],
         "channel": list("abcdefghij")},
        index=[f"k{i}" for i in range(10)])


def test_churn_risk_selection_and_ordering():
    risk = churn_risk(risk_table(), top_value=0.4, columns=["channel"], time_unit="W")
    # top 40% by revenue: k0..k3 (k1, k2 tie at rank 2); k0 is alive (0.9)
    # value at risk: k2 900*0.9=810, k1 900*0.8=720, k3 800*0.6=480
    assert risk.index.tolist() == ["k2", "k1", "k3"]
    assert risk["value_rank"].tolist() == [2, 2, 4]
    assert risk["value_at_risk"].tolist() == pytest.approx([810.0, 720.0, 480.0])
    assert risk["time_since_last_purchase"].tolist() == [48.0, 40.0, 30.0]
    assert risk["usual_gap"].tolist() == pytest.approx([4.0, 5.0, 6.0])
    assert risk["channel"].tolist() == ["c", "b", "d"]
    assert risk["reason"].iloc[0] == (
        "top 20% by revenue (rank 2 of 10); P(alive) 10%; last purchase 48 weeks ago, "
        "usually every 4.0 weeks")
    assert churn_risk(risk_table(), top_value=0.4, n=1).index.tolist() == ["k2"]
    assert churn_risk(risk_table(), top_value=0.4, max_alive=0.15).index.tolist() == ["k2"]


def test_churn_risk_ties_keep_input_order():
    table = pd.DataFrame({"revenue": [5.0, 5.0, 5.0], "probability_alive": [0.1, 0.1, 0.1]},
                         index=["z", "y", "x"])
    assert churn_risk(table, top_value=1.0).index.tolist() == ["z", "y", "x"]


def test_churn_risk_errors():
    table = risk_table()
    with pytest.raises(ValueError, match=r"'probability_alive'.*probabilities.*\['k0'\]"):
        churn_risk(table.assign(probability_alive=[1.5] + [0.5] * 9))
    with pytest.raises(ValueError, match="'clv'"):
        churn_risk(table, value="clv")
    with pytest.raises(ValueError, match="top_value"):
        churn_risk(table, top_value=2)


# --------------------------------------------------------------------------------------------
# diagnostics
# --------------------------------------------------------------------------------------------


def test_calibration_vs_holdout_against_row_by_row_means():
    rng = np.random.default_rng(0)
    n = 60
    x = rng.integers(0, 6, n)
    big_t = rng.uniform(10, 39, n)
    tx_ = np.where(x > 0, big_t * rng.uniform(0.1, 1, n), 0.0)
    cal = pd.DataFrame({"frequency_cal": x, "recency_cal": tx_, "T_cal": big_t,
                        "frequency_holdout": rng.integers(0, 4, n),
                        "duration_holdout": 26.0})
    bgf = fixed_bgf()
    table = calibration_vs_holdout(cal, bgf, max_frequency=3)
    assert table["label"].tolist() == ["0", "1", "2", "3+"]
    for _, row in table.iterrows():
        members = cal[np.minimum(cal["frequency_cal"], 3) == row["frequency"]]
        assert row["customers"] == len(members)
        assert row["actual"] == pytest.approx(members["frequency_holdout"].mean())
        direct = [bgf.conditional_expected_purchases(26.0, f, r, t) for f, r, t in
                  members[["frequency_cal", "recency_cal", "T_cal"]].itertuples(index=False)]
        assert row["expected"] == pytest.approx(np.mean(direct))
    assert table["customers"].sum() == n


def test_frequency_recency_matrix_against_model():
    bgf = fixed_bgf()
    m = frequency_recency_matrix(bgf, 39.0, max_frequency=4, recency_step=3, t=10)
    assert m.index.tolist() == [0, 1, 2, 3, 4]
    assert m.columns.tolist() == list(np.arange(0.0, 40.0, 3.0))
    assert m.loc[2, 12.0] == pytest.approx(bgf.conditional_expected_purchases(10, 2, 12.0, 39.0))
    assert m.loc[0, 0.0] == pytest.approx(bgf.conditional_expected_purchases(10, 0, 0, 39.0))
    assert np.isnan(m.loc[0, 3.0]) and np.isnan(m.loc[3, 0.0])  # impossible histories
    p = frequency_recency_matrix(bgf, 39.0, max_frequency=4, kind="probability_alive")
    # default step: ceil(39 / 25) = 2 time units, and the last column is T itself
    assert p.columns.tolist() == [*range(0, 39, 2), 39.0]
    assert p.loc[4, 20.0] == pytest.approx(bgf.probability_alive(4, 20.0, 39.0))
    assert p.attrs["kind"] == "probability_alive"
    # P(alive) rises with recency for a given frequency
    assert np.all(np.diff(p.loc[3].dropna().to_numpy()) > 0)


def test_frequency_recency_matrix_errors():
    with pytest.raises(ValueError, match="kind"):
        frequency_recency_matrix(fixed_bgf(), 39, kind="alive")
    with pytest.raises(ValueError, match="max_recency"):
        frequency_recency_matrix(fixed_bgf(), 39, max_recency=50)
    with pytest.raises(ValueError, match="not fitted"):
        frequency_recency_matrix(BetaGeo(), 39)


TRACK = make_tx([
    ("A", "2024-01-01", 10.0, "x"), ("A", "2024-01-03", 5.0, "x"), ("A", "2024-01-03", 7.0, "x"),
    ("A", "2024-01-20", 4.0, "x"), ("A", "2024-01-21", -4.0, "x"),
    ("B", "2024-01-02", 8.0, "x"), ("B", "2024-01-16", 9.0, "x"),
    ("C", "2024-01-02", 3.0, "x"),
    ("D", "2024-01-10", 6.0, "x"), ("D", "2024-01-10", 6.0, "x"),
    ("E", "2024-01-25", 5.0, "x"), ("E", "2024-01-28", 5.0, "x"),
])


def test_expected_cumulative_transactions_by_direct_summation():
    bgf = fixed_bgf("W")
    out = expected_cumulative_transactions(TRACK, bgf, interval="D")
    first = {"A": "2024-01-01", "B": "2024-01-02", "C": "2024-01-02", "D": "2024-01-10",
             "E": "2024-01-25"}
    repeats = pd.to_datetime(["2024-01-03", "2024-01-20", "2024-01-16", "2024-01-28"])
    # acquisition cohorts (by day) and their sizes
    cohorts = pd.Series(pd.to_datetime(list(first.values()))).value_counts()
    assert len(out) == 28 and out["date"].iloc[-1] == pd.Timestamp("2024-01-28")
    for _, row in out.iterrows():
        day = row["date"]
        expected = sum(size * bgf.expected_purchases_new((day - c).days / 7)
                       for c, size in cohorts.items() if c <= day)
        assert row["expected"] == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert row["actual"] == int((repeats <= day).sum())
        assert row["customers"] == int(cohorts[cohorts.index <= day].sum())
    # weekly report: the same numbers at each week's last day
    weekly = expected_cumulative_transactions(TRACK, bgf, interval="W",
                                              calibration_end="2024-01-14")
    daily = out.set_index("date")
    assert weekly["date"].tolist() == list(pd.to_datetime(
        ["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28"]))
    np.testing.assert_allclose(weekly["expected"], daily.loc[weekly["date"], "expected"])
    assert weekly["actual_increment"].sum() == weekly["actual"].iloc[-1] == 4
    assert weekly["holdout"].tolist() == [False, False, True, True]
    assert not weekly["partial"].any()


def test_expected_cumulative_transactions_agrees_with_rfm_summary():
    bgf = fixed_bgf("W")
    end = "2024-01-24"
    out = expected_cumulative_transactions(TRACK, bgf, observation_end=end, interval="W")
    summary = rt.rfm_summary(TRACK, "D", end, time_unit="W")
    assert out["actual"].iloc[-1] == summary["frequency"].sum()
    assert out["expected"].iloc[-1] == pytest.approx(
        bgf.expected_purchases_new(summary["T"]).sum())
    assert out["partial"].tolist() == [False, False, False, True]
    assert out.attrs["n_transactions_after_end"] == 2


def test_expected_cumulative_transactions_errors():
    with pytest.raises(ValueError, match="time unit"):
        expected_cumulative_transactions(TRACK, fixed_bgf(None))
    with pytest.raises(ValueError, match="interval"):
        expected_cumulative_transactions(TRACK, fixed_bgf(), freq="W", interval="D")
    with pytest.raises(ValueError, match="'order_date'"):
        expected_cumulative_transactions(TRACK.drop(columns="order_date"), fixed_bgf())
    with pytest.raises(ValueError, match="datetime64"):
        expected_cumulative_transactions(TRACK.assign(order_date="2024-01-01"), fixed_bgf())


# --------------------------------------------------------------------------------------------
# highlights and summary text
# --------------------------------------------------------------------------------------------


def test_highlights_and_description():
    values = TEN.assign(probability_alive=[0.9] * 5 + [0.5] * 5, frequency=[0, 1] * 5,
                        channel=["a"] * 5 + ["b"] * 5)
    values.attrs.update(horizon=12, time_unit="M", discount_rate=0.01)
    groups = predicted_value(pd.concat([values] * 6), "channel")  # >= 30 customers per group
    h = clv_highlights(values, revenue=None, groups=groups)
    assert h["customers"] == 10 and h["clv_total"] == 200.0 and h["top_share"] == 0.8
    assert h["expected_alive"] == pytest.approx(7.0) and h["one_time_buyers"] == 0.5
    assert (h["best_group"], h["worst_group"]) == ("a", "b")
    text = describe_clv(h)
    assert "**10** customers" in text and "next 12 months" in text
    assert "**80.0%**" in text and "highest predicted value per customer **a**" in text


def test_highlights_with_diagnostics():
    values = TEN.assign(probability_alive=0.5)
    holdout = pd.DataFrame({"actual_total": [10.0, 20.0], "expected_total": [12.0, 21.0]})
    tracking = pd.DataFrame({"actual": [5, 100], "expected": [4.0, 90.0]})
    h = clv_highlights(values, revenue=None, holdout=holdout, tracking=tracking)
    assert (h["holdout_actual"], h["holdout_expected"]) == (30.0, 33.0)
    text = describe_clv(h)
    assert "they made **30** (the model is 10.0% above)" in text
    assert "**90** repeat transactions against **100** actual (the model is 10.0% below)" in text


# --------------------------------------------------------------------------------------------
# end to end on the bundled sample
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_values():
    tx = rt.load_transactions(SAMPLE)
    summary = rt.rfm_summary(tx, "D", time_unit="W")
    bgf = BetaGeo().fit(summary)
    ggf = GammaGamma().fit(summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)])
    hist = customer_history(tx, "Q", segments="channel")
    return tx, bgf, customer_value(summary, bgf, ggf, history=hist)


def test_sample_breakdowns_add_up(sample_values):
    tx, _bgf, values = sample_values
    assert len(values) == tx["customer_id"].nunique()
    by_channel = predicted_value(values, "channel")
    assert by_channel["clv"].sum() == pytest.approx(values["clv"].sum())
    assert by_channel["customers"].sum() == len(values)
    hist = historical_value(values, "cohort")
    assert hist["revenue"].sum() == pytest.approx(tx["revenue"].sum())
    d = value_deciles(values, "clv")
    assert d["cumulative_share_of_value"].iloc[1] == pytest.approx(top_share(values, "clv"))
    risk = churn_risk(values, n=20)
    assert len(risk) == 20 and risk["value_at_risk"].is_monotonic_decreasing
    assert (risk["probability_alive"] < 0.5).all() and (risk["top_fraction"] <= 0.2).all()


# --------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------


def test_plot_calibration_vs_holdout_contents():
    table = pd.DataFrame({"frequency": [0, 1, 2], "label": ["0", "1", "2+"],
                          "customers": [1500, 20, 8], "actual": [0.2, 0.6, 1.9],
                          "expected": [0.25, 0.55, 1.7]})
    table.attrs.update(time_unit="W", duration=26.0)
    ax = plot_calibration_vs_holdout(table, linewidth=3)
    actual, model = ax.lines[:2]
    assert actual.get_ydata().tolist() == [0.2, 0.6, 1.9]
    assert model.get_ydata().tolist() == [0.25, 0.55, 1.7]
    assert actual.get_linewidth() == 3
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0\n(n=1,500)", "1\n(n=20)",
                                                           "2+\n(n=8)"]
    assert ax.get_ylabel() == "Mean purchases in the holdout (26 weeks)"
    with pytest.raises(ValueError, match="calibration_vs_holdout"):
        plot_calibration_vs_holdout(table.drop(columns="expected"))


def test_plot_frequency_recency_matrix_contents():
    m = frequency_recency_matrix(fixed_bgf(), 20.0, max_frequency=3, recency_step=5,
                                 kind="probability_alive")
    fig, ax = plt.subplots()
    assert plot_frequency_recency_matrix(m, ax=ax) is ax
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    cells = mesh.get_array()
    assert cells.shape == (4, 5)
    # frequency grows upwards: the first drawn row is the highest frequency
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "2", "1", "0"]
    assert cells[0, 4] == pytest.approx(m.loc[3, 20.0])
    assert bool(cells.mask[3, 1]) and bool(cells.mask[0, 0])  # impossible cells blank
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "5", "10", "15", "20"]
    assert "customers first seen 20 weeks ago" in ax.get_title()
    assert fig.axes[-1].get_ylabel() == "P(alive)"  # colour bar
    e = frequency_recency_matrix(fixed_bgf(), 20.0, max_frequency=3, t=4)
    ax2 = plot_frequency_recency_matrix(e, annot=True)
    assert "next 4 weeks" in ax2.get_title()
    with pytest.raises(ValueError, match="no value"):
        plot_frequency_recency_matrix(m * np.nan)


def test_plot_cumulative_transactions_contents():
    out = expected_cumulative_transactions(TRACK, fixed_bgf(), interval="D",
                                           calibration_end="2024-01-14")
    ax = plot_cumulative_transactions(out)
    assert ax.lines[0].get_ydata().tolist() == out["actual"].tolist()
    np.testing.assert_allclose(ax.lines[1].get_ydata(), out["expected"])
    assert ax.lines[2].get_label() == "end of calibration"
    ax2 = plot_cumulative_transactions(out.assign(partial=[False] * 27 + [True]), incremental=True)
    assert len(ax2.lines[0].get_ydata()) == 27
    assert ax2.get_ylabel() == "Repeat transactions per day"


def test_plot_value_by_group_contents():
    table = pd.DataFrame({"cohort": pd.period_range("2024Q1", periods=3, freq="Q"),
                          "revenue_per_customer": [180.0, 150.0, 80.0],
                          "clv_per_customer": [40.0, 60.0, 95.0]})
    ax = plot_value_by_group(table, ["revenue_per_customer", "clv_per_customer"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024Q1", "2024Q2", "2024Q3"]
    heights = [[p.get_height() for p in c] for c in ax.containers]
    assert heights == [[180.0, 150.0, 80.0], [40.0, 60.0, 95.0]]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Historical revenue per customer", "Predicted CLV per customer"]
    assert ax.get_xlabel() == "Acquisition cohort"
    assert "180" in [t.get_text() for t in ax.texts]
    single = plot_value_by_group(table, "clv_per_customer", color="red")
    assert single.get_ylabel() == "Predicted CLV per customer"
    with pytest.raises(ValueError, match="'clv'"):
        plot_value_by_group(table, "clv")


def test_plot_deciles_and_concentration_contents():
    d = value_deciles(TEN, "clv")
    ax = plot_deciles(d)
    assert [p.get_height() for p in ax.patches] == pytest.approx(d["share_of_value"].tolist())
    assert [t.get_text() for t in ax.texts][:2] == ["50%", "30%"]
    assert ax.lines[-1].get_ydata()[0] == pytest.approx(0.1)  # equal-share line
    assert ax.get_ylabel() == "Share of predicted CLV"
    ax2 = plot_concentration(TEN, "clv", top=0.2)
    curve = ax2.lines[0]
    assert curve.get_ydata()[2] == pytest.approx(0.8)
    assert ax2.texts[0].get_text() == "top 20% of customers: 80% of predicted CLV"
    assert len(plot_concentration(TEN, "clv", top=None).texts) == 0


def test_unfitted_model_is_refused_before_any_pass_over_the_data():
    from retention.models import BetaGeo, NotFittedError

    tx = pd.DataFrame({"customer_id": [], "order_date": pd.to_datetime([]), "revenue": []})
    # the empty log would fail too: the model check comes first
    with pytest.raises(NotFittedError, match="bgf .*not fitted yet"):
        rt.expected_cumulative_transactions(tx, BetaGeo(), time_unit="W")


# --------------------------------------------------------------------------------------------
# profit margin, the period-by-period plan and P(alive) at a future date
# --------------------------------------------------------------------------------------------


def plan_summary() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 8, 200).astype(float)
    T = rng.uniform(10, 39, 200)
    tx = np.where(x > 0, T * rng.uniform(0.1, 1.0, 200), 0.0)
    m = np.where(x > 0, rng.gamma(4.0, 8.0, 200), 0.0)
    frame = pd.DataFrame({"frequency": x, "recency": tx, "T": T, "monetary_value": m},
                         index=pd.Index([f"c{i}" for i in range(200)], name="client"))
    frame.attrs.update(time_unit="W", observation_end="1997-09-30")
    return frame


def test_margin_makes_clv_profit():
    summary = plan_summary()
    revenue = rt.predict_clv(fixed_bgf(), fixed_ggf(), summary, horizon=12)
    profit = rt.predict_clv(fixed_bgf(), fixed_ggf(), summary, horizon=12, margin=0.25)
    np.testing.assert_allclose(profit["clv"], 0.25 * revenue["clv"], rtol=1e-14)
    pd.testing.assert_series_equal(profit["expected_purchases"], revenue["expected_purchases"])
    assert revenue.attrs["margin"] == 1.0 and profit.attrs["margin"] == 0.25
    values = customer_value(summary, fixed_bgf(), fixed_ggf(), horizon=12, margin=0.25)
    np.testing.assert_allclose(values["clv"], profit["clv"], rtol=1e-14)
    assert values.attrs["margin"] == 0.25
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="margin"):
            rt.predict_clv(fixed_bgf(), fixed_ggf(), summary, margin=bad)


@pytest.mark.parametrize(("unit", "horizon", "rate", "margin"),
                         [("M", 24, 0.01, 1.0), ("W", 10, 0.002, 0.3), ("Q", 5, 0.03, 0.6)])
def test_clv_schedule_adds_up_to_customer_value(unit, horizon, rate, margin):
    from retention.models.clv import clv_schedule

    summary = plan_summary()
    kwargs = dict(horizon=horizon, time_unit=unit, discount_rate=rate, margin=margin)
    values = customer_value(summary, fixed_bgf(), fixed_ggf(), **kwargs)
    plan = clv_schedule(summary, fixed_bgf(), fixed_ggf(), **kwargs)
    assert plan["period"].tolist() == list(range(1, horizon + 1))
    assert plan["discounted_value"].sum() == pytest.approx(values["clv"].sum(), rel=1e-12)
    assert plan["cumulative_discounted_value"].iloc[-1] == pytest.approx(values["clv"].sum(),
                                                                        rel=1e-12)
    assert plan["expected_purchases"].sum() == pytest.approx(
        values["expected_purchases"].sum(), rel=1e-12)
    np.testing.assert_allclose(plan["value"], margin * plan["revenue"], rtol=1e-14)
    np.testing.assert_allclose(plan["discount_factor"],
                               (1 + rate) ** -np.arange(1, horizon + 1), rtol=1e-14)
    np.testing.assert_allclose(plan["discounted_value"],
                               plan["value"] * plan["discount_factor"], rtol=1e-14)
    assert plan.attrs["time_unit"] == unit and plan.attrs["n_customers"] == 200
    # expected purchases per period fall as customers drop out
    assert (np.diff(plan["expected_purchases"]) < 0).all()

    each = clv_schedule(summary, fixed_bgf(), fixed_ggf(), per_customer=True, **kwargs)
    assert len(each) == 200 * horizon and each.columns[0] == "client"
    per = each.groupby("client", sort=False)["discounted_value"].sum()
    np.testing.assert_allclose(per.loc[values.index], values["clv"], rtol=1e-12)
    totals = each.groupby("period")[["expected_purchases", "revenue", "discounted_value"]].sum()
    np.testing.assert_allclose(totals.to_numpy(),
                               plan[["expected_purchases", "revenue", "discounted_value"]],
                               rtol=1e-12)
    last = each.groupby("client", sort=False)["cumulative_discounted_value"].last()
    np.testing.assert_allclose(last.loc[values.index], values["clv"], rtol=1e-12)


def test_clv_schedule_yearly_equals_twelve_months_of_revenue():
    from retention.models.clv import clv_schedule

    summary = plan_summary()
    year = clv_schedule(summary, fixed_bgf(), fixed_ggf(), horizon=2, time_unit="Y",
                        discount_rate=0.0)
    months = clv_schedule(summary, fixed_bgf(), fixed_ggf(), horizon=24, time_unit="M",
                          discount_rate=0.0)
    np.testing.assert_allclose(year["revenue"],
                               months["revenue"].to_numpy().reshape(2, 12).sum(axis=1),
                               rtol=1e-10)
    assert year.attrs["time_unit"] == "Y"
    # discounted yearly at 10%: value / 1.1 ** year
    yearly = clv_schedule(summary, fixed_bgf(), fixed_ggf(), horizon=2, time_unit="year",
                          discount_rate=0.1, margin=0.5)
    np.testing.assert_allclose(yearly["discounted_value"],
                               0.5 * year["revenue"] / 1.1 ** np.arange(1, 3), rtol=1e-12)
    with pytest.raises(ValueError, match="time_unit"):
        clv_schedule(summary, fixed_bgf(), fixed_ggf(), horizon=2, time_unit="decade",
                     discount_rate=0.1)


def test_probability_alive_at_is_bayes_rule_for_bgnbd():
    from retention.models.clv import probability_alive_at

    summary = plan_summary()
    bgf = fixed_bgf()
    r, alpha = BG_PARAMS["r"], BG_PARAMS["alpha"]
    x, T = summary["frequency"].to_numpy(), summary["T"].to_numpy()
    now = bgf.probability_alive(summary["frequency"], summary["recency"], summary["T"])
    pd.testing.assert_series_equal(probability_alive_at(bgf, summary, 0), now)
    for t in (1.0, 13.0, 52.0):
        q = ((alpha + T) / (alpha + T + t)) ** (r + x)  # no purchase in t, if alive
        p = now.to_numpy()
        bayes = p * q / (1 - p + p * q)
        np.testing.assert_allclose(probability_alive_at(bgf, summary, t), bayes, rtol=1e-10)
    later = probability_alive_at(bgf, summary, 26)
    repeat = x > 0
    assert (later[repeat] < now[repeat]).all() and (later[~repeat] == 1).all()
    # a date: 13 weeks after 1997-09-30; an explicit observation end
    np.testing.assert_allclose(probability_alive_at(bgf, summary, "1997-12-30"),
                               probability_alive_at(bgf, summary, 13), rtol=1e-12)
    np.testing.assert_allclose(
        probability_alive_at(bgf, summary, pd.Timestamp("1998-01-06"),
                             observation_end="1997-10-07"),
        probability_alive_at(bgf, summary, 13), rtol=1e-12)
    # one horizon per customer
    ahead = np.linspace(0, 30, 200)
    np.testing.assert_allclose(
        probability_alive_at(bgf, summary, ahead),
        bgf.probability_alive(x, summary["recency"].to_numpy(), T + ahead), rtol=1e-14)
    with pytest.raises(ValueError, match="before the end of observation"):
        probability_alive_at(bgf, summary, "1997-01-01")
    with pytest.raises(ValueError, match="observation_end"):
        probability_alive_at(bgf, summary.copy().pipe(lambda s: s.attrs.clear() or s),
                             "1998-01-01")
    with pytest.raises(ValueError, match="negative"):
        probability_alive_at(bgf, summary, -1)


def test_probability_alive_at_other_models():
    from retention.models import BetaGeoBetaBinom, ModifiedBetaGeo, ParetoNBD
    from retention.models.clv import probability_alive_at

    summary = plan_summary()
    pnbd = ParetoNBD()
    pnbd.params_ = {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}
    mbg = ModifiedBetaGeo()
    mbg.params_ = dict(BG_PARAMS)
    for model in (pnbd, mbg):
        now = probability_alive_at(model, summary, 0)
        later = probability_alive_at(model, summary, 26)
        assert (later < now).all()  # both let one-time buyers drop out too
    bgbb = BetaGeoBetaBinom()
    bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    disc = pd.DataFrame({"frequency": [0.0, 3.0, 6.0], "recency": [0.0, 4.0, 6.0],
                         "T": [6.0, 6.0, 6.0]})
    np.testing.assert_allclose(probability_alive_at(bgbb, disc, 2),
                               bgbb.probability_alive_at(0, disc["frequency"], disc["recency"],
                                                         disc["T"] + 2), rtol=1e-14)
    with pytest.raises(ValueError, match="whole"):
        probability_alive_at(bgbb, disc, 1.5)
