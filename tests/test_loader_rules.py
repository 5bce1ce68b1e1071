"""The loader's data rules: every doubtful value is converted with a note, refused with an
error naming the column, the count and short examples, or excluded and counted."""

from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retention import load_transactions
from retention.io.load import ValidationReport

MAPPING = dict(customer="user", date="day", amount="total")


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {"user": [f"c{i}" for i in range(n)], "day": ["2024-01-05"] * n, "total": [1.0] * n}
    return pd.DataFrame({**base, **columns})


def notes(tx: pd.DataFrame) -> dict[str, int]:
    return {f.problem: f.count for f in ValidationReport.from_attrs(tx).notes}


def quiet_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_transactions(*args, **kwargs)


# integer dates -------------------------------------------------------------------------------


def test_yyyymmdd_numbers_are_dates_with_a_note(tmp_path):
    raw = frame(day=pd.Series([20240105, 20240210], dtype=object))  # not 1970 + nanoseconds
    tx = load_transactions(raw, **MAPPING)
    assert tx["order_date"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-02-10")]
    assert notes(tx)["numbers read as YYYYMMDD dates"] == 2
    path = tmp_path / "tx.parquet"
    frame(day=[20240105, 20240210]).to_parquet(path)
    assert load_transactions(path, **MAPPING)["order_date"].iloc[1] == pd.Timestamp("2024-02-10")


def test_excel_day_numbers_in_the_plausible_range_are_dates_with_a_note(tmp_path):
    path = tmp_path / "tx.parquet"
    frame(day=[45292.0, 45293.5]).to_parquet(path)
    tx = load_transactions(path, **MAPPING)
    assert tx["order_date"].tolist() == [pd.Timestamp("2024-01-01"),
                                         pd.Timestamp("2024-01-02 12:00")]
    assert notes(tx)["numbers read as Excel day numbers (days since 1899-12-30)"] == 2


def test_numbers_that_are_no_dates_are_refused_with_a_hint():
    raw = frame(day=[1704412800, 1704499200])  # Unix seconds
    with pytest.raises(ValueError) as info:
        load_transactions(raw, **MAPPING)
    message = str(info.value)
    assert "column 'day' holds numbers, not dates" in message
    assert "2 distinct values" in message and "1704412800" in message
    assert "date_format=" in message


# time zones ----------------------------------------------------------------------------------


def test_timezone_aware_dates_keep_their_local_wall_time():
    days = pd.to_datetime(["2024-02-01 00:30", "2024-02-01 10:00"]).tz_localize("Europe/Berlin")
    tx = load_transactions(frame(day=days), **MAPPING)
    assert tx["order_date"].tolist() == [pd.Timestamp("2024-02-01 00:30"),
                                         pd.Timestamp("2024-02-01 10:00")]
    assert tx["order_date"].dt.month.tolist() == [2, 2]  # not moved to January in UTC
    assert notes(tx)["timezone-aware (Europe/Berlin): local wall time kept, time zone "
                     "dropped"] == 2


def test_text_dates_with_mixed_offsets_each_keep_their_local_wall_time():
    raw = frame(day=["2024-02-01T00:30:00+01:00", "2024-02-01T00:30:00-05:00", "2024-02-02"])
    tx = load_transactions(raw, **MAPPING)
    assert tx["order_date"].tolist() == [pd.Timestamp("2024-02-01 00:30")] * 2 + [
        pd.Timestamp("2024-02-02")]
    assert notes(tx)["with a UTC offset or a time zone: local wall time kept, offset "
                     "dropped"] == 2


# amounts -------------------------------------------------------------------------------------


def test_infinite_amounts_are_invalid_not_refunds():
    raw = frame(total=[np.inf, -np.inf, 5.0])
    with pytest.raises(ValueError, match=r"total: 2 rows with an infinite amount \(e.g. inf, "):
        load_transactions(raw, **MAPPING)
    tx, report = quiet_load(raw, drop_invalid=True, return_report=True, **MAPPING)
    assert tx["revenue"].tolist() == [5.0]
    assert [(f.column, f.problem, f.count) for f in report.excluded] == [
        ("total", "with an infinite amount", 2)]
    assert "negative (refunds or returns)" not in notes(tx)


def test_boolean_amounts_are_refused():
    for values in ([True, False], pd.array([True, False], dtype="boolean")):
        with pytest.raises(ValueError, match="column 'total' holds true/false values, not "
                                             r"amounts \(2 rows"):
            load_transactions(frame(total=values), drop_invalid=True, **MAPPING)


# customer ids --------------------------------------------------------------------------------


def test_ids_are_normalised_with_notes_unless_asked_not_to(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("user,day,total\n1,2024-01-05,1\n1.0,2024-01-06,2\n 2 ,2024-01-07,3\n"
                    "2,2024-01-08,4\n")
    tx = load_transactions(path, **MAPPING)
    assert tx["customer_id"].tolist() == [1, 1, 2, 2]
    found = notes(tx)
    assert found["customer ids written as whole-number decimals (1.0): read as integers"] == 1
    assert found["customer ids with surrounding spaces: stripped"] == 1
    kept = load_transactions(path, normalize_ids=False, **MAPPING)
    assert kept["customer_id"].tolist() == ["1", "1.0", " 2 ", "2"]
    assert not any("customer ids" in p for p in notes(kept))


def test_text_ids_with_spaces_are_one_customer():
    tx = load_transactions(frame(user=["C1", " C1 ", "C2"]), **MAPPING)
    assert tx["customer_id"].tolist() == ["C1", "C1", "C2"]


def test_ids_mixing_numbers_and_text_are_read_as_text():
    raw = frame(user=pd.Series([1, "1", "C2", 2.0], dtype=object))
    tx = load_transactions(raw, **MAPPING)
    assert tx["customer_id"].tolist() == ["1", "1", "C2", "2"]
    assert notes(tx)["customer ids mixing numbers and text: all read as text"] == 2


def test_float_ids_that_are_whole_numbers_become_integers():
    tx = load_transactions(frame(user=[1.0, 2.0, 1.0]), **MAPPING)
    assert tx["customer_id"].dtype == np.int64 and tx["customer_id"].tolist() == [1, 2, 1]


# headers, files, long values -----------------------------------------------------------------


def test_a_duplicated_header_is_refused(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text("user,day,total,total\na,2024-01-05,1,2\n")
    with pytest.raises(ValueError, match=r"2 columns named 'total' \(columns 3 and 4\)"):
        load_transactions(path, **MAPPING)
    with pytest.raises(ValueError, match="2 columns named 'total'"):
        load_transactions(path, header=0, **MAPPING)  # pandas would rename one 'total.1'
    raw = pd.DataFrame([["a", "2024-01-05", 1.0, 2.0]], columns=["user", "day", "total", "total"])
    with pytest.raises(ValueError, match="DataFrame has 2 columns named 'total'"):
        load_transactions(raw, **MAPPING)


def test_binary_and_damaged_files_named_csv_are_named_and_described(tmp_path):
    noise = np.random.default_rng(0).integers(1, 256, 5000, dtype=np.uint8).tobytes()
    binary = tmp_path / "noise.csv"
    binary.write_bytes(noise)
    with pytest.raises(ValueError, match="'noise.csv' is not a text/CSV file: it looks like "
                                         "binary data"):
        load_transactions(binary, **MAPPING)
    packed = tmp_path / "packed.csv"
    packed.write_bytes(gzip.compress(noise))
    with pytest.raises(ValueError, match="'packed.csv' is gzip-compressed, but what it holds "
                                         "is not text"):
        load_transactions(packed, **MAPPING)
    rows = "".join(f"c{i},2024-01-{i % 28 + 1:02d},{i}.5\n" for i in range(200_000))
    data = gzip.compress(("user,day,total\n" + rows).encode())
    cut = tmp_path / "cut.csv"
    cut.write_bytes(data[: len(data) // 2])
    for options in ({}, {"header": 0}):
        with pytest.raises(ValueError, match="cannot read 'cut.csv': its compressed data is "
                                             "damaged or ends early"):
            load_transactions(cut, **options, **MAPPING)


def test_echoed_values_are_shortened():
    huge = "x" * 2_000_000
    with pytest.raises(ValueError) as info:
        load_transactions(frame(day=["2024-01-05", huge]), **MAPPING)
    assert len(str(info.value)) < 400 and "x" * 59 + "…'" in str(info.value)
    tx = quiet_load(frame(day=["2024-01-05", huge]), drop_invalid=True, **MAPPING)
    assert len(json.dumps(tx.attrs)) < 2_000


# dates outside the plausible range -----------------------------------------------------------


def test_dates_outside_the_plausible_range_are_noted_or_excluded():
    raw = frame(day=["1985-06-01", "2024-01-05", "2030-01-01"])
    tx = load_transactions(raw, as_of="2025-01-01", **MAPPING)
    assert len(tx) == 3
    assert notes(tx)["dated before 1990-01-01"] == 1 and notes(tx)["dated after 2025-01-01"] == 1
    with pytest.warns(UserWarning, match="excluded 2 invalid rows"):
        tx, report = load_transactions(raw, as_of="2025-01-01", drop_invalid=True,
                                       return_report=True, **MAPPING)
    assert tx.index.tolist() == [1] and report.rows_excluded == 2
    assert {f.problem: f.count for f in report.excluded} == {
        "dated before 1990-01-01": 1, "dated after 2025-01-01": 1}
    wide = load_transactions(raw, date_range=("1980-01-01", "2031-01-01"), drop_invalid=True,
                             **MAPPING)
    assert len(wide) == 3
    with pytest.raises(ValueError, match="date_range must be"):
        load_transactions(raw, date_range=("2025-01-01", "2020-01-01"), **MAPPING)


# attrs ---------------------------------------------------------------------------------------


def test_attrs_are_plain_json_so_logs_concatenate_and_merge():
    a = quiet_load(frame(total=[1.0, -np.inf, 2.0]), drop_invalid=True, **MAPPING)
    b = load_transactions(frame(user=[" c0", "c9"], total=[-1.0, 3.0]), as_of="2025-01-01",
                          **MAPPING)
    assert json.loads(json.dumps(a.attrs)) == a.attrs
    assert len(pd.concat([a, b])) == 4 and len(pd.concat([a, a]).attrs) == 1
    assert len(a.merge(b, on="customer_id")) == 1


# property: every row is kept or excluded and counted ----------------------------------------

KINDS = {
    # kind: (user, day, total, column, problem)
    "valid": ("c", "2024-03-04", 12.5, None, None),
    "missing id": (None, "2024-03-04", 12.5, "user", "with a missing customer id"),
    "bad date": ("c", "2024-13-45", 12.5, "day",
                 "with a missing, unparseable or out-of-range date"),
    "text amount": ("c", "2024-03-04", "about 12", "total",
                    "with a missing or non-numeric amount"),
    "infinite amount": ("c", "2024-03-04", -np.inf, "total", "with an infinite amount"),
    "early date": ("c", "1970-01-01", 12.5, "day", "dated before 1990-01-01"),
    "future date": ("c", "2031-01-01", 12.5, "day", "dated after 2025-01-01"),
}
DOUBTFUL = {"early date", "future date"}  # kept with a note unless drop_invalid


def rows_of(kinds: list[str]) -> pd.DataFrame:
    records = [KINDS[k][:3] for k in kinds]
    return pd.DataFrame({
        "user": pd.Series([u if u is None else f"{u}{i % 3}" for i, (u, _, _) in
                           enumerate(records)], dtype=object),
        "day": [d for _, d, _ in records],
        "total": pd.Series([t for _, _, t in records], dtype=object),
    })


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=25))
def test_every_row_is_kept_or_excluded_and_counted(kinds):
    raw = rows_of(kinds)
    expected = {k: kinds.count(k) for k in set(kinds) if k != "valid"}
    valid = kinds.count("valid")
    if valid == 0:
        with pytest.raises(ValueError, match="every row was invalid"):
            quiet_load(raw, drop_invalid=True, as_of="2025-01-01", **MAPPING)
    else:
        tx, report = quiet_load(raw, drop_invalid=True, as_of="2025-01-01",
                                return_report=True, **MAPPING)
        assert report.rows_read == len(kinds) == report.rows_kept + report.rows_excluded
        assert report.rows_kept == valid == len(tx)
        assert sum(f.count for f in report.excluded) == report.rows_excluded
        assert {(f.column, f.problem): f.count for f in report.excluded} == {
            KINDS[k][3:]: n for k, n in expected.items()}
        assert sorted(report.excluded_rows.index) == [i for i, k in enumerate(kinds)
                                                      if k != "valid"]
    invalid = set(expected) - DOUBTFUL
    if invalid:
        with pytest.raises(ValueError) as info:
            load_transactions(raw, as_of="2025-01-01", **MAPPING)
        for kind in invalid:
            column, problem = KINDS[kind][3:]
            assert f"{column}: {expected[kind]} rows {problem}" in str(info.value)
    else:
        tx = load_transactions(raw, as_of="2025-01-01", **MAPPING)
        assert len(tx) == len(kinds)
        assert {p: n for p, n in notes(tx).items() if p.startswith("dated")} == {
            KINDS[k][4]: n for k, n in expected.items()}
