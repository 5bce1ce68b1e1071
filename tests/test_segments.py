"""RFM scores and segments: hand-computed cases, ties, grids, tables, movement and plots."""

from __future__ import annotations

import io
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from retention.metrics.rfm import rfm_summary
from retention.metrics.segments import (
    DEFAULT_SEGMENTS,
    NOT_YET_CUSTOMER,
    default_grid,
    grid_counts,
    rfm_segments,
    segment_grid,
    segment_movement,
    segment_table,
)
from retention.plotting.segments import plot_segment_grid, plot_segment_movement

END = pd.Timestamp("2024-12-31")

# id: (days from the last purchase to END, purchase occasions, net revenue)
SPEC = {
    "c0": (1, 6, 600.0),
    "c1": (3, 5, 500.0),
    "c2": (10, 4, 50.0),
    "c3": (20, 3, 400.0),
    "c4": (40, 2, 300.0),
    "c5": (60, 1, 1000.0),
    "c6": (90, 1, 20.0),
    "c7": (120, 2, 250.0),
    "c8": (200, 1, 10.0),
    "c9": (300, 1, 30.0),
}

# Worked by hand (bins=5, 10 customers: score = 1 + position // 2, positions from worst):
#   R by recency desc:  c9 c8 | c7 c6 | c5 c4 | c3 c2 | c1 c0
#   F by frequency asc (ties by id): c5 c6 | c8 c9 | c4 c7 | c3 c2 | c1 c0, single buyers -> 1
#   M by revenue asc:   c8 c6 | c9 c2 | c7 c4 | c3 c1 | c0 c5
#   FM = (F + M + 1) // 2, segment from the default grid at (R, FM)
EXPECTED = pd.DataFrame(
    {
        "R": [5, 5, 4, 4, 3, 3, 2, 2, 1, 1],
        "F": [5, 5, 4, 4, 3, 1, 1, 3, 1, 1],
        "M": [5, 4, 2, 4, 3, 5, 1, 3, 1, 2],
        "FM": [5, 5, 3, 4, 3, 3, 1, 3, 1, 2],
        "segment": ["Champions", "Champions", "Potential loyalist", "Loyal", "Need attention",
                    "Need attention", "Hibernating", "At risk", "Lost", "Lost"],
    },
    index=pd.Index(list(SPEC), name="customer_id"),
)


def hand_log() -> pd.DataFrame:
    rows = []
    for cid, (recency, occasions, revenue) in SPEC.items():
        last = END - pd.Timedelta(days=recency)
        extra = 50.0 if cid == "c3" else 0.0  # c3 buys 450 and is refunded 50 on another day
        for k in range(occasions):
            rows.append((cid, last - pd.Timedelta(days=7 * k), (revenue + extra) / occasions))
        if cid == "c3":
            rows.append((cid, last - pd.Timedelta(days=3), -50.0))
    rows.append(("c9", END + pd.Timedelta(days=5), 999.0))  # after observation_end
    rows.append(("zz", END - pd.Timedelta(days=30), -15.0))  # refunds only
    cust, date, rev = zip(*rows, strict=True)
    tx = pd.DataFrame({"customer_id": list(cust), "order_date": pd.to_datetime(list(date)),
                       "revenue": list(rev)})
    return tx.sample(frac=1.0, random_state=3).reset_index(drop=True)  # row order must not matter


# ------------------------------------------------------------------------------------------
# scores and segments
# ------------------------------------------------------------------------------------------


def test_hand_computed_scores_and_segments():
    seg = rfm_segments(hand_log(), observation_end=END)
    assert list(seg.index) == list(SPEC)
    assert seg["recency_days"].tolist() == [v[0] for v in SPEC.values()]
    assert seg["frequency"].tolist() == [v[1] for v in SPEC.values()]
    np.testing.assert_allclose(seg["monetary"], [v[2] for v in SPEC.values()])
    got = seg[["R", "F", "M", "FM", "segment"]].assign(segment=seg["segment"].astype(object))
    pd.testing.assert_frame_equal(got, EXPECTED.astype({"segment": object}), check_dtype=False)
    assert list(seg["segment"].cat.categories) == list(DEFAULT_SEGMENTS)


