"""Customer-base models fitted on small per-customer summaries.

* :class:`BetaGeo` — BG/NBD purchase counts (non-contractual);
* :class:`GammaGamma` — average order value;
* :func:`predict_clv` — discounted CLV combining the two;
* :class:`ShiftedBetaGeometric` — sBG contractual retention.
"""

from ._base import ConvergenceError, NotFittedError
from .betageo import BetaGeo
from .clv import predict_clv
from .gammagamma import GammaGamma
from .sbg import ShiftedBetaGeometric

__all__ = [
    "BetaGeo",
    "ConvergenceError",
    "GammaGamma",
    "NotFittedError",
    "ShiftedBetaGeometric",
    "predict_clv",
]
