"""The same tables from pandas, DuckDB, PostgreSQL and Spark: one set of scenarios, equal answers.

Each scenario is a small pandas log that crosses the boundaries where engines disagree (week
starts, month and year ends, timestamps a second from midnight, leap days), with refunds
(netted, refund-only periods, before the first purchase, refund-only customers), zero-value
orders, same-day orders and order lines, segments, and a partial last period. The log is
written into each engine, loaded with ``rt.load_transactions`` (validated in the engine) and
every table is compared with the NumPy engine's on the DataFrame: counts exactly, sums to
1e-9 relative. PostgreSQL and Spark are real servers started by ``tests/engine_servers.py``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import retention as rt
from retention.engine.lazy import TransactionTable
from retention.metrics.value import customer_history

ibis = pytest.importorskip("ibis")

ROWS = [
    # customer, when, amount, order, channel
    ("a", "2023-12-31 23:59:59", 10.0, "o1", "email"),   # a Sunday, the last second of a year
    ("a", "2024-01-01 00:00:00", 5.0, "o2", "social"),   # the next second: Monday, new week
    ("a", "2024-01-01 08:00:00", 7.5, "o2", "social"),   # same order, a second line
    ("a", "2024-01-01 19:00:00", -2.5, "o3", "social"),  # refund netted into the day
    ("a", "2024-02-29 12:00:00", 0.0, "o4", "email"),    # zero-value order on a leap day
    ("a", "2024-04-01 00:00:01", 20.0, "o5", "email"),   # a second into a quarter
    ("b", "2024-01-07 23:59:59", 12.0, "o6", "search"),  # Sunday night
    ("b", "2024-01-08 00:00:00", 3.0, "o7", "search"),   # Monday, the next week
    ("b", "2024-03-15 10:00:00", -3.0, "o8", "search"),  # a refund-only month
    ("b", "2024-06-30 23:59:59", 30.0, "o9", "email"),   # the last second of a half year
    ("c", "2024-01-20 09:00:00", -4.0, "o10", "email"),  # refund before the first purchase
    ("c", "2024-02-01 00:00:00", 9.0, "o11", "email"),
    ("c", "2024-02-01 00:00:00", 9.0, "o11", "email"),   # an exact duplicate row
    ("d", "2024-02-10 14:00:00", -8.0, "o12", "social"),  # a customer with refunds only
    ("e", "2024-03-31 23:59:59", 15.0, "o13", "social"),
    ("e", "2024-10-01 00:00:00", 25.0, "o14", "social"),
    ("f", "2024-12-30 10:00:00", 40.0, "o15", "search"),  # ISO week 1 of 2025
    ("f", "2025-01-15 12:00:00", 18.0, "o16", "search"),  # the last day: partial month
]


def _edge_log() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=["customer_id", "order_date", "revenue", "order_id",
                                        "channel"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


def _sample_log() -> pd.DataFrame:
    tx = rt.sample_transactions(n_customers=400, seed=3)
    return tx[["customer_id", "order_date", "revenue", "order_id", "channel"]]


SCENARIOS = {"edges": _edge_log, "sample": _sample_log}

TABLES = {
    "cohort M": lambda tx: rt.cohort_table(tx, "M", partial="flag"),
    "cohort W": lambda tx: rt.cohort_table(tx, "W"),
    "cohort Q unbounded": lambda tx: rt.cohort_table(tx, "Q", kind="unbounded"),
    "cohort D to 2024-03": lambda tx: rt.cohort_table(tx, "D", end="2024-03"),
    "cohort rolling M": lambda tx: rt.cohort_table(tx, "M", periods="rolling"),
    "cohort rolling W orders by channel": lambda tx: rt.cohort_table(
        tx, "W", periods="rolling", order="order_id", by="channel", end="2024-10"),
    "cohort by channel": lambda tx: rt.cohort_table(tx, "M", by="channel"),
    "cohort refunds count": lambda tx: rt.cohort_table(tx, "M", include_refunds=True),
    "cohort orders": lambda tx: rt.cohort_table(tx, "M", order="order_id"),
    "matrix M": lambda tx: rt.retention_matrix(tx, "M"),
    "matrix W": lambda tx: rt.retention_matrix(tx, "W"),
    "period metrics M": lambda tx: rt.period_metrics(tx, "M", order="order_id"),
    "period metrics W": lambda tx: rt.period_metrics(tx, "W"),
    "rfm D weeks": lambda tx: rt.rfm_summary(tx, "D", time_unit="W"),
    "rfm W": lambda tx: rt.rfm_summary(tx, "W"),
    "rfm M to 2024-06-30": lambda tx: rt.rfm_summary(tx, "M", observation_end="2024-06-30"),
    "calibration": lambda tx: rt.calibration_and_holdout(tx, "2024-03-31"),
    "history": lambda tx: customer_history(tx, segments="channel", order="order_id"),
    "lifecycle M": lambda tx: rt.lifecycle(tx, "M"),
    "lifecycle M to 2024-06": lambda tx: rt.lifecycle(tx, "M", end="2024-06"),
    "stickiness W": lambda tx: rt.stickiness(tx, "W"),
}


def assert_same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, rtol=1e-9, check_dtype=True)
    assert set(got.attrs) == set(expected.attrs)
    for key, value in expected.attrs.items():
        if isinstance(value, float):
            assert got.attrs[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
        else:
            assert got.attrs[key] == value, key


# --------------------------------------------------------------------------------------
# the engines
# --------------------------------------------------------------------------------------


def _duckdb(request, name: str, frame: pd.DataFrame):
    return ibis.duckdb.connect().create_table(name, frame)


def _postgres(request, name: str, frame: pd.DataFrame):
    con = ibis.connect(request.getfixturevalue("postgres_url"))
    return con.create_table(name, frame, overwrite=True)


def _spark(request, name: str, frame: pd.DataFrame):
    con = request.getfixturevalue("spark_backend")
    return con.create_table(name, frame, overwrite=True)


ENGINES = {
    "duckdb": _duckdb,
    "postgres": pytest.param(_postgres, marks=pytest.mark.postgres),
    "spark": pytest.param(_spark, marks=pytest.mark.spark),
}


@pytest.fixture(scope="module", params=list(ENGINES.values()), ids=list(ENGINES))
def engine(request):
    return request.param


@pytest.fixture(scope="module", params=list(SCENARIOS))
def logs(request, engine):
    """(DataFrame log, the same log loaded from the engine) for one scenario."""
    frame = SCENARIOS[request.param]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = engine(request, f"tx_{request.param}", frame)
        return rt.load_transactions(frame), rt.load_transactions(table)


@pytest.mark.parametrize("table", list(TABLES))
def test_same_table_in_every_engine(logs, table):
    frame, lazy_log = logs
    assert isinstance(lazy_log, TransactionTable)
    assert_same(TABLES[table](frame), TABLES[table](lazy_log))


def test_same_validation_counts(logs):
    frame, lazy_log = logs
    expected, got = frame.attrs["validation"], lazy_log.attrs["validation"]
    for key in ("rows_read", "rows_kept", "rows_excluded"):
        assert got[key] == expected[key]
    listed = [(f["column"], f["problem"], f["count"]) for f in got["notes"]]
    assert listed == [(f["column"], f["problem"], f["count"]) for f in expected["notes"]]


# --------------------------------------------------------------------------------------
# rules pinned by hand (DuckDB; the tests above carry them to the other engines)
# --------------------------------------------------------------------------------------


@pytest.fixture
def edges():
    return rt.load_transactions(ibis.duckdb.connect().create_table("tx", _edge_log()))


def test_week_starts_on_monday_and_seconds_before_midnight_stay(edges):
    weeks = rt.cohort_table(edges, "W", partial="keep")
    first = weeks[weeks["cohort"] == pd.Period("2023-12-31", "W")]
    # customer a: Sunday 2023-12-31 23:59:59 is week 0, Monday 00:00:00 is week 1
    assert first["cohort_size"].iloc[0] == 1
    assert first["customers"].iloc[:2].tolist() == [1.0, 1.0]
    assert str(first["cohort"].iloc[0]) == "2023-12-25/2023-12-31"


def test_refunds_and_partial_period(edges):
    table = rt.cohort_table(edges, "M", partial="flag")
    assert table.attrs["unattributed_rows"] == 2  # c's early refund, d's refund
    assert table.attrs["unattributed_revenue"] == -12.0
    assert table.attrs["customers_without_purchase"] == 1
    last = table[table["calendar_period"] == pd.Period("2025-01", "M")]
    assert last["partial"].all()
    summary = rt.rfm_summary(edges, "D")
    assert summary.attrs["n_refund_only_periods"] == 3  # b in March, c in January, d
    assert summary.loc["a", "frequency"] == 3  # four purchase days, the refund day netted
    assert summary.loc["a", "monetary_value"] == pytest.approx((10.0 + 0.0 + 20.0) / 3)


def test_validation_in_the_engine_names_column_count_and_examples():
    frame = _edge_log().rename(columns={"customer_id": "client", "revenue": "total"})
    frame.loc[[2, 5], "client"] = None
    frame.loc[7, "total"] = np.inf
    table = ibis.duckdb.connect().create_table("bad", frame)
    with pytest.raises(ValueError, match=r"3 of 18 rows cannot be used\. client: 2 rows with a "
                                         r"missing customer id .*total: 1 rows with an infinite"):
        rt.load_transactions(table, customer="client", amount="total")
    with pytest.warns(UserWarning, match="excluded 3 invalid rows"):
        kept = rt.load_transactions(table, customer="client", amount="total", drop_invalid=True)
    assert len(kept) == 15
    assert kept.attrs["validation"]["rows_excluded"] == 3
    with pytest.raises(ValueError, match=r"missing column\(s\) 'who' \(customer=\)"):
        rt.load_transactions(table, customer="who", amount="total")


def test_notes_of_an_engine_load_are_those_of_a_dataframe_load(tmp_path):
    frame = _edge_log()
    frame.loc[len(frame)] = ["g", pd.Timestamp("1985-06-01"), 4.0, "o17", "email"]
    frame.loc[len(frame)] = ["g", pd.Timestamp("2031-02-03"), 6.0, "o18", "email"]
    expected = rt.load_transactions(frame, as_of="2026-01-01").attrs["validation"]["notes"]
    tx = rt.load_transactions(ibis.duckdb.connect().create_table("notes", frame),
                              as_of="2026-01-01")
    later = tx[tx["order_date"] >= "2024-06-01"]  # shares the load's report
    got = later.attrs["validation"]["notes"]
    assert [(f["column"], f["problem"], f["count"]) for f in got] == [
        (f["column"], f["problem"], f["count"]) for f in expected]
    assert [f["problem"] for f in got] == [
        "negative (refunds or returns)", "exact duplicates of an earlier row",
        "dated before 1990-01-01", "dated after 2026-01-01"]
    assert got[1]["examples"] == ["c"]  # engines show the duplicated customer
    assert tx.attrs["validation"]["notes"] == got


def test_text_columns_are_parsed_and_checked_in_the_engine(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("client,day,total\na,2024-01-03,20.5\nb,2024-02-30,7\nc,2024-03-01,n/a\n"
                    "d,2024-03-02,NaN\ne,2024-03-04,-2\n")
    with pytest.raises(ValueError, match=r"3 of 5 rows cannot be used\. day: 1 rows with a "
                                         r"missing, unparseable .*total: 2 rows with a missing "
                                         r"or non-numeric amount"):
        rt.load_transactions(str(path), engine="duckdb", customer="client", date="day",
                             amount="total", sep=",")
    with pytest.warns(UserWarning, match="excluded 3 invalid rows"):
        tx = rt.load_transactions(str(path), engine="duckdb", customer="client", date="day",
                                  amount="total", sep=",", drop_invalid=True)
    assert len(tx) == 2
    notes = tx.attrs["validation"]["notes"]
    assert [(f["problem"], f["count"]) for f in notes] == [("negative (refunds or returns)", 1)]


def test_parquet_glob_and_connection_url(tmp_path):
    frame = _sample_log()
    folder = tmp_path / "tx"
    folder.mkdir()
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(folder / "part-0.parquet")
    frame.iloc[half:].to_parquet(folder / "part-1.parquet")
    expected = rt.retention_matrix(rt.load_transactions(frame), "M")
    for source in (str(folder / "*.parquet"), folder):
        assert_same(expected, rt.retention_matrix(rt.load_transactions(source), "M"))
    db = tmp_path / "shop.db"
    con = ibis.duckdb.connect(db)
    con.create_table("orders", frame)
    con.disconnect()
    loaded = rt.load_transactions(f"duckdb://{db}", table="orders")
    assert_same(expected, rt.retention_matrix(loaded, "M"))
    with pytest.raises(ValueError, match="needs table="):
        rt.load_transactions(f"duckdb://{db}")
    with pytest.raises(ValueError, match="no table 'nope'; tables: \\['orders'\\]"):
        rt.load_transactions(f"duckdb://{db}", table="nope")
    with pytest.raises(ValueError, match="no file matches"):
        rt.load_transactions(str(tmp_path / "none-*.parquet"))


# --------------------------------------------------------------------------------------
# the engines notebook and the reports on an engine source
# --------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.postgres
@pytest.mark.spark
def test_engines_notebook_on_postgres_and_spark(postgres_url, spark_session, tmp_path):
    import papermill as pm

    nb = pm.execute_notebook(str(ROOT / "notebooks" / "04_engines.ipynb"),
                             str(tmp_path / "04_engines.ipynb"), cwd=str(ROOT),
                             parameters={"postgres_url": postgres_url, "spark": True},
                             progress_bar=False)
    shown = "\n".join(o["data"].get("text/markdown", "") for c in nb.cells
                      for o in c.get("outputs", []) if "data" in o)
    assert "PostgreSQL: the same retention matrix and RFM summary." in shown
    assert "Spark: the same retention matrix and RFM summary." in shown


def test_reports_on_a_parquet_folder_match_the_csv_reports(tmp_path):
    """Every report notebook on a Parquet folder (DuckDB engine) gives the key figures of the
    same log read from a CSV file (NumPy engine)."""
    import json
    import subprocess
    import sys

    frame = rt.sample_transactions(n_customers=3000, seed=1)
    frame = frame.rename(columns={"customer_id": "client", "revenue": "total"})
    frame.to_csv(tmp_path / "log.csv", index=False)
    folder = tmp_path / "lake"
    folder.mkdir()
    frame.iloc[::2].to_parquet(folder / "a.parquet")
    frame.iloc[1::2].to_parquet(folder / "b.parquet")
    figures = {}
    for name, data in (("csv", tmp_path / "log.csv"), ("parquet", folder / "*.parquet")):
        out = tmp_path / name
        cli = Path(sys.executable).parent / "retention"
        done = subprocess.run([str(cli), "report", "--data", str(data), "--customer", "client",
                               "--amount", "total", "--order", "order_id", "-o", str(out),
                               "--no-progress"], capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        index = json.loads((out / "index.json").read_text())
        figures[name] = {(r["notebook"], k): v for r in index["reports"]
                         for k, v in (r.get("summary") or {}).items()}
    assert figures["csv"] and figures["parquet"] == figures["csv"]


def test_data_checks_name_the_glob_and_the_table():
    import re

    from retention.reports.narrative import describe_validation

    def plain(report):  # the Markdown without its escapes
        return re.sub(r"\\(.)", r"\1", describe_validation(report))

    shown = plain(rt.ValidationReport("/data/lake/*.parquet", 3, 3))
    assert shown.startswith("lake/*.parquet: 3 rows read")
    url = plain(rt.ValidationReport("postgres://me@db/shop table orders", 3, 3))
    assert url.startswith("postgres://me@db/shop table orders: 3 rows read")


@pytest.mark.postgres
def test_reports_on_a_postgres_table(postgres_url, tmp_path):
    """``retention report --data postgres://... --table orders``: the cohort and CLV reports on
    a table in a PostgreSQL server give the key figures of the same log from a CSV file."""
    import json
    import subprocess
    import sys

    frame = rt.sample_transactions(n_customers=3000, seed=1)
    frame.to_csv(tmp_path / "log.csv", index=False)
    ibis.connect(postgres_url).create_table("orders", frame, overwrite=True)
    figures = {}
    for name, data in (("csv", ["--data", str(tmp_path / "log.csv")]),
                       ("postgres", ["--data", postgres_url, "--table", "orders"])):
        out = tmp_path / name
        cli = Path(sys.executable).parent / "retention"
        notebooks = ["-n", "notebooks/cohort_retention_report.ipynb",
                     "-n", "notebooks/clv_breakdown_report.ipynb"]
        done = subprocess.run([str(cli), "report", *data, *notebooks, "-o", str(out),
                               "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        index = json.loads((out / "index.json").read_text())
        figures[name] = {(r["notebook"], k): v for r in index["reports"]
                         for k, v in (r.get("summary") or {}).items()}
    assert figures["csv"] and figures["postgres"] == figures["csv"]
