"""Seed formulas: the published worked examples, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from retention.metrics.formulas import (
    annualize_churn,
    average_order_value,
    churn_rate,
    customer_lifetime_value,
    margin_multiplier_clv,
    purchase_frequency,
    repeat_customer_rate,
    retention_rate,
)


@pytest.mark.parametrize(
    ("start", "end", "new", "expected"),
    [(1000, 800, 400, 0.40), (500, 520, 100, 0.84), (10, 10, 0, 1.0), (10, 3, 3, 0.0)],
)
def test_retention_rate_worked_examples(start, end, new, expected):
    assert retention_rate(start=start, end=end, new=new) == expected


def test_other_worked_examples():
    assert churn_rate(start=1000, lost=50) == 0.05
    assert repeat_customer_rate(returning=200, total=800) == 0.25
    assert purchase_frequency(orders=1000, customers=250) == 4
    assert average_order_value(revenue=5000, orders=200) == 25
    assert customer_lifetime_value(average_order_value=50, purchase_frequency=4, lifespan=3) == 600
    assert annualize_churn(0.05, periods=12) == pytest.approx(1 - 0.95**12)
    assert margin_multiplier_clv(margin=100, retention=0.8, discount_rate=0.1) == pytest.approx(
        100 * 0.8 / 0.3
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: retention_rate(start=0, end=5, new=1), "start must be greater than zero"),
        (lambda: retention_rate(start=-1, end=5, new=1), "start must not be negative"),
        (lambda: retention_rate(start=100, end=50, new=60), "new (60) cannot exceed end (50)"),
        (lambda: retention_rate(start=10, end=50, new=5), "exceeds start"),
        (lambda: retention_rate(start="100", end=50, new=5), "start must be a number"),
        (lambda: retention_rate(start=math.nan, end=50, new=5), "start must be finite"),
        (lambda: churn_rate(start=10, lost=11), "lost (11) cannot exceed start (10)"),
        (lambda: churn_rate(start=0, lost=0), "start must be greater than zero"),
        (lambda: repeat_customer_rate(returning=5, total=0), "total must be greater than zero"),
        (lambda: repeat_customer_rate(returning=9, total=8), "cannot exceed total"),
        (lambda: purchase_frequency(orders=10, customers=0), "customers must be greater than zero"),
        (lambda: purchase_frequency(orders=-1, customers=3), "orders must not be negative"),
        (lambda: average_order_value(revenue=10, orders=0), "orders must be greater than zero"),
        (lambda: annualize_churn(5), "rate is a fraction"),
        (lambda: annualize_churn(0.05, periods=0), "periods must be a positive whole number"),
        (
            lambda: customer_lifetime_value(
                average_order_value=True, purchase_frequency=1, lifespan=1
            ),
            "average_order_value must be a number",
        ),
        (
            lambda: margin_multiplier_clv(margin=1, retention=1.2, discount_rate=0.1),
            "retention is a fraction",
        ),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert message in str(info.value)


@given(
    start=st.integers(1, 10_000),
    kept=st.integers(0, 10_000),
    new=st.integers(0, 10_000),
)
def test_retention_plus_churn_is_one_without_reactivation(start, kept, new):
    kept = min(kept, start)
    crr = retention_rate(start=start, end=kept + new, new=new)
    assert 0 <= crr <= 1
    assert crr + churn_rate(start=start, lost=start - kept) == pytest.approx(1)


@given(st.floats(0, 1), st.integers(1, 60))
def test_annualized_churn_compounds_below_the_simple_sum(rate, periods):
    annual = annualize_churn(rate, periods)
    assert 0 <= annual <= min(1, rate * periods) + 1e-12


def test_fractions_and_whole_numbers_share_one_check():
    with pytest.raises(ValueError, match=r"rate is a fraction in \[0.0, 1.0\], got -0.1"):
        annualize_churn(-0.1)
    with pytest.raises(ValueError, match="periods must be a positive whole number, got 2.0"):
        annualize_churn(0.05, periods=2.0)
    assert annualize_churn(0.05, periods=np.int64(12)) == pytest.approx(annualize_churn(0.05))
