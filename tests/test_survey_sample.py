"""Tests of the synthetic survey sample (retention.io.survey_sample) and data/sample_survey.csv."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import retention as rt
from retention.io.survey_sample import (
    ATTRIBUTES,
    _main,
    sample_survey,
    sample_survey_path,
    write_survey_csv,
)
from retention.metrics.survey import nps, survey_metrics

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "sample_survey.csv"
SCORES = {
    "nps": (0, 10), "csat": (1, 5), "ces": (1, 7),
    **{f"rating_{a}": (1, 5) for a in ATTRIBUTES},
    **{f"importance_{a}": (1, 5) for a in ATTRIBUTES},
}


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return rt.load_transactions(rt.sample_path())


@pytest.fixture(scope="module")
def survey(tx: pd.DataFrame) -> pd.DataFrame:
    return sample_survey(tx)


def test_deterministic_and_seeded(tx: pd.DataFrame, survey: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(sample_survey(tx), survey)
    pd.testing.assert_frame_equal(sample_survey(), survey)  # default: the bundled sample
    other = sample_survey(tx, seed=1)
    assert not other["customer_id"].equals(survey["customer_id"])


def test_committed_csv_equals_a_fresh_generation(survey: pd.DataFrame, tmp_path: Path) -> None:
    fresh = tmp_path / "sample_survey.csv"
    _main(["--output", str(fresh)])
    assert fresh.read_bytes() == COMMITTED.read_bytes()
    again = tmp_path / "again.csv"
    write_survey_csv(survey, again)
    assert again.read_bytes() == COMMITTED.read_bytes()
    assert sample_survey_path() == COMMITTED


def test_schema(survey: pd.DataFrame) -> None:
    assert list(survey.columns) == [
        "response_id", "customer_id", "response_date", "order_id", "channel", "country",
        *SCORES,
    ]
    assert isinstance(survey.index, pd.RangeIndex)
    assert survey["response_id"].is_unique and survey["customer_id"].is_unique
    assert survey["response_id"].iloc[0] == "S00001"
    assert survey["response_date"].dtype == "datetime64[ns]"
    assert survey["response_date"].is_monotonic_increasing
    for column, (low, high) in SCORES.items():
        assert survey[column].dtype == "Int64"
        assert survey[column].dropna().between(low, high).all(), column
    assert 300 <= len(survey) <= 1000
    assert sorted(survey["nps"].dropna().unique().tolist())[-1] == 10


def test_a_few_missing_answers(survey: pd.DataFrame) -> None:
    missing = survey[list(SCORES)].isna().sum()
    assert (missing > 0).all()
    assert (missing < 0.05 * len(survey)).all()
    with pytest.raises(ValueError, match=r"column 'nps' has \d+ missing answer"):
        survey_metrics(survey, "nps")
    table = survey_metrics(survey, "nps", missing="drop")
    assert table.loc[0, "n_missing"] == missing["nps"]


def test_answers_follow_a_purchase_of_the_same_customer(
    tx: pd.DataFrame, survey: pd.DataFrame
) -> None:
    orders = tx.set_index("order_id")
    asked = orders.loc[survey["order_id"]]
    assert (asked["customer_id"].to_numpy() == survey["customer_id"].to_numpy()).all()
    assert (asked["revenue"].to_numpy() > 0).all()
    delay = (survey["response_date"].to_numpy() - asked["order_date"].to_numpy()).astype(
        "timedelta64[D]"
    ).astype(int)
    assert delay.min() >= 1 and delay.max() <= 14
    assert survey["response_date"].max() <= tx["order_date"].max()
    customers = tx.drop_duplicates("customer_id").set_index("customer_id")
    for column in ("channel", "country"):
        expected = customers.loc[survey["customer_id"], column].to_numpy()
        assert (survey[column].to_numpy() == expected).all()


def test_scores_follow_behaviour(tx: pd.DataFrame, survey: pd.DataFrame) -> None:
    purchases = tx[tx["revenue"] > 0].groupby("customer_id").size()
    refunders = set(tx.loc[tx["revenue"] < 0, "customer_id"])
    labelled = survey.assign(
        repeat=np.where(survey["customer_id"].map(purchases) > 1, "repeat", "one-time"),
        refund=survey["customer_id"].isin(refunders),
    )
    by_repeat = survey_metrics(labelled, "nps", by="repeat", missing="drop").set_index("repeat")
    assert by_repeat.loc["repeat", "value"] > by_repeat.loc["one-time", "value"] + 5
    by_refund = survey_metrics(labelled, "nps", by="refund", missing="drop").set_index("refund")
    assert by_refund.loc[True, "value"] < by_refund.loc[False, "value"] - 15
    for column in ("csat", "ces", "rating_product"):
        means = labelled.groupby("repeat")[column].mean()
        assert means["repeat"] > means["one-time"], column
    overall = nps(survey["nps"], missing="drop")
    assert -20 < overall.value < 50


def test_other_logs_and_rates() -> None:
    small = rt.sample_transactions(400, seed=3)
    survey = sample_survey(small, seed=5, response_rate=0.5)
    assert 120 <= len(survey) <= 280
    everyone = sample_survey(small, response_rate=1.0)
    eligible = small[
        (small["revenue"] > 0)
        & (small["order_date"] <= small["order_date"].max() - pd.Timedelta(days=14))
    ]["customer_id"].nunique()
    assert len(everyone) == eligible
    plain = small[["customer_id", "order_date", "revenue"]].assign(
        customer_id=lambda d: d["customer_id"].str[1:].astype(int)
    )
    bare = sample_survey(plain)
    assert "order_id" not in bare.columns and "channel" not in bare.columns
    assert bare["customer_id"].dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, r"seed must be a whole number >= 0"),
        ({"response_rate": 0.0}, r"response_rate is a fraction in \(0.0, 1.0\]"),
        ({"response_rate": 25}, r"response_rate is a fraction"),
    ],
)
def test_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sample_survey(rt.sample_transactions(50, seed=1), **kwargs)


def test_rejects_logs_it_cannot_survey() -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) 'revenue' \(amount=\)"):
        sample_survey(pd.DataFrame({"customer_id": [1], "order_date": [pd.Timestamp("2024")]}))
    recent = pd.DataFrame(
        {"customer_id": [1, 2], "order_date": pd.to_datetime(["2024-01-01", "2024-01-05"]),
         "revenue": [10.0, 5.0]}
    )
    with pytest.raises(ValueError, match=r"no purchase .* at least 14 days before"):
        sample_survey(recent)