def test_attrs_count_what_was_set_aside_and_are_json():
    seg = rfm_segments(hand_log(), observation_end=END)
    a = seg.attrs
    assert a["n_transactions_after_end"] == 1
    assert a["n_customers_without_purchase"] == 1
    assert a["revenue_without_purchase"] == pytest.approx(-15.0)
    assert a["n_customers"] == 10 and a["bins"] == 5 and a["source"] == "transactions"
    assert pd.Timestamp(a["observation_end"]) == END
    assert a["grid"][4][4] == "Champions" and a["grid"][0][0] == "Lost"
    json.dumps(a)


def test_round_trips_through_parquet_and_csv():
    seg = rfm_segments(hand_log(), observation_end=END)
    buf = io.BytesIO()
    seg.to_parquet(buf)
    back = pd.read_parquet(io.BytesIO(buf.getvalue()))
    pd.testing.assert_frame_equal(back, seg, check_like=True)
    text = seg.to_csv()
    again = pd.read_csv(io.StringIO(text), index_col="customer_id")
    assert again["segment"].tolist() == seg["segment"].astype(str).tolist()


def test_mean_monetary_is_revenue_per_occasion():
    seg = rfm_segments(hand_log(), observation_end=END, monetary="mean")
    np.testing.assert_allclose(seg["monetary"], seg["revenue"] / seg["frequency"])
    assert "per purchase occasion" in seg.attrs["monetary"]


def test_ties_are_broken_by_customer_id_whatever_the_row_order():
    tx = pd.DataFrame({"customer_id": ["d", "b", "a", "c"],
                       "order_date": pd.to_datetime(["2024-01-01"] * 4),
                       "revenue": [10.0] * 4})
    grid = {"Top": ((2, 2), (1, 2)), "Bottom": ((1, 1), (1, 2))}
    first = rfm_segments(tx, bins=2, grid=grid)
    assert first["R"].tolist() == [1, 1, 2, 2]  # a, b | c, d
    assert first["M"].tolist() == [1, 1, 2, 2]
    for seed in range(5):
        again = rfm_segments(tx.sample(frac=1.0, random_state=seed), bins=2, grid=grid)
        pd.testing.assert_frame_equal(again, first)


def test_single_purchase_customers_get_f_1():
    # five one-time buyers: quantiles alone would give F = 1..5
    tx = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5],
                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
                                                     "2024-01-04", "2024-01-05"]),
                       "revenue": [5.0, 4.0, 3.0, 2.0, 1.0]})
    seg = rfm_segments(tx)
    assert seg["F"].tolist() == [1] * 5
    assert seg["R"].tolist() == [1, 2, 3, 4, 5]
    assert seg["M"].tolist() == [5, 4, 3, 2, 1]


def test_same_day_orders_are_one_occasion():
    tx = pd.DataFrame({"customer_id": [1, 1, 2],
                       "order_date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00",
                                                     "2024-01-02 00:00"]),
                       "revenue": [5.0, 6.0, 1.0]})
    seg = rfm_segments(tx)
    assert seg.loc[1, "frequency"] == 1 and seg.loc[1, "F"] == 1
    assert seg.loc[1, "revenue"] == 11.0


def test_summary_input_matches_the_log():
    tx = hand_log()
    from_log = rfm_segments(tx, observation_end=END)
    summary = rfm_summary(tx, observation_end=END)
    from_summary = rfm_segments(summary)
    np.testing.assert_allclose(from_summary["recency_days"], from_log["recency_days"])
    assert from_summary["frequency"].tolist() == from_log["frequency"].tolist()
    assert from_summary["R"].tolist() == from_log["R"].tolist()
    assert from_summary.attrs["source"] == "summary"
    assert from_summary["revenue"].isna().all()
    # weeks: recency in days = (T - recency) * 7
    weekly = rfm_summary(tx, observation_end=END, time_unit="W")
    np.testing.assert_allclose(rfm_segments(weekly)["recency_days"], from_log["recency_days"])


