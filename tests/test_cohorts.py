"""Cohort tables: hand-computed examples, a brute-force reference and property tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retention.engine import frame as reductions
from retention.metrics.cohorts import (
    MEASURES,
    cohort_sizes,
    cohort_table,
    matrix_average,
    pivot_cohorts,
    retention_matrix,
    split_summary_rows,
    weighted_average_retention,
)

NAN = float("nan")


def log(rows, columns=("customer_id", "order_date", "revenue")):
    """Transaction log from tuples; dates as strings."""
    tx = pd.DataFrame(list(rows), columns=list(columns))
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx["revenue"] = tx["revenue"].astype(float)
    return tx


def cells(table, column, cohort):
    """Values of one measure for one cohort, as a list (NaN kept)."""
    part = table[table["cohort"] == pd.Period(cohort, table["cohort"].dt.freq)]
    return part[column].tolist()


def assert_values(actual, expected):
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected, strict=True):
        if isinstance(e, float) and math.isnan(e):
            assert math.isnan(a), (actual, expected)
        else:
            assert a == pytest.approx(e), (actual, expected)


# --------------------------------------------------------------------------------------
# hand-computed examples
# --------------------------------------------------------------------------------------

# A skips February; a refund in March. C buys and is fully refunded in February, buys again
# on the last day of April (so April is complete). D only has a refund (never acquired).
# E is acquired on the last day of the data.
SKIP = log(
    [
        ("A", "2024-01-10", 10.0),
        ("A", "2024-03-05", 20.0),
        ("A", "2024-03-20", -5.0),
        ("B", "2024-01-20", 30.0),
        ("B", "2024-02-02", 15.0),
        ("C", "2024-02-14", 40.0),
        ("C", "2024-02-15", -40.0),
        ("C", "2024-04-30", 5.0),
        ("D", "2024-02-01", -7.0),
        ("E", "2024-04-30", 12.0),
    ]
)


def test_columns_and_grid():
    table = cohort_table(SKIP, "M")
    assert list(table.columns) == [
        "cohort",
        "period",
        "calendar_period",
        "cohort_size",
        "customers",
        "retention",
        "orders",
        "revenue",
        "revenue_retention",
        "cumulative_revenue_per_customer",
        "observed",
    ]
    # cohorts with customers only (no March cohort), offsets 0..3 for each
    assert table["cohort"].astype(str).unique().tolist() == ["2024-01", "2024-02", "2024-04"]
    assert table["period"].tolist() == [0, 1, 2, 3] * 3
    assert table["cohort"].dtype == pd.PeriodDtype("M")
    assert (table["calendar_period"] == table["cohort"] + table["period"]).all()
    assert table["observed"].dtype == bool
    assert table["cohort_size"].dtype == np.int64


def test_n_period_skip_refund_by_hand():
    table = cohort_table(SKIP, "M")
    assert cells(table, "cohort_size", "2024-01") == [2, 2, 2, 2]
    assert_values(cells(table, "customers", "2024-01"), [2, 1, 1, 0])
    assert_values(cells(table, "retention", "2024-01"), [1.0, 0.5, 0.5, 0.0])
    assert_values(cells(table, "orders", "2024-01"), [2, 1, 1, 0])  # the refund is no order
    assert_values(cells(table, "revenue", "2024-01"), [40, 15, 15, 0])  # 20 - 5 in March
    assert_values(cells(table, "revenue_retention", "2024-01"), [1, 0.375, 0.375, 0])
    assert_values(cells(table, "cumulative_revenue_per_customer", "2024-01"), [20, 27.5, 35, 35])
    # D (refund only) is not in the February cohort; C's refund does not make it "active"
    assert cells(table, "cohort_size", "2024-02") == [1, 1, 1, 1]
    assert_values(cells(table, "customers", "2024-02"), [1, 0, 1, NAN])
    assert_values(cells(table, "revenue", "2024-02"), [0, 0, 5, NAN])
    # revenue in period 0 is 0 (fully refunded): revenue retention is undefined
    assert_values(cells(table, "revenue_retention", "2024-02"), [NAN, NAN, NAN, NAN])
    assert_values(cells(table, "cumulative_revenue_per_customer", "2024-02"), [0, 0, 5, NAN])
    assert_values(cells(table, "customers", "2024-04"), [1, NAN, NAN, NAN])
    assert cells(table, "observed", "2024-04") == [True, False, False, False]
    assert table.attrs["unattributed_rows"] == 1
    assert table.attrs["unattributed_revenue"] == -7.0
    assert table.attrs["customers_without_purchase"] == 1
    assert pd.Timestamp(table.attrs["last_date"]) == pd.Timestamp("2024-04-30")


def test_unbounded_by_hand():
    table = cohort_table(SKIP, "M", kind="unbounded")
    # Jan: A last active in March (k=2), B in February (k=1)
    assert_values(cells(table, "customers", "2024-01"), [2, 2, 1, 0])
    assert_values(cells(table, "retention", "2024-01"), [1.0, 1.0, 0.5, 0.0])
    assert_values(cells(table, "retention", "2024-02"), [1.0, 1.0, 1.0, NAN])
    # orders and revenue do not depend on the kind
    n_period = cohort_table(SKIP, "M")
    for column in ("orders", "revenue", "cumulative_revenue_per_customer"):
        pd.testing.assert_series_equal(table[column], n_period[column])


def test_include_refunds():
    table = cohort_table(SKIP, "M", include_refunds=True)
    # D's refund now acquires D in February; A's March refund is an order
    assert cells(table, "cohort_size", "2024-02") == [2, 2, 2, 2]
    assert_values(cells(table, "orders", "2024-01"), [2, 1, 2, 0])
    assert_values(cells(table, "orders", "2024-02"), [3, 0, 1, NAN])
    assert_values(cells(table, "revenue", "2024-02"), [-7, 0, 5, NAN])
    assert table.attrs["unattributed_rows"] == 0


def test_zero_value_order_is_a_purchase():
    # A's first order is free (revenue 0): it acquires A in January and is an order; B's
    # zero-value order in February makes B active; only C's negative row is a refund.
    tx = log(
        [
            ("A", "2024-01-10", 0.0),
            ("A", "2024-02-05", 12.0),
            ("B", "2024-01-20", 30.0),
            ("B", "2024-02-25", 0.0),
            ("C", "2024-02-01", -5.0),
        ]
    )
    table = cohort_table(tx, "M", partial="keep")
    assert cells(table, "cohort_size", "2024-01") == [2, 2]
    assert_values(cells(table, "customers", "2024-01"), [2, 2])
    assert_values(cells(table, "orders", "2024-01"), [2, 2])
    assert_values(cells(table, "revenue", "2024-01"), [30, 12])
    assert table.attrs["customers_without_purchase"] == 1  # C
    assert table.attrs["unattributed_rows"] == 1


# Data end on 15 March: March is partial. C is acquired in that partial month.
PARTIAL = log(
    [
        ("A", "2024-01-10", 10.0),
        ("A", "2024-03-15", 5.0),
        ("B", "2024-02-05", 10.0),
        ("C", "2024-03-02", 8.0),
    ]
)


def test_partial_exclude():
    table = cohort_table(PARTIAL, "M")  # partial="exclude" is the default
    assert table["period"].max() == 1  # March (k=2 for January) is not shown at all
    assert_values(cells(table, "retention", "2024-01"), [1.0, 0.0])
    assert_values(cells(table, "retention", "2024-02"), [1.0, NAN])
    # the customer acquired in the partial month still counts in the cohort sizes
    assert cells(table, "cohort_size", "2024-03") == [1, 1]
    assert_values(cells(table, "retention", "2024-03"), [NAN, NAN])
    assert table.drop_duplicates("cohort")["cohort_size"].sum() == 3
    assert "partial" not in table


def test_partial_flag_and_keep():
    flagged = cohort_table(PARTIAL, "M", partial="flag")
    assert flagged.columns[-1] == "partial"
    assert_values(cells(flagged, "retention", "2024-01"), [1.0, 0.0, 1.0])
    assert cells(flagged, "partial", "2024-01") == [False, False, True]
    assert_values(cells(flagged, "retention", "2024-02"), [1.0, 0.0, NAN])
    assert cells(flagged, "partial", "2024-02") == [False, True, False]
    assert_values(cells(flagged, "retention", "2024-03"), [1.0, NAN, NAN])
    assert cells(flagged, "partial", "2024-03") == [True, False, False]
    assert cells(flagged, "observed", "2024-03") == [True, False, False]
    kept = cohort_table(PARTIAL, "M", partial="keep")
    pd.testing.assert_frame_equal(kept, flagged.drop(columns="partial"), check_like=False)


# A's first purchase on 31 January: one day later is another calendar month but the same
# rolling month. Z extends the data to 30 June (a month end).
ROLLING = log(
    [
        ("A", "2024-01-31", 10.0),
        ("A", "2024-02-01", 10.0),  # 1 day after: calendar k=1, rolling k=0
        ("A", "2024-03-05", 10.0),  # 34 days: calendar k=2, rolling k=1
        ("B", "2024-01-01", 10.0),
        ("B", "2024-01-31", 10.0),  # 30 days: k=0 both ways
        ("B", "2024-02-01", 10.0),  # 31 days: k=1 both ways
        ("Z", "2024-06-30", 10.0),
    ]
)


def test_calendar_vs_rolling():
    calendar = cohort_table(ROLLING, "M")
    assert_values(cells(calendar, "customers", "2024-01")[:3], [2, 2, 1])
    assert_values(cells(calendar, "orders", "2024-01")[:3], [3, 2, 1])
    rolling = cohort_table(ROLLING, "M", periods="rolling")
    assert_values(cells(rolling, "customers", "2024-01")[:3], [2, 2, 0])
    assert_values(cells(rolling, "orders", "2024-01")[:3], [4, 2, 0])
    # rolling windows of 30.4375 days: A (acquired 31 Jan) has completed window 3
    # (days 92..121, up to 31 May) but not window 4 (days 122..152, up to 1 July): the
    # table stops at k=3
    assert cells(rolling, "observed", "2024-01") == [True] * 4
    # calendar: January is followed to June (k=5); June is complete (data end 30 June)
    assert cells(calendar, "observed", "2024-01") == [True] * 6
    assert cells(calendar, "observed", "2024-06")[0]
    # rolling: Z's first 30.4375 days are not over
    assert not cells(rolling, "observed", "2024-06")[0]
    assert cells(rolling, "cohort_size", "2024-06")[0] == 1
    flagged = cohort_table(ROLLING, "M", periods="rolling", partial="flag")
    # B (acquired 1 Jan) has started window 5 (days 153..182), A has not completed window 4
    assert cells(flagged, "observed", "2024-01") == [True] * 6
    assert cells(flagged, "partial", "2024-01") == [False] * 4 + [True] * 2


# Channel recorded on each purchase; A switches channel after acquisition.
CHANNELS = log(
    [
        ("A", "2024-01-05", 10.0, "web"),
        ("A", "2024-02-05", 10.0, "store"),
        ("B", "2024-01-06", 10.0, "store"),
        ("C", "2024-02-29", 10.0, "web"),
    ],
    columns=("customer_id", "order_date", "revenue", "channel"),
)


def test_by_segment():
    table = cohort_table(CHANNELS, "M", by="channel")
    assert table.columns[0] == "channel"
    assert table["channel"].tolist() == ["store", "store", "web", "web", "web", "web"]
    store = table[table["channel"] == "store"]
    web = table[table["channel"] == "web"]
    assert_values(cells(store, "retention", "2024-01"), [1.0, 0.0])
    # A's February purchase in the store counts in A's acquisition segment (web)
    assert_values(cells(web, "retention", "2024-01"), [1.0, 1.0])
    assert_values(cells(web, "retention", "2024-02"), [1.0, NAN])
    matrices = retention_matrix(CHANNELS, "M", by="channel")
    assert list(matrices) == ["store", "web"]
    assert matrices["web"].shape == (2, 2)
    assert matrices["store"].attrs["cohort_size"] == {"2024-01": 1}


def test_by_several_columns():
    tx = CHANNELS.assign(country=["fr", "fr", "de", "fr"])
    table = cohort_table(tx, "M", by=["channel", "country"])
    assert list(table.columns[:3]) == ["channel", "country", "cohort"]
    matrices = retention_matrix(table)
    assert list(matrices) == [("store", "de"), ("web", "fr")]


def test_by_missing_segment_is_its_own_group():
    tx = CHANNELS.assign(channel=["web", "web", None, "web"])
    table = cohort_table(tx, "M", by="channel")
    assert table["channel"].isna().sum() == 2
    assert table.drop_duplicates(["channel", "cohort"])["cohort_size"].sum() == 3


# A was acquired in November 2023; the report window is January - March 2024.
WINDOW = log(
    [
        ("A", "2023-11-10", 10.0),
        ("A", "2024-01-15", 10.0),
        ("A", "2024-03-03", 10.0),
        ("B", "2024-01-20", 10.0),
        ("B", "2024-02-20", 10.0),
        ("B", "2024-05-10", 10.0),
        ("C", "2024-02-10", 10.0),
        ("D", "2024-04-30", 10.0),
    ]
)


def test_window_keeps_cohorts_from_full_history():
    table = cohort_table(WINDOW, "M", start="2024-01", end="2024-03")
    # A is not new in January: its cohort (2023-11) is outside the window
    assert table["cohort"].astype(str).unique().tolist() == ["2024-01", "2024-02"]
    assert cells(table, "cohort_size", "2024-01") == [1, 1, 1]
    # nothing after March is used: B's May purchase does not exist for this report
    assert_values(cells(table, "customers", "2024-01"), [1, 1, 0])
    assert_values(cells(table, "customers", "2024-02"), [1, 0, NAN])
    unbounded = cohort_table(WINDOW, "M", kind="unbounded", start="2024-01", end="2024-03")
    assert_values(cells(unbounded, "customers", "2024-01"), [1, 1, 0])
    assert pd.Timestamp(table.attrs["last_date"]) == pd.Timestamp("2024-03-31")
    # the same cohort sizes as in the full table
    full = cohort_table(WINDOW, "M")
    assert cells(full, "cohort_size", "2023-11")[0] == 1
    assert cells(full, "cohort_size", "2024-01")[0] == 1


def test_window_accepts_dates_and_periods():
    by_str = cohort_table(WINDOW, "M", start="2024-01", end="2024-03")
    by_date = cohort_table(WINDOW, "M", start=pd.Timestamp("2024-01-15"), end="2024-03-31")
    by_period = cohort_table(WINDOW, "M", start=pd.Period("2024Q1"), end=pd.Period("2024Q1"))
    pd.testing.assert_frame_equal(by_str, by_date)
    pd.testing.assert_frame_equal(by_str, by_period)
    year = cohort_table(WINDOW, "M", start="2024", end="2024")
    assert year["cohort"].astype(str).unique().tolist() == ["2024-01", "2024-02", "2024-04"]


def test_empty_window():
    table = cohort_table(WINDOW, "M", start="2025-01")
    assert len(table) == 0
    assert list(table.columns) == list(cohort_table(WINDOW, "M").columns)


def test_order_column_counts_distinct_orders():
    tx = log(
        [
            ("A", "2024-01-05", 10.0, "o1"),
            ("A", "2024-01-05", 5.0, "o1"),
            ("A", "2024-01-06", 7.0, "o2"),
            ("A", "2024-01-07", -5.0, "o1"),
            ("A", "2024-01-31", 1.0, "o3"),
        ],
        columns=("customer_id", "order_date", "revenue", "order_id"),
    )
    assert cohort_table(tx, "M", order="order_id")["orders"].tolist() == [3]
    assert cohort_table(tx, "M")["orders"].tolist() == [4]  # one per positive row
    assert cohort_table(tx, "M")["revenue"].tolist() == [18.0]


def test_other_column_names():
    tx = SKIP.rename(columns={"customer_id": "who", "order_date": "when", "revenue": "value"})
    table = cohort_table(tx, "M", customer="who", date="when", amount="value")
    pd.testing.assert_frame_equal(table, cohort_table(SKIP, "M"))


def test_weeks_and_quarters():
    weekly = cohort_table(SKIP, "W")
    assert weekly["cohort"].dtype == pd.PeriodDtype("W-SUN")
    assert str(weekly["cohort"].iloc[0]) == "2024-01-08/2024-01-14"
    assert cohort_table(SKIP, "Q")["period"].max() == 0  # Q2 is partial (data end 30 April)
    quarterly = cohort_table(SKIP, "Q", partial="keep")
    assert cells(quarterly, "cohort_size", "2024Q1")[0] == 3
    assert_values(cells(quarterly, "retention", "2024Q1"), [1.0, 1 / 3])  # C buys again in Q2


def test_string_dates_are_parsed():
    tx = SKIP.assign(order_date=SKIP["order_date"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_frame_equal(cohort_table(tx, "M"), cohort_table(SKIP, "M"))


def test_other_datetime_units():
    tx = SKIP.assign(order_date=SKIP["order_date"].astype("datetime64[s]"))
    pd.testing.assert_frame_equal(cohort_table(tx, "M"), cohort_table(SKIP, "M"))


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


def test_missing_column_lists_available_columns():
    with pytest.raises(ValueError, match=r"'revenue' \(amount=\).*available columns.*order_date"):
        cohort_table(SKIP.drop(columns="revenue"))


def test_missing_values_are_reported():
    tx = SKIP.copy()
    tx.loc[[2, 5], "order_date"] = pd.NaT
    with pytest.raises(ValueError, match=r"'order_date' has 2 missing date\(s\).*rows \[2, 5\]"):
        cohort_table(tx)
    tx = SKIP.copy()
    tx.loc[3, "revenue"] = NAN
    with pytest.raises(ValueError, match=r"'revenue' has 1 missing or infinite.*rows \[3\]"):
        cohort_table(tx)
    tx = SKIP.copy()
    tx.loc[4, "customer_id"] = None
    with pytest.raises(ValueError, match=r"'customer_id' has 1 missing customer id.*rows \[4\]"):
        cohort_table(tx)


def test_bad_options():
    with pytest.raises(ValueError, match="kind="):
        cohort_table(SKIP, kind="cumulative")
    with pytest.raises(ValueError, match="periods="):
        cohort_table(SKIP, periods="fiscal")
    with pytest.raises(ValueError, match="partial="):
        cohort_table(SKIP, partial="drop")
    with pytest.raises(ValueError, match="freq="):
        cohort_table(SKIP, "Y")
    with pytest.raises(ValueError, match="start="):
        cohort_table(SKIP, start="not a date")
    with pytest.raises(ValueError, match="timezone-aware"):
        cohort_table(SKIP.assign(order_date=SKIP["order_date"].dt.tz_localize("UTC")))
    with pytest.raises(ValueError, match="numbers"):
        cohort_table(SKIP.assign(revenue="x"))
    with pytest.raises(TypeError, match="DataFrame"):
        cohort_table(SKIP.to_numpy())


# --------------------------------------------------------------------------------------
# matrices and the average curve
# --------------------------------------------------------------------------------------


def test_retention_matrix_shape_and_attrs():
    matrix = retention_matrix(SKIP, "M")
    assert isinstance(matrix.index, pd.PeriodIndex)
    assert matrix.index.name == "cohort" and matrix.columns.name == "period"
    assert matrix.columns.tolist() == [0, 1, 2, 3]
    expected = [[1.0, 0.5, 0.5, 0.0], [1.0, 0.0, 1.0, NAN], [1.0, NAN, NAN, NAN]]
    np.testing.assert_array_equal(matrix.to_numpy(), np.array(expected))
    assert matrix.attrs["cohort_size"] == {"2024-01": 2, "2024-02": 1, "2024-04": 1}
    assert cohort_sizes(matrix).index.equals(matrix.index)


def test_retention_matrix_from_long_table():
    long = cohort_table(SKIP, "M")
    pd.testing.assert_frame_equal(retention_matrix(long), retention_matrix(SKIP, "M"))
    pd.testing.assert_frame_equal(
        pivot_cohorts(long, "revenue"), retention_matrix(SKIP, values="revenue")
    )
    with pytest.raises(ValueError, match="already a cohort table"):
        retention_matrix(long, kind="unbounded")
    with pytest.raises(ValueError, match="values="):
        retention_matrix(long, values="observed")


def test_weighted_average_row():
    matrix = retention_matrix(SKIP, "M", average=True)
    assert matrix.index[-1] == "weighted average"
    # k=0: all cohorts; k=1, 2: Jan (2) and Feb (1); k=3: Jan only
    expected = [1.0, (1 + 0) / 3, (1 + 1) / 3, 0.0]
    np.testing.assert_allclose(matrix.iloc[-1].to_numpy(), expected)
    assert matrix.attrs["cohort_size"] == {"2024-01": 2, "2024-02": 1, "2024-04": 1}


def test_weighted_average_retention():
    curve = weighted_average_retention(cohort_table(SKIP, "M"))
    assert curve.columns.tolist() == ["period", "retention", "cohorts", "cohort_size"]
    assert curve["cohorts"].tolist() == [3, 2, 2, 1]
    assert curve["cohort_size"].tolist() == [4, 3, 3, 2]
    np.testing.assert_allclose(curve["retention"], [1.0, 1 / 3, 2 / 3, 0.0])
    by = weighted_average_retention(cohort_table(CHANNELS, "M", by="channel"), "customers")
    assert by.columns.tolist() == ["channel", "period", "customers", "cohorts", "cohort_size"]
    assert_values(by["customers"].tolist(), [1.0, 0.0, 1.0, 1.0])


# --------------------------------------------------------------------------------------
# brute-force reference and properties on random logs
# --------------------------------------------------------------------------------------

ROLLING_LENGTH = {"D": 1.0, "W": 7.0, "M": 365.25 / 12, "Q": 365.25 / 4}


def reference_table(
    tx,
    freq,
    kind,
    periods,
    partial,
    include_refunds=False,
    by=None,
    start=None,
    end=None,
    order=None,
):
    """The cohort table computed customer by customer, straight from the definitions."""
    tx = tx.reset_index(drop=True)
    last_day = tx["order_date"].max().normalize()
    if end is not None:
        # the report is as of the end of `end`; rows after it exist, so `end` is complete
        until = (pd.Period(end, freq) + 1).start_time
        tx = tx[tx["order_date"] < until]
        last_day = min(last_day, until - pd.Timedelta(days=1))
    if len(tx) == 0:
        return None
    qualifying = tx["revenue"] >= 0 if not include_refunds else pd.Series(True, index=tx.index)
    length = ROLLING_LENGTH[freq]

    def offset(first_day, when):
        if periods == "calendar":
            return pd.Period(when, freq).ordinal - pd.Period(first_day, freq).ordinal
        return math.floor((when.normalize() - first_day).days / length)

    customers = {}
    for cid, rows in tx.groupby("customer_id", sort=False):
        bought = rows[qualifying[rows.index]]
        if bought.empty:
            continue
        first_row = bought.sort_values("order_date", kind="stable").iloc[0]
        first_day = first_row["order_date"].normalize()
        segment = first_row[by] if by else None
        active, activity = set(), []
        for _, row in rows.iterrows():
            k = offset(first_day, row["order_date"])
            if qualifying[row.name]:
                active.add(k)
            # an order: the row itself, or its order id (counted once per customer and k)
            order_key = (row[order], k) if order else ("row", row.name)
            activity.append((k, row["revenue"], bool(qualifying[row.name]), order_key))
        customers[cid] = dict(
            cohort=pd.Period(first_day, freq),
            first=first_day,
            segment=segment,
            active=active,
            activity=activity,
        )

    groups = {}
    for info in customers.values():
        groups.setdefault((info["segment"], info["cohort"]), []).append(info)
    shown = {
        key: members
        for key, members in groups.items()
        if (start is None or key[1] >= pd.Period(start, freq))
        and (end is None or key[1] <= pd.Period(end, freq))
    }
    if not shown:
        return None

    def window_start(k):  # first day (after the first purchase) of rolling window k
        return math.ceil(k * length - 1e-9)

    def status(key, k):
        cohort, members = key[1], shown[key]
        if periods == "calendar":
            p = cohort + k
            started = p.start_time <= last_day
            complete = p.end_time.normalize() <= last_day
        else:
            started = (
                min(m["first"] for m in members) + pd.Timedelta(days=window_start(k)) <= last_day
            )
            complete = all(
                m["first"] + pd.Timedelta(days=window_start(k + 1) - 1) <= last_day for m in members
            )
        return started, complete

    def observed(key, k):
        started, complete = status(key, k)
        return complete if partial == "exclude" else started

    K = 0
    for key in shown:
        k = 0
        while observed(key, k):
            K, k = max(K, k), k + 1
    rows = []
    for key in sorted(shown, key=lambda x: (x[0] is None or x[0] != x[0], x[0] or "", x[1])):
        members = shown[key]
        size = len(members)
        revenue0 = sum(r for m in members for k, r, _, _ in m["activity"] if k == 0)
        cumulative = 0.0
        for k in range(K + 1):
            seen = observed(key, k)
            if kind == "n_period":
                n = sum(k in m["active"] for m in members)
            else:
                n = sum(max(m["active"]) >= k for m in members)
            orders = sum(
                len({o for kk, _, q, o in m["activity"] if kk == k and q}) for m in members
            )
            revenue = sum(r for m in members for kk, r, _, _ in m["activity"] if kk == k)
            cumulative += revenue
            row = dict(
                cohort=key[1],
                period=k,
                calendar_period=key[1] + k,
                cohort_size=size,
                customers=n if seen else NAN,
                retention=n / size if seen else NAN,
                orders=orders if seen else NAN,
                revenue=revenue if seen else NAN,
                revenue_retention=revenue / revenue0 if seen and revenue0 != 0 else NAN,
                cumulative_revenue_per_customer=cumulative / size if seen else NAN,
                observed=seen,
            )
            if by:
                row = {by: key[0], **row}
            if partial == "flag":
                started, complete = status(key, k)
                row["partial"] = started and not complete
            rows.append(row)
    out = pd.DataFrame(rows)
    out["cohort_size"] = out["cohort_size"].astype(np.int64)
    out["period"] = out["period"].astype(np.int64)
    return out


START = pd.Timestamp("2024-01-01")


@st.composite
def transaction_logs(draw, max_rows=30):
    n = draw(st.integers(1, max_rows))
    customer = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    day = draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
    hour = draw(st.lists(st.integers(0, 23), min_size=n, max_size=n))
    revenue = draw(
        st.lists(st.sampled_from([-20.0, -5.0, 0.0, 5.0, 12.5, 30.0]), min_size=n, max_size=n)
    )
    channel = draw(st.lists(st.sampled_from(["web", "store"]), min_size=n, max_size=n))
    # few order ids, so that some are shared by several rows, periods or customers
    order = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return pd.DataFrame(
        {
            "customer_id": np.array(customer, dtype=np.int64) * 7 + 100,
            "order_date": START + pd.to_timedelta(np.array(day) * 24 + np.array(hour), unit="h"),
            "revenue": np.array(revenue, dtype=float),
            "channel": channel,
            "order_id": [f"o{o}" for o in order],
        }
    )


options = st.fixed_dictionaries(
    {
        "freq": st.sampled_from(["M", "W", "Q", "D"]),
        "kind": st.sampled_from(["n_period", "unbounded"]),
        "periods": st.sampled_from(["calendar", "rolling"]),
        "partial": st.sampled_from(["exclude", "flag", "keep"]),
        "include_refunds": st.booleans(),
        "by": st.sampled_from([None, "channel"]),
        "order": st.sampled_from([None, "order_id"]),
    }
)
property_settings = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def compare(table, expected):
    if expected is None:
        assert len(table) == 0
        return
    assert list(table.columns) == list(expected.columns)
    table = table.reset_index(drop=True)
    for column in expected.columns:
        if column in MEASURES:
            np.testing.assert_allclose(
                table[column].to_numpy(float),
                expected[column].to_numpy(float),
                rtol=1e-12,
                err_msg=column,
            )
        else:
            assert table[column].tolist() == expected[column].tolist(), column


@property_settings
@given(tx=transaction_logs(), opts=options)
def test_matches_reference(tx, opts):
    compare(cohort_table(tx, **opts), reference_table(tx, **opts))


@property_settings
@given(tx=transaction_logs(), opts=options, window=st.tuples(st.integers(0, 7), st.integers(0, 7)))
def test_window_matches_reference(tx, opts, window):
    start = str(pd.Period(START, "M") + window[0])
    end = str(pd.Period(START, "M") + window[0] + window[1])
    opts = {**opts, "freq": "M"}
    compare(
        cohort_table(tx, start=start, end=end, **opts),
        reference_table(tx, start=start, end=end, **opts),
    )


@property_settings
@given(tx=transaction_logs(), opts=options)
def test_properties(tx, opts):
    table = cohort_table(tx, **opts)
    observed = table["observed"].to_numpy()
    # no observed cell is NaN, no unobservable cell is a number
    for column in (
        "customers",
        "retention",
        "orders",
        "revenue",
        "cumulative_revenue_per_customer",
    ):
        assert not table.loc[observed, column].isna().any(), column
    for column in MEASURES:
        assert table.loc[~observed, column].isna().all(), column
    # period-0 retention is 1
    first = table[(table["period"] == 0) & observed]
    assert (first["retention"] == 1.0).all()
    # cohort sizes sum to the number of acquired customers
    keys = [c for c in ("channel", "cohort") if c in table]
    sizes = table.drop_duplicates(keys)["cohort_size"].sum()
    buyers = tx if opts["include_refunds"] else tx[tx["revenue"] >= 0]
    assert sizes == buyers["customer_id"].nunique()
    if opts["partial"] == "flag":
        assert not (table["partial"] & ~table["observed"]).any()


@property_settings
@given(tx=transaction_logs(), opts=options)
def test_unbounded_properties(tx, opts):
    opts = {**opts, "kind": "n_period"}
    n_period = cohort_table(tx, **opts)
    unbounded = cohort_table(tx, **{**opts, "kind": "unbounded"})
    observed = unbounded["observed"].to_numpy()
    # n-period <= unbounded
    assert (n_period["customers"][observed] <= unbounded["customers"][observed]).all()
    # unbounded retention never increases with k
    keys = [c for c in ("channel", "cohort") if c in unbounded]
    for _, group in unbounded[observed].groupby(keys):
        assert group["retention"].is_monotonic_decreasing


@property_settings
@given(tx=transaction_logs(), opts=options)
def test_customer_id_encodings_agree(tx, opts):
    """Dense integer ids, sparse integer ids and strings give the same table (customers and
    orders)."""
    table = cohort_table(tx, **opts)
    sparse = tx.assign(customer_id=tx["customer_id"] * 10**15)
    strings = tx.assign(customer_id="c" + tx["customer_id"].astype(str))
    int_orders = tx.assign(order_id=tx["order_id"].str[1:].astype(np.int64))
    pd.testing.assert_frame_equal(cohort_table(sparse, **opts), table)
    pd.testing.assert_frame_equal(cohort_table(strings, **opts), table)
    pd.testing.assert_frame_equal(cohort_table(int_orders, **opts), table)


@settings(max_examples=60, deadline=None)
@given(tx=transaction_logs(max_rows=60), opts=options)
def test_chunked_and_sorted_paths_agree(tx, opts):
    """Small chunks and the sort-based distinct pairs give the same table."""
    table = cohort_table(tx, **opts)
    saved = reductions._CHUNK, reductions._BITMAP_BYTES, reductions._BITMAP_BYTES_PER_ROW
    try:
        reductions._CHUNK = 7
        pd.testing.assert_frame_equal(cohort_table(tx, **opts), table, check_exact=False)
        reductions._BITMAP_BYTES = reductions._BITMAP_BYTES_PER_ROW = 0
        pd.testing.assert_frame_equal(cohort_table(tx, **opts), table, check_exact=False)
    finally:
        reductions._CHUNK, reductions._BITMAP_BYTES, reductions._BITMAP_BYTES_PER_ROW = saved


def test_deterministic_and_row_order_free():
    rng = np.random.default_rng(1)
    n = 5000
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 800, n),
            "order_date": START + pd.to_timedelta(rng.integers(0, 500 * 24, n), unit="h"),
            "revenue": np.round(rng.normal(30, 20, n), 2),
        }
    )
    first = cohort_table(tx, "M")
    second = cohort_table(tx, "M")
    assert first.to_csv().encode() == second.to_csv().encode()
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    shuffled = tx.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(cohort_table(shuffled, "M"), first, check_exact=False, rtol=1e-12)


def test_retention_matrix_forwards_every_cohort_table_option():
    long = cohort_table(SKIP, "M", kind="unbounded", partial="keep")
    pd.testing.assert_frame_equal(
        retention_matrix(SKIP, "M", kind="unbounded", partial="keep"), pivot_cohorts(long)
    )
    # options left at their defaults are accepted on a cohort table
    pd.testing.assert_frame_equal(retention_matrix(long, kind="n_period"), pivot_cohorts(long))
    with pytest.raises(ValueError, match=r"\['colour'\] cannot apply"):
        retention_matrix(long, colour="red")
    with pytest.raises(TypeError, match="colour"):
        retention_matrix(SKIP, "M", colour="red")


def test_matrix_metadata_is_plain_and_marks_the_average_row():
    matrix = retention_matrix(SKIP, "M", average=True)
    sizes = {"2024-01": 2, "2024-02": 1, "2024-04": 1}
    assert matrix.attrs == {"cohort_size": sizes, "values": "retention"}
    assert all(isinstance(label, str) for label in matrix.index)
    cohorts, summary = split_summary_rows(matrix)
    assert cohorts.index.tolist() == ["2024-01", "2024-02", "2024-04"]
    assert summary.index.tolist() == ["weighted average"]
    assert cohort_sizes(matrix).iloc[:3].tolist() == [2, 1, 1]
    assert np.isnan(cohort_sizes(matrix).iloc[-1])
    # a slice keeps the attrs: sizes are found by label and the summary row by its label
    tail = matrix.iloc[1:3]
    assert cohort_sizes(tail).tolist() == [1, 1]
    assert split_summary_rows(tail)[1].empty
    assert cohort_sizes(matrix.iloc[[0, 3]]).tolist()[0] == 2
    assert split_summary_rows(matrix.iloc[[0, 3]])[1].index.tolist() == ["weighted average"]
    # the average of the matrix rows is the average row of the cohort table
    np.testing.assert_allclose(
        matrix_average(cohorts, cohort_sizes(cohorts)).to_numpy(), summary.iloc[0].to_numpy()
    )
    # a cohort row is never taken for a summary row because of its label
    plain = retention_matrix(SKIP, "M")
    assert split_summary_rows(plain)[1].empty
