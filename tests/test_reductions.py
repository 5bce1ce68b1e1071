"""The passes over the full log: period lookup, customer x period activity, cohort activity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from retention.checks import require_columns
from retention.engine import frame as reductions
from retention.engine.frame import cohort_activity, customer_periods
from retention.periods import period_codes


@pytest.mark.parametrize("freq", ["D", "W", "M", "Q"])
def test_calendar_index_agrees_with_period_codes(freq):
    dates = pd.to_datetime(["1969-12-29", "1960-02-29", "2000-01-01", "2024-12-30", "2025-01-05"])
    days = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    index, first_code, n_periods, _, _ = reductions._calendar_index(days, freq)
    codes = period_codes(dates, freq)
    assert first_code == codes.min()
    assert n_periods == codes.max() - codes.min() + 1
    np.testing.assert_array_equal(index + first_code, codes)


def test_check_columns():
    tx = pd.DataFrame({"customer_id": [1], "order_date": [pd.Timestamp("2024-01-01")]})
    require_columns(tx, customer="customer_id", date="order_date", order=None)
    with pytest.raises(ValueError, match=r"column\(s\) 'revenue' \(amount=\).*'customer_id'"):
        require_columns(tx, amount="revenue")
    with pytest.raises(ValueError, match=r"'channel' \(by=\)"):
        require_columns(tx, by=["channel"])


TX = pd.DataFrame(
    {
        "customer_id": ["b", "a", "a", "b", "c", "a"],
        "order_date": pd.to_datetime(
            ["2024-01-02", "2024-01-05", "2024-01-20", "2024-03-01", "2024-03-03", "2024-03-09"]
        ),
        "revenue": [5.0, 10.0, 7.0, -5.0, -2.0, 3.0],
    }
)


def test_customer_periods_by_hand():
    out = customer_periods(TX, "M")
    assert out.columns.tolist() == [
        "customer_id",
        "period",
        "cohort",
        "active",
        "orders",
        "revenue",
    ]
    # customers in order of first appearance, then periods
    assert out["customer_id"].tolist() == ["b", "b", "a", "a", "c"]
    jan, mar = pd.Period("2024-01", "M").ordinal, pd.Period("2024-03", "M").ordinal
    assert out["period"].tolist() == [jan, mar, jan, mar, mar]
    assert out["cohort"].tolist() == [jan, jan, jan, jan, pd.NA]
    assert out["active"].tolist() == [True, False, True, True, False]
    assert out["orders"].tolist() == [1, 0, 2, 1, 0]
    assert out["revenue"].tolist() == [5.0, -5.0, 17.0, 3.0, -2.0]


def test_cohort_activity_by_hand():
    activity = cohort_activity(TX, "M")
    jan = pd.Period("2024-01", "M").ordinal
    assert activity.cohorts["cohort"].tolist() == [jan]
    assert activity.cohorts["cohort_size"].tolist() == [2]
    assert activity.cohorts["first_purchase_min"].tolist() == [pd.Timestamp("2024-01-02")]
    assert activity.cohorts["first_purchase_max"].tolist() == [pd.Timestamp("2024-01-05")]
    cells = activity.cells
    assert cells["period"].tolist() == [0, 1, 2]
    assert cells["customers"].tolist() == [2, 0, 1]
    assert cells["customers_unbounded"].tolist() == [2, 1, 1]
    assert cells["orders"].tolist() == [3, 0, 1]
    assert cells["revenue"].tolist() == [22.0, 0.0, -2.0]  # March: 3 from a, -5 from b
    assert activity.unattributed_rows == 1  # c's refund
    assert activity.unattributed_revenue == -2.0
    assert activity.customers_without_purchase == 1
    assert activity.last_date == pd.Timestamp("2024-03-09")


def test_cohort_activity_until():
    activity = cohort_activity(TX, "M", until="2024-03-01")
    assert activity.last_date == pd.Timestamp("2024-02-29")
    assert activity.cells["period"].tolist() == [0]
    assert activity.unattributed_rows == 0


def test_empty_and_refund_only_logs():
    empty = TX.iloc[:0]
    activity = cohort_activity(empty, "M")
    assert activity.last_date is None and len(activity.cells) == 0
    refunds = TX[TX["revenue"] < 0]
    activity = cohort_activity(refunds, "M")
    assert len(activity.cohorts) == 0
    assert activity.customers_without_purchase == 2
    assert activity.unattributed_revenue == -7.0
    assert len(customer_periods(empty)) == 0


def brute_force_customer_periods(tx, freq, include_refunds):
    tx = tx.assign(period=period_codes(tx["order_date"], freq))
    qualifying = tx["revenue"] >= 0 if not include_refunds else pd.Series(True, index=tx.index)
    tx = tx.assign(q=qualifying)
    rows = []
    for cid, part in tx.groupby("customer_id", sort=False):
        cohort = part.loc[part["q"], "period"].min() if part["q"].any() else pd.NA
        for period, cell in part.groupby("period", sort=True):
            rows.append(
                (
                    cid,
                    period,
                    cohort,
                    bool(cell["q"].any()),
                    int(cell["q"].sum()),
                    cell["revenue"].sum(),
                )
            )
    return pd.DataFrame(
        rows, columns=["customer_id", "period", "cohort", "active", "orders", "revenue"]
    )


logs = st.lists(
    st.tuples(st.integers(0, 9), st.integers(0, 400), st.sampled_from([-3.0, 0.0, 2.5, 10.0])),
    min_size=1,
    max_size=40,
).map(
    lambda rows: pd.DataFrame(
        {
            "customer_id": [r[0] * 3 for r in rows],
            "order_date": pd.Timestamp("2023-06-01") + pd.to_timedelta([r[1] for r in rows], "D"),
            "revenue": [r[2] for r in rows],
        }
    )
)


@settings(max_examples=100, deadline=None)
@given(
    tx=logs,
    freq=st.sampled_from(["D", "W", "M", "Q"]),
    include_refunds=st.booleans(),
    sorted_path=st.booleans(),
)
def test_customer_periods_matches_brute_force(tx, freq, include_refunds, sorted_path):
    saved = reductions._BITMAP_BYTES, reductions._BITMAP_BYTES_PER_ROW
    try:
        if sorted_path:
            reductions._BITMAP_BYTES = reductions._BITMAP_BYTES_PER_ROW = 0
        out = customer_periods(tx, freq, include_refunds=include_refunds)
    finally:
        reductions._BITMAP_BYTES, reductions._BITMAP_BYTES_PER_ROW = saved
    expected = brute_force_customer_periods(tx, freq, include_refunds)
    assert out["customer_id"].tolist() == expected["customer_id"].tolist()
    assert out["period"].tolist() == expected["period"].tolist()
    assert out["cohort"].astype(object).where(out["cohort"].notna(), None).tolist() == [
        None if pd.isna(c) else c for c in expected["cohort"]
    ]
    assert out["active"].tolist() == expected["active"].tolist()
    assert out["orders"].tolist() == expected["orders"].tolist()
    np.testing.assert_allclose(out["revenue"], expected["revenue"])


def test_one_purchase_rule_for_every_table():
    """Zero-value orders are purchases and refunds are not, in every table alike."""
    from retention.metrics.cohorts import cohort_table
    from retention.metrics.kpis import period_metrics
    from retention.metrics.rfm import rfm_summary

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c", "d"],
            "order_date": pd.to_datetime(
                ["2024-01-03", "2024-01-09", "2024-02-11", "2024-02-20", "2024-03-01"]
            ),
            "revenue": [0.0, 20.0, 0.0, -5.0, 7.5],
        }
    )
    np.testing.assert_array_equal(
        reductions.is_purchase(tx["revenue"].to_numpy()), [True, True, True, False, True]
    )
    buyers = ["a", "b", "d"]
    assert rfm_summary(tx, "M").index.tolist() == buyers
    assert rfm_summary(tx, "M")["frequency"].tolist() == [0, 1, 0]
    assert cohort_table(tx, "M").drop_duplicates("cohort")["cohort_size"].sum() == len(buyers)
    assert period_metrics(tx, "M")["new_customers"].sum() == len(buyers)
    periods = customer_periods(tx, "M")
    assert periods.loc[periods["active"], "customer_id"].unique().tolist() == buyers
    activity = reductions.period_activity(tx, "M")
    assert len(np.unique(activity.customer)) == len(buyers)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 60), st.sampled_from([-4.0, 0.0, 3.0, 10.0])),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["D", "W", "M"]),
)
def test_purchase_occasions_match_brute_force(rows, freq):
    """Occasion counts, first / last periods and refund-only periods, against pandas."""
    tx = pd.DataFrame(
        {
            "customer_id": [c for c, _, _ in rows],
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta([d for _, d, _ in rows], "D"),
            "revenue": [r for _, _, r in rows],
        }
    )
    log = reductions.occasion_codes(tx, freq)
    n = len(log.labels)
    occ = reductions.purchase_occasions(log.codes, log.period, log.revenue, log.span, n)
    frame = tx.assign(code=log.codes, period=log.period)
    buys = frame[frame["revenue"] >= 0].groupby("code")["period"]
    count = buys.nunique().reindex(range(n), fill_value=0)
    assert occ.count.tolist() == count.tolist()
    bought = count > 0
    assert occ.first[bought.to_numpy()].tolist() == buys.min().tolist()
    assert occ.last[bought.to_numpy()].tolist() == buys.max().tolist()
    pairs = frame.groupby(["code", "period"])["revenue"].apply(lambda r: (r < 0).all())
    assert occ.n_refund_only_periods == int(pairs.sum())
    revenue = reductions.occasion_revenue(occ, log.codes, log.revenue, n)
    in_occasion = frame.set_index(["code", "period"]).index.map(lambda k: not pairs[k])
    expected = frame[np.asarray(in_occasion)].groupby("code")["revenue"].sum()
    np.testing.assert_allclose(revenue, expected.reindex(range(n), fill_value=0.0))