def test_summary_without_time_unit_is_refused():
    summary = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 5.0], "T": [10.0, 12.0],
                            "monetary_value": [0.0, 3.0]})
    with pytest.raises(ValueError, match="time_unit"):
        rfm_segments(summary)
    out = rfm_segments(summary, time_unit="D")
    assert out["frequency"].tolist() == [1, 3]
    assert out["recency_days"].tolist() == [10.0, 7.0]


def test_summary_with_recency_above_t_is_refused():
    summary = pd.DataFrame({"frequency": [1], "recency": [9.0], "T": [5.0],
                            "monetary_value": [3.0]}, index=["x"])
    with pytest.raises(ValueError, match=r"recency > T, e.g. at rows \['x'\]"):
        rfm_segments(summary, time_unit="D")


def test_bad_inputs():
    tx = hand_log()
    with pytest.raises(ValueError, match="monetary must be"):
        rfm_segments(tx, monetary="sum")
    with pytest.raises(ValueError, match="bins"):
        rfm_segments(tx, bins=1)
    with pytest.raises(ValueError, match="defined on 5 scores"):
        rfm_segments(tx, bins=4)
    with pytest.raises(ValueError, match="before the first transaction"):
        rfm_segments(tx, observation_end="2000-01-01")
    with pytest.raises(ValueError, match="neither a transaction log"):
        rfm_segments(tx.rename(columns={"order_date": "day"}))
    with pytest.raises(TypeError, match="DataFrame"):
        rfm_segments([1, 2, 3])


# ------------------------------------------------------------------------------------------
# grids
# ------------------------------------------------------------------------------------------


def test_default_grid_covers_every_cell_once_with_all_segments():
    g = segment_grid()
    assert g.shape == (5, 5)
    assert set(g.to_numpy().ravel()) == set(DEFAULT_SEGMENTS)
    assert g.attrs["segments"] == list(DEFAULT_SEGMENTS)
    assert (g.loc[5, 1], g.loc[4, 1], g.loc[3, 3], g.loc[1, 5]) == (
        "New", "Promising", "Need attention", "Can't lose them")


def test_grid_forms_agree():
    rect = segment_grid(default_grid())
    matrix = segment_grid(rect)  # the table form round-trips
    pd.testing.assert_frame_equal(matrix, rect)
    mapping = {row.segment: ((row.r_min, row.r_max), (row.fm_min, row.fm_max))
               for row in default_grid().itertuples()}
    pd.testing.assert_frame_equal(segment_grid(mapping), rect)


def test_custom_grid():
    grid = {"Active": ((3, 5), (1, 5)), "Inactive": [((1, 2), (1, 3)), ((1, 2), (4, 5))]}
    seg = rfm_segments(hand_log(), observation_end=END, grid=grid)
    expected = np.where(EXPECTED["R"] >= 3, "Active", "Inactive")
    assert seg["segment"].astype(str).tolist() == expected.tolist()
    assert list(seg["segment"].cat.categories) == ["Active", "Inactive"]
    table = segment_table(seg)
    assert table["segment"].tolist() == ["Active", "Inactive"]


def test_custom_grid_with_other_bins():
    names = pd.DataFrame([["Low"] * 3, ["Mid"] * 3, ["High"] * 3], index=[1, 2, 3],
                         columns=[1, 2, 3])
    seg = rfm_segments(hand_log(), observation_end=END, bins=3, grid=names)
    assert seg["R"].between(1, 3).all()
    # 10 customers in 3 scores: positions 0-3 -> 1, 4-6 -> 2, 7-9 -> 3
    assert (seg["R"].value_counts().sort_index().tolist()) == [4, 3, 3]
    assert seg.loc["c0", "segment"] == "High" and seg.loc["c9", "segment"] == "Low"


