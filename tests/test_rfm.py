"""rfm_summary and calibration_and_holdout: hand-computed cases, a naive reference, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retention.metrics.rfm import calibration_and_holdout, rfm_summary


def make_tx(rows: list[tuple]) -> pd.DataFrame:
    customer, date, revenue = zip(*rows, strict=True)
    return pd.DataFrame(
        {"customer_id": list(customer), "order_date": pd.to_datetime(list(date)),
         "revenue": np.asarray(revenue, dtype=float)}
    )


# A: two orders on the same day, then two later ones.
# B: a refund-only day (01-05) and a refund on a purchase day (01-09).
# C: a purchase after observation_end.  D: only a refund.  E: only after observation_end.
# F: a zero-value order, then a paid one.
HAND = make_tx([
    ("A", "2024-01-01", 10.0), ("A", "2024-01-01", 5.0), ("A", "2024-01-08", 20.0),
    ("A", "2024-01-15", 30.0),
    ("B", "2024-01-02", 30.0), ("B", "2024-01-05", -10.0), ("B", "2024-01-09", 40.0),
    ("B", "2024-01-09", -15.0),
    ("C", "2024-01-03", 12.0), ("C", "2024-01-25", 50.0),
    ("D", "2024-01-04", -8.0),
    ("E", "2024-01-22", 9.0),
    ("F", "2024-01-06", 0.0), ("F", "2024-01-10", 5.0),
])
END = "2024-01-20"


def test_hand_computed_daily_summary():
    out = rfm_summary(HAND, "D", END)
    expected = pd.DataFrame(
        {"frequency": [2, 1, 0, 1], "recency": [14.0, 7.0, 0.0, 4.0],
         "T": [19.0, 18.0, 17.0, 14.0], "monetary_value": [25.0, 25.0, 0.0, 5.0]},
        index=pd.Index(["A", "B", "C", "F"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(out, expected)


def test_hand_computed_attrs_count_what_was_set_aside():
    attrs = rfm_summary(HAND, "D", END).attrs
    assert attrs["n_transactions_after_end"] == 2  # C on 01-25, E on 01-22
    assert attrs["n_refund_only_periods"] == 2  # B on 01-05, D on 01-04
    assert attrs["refund_only_amount"] == pytest.approx(-18.0)
    assert attrs["n_customers_without_purchase"] == 1  # D
    assert pd.Timestamp(attrs["observation_end"]) == pd.Timestamp(END)
    assert (attrs["freq"], attrs["time_unit"]) == ("D", "D")


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_date_resolution_does_not_matter(unit):
    expected = rfm_summary(HAND, "D", END)
    out = rfm_summary(HAND.assign(order_date=HAND["order_date"].astype(f"datetime64[{unit}]")),
                      "D", END)
    pd.testing.assert_frame_equal(out, expected)


def test_time_unit_weeks_divides_days_by_seven():
    days = rfm_summary(HAND, "D", END)
    weeks = rfm_summary(HAND, "D", END, time_unit="W")
    np.testing.assert_allclose(weeks["recency"], days["recency"] / 7)
    np.testing.assert_allclose(weeks["T"], days["T"] / 7)
    pd.testing.assert_series_equal(weeks["frequency"], days["frequency"])
    assert weeks.attrs["time_unit"] == "W"


def test_weekly_periods_merge_purchases_and_net_refunds():
    # 2024-01-01 is a Monday; weeks run Monday-Sunday. END (Saturday 01-20) is in week 3.
    out = rfm_summary(HAND, "W", END)
    assert out.loc["A"].tolist() == [2, 2.0, 2.0, 25.0]
    # B: 01-02 purchase and 01-05 refund share week 1 (netted into the first occasion)
    assert out.loc["B"].tolist() == [1, 1.0, 2.0, 25.0]
    # F: 01-06 (week 1) and 01-10 (week 2)
    assert out.loc["F"].tolist() == [1, 1.0, 2.0, 5.0]
    assert out.attrs["n_refund_only_periods"] == 1  # only D


def test_default_observation_end_is_last_transaction():
    out = rfm_summary(HAND)
    assert pd.Timestamp(out.attrs["observation_end"]) == pd.Timestamp("2024-01-25")
    assert out.attrs["n_transactions_after_end"] == 0
    assert out.loc["C"].tolist() == [1, 22.0, 22.0, 50.0]
    assert "E" in out.index


def test_amount_none_leaves_out_monetary_value_and_counts_every_row():
    out = rfm_summary(HAND, "D", END, amount=None)
    assert list(out.columns) == ["frequency", "recency", "T"]
    # without amounts every row is a purchase: B's refund day and D count as occasions
    assert out.loc["B", "frequency"] == 2
    assert "D" in out.index


def test_custom_column_names():
    tx = HAND.rename(columns={"customer_id": "who", "order_date": "when", "revenue": "amt"})
    out = rfm_summary(tx, "D", END, customer="who", date="when", amount="amt")
    assert out.index.name == "who"
    assert out.loc["A", "monetary_value"] == 25.0


def test_id_encodings_give_the_same_summary():
    rng = np.random.default_rng(3)
    n = 400
    ids = rng.integers(0, 60, n)
    tx = pd.DataFrame({
        "customer_id": ids,
        "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D"),
        "revenue": rng.gamma(2.0, 10.0, n).round(2),
    })
    compact = rfm_summary(tx, "D")
    sparse = rfm_summary(tx.assign(customer_id=ids * 10**12 + 7), "D")  # hashed path
    as_str = rfm_summary(tx.assign(customer_id=[f"c{i:03d}" for i in ids]), "D")
    as_cat = rfm_summary(
        tx.assign(customer_id=pd.Categorical(ids, categories=range(-5, 70))), "D")
    np.testing.assert_array_equal(sparse.index, compact.index * 10**12 + 7)
    np.testing.assert_array_equal(as_str.index, [f"c{i:03d}" for i in compact.index])
    # unused categories have no row
    np.testing.assert_array_equal(np.asarray(as_cat.index), compact.index)
    for other in (sparse, as_str, as_cat):
        np.testing.assert_array_equal(other.to_numpy(), compact.to_numpy())


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_missing_column_is_named():
    with pytest.raises(ValueError, match=r"'order_date' \(date=\).*available columns"):
        rfm_summary(HAND.drop(columns="order_date"))


def test_nat_dates_are_counted_with_examples():
    tx = HAND.copy()
    tx.loc[[3, 5], "order_date"] = pd.NaT
    with pytest.raises(ValueError, match=r"'order_date' has 2 missing date\(s\).*\[3, 5\]"):
        rfm_summary(tx)


def test_string_dates_are_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"'order_date' must hold datetime64.*pd.to_datetime"):
        rfm_summary(HAND.assign(order_date=HAND["order_date"].astype(str)))


def test_timezone_aware_dates_are_refused():
    tx = HAND.assign(order_date=HAND["order_date"].dt.tz_localize("UTC"))
    with pytest.raises(ValueError, match="timezone-aware"):
        rfm_summary(tx)


def test_missing_revenue_is_counted_with_examples():
    tx = HAND.copy()
    tx.loc[[1, 4], "revenue"] = np.nan
    with pytest.raises(ValueError,
                       match=r"'revenue' has 2 missing or infinite value\(s\).*\[1, 4\]"):
        rfm_summary(tx)


def test_missing_customer_ids_are_counted():
    tx = HAND.copy()
    tx.loc[0, "customer_id"] = None
    with pytest.raises(ValueError, match=r"'customer_id' has 1 missing customer id\(s\).*\[0\]"):
        rfm_summary(tx)


def test_observation_end_before_first_purchase():
    with pytest.raises(ValueError, match="before the first transaction"):
        rfm_summary(HAND, observation_end="2023-12-31")


def test_empty_table_and_bad_freq():
    with pytest.raises(ValueError, match="empty"):
        rfm_summary(HAND.iloc[:0])
    with pytest.raises(ValueError, match="freq='fortnight'"):
        rfm_summary(HAND, "fortnight")


# ---------------------------------------------------------------------------------------------
# calibration / holdout
# ---------------------------------------------------------------------------------------------


def test_calibration_and_holdout_hand_computed():
    out = calibration_and_holdout(HAND, "2024-01-09", "2024-01-31", freq="D")
    # calibration: A 01-01, 01-08 ; B 01-02, 01-09 (net 25) ; C 01-03 ; F 01-06 (zero), 01-10 no
    assert out.loc["A", ["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]].tolist() \
        == [1, 7.0, 8.0, 20.0]
    assert out.loc["B", "monetary_value_cal"] == 25.0
    # holdout: A 01-15 (30) ; C 01-25 (50) ; F 01-10 (5) ; E is new in the holdout: no row
    assert out["frequency_holdout"].to_dict() == {"A": 1, "B": 0, "C": 1, "F": 1}
    assert out["monetary_value_holdout"].to_dict() == {"A": 30.0, "B": 0.0, "C": 50.0, "F": 5.0}
    assert (out["duration_holdout"] == 22.0).all()
    assert out.attrs["n_holdout_only_customers"] == 1
    assert list(out.columns) == [
        "frequency_cal", "recency_cal", "T_cal", "monetary_value_cal",
        "frequency_holdout", "monetary_value_holdout", "duration_holdout",
    ]


def test_calibration_and_holdout_in_weeks():
    out = calibration_and_holdout(HAND, "2024-01-09", "2024-01-31", freq="D", time_unit="W")
    assert out["duration_holdout"].iloc[0] == pytest.approx(22 / 7)
    assert out.loc["A", "T_cal"] == pytest.approx(8 / 7)


def test_calibration_end_must_precede_observation_end():
    with pytest.raises(ValueError, match="holdout is empty"):
        calibration_and_holdout(HAND, "2024-01-20", "2024-01-20")
    with pytest.raises(ValueError, match="calibration window is empty"):
        calibration_and_holdout(HAND, "2023-06-01", "2024-01-20")


# ---------------------------------------------------------------------------------------------
# property tests against a naive pandas reference
# ---------------------------------------------------------------------------------------------


def reference_summary(tx: pd.DataFrame, freq: str, end: pd.Timestamp) -> pd.DataFrame:
    """Straightforward groupby on pandas Periods, with the documented refund rule."""
    p = tx["order_date"].dt.to_period(freq)
    end_p = end.to_period(freq)
    tx = tx.assign(p=p)[p <= end_p]
    per = tx.groupby(["customer_id", "p"]).agg(
        value=("revenue", "sum"), purchase=("revenue", lambda r: bool((r >= 0).any()))
    )
    per = per[per["purchase"]].reset_index()
    rows = {}
    for cust, g in per.groupby("customer_id"):
        g = g.sort_values("p")
        first, last = g["p"].iloc[0], g["p"].iloc[-1]
        repeat = g["value"].iloc[1:]
        rows[cust] = {
            "frequency": len(g) - 1,
            "recency": float((last - first).n),
            "T": float((end_p - first).n),
            "monetary_value": float(repeat.mean()) if len(repeat) else 0.0,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


transactions = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 120),
        st.sampled_from([-20.0, -5.0, 0.0, 3.5, 10.0, 99.99]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=transactions, end_offset=st.integers(0, 130), freq=st.sampled_from(["D", "W", "M"]))
def test_matches_naive_reference(rows, end_offset, freq):
    start = pd.Timestamp("2024-01-01")
    tx = make_tx([(c, start + pd.Timedelta(days=d), v) for c, d, v in rows])
    end = start + pd.Timedelta(days=end_offset)
    if (tx["order_date"].dt.to_period(freq) > end.to_period(freq)).all():
        with pytest.raises(ValueError):
            rfm_summary(tx, freq, end)
        return
    ref = reference_summary(tx, freq, end)
    out = rfm_summary(tx, freq, end)
    assert list(out.index) == sorted(ref.index)
    if len(ref):
        ref = ref.loc[out.index]
        np.testing.assert_array_equal(out["frequency"], ref["frequency"])
        np.testing.assert_allclose(out[["recency", "T", "monetary_value"]],
                                   ref[["recency", "T", "monetary_value"]], rtol=1e-12, atol=1e-9)
    # invariants
    assert (out["frequency"] >= 0).all()
    assert (out["recency"] >= 0).all() and (out["recency"] <= out["T"]).all()
    assert (out.loc[out["frequency"] == 0, ["recency", "monetary_value"]] == 0).all().all()


@settings(max_examples=100, deadline=None)
@given(rows=transactions, cal_offset=st.integers(0, 100), extra=st.integers(1, 40))
def test_calibration_plus_holdout_adds_up_to_full_window(rows, cal_offset, extra):
    start = pd.Timestamp("2024-01-01")
    tx = make_tx([(c, start + pd.Timedelta(days=d), v) for c, d, v in rows])
    cal_end = start + pd.Timedelta(days=cal_offset)
    end = cal_end + pd.Timedelta(days=extra)
    try:
        cal_summary = rfm_summary(tx, "D", cal_end)
    except ValueError:
        return  # no transaction in the calibration window
    if not ((tx["revenue"] >= 0) & (tx["order_date"] <= cal_end)).any():
        return
    out = calibration_and_holdout(tx, cal_end, end)
    full = rfm_summary(tx, "D", end).loc[out.index]
    pd.testing.assert_frame_equal(
        out[["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]]
        .set_axis(cal_summary.columns, axis=1),
        cal_summary,
    )
    np.testing.assert_array_equal(out["frequency_cal"] + out["frequency_holdout"],
                                  full["frequency"])
    assert (out["duration_holdout"] == extra).all()
