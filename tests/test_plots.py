"""Tests of retention.plotting.cohorts, asserting on the contents of the returned Axes."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.collections import QuadMesh

from retention.plotting.cohorts import (
    plot_cohort_heatmap,
    plot_cumulative_revenue,
    plot_layer_cake,
    plot_retention_curves,
)

plt.switch_backend("Agg")  # headless: no window opens, figures render off-screen


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------------------
# Hand-built inputs
# ---------------------------------------------------------------------------

COHORTS = pd.period_range("2024-01", periods=3, freq="M", name="cohort")
SIZES = pd.Series([120, 95, 80], index=COHORTS, name="cohort_size")


def make_matrix(with_sizes: bool = True, with_average: bool = False) -> pd.DataFrame:
    """3 cohorts x 3 periods, triangle of unobservable cells."""
    m = pd.DataFrame(
        [[1.0, 0.40, 0.25], [1.0, 0.50, np.nan], [1.0, np.nan, np.nan]],
        index=COHORTS,
        columns=pd.Index([0, 1, 2], name="period"),
    )
    sizes = SIZES.copy()
    if with_average:
        avg = pd.DataFrame(
            [[1.0, (0.40 * 120 + 0.50 * 95) / 215, 0.25]],
            index=["weighted average"],
            columns=m.columns,
        )
        m = pd.concat([m, avg])
        m.index.name = "cohort"
        sizes = pd.concat([sizes, pd.Series([295], index=["weighted average"])])
    if with_sizes:
        m.attrs["cohort_size"] = sizes
    return m


def make_long(segment: str | None = None) -> pd.DataFrame:
    """Long cohort table matching make_matrix, with customers, revenue and cumulative revenue."""
    rows = []
    last = COHORTS[-1]
    customers = {(0, 0): 120, (0, 1): 48, (0, 2): 30, (1, 0): 95, (1, 1): 47.5, (2, 0): 80}
    revenue = {(0, 0): 6000, (0, 1): 2400, (0, 2): 1200, (1, 0): 3800, (1, 1): 1900, (2, 0): 4000}
    for i, cohort in enumerate(COHORTS):
        size = int(SIZES.iloc[i])
        cumulative = 0.0
        for k in range(3):
            observed = cohort + k <= last
            cust = customers.get((i, k), np.nan)
            rev = revenue.get((i, k), np.nan)
            cumulative = cumulative + rev / size if observed else np.nan
            rows.append(
                {
                    "cohort": cohort,
                    "period": k,
                    "calendar_period": cohort + k,
                    "cohort_size": size,
                    "customers": cust,
                    "retention": cust / size if observed else np.nan,
                    "orders": cust,
                    "revenue": rev,
                    "revenue_retention": rev / revenue[(i, 0)] if observed else np.nan,
                    "cumulative_revenue_per_customer": cumulative,
                    "observed": observed,
                }
            )
    long = pd.DataFrame(rows)
    if segment is not None:
        long.insert(0, "channel", segment)
    return long


def annotation_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def mesh_of(ax) -> QuadMesh:
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh


def line_by_label(ax, label):
    (line,) = [ln for ln in ax.lines if ln.get_label() == label]
    return line


# ---------------------------------------------------------------------------
# plot_cohort_heatmap
# ---------------------------------------------------------------------------


def test_heatmap_annotations_are_percentages_of_observed_cells():
    ax = plot_cohort_heatmap(make_matrix())
    assert annotation_texts(ax) == ["100%", "40%", "25%", "100%", "50%", "100%"]


def test_heatmap_unobservable_cells_are_masked_not_zero():
    ax = plot_cohort_heatmap(make_matrix())
    array = mesh_of(ax).get_array()
    mask = np.ma.getmaskarray(array).reshape(3, 3)
    expected = np.array([[False, False, False], [False, False, True], [False, True, True]])
    np.testing.assert_array_equal(mask, expected)
    assert "0%" not in annotation_texts(ax)
    # Texts sit only in observable cells (cell centres are at x + .5, y + .5).
    positions = {(t.get_position()[1] - 0.5, t.get_position()[0] - 0.5) for t in ax.texts}
    assert positions == {(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)}


def test_heatmap_tick_labels_show_cohort_and_size():
    ax = plot_cohort_heatmap(make_matrix())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2024-01  (n=120)", "2024-02  (n=95)", "2024-03  (n=80)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert ax.get_xlabel() == "Periods since first purchase"
    assert ax.get_ylabel() == "Acquisition cohort"
    assert all(t.get_rotation() == 0 for t in ax.get_yticklabels())


def test_heatmap_without_sizes_shows_plain_labels():
    ax = plot_cohort_heatmap(make_matrix(with_sizes=False))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-03"]
    ax = plot_cohort_heatmap(make_matrix(), show_sizes=False)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2024-01", "2024-02", "2024-03"]


def test_heatmap_sizes_use_thousands_separator_and_weekly_labels_are_iso_weeks():
    weeks = pd.period_range("2024-01-01", periods=2, freq="W", name="cohort")
    m = pd.DataFrame([[1.0, 0.3], [1.0, np.nan]], index=weeks, columns=[0, 1])
    m.attrs["cohort_size"] = pd.Series([1234, 56], index=weeks)
    ax = plot_cohort_heatmap(m)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2024-W01  (n=1,234)", "2024-W02  (n=56)"]


def test_heatmap_colorbar_ticks_are_percents():
    ax = plot_cohort_heatmap(make_matrix())
    ax.figure.canvas.draw()
    cbar = mesh_of(ax).colorbar
    labels = [t.get_text() for t in cbar.ax.get_yticklabels() if t.get_text()]
    assert labels and all(label.endswith("%") for label in labels)
    assert "0%" in labels


def test_heatmap_vmax_ignores_period_zero_by_default():
    ax = plot_cohort_heatmap(make_matrix())
    norm = mesh_of(ax).norm
    assert norm.vmin == 0
    assert norm.vmax == pytest.approx(0.50)
    ax = plot_cohort_heatmap(make_matrix(), vmax=1.0, vmin=0.2)
    assert (mesh_of(ax).norm.vmin, mesh_of(ax).norm.vmax) == (0.2, 1.0)


def test_heatmap_average_row_is_separated_and_bold():
    ax = plot_cohort_heatmap(make_matrix(with_average=True))
    separators = [ln for ln in ax.lines if ln.get_gid() == "summary-separator"]
    assert len(separators) == 1
    assert set(separators[0].get_ydata()) == {3}
    labels = ax.get_yticklabels()
    assert labels[-1].get_text() == "weighted average  (n=295)"
    assert labels[-1].get_fontweight() == "bold"
    assert labels[0].get_fontweight() != "bold"
    assert annotation_texts(ax)[-3:] == ["100%", "44%", "25%"]


def test_heatmap_without_average_row_has_no_separator():
    ax = plot_cohort_heatmap(make_matrix())
    assert not [ln for ln in ax.lines if ln.get_gid() == "summary-separator"]


def test_heatmap_revenue_retention_above_one_and_currency_format():
    m = make_matrix() * 1.2
    ax = plot_cohort_heatmap(m)
    assert annotation_texts(ax)[:2] == ["120%", "48%"]
    money = make_matrix() * 1000
    ax = plot_cohort_heatmap(money, fmt=",.0f")
    assert annotation_texts(ax) == ["1,000", "400", "250", "1,000", "500", "1,000"]
    ax.figure.canvas.draw()
    cbar_labels = [t.get_text() for t in mesh_of(ax).colorbar.ax.get_yticklabels()]
    assert not any(label.endswith("%") for label in cbar_labels)


def test_heatmap_uses_given_axes_and_passes_kwargs():
    fig, ax = plt.subplots()
    out = plot_cohort_heatmap(make_matrix(), ax=ax, cbar=False, linewidths=2, title="T")
    assert out is ax
    assert len(fig.axes) == 1  # no colour bar
    assert mesh_of(ax).get_linewidth()[0] == 2
    assert ax.get_title() == "T"


def test_heatmap_annot_false_and_user_mask():
    ax = plot_cohort_heatmap(make_matrix(), annot=False)
    assert annotation_texts(ax) == []
    mask = np.zeros((3, 3), dtype=bool)
    mask[0, 0] = True
    ax = plot_cohort_heatmap(make_matrix(), mask=mask)
    assert annotation_texts(ax) == ["40%", "25%", "100%", "50%", "100%"]


def test_heatmap_annotation_font_shrinks_with_matrix_size():
    small = plot_cohort_heatmap(make_matrix())
    cohorts = pd.period_range("2022-01", periods=24, freq="M", name="cohort")
    big = pd.DataFrame(np.full((24, 24), 0.3), index=cohorts, columns=range(24))
    big.iloc[:, 0] = 1.0
    large = plot_cohort_heatmap(big)
    assert large.texts[0].get_fontsize() < small.texts[0].get_fontsize()
    assert large.texts[0].get_fontsize() >= 4
    assert len(large.get_yticklabels()) == 24  # every cohort labelled
    assert all("Period" not in t.get_text() for t in large.get_yticklabels())


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (pd.DataFrame(), "empty"),
        (pd.DataFrame({0: ["a", "b"], 1: [0.1, 0.2]}), "not numeric"),
        (pd.DataFrame({0: [np.nan, np.nan]}), "NaN"),
    ],
)
def test_heatmap_bad_input_raises_clear_error(matrix, message):
    with pytest.raises(ValueError, match=message):
        plot_cohort_heatmap(matrix)


def test_heatmap_rejects_non_dataframe():
    with pytest.raises(TypeError, match="DataFrame"):
        plot_cohort_heatmap([[1.0, 0.5]])


def small_cohort_matrix(with_average: bool = False) -> pd.DataFrame:
    """make_matrix plus a cohort of 2 customers, both still active (100%) in periods 1-2."""
    m = make_matrix(with_average=with_average)
    sizes = m.attrs["cohort_size"]
    tiny = pd.DataFrame(
        [[1.0, 1.0, 1.0]], index=[pd.Period("2023-12", freq="M")], columns=m.columns
    )
    out = pd.concat([tiny, m])
    out.index.name = "cohort"
    out.attrs["cohort_size"] = pd.concat([pd.Series([2], index=tiny.index), sizes])
    return out


def small_cells(ax) -> list:
    return [p for p in ax.patches if p.get_gid() == "small-cohort"]


def test_heatmap_small_cohort_does_not_drive_the_colour_scale():
    m = small_cohort_matrix()
    assert mesh_of(plot_cohort_heatmap(m)).norm.vmax == pytest.approx(1.0)  # washed out
    ax = plot_cohort_heatmap(m, min_customers=30)
    others = m.iloc[1:, 1:].to_numpy()
    assert mesh_of(ax).norm.vmax == pytest.approx(np.nanmax(others)) == pytest.approx(0.50)
    assert mesh_of(ax).norm.vmin == 0


def test_heatmap_small_cohort_cells_are_hatched_and_keep_their_values():
    ax = plot_cohort_heatmap(small_cohort_matrix(), min_customers=30)
    cells = small_cells(ax)
    assert len(cells) == 3
    assert sorted(p.get_xy() for p in cells) == [(0, 0), (1, 0), (2, 0)]  # row 0: the tiny cohort
    assert all(p.get_hatch() for p in cells)
    # left out of the coloured mesh, but their values are written
    mask = np.ma.getmaskarray(mesh_of(ax).get_array()).reshape(4, 3)
    assert mask[0].all() and not mask[1].any()
    texts = {(t.get_position()[1] - 0.5, t.get_position()[0] - 0.5): t.get_text() for t in ax.texts}
    assert [texts[(0, k)] for k in range(3)] == ["100%", "100%", "100%"]
    assert len(ax.texts) == 3 + 6
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cohorts under 30 customers (not on the colour scale)"]
    assert ax.get_yticklabels()[0].get_text() == "2023-12  (n=2)"


def test_heatmap_without_min_customers_draws_no_hatched_cells():
    ax = plot_cohort_heatmap(small_cohort_matrix())
    assert not small_cells(ax) and ax.get_legend() is None
    mask = np.ma.getmaskarray(mesh_of(ax).get_array()).reshape(4, 3)
    assert not mask[0].any()


def test_heatmap_min_customers_threshold_is_strict_and_skips_summary_rows():
    m = small_cohort_matrix(with_average=True)
    ax = plot_cohort_heatmap(m, min_customers=95)  # 2 and 80 are under 95; 95 is not
    rows = {int(p.get_xy()[1]) for p in small_cells(ax)}
    assert rows == {0, 3}
    assert len(small_cells(ax)) == 3 + 1
    assert "weighted average" in ax.get_yticklabels()[-1].get_text()


def test_heatmap_min_customers_with_masked_cells_title_and_auto_vmin():
    m = small_cohort_matrix()
    mask = np.zeros(m.shape, dtype=bool)
    mask[0, 2] = True
    ax = plot_cohort_heatmap(m, min_customers=30, mask=mask, annot=False, vmin=None, title="T")
    assert len(small_cells(ax)) == 2
    assert len(ax.texts) == 0
    norm = mesh_of(ax).norm
    assert (norm.vmin, norm.vmax) == pytest.approx((0.25, 0.50))
    assert ax.get_title() == "T"


def test_heatmap_every_cohort_small_uses_every_cell_for_the_scale():
    ax = plot_cohort_heatmap(make_matrix(), min_customers=1000)
    assert len(small_cells(ax)) == 6
    assert mesh_of(ax).norm.vmax == pytest.approx(0.50)
    assert "1,000 customers" in ax.get_legend().get_texts()[0].get_text()


def test_heatmap_min_customers_needs_sizes_and_a_whole_number():
    with pytest.raises(ValueError, match=r"min_customers=30 needs the cohort sizes"):
        plot_cohort_heatmap(make_matrix(with_sizes=False), min_customers=30)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="min_customers must be a positive whole number"):
            plot_cohort_heatmap(make_matrix(), min_customers=bad)


# ---------------------------------------------------------------------------
# plot_retention_curves
# ---------------------------------------------------------------------------

# Weighted by cohort size over observed cells only.
EXPECTED_AVERAGE = [1.0, (0.40 * 120 + 0.50 * 95) / (120 + 95), 0.25]


def test_curves_from_long_table_one_line_per_cohort_plus_average():
    ax = plot_retention_curves(make_long())
    assert len(ax.lines) == 3 + 1
    avg = line_by_label(ax, "weighted average")
    np.testing.assert_allclose(avg.get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(avg.get_ydata(), EXPECTED_AVERAGE)
    assert avg.get_linewidth() > ax.lines[0].get_linewidth()
    # Cohort lines stop where the cohort stops being observable.
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [1.0, 0.40, 0.25])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [1.0, 0.50])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [1.0])


def test_curves_from_matrix_ignore_its_average_row_and_match_long():
    ax = plot_retention_curves(make_matrix(with_average=True))
    assert len(ax.lines) == 3 + 1
    np.testing.assert_allclose(line_by_label(ax, "weighted average").get_ydata(), EXPECTED_AVERAGE)


def test_curves_without_sizes_use_plain_mean():
    ax = plot_retention_curves(make_matrix(with_sizes=False))
    avg = line_by_label(ax, "average (unweighted)")
    np.testing.assert_allclose(avg.get_ydata(), [1.0, 0.45, 0.25])


def test_curves_ignore_rows_flagged_unobserved():
    long = make_long()
    # A value on an unobservable row must not leak into the plot.
    long.loc[(long["cohort"] == COHORTS[2]) & (long["period"] == 1), "retention"] = 0.9
    ax = plot_retention_curves(long)
    np.testing.assert_allclose(line_by_label(ax, "weighted average").get_ydata(), EXPECTED_AVERAGE)


def test_curves_y_axis_is_percent_and_labels():
    ax = plot_retention_curves(make_long())
    assert ax.yaxis.get_major_formatter()(0.4, 0) == "40%"
    assert ax.get_xlabel() == "Periods since first purchase"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["2024-01 (oldest)", "2024-03 (newest)", "weighted average"]


def test_curves_average_false_and_highlight():
    ax = plot_retention_curves(make_long(), average=False)
    assert len(ax.lines) == 3
    ax = plot_retention_curves(make_long(), highlight="2024-02")
    highlighted = line_by_label(ax, "2024-02")
    assert highlighted.get_linewidth() >= 2
    assert highlighted.get_color() != ax.lines[0].get_color()
    assert "2024-02" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = plot_retention_curves(make_long(), highlight=[COHORTS[0]])
    assert line_by_label(ax, "2024-01").get_linewidth() >= 2


def test_curves_unknown_highlight_raises():
    with pytest.raises(ValueError, match="2030-01"):
        plot_retention_curves(make_long(), highlight="2030-01")


def test_curves_use_given_axes_and_pass_kwargs():
    fig, ax = plt.subplots()
    out = plot_retention_curves(make_long(), ax=ax, linewidth=0.5, marker="o")
    assert out is ax
    cohort_lines = ax.lines[:3]
    assert all(ln.get_linewidth() == 0.5 for ln in cohort_lines)
    assert all(ln.get_marker() == "o" for ln in cohort_lines)
    plot_retention_curves(make_long(), lw=0.7)  # aliases work too
    assert plt.gca().lines[0].get_linewidth() == 0.7


def test_curves_missing_column_error_names_it():
    with pytest.raises(ValueError, match=r"'retention';.*available columns"):
        plot_retention_curves(make_long().drop(columns="retention"))


def test_curves_segment_tables():
    one = make_long(segment="web")
    assert len(plot_retention_curves(one).lines) == 4
    two = pd.concat([make_long(segment="web"), make_long(segment="store")])
    with pytest.raises(ValueError, match="segment.*'channel'"):
        plot_retention_curves(two)
    assert len(plot_retention_curves(two[two["channel"] == "store"]).lines) == 4


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 1000), st.lists(st.floats(0, 1), min_size=1, max_size=6)),
        min_size=1,
        max_size=6,
    )
)
def test_curves_average_lies_within_observed_cohorts(cohorts):
    # Staircase of observable cells: cohort i is observed for its own number of periods.
    width = max(len(values) for _, values in cohorts)
    index = pd.period_range("2024-01", periods=len(cohorts), freq="M", name="cohort")
    data = [values + [np.nan] * (width - len(values)) for _, values in cohorts]
    m = pd.DataFrame(data, index=index, columns=range(width))
    m.attrs["cohort_size"] = pd.Series([size for size, _ in cohorts], index=index)
    ax = plot_retention_curves(m)
    avg = line_by_label(ax, "weighted average")
    for k, y in zip(avg.get_xdata(), avg.get_ydata(), strict=True):
        column = m[int(k)].dropna()
        assert column.min() - 1e-12 <= y <= column.max() + 1e-12
    plt.close("all")


# ---------------------------------------------------------------------------
# plot_layer_cake
# ---------------------------------------------------------------------------


def stack_top(ax) -> np.ndarray:
    """Top edge of the stack: highest vertex of the last layer at each x."""
    vertices = ax.collections[-1].get_paths()[0].vertices
    xs = np.unique(vertices[:, 0])
    return np.array([vertices[vertices[:, 0] == x, 1].max() for x in xs])


def test_layer_cake_one_layer_per_cohort_and_top_is_total():
    ax = plot_layer_cake(make_long())
    assert len(ax.collections) == 3
    # Calendar periods 2024-01..03: 120; 48 + 95; 30 + 47.5 + 80.
    np.testing.assert_allclose(stack_top(ax), [120, 143, 157.5])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2024-01", "2024-02", "2024-03"]
    assert ax.get_ylabel() == "Active customers"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["2024-03", "2024-02", "2024-01"]  # newest (top layer) first


def test_layer_cake_revenue():
    ax = plot_layer_cake(make_long(), value="revenue")
    np.testing.assert_allclose(stack_top(ax), [6000, 2400 + 3800, 1200 + 1900 + 4000])
    assert ax.get_ylabel() == "Revenue"


def test_layer_cake_leaves_out_unobserved_calendar_periods():
    long = make_long()
    # Add a calendar period beyond the data end, unobservable for every cohort.
    extra = long[long["period"] == 2].copy()
    extra["period"] = 3
    extra["calendar_period"] = extra["cohort"] + 3
    extra["observed"] = False
    ax = plot_layer_cake(pd.concat([long, extra]))
    assert len(stack_top(ax)) == 3


def test_layer_cake_adds_up_segments():
    both = pd.concat([make_long(segment="web"), make_long(segment="store")])
    ax = plot_layer_cake(both)
    assert len(ax.collections) == 3
    np.testing.assert_allclose(stack_top(ax), [240, 286, 315])


def test_layer_cake_trims_legend_and_x_labels_for_many_cohorts():
    cohorts = pd.period_range("2022-01", periods=30, freq="M")
    rows = [
        {"cohort": c, "calendar_period": c + k, "customers": 100 - k}
        for c in cohorts
        for k in range(30)
        if c + k <= cohorts[-1]
    ]
    ax = plot_layer_cake(pd.DataFrame(rows))
    assert len(ax.collections) == 30
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert 1 < len(legend) <= 12
    assert legend[0] == "2024-06"  # newest always shown
    assert "1 in 3 shown" in ax.get_legend().get_title().get_text()
    assert 1 < len(ax.get_xticklabels()) <= 12


def test_layer_cake_uses_given_axes_and_passes_kwargs():
    fig, ax = plt.subplots()
    out = plot_layer_cake(make_long(), ax=ax, alpha=0.5)
    assert out is ax
    assert all(c.get_alpha() == 0.5 for c in ax.collections)


def test_layer_cake_missing_column_error_names_it():
    with pytest.raises(ValueError, match=r"'calendar_period';.*available columns"):
        plot_layer_cake(make_long().drop(columns="calendar_period"))
    with pytest.raises(ValueError, match=r"missing column\(s\) 'margin'"):
        plot_layer_cake(make_long(), value="margin")


# ---------------------------------------------------------------------------
# plot_cumulative_revenue
# ---------------------------------------------------------------------------


def test_cumulative_revenue_lines_and_average():
    ax = plot_cumulative_revenue(make_long())
    assert len(ax.lines) == 3 + 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [50, 70, 80])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [40, 60])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), [50])
    # Average: running total of size-weighted increments over the cohorts observed.
    p0 = (50 * 120 + 40 * 95 + 50 * 80) / 295
    p1 = p0 + (20 * 120 + 20 * 95) / 215
    p2 = p1 + 10
    avg = line_by_label(ax, "weighted average")
    np.testing.assert_allclose(avg.get_ydata(), [p0, p1, p2])
    assert ax.get_ylabel() == "Cumulative revenue per customer"
    assert ax.yaxis.get_major_formatter()(1234, 0) == "1,234"


def test_cumulative_revenue_uses_given_axes_and_passes_kwargs():
    fig, ax = plt.subplots()
    out = plot_cumulative_revenue(make_long(), ax=ax, linewidth=0.4, average=False)
    assert out is ax
    assert len(ax.lines) == 3
    assert all(ln.get_linewidth() == 0.4 for ln in ax.lines)


def test_cumulative_revenue_missing_column_error_names_it():
    with pytest.raises(ValueError, match="cumulative_revenue_per_customer"):
        plot_cumulative_revenue(make_long().drop(columns="cumulative_revenue_per_customer"))
    with pytest.raises(TypeError, match="DataFrame"):
        plot_cumulative_revenue(None)


def test_heatmap_of_a_saved_matrix_with_average_row():
    """The matrix of retention_matrix(average=True) keeps its sizes and average marker as
    plain attrs; the heatmap reads both and recomputes nothing."""
    from retention.metrics.cohorts import retention_matrix

    tx = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 3],
            "order_date": pd.to_datetime(
                ["2024-01-03", "2024-02-10", "2024-01-20", "2024-02-01", "2024-03-05"]
            ),
            "revenue": [10.0, 20.0, 15.0, 8.0, 5.0],
        }
    )
    matrix = retention_matrix(tx, "M", average=True, partial="keep")
    ax = plot_cohort_heatmap(matrix)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:-1] == ["2024-01  (n=2)", "2024-02  (n=1)"]
    assert labels[-1] == "weighted average"
    assert ax.get_yticklabels()[-1].get_fontweight() == "bold"
    assert len([ln for ln in ax.lines if ln.get_gid() == "summary-separator"]) == 1