def test_grid_with_a_gap_names_the_cells():
    grid = default_grid()
    grid = grid[grid["segment"] != "New"]
    with pytest.raises(ValueError, match=r"leaves 1 \(R, FM\) cell\(s\) without a segment: "
                                         r"\[\(5, 1\)\]"):
        rfm_segments(hand_log(), grid=grid)


def test_grid_with_an_overlap_names_the_cells_and_segments():
    grid = {"A": ((1, 5), (1, 5)), "B": ((5, 5), (5, 5))}
    with pytest.raises(ValueError, match=r"1 \(R, FM\) cell\(s\) more than one segment: "
                                         r"\(5, 5\): \['A', 'B'\]"):
        segment_grid(grid)


def test_grid_bounds_and_names_are_checked():
    with pytest.raises(ValueError, match="R scores 0..5 of segment 'A'"):
        segment_grid({"A": ((0, 5), (1, 5))})
    with pytest.raises(ValueError, match="FM scores 4..2"):
        segment_grid({"A": ((1, 5), (4, 2))})
    with pytest.raises(ValueError, match="non-empty strings"):
        segment_grid({"": ((1, 5), (1, 5))})
    table = segment_grid().astype(object)
    table.loc[2, 3] = None
    with pytest.raises(ValueError, match=r"\[\(2, 3\)\]"):
        segment_grid(table)
    with pytest.raises(ValueError, match="missing column"):
        segment_grid(pd.DataFrame({"segment": ["A"], "r_min": [1]}))
    with pytest.raises(TypeError, match="grid must be"):
        segment_grid(42)


# ------------------------------------------------------------------------------------------
# segment table
# ------------------------------------------------------------------------------------------


def test_segment_table_counts_shares_retention_and_value():
    tx = hand_log()
    seg = rfm_segments(tx, observation_end=END)
    later = pd.DataFrame({"customer_id": ["c0", "c0", "c8", "c5", "new"],
                          "order_date": pd.to_datetime(["2025-01-05", "2025-01-09", "2025-02-01",
                                                        "2025-03-01", "2025-01-10"]),
                          "revenue": [5.0, 5.0, 7.0, -3.0, 9.0]})  # c5 only refunds: not active
    values = pd.DataFrame({"clv": [100.0] * 9}, index=list(SPEC)[:9])  # c9 has no prediction
    table = segment_table(seg, retention=later, values=values)
    assert table["segment"].tolist() == list(DEFAULT_SEGMENTS)
    t = table.set_index("segment")
    assert t["customers"].sum() == 10
    assert t.loc["Champions", "customers"] == 2 and t.loc["New", "customers"] == 0
    assert t["share_of_customers"].sum() == pytest.approx(1.0)
    assert t["share_of_revenue"].sum() == pytest.approx(1.0)
    assert t.loc["Champions", "revenue"] == pytest.approx(1100.0)
    assert t.loc["Champions", "retained"] == 1 and t.loc["Champions", "retention"] == 0.5
    assert t.loc["Lost", "retention"] == 0.5  # c8 came back, c9 did not
    assert t.loc["Need attention", "retention"] == 0.0  # c5's refund is not a purchase
    assert np.isnan(t.loc["New", "retention"])
    assert t.loc["Lost", "clv"] == 100.0 and t.loc["Lost", "clv_per_customer"] == 100.0
    assert t["share_of_clv"].sum() == pytest.approx(1.0)
    assert table.attrs["n_without_value"] == 1
    assert table.attrs["retention_window_start"].startswith("2025-01-01")


def test_segment_table_retention_from_the_full_log_and_a_window():
    tx = hand_log()
    seg = rfm_segments(tx, observation_end=END)
    table = segment_table(seg, retention=tx).set_index("segment")  # c9 bought on END + 5
    assert table["retained"].sum() == 1 and table.loc["Lost", "retained"] == 1
    with pytest.raises(ValueError, match="window_end"):
        segment_table(seg, retention=tx, window_end="2024-06-01")
    with pytest.raises(ValueError, match="no purchase after"):
        segment_table(seg, retention=tx, window_end="2025-01-02")


