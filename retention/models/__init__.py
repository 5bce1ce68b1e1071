"""Customer-base models fitted on small per-customer summaries.

* :class:`BetaGeo` — BG/NBD purchase counts (non-contractual);
* :class:`GammaGamma` — average order value;
* :func:`predict_clv` — discounted CLV combining the two;
* :class:`ShiftedBetaGeometric` — sBG contractual retention.
"""

from retention.models.base import ConvergenceError, NotFittedError
from retention.models.betageo import BetaGeo
from retention.models.clv import predict_clv
from retention.models.gammagamma import GammaGamma
from retention.models.sbg import ShiftedBetaGeometric

__all__ = [
    "BetaGeo",
    "ConvergenceError",
    "GammaGamma",
    "NotFittedError",
    "ShiftedBetaGeometric",
    "predict_clv",
]
