"""Names of the ``retention`` package, read by type checkers and, at run time, by
:func:`lazy_loader.attach_stub`, which imports each on first use."""

from . import (
    checks as checks,
    cli as cli,
    engine as engine,
    io as io,
    metrics as metrics,
    models as models,
    periods as periods,
    plotting as plotting,
    reports as reports,
)
from .engine.lazy import TransactionTable as TransactionTable
from .io.load import (
    ValidationReport as ValidationReport,
    load_transactions as load_transactions,
)
from .io.sample import (
    sample_path as sample_path,
    sample_transactions as sample_transactions,
)
from .io.survey_sample import (
    sample_survey as sample_survey,
    sample_survey_path as sample_survey_path,
)
from .metrics.brackets import (
    bracket_matrix as bracket_matrix,
    bracket_retention as bracket_retention,
)
from .metrics.cohorts import (
    cohort_table as cohort_table,
    pivot_cohorts as pivot_cohorts,
    retention_matrix as retention_matrix,
    weighted_average_retention as weighted_average_retention,
)
from .metrics.confidence import (
    compare_curves as compare_curves,
    retention_intervals as retention_intervals,
    wilson_interval as wilson_interval,
)
from .metrics.formulas import (
    annualize_churn as annualize_churn,
    average_order_value as average_order_value,
    churn_rate as churn_rate,
    customer_lifetime_value as customer_lifetime_value,
    margin_multiplier_clv as margin_multiplier_clv,
    purchase_frequency as purchase_frequency,
    repeat_customer_rate as repeat_customer_rate,
    retention_rate as retention_rate,
)
from .metrics.kpis import (
    period_metrics as period_metrics,
)
from .metrics.lifecycle import (
    lifecycle as lifecycle,
    stickiness as stickiness,
)
from .metrics.rfm import (
    calibration_and_holdout as calibration_and_holdout,
    rfm_summary as rfm_summary,
)
from .metrics.segments import (
    SegmentMovement as SegmentMovement,
    default_grid as default_grid,
    grid_counts as grid_counts,
    rfm_segments as rfm_segments,
    segment_grid as segment_grid,
    segment_movement as segment_movement,
    segment_table as segment_table,
)
from .metrics.survey import (
    CESResult as CESResult,
    CSATResult as CSATResult,
    CSIResult as CSIResult,
    NPSComparison as NPSComparison,
    NPSResult as NPSResult,
    ces as ces,
    compare_nps as compare_nps,
    csat as csat,
    csi as csi,
    nps as nps,
    survey_metrics as survey_metrics,
)
from .metrics.value import (
    churn_risk as churn_risk,
    concentration_curve as concentration_curve,
    customer_history as customer_history,
    default_calibration_end as default_calibration_end,
    gini as gini,
    historical_value as historical_value,
    top_share as top_share,
    value_deciles as value_deciles,
)
from .metrics.whatif import (
    CostComparison as CostComparison,
    RetentionUplift as RetentionUplift,
    acquisition_vs_retention_cost as acquisition_vs_retention_cost,
    ltv_cac as ltv_cac,
    payback_period as payback_period,
    retention_claim_grid as retention_claim_grid,
    retention_uplift as retention_uplift,
    retention_value as retention_value,
)
from .models import (
    BetaGeo as BetaGeo,
    BetaGeoBetaBinom as BetaGeoBetaBinom,
    ConvergenceError as ConvergenceError,
    GammaGamma as GammaGamma,
    ModifiedBetaGeo as ModifiedBetaGeo,
    NotFittedError as NotFittedError,
    ParetoNBD as ParetoNBD,
    SegmentTest as SegmentTest,
    ShiftedBetaGeometric as ShiftedBetaGeometric,
    calibration_vs_holdout as calibration_vs_holdout,
    clv_schedule as clv_schedule,
    compare_models as compare_models,
    customer_value as customer_value,
    expected_cumulative_transactions as expected_cumulative_transactions,
    fit_candidates as fit_candidates,
    fit_identified as fit_identified,
    fit_spend_model as fit_spend_model,
    frequency_recency_matrix as frequency_recency_matrix,
    load_model as load_model,
    predict_clv as predict_clv,
    predicted_value as predicted_value,
    prediction_interval as prediction_interval,
    probability_alive_at as probability_alive_at,
    segments_differ as segments_differ,
    with_intervals as with_intervals,
)
from .plotting.cohorts import (
    plot_cohort_heatmap as plot_cohort_heatmap,
    plot_compared_curves as plot_compared_curves,
    plot_cumulative_revenue as plot_cumulative_revenue,
    plot_layer_cake as plot_layer_cake,
    plot_retention_curves as plot_retention_curves,
)
from .plotting.lifecycle import (
    plot_lifecycle as plot_lifecycle,
    plot_stickiness as plot_stickiness,
)
from .plotting.segments import (
    plot_segment_grid as plot_segment_grid,
    plot_segment_movement as plot_segment_movement,
)
from .plotting.survey import (
    plot_survey_metric as plot_survey_metric,
)
from .plotting.value import (
    plot_calibration_vs_holdout as plot_calibration_vs_holdout,
    plot_concentration as plot_concentration,
    plot_cumulative_transactions as plot_cumulative_transactions,
    plot_deciles as plot_deciles,
    plot_frequency_recency_matrix as plot_frequency_recency_matrix,
    plot_value_by_group as plot_value_by_group,
)
from .reports.narrative import (
    clv_highlights as clv_highlights,
    describe_clv as describe_clv,
)
