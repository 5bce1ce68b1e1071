"""Tests of retention.metrics.confidence: Wilson intervals and segment comparisons."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from retention.metrics.cohorts import cohort_table
from retention.metrics.confidence import compare_curves, retention_intervals, wilson_interval

# ---------------------------------------------------------------------------
# wilson_interval
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),  # z² / (n + z²)
        (10, 10, 0.7225, 1.0),  # n / (n + z²)
        (1, 2, 0.0945, 0.9055),
    ],
)
def test_wilson_hand_computed_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)
    assert isinstance(got[0], float)


def test_wilson_edges_are_exact():
    low, high = wilson_interval([0, 10], [10, 10])
    assert low[0] == 0.0 and high[1] == 1.0


def test_wilson_matches_scipy_binomtest():
    for k, n, level in [(8, 10, 0.95), (3, 47, 0.9), (120, 131, 0.99), (0, 5, 0.8)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
        assert wilson_interval(k, n, level) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_matches_statsmodels():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    k, n = np.array([0, 1, 8, 37, 50]), np.array([10, 3, 10, 120, 50])
    for level in (0.8, 0.95, 0.99):
        low, high = proportion.proportion_confint(k, n, alpha=1 - level, method="wilson")
        got = wilson_interval(k, n, level)
        np.testing.assert_allclose(got, (low, high), atol=1e-12)


def test_wilson_nan_where_no_trials_or_missing():
    low, high = wilson_interval(np.array([0.0, np.nan, 3.0]), np.array([0.0, 10.0, 4.0]))
    assert np.isnan(low[:2]).all() and np.isnan(high[:2]).all()
    assert 0 < low[2] < 0.75 < high[2] < 1


def test_wilson_series_in_series_out():
    index = pd.Index(["a", "b"], name="cell")
    low, high = wilson_interval(pd.Series([8, 0], index=index), pd.Series([10, 10], index=index))
    assert isinstance(low, pd.Series) and low.index.equals(index) and high.name == "high"
    low, high = wilson_interval(pd.Series([8, 0], index=index), 10)  # broadcast a scalar
    assert high.index.equals(index)
    with pytest.raises(ValueError, match="different indexes"):
        wilson_interval(pd.Series([1, 2]), pd.Series([3, 4], index=[5, 6]))


@pytest.mark.parametrize(
    ("k", "n", "level", "message"),
    [
        (11, 10, 0.95, r"successes exceeds trials in 1 position\(s\), e.g. 11 of 10"),
        ([1, -1], [5, 5], 0.95, "successes is negative"),
        (1, -2, 0.95, "trials is negative"),
        (1, np.inf, 0.95, "trials is negative or infinite"),
        (1, 2, 95, "level must be a number strictly between 0 and 1"),
        (1, 2, 0.0, "level"),
    ],
)
def test_wilson_bad_input_raises(k, n, level, message):
    with pytest.raises(ValueError, match=message):
        wilson_interval(k, n, level)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 10_000),
    share=st.floats(0, 1),
    factor=st.integers(2, 10),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_properties(n, share, factor, level):
    k = round(share * n)
    p = k / n
    low, high = wilson_interval(k, n, level)
    assert 0.0 <= low <= p <= high <= 1.0
    # the same proportion on more trials gives a strictly narrower interval
    low_more, high_more = wilson_interval(k * factor, n * factor, level)
    assert high_more - low_more < high - low
    # a higher level gives a wider interval
    wider = wilson_interval(k, n, 0.999)
    assert wider[0] <= low and wider[1] >= high


# ---------------------------------------------------------------------------
# Synthetic transaction logs
# ---------------------------------------------------------------------------


def simulate_tx(rates: dict[str, float], n_customers: int, seed: int) -> pd.DataFrame:
    """Customers acquired Jan..Jun 2024, each month after buying again with the rate of
    their channel; data run to 30 September 2024."""
    rng = np.random.default_rng(seed)
    channels = np.array(list(rates))
    channel = channels[rng.integers(len(channels), size=n_customers)]
    cohort = rng.integers(0, 6, size=n_customers)
    months = 9
    rate = np.array([rates[c] for c in channel])
    active = rng.random((n_customers, months)) < rate[:, None]
    offset = np.arange(months)[None, :] - cohort[:, None]
    active = (active & (offset > 0)) | (offset == 0)
    customer, month = np.nonzero(active)
    month_starts = pd.date_range("2024-01-01", periods=months, freq="MS")
    days = pd.to_timedelta(rng.integers(0, 28, size=len(month)), unit="D")
    tx = pd.DataFrame(
        {
            "customer_id": customer,
            "order_date": month_starts[month] + days,
            "revenue": 10.0,
            "channel": channel[customer],
        }
    )
    # one order on the last day, so that September is complete
    last = tx.iloc[:1].assign(order_date=pd.Timestamp("2024-09-30"))
    return pd.concat([tx, last], ignore_index=True)


@pytest.fixture(scope="module")
def segmented_table() -> pd.DataFrame:
    return cohort_table(simulate_tx({"web": 0.3, "store": 0.3}, 3000, seed=1), by="channel")


# ---------------------------------------------------------------------------
# retention_intervals
# ---------------------------------------------------------------------------


def test_retention_intervals_on_a_cohort_table(segmented_table):
    long = segmented_table
    out = retention_intervals(long, level=0.9)
    columns = list(out.columns)
    assert columns[columns.index("retention") + 1 : columns.index("retention") + 3] == [
        "retention_low",
        "retention_high",
    ]
    assert "retention_low" not in long.columns  # input unchanged
    observed = out["observed"]
    assert out.loc[~observed, ["retention_low", "retention_high"]].isna().all().all()
    seen = out[observed]
    assert (seen["retention_low"] <= seen["retention"]).all()
    assert (seen["retention"] <= seen["retention_high"]).all()
    expected = wilson_interval(seen["customers"], seen["cohort_size"], 0.9)
    np.testing.assert_allclose(seen["retention_low"], expected[0])
    np.testing.assert_allclose(seen["retention_high"], expected[1])
    assert out.attrs["interval_method"] == "wilson" and out.attrs["interval_level"] == 0.9
    assert out.attrs["by"] == ["channel"]  # the table's own attrs are kept


def test_retention_intervals_nan_where_unobserved_even_with_a_value():
    long = pd.DataFrame(
        {"cohort_size": [10, 10], "customers": [4.0, 4.0], "observed": [True, False]}
    )
    out = retention_intervals(long)
    assert out["retention_low"].notna().tolist() == [True, False]
    assert list(out.columns[-2:]) == ["retention_low", "retention_high"]


def test_retention_intervals_missing_column_is_named():
    with pytest.raises(ValueError, match=r"'customers'.*cohort_table"):
        retention_intervals(pd.DataFrame({"cohort_size": [3]}))


# ---------------------------------------------------------------------------
# compare_curves
# ---------------------------------------------------------------------------


def make_long(tables: dict, segment: str = "channel") -> pd.DataFrame:
    """Long table from {(segment, cohort): [(size, retained at k=1), ...]}: period 0 at 100%."""
    rows = []
    for (seg, cohort), (size, retained) in tables.items():
        rows.append(
            {
                segment: seg,
                "cohort": cohort,
                "period": 0,
                "cohort_size": size,
                "customers": float(size),
            }
        )
        rows.append(
            {
                segment: seg,
                "cohort": cohort,
                "period": 1,
                "cohort_size": size,
                "customers": float(retained),
            }
        )
    return pd.DataFrame(rows)


def test_compare_single_cohort_is_scaled_pearson_chi_square():
    long = make_long(
        {("a", "2024-01"): (50, 20), ("b", "2024-01"): (70, 42), ("c", "2024-01"): (30, 9)}
    )
    result = compare_curves(long, "channel")
    row = result[result["period"] == 1].iloc[0]
    table = np.array([[20, 30], [42, 28], [9, 21]])
    pearson = stats.chi2_contingency(table, correction=False)
    n = table.sum()
    assert row["statistic"] == pytest.approx(pearson.statistic * (n - 1) / n)
    assert row["dof"] == 2
    assert row["p_value"] == pytest.approx(stats.chi2.sf(row["statistic"], 2))


def test_compare_two_segments_is_mantel_haenszel():
    long = make_long(
        {("a", 1): (200, 60), ("b", 1): (150, 60), ("a", 2): (100, 35), ("b", 2): (120, 54)}
    )
    row = compare_curves(long, "channel").query("period == 1").iloc[0]
    deviation = variance = 0.0
    for (na, xa), (nb, xb) in [((200, 60), (150, 60)), ((100, 35), (120, 54))]:
        n, m = na + nb, xa + xb
        deviation += xa - na * m / n
        variance += na * nb * m * (n - m) / (n**2 * (n - 1))
    assert row["statistic"] == pytest.approx(deviation**2 / variance)
    assert row["dof"] == 1


def test_compare_output_columns_and_pooled_retention():
    long = make_long(
        {("a", 1): (200, 60), ("b", 1): (150, 60), ("a", 2): (100, 35), ("b", 2): (120, 54)}
    )
    result = compare_curves(long, "channel", level=0.9)
    assert list(result.columns) == [
        "period",
        "channel",
        "cohorts",
        "cohort_size",
        "customers",
        "retention",
        "retention_low",
        "retention_high",
        "statistic",
        "dof",
        "p_value",
        "p_adjusted",
    ]
    a = result.query("period == 1 and channel == 'a'").iloc[0]
    assert (a["cohorts"], a["cohort_size"], a["customers"]) == (2, 300, 95)
    assert a["retention"] == pytest.approx(95 / 300)
    assert (a["retention_low"], a["retention_high"]) == pytest.approx(wilson_interval(95, 300, 0.9))
    # offset 0 (everyone active) has nothing to test
    zero = result[result["period"] == 0]
    assert zero["statistic"].isna().all() and (zero["dof"] == 0).all()
    assert result.attrs["periods_tested"] == 1
    assert result.attrs["overall_p_value"] == pytest.approx(a["p_value"])


def test_compare_is_stratified_by_cohort():
    """Same retention within every cohort, different cohort mix: the pooled curves differ
    (Simpson), the stratified test does not."""
    long = make_long(
        {("a", 1): (900, 450), ("b", 1): (100, 50), ("a", 2): (100, 10), ("b", 2): (900, 90)}
    )
    row = compare_curves(long, "channel").query("period == 1")
    assert row["retention"].tolist() == pytest.approx([0.46, 0.14])
    assert row["statistic"].iloc[0] == pytest.approx(0.0)
    assert row["p_value"].iloc[0] == pytest.approx(1.0)


def test_compare_p_values_are_calibrated_under_the_null():
    rng = np.random.default_rng(7)
    sizes = np.array([[40, 60], [80, 30], [25, 25]])  # 3 cohorts x 2 segments
    rates = np.array([0.2, 0.35, 0.5])[:, None]
    p_values = []
    for _ in range(400):
        retained = rng.binomial(sizes, rates)
        tables = {(s, c): (sizes[c, s], retained[c, s]) for c in range(3) for s in range(2)}
        long = make_long(tables)
        p_values.append(compare_curves(long, "channel").query("period == 1")["p_value"].iloc[0])
    rejected = np.mean(np.array(p_values) < 0.05)
    assert 0.025 <= rejected <= 0.08


def test_compare_identical_segments_from_the_same_process(segmented_table):
    result = compare_curves(segmented_table, "channel")
    assert set(result["channel"]) == {"web", "store"}
    assert result.attrs["periods_tested"] == 8
    assert result.attrs["overall_p_value"] > 0.05


def test_compare_clearly_different_segments():
    long = cohort_table(simulate_tx({"web": 0.2, "store": 0.3}, 3000, seed=2), by="channel")
    result = compare_curves(long, "channel")
    assert result.attrs["overall_p_value"] < 0.001
    late = result[result["period"] == 1].set_index("channel")["retention"]
    assert late["store"] > late["web"]


def test_compare_three_segments_and_two_columns(segmented_table):
    long = segmented_table.assign(region=np.where(segmented_table["cohort_size"] % 2, "n", "s"))
    result = compare_curves(long, ["channel", "region"])
    tested = result.dropna(subset=["p_value"])
    n_segments = long[["channel", "region"]].drop_duplicates().shape[0]
    assert (tested["dof"] <= n_segments - 1).all() and (tested["dof"] >= 1).all()


def test_compare_leaves_out_and_counts_partial_cells():
    long = cohort_table(
        simulate_tx({"web": 0.3, "store": 0.3}, 500, seed=3).query("order_date < '2024-09-15'"),
        by="channel",
        partial="flag",
    )
    assert long["partial"].any()
    result = compare_curves(long, "channel")
    assert result.attrs["partial_cells_excluded"] == int(long["partial"].sum())
    full = compare_curves(long[~long["partial"]], "channel")
    pd.testing.assert_frame_equal(result, full, check_like=False)


def test_compare_needs_two_segments_and_the_columns():
    long = make_long({("a", 1): (10, 5)})
    with pytest.raises(ValueError, match="at least two segments"):
        compare_curves(long, "channel")
    with pytest.raises(ValueError, match=r"'plan'"):
        compare_curves(long, "plan")
    with pytest.raises(ValueError, match="by="):
        compare_curves(long, [])
