"""Worked examples chosen from the data: period, example customers, worked customer."""

from __future__ import annotations

import pandas as pd
import pytest

from retention.metrics.examples import (
    EXAMPLE_RULES,
    example_customers,
    worked_customer,
    worked_period,
)


def kpi_frame(start: list[int], partial_last: bool = True, freq: str = "M") -> pd.DataFrame:
    partial = [False] * len(start)
    if partial_last:
        partial[-1] = True
    return pd.DataFrame(
        {"start_customers": start, "partial": partial},
        index=pd.period_range("2024-01", periods=len(start), freq=freq, name="period"),
    )


# --------------------------------------------------------------------------- worked_period


def test_default_is_last_complete_period_with_customers() -> None:
    kpi = kpi_frame([0, 4, 5, 0, 6])
    # the last one is partial, the fourth has nobody at its start
    assert worked_period(kpi) == pd.Period("2024-03", "M")


def test_default_without_partial_takes_the_last() -> None:
    assert worked_period(kpi_frame([0, 4, 5], partial_last=False)) == pd.Period("2024-03", "M")


def test_given_period_is_checked_and_returned() -> None:
    kpi = kpi_frame([0, 4, 5])
    assert worked_period(kpi, "2024-02") == pd.Period("2024-02", "M")
    assert worked_period(kpi, pd.Period("2024-03", "M")) == pd.Period("2024-03", "M")


def test_period_outside_the_data_lists_the_months() -> None:
    with pytest.raises(ValueError, match=r"month 2030-01 is not in the data.*2024-01 to 2024-03"):
        worked_period(kpi_frame([0, 4, 5]), "2030-01")


def test_period_without_customers_at_start() -> None:
    kpi = kpi_frame([0, 4, 0, 5, 6])
    with pytest.raises(ValueError, match=r"2024-01 has no customers at its start.*"
                                         r"2024-02, 2024-04 to 2024-05"):
        worked_period(kpi, "2024-01")


def test_unparseable_period() -> None:
    with pytest.raises(ValueError, match=r"month='soon' is not a month"):
        worked_period(kpi_frame([0, 4]), "soon")


def test_no_usable_period() -> None:
    with pytest.raises(ValueError, match="no complete month"):
        worked_period(kpi_frame([0, 3]))


def test_quarters_are_named() -> None:
    kpi = kpi_frame([0, 4, 5], freq="Q")
    assert worked_period(kpi) == pd.Period("2024Q2", "Q")
    with pytest.raises(ValueError, match="quarter 2030Q1 is not in the data"):
        worked_period(kpi, "2030Q1")


def test_kpi_needs_a_period_index() -> None:
    with pytest.raises(ValueError, match="indexed by period"):
        worked_period(pd.DataFrame({"start_customers": [1], "partial": [False]}))
    with pytest.raises(ValueError, match="partial"):
        worked_period(pd.DataFrame({"start_customers": [1]}))


# --------------------------------------------------------------------------- example_customers


