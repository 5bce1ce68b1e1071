"""Customer-base models fitted on small per-customer summaries, and what they predict.

* :class:`BetaGeo` — BG/NBD purchase counts (non-contractual);
* :class:`GammaGamma` — average order value;
* :class:`ShiftedBetaGeometric` — sBG contractual retention;
* :mod:`~retention.models.clv` — :func:`predict_clv`, :func:`customer_value` and
  :func:`predicted_value`: discounted CLV from any :class:`TransactionModel` and
  :class:`SpendModel`;
* :mod:`~retention.models.diagnostics` — whether a purchase-count model fits.
"""

from retention.models.base import (
    ConvergenceError,
    NotFittedError,
    SpendModel,
    TransactionModel,
)
from retention.models.betageo import BetaGeo
from retention.models.clv import customer_value, predict_clv, predicted_value
from retention.models.diagnostics import (
    calibration_vs_holdout,
    expected_cumulative_transactions,
    frequency_recency_matrix,
)
from retention.models.gammagamma import GammaGamma
from retention.models.sbg import ShiftedBetaGeometric

__all__ = [
    "BetaGeo",
    "ConvergenceError",
    "GammaGamma",
    "NotFittedError",
    "ShiftedBetaGeometric",
    "SpendModel",
    "TransactionModel",
    "calibration_vs_holdout",
    "customer_value",
    "expected_cumulative_transactions",
    "frequency_recency_matrix",
    "predict_clv",
    "predicted_value",
]