def test_segment_table_retention_as_series_or_ids():
    seg = rfm_segments(hand_log(), observation_end=END)
    flags = pd.Series(seg.index.isin(["c0", "c1"]), index=seg.index)
    a = segment_table(seg, retention=flags)
    b = segment_table(seg, retention={"c0", "c1"})
    pd.testing.assert_frame_equal(a, b)
    assert a.set_index("segment").loc["Champions", "retention"] == 1.0
    with pytest.raises(ValueError, match="lacks 9 customer"):
        segment_table(seg, retention=flags.iloc[:1])
    with pytest.raises(ValueError, match="boolean"):
        segment_table(seg, retention=flags.astype(int))


def test_segment_table_errors():
    seg = rfm_segments(hand_log(), observation_end=END)
    with pytest.raises(ValueError, match="missing column"):
        segment_table(seg.drop(columns="segment"))
    with pytest.raises(ValueError, match="shares no customer"):
        segment_table(seg, values=pd.DataFrame({"clv": [1.0]}, index=["nobody"]))


def test_grid_counts_sum_to_the_customers():
    seg = rfm_segments(hand_log(), observation_end=END)
    cells = grid_counts(seg)
    assert len(cells) == 25 and cells["customers"].sum() == 10
    assert cells.set_index(["R", "FM"]).loc[(5, 5), "customers"] == 2


# ------------------------------------------------------------------------------------------
# movement
# ------------------------------------------------------------------------------------------

R_ONLY = {"Good": ((2, 2), (1, 2)), "Bad": ((1, 1), (1, 2))}


def movement_log() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["A", "A", "B", "C"],
        "order_date": pd.to_datetime(["2024-01-05", "2024-03-20", "2024-01-25", "2024-03-01"]),
        "revenue": [10.0, 10.0, 10.0, 10.0],
    })


def test_movement_hand_computed():
    # start 01-31: A recency 26 (R 1, Bad), B 6 (R 2, Good).
    # end 03-31: B 66, C 30, A 11 -> positions 0, 1, 2 of 3 -> R 1, 1, 2: A Good, B and C Bad.
    mv = segment_movement(movement_log(), "2024-01-31", "2024-03-31", bins=2, grid=R_ONLY)
    c = mv.customers
    assert c["segment_start"].astype(str).tolist() == ["Bad", "Good", NOT_YET_CUSTOMER]
    assert c["segment_end"].astype(str).tolist() == ["Good", "Bad", "Bad"]
    assert c["R_start"].tolist() == [1, 2, 0] and c["R_end"].tolist() == [2, 1, 1]
    t = mv.transitions.astype({"segment_start": str, "segment_end": str})
    assert t[["segment_start", "segment_end", "customers"]].values.tolist() == [
        ["Good", "Bad", 1], ["Bad", "Good", 1], [NOT_YET_CUSTOMER, "Bad", 1]]
    assert list(mv.moved("Good", "Bad").index) == ["B"]
    assert mv.moved("Good", "Good").empty
    m = mv.matrix()
    assert m.loc["Bad", "Good"] == 1 and m.loc["Good", "Good"] == 0
    assert m.to_numpy().sum() == 3
    assert c.attrs["n_new_customers"] == 1


def test_movement_shares_sum_to_one_per_start_segment():
    rng = np.random.default_rng(4)
    n = 400
    tx = pd.DataFrame({"customer_id": rng.integers(0, 80, n),
                       "order_date": pd.Timestamp("2024-01-01")
                       + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
                       "revenue": rng.gamma(2.0, 20.0, n)})
    mv = segment_movement(tx, "2024-06-30", "2024-10-31")
    sums = mv.transitions.groupby("segment_start", observed=True)["share_of_start"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    assert mv.transitions["customers"].sum() == len(mv.customers)


def test_movement_dates_are_checked():
    with pytest.raises(ValueError, match="start .* must be a day before end"):
        segment_movement(movement_log(), "2024-03-31", "2024-01-31")


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------


@st.composite
def logs(draw):
    n = draw(st.integers(1, 40))
    customers = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 60), min_size=n, max_size=n))
    revenue = draw(st.lists(st.sampled_from([-5.0, 0.0, 1.0, 2.5, 10.0, 40.0]),
                            min_size=n, max_size=n))
    revenue[0] = abs(revenue[0]) + 1.0  # at least one purchase
    return pd.DataFrame({"customer_id": customers,
                         "order_date": pd.Timestamp("2024-01-01")
                         + pd.to_timedelta(days, unit="D"),
                         "revenue": revenue})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tx=logs(), bins=st.sampled_from([2, 3, 5, 7]))
