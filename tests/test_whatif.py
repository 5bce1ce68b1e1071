"""What-if arithmetic: hand-computed values, closed forms, monotonicity and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from retention.metrics.formulas import margin_multiplier_clv
from retention.metrics.whatif import (
    acquisition_vs_retention_cost,
    ltv_cac,
    payback_period,
    retention_claim_grid,
    retention_uplift,
    retention_value,
)


def brute_value(m, r, d, horizon, timing="start"):
    ts = range(horizon) if timing == "start" else range(1, horizon + 1)
    return sum(m * r**t / (1 + d) ** t for t in ts)


# ------------------------------------------------------------------------------------------
# retention_value
# ------------------------------------------------------------------------------------------


def test_infinite_horizon_closed_forms():
    assert retention_value(100, 0.8, 0.1, math.inf) == pytest.approx(100 * 1.1 / (1.1 - 0.8))
    assert retention_value(100, 0.8, 0.1) == pytest.approx(366.6666666666667)
    assert retention_value(100, 0.8, 0.1, timing="end") == pytest.approx(
        margin_multiplier_clv(margin=100, retention=0.8, discount_rate=0.1))
    assert retention_value(100, 0.8, 0.1, None) == retention_value(100, 0.8, 0.1)


def test_finite_horizon_hand_computed():
    # 100 + 100 * 0.8 / 1.1 + 100 * 0.64 / 1.21
    assert retention_value(100, 0.8, 0.1, 3) == pytest.approx(100 + 72.727272 + 52.892562)
    # end: 100 * 0.8 / 1.1 + 100 * 0.64 / 1.21 + 100 * 0.512 / 1.331
    assert retention_value(100, 0.8, 0.1, 3, timing="end") == pytest.approx(
        72.727272 + 52.892562 + 38.467317)
    assert retention_value(100, 0.8, 0.1, 0) == 0.0
    assert retention_value(100, 0.8, 0.1, 1) == 100.0
    assert retention_value(100, 0.8, 0.1, 1, timing="end") == pytest.approx(100 * 0.8 / 1.1)


def test_edge_retentions():
    assert retention_value(100, 0.0, 0.1, 10) == 100.0  # only the first margin
    assert retention_value(100, 1.0, 0.0, 4) == 400.0  # never churns, no discounting
    assert retention_value(100, 1.0, 0.1) == pytest.approx(100 * 1.1 / 0.1)  # perpetuity
    assert retention_value(100, 0.8, 0.0) == pytest.approx(500.0)


@settings(max_examples=200, deadline=None)
@given(m=st.floats(-500, 500), r=st.floats(0, 1), d=st.floats(0, 0.5),
       h=st.integers(0, 30), timing=st.sampled_from(["start", "end"]))
def test_matches_the_sum(m, r, d, h, timing):
    assert retention_value(m, r, d, h, timing=timing) == pytest.approx(
        brute_value(m, r, d, h, timing), rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(m=st.floats(1, 500), r=st.floats(0, 0.99), dr=st.floats(0.001, 0.2),
       d=st.floats(0, 0.5), dd=st.floats(0.001, 0.5), h=st.integers(1, 40),
       timing=st.sampled_from(["start", "end"]))
def test_monotone(m, r, dr, d, dd, h, timing):
    v = retention_value(m, r, d, h, timing=timing)
    r2 = min(r + dr, 1.0)
    assert retention_value(m, r2, d, h, timing=timing) >= v - 1e-9  # more retention
    assert retention_value(m, r, d + dd, h, timing=timing) <= v + 1e-9  # more discounting
    assert retention_value(m, r, d, h + 1, timing=timing) >= v - 1e-9  # longer horizon
    assert retention_value(m, r, d, math.inf, timing=timing) >= v - 1e-9
    assert retention_value(2 * m, r, d, h, timing=timing) == pytest.approx(2 * v)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retention": 1.2}, "retention is a fraction"),
        ({"retention": -0.1}, "retention is a fraction"),
        ({"retention": float("nan")}, "retention must be a finite number"),
        ({"horizon": -1}, "horizon must be a whole number of periods >= 0"),
        ({"horizon": 2.5}, "horizon must be a whole number"),
        ({"discount_rate": -1.0}, "discount_rate must be above -1"),
        ({"margin": float("inf")}, "margin must be finite"),
        ({"margin": "100"}, "margin must be a number"),
        ({"timing": "middle"}, "timing must be 'start' or 'end'"),
        ({"retention": 1.0, "discount_rate": 0.0}, "infinite horizon"),
    ],
)
def test_bad_inputs(kwargs, match):
    args = {"margin": 100, "retention": 0.8, "discount_rate": 0.1, "horizon": math.inf,
            **kwargs}
    with pytest.raises(ValueError, match=match):
        retention_value(**args)


# ------------------------------------------------------------------------------------------
# retention_uplift and the 25-95% claim
# ------------------------------------------------------------------------------------------


def test_uplift_hand_computed():
    u = retention_uplift(100, 0.80, 0.05, 0.1)
    assert u.value_before == pytest.approx(110 / 0.30)
    assert u.value_after == pytest.approx(110 / 0.25)
    assert u.value_uplift == pytest.approx(0.30 / 0.25 - 1)  # +20%
    assert u.profit_uplift == pytest.approx(0.2)
    assert not u.supports_claim()
    # acquisition cost 200: profit 166.67 -> 240, +44%
    u = retention_uplift(100, 0.80, 0.05, 0.1, acquisition_cost=200, cohort_size=1000)
    assert u.profit_before == pytest.approx(1000 * (110 / 0.3 - 200))
    assert u.profit_after == pytest.approx(1000 * 240)
    assert u.profit_uplift == pytest.approx(240 / (110 / 0.3 - 200) - 1)
    assert u.supports_claim() and not u.supports_claim(0.5, 0.95)


def test_uplift_without_base_profit_is_undefined():
    u = retention_uplift(100, 0.5, 0.05, 0.1, 3, acquisition_cost=1000)
    assert u.profit_before < 0 and math.isnan(u.profit_uplift)
    assert not u.supports_claim()


def test_uplift_bad_inputs():
    with pytest.raises(ValueError, match="delta=0.3 takes retention 0.8 to"):
        retention_uplift(100, 0.8, 0.3, 0.1, 5)
    with pytest.raises(ValueError, match="acquisition_cost must be >= 0"):
        retention_uplift(100, 0.8, 0.05, 0.1, acquisition_cost=-1)
    with pytest.raises(ValueError, match="retention \\+ delta"):
        retention_uplift(100, 0.95, 0.05, 0.0)


@settings(max_examples=100, deadline=None)
@given(r=st.floats(0, 0.9), d=st.floats(0, 0.5), h=st.integers(1, 30),
       cac=st.floats(0, 200))
def test_uplift_is_positive_and_grows_with_the_acquisition_cost(r, d, h, cac):
    base = retention_uplift(100, r, 0.05, d, h)
    assert base.value_uplift >= 0
    with_cost = retention_uplift(100, r, 0.05, d, h, acquisition_cost=cac)
    if with_cost.profit_before > 0:
        assert with_cost.profit_uplift >= base.profit_uplift - 1e-12


# ------------------------------------------------------------------------------------------
# LTV / CAC, payback
# ------------------------------------------------------------------------------------------


def test_ltv_cac():
    assert ltv_cac(300, 100) == 3.0
    assert ltv_cac(-50, 100) == -0.5
    with pytest.raises(ValueError, match="cac must be > 0"):
        ltv_cac(300, -5)
    with pytest.raises(ValueError, match="ltv must be finite"):
        ltv_cac(float("nan"), 5)


def test_payback_hand_computed():
    assert payback_period(100, 250, 0.8) == 4.0  # 100, 180, 244, 295.2
    assert payback_period(100, 250, 0.8, timing="end") == 5.0  # 80, 144, 195.2, 236.2, 268.9
    assert payback_period(100, 244, 0.8) == 3.0  # exactly covered after 3 periods
    assert payback_period(100, 100, 0.8) == 1.0
    assert payback_period(100, 0, 0.8) == 0.0
    assert payback_period(100, 250, 1.0) == 3.0
    assert payback_period(100, 50, 0.0) == 1.0
    assert payback_period(100, 150, 0.0) == math.inf
    assert payback_period(100, 500, 0.8) == math.inf  # the limit 500 is never reached
    assert payback_period(-10, 50, 0.8) == math.inf


@settings(max_examples=200, deadline=None)
@given(m=st.floats(1, 200), cac=st.floats(0.5, 2000), r=st.floats(0, 1),
       d=st.floats(0, 0.3), timing=st.sampled_from(["start", "end"]))
def test_payback_matches_a_loop(m, cac, r, d, timing):
    n = payback_period(m, cac, r, d, timing=timing)
    if n == math.inf:
        if r < 1 + d:
            assert retention_value(m, r, d, 5000, timing=timing) <= cac * (1 + 1e-9)
        return
    assert n >= 1 and n == int(n)
    assert retention_value(m, r, d, int(n), timing=timing) >= cac * (1 - 1e-9)
    assert retention_value(m, r, d, int(n) - 1, timing=timing) < cac * (1 + 1e-9)


def test_payback_bad_inputs():
    with pytest.raises(ValueError, match="cac must be >= 0"):
        payback_period(100, -1, 0.8)
    with pytest.raises(ValueError, match="retention is a fraction"):
        payback_period(100, 10, 80)


# ------------------------------------------------------------------------------------------
# acquisition versus retention cost
# ------------------------------------------------------------------------------------------


def test_cost_comparison_counts_only_the_customers_the_spend_kept():
    c = acquisition_vs_retention_cost(acquisition_spend=50_000, customers_acquired=500,
                                      retention_spend=20_000, customers_retained=1_800,
                                      retained_without_spend=1_600)
    assert (c.cost_per_acquired, c.cost_per_retained, c.ratio, c.verdict) == (
        100.0, 100.0, 1.0, "below")
    naive = acquisition_vs_retention_cost(acquisition_spend=50_000, customers_acquired=500,
                                          retention_spend=20_000, customers_retained=1_800)
    assert naive.ratio == pytest.approx(9.0) and naive.verdict == "within"
    high = acquisition_vs_retention_cost(acquisition_spend=300_000, customers_acquired=1000,
                                         retention_spend=1_000, customers_retained=100)
    assert high.ratio == 30.0 and high.verdict == "above"


def test_cost_comparison_when_the_spend_kept_nobody():
    c = acquisition_vs_retention_cost(acquisition_spend=1000, customers_acquired=10,
                                      retention_spend=500, customers_retained=90,
                                      retained_without_spend=95)
    assert c.cost_per_retained == math.inf and c.ratio == 0.0 and c.verdict == "below"


def test_cost_comparison_bad_inputs():
    with pytest.raises(ValueError, match="customers_acquired must be > 0"):
        acquisition_vs_retention_cost(acquisition_spend=1, customers_acquired=0,
                                      retention_spend=1, customers_retained=1)
    with pytest.raises(ValueError, match="retention_spend must be >= 0"):
        acquisition_vs_retention_cost(acquisition_spend=1, customers_acquired=1,
                                      retention_spend=-1, customers_retained=1)
    with pytest.raises(ValueError, match="claim must be"):
        acquisition_vs_retention_cost(acquisition_spend=1, customers_acquired=1,
                                      retention_spend=1, customers_retained=1, claim=(25, 5))


# ------------------------------------------------------------------------------------------
# claim grid
# ------------------------------------------------------------------------------------------


def test_claim_grid_matches_retention_uplift_row_by_row():
    g = retention_claim_grid([50, 100], [0.5, 0.8, 0.9], [3, 10, math.inf],
                             acquisition_cost=[0, 150], discount_rate=0.1)
    assert len(g) == 2 * 3 * 3 * 2
    assert list(g.columns[:5]) == ["margin", "retention", "horizon", "discount_rate",
                                   "acquisition_cost"]
    for row in g.itertuples():
        u = retention_uplift(row.margin, row.retention, 0.05, row.discount_rate, row.horizon,
                             acquisition_cost=row.acquisition_cost)
        assert row.value_before == pytest.approx(u.value_before)
        assert row.value_after == pytest.approx(u.value_after)
        if math.isnan(u.profit_uplift):
            assert math.isnan(row.profit_uplift) and row.verdict == "undefined"
        else:
            assert row.profit_uplift == pytest.approx(u.profit_uplift)
            assert row.holds == u.supports_claim()
    assert (g["holds"] == (g["verdict"] == "within")).all()
    assert g.attrs == {"delta": 0.05, "claim_low": 0.25, "claim_high": 0.95, "timing": "start"}
    # without an acquisition cost the margin cancels out
    free = g[g["acquisition_cost"] == 0]
    by_margin = free.pivot_table(index=["retention", "horizon"], columns="margin",
                                 values="profit_uplift")
    np.testing.assert_allclose(by_margin[50], by_margin[100])


def test_claim_grid_where_it_holds():
    g = retention_claim_grid(100, [0.6, 0.9], math.inf, discount_rate=0.1)
    assert g["verdict"].tolist() == ["below", "within"]
    assert g["profit_uplift"].tolist() == pytest.approx([0.5 / 0.45 - 1, 0.2 / 0.15 - 1])


def test_claim_grid_bad_inputs():
    with pytest.raises(ValueError, match="retention is a fraction"):
        retention_claim_grid(100, [0.5, 80], 5)
    with pytest.raises(ValueError, match="delta=0.05 takes retention 0.99"):
        retention_claim_grid(100, 0.99, 5)
    with pytest.raises(ValueError, match="horizon"):
        retention_claim_grid(100, 0.5, [-2])
    with pytest.raises(ValueError, match="give at least one value"):
        retention_claim_grid([], 0.5, 5)
