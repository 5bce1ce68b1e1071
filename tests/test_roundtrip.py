"""Every public table saves: JSON attrs, Parquet and CSV round trips without warnings."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import retention as rt
from retention.metrics.rfm import calibration_and_holdout

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_transactions.csv"


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    """One of each public table, from the sample log."""
    tx = rt.load_transactions(SAMPLE, order="order_id")
    summary = rt.rfm_summary(tx, "D", time_unit="W")
    bgf = rt.BetaGeo().fit(summary)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = rt.GammaGamma().fit(repeat)
    history = rt.customer_history(tx, "Q", segments="channel")
    values = rt.customer_value(summary, bgf, ggf, history=history)
    cal_end = rt.default_calibration_end(tx)
    cal = calibration_and_holdout(tx, cal_end, freq="D", time_unit="W")
    bgf_cal = rt.BetaGeo().fit(
        cal[["frequency_cal", "recency_cal", "T_cal"]].rename(columns=lambda c: c[:-4])
    )
    long = rt.cohort_table(tx, "M")
    out = {
        "load_transactions": tx,
        "period_metrics": rt.period_metrics(tx, "M"),
        "cohort_table": long,
        "cohort_table_by": rt.cohort_table(tx, "M", by="channel", partial="flag"),
        "retention_matrix": rt.retention_matrix(tx, "M"),
        "retention_matrix_average": rt.retention_matrix(long, average=True),
        "pivot_cohorts_revenue": rt.pivot_cohorts(long, "revenue"),
        "weighted_average_retention": rt.weighted_average_retention(long),
        "rfm_summary": summary,
        "calibration_and_holdout": cal,
        "customer_history": history,
        "predict_clv": rt.predict_clv(bgf, ggf, repeat, horizon=12),
        "customer_value": values,
        "value_deciles": rt.value_deciles(values, "clv"),
        "concentration_curve": rt.concentration_curve(values, "clv"),
        "historical_value": rt.historical_value(values, "cohort"),
        "predicted_value": rt.predicted_value(values, "channel"),
        "churn_risk": rt.churn_risk(values),
        "frequency_recency_matrix": rt.frequency_recency_matrix(bgf, 52.0, max_frequency=10),
        "calibration_vs_holdout": rt.calibration_vs_holdout(cal, bgf_cal, max_frequency=5),
        "expected_cumulative_transactions": rt.expected_cumulative_transactions(
            tx, bgf, freq="D", time_unit="W", interval="W", calibration_end=cal_end
        ),
    }
    by_channel = rt.retention_matrix(tx, "M", by="channel")
    out.update({f"retention_matrix[{key}]": m for key, m in by_channel.items()})
    return out


NAMES = [
    "load_transactions", "period_metrics", "cohort_table", "cohort_table_by", "retention_matrix",
    "retention_matrix_average", "pivot_cohorts_revenue", "weighted_average_retention",
    "rfm_summary", "calibration_and_holdout", "customer_history", "predict_clv",
    "customer_value", "value_deciles", "concentration_curve", "historical_value",
    "predicted_value", "churn_risk", "frequency_recency_matrix", "calibration_vs_holdout",
    "expected_cumulative_transactions",
]


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Columns and index a file can hold as they are: periods and objects as text."""
    out = table.copy()
    out.columns = [str(c) for c in out.columns]
    for c in out.columns:
        if isinstance(out[c].dtype, pd.PeriodDtype | pd.CategoricalDtype) or out[c].dtype == object:
            out[c] = out[c].astype(str)
    if isinstance(out.index, pd.PeriodIndex) or out.index.dtype == object:
        out.index = out.index.astype(str)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_attrs_are_json(tables, name):
    table = tables[name]
    text = json.dumps(table.attrs)
    assert json.loads(text) == table.attrs


@pytest.mark.parametrize("name", NAMES)
def test_parquet_round_trip_keeps_values_and_attrs(tables, name, tmp_path):
    table = tables[name]
    path = tmp_path / f"{name}.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table.to_parquet(path)
        back = pd.read_parquet(path)
    assert back.attrs == table.attrs
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False,
        check_index_type=False, check_column_type=False, check_names=False,
        check_categorical=False,
    )


@pytest.mark.parametrize("name", NAMES)
def test_csv_round_trip_keeps_values(tables, name):
    table = _plain(tables[name])
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table.to_csv(buffer)
        buffer.seek(0)
        back = pd.read_csv(buffer, index_col=0)
    assert back.shape == table.shape
    for column in table.columns:
        expected, got = table[column], back[column]
        if pd.api.types.is_bool_dtype(expected):
            assert got.astype(bool).tolist() == expected.tolist(), column
        elif pd.api.types.is_numeric_dtype(expected):
            np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float),
                                       rtol=1e-12, err_msg=column)
        elif pd.api.types.is_datetime64_dtype(expected):
            assert (pd.to_datetime(got) == expected.reset_index(drop=True)
                    .set_axis(got.index)).all(), column
        else:
            assert got.fillna("nan").astype(str).tolist() == expected.tolist(), column


def test_every_retention_matrix_by_segment_saves(tables):
    segments = [name for name in tables if name.startswith("retention_matrix[")]
    assert segments
    for name in segments:
        json.dumps(tables[name].attrs)
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            tables[name].to_parquet(buffer)


def test_loaded_logs_concatenate(tables):
    tx = tables["load_transactions"]
    both = pd.concat([tx, tx])
    assert len(both) == 2 * len(tx)
    assert both.attrs == tx.attrs


def test_excluded_rows_stay_out_of_attrs(tmp_path):
    raw = pd.read_csv(SAMPLE)
    raw.loc[raw.index[:50], "order_date"] = "not a date"
    with pytest.warns(UserWarning, match="excluded 50 invalid rows"):
        tx, report = rt.load_transactions(raw, drop_invalid=True, return_report=True)
    assert len(report.excluded_rows) == 50
    assert tx.attrs["validation"]["rows_excluded"] == 50
    assert "excluded_rows" not in json.dumps(tx.attrs)
    rebuilt = rt.ValidationReport.from_attrs(tx)
    assert (rebuilt.rows_read, rebuilt.rows_kept) == (report.rows_read, report.rows_kept)
    assert str(rebuilt) == str(report)
    tx.to_parquet(tmp_path / "tx.parquet")
    assert pd.read_parquet(tmp_path / "tx.parquet").attrs == tx.attrs
