"""lifecycle and stickiness on hand-built logs, their identities with period_metrics, plots."""

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import retention as rt
from retention.metrics.kpis import period_metrics
from retention.metrics.lifecycle import lifecycle, stickiness
from retention.plotting.lifecycle import plot_lifecycle, plot_stickiness

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_transactions.csv"
FLOWS = ["new", "returning", "resurrected", "dormant", "idle"]


def log(rows):
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "revenue"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"])
    )


# Months Jan..Jun 2024, window=2: active at the end of a month after a purchase in it or in
# the month before.
#   a: Jan, Feb, Mar, Jun -> lost in May, resurrected in Jun
#   b: Jan, Apr           -> lost in Mar, resurrected in Apr, lost in Jun
#   c: Feb, refund in Apr -> lost in Apr (a refund is not a purchase)
#   d: Mar, Jun           -> lost in May, resurrected in Jun
#   e: May, Jun           -> new in May, returning in Jun
# The data end on 15 June: June is partial.
TX = log(
    [
        ("a", "2024-01-03", 10.0),
        ("b", "2024-01-09", 40.0),
        ("a", "2024-02-11", 20.0),
        ("c", "2024-02-20", 5.0),
        ("a", "2024-03-01", 15.0),
        ("d", "2024-03-05", 25.0),
        ("b", "2024-04-02", 30.0),
        ("c", "2024-04-10", -5.0),
        ("e", "2024-05-07", 12.0),
        ("a", "2024-06-01", 30.0),
        ("d", "2024-06-03", 8.0),
        ("e", "2024-06-15", 9.0),
    ]
)
#                new returning resurrected dormant idle
BY_HAND = [
    [2, 0, 0, 0, 0],  # Jan: a, b new
    [1, 1, 0, 0, 1],  # Feb: c new, a returning, b idle
    [1, 1, 0, 1, 1],  # Mar: d new, a returning, b dormant, c idle
    [0, 0, 1, 1, 2],  # Apr: b resurrected, c dormant, a and d idle
    [1, 0, 0, 2, 1],  # May: e new, a and d dormant, b idle
    [0, 1, 2, 1, 0],  # Jun: e returning, a and d resurrected, b dormant
]


def test_lifecycle_by_hand():
    table = lifecycle(TX, "M", window=2)
    assert list(table.index.astype(str)) == [f"2024-0{m}" for m in range(1, 7)]
    assert table[FLOWS].to_numpy().tolist() == BY_HAND
    assert table["active"].tolist() == [2, 2, 2, 1, 1, 3]
    assert table["start_customers"].tolist() == [0, 2, 3, 3, 3, 2]
    assert table["end_customers"].tolist() == [2, 3, 3, 3, 2, 3]
    assert table["partial"].tolist() == [False] * 5 + [True]
    assert table.attrs == {"freq": "M", "window": 2}


def test_start_and_end():
    table = lifecycle(TX, "M", window=2, start="2024-03", end="2024-05")
    assert list(table.index.astype(str)) == ["2024-03", "2024-04", "2024-05"]
    assert table[FLOWS].to_numpy().tolist() == BY_HAND[2:5]
    # later data exist, so May is observed to its end
    assert not table["partial"].any()
    # the history before `start` is used: nobody is new in June but e (new in May)
    assert lifecycle(TX, "M", window=2, start="2024-06")["new"].tolist() == [0]
    # nothing after `end` is used: as if the data ended in April
    assert lifecycle(TX, "M", window=2, end="2024-04-30")[FLOWS].to_numpy().tolist() == BY_HAND[:4]


def assert_identities(tx, freq, window):
    table = lifecycle(tx, freq, window=window)
    kpi = period_metrics(tx, freq, window=window)
    assert table.index.equals(kpi.index)
    assert (table["new"] == kpi["new_customers"]).all()
    assert (table["resurrected"] == kpi["reactivated"]).all()
    assert (table["dormant"] == kpi["lost"]).all()
    assert (table["returning"] + table["resurrected"] == kpi["returning_buyers"]).all()
    assert (table["new"] + table["returning"] + table["resurrected"] == kpi["buyers"]).all()
    assert (table["active"] == kpi["buyers"]).all()
    assert (table["returning"] + table["idle"] + table["dormant"] == kpi["start_customers"]).all()
    assert (table["active"] + table["idle"] == kpi["end_customers"]).all()
    assert (table["partial"] == kpi["partial"]).all()
    assert (table[FLOWS] >= 0).all().all()


