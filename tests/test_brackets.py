"""Bracketed retention: hand-computed examples, a brute-force reference, properties, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retention.metrics.brackets import (
    bracket_label,
    bracket_matrix,
    bracket_retention,
    check_brackets,
)

NAN = float("nan")
DAYS = ["days 1-3", "days 4-7", "days 8-14", "days 15-30"]


def log(rows):
    """Transaction log from (customer, date, revenue, category) tuples."""
    tx = pd.DataFrame(list(rows), columns=["customer_id", "order_date", "revenue", "category"])
    tx["order_date"] = pd.to_datetime(tx["order_date"], format="ISO8601")
    tx["revenue"] = tx["revenue"].astype(float)
    return tx


# Six customers in two monthly cohorts; the data end on 2024-03-11 (C's last purchase).
# January: A (Jan 1) buys again on days 2 and 10 and refunds on day 5; B (Jan 15) buys on
# day 20; C (Jan 31) refunds on day 2 and buys on day 40.
# February: D (Feb 1) buys on days 1 and 4; E (Feb 10) never returns; F refunds on Jan 25
# (not an acquisition), first buys on Feb 20 and again on day 7, and is not observed for 30
# days. G only refunds (never acquired).
TX = log(
    [
        ("A", "2024-01-01", 100, "books"),
        ("A", "2024-01-03", 20, "shoes"),
        ("A", "2024-01-06", -20, "shoes"),
        ("A", "2024-01-11", 30, "books"),
        ("B", "2024-01-15", 50, "shoes"),
        ("B", "2024-02-04", 40, "shoes"),
        ("C", "2024-01-31", 10, "books"),
        ("C", "2024-02-02", -5, "books"),
        ("C", "2024-03-11", 15, "shoes"),
        ("D", "2024-02-01", 25, "books"),
        ("D", "2024-02-02", 25, "books"),
        ("D", "2024-02-05", 60, "shoes"),
        ("E", "2024-02-10", 70, "shoes"),
        ("F", "2024-01-25", -10, "shoes"),
        ("F", "2024-02-20", 35, "books"),
        ("F", "2024-02-27", 45, "shoes"),
        ("G", "2024-02-05", -3, "books"),
    ]
)


def cohort(table, period):
    """Rows of one cohort, indexed by bracket label."""
    part = table[table["cohort"] == pd.Period(period, table["cohort"].dt.freq)]
    return part.set_index("bracket")


def assert_values(actual, expected):
    actual = list(actual)
    assert len(actual) == len(expected), (actual, expected)
    for a, e in zip(actual, expected, strict=True):
        if isinstance(e, float) and math.isnan(e):
            assert math.isnan(a), (actual, expected)
        else:
            assert a == pytest.approx(e), (actual, expected)


# --------------------------------------------------------------------------------------
# hand-computed examples
# --------------------------------------------------------------------------------------


def test_daily_brackets_of_monthly_cohorts():
    table = bracket_retention(TX)
    assert list(table.columns) == [
        "cohort", "bracket", "bracket_start", "bracket_end",
        "cohort_size", "eligible", "retained", "retention",
    ]
    assert str(table["cohort"].dtype) == "period[M]"
    jan, feb = cohort(table, "2024-01"), cohort(table, "2024-02")
    assert list(jan.index) == DAYS and list(feb.index) == DAYS
    assert_values(jan["bracket_start"], [1, 4, 8, 15])
    assert_values(jan["bracket_end"], [3, 7, 14, 30])
    # January: A on day 2 and day 10 (its day-5 refund is no purchase), B on day 20
    assert_values(jan["cohort_size"], [3, 3, 3, 3])
    assert_values(jan["eligible"], [3, 3, 3, 3])
    assert_values(jan["retained"], [1, 0, 1, 1])
    assert_values(jan["retention"], [1 / 3, 0.0, 1 / 3, 1 / 3])
    # February: D on days 1 and 4, F on day 7; F's day 30 (March 21) is after the data end
    assert_values(feb["cohort_size"], [3, 3, 3, 3])
    assert_values(feb["eligible"], [3, 3, 3, 2])
    assert_values(feb["retained"], [1, 2, 0, 0])
    assert_values(feb["retention"], [1 / 3, 2 / 3, 0.0, 0.0])
    assert table.attrs["end"] == "2024-03-11"
    assert table.attrs["refund_rows"] == 4
    assert table.attrs["rows_after_end"] == 0
    assert table.attrs["customers_without_acquisition"] == 1  # G


def test_end_cuts_the_data_and_the_observation():
    table = bracket_retention(TX, end="2024-02-29")
    jan, feb = cohort(table, "2024-01"), cohort(table, "2024-02")
    # C's day 30 is March 1; F's day 14 is March 5; D's and E's days 30 are in March
    assert_values(jan["eligible"], [3, 3, 3, 2])
    assert_values(feb["eligible"], [3, 3, 2, 0])
    assert_values(feb["retention"], [1 / 3, 2 / 3, 0.0, NAN])
    assert table.attrs["end"] == "2024-02-29"
    assert table.attrs["rows_after_end"] == 1  # C's purchase on March 11
    # a Period means its last day
    same = bracket_retention(TX, end=pd.Period("2024-02", "M"))
    pd.testing.assert_frame_equal(same, table)


def test_unobservable_brackets_are_nan_not_zero():
    table = bracket_retention(TX, [(1, 3), (30, 60)], end="2024-02-15")
    feb = cohort(table, "2024-02")
    assert_values(feb["cohort_size"], [2, 2])  # D, E (F first buys after the end)
    assert_values(feb["eligible"], [2, 0])
    assert_values(feb["retained"], [1, 0])
    assert_values(feb["retention"], [0.5, NAN])


def test_weekly_measurement_of_monthly_cohorts():
    brackets = [(0, 0), (1, 1), (2, 2), (3, 3)]
    table = bracket_retention(TX, brackets, unit="W", cohort_freq="M")
    jan, feb = cohort(table, "2024-01"), cohort(table, "2024-02")
    assert list(jan.index) == ["week 0", "week 1", "week 2", "week 3"]
    # weeks since the first purchase: A 0 (day 2) and 1 (day 10), B 2 (day 20), C 5
    assert_values(jan["eligible"], [3, 3, 3, 3])
    assert_values(jan["retained"], [1, 1, 1, 0])
    # D 0 (days 1 and 4), F 1 (day 7); F's week 3 ends on day 27 = March 18
    assert_values(feb["eligible"], [3, 3, 3, 2])
    assert_values(feb["retained"], [1, 1, 0, 0])
    assert_values(feb["retention"], [1 / 3, 1 / 3, 0.0, 0.0])


def test_weekly_cohorts_measured_in_days():
    table = bracket_retention(TX, [(1, 3)], cohort_freq="W")
    # ISO weeks starting Monday: 2024-01-01 is a Monday
    sizes = dict(zip(table["cohort"].astype(str), table["cohort_size"], strict=True))
    assert sizes == {
        "2024-01-01/2024-01-07": 1,  # A
        "2024-01-15/2024-01-21": 1,  # B
        "2024-01-29/2024-02-04": 2,  # C, D
        "2024-02-05/2024-02-11": 1,  # E
        "2024-02-19/2024-02-25": 1,  # F
    }
    assert_values(table["retained"], [1, 0, 1, 0, 0])


def test_return_filter_with_acquisition_by_any_purchase():
    table = bracket_retention(TX, returns={"category": "shoes"})
    jan, feb = cohort(table, "2024-01"), cohort(table, "2024-02")
    # shoe returns: A day 2, B day 20, C day 40; D day 4, F day 7 (A's day 10 is books)
    assert_values(jan["retained"], [1, 0, 0, 1])
    assert_values(jan["eligible"], [3, 3, 3, 3])
    assert_values(feb["retained"], [0, 2, 0, 0])
    assert_values(feb["eligible"], [3, 3, 3, 2])
    assert table.attrs["returns"] == {"category": "shoes"}


def test_return_filter_with_acquisition_by_first_filtered_purchase():
    table = bracket_retention(TX, returns={"category": ["shoes"]}, acquisition="filtered")
    assert [str(p) for p in pd.unique(table["cohort"])] == ["2024-01", "2024-02", "2024-03"]
    jan, feb, mar = (cohort(table, p) for p in ("2024-01", "2024-02", "2024-03"))
    # first shoes: A Jan 3 (its Jan 6 shoes row is a refund), B Jan 15, D Feb 5, E Feb 10,
    # F Feb 27 (its Jan 25 shoes row is a refund), C Mar 11; the only shoe return is B's
    assert_values(jan["cohort_size"], [2] * 4)
    assert_values(jan["retained"], [0, 0, 0, 1])
    assert_values(jan["retention"], [0.0, 0.0, 0.0, 0.5])
    assert_values(feb["cohort_size"], [3] * 4)
    assert_values(feb["eligible"], [3, 3, 2, 2])  # F's day 14 is March 12
    assert_values(feb["retained"], [0, 0, 0, 0])
    assert_values(mar["cohort_size"], [1] * 4)
    assert_values(mar["eligible"], [0] * 4)
    assert_values(mar["retention"], [NAN] * 4)


def test_boolean_series_filter_equals_the_mapping():
    mask = TX["category"] == "shoes"
    by_series = bracket_retention(TX, returns=mask, acquisition="filtered")
    by_mapping = bracket_retention(TX, returns={"category": "shoes"}, acquisition="filtered")
    pd.testing.assert_frame_equal(by_series, by_mapping, check_like=False)
    assert by_series.attrs["returns"] == "boolean Series"
    as_set = bracket_retention(TX, returns={"category": {"shoes"}}, acquisition="filtered")
    pd.testing.assert_frame_equal(as_set, by_mapping)


def test_several_filter_columns_must_all_hold():
    tx = TX.assign(channel=np.where(TX["customer_id"] == "B", "web", "shop"))
    table = bracket_retention(tx, [(15, 30)], returns={"category": "shoes", "channel": "shop"})
    assert_values(cohort(table, "2024-01")["retained"], [0])  # B's return is on the web


def test_first_order_lines_and_same_day_rows():
    tx = log(
        [
            ("a", "2024-01-01", 10, "x"),
            ("a", "2024-01-01", 5, "x"),  # another line of the first order: not a return
            ("b", "2024-01-01 09:00", 10, "x"),
            ("b", "2024-01-01 17:00", 5, "x"),  # later the same day: a return on day 0
            ("b", "2024-01-02 08:00", 5, "x"),  # day 1 (calendar days, times ignored)
        ]
    )
    table = bracket_retention(tx, [(0, 0), (1, 1)])
    assert_values(table["retained"], [1, 1])
    assert_values(table["eligible"], [2, 2])


def test_segments_come_from_the_first_purchase():
    table = bracket_retention(TX, [(1, 3)], by="category")
    assert list(table.columns[:2]) == ["category", "cohort"]
    got = {(c, str(p)): (s, r) for c, p, s, r in
           table[["category", "cohort", "cohort_size", "retained"]].itertuples(index=False)}
    # first purchases: A books, B shoes, C books (Jan); D books, E shoes, F books (Feb;
    # F's earlier shoes row is a refund)
    assert got == {("books", "2024-01"): (2, 1), ("shoes", "2024-01"): (1, 0),
                   ("books", "2024-02"): (2, 1), ("shoes", "2024-02"): (1, 0)}


def test_months_follow_calendar_offsets_clipped_to_month_end():
    tx = log(
        [
            ("a", "2024-01-31", 10, "x"),
            ("a", "2024-02-28", 10, "x"),  # 28 days later: still month 0
            ("b", "2024-01-31", 10, "x"),
            ("b", "2024-02-29", 10, "x"),  # January 31 + 1 month = February 29: month 1
            ("c", "2024-01-15", 10, "x"),
            ("c", "2024-03-14", 10, "x"),  # month 1 (March 15 would be month 2)
        ]
    )
    table = bracket_retention(tx, [(0, 0), (1, 1), (2, 2)], unit="M", end="2024-04-29")
    assert list(table["bracket"]) == ["month 0", "month 1", "month 2"]
    # month 0 of a, b ends on Feb 28, of c on Feb 14; month 2 of a and b ends on April 29,
    # of c on April 14
    assert_values(table["eligible"], [3, 3, 3])
    assert_values(table["retained"], [1, 2, 0])
    late = bracket_retention(tx, [(2, 2)], unit="M", end="2024-04-28")
    assert_values(late["eligible"], [1])


def test_bracket_matrix_keeps_the_bracket_order():
    table = bracket_retention(TX, [(8, 14), (1, 3), (1, 30)])
    wide = bracket_matrix(table)
    assert list(wide.columns) == ["days 8-14", "days 1-3", "days 1-30"]
    assert list(wide.index.astype(str)) == ["2024-01", "2024-02"]
    assert_values(wide.loc[pd.Period("2024-01", "M")], [1 / 3, 1 / 3, 2 / 3])
    assert_values(wide.loc[pd.Period("2024-02", "M")], [0.0, 1 / 3, 0.5])  # F not eligible
    assert_values(bracket_matrix(table, "eligible").iloc[1], [3, 3, 2])
    segmented = bracket_matrix(bracket_retention(TX, [(1, 3)], by="category"))
    assert segmented.index.names == ["category", "cohort"]
    assert segmented.shape == (4, 1)


def test_round_trips_through_parquet_and_csv(tmp_path):
    import json

    table = bracket_retention(TX, by="category")
    json.dumps(table.attrs)
    table.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    table.to_csv(tmp_path / "t.csv", index=False)
    csv = pd.read_csv(tmp_path / "t.csv")
    assert list(bracket_matrix(csv).columns) == DAYS


def test_empty_log_gives_an_empty_table():
    table = bracket_retention(TX.iloc[:0])
    assert len(table) == 0
    assert "retention" in table.columns


# --------------------------------------------------------------------------------------
# brute-force reference and properties
# --------------------------------------------------------------------------------------


def reference(tx, brackets, unit, cohort_freq, returns_cat, acquisition, end):
    """Customer by customer, with pandas date offsets."""
    tx = tx[tx["order_date"].dt.normalize() <= end]
    buys = tx[tx["revenue"] >= 0]
    match = buys if returns_cat is None else buys[buys["category"] == returns_cat]
    acquiring = match if acquisition == "filtered" else buys
    step = {"D": pd.DateOffset(days=1), "W": pd.DateOffset(days=7)}
    out = {}
    for cust, rows in acquiring.groupby("customer_id"):
        first = rows["order_date"].min()
        day0 = first.normalize()
        period = pd.Period(first, cohort_freq)
        later = match[(match["customer_id"] == cust) & (match["order_date"] > first)]
        for lo, hi in brackets:
            if unit == "M":
                window_end = day0 + pd.DateOffset(months=hi + 1) - pd.Timedelta(days=1)
                ages = []
                for when in later["order_date"].dt.normalize():
                    k = 0
                    while day0 + pd.DateOffset(months=k + 1) <= when:
                        k += 1
                    ages.append(k)
            else:
                length = 1 if unit == "D" else 7
                window_end = day0 + step[unit] * (hi + 1) - pd.Timedelta(days=1)
                ages = [(w - day0).days // length for w in later["order_date"].dt.normalize()]
            cell = out.setdefault((period, (lo, hi)), [0, 0, 0])
            cell[0] += 1
            if window_end <= end:
                cell[1] += 1
                cell[2] += any(lo <= a <= hi for a in ages)
    return out


@st.composite
def logs(draw):
    n = draw(st.integers(1, 25))
    base = pd.Timestamp("2024-01-01")
    rows = [
        (
            draw(st.integers(0, 6)),
            base + pd.Timedelta(days=draw(st.integers(0, 150)), hours=draw(st.integers(0, 23))),
            draw(st.sampled_from([-5.0, 0.0, 10.0, 20.0])),
            draw(st.sampled_from(["x", "y"])),
        )
        for _ in range(n)
    ]
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue", "category"])


brackets_st = st.lists(
    st.tuples(st.integers(0, 10), st.integers(0, 10)).map(lambda p: (p[0], p[0] + p[1])),
    min_size=1, max_size=4, unique=True,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tx=logs(),
    brackets=brackets_st,
    unit=st.sampled_from(["D", "W", "M"]),
    cohort_freq=st.sampled_from(["D", "W", "M", "Q"]),
    returns_cat=st.sampled_from([None, "x"]),
    acquisition=st.sampled_from(["any", "filtered"]),
    end_offset=st.integers(-40, 200),
)
def test_matches_the_brute_force_reference(tx, brackets, unit, cohort_freq, returns_cat,
                                           acquisition, end_offset):
    end = pd.Timestamp("2024-01-01") + pd.Timedelta(days=end_offset)
    table = bracket_retention(
        tx, brackets, unit=unit, cohort_freq=cohort_freq, end=end, acquisition=acquisition,
        returns=None if returns_cat is None else {"category": returns_cat},
    )
    expected = reference(tx, brackets, unit, cohort_freq, returns_cat, acquisition, end)
    got = {
        (row.cohort, (row.bracket_start, row.bracket_end)):
            [row.cohort_size, row.eligible, row.retained]
        for row in table.itertuples(index=False)
    }
    assert got == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=logs(), brackets=brackets_st, unit=st.sampled_from(["D", "W", "M"]),
       widen=st.integers(1, 10))
def test_properties(tx, brackets, unit, widen):
    table = bracket_retention(tx, brackets, unit=unit)
    observed = table["eligible"] > 0
    assert (table["retained"] <= table["eligible"]).all()
    assert (table["eligible"] <= table["cohort_size"]).all()
    assert table["retention"].isna().equals(~observed)
    assert table.loc[observed, "retention"].between(0, 1).all()

    # a bracket widened downwards has the same eligible customers: retention cannot fall
    lo, hi = brackets[0]
    if lo > 0:
        low = bracket_retention(tx, [(lo, hi), (max(lo - widen, 0), hi)], unit=unit)
        pairs = low["retention"].to_numpy().reshape(-1, 2)
        valid = ~np.isnan(pairs[:, 0])
        assert (pairs[valid, 1] >= pairs[valid, 0]).all()

    # with every window observed, a bracket widened upwards cannot lower retention either
    far = pd.Timestamp("2030-01-01")
    up = bracket_retention(tx, [(lo, hi), (lo, hi + widen)], unit=unit, end=far)
    assert (up["eligible"] == up["cohort_size"]).all()
    pairs = up["retention"].to_numpy().reshape(-1, 2)
    assert (pairs[:, 1] >= pairs[:, 0]).all()


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("brackets", "message"),
    [
        ([(3, 1)], r"bracket \(3, 1\) \(position 0\): lo=3 is greater than hi=1"),
        ([(1, 3), (-1, 2)], r"bracket \(-1, 2\) \(position 1\): lo=-1 is negative"),
        ([(1.5, 3)], r"bracket \(1.5, 3\) \(position 0\): lo=1.5 is not a whole number"),
        ([(1, 3.0)], r"hi=3.0 is not a whole number"),
        ([(1, True)], r"hi=True is not a whole number"),
        ((1, 3), r"bracket 1 \(position 0\) is not a \(lo, hi\) pair.*\(\(1, 3\),\)"),
        ([(1, 2, 3)], r"bracket \(1, 2, 3\) \(position 0\) is not a \(lo, hi\) pair"),
        ([(1, 3), (1, 3)], r"bracket \(1, 3\) \(position 1\) is given twice"),
        ([], "brackets is empty"),
        ("1-3", "brackets must be a sequence of"),
    ],
)
def test_bad_brackets_are_named(brackets, message):
    with pytest.raises(ValueError, match=message):
        bracket_retention(TX, brackets)


def test_overlapping_brackets_are_allowed():
    assert check_brackets([(1, 7), (3, 14), (np.int64(0), 0)]) == [(1, 7), (3, 14), (0, 0)]


def test_labels():
    assert bracket_label(1, 3) == "days 1-3"
    assert bracket_label(2, 2, "W") == "week 2"
    assert bracket_label(1, 12, "month") == "months 1-12"


def test_missing_column_lists_the_columns():
    with pytest.raises(ValueError, match=r"'when' \(date=\); available columns: \['customer_id'"):
        bracket_retention(TX, date="when")
    with pytest.raises(ValueError, match=r"'segment' \(by=\).*'category'"):
        bracket_retention(TX, by="segment")
    with pytest.raises(ValueError, match=r"missing column\(s\) 'categry'.*Did you mean 'category'"):
        bracket_retention(TX, returns={"categry": "shoes"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit": "Q"}, r"unit='Q' is not supported; use one of \['D', 'W', 'M'\]"),
        ({"unit": "hour"}, r"unit='hour' is not supported"),
        ({"cohort_freq": "Y"}, r"cohort_freq='Y' is not supported"),
        ({"acquisition": "first"}, r"acquisition='first' is not supported"),
        ({"end": "soon"}, r"end='soon' is not a date"),
        ({"returns": {}}, "returns is an empty mapping"),
        ({"returns": "shoes"}, "returns must be None, a {column: value"),
        ({"returns": TX["category"]}, "boolean Series .* got a Series of dtype"),
        ({"returns": (TX["category"] == "x").iloc[1:]}, r"aligned with tx.*1 row label"),
        ({"returns": (TX["category"] == "x").astype("boolean").where(TX.index != 2)},
         r"column 'returns' has 1 missing value\(s\), e.g. at rows \[2\]"),
        ({"by": "retention"}, r"by column\(s\) \['retention'\] clash"),
    ],
)
def test_bad_options(kwargs, message):
    tx = TX.assign(retention=1) if kwargs.get("by") == "retention" else TX
    with pytest.raises(ValueError, match=message):
        bracket_retention(tx, **kwargs)


def test_bad_values_name_the_column():
    with pytest.raises(ValueError, match=r"column 'revenue' has 1 missing or infinite"):
        bracket_retention(TX.assign(revenue=TX["revenue"].where(TX.index != 3)))


def test_bracket_matrix_errors():
    with pytest.raises(ValueError, match=r"long is missing column\(s\) 'eligible'"):
        bracket_matrix(bracket_retention(TX).drop(columns="eligible"))
    with pytest.raises(ValueError, match="values='revenue' is not a measure"):
        bracket_matrix(bracket_retention(TX), "revenue")
    twice = pd.concat([bracket_retention(TX), bracket_retention(TX)], ignore_index=True)
    with pytest.raises(ValueError, match="repeated"):
        bracket_matrix(twice)
