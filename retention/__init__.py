"""retention: customer-retention analysis for transaction logs.

Formulas, period KPIs, cohort tables and heatmaps, CLV models and papermill reports.

Examples
--------
>>> import retention as rt
>>> rt.retention_rate(start=1000, end=800, new=400)
0.4
"""

from retention import periods
from retention.io.load import ValidationReport, load_transactions
from retention.io.sample import sample_transactions
from retention.metrics.cohorts import (
    cohort_table,
    pivot_cohorts,
    retention_matrix,
    weighted_average_retention,
)
from retention.metrics.formulas import (
    annualize_churn,
    average_order_value,
    churn_rate,
    customer_lifetime_value,
    margin_multiplier_clv,
    purchase_frequency,
    repeat_customer_rate,
    retention_rate,
)
from retention.metrics.kpis import period_metrics
from retention.metrics.rfm import calibration_and_holdout, rfm_summary
from retention.metrics.survey import NPSResult, csat, csi, nps
from retention.metrics.value import (
    churn_risk,
    concentration_curve,
    customer_history,
    default_calibration_end,
    gini,
    historical_value,
    top_share,
    value_deciles,
)
from retention.models import (
    BetaGeo,
    ConvergenceError,
    GammaGamma,
    NotFittedError,
    ShiftedBetaGeometric,
    calibration_vs_holdout,
    customer_value,
    expected_cumulative_transactions,
    frequency_recency_matrix,
    predict_clv,
    predicted_value,
)
from retention.plotting.cohorts import (
    plot_cohort_heatmap,
    plot_cumulative_revenue,
    plot_layer_cake,
    plot_retention_curves,
)
from retention.plotting.value import (
    plot_calibration_vs_holdout,
    plot_concentration,
    plot_cumulative_transactions,
    plot_deciles,
    plot_frequency_recency_matrix,
    plot_value_by_group,
)
from retention.reports.narrative import clv_highlights, describe_clv

__version__ = "0.1.0"

__all__ = [
    "BetaGeo",
    "ConvergenceError",
    "GammaGamma",
    "NPSResult",
    "NotFittedError",
    "ShiftedBetaGeometric",
    "ValidationReport",
    "annualize_churn",
    "average_order_value",
    "calibration_and_holdout",
    "calibration_vs_holdout",
    "churn_rate",
    "churn_risk",
    "clv_highlights",
    "cohort_table",
    "concentration_curve",
    "csat",
    "csi",
    "customer_history",
    "customer_lifetime_value",
    "customer_value",
    "default_calibration_end",
    "describe_clv",
    "expected_cumulative_transactions",
    "frequency_recency_matrix",
    "gini",
    "historical_value",
    "load_transactions",
    "margin_multiplier_clv",
    "nps",
    "period_metrics",
    "periods",
    "pivot_cohorts",
    "plot_calibration_vs_holdout",
    "plot_cohort_heatmap",
    "plot_concentration",
    "plot_cumulative_revenue",
    "plot_cumulative_transactions",
    "plot_deciles",
    "plot_frequency_recency_matrix",
    "plot_layer_cake",
    "plot_retention_curves",
    "plot_value_by_group",
    "predict_clv",
    "predicted_value",
    "purchase_frequency",
    "repeat_customer_rate",
    "retention_matrix",
    "retention_rate",
    "rfm_summary",
    "sample_transactions",
    "top_share",
    "value_deciles",
    "weighted_average_retention",
]
