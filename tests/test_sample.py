"""Tests of the synthetic transaction log (retention/io/sample.py) and the bundled CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention.io.sample import CHANNELS, COUNTRIES, sample_transactions

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CSV = ROOT / "data" / "sample_transactions.csv"
# The documented call that generated data/sample_transactions.csv (see data/README.md):
#   python -m retention.io.sample --customers 3000 --seed 42 --output data/sample_transactions.csv
SAMPLE_CALL = {"n_customers": 3000, "seed": 42}

COLUMNS = ["customer_id", "order_id", "order_date", "revenue", "channel", "country"]


@pytest.fixture(scope="module")
def tx() -> pd.DataFrame:
    return sample_transactions(3000, seed=7)


def _purchases(tx: pd.DataFrame) -> pd.DataFrame:
    return tx[tx["revenue"] > 0]


def test_same_seed_gives_identical_frame():
    pd.testing.assert_frame_equal(
        sample_transactions(500, seed=3), sample_transactions(500, seed=3)
    )


def test_different_seed_gives_different_frame():
    assert not sample_transactions(500, seed=3).equals(sample_transactions(500, seed=4))


def test_schema_and_dtypes(tx):
    assert list(tx.columns) == COLUMNS
    assert isinstance(tx.index, pd.RangeIndex) and tx.index.start == 0
    assert tx["order_date"].dtype == np.dtype("datetime64[ns]")
    assert tx["revenue"].dtype == np.dtype("float64")
    for col in ("customer_id", "order_id", "channel", "country"):
        assert pd.api.types.is_string_dtype(tx[col]), col
    assert not tx.isna().any().any()
    assert tx["customer_id"].nunique() == 3000
    assert tx["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert tx["order_id"].is_unique
    assert tx["order_id"].str.fullmatch(r"[OR]\d{7}").all()
    assert set(tx["channel"]) == set(CHANNELS)
    assert set(tx["country"]) <= set(COUNTRIES)
    # dates only, amounts in cents
    assert (tx["order_date"] == tx["order_date"].dt.normalize()).all()
    np.testing.assert_array_equal(tx["revenue"], tx["revenue"].round(2))
    assert (tx["revenue"] != 0).all()


def test_dtypes_do_not_depend_on_size():
    small, large = sample_transactions(1, seed=0), sample_transactions(300, seed=0)
    pd.testing.assert_series_equal(small.dtypes, large.dtypes)


def test_sorted_by_date_then_customer(tx):
    keys = tx[["order_date", "customer_id"]]
    assert keys.equals(keys.sort_values(["order_date", "customer_id"]).reset_index(drop=True))


def test_dates_within_window():
    tx = sample_transactions(800, seed=1, start="2022-03-15", end="2022-09-30")
    assert tx["order_date"].min() >= pd.Timestamp("2022-03-15")
    assert tx["order_date"].max() <= pd.Timestamp("2022-09-30")


def test_customer_attributes_are_constant(tx):
    assert (tx.groupby("customer_id")[["channel", "country"]].nunique() == 1).all().all()


def test_first_row_of_every_customer_is_a_purchase(tx):
    first = tx.groupby("customer_id", sort=False).head(1)
    assert len(first) == 3000
    assert (first["revenue"] > 0).all()
    assert first["order_id"].str.startswith("O").all()


def test_one_time_buyer_share_is_plausible(tx):
    orders = _purchases(tx).groupby("customer_id").size()
    share = (orders == 1).mean()
    assert 0.45 <= share <= 0.75
    # ... and a long tail of loyal customers
    assert orders.max() >= 10


def test_acquisitions_grow(tx):
    first = tx.groupby("customer_id")["order_date"].min()
    per_year = first.dt.year.value_counts()
    assert per_year[2024] > 1.2 * per_year[2023]


def test_acquisitions_peak_in_november_december(tx):
    first = tx.groupby("customer_id")["order_date"].min()
    per_month = first.dt.month.value_counts()
    assert per_month[[11, 12]].mean() > 1.3 * per_month[[1, 2, 3]].mean()


def test_refunds_present_negative_and_linked(tx):
    refunds = tx[tx["revenue"] < 0]
    purchases = _purchases(tx)
    assert refunds["order_id"].str.startswith("R").all()
    assert 0.01 <= len(refunds) / len(purchases) <= 0.03
    original = purchases.set_index("order_id").loc["O" + refunds["order_id"].str[1:]]
    np.testing.assert_array_equal(refunds["customer_id"], original["customer_id"])
    assert (refunds["order_date"].to_numpy() > original["order_date"].to_numpy()).all()
    assert (-refunds["revenue"].to_numpy() <= original["revenue"].to_numpy()).all()
    # most refunds are full, some partial
    full = -refunds["revenue"].to_numpy() == original["revenue"].to_numpy()
    assert 0.4 < full.mean() < 0.95


def test_no_refunds_when_rate_is_zero():
    assert (sample_transactions(500, seed=2, refund_rate=0)["revenue"] > 0).all()


def test_channels_differ_in_repeat_rate(tx):
    orders = _purchases(tx).groupby("customer_id").size()
    channel = tx.groupby("customer_id")["channel"].first()
    repeat = (orders >= 2).groupby(channel).mean()
    assert repeat["social"] < repeat["organic"] - 0.05
    assert repeat["social"] < repeat["email"] - 0.05
    assert repeat.max() - repeat.min() > 0.1


def test_order_values_are_heterogeneous_between_customers(tx):
    mean_spend = _purchases(tx).groupby("customer_id")["revenue"].mean()
    assert mean_spend.quantile(0.9) > 2 * mean_spend.quantile(0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0}, "at least 1"),
        ({"n_customers": -5}, "at least 1"),
        ({"n_customers": 2.5}, "positive integer"),
        ({"end": "2022-12-31"}, "must be after start"),
        ({"end": "2023-01-01"}, "must be after start"),
        ({"start": "not a date"}, "not a date"),
        ({"refund_rate": 1.5}, "refund_rate"),
        ({"annual_growth": -1.0}, "annual_growth"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_transactions(**kwargs)


def test_committed_csv_matches_documented_call():
    assert SAMPLE_CSV.stat().st_size < 2_000_000
    committed = pd.read_csv(SAMPLE_CSV, parse_dates=["order_date"]).astype(
        {"order_date": "datetime64[ns]"}
    )
    pd.testing.assert_frame_equal(committed, sample_transactions(**SAMPLE_CALL), check_exact=True)


def test_command_line_writes_the_same_file(tmp_path):
    from retention.io.sample import _main

    out = tmp_path / "tx.csv"
    _main(["--customers", "3000", "--seed", "42", "--output", str(out)])
    assert out.read_bytes() == SAMPLE_CSV.read_bytes()


def test_a_file_missing_from_data_is_written_once_to_the_cache(tmp_path, monkeypatch):
    from retention.io.sample import bundled_file

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls = []

    def write(path):
        calls.append(path)
        path.write_text("customer_id\n")

    first = bundled_file("not_in_data.csv", write)
    again = bundled_file("not_in_data.csv", write)
    assert first == again == tmp_path / "retention" / "not_in_data.csv"
    assert first.read_text() == "customer_id\n" and len(calls) == 1
