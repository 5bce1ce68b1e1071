"""Customer-base models fitted on small per-customer summaries, and what they predict.

* :class:`BetaGeo` — BG/NBD purchase counts (non-contractual);
* :class:`ParetoNBD` — Pareto/NBD: exponential lifetimes, Poisson purchases;
* :class:`ModifiedBetaGeo` — MBG/NBD: one-time buyers may have dropped out too;
* :class:`BetaGeoBetaBinom` — BG/BB, discrete-time purchase opportunities;
* :class:`GammaGamma` — average order value;
* :class:`ShiftedBetaGeometric` — sBG contractual retention;
* :mod:`~retention.models.clv` — :func:`predict_clv`, :func:`customer_value` and
  :func:`predicted_value`: discounted CLV from any :class:`TransactionModel` and
  :class:`SpendModel`;
* :mod:`~retention.models.diagnostics` — whether a purchase-count model fits;
  :func:`compare_models` — fit statistics and a holdout scorecard side by side;
  :func:`fit_candidates` and :func:`segments_differ` — candidates fitted together, and one
  model for all segments tested against one per segment; :func:`fit_identified` and
  :func:`fit_spend_model` — a model penalised only where the data do not identify it;
* :mod:`~retention.models.intervals` — prediction intervals from the parameters' sampling
  distribution; :mod:`~retention.models.persistence` — ``model.save`` / :func:`load_model`.
"""

from retention.models.base import (
    ConvergenceError,
    NotFittedError,
    SpendModel,
    TransactionModel,
)
from retention.models.betageo import BetaGeo
from retention.models.bgbb import BetaGeoBetaBinom
from retention.models.clv import (
    clv_schedule,
    customer_value,
    predict_clv,
    predicted_value,
    probability_alive_at,
)
from retention.models.compare import ModelComparison, compare_models
from retention.models.diagnostics import (
    calibration_vs_holdout,
    expected_cumulative_transactions,
    frequency_recency_matrix,
)
from retention.models.gammagamma import GammaGamma
from retention.models.intervals import (
    PredictionInterval,
    parameter_draws,
    prediction_interval,
    with_intervals,
)
from retention.models.modbetageo import ModifiedBetaGeo
from retention.models.paretonbd import ParetoNBD
from retention.models.persistence import load_model, save_model
from retention.models.sbg import ShiftedBetaGeometric
from retention.models.selection import (
    TRANSACTION_MODELS,
    SegmentTest,
    fit_candidates,
    fit_identified,
    fit_spend_model,
    model_label,
    segments_differ,
)

__all__ = [
    "TRANSACTION_MODELS",
    "SegmentTest",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ConvergenceError",
    "GammaGamma",
    "ModelComparison",
    "ModifiedBetaGeo",
    "NotFittedError",
    "ParetoNBD",
    "PredictionInterval",
    "ShiftedBetaGeometric",
    "SpendModel",
    "TransactionModel",
    "calibration_vs_holdout",
    "clv_schedule",
    "compare_models",
    "customer_value",
    "expected_cumulative_transactions",
    "fit_candidates",
    "fit_identified",
    "fit_spend_model",
    "frequency_recency_matrix",
    "load_model",
    "model_label",
    "parameter_draws",
    "predict_clv",
    "predicted_value",
    "probability_alive_at",
    "prediction_interval",
    "save_model",
    "segments_differ",
    "with_intervals",
]
