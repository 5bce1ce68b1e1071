"""load_transactions: every file type, every bad-input case, nothing silently dropped."""

import warnings

import pandas as pd
import pytest

from retention.io.load import ValidationReport, load_transactions


@pytest.fixture
def raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": ["00042", "00042", "00007", "00042"],
            "day": ["2024-01-03", "2024-02-10", "2024-01-20", "2024-02-10"],
            "total": [20.0, -5.0, 12.5, -5.0],
            "channel": ["email", "email", "paid", "email"],
        }
    )


MAPPING = dict(customer="user", date="day", amount="total")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".csv.gz"])
def test_reads_every_file_type_into_the_canonical_schema(tmp_path, raw, suffix):
    path = tmp_path / f"tx{suffix}"
    if suffix == ".parquet":
        raw.to_parquet(path)
    elif suffix == ".xlsx":
        raw.to_excel(path, index=False)
    else:
        raw.to_csv(path, index=False)
    tx = load_transactions(path, **MAPPING)
    assert list(tx.columns) == ["customer_id", "order_date", "revenue", "channel"]
    assert tx["order_date"].dtype == "datetime64[ns]"
    assert tx["revenue"].dtype == "float64"
    assert tx["customer_id"].tolist() == ["00042", "00042", "00007", "00042"]  # zeros kept
    assert tx["order_date"].iloc[1] == pd.Timestamp("2024-02-10")


def test_order_column_and_date_format(raw):
    raw = raw.assign(
        ticket=["A", "B", "C", "B"], day=["20240103", "20240210", "20240120", "20240210"]
    )
    tx = load_transactions(raw, order="ticket", date_format="%Y%m%d", **MAPPING)
    assert list(tx.columns[:4]) == ["customer_id", "order_date", "revenue", "order_id"]
    assert tx["order_date"].min() == pd.Timestamp("2024-01-03")


def test_dataframe_input_is_not_modified(raw):
    before = raw.copy()
    load_transactions(raw, **MAPPING)
    pd.testing.assert_frame_equal(raw, before)


def test_timezone_aware_dates_keep_their_local_wall_time():
    raw = pd.DataFrame(
        {"customer_id": [1], "order_date": ["2024-01-01T10:00:00+02:00"], "revenue": [1.0]}
    )
    tx = load_transactions(raw)
    assert tx["order_date"].iloc[0] == pd.Timestamp("2024-01-01 10:00")


def test_missing_columns_are_listed_with_those_present(raw):
    with pytest.raises(ValueError) as info:
        load_transactions(raw, customer="client", date="day", amount="amount")
    msg = str(info.value)
    assert "missing column(s) 'client' (customer=), 'amount' (amount=)" in msg
    assert "available columns: ['user', 'day', 'total', 'channel']" in msg


def test_mapped_name_clashing_with_an_existing_column(raw):
    with pytest.raises(ValueError, match="already has column.*'revenue'"):
        load_transactions(raw.assign(revenue=1.0), **MAPPING)


def test_unparseable_dates_name_column_count_and_examples(raw):
    raw.loc[[0, 1, 2], "day"] = ["2024-13-45", "yesterday", "2999-01-01"]
    with pytest.raises(ValueError) as info:
        load_transactions(raw, **MAPPING)
    msg = str(info.value)
    assert "day: 3 rows with a missing, unparseable or out-of-range date" in msg
    assert "'2024-13-45'" in msg and "'yesterday'" in msg and "'2999-01-01'" in msg


def test_missing_customer_ids(raw):
    raw.loc[[0, 3], "user"] = [None, "  "]
    with pytest.raises(ValueError, match="user: 2 rows with a missing customer id"):
        load_transactions(raw, **MAPPING)


def test_non_numeric_amounts(raw):
    raw["total"] = raw["total"].astype(object)
    raw.loc[2, "total"] = "12,50 EUR"  # a text amount with a currency code is understood
    assert load_transactions(raw, **MAPPING)["revenue"].tolist() == [20.0, -5.0, 12.5, -5.0]
    raw.loc[2, "total"] = "about 12 EUR"
    with pytest.raises(ValueError) as info:
        load_transactions(raw, **MAPPING)
    assert "total: 1 rows with a missing or non-numeric amount (e.g. 'about 12 EUR')" in str(
        info.value
    )