def test_properties(tx, bins):
    grid = None
    if bins != 5:
        grid = {"High": ((bins // 2 + 1, bins), (1, bins)), "Low": ((1, bins // 2), (1, bins))}
    seg = rfm_segments(tx, bins=bins, grid=grid)
    buyers = tx.loc[tx["revenue"] >= 0, "customer_id"].unique()
    assert sorted(seg.index) == sorted(buyers)
    for col in ("R", "F", "M", "FM"):
        assert seg[col].between(1, bins).all()
    # quantiles: no score holds more than ceil(n / bins) customers (R and M)
    n = len(seg)
    for col in ("R", "M"):
        assert seg[col].value_counts().max() <= -(-n // bins)
    assert (seg.loc[seg["frequency"] == 1, "F"] == 1).all()
    # every customer in exactly one segment of the grid
    assert seg["segment"].notna().all()
    assert set(seg["segment"]) <= set(seg["segment"].cat.categories)
    # R is higher for more recent customers, never lower
    # (ties: the customer whose id sorts first gets the lower-or-equal score)
    order = seg.rename_axis("id").reset_index().sort_values(["recency_days", "id"],
                                                            ascending=[True, False])
    assert (np.diff(order["R"].to_numpy()) <= 0).all()
    table = segment_table(seg)
    assert table["customers"].sum() == n
    assert grid_counts(seg)["customers"].sum() == n


# ------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------


def test_plot_segment_grid_annotates_counts_and_names():
    seg = rfm_segments(hand_log(), observation_end=END)
    fig, ax = plt.subplots()
    out = plot_segment_grid(seg, ax=ax)
    assert out is ax
    names = [t.get_text() for t in ax.texts if t.get_gid() == "segment-name"]
    assert len(names) == len(DEFAULT_SEGMENTS)  # every default segment is one rectangle
    counts = [t.get_text() for t in ax.texts if t.get_gid() == "cell-count"]
    assert len(counts) == 25 and "2 · 20.0%" in counts
    assert ax.get_title() == "Customers by RFM segment (n=10)"
    plt.close(fig)
    ax = plot_segment_grid(grid_counts(seg), annotate="count", title="")
    assert ax.get_title() == ""
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="annotate"):
        plot_segment_grid(seg, annotate="all")
    with pytest.raises(ValueError, match="expects rfm_segments output"):
        plot_segment_grid(pd.DataFrame({"x": [1]}))


def test_plot_segment_grid_custom_palette_and_grid():
    grid = segment_grid({"Active": ((3, 5), (1, 5)), "Inactive": ((1, 2), (1, 5))})
    ax = plot_segment_grid(grid, palette={"Active": "green", "Inactive": "grey"})
    assert sorted(t.get_text() for t in ax.texts) == ["Active", "Inactive"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="no colour"):
        plot_segment_grid(grid, palette={"Active": "green"})


def test_plot_segment_movement():
    mv = segment_movement(movement_log(), "2024-01-31", "2024-03-31", bins=2, grid=R_ONLY)
    fig, ax = plt.subplots()
    assert plot_segment_movement(mv, ax=ax) is ax
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["Good  (n=1)", "Bad  (n=1)", f"{NOT_YET_CUSTOMER}  (n=1)"]
    assert sorted(t.get_text() for t in ax.texts) == ["100%", "100%", "100%"]
    plt.close(fig)
    ax = plot_segment_movement(mv.transitions, normalize=False)
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "1"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="missing column"):
        plot_segment_movement(pd.DataFrame({"a": [1]}))
