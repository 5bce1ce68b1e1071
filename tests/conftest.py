"""Shared test configuration and the CDNOW fixtures of the model tests."""

from pathlib import Path

import matplotlib
import pandas as pd
import pytest

# plots render off-screen in this process; notebook kernels keep their inline backend
matplotlib.use("Agg")

# real PostgreSQL and Spark servers for the cross-engine tests (started when a test asks)
pytest_plugins = ["engine_servers"]

# notebooks under tests/data are fixtures that the report tests execute themselves
collect_ignore_glob = ["data/*"]

#: Real validation data beside the project (``../shared``); tests that need it skip without it.
CDNOW = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow"


@pytest.fixture(scope="session")
def _cdnow_sample_log() -> pd.DataFrame:
    path = CDNOW / "CDNOW_sample.txt"
    if not path.exists():
        pytest.skip("CDNOW data (../shared/data/cdnow) not available")
    raw = pd.read_csv(path, sep=r"\s+", header=None,
                      names=["customer_id", "sample_id", "date", "cds", "revenue"])
    return pd.DataFrame({"customer_id": raw["customer_id"],
                         "order_date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
                         "revenue": raw["revenue"].astype(float)})


@pytest.fixture
def cdnow_sample_log(_cdnow_sample_log: pd.DataFrame) -> pd.DataFrame:
    """The CDNOW 1/10 sample (2,357 customers) in the canonical schema (a fresh copy)."""
    return _cdnow_sample_log.copy()


@pytest.fixture(scope="session")
def _cdnow_summary(_cdnow_sample_log: pd.DataFrame) -> pd.DataFrame:
    from retention.metrics.rfm import rfm_summary

    return rfm_summary(_cdnow_sample_log, freq="D", observation_end="1997-09-30", time_unit="W")


@pytest.fixture
def cdnow_summary(_cdnow_summary: pd.DataFrame) -> pd.DataFrame:
    """The published calibration summary of the sample: weeks, up to 1997-09-30 (a copy)."""
    return _cdnow_summary.copy()