def summary_frame(rows: dict[str, tuple[int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=["frequency", "recency", "T"])


def test_every_kind_found() -> None:
    summary = summary_frame({
        "active": (20, 99.5, 100.0),
        "active2": (10, 99.0, 100.0),
        "lapsed": (8, 30.0, 100.0),
        "oldest": (0, 0.0, 104.0),
        "new": (0, 0.0, 1.5),
        "other": (0, 0.0, 50.0),
    })
    got = example_customers(summary, "W")
    assert list(got.index) == list(EXAMPLE_RULES)
    assert got.to_dict() == {"loyal, active": "active", "loyal, lapsed": "lapsed",
                             "one-time, oldest": "oldest", "one-time, new": "new"}


def test_empty_kind_is_left_out() -> None:
    # everyone acquired long ago: no one-time buyer is new, nobody lapsed
    summary = summary_frame({"a": (3, 70.0, 71.0), "b": (0, 0.0, 70.0), "c": (0, 0.0, 75.0)})
    got = example_customers(summary, "W")
    assert got.to_dict() == {"loyal, active": "a", "one-time, oldest": "c"}
    assert [k for k in EXAMPLE_RULES if k not in got.index] == ["loyal, lapsed", "one-time, new"]


def test_empty_summary_gives_no_examples() -> None:
    got = example_customers(summary_frame({}), "W")
    assert got.empty


def test_one_time_buyer_is_not_loyal_and_nobody_is_picked_twice() -> None:
    # the only recent buyer bought once, a week ago: new, not loyal; and not also the oldest
    summary = summary_frame({"x": (0, 0.0, 1.5)})
    assert example_customers(summary, "W").to_dict() == {"one-time, oldest": "x"}


def test_time_unit_converts_the_rules() -> None:
    # in days: bought 10 days ago (active), 300 days silent (lapsed), acquired 10 days ago (new)
    summary = summary_frame({"a": (6, 490.0, 500.0), "b": (5, 200.0, 500.0),
                             "c": (0, 0.0, 600.0), "d": (0, 0.0, 10.0)})
    assert example_customers(summary, "D").to_dict() == {
        "loyal, active": "a", "loyal, lapsed": "b", "one-time, oldest": "c", "one-time, new": "d"}


def test_ties_go_to_the_smallest_id() -> None:
    summary = summary_frame({"b": (4, 50.0, 51.0), "a": (4, 50.0, 51.0)})
    assert example_customers(summary, "W")["loyal, active"] == "a"


def test_summary_columns_are_required() -> None:
    with pytest.raises(ValueError, match="recency"):
        example_customers(pd.DataFrame({"frequency": [1], "T": [2.0]}), "W")
    with pytest.raises(ValueError, match="not a supported grain"):
        example_customers(summary_frame({"a": (1, 1.0, 2.0)}), "fortnight")


# --------------------------------------------------------------------------- worked_customer


def tx_frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    return tx


def test_default_shows_the_most_rules() -> None:
    tx = tx_frame([
        ("plain", "2024-01-01", 10.0), ("plain", "2024-02-01", 12.0), ("plain", "2024-03-01", 9.0),
        ("rich", "2024-01-05", 20.0), ("rich", "2024-01-05", 5.0), ("rich", "2024-01-09", -5.0),
        ("rich", "2024-03-01", 30.0), ("rich", "2024-03-01", -3.0), ("rich", "2024-04-01", 8.0),
        ("once", "2024-01-02", 50.0),
    ])
    assert worked_customer(tx) == "rich"


def test_default_prefers_short_histories_and_falls_back() -> None:
    long = [("long", f"2024-01-{d:02d}", 1.0) for d in range(1, 11)]
    tx = tx_frame(long + [("short", "2024-01-01", 1.0), ("short", "2024-01-03", 1.0)])
    assert worked_customer(tx) == "short"
    assert worked_customer(tx_frame([("b", "2024-01-01", 1.0), ("a", "2024-01-02", 2.0)])) == "a"


def test_given_customer_is_checked() -> None:
    tx = tx_frame([("00042", "2024-01-01", 1.0), ("00043", "2024-01-02", 2.0)])
    assert worked_customer(tx, "00042") == "00042"
    with pytest.raises(ValueError, match=r"customer 'zz' is not in column 'customer_id' "
                                         r"\(2 customers"):
        worked_customer(tx, "zz")
    with pytest.raises(ValueError, match=r"Did you mean '00042'\? .*leading zeros"):
        worked_customer(tx, 42)


def test_number_given_for_a_text_id() -> None:
    tx = tx_frame([("1159", "2024-01-01", 1.0)])
    assert worked_customer(tx, 1159) == "1159"


def test_refunds_only() -> None:
    with pytest.raises(ValueError, match="no purchase"):
        worked_customer(tx_frame([("a", "2024-01-01", -1.0)]))
