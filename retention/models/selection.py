"""Choosing a purchase-count model: the candidates, fitted side by side, and segments tested.

:func:`fit_candidates` fits BG/NBD, MBG/NBD and Pareto/NBD on the same histories (keeping
the reason when one fails), ready for :func:`retention.compare_models`;
:func:`fit_identified` fits a model penalised only where the data do not identify it (and
:func:`fit_spend_model` the Gamma-Gamma spend model so);
:func:`segments_differ` asks whether customer segments buy differently enough to need models
of their own: one model on all customers against one per segment, by likelihood ratio.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retention.checks import require_columns
from retention.models.base import ConvergenceError, FittedModel
from retention.models.betageo import BetaGeo
from retention.models.gammagamma import GammaGamma
from retention.models.modbetageo import ModifiedBetaGeo
from retention.models.paretonbd import ParetoNBD

__all__ = ["PENALIZERS", "TRANSACTION_MODELS", "SegmentTest", "fit_candidates",
           "fit_identified", "fit_spend_model", "model_label", "segments_differ"]

#: Penalizers :func:`fit_identified` tries, in order, until the estimates are finite.
PENALIZERS = (0.0, 0.001, 0.01, 0.1)

#: Purchase-count models by short name: (display label, class).
TRANSACTION_MODELS: dict[str, tuple[str, type[FittedModel]]] = {
    "bgnbd": ("BG/NBD", BetaGeo),
    "mbgnbd": ("MBG/NBD", ModifiedBetaGeo),
    "pnbd": ("Pareto/NBD", ParetoNBD),
}


def model_label(name: str) -> str:
    """Display label of a short model name (``"pnbd"`` -> ``"Pareto/NBD"``).

    Examples
    --------
    >>> model_label("mbgnbd")
    'MBG/NBD'
    """
    if name not in TRANSACTION_MODELS:
        raise ValueError(f"model must be one of {sorted(TRANSACTION_MODELS)}, got {name!r}.")
    return TRANSACTION_MODELS[name][0]


def fit_identified(
    model: type[FittedModel],
    summary: pd.DataFrame,
    *,
    penalizers: Sequence[float] = PENALIZERS,
    **columns: str,
) -> FittedModel:
    """``model`` fitted on ``summary`` without a penalty where the data identify it, else with
    the first of ``penalizers`` that keeps the estimates finite.

    On a small log, or one where customers behave too alike (everyone spending the same each
    time, no one seen to drop out), some unpenalised estimates run away
    (:class:`ConvergenceError`: parameters grow without bound while the quantities they
    predict stay put); a small L2 penalty on the log-parameters then gives finite estimates.

    Parameters
    ----------
    model : class
        A model class taking ``penalizer`` (:class:`~retention.models.BetaGeo`, ...).
    summary : DataFrame
        What its ``fit`` takes.
    penalizers : sequence of float
        Tried in order; the one used is the fitted model's ``penalizer``.
    **columns : str
        Column names passed to ``fit`` (``frequency=``, ...).

    Returns
    -------
    FittedModel
        Fitted; its ``penalizer`` is 0 unless the unpenalised fit ran away.

    Raises
    ------
    ConvergenceError
        No penalizer gave finite estimates (the last error).

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import GammaGamma
    >>> steady = pd.DataFrame({"frequency": [1, 2, 3, 4] * 25,
    ...                        "monetary_value": [20.0, 20.0, 20.1, 19.9] * 25})
    >>> ggf = fit_identified(GammaGamma, steady)
    >>> ggf.penalizer > 0, round(float(ggf.expected_average_order_value(2, 20.0)), 1)
    (True, 20.0)
    """
    if not penalizers:
        raise ValueError("penalizers is empty.")
    for penalizer in penalizers:
        try:
            return model(penalizer=penalizer).fit(summary, **columns)
        except ConvergenceError as exc:
            error = exc
    raise error


def fit_spend_model(
    summary: pd.DataFrame,
    *,
    frequency: str = "frequency",
    monetary_value: str = "monetary_value",
    penalizers: Sequence[float] = PENALIZERS,
) -> GammaGamma:
    """The Gamma-Gamma spend model on the repeat buyers with a positive mean spend, through
    :func:`fit_identified` (penalised only where the data do not identify it).

    Parameters
    ----------
    summary : DataFrame
        One row per customer (:func:`retention.rfm_summary`); only rows with frequency > 0
        and monetary value > 0 are fitted.
    frequency, monetary_value : str
        Column names.
    penalizers : sequence of float
        See :func:`fit_identified`.

    Returns
    -------
    GammaGamma

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"frequency": [0, 1, 2, 3] * 25,
    ...                         "monetary_value": [0.0, 20.0, 20.1, 19.9] * 25})
    >>> ggf = fit_spend_model(summary)
    >>> ggf.n_customers_, ggf.penalizer > 0
    (75.0, True)
    """
    require_columns(summary, {"frequency": frequency, "monetary_value": monetary_value})
    spenders = summary[(summary[frequency] > 0) & (summary[monetary_value] > 0)]
    return fit_identified(GammaGamma, spenders, penalizers=penalizers, frequency=frequency,
                          monetary_value=monetary_value)


def fit_candidates(
    summary: pd.DataFrame,
    models: Sequence[str] = tuple(TRANSACTION_MODELS),
    *,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    penalizer: float = 0.0,
) -> tuple[dict[str, FittedModel], dict[str, str]]:
    """Fit several purchase-count models on the same histories.

    Parameters
    ----------
    summary : DataFrame
        One row per customer with the frequency, recency and T columns (an RFM summary, or
        the calibration columns of :func:`retention.calibration_and_holdout`).
    models : sequence of str
        Short names from :data:`TRANSACTION_MODELS`: ``"bgnbd"``, ``"mbgnbd"``, ``"pnbd"``.
    frequency, recency, T : str
        Column names.
    penalizer : float, default 0.0
        L2 penalty passed to every model.

    Returns
    -------
    fitted : dict
        Display label (``"BG/NBD"``...) to fitted model, for the models whose fit succeeded.
    failed : dict
        Display label to the error message, for the models whose fit failed.

    Raises
    ------
    ValueError
        An unknown model name, or every fit failed (the message gives each reason).

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7] * 50,
    ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37] * 50,
    ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39] * 50})
    >>> fitted, failed = fit_candidates(summary)
    >>> sorted(fitted), failed
    (['BG/NBD', 'MBG/NBD', 'Pareto/NBD'], {})
    """
    labels = [model_label(name) for name in models]
    if not labels:
        raise ValueError("models is empty: name at least one of "
                         f"{sorted(TRANSACTION_MODELS)}.")
    cols = dict(frequency=frequency, recency=recency, T=T)
    fitted: dict[str, FittedModel] = {}
    failed: dict[str, str] = {}
    for name, label in zip(models, labels, strict=True):
        cls = TRANSACTION_MODELS[name][1]
        try:
            fitted[label] = cls(penalizer=penalizer).fit(summary, **cols)
        except (ValueError, ArithmeticError, ConvergenceError, np.linalg.LinAlgError) as exc:
            failed[label] = str(exc)
    if not fitted:
        reasons = "; ".join(f"{k}: {v}" for k, v in failed.items())
        raise ValueError(f"no candidate model could be fitted ({reasons}).")
    return fitted, failed


@dataclass(frozen=True)
class SegmentTest:
    """Result of :func:`segments_differ`.

    Attributes
    ----------
    fits : DataFrame
        One row per segment (index: the segment value) and a last row ``"all customers"``:
        ``customers``, the model's parameters and ``log_likelihood``.
    statistic : float
        ``2 (sum of the segments' log-likelihoods - log-likelihood of the pooled model)``.
    df : int
        Degrees of freedom: the number of parameters times (segments - 1).
    p_value : float
        Chi-square upper tail of ``statistic``: small values say the segments differ.
    pooled : FittedModel
        The model fitted on all customers.
    models : dict
        The model fitted on each segment.
    """

    fits: pd.DataFrame
    statistic: float
    df: int
    p_value: float
    pooled: FittedModel
    models: dict[Hashable, FittedModel]


def segments_differ(
    model: FittedModel,
    summary: pd.DataFrame,
    segment: str,
    *,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    min_customers: int = 30,
) -> SegmentTest:
    """Do the segments buy differently? One model for all customers against one per segment.

    The pooled model is the restricted one (every segment shares its parameters); separate
    fits per segment are the general one. Twice the gain in log-likelihood is chi-square
    distributed with ``k (G - 1)`` degrees of freedom under "the segments do not differ"
    (``k`` parameters, ``G`` segments), for large segments.

    Parameters
    ----------
    model : FittedModel
        A purchase-count model (fitted or not): copies of it are fitted on all customers and
        on each segment, with its settings (e.g. ``penalizer``).
    summary : DataFrame
        One row per customer: frequency, recency, T and the ``segment`` column.
    segment : str
        Column of the segment of each customer (e.g. the channel of the first purchase).
    frequency, recency, T : str
        Column names.
    min_customers : int, default 30
        Segments with fewer customers are left out of the test (and of the pooled fit), too
        small to fit four parameters on.

    Returns
    -------
    SegmentTest

    Raises
    ------
    ValueError
        A missing column, fewer than two segments with ``min_customers`` customers, or a fit
        that fails (the message names the segment).

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> hist = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...                      "recency": [0, 0, 30, 5, 35, 10, 36, 37],
    ...                      "T": [39, 30, 39, 38, 39, 37, 39, 39]})
    >>> same = pd.concat([hist.assign(channel="email"), hist.assign(channel="web")] * 20)
    >>> test = segments_differ(BetaGeo(), same, "channel")
    >>> test.df, round(test.statistic, 6), round(test.p_value, 3)
    (4, 0.0, 1.0)
    """
    from scipy import stats

    require_columns(summary, [frequency, recency, T, segment], what="the summary")
    sizes = summary[segment].value_counts(sort=False)
    kept = sizes[sizes >= min_customers]
    if len(kept) < 2:
        raise ValueError(
            f"column {segment!r} has {len(kept)} segment(s) with at least {min_customers} "
            f"customers (sizes: {sizes.sort_values(ascending=False).head(5).to_dict()}); "
            "comparing segments needs two.")
    data = summary[summary[segment].isin(kept.index)]
    cols = dict(frequency=frequency, recency=recency, T=T)

    def fit(rows: pd.DataFrame, which: str) -> FittedModel:
        try:
            return copy.deepcopy(model).fit(rows, **cols)
        except (ValueError, ConvergenceError) as exc:
            raise ValueError(f"the {type(model).__name__} fit on {which} ({len(rows):,} "
                             f"customers) failed: {exc}") from exc

    pooled = fit(data, "all customers")
    models = {value: fit(rows, f"{segment} = {value!r}")
              for value, rows in data.groupby(segment, sort=True, observed=True)}
    rows = [{segment: value, "customers": int(kept[value]), **m.params_,
             "log_likelihood": m.log_likelihood_} for value, m in models.items()]
    rows.append({segment: "all customers", "customers": len(data), **pooled.params_,
                 "log_likelihood": pooled.log_likelihood_})
    k = len(pooled.params_)
    statistic = 2.0 * (sum(m.log_likelihood_ for m in models.values())
                       - pooled.log_likelihood_)
    df = k * (len(models) - 1)
    return SegmentTest(
        fits=pd.DataFrame(rows).set_index(segment), statistic=float(statistic), df=df,
        p_value=float(stats.chi2.sf(max(statistic, 0.0), df)), pooled=pooled, models=models)