@pytest.mark.parametrize(("freq", "window"), [("M", None), ("M", 1), ("W", 4), ("Q", 2)])
def test_identities_on_sample_log(freq, window):
    assert_identities(rt.load_transactions(SAMPLE), freq, window)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.integers(0, 250),
            st.sampled_from([-5.0, 0.0, 10.0, 25.0]),
        ),
        min_size=1,
        max_size=40,
    ),
    freq=st.sampled_from(["W", "M"]),
    window=st.integers(1, 4),
)
def test_identities_on_random_logs(rows, freq, window):
    customers, days, amounts = zip(*rows, strict=True)
    tx = pd.DataFrame(
        {
            "customer_id": list(customers),
            "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(list(days), unit="D"),
            "revenue": list(amounts),
        }
    )
    assert_identities(tx, freq, window)


def test_lifecycle_errors():
    with pytest.raises(ValueError, match=r"'revenue' \(amount=\)"):
        lifecycle(TX.drop(columns="revenue"), "M")
    with pytest.raises(ValueError, match="customer='<your column>'"):
        lifecycle(TX, "M", customer="client")
    with pytest.raises(ValueError, match="window must be"):
        lifecycle(TX, "M", window=0)
    with pytest.raises(ValueError, match="is after end"):
        lifecycle(TX, "M", start="2024-05", end="2024-02")
    with pytest.raises(ValueError, match="no transaction in or before end"):
        lifecycle(TX, "M", end="2023-06")
    with pytest.raises(ValueError, match="not a supported grain"):
        lifecycle(TX, "year")


# Weeks (Monday to Sunday) of January 2024: W01 = 1-7, W02 = 8-14, W03 = 15-21, W04 = 22-28.
#   a: every week -> 4;  b: W01 and twice in W03 -> 2;  c: W02 -> 1;  d: W04 -> 1
#   e: a refund only -> not counted;  f: December only -> outside the window
WEEKS = log(
    [
        ("f", "2023-12-20", 9.0),
        ("a", "2024-01-01", 10.0),
        ("b", "2024-01-07", 10.0),
        ("a", "2024-01-08", 10.0),
        ("c", "2024-01-14", 10.0),
        ("e", "2024-01-10", -4.0),
        ("a", "2024-01-15", 10.0),
        ("b", "2024-01-16", 10.0),
        ("b", "2024-01-21", 10.0),
        ("a", "2024-01-22", 10.0),
        ("d", "2024-01-28", 10.0),
    ]
)


def test_stickiness_by_hand():
    table = stickiness(WEEKS, "W", n_periods=4)
    assert table["active_periods"].tolist() == [1, 2, 3, 4]
    assert table["customers"].tolist() == [2, 1, 0, 1]
    assert table["share"].tolist() == [0.5, 0.25, 0.0, 0.25]
    assert table.attrs == {
        "freq": "W", "n_periods": 4, "start": "2024-W01", "end": "2024-W04", "partial": False
    }
    # the same window given by its bounds
    same = stickiness(WEEKS, "W", start="2024-01-03", end="2024-01-28")
    pd.testing.assert_frame_equal(same, table)


def test_stickiness_window_ends_with_last_complete_period():
    # a Tuesday purchase starts a fifth, incomplete week: by default the window ends before it
    tx = pd.concat([WEEKS, log([("c", "2024-01-30", 5.0)])], ignore_index=True)
    assert stickiness(tx, "W", n_periods=4)["customers"].tolist() == [2, 1, 0, 1]
    explicit = stickiness(tx, "W", n_periods=4, end="2024-01-30")
    # W02..W05: a 3 weeks, b 1, c 2 (W02 and W05), d 1
    assert explicit["customers"].tolist() == [2, 1, 1, 0]
    assert explicit.attrs["start"] == "2024-W02" and explicit.attrs["partial"]