def test_empty_inputs(tmp_path, raw):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_transactions(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("user,day,total\n")
    with pytest.raises(ValueError, match="has no rows"):
        load_transactions(header_only, **MAPPING)
    with pytest.raises(ValueError, match="has no rows"):
        load_transactions(raw.iloc[:0], **MAPPING)


def test_unknown_file_type_and_missing_file(tmp_path):
    (tmp_path / "tx.json").write_text("{}")
    with pytest.raises(ValueError, match="unknown file type '.json'"):
        load_transactions(tmp_path / "tx.json")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_transactions(tmp_path / "nope.csv")


def test_refunds_duplicates_and_future_rows_are_kept_and_reported(raw):
    raw.loc[2, "day"] = "2030-01-01"
    tx = load_transactions(raw, as_of="2025-01-01", **MAPPING)
    assert len(tx) == 4
    report = ValidationReport.from_attrs(tx)
    assert (report.rows_read, report.rows_kept, report.rows_excluded) == (4, 4, 0)
    notes = {f.problem: f for f in report.notes}
    assert notes["negative (refunds or returns)"].count == 2
    assert notes["exact duplicates of an earlier row"].count == 1
    assert notes["exact duplicates of an earlier row"].examples == (3,)
    assert notes["dated after 2025-01-01"].count == 1
    assert notes["dated after 2025-01-01"].column == "day"
    assert set(report.to_frame()["action"]) == {"kept"}


def test_drop_invalid_excludes_counts_and_keeps_the_rows(raw):
    raw.loc[1, "day"] = "not a date"
    raw.loc[2, "user"] = None
    with pytest.warns(UserWarning, match="excluded 2 invalid rows"):
        tx, report = load_transactions(raw, drop_invalid=True, return_report=True, **MAPPING)
    assert tx.index.tolist() == [0, 3]
    assert "excluded_rows" not in str(tx.attrs) and len(tx.attrs["validation"]["excluded"]) == 2
    assert report.rows_excluded == 2
    assert {(f.column, f.count) for f in report.excluded} == {("day", 1), ("user", 1)}
    pd.testing.assert_frame_equal(report.excluded_rows, raw.loc[[1, 2]])
    assert "excluded day: 1 rows with a missing, unparseable or out-of-range date" in str(report)


def test_drop_invalid_with_nothing_valid_left(raw):
    raw["day"] = "never"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="every row was invalid"):
            load_transactions(raw, drop_invalid=True, **MAPPING)


def test_whitespace_separated_file_with_reader_options(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n")
    tx = load_transactions(
        path,
        customer="id",
        date="date",
        amount="value",
        date_format="%Y%m%d",
        sep=r"\s+",
        header=None,
        names=["id", "date", "cds", "value"],
    )
    assert tx["customer_id"].tolist() == ["00001", "00002"]
    assert tx["revenue"].sum() == pytest.approx(88.77)
    assert "cds" in tx.columns


def test_a_misspelt_column_gets_a_suggestion(raw):
    with pytest.raises(ValueError, match=r"missing column\(s\) 'usr'.*Did you mean 'user'\?"):
        load_transactions(raw, customer="usr", date="day", amount="total")


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_read_table_reads_only_the_columns_asked_for(tmp_path, raw, suffix):
    from retention.io.load import read_table

    path = tmp_path / f"tx{suffix}"
    {".csv": raw.to_csv, ".parquet": raw.to_parquet, ".xlsx": raw.to_excel}[suffix](
        path, **({} if suffix == ".parquet" else {"index": False})
    )
    assert list(read_table(path, columns=["channel"]).columns) == ["channel"]
    with pytest.raises(ValueError, match=r"missing column\(s\) 'chanel'.*Did you mean 'channel'"):
        read_table(path, columns=["chanel"])
