"""Segment selection and the computed written summary of the cohort report."""

import math

import pandas as pd
import pytest

from retention.metrics.cohorts import cohort_table
from retention.reports.narrative import cohort_highlights, describe_cohorts, select_segment

TX = pd.DataFrame(
    {
        "customer_id": ["a", "a", "b", "c", "c"],
        "order_date": pd.to_datetime(
            ["2024-01-03", "2024-02-05", "2024-01-10", "2024-02-01", "2024-03-31"]
        ),
        "revenue": [10.0, 20.0, 5.0, 7.0, 8.0],
        "channel": ["email", "social", "social", 2024, "email"],
    }
)


def test_segment_is_the_one_of_the_first_purchase_and_keeps_all_rows():
    email = select_segment(TX, "channel", "email")
    assert email["customer_id"].tolist() == ["a", "a"]  # a's later social row stays with a
    assert select_segment(TX, "channel", "2024")["customer_id"].tolist() == ["c", "c"]
    assert select_segment(TX, None, None) is TX
    assert select_segment(TX, "channel", None) is TX


def test_unknown_segment_value_lists_those_present():
    with pytest.raises(ValueError, match=r"No customer has channel = 'paid'.*'email', 'social'"):
        select_segment(TX, "channel", "paid")
    with pytest.raises(ValueError, match="missing column"):
        select_segment(TX, "country", "NL")


def test_highlights_by_hand():
    # cohorts: 2024-01 = {a, b}, a returns in Feb -> 50 %; 2024-02 = {c}, back in Mar -> 100 %
    h = cohort_highlights(cohort_table(TX, "M"), min_size=1)
    assert (h["customers"], h["cohorts"]) == (3, 2)
    assert h["revenue"] == pytest.approx(50.0)
    assert h["average_retention"] == pytest.approx(2 / 3)  # (2 * 0.5 + 1 * 1.0) / 3
    assert (h["best_cohort"], h["best_retention"]) == ("2024-02", 1.0)
    assert (h["worst_cohort"], h["worst_retention"]) == ("2024-01", 0.5)
    assert math.isnan(h["recent_retention"])  # fewer than six cohorts: no trend


def test_small_cohorts_are_not_ranked_and_the_text_says_why():
    h = cohort_highlights(cohort_table(TX, "M"), min_size=30)
    assert h["best_cohort"] is None
    text = describe_cohorts(h)
    assert "66.7%" in text
    assert "No cohort has 30 customers or more" in text


def test_trend_sentence_compares_recent_and_earlier_cohorts():
    rows = []
    for i, rate in enumerate([0.1, 0.1, 0.1, 0.3, 0.3, 0.3]):
        cohort = pd.Period("2024-01", "M") + i
        rows += [(cohort, 0, 100, 1.0, 10.0, True), (cohort, 1, 100, rate, 1.0, True)]
    long = pd.DataFrame(
        rows, columns=["cohort", "period", "cohort_size", "retention", "revenue", "observed"]
    )
    h = cohort_highlights(long)
    assert (h["recent_retention"], h["earlier_retention"]) == pytest.approx((0.3, 0.1))
    assert "better than the earlier ones (10.0%, +20.0 points)" in describe_cohorts(h)