@pytest.mark.parametrize(("freq", "start", "end"), [("W", "2023-10-02", "2023-11-26"),
                                                   ("M", "2023-05", "2023-12")])
def test_stickiness_on_sample_log(freq, start, end):
    tx = rt.load_transactions(SAMPLE)
    assert stickiness(tx, freq)["share"].sum() == pytest.approx(1.0)
    table = stickiness(tx, freq, start=start, end=end)
    assert len(table) == 8
    assert table["share"].sum() == pytest.approx(1.0)
    # every customer who bought in the window is counted once, by their active periods
    period = tx["order_date"].dt.to_period(freq)
    inside = (period >= pd.Period(start, freq)) & (period <= pd.Period(end, freq))
    bought = tx[inside & (tx["revenue"] >= 0)].assign(period=period)
    active = bought.groupby("customer_id")["period"].nunique().value_counts()
    assert table.set_index("active_periods")["customers"].to_dict() == {
        k: int(active.get(k, 0)) for k in range(1, 9)
    }


def test_stickiness_errors():
    with pytest.raises(ValueError, match="not both"):
        stickiness(WEEKS, "W", n_periods=4, start="2024-01-01")
    with pytest.raises(ValueError, match="n_periods must be"):
        stickiness(WEEKS, "W", n_periods=0)
    with pytest.raises(ValueError, match="no 'M' period to its end"):
        stickiness(WEEKS[WEEKS["order_date"] >= "2024-01-01"], "M")
    with pytest.raises(ValueError, match=r"'order_date' \(date=\)"):
        stickiness(WEEKS.rename(columns={"order_date": "day"}), "W")


def test_stickiness_without_buyers_has_nan_shares():
    table = stickiness(WEEKS, "W", start="2023-06-05", end="2023-06-18")
    assert table["customers"].tolist() == [0, 0]
    assert table["share"].isna().all()


def test_plot_lifecycle_bars_and_partial():
    table = lifecycle(TX, "M", window=2)
    ax = plot_lifecycle(table)
    assert len(ax.containers) == 4
    assert len(ax.patches) == 4 * len(table)
    dormant = ax.containers[3]
    assert [-b.get_height() for b in dormant] == table["dormant"].tolist()
    top = ax.containers[2]  # resurrected sits on returning + new
    assert [b.get_y() + b.get_height() for b in top] == table["active"].tolist()
    assert [b.get_hatch() for b in top][-2:] == [None, "//"]
    assert [t.get_text() for t in ax.texts] == ["partial"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Resurrected", "New", "Returning", "Dormant", "Partial period (incomplete data)"
    ]
    assert ax.get_xticklabels()[0].get_text() == "2024-01"
    plt.close(ax.figure)


def test_plot_lifecycle_weekly_labels_and_period_column():
    table = lifecycle(rt.load_transactions(SAMPLE), "W").reset_index()
    _fig, ax = plt.subplots()
    assert plot_lifecycle(table, ax=ax) is ax
    assert len(ax.patches) == 4 * len(table)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(labels) <= 12 and labels[0].count("-W") == 1
    plt.close(ax.figure)


def test_plot_stickiness_bars_and_labels():
    table = stickiness(WEEKS, "W", n_periods=4)
    ax = plot_stickiness(table)
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.texts] == ["50%", "25%", "0%", "25%"]
    assert ax.get_xlabel() == "Active weeks in the window"
    assert "2024-W01 .. 2024-W04" in ax.get_title()
    plt.close(ax.figure)


def test_plots_refuse_bad_tables():
    with pytest.raises(ValueError, match="retention.lifecycle"):
        plot_lifecycle(pd.DataFrame({"new": [1]}))
    with pytest.raises(ValueError, match="no rows"):
        plot_lifecycle(lifecycle(TX, "M", window=2).iloc[:0])
    with pytest.raises(ValueError, match="retention.stickiness"):
        plot_stickiness(pd.DataFrame({"share": [1.0]}))
    with pytest.raises(ValueError, match="not numeric"):
        plot_stickiness(pd.DataFrame({"active_periods": [1], "customers": ["x"], "share": [1.0]}))
