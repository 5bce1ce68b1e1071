"""period_metrics on a hand-built log whose figures were computed by hand."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from retention.metrics.kpis import period_metrics


def log(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue", "order_id"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"])
    )


# window=2 months: a customer is active at the end of a month if they bought in it
# or in the month before.
#   a: Jan, Feb, Jun      -> lost in Apr, reactivated in Jun
#   b: Jan                -> lost in Mar
#   c: Feb, Mar, refund in Apr (a refund is not a purchase) -> lost in May
#   d: two orders in Mar, the second split over two rows  -> lost in May
# The data ends on 15 June, so June is partial.
TX = log(
    [
        ("a", "2024-01-03", 10.0, 1),
        ("b", "2024-01-09", 40.0, 2),
        ("a", "2024-02-11", 20.0, 3),
        ("c", "2024-02-20", 5.0, 4),
        ("c", "2024-03-01", 15.0, 5),
        ("d", "2024-03-05", 25.0, 6),
        ("d", "2024-03-30", 20.0, 7),
        ("d", "2024-03-30", 15.0, 7),
        ("c", "2024-04-02", -10.0, 5),
        ("a", "2024-06-15", 30.0, 8),
    ]
)


def test_customer_flows_by_hand():
    kpi = period_metrics(TX, "M", window=2)
    assert [str(p) for p in kpi.index] == [
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
        "2024-06",
    ]
    expected = pd.DataFrame(
        {
            "start_customers": [0, 2, 3, 3, 2, 0],
            "new_customers": [2, 1, 1, 0, 0, 0],
            "reactivated": [0, 0, 0, 0, 0, 1],
            "lost": [0, 0, 1, 1, 2, 0],
            "end_customers": [2, 3, 3, 2, 0, 1],
        },
        index=kpi.index,
    )
    pd.testing.assert_frame_equal(kpi[expected.columns], expected, check_dtype=False)
    np.testing.assert_allclose(kpi["retention_rate"], [np.nan, 1.0, 2 / 3, 2 / 3, 0.0, np.nan])
    np.testing.assert_allclose(kpi["retained_share"], [np.nan, 1.0, 2 / 3, 2 / 3, 0.0, np.nan])
    np.testing.assert_allclose(kpi["churn_rate"], [np.nan, 0.0, 1 / 3, 1 / 3, 1.0, np.nan])
    assert kpi["partial"].tolist() == [False] * 5 + [True]


def test_order_measures_by_hand():
    kpi = period_metrics(TX, "M", window=2)
    assert kpi["revenue"].tolist() == [50.0, 25.0, 75.0, -10.0, 0.0, 30.0]
    assert kpi["orders"].tolist() == [2, 2, 4, 0, 0, 1]  # rows, without an order column
    assert kpi["buyers"].tolist() == [2, 2, 2, 0, 0, 1]
    assert kpi["returning_buyers"].tolist() == [0, 1, 1, 0, 0, 1]
    np.testing.assert_allclose(kpi["average_order_value"], [25, 12.5, 18.75, np.nan, np.nan, 30])
    np.testing.assert_allclose(kpi["purchase_frequency"], [1, 1, 2, np.nan, np.nan, 1])
    np.testing.assert_allclose(kpi["repeat_customer_rate"], [0, 0.5, 0.5, np.nan, np.nan, 1])

    by_order = period_metrics(TX, "M", window=2, order="order_id")
    assert by_order["orders"].tolist() == [2, 2, 3, 0, 0, 1]  # order 7 spans two rows
    assert by_order["average_order_value"].iloc[2] == 25.0


def test_reactivation_makes_the_formula_differ_from_the_exact_share():
    tx = log(
        [
            ("a", "2024-01-05", 1, 1),
            ("b", "2024-01-20", 1, 2),
            ("a", "2024-02-03", 1, 3),
            ("c", "2024-02-10", 1, 4),
            ("b", "2024-03-31", 1, 5),
        ]
    )
    kpi = period_metrics(tx, "M", window=1)
    march = kpi.loc[pd.Period("2024-03", "M")]
    assert (march["start_customers"], march["lost"], march["reactivated"]) == (2, 2, 1)
    assert march["retention_rate"] == 0.5  # (E - N) / S counts b, who came back
    assert march["retained_share"] == 0.0  # nobody active at the start is still active
    assert not march["partial"]  # the data runs to the last day of March


def test_default_window_and_other_grains():
    weekly = period_metrics(TX, "W")
    assert weekly.index.freqstr.startswith("W")
    assert weekly["new_customers"].sum() == 4
    quarterly = period_metrics(TX, "quarter")
    assert quarterly["new_customers"].tolist() == [4, 0]
    assert quarterly["lost"].tolist() == [0, 3]  # default window: one quarter


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(freq="fortnight"), "freq='fortnight' is not a supported grain"),
        (dict(window=0), "window must be a whole number of periods"),
        (dict(customer="client"), "missing column(s) 'client'"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as info:
        period_metrics(TX, **kwargs)
    assert message in str(info.value)


def test_empty_log():
    with pytest.raises(ValueError, match="no rows"):
        period_metrics(TX.iloc[:0])


def test_zero_value_order_is_a_purchase():
    # a's first order is free: a is new in January and buys again (returning) in February;
    # b only has a refund, which never makes a customer active.
    tx = log(
        [
            ("a", "2024-01-10", 0.0, 1),
            ("b", "2024-01-15", -8.0, 2),
            ("a", "2024-02-03", 0.0, 3),
            ("a", "2024-02-03", 0.0, 3),
        ]
    )
    kpi = period_metrics(tx, "M", window=1)
    assert kpi["new_customers"].tolist() == [1, 0]
    assert kpi["end_customers"].tolist() == [1, 1]
    assert kpi["buyers"].tolist() == [1, 1]
    assert kpi["returning_buyers"].tolist() == [0, 1]
    assert kpi["orders"].tolist() == [1, 2]
    assert period_metrics(tx, "M", window=1, order="order_id")["orders"].tolist() == [1, 1]
    assert kpi["revenue"].tolist() == [-8.0, 0.0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 15), st.integers(0, 400), st.floats(-50, 200, allow_nan=False)),
        min_size=1,
        max_size=80,
    ),
    st.integers(1, 4),
)
def test_flow_identities(rows, window):
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "revenue"])
    tx["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(tx["day"], unit="D")
    kpi = period_metrics(tx, "M", window=window)
    flows = kpi["start_customers"] - kpi["lost"] + kpi["new_customers"] + kpi["reactivated"]
    assert (flows == kpi["end_customers"]).all()
    assert (
        kpi["start_customers"].iloc[1:].to_numpy() == kpi["end_customers"].iloc[:-1].to_numpy()
    ).all()
    assert (kpi[["start_customers", "end_customers", "lost", "reactivated"]] >= 0).all().all()
    assert kpi["new_customers"].sum() == tx.loc[tx["revenue"] >= 0, "customer_id"].nunique()
    assert (kpi["retained_share"].dropna().between(0, 1)).all()
    assert (kpi["retention_rate"].dropna() >= kpi["retained_share"].dropna() - 1e-12).all()
    assert kpi["revenue"].sum() == pytest.approx(tx["revenue"].sum())
