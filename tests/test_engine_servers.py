"""The engine-server fixtures give real, working PostgreSQL and Spark backends.

Each backend gets the same small order log (naive ``datetime64[ns]`` timestamps, including a
wall-clock time that does not exist in US/EU daylight-saving zones) and must return the same
values and the same calendar arithmetic as pandas.
"""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd
import pytest

ibis = pytest.importorskip("ibis")

BACKENDS = [
    pytest.param("postgres_backend", marks=pytest.mark.postgres, id="postgres"),
    pytest.param("spark_backend", marks=pytest.mark.spark, id="spark"),
]


def _orders(unit: str = "ns") -> pd.DataFrame:
    """The order log; ``order_date`` is naive ``datetime64[<unit>]``."""
    return pd.DataFrame({
        "customer_id": [1, 1, 2, 2, 2, 3],
        "order_date": pd.to_datetime([
            "2024-01-01 00:00:00",         # a Monday, midnight
            "2024-01-07 23:59:59",         # a Sunday, last second
            "2024-02-29 12:34:56.789",     # leap day, milliseconds
            "2024-03-10 02:30:00",         # inside the US spring-forward gap
            "2024-03-31 02:30:00",         # inside the EU spring-forward gap
            "1969-12-31 23:00:00",         # before the epoch
        ], format="ISO8601").astype(f"datetime64[{unit}]"),
        "revenue": [10.0, 5.5, 3.0, 7.25, 1.0, 2.0],
    })


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


@pytest.fixture
def orders_table(backend: Any) -> Any:
    return backend.create_table(_name("orders"), _orders())


# --------------------------------------------------------------------------- the servers


def test_postgres_url_is_a_live_loopback_server(postgres_url: str) -> None:
    assert postgres_url.startswith("postgres://retention@127.0.0.1:")
    con = ibis.connect(postgres_url)
    try:
        with con.raw_sql("SELECT version(), current_setting('TimeZone')") as cur:
            version, zone = cur.fetchone()
        assert version.startswith("PostgreSQL ")
        assert zone == "UTC"
        assert con.execute(ibis.literal(41) + 1) == 42
    finally:
        con.disconnect()


def test_markers_follow_the_fixtures(request: pytest.FixtureRequest, postgres_url: str) -> None:
    assert request.node.get_closest_marker("postgres") is not None
    assert request.node.get_closest_marker("spark") is None


def test_spark_session_is_local_and_utc(spark_session: Any, spark_backend: Any) -> None:
    conf = spark_session.conf
    assert spark_session.sparkContext.master == "local[2]"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark_session.sql("SELECT 40 + 2 AS x").collect()[0].x == 42
    assert spark_backend.execute(ibis.literal(41) + 1) == 42


# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize("unit", ["ns", "us"])
def test_table_round_trip_keeps_values_and_wall_clock(backend: Any, unit: str) -> None:
    expected = _orders(unit)
    table = backend.create_table(_name("round_trip"), expected)
    assert table.schema()["order_date"].is_timestamp()
    assert table.schema()["order_date"].timezone is None
    got = table.order_by("order_date").execute()
    # PostgreSQL returns datetime64[us], Spark datetime64[ns]: the values are what matters
    expected = expected.astype({"order_date": "datetime64[ns]"})
    expected = expected.sort_values("order_date", ignore_index=True)
    pd.testing.assert_series_equal(got["order_date"].astype("datetime64[ns]"),
                                   expected["order_date"])
    pd.testing.assert_series_equal(got["revenue"], expected["revenue"])
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()


def test_group_by_matches_pandas(orders_table: Any) -> None:
    t = orders_table
    got = (t.group_by("customer_id")
           .agg(orders=t.count(), revenue=t.revenue.sum(), first=t.order_date.min())
           .order_by("customer_id").execute())
    want = (_orders().groupby("customer_id")
            .agg(orders=("revenue", "size"), revenue=("revenue", "sum"),
                 first=("order_date", "min"))
            .reset_index())
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["orders"].tolist() == want["orders"].tolist()
    assert got["revenue"].tolist() == pytest.approx(want["revenue"].tolist())
    assert got["first"].astype("datetime64[ns]").tolist() == want["first"].tolist()


def test_postgres_stores_naive_timestamps_without_time_zone(postgres_backend: Any) -> None:
    name = _name("naive")
    postgres_backend.create_table(name, _orders())
    with postgres_backend.raw_sql(
        "SELECT data_type FROM information_schema.columns "
        f"WHERE table_name = '{name}' AND column_name = 'order_date'"
    ) as cur:
        assert cur.fetchone()[0] == "timestamp without time zone"
    postgres_backend.drop_table(name)


def test_spark_create_data_frame_view_keeps_wall_clock(spark_session: Any,
                                                      spark_backend: Any) -> None:
    name = _name("orders_view")
    spark_session.createDataFrame(_orders()).createOrReplaceTempView(name)
    t = spark_backend.table(name)
    assert spark_session.table(name).schema["order_date"].dataType.typeName() == "timestamp"
    as_text = spark_session.sql(
        f"SELECT CAST(order_date AS STRING) AS s FROM {name} ORDER BY order_date"
    ).collect()
    assert as_text[0].s == "1969-12-31 23:00:00"
    assert as_text[4].s == "2024-03-10 02:30:00"
    got = t.order_by("order_date").order_date.execute().astype("datetime64[ns]")
    assert got.tolist() == sorted(_orders()["order_date"].tolist())


# --------------------------------------------------------------------------- calendar arithmetic


def test_month_and_week_truncation(orders_table: Any) -> None:
    t = orders_table.order_by("order_date")
    got = t.select(month=t.order_date.truncate("M"), week=t.order_date.truncate("W"),
                   week_of_date=t.order_date.date().truncate("W")).execute()
    dates = _orders()["order_date"].sort_values(ignore_index=True)
    monday = dates.dt.normalize() - pd.to_timedelta(dates.dt.day_of_week, unit="D")
    month_start = dates.dt.to_period("M").dt.start_time
    assert got["month"].astype("datetime64[ns]").tolist() == month_start.tolist()
    # weeks start on Monday (ISO) on both servers
    assert got["week"].astype("datetime64[ns]").tolist() == monday.tolist()
    assert got["week_of_date"].astype("datetime64[ns]").tolist() == monday.tolist()


def test_epoch_days_and_day_differences_are_integers(orders_table: Any) -> None:
    t = orders_table.order_by("order_date")
    start = ibis.date("2023-12-25")
    got = t.select(epoch=t.order_date.date().epoch_days(),
                   delta=t.order_date.date().delta(start, unit="day"),
                   dow=t.order_date.day_of_week.index()).execute()
    dates = _orders()["order_date"].sort_values(ignore_index=True).dt.normalize()
    epoch = (dates - pd.Timestamp("1970-01-01")).dt.days
    assert pd.api.types.is_integer_dtype(got["epoch"])
    assert pd.api.types.is_integer_dtype(got["delta"])
    assert got["epoch"].tolist() == epoch.tolist()
    assert got["delta"].tolist() == (epoch - (pd.Timestamp("2023-12-25")
                                              - pd.Timestamp("1970-01-01")).days).tolist()
    assert got["dow"].tolist() == dates.dt.day_of_week.tolist()  # Monday = 0
