"""Which purchase-count model to trust: in-sample fit and holdout accuracy side by side.

:func:`compare_models` takes fitted models (BG/NBD, MBG/NBD, Pareto/NBD or any object with
the methods of :class:`~retention.models.base.TransactionModel`) and a calibration / holdout
table from :func:`retention.calibration_and_holdout`, and returns a
:class:`ModelComparison`: a fit table (log-likelihood, AIC, BIC, likelihood-ratio tests of
nested pairs), a holdout scorecard (per-customer errors, aggregate error, decile lift,
calibration of P(alive), fit of the repeat-count distribution) and the best model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retention.checks import require_columns
from retention.models.base import TransactionModel, check_histories, require_methods

__all__ = ["ModelComparison", "compare_models"]

CALIBRATION_COLUMNS = ("frequency_cal", "recency_cal", "T_cal", "frequency_holdout",
                       "duration_holdout")
#: Repeat-purchase counts 0..MAX_COUNT-1 and a last bin "MAX_COUNT+".
MAX_COUNT = 7
#: Scorecard columns and whether smaller is better (True), larger (False) or smaller in
#: absolute value ("abs").
METRICS: dict[str, bool | str] = {
    "mae": True, "rmse": True, "bias": "abs", "aggregate_error": "abs",
    "top_decile_lift": False, "alive_calibration_error": True, "repeat_count_distance": True,
    "log_likelihood": False, "aic": True, "bic": True,
}

#: Human labels of the fit and scorecard columns, in reading order.
LABELS = {
    "rmse": "RMSE of holdout purchases per customer",
    "mae": "MAE of holdout purchases per customer",
    "bias": "bias (mean predicted minus actual)",
    "predicted_total": "holdout purchases predicted",
    "actual_total": "holdout purchases made",
    "aggregate_error": "aggregate error (predicted / actual - 1)",
    "top_decile_lift": "top-decile lift",
    "alive_calibration_error": "P(alive) calibration error",
    "repeat_count_distance": "repeat-count distance (chi-square)",
    "log_likelihood": "log-likelihood",
    "aic": "AIC",
    "bic": "BIC",
    "delta_aic": "AIC above the lowest",
    "n_params": "parameters",
    "n_customers": "customers",
}
_BETTER = {True: "lower", False: "higher", "abs": "closer to 0"}


@dataclass(frozen=True)
class ModelComparison:
    """Result of :func:`compare_models`.

    Attributes
    ----------
    fit : DataFrame
        One row per model (index ``model``): ``n_params``, ``n_customers``,
        ``log_likelihood``, ``aic`` (``2k - 2 log L``), ``bic`` (``k log n - 2 log L``) and
        ``delta_aic`` (AIC minus the smallest AIC).
    likelihood_ratio : DataFrame
        One row per nested pair: ``restricted``, ``general``, ``statistic``
        (``2 (log L_general - log L_restricted)``), ``df`` and ``p_value`` (chi-square upper
        tail). Empty without ``nested``.
    scorecard : DataFrame
        One row per model (index ``model``), holdout purchases against the model's
        ``conditional_expected_purchases(duration_holdout, ...)``: ``mae``, ``rmse``,
        ``bias`` (mean predicted minus actual), ``predicted_total``, ``actual_total``,
        ``aggregate_error`` (``predicted_total / actual_total - 1``, a fraction),
        ``top_decile_lift`` (mean actual purchases of the tenth of customers with the
        highest predictions over the mean of all), ``alive_calibration_error`` (customer
        weighted mean of ``|mean P(alive) - share active|`` over the P(alive) deciles) and
        ``repeat_count_distance`` (``sum (observed - expected)^2 / expected`` over the
        repeat-count bins).
    alive_calibration : DataFrame
        Long table: ``model``, ``decile`` (1 = lowest P(alive)), ``customers``,
        ``mean_probability_alive`` (at the end of calibration) and ``share_active`` (share
        with at least one holdout purchase).
    repeat_counts : DataFrame
        Long table: ``model``, ``repeat_purchases`` ("0" .. "6", "7+"), ``observed`` and
        ``expected`` customers in the calibration period.
    best : str
        Model with the best value of ``by``.
    by : str
        The scorecard or fit column ``best`` was chosen on.
    """

    fit: pd.DataFrame
    likelihood_ratio: pd.DataFrame
    scorecard: pd.DataFrame
    alive_calibration: pd.DataFrame
    repeat_counts: pd.DataFrame
    best: str
    by: str

    def table(self) -> pd.DataFrame:
        """Fit and scorecard in one table to read: a row per measure (human label), a column
        per model, and a last column ``better`` saying which way is better.

        Examples
        --------
        >>> import pandas as pd
        >>> from retention.models import BetaGeo
        >>> cal = pd.DataFrame({"frequency_cal": [0, 0, 1, 1, 2, 2, 4, 7] * 50,
        ...                     "recency_cal": [0, 0, 30, 5, 35, 10, 36, 37] * 50,
        ...                     "T_cal": [39, 30, 39, 38, 39, 37, 39, 39] * 50,
        ...                     "frequency_holdout": [0, 1, 1, 0, 2, 0, 3, 5] * 50,
        ...                     "duration_holdout": [39.0] * 400})
        >>> bg = BetaGeo().fit(cal, frequency="frequency_cal", recency="recency_cal", T="T_cal")
        >>> compare_models({"bg": bg}, cal).table().loc["AIC", "better"]
        'lower'
        """
        both = self.fit.join(self.scorecard).T
        rows = [c for c in LABELS if c in both.index]
        out = both.loc[rows].rename(index=LABELS)
        out["better"] = [_BETTER.get(METRICS.get(c), "") for c in rows]
        out.columns.name = None
        return out

    def best_by(self, by: str) -> str:
        """Model with the best value of a scorecard or fit column.

        Smaller is better except for ``log_likelihood`` and ``top_decile_lift`` (larger) and
        for ``bias`` and ``aggregate_error`` (smaller in absolute value).
        """
        return _best(self.fit.join(self.scorecard), by)


def _best(table: pd.DataFrame, by: str) -> str:
    if by not in METRICS:
        raise ValueError(f"by must be one of {sorted(METRICS)}, got {by!r}.")
    values = table[by].astype(float)
    rule = METRICS[by]
    if rule == "abs":
        values = values.abs()
    elif rule is False:
        values = -values
    if values.isna().all():
        raise ValueError(f"no model has a value of {by!r}.")
    return str(values.idxmin())


def _rank_groups(values: np.ndarray, n_groups: int = 10) -> np.ndarray:
    """Group 1..n_groups of each value by rank (ties broken by position), equal sizes."""
    order = np.argsort(values, kind="stable")
    groups = np.empty(len(values), dtype=np.int64)
    groups[order] = np.arange(len(values)) * n_groups // len(values) + 1
    return groups


def _fit_row(name: str, model: Any, n: int) -> dict[str, Any]:
    params = getattr(model, "params_", None)
    ll = getattr(model, "log_likelihood_", None)
    if params is None or ll is None:
        raise ValueError(f"model {name!r} is not fitted (no params_ / log_likelihood_).")
    fitted_n = getattr(model, "n_customers_", None)
    if fitted_n is not None and abs(float(fitted_n) - n) > 0.5:
        raise ValueError(
            f"model {name!r} was fitted on {float(fitted_n):g} customers but the calibration "
            f"table has {n}; likelihoods, AIC and BIC compare only fits on the same data. Fit "
            "every model on the calibration columns (frequency_cal, recency_cal, T_cal)."
        )
    k = int(getattr(model, "n_params_", len(params)))
    ll = float(ll)
    return {"model": name, "n_params": k, "n_customers": n, "log_likelihood": ll,
            "aic": 2 * k - 2 * ll, "bic": k * math.log(n) - 2 * ll}


def _likelihood_ratio(fit: pd.DataFrame, nested: Sequence[Sequence[Any]]) -> pd.DataFrame:
    from scipy import stats

    rows = []
    for pair in nested:
        if len(pair) not in (2, 3):
            raise ValueError(f"each nested entry is (restricted, general[, df]), got {pair!r}.")
        restricted, general = pair[0], pair[1]
        for name in (restricted, general):
            if name not in fit.index:
                raise ValueError(f"nested names model {name!r}, not among {list(fit.index)}.")
        df = (int(pair[2]) if len(pair) == 3
              else int(fit.at[general, "n_params"] - fit.at[restricted, "n_params"]))
        if df <= 0:
            raise ValueError(
                f"{restricted!r} in {general!r}: {df} degree(s) of freedom; a restricted model "
                "has fewer free parameters than the general one (pass (restricted, general, df) "
                "when n_params does not show it)."
            )
        stat = 2.0 * (fit.at[general, "log_likelihood"] - fit.at[restricted, "log_likelihood"])
        rows.append({"restricted": restricted, "general": general, "statistic": stat,
                     "df": df, "p_value": float(stats.chi2.sf(max(stat, 0.0), df))})
    return pd.DataFrame(rows, columns=["restricted", "general", "statistic", "df", "p_value"])


def _repeat_counts(model: Any, x: np.ndarray, big_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Observed and expected customers with 0..MAX_COUNT-1 and MAX_COUNT+ repeat purchases."""
    observed = np.bincount(np.minimum(x, MAX_COUNT).astype(np.int64), minlength=MAX_COUNT + 1)
    if not callable(getattr(model, "probability_of_purchases", None)):
        return observed.astype(float), np.full(MAX_COUNT + 1, np.nan)
    ages, weights = np.unique(big_t, return_counts=True)
    ks = np.arange(MAX_COUNT)
    probs = np.asarray(model.probability_of_purchases(np.repeat(ks, len(ages)),
                                                      np.tile(ages, MAX_COUNT)), dtype=float)
    expected = probs.reshape(MAX_COUNT, len(ages)) @ weights
    expected = np.append(expected, len(x) - expected.sum())
    return observed.astype(float), expected


def compare_models(
    models: Mapping[str, TransactionModel],
    calibration: pd.DataFrame,
    *,
    nested: Sequence[Sequence[Any]] | None = None,
    by: str = "mae",
) -> ModelComparison:
    """Fit statistics and holdout accuracy of purchase-count models on the same customers.

    Parameters
    ----------
    models : mapping of str to fitted model
        Names and models fitted on the calibration columns of ``calibration`` (e.g.
        ``BetaGeo().fit(cal, frequency="frequency_cal", recency="recency_cal", T="T_cal")``);
        each needs ``params_``, ``log_likelihood_``, ``conditional_expected_purchases`` and
        ``probability_alive``, and ``probability_of_purchases`` for the repeat-count table
        (NaN without it). ``n_params_``, when a model has it, overrides ``len(params_)``.
    calibration : DataFrame
        :func:`retention.calibration_and_holdout` output: ``frequency_cal``, ``recency_cal``,
        ``T_cal``, ``frequency_holdout`` and ``duration_holdout``, in the models' time unit.
    nested : sequence of (restricted, general) or (restricted, general, df), optional
        Pairs of model names to test by likelihood ratio, the first a special case of the
        second; ``df`` defaults to the difference in ``n_params``. BG/NBD, MBG/NBD and
        Pareto/NBD are *not* nested in one another: each has four free parameters, and each
        holds the NBD (no dropout) only as a limit at the edge of its parameter space, where
        the chi-square p-value is conservative (the null distribution is a mixture). Nested
        pairs are a model and the same model with parameters held fixed or tied.
    by : str, default "mae"
        Column that chooses ``best``: a scorecard column or ``log_likelihood``, ``aic``,
        ``bic`` (see :meth:`ModelComparison.best_by`).

    Returns
    -------
    ModelComparison

    Raises
    ------
    ValueError
        No model, missing columns, impossible histories, a model fitted on a different number
        of customers, unknown names in ``nested`` or an unknown ``by``.
    TypeError
        A model without the prediction methods.

    Notes
    -----
    The models predict expectations, and the expectation minimises the squared error, not the
    absolute one: holdout counts are skewed (most customers buy nothing), so MAE rewards a
    model that predicts a little low, and on data simulated from a known model the true model
    wins on RMSE, AIC/BIC and the repeat-count distance but not always on MAE. Choose
    ``by="rmse"`` to rank expectations.

    Holding out does not make being active the same as being alive: a customer alive at the
    end of calibration may still make no purchase in the holdout, so in a well-calibrated
    model the share active stays below the mean P(alive) in every decile, by more for short
    holdouts and slow buyers. Compare models on the same table rather than reading the gap
    as an absolute error.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> cal = pd.DataFrame({"frequency_cal": [0, 0, 1, 1, 2, 2, 4, 7] * 50,
    ...                     "recency_cal": [0, 0, 30, 5, 35, 10, 36, 37] * 50,
    ...                     "T_cal": [39, 30, 39, 38, 39, 37, 39, 39] * 50,
    ...                     "frequency_holdout": [0, 1, 1, 0, 2, 0, 3, 5] * 50,
    ...                     "duration_holdout": [39.0] * 400})
    >>> cols = dict(frequency="frequency_cal", recency="recency_cal", T="T_cal")
    >>> res = compare_models({"bg": BetaGeo().fit(cal, **cols),
    ...                       "bg_penalized": BetaGeo(penalizer=0.1).fit(cal, **cols)}, cal)
    >>> list(res.fit.columns)
    ['n_params', 'n_customers', 'log_likelihood', 'aic', 'bic', 'delta_aic']
    >>> res.best in ("bg", "bg_penalized")
    True
    """
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping of names to fitted models.")
    require_columns(calibration, list(CALIBRATION_COLUMNS), what="the calibration table",
                    hint="Build it with retention.calibration_and_holdout.")
    n = len(calibration)
    if n == 0:
        raise ValueError("the calibration table has no rows.")
    x, tx, big_t, actual, duration = (
        np.asarray(calibration[c], dtype=np.float64) for c in CALIBRATION_COLUMNS)
    check_histories(x, tx, big_t, index=calibration.index,
                    names=("frequency_cal", "recency_cal", "T_cal"))
    bad = ~np.isfinite(actual) | (actual < 0) | ~np.isfinite(duration) | (duration < 0)
    if bad.any():
        raise ValueError(f"frequency_holdout / duration_holdout have {int(bad.sum())} missing, "
                         f"negative or infinite value(s), e.g. at rows "
                         f"{list(calibration.index[bad][:3])}.")
    active = actual > 0
    n_top = max(1, math.ceil(n / 10))
    mean_actual = actual.mean()

    fit_rows, score_rows, alive_tables, count_tables = [], [], [], []
    for name, model in models.items():
        require_methods(model, TransactionModel, f"model {name!r}",
                        "conditional_expected_purchases", "probability_alive")
        fit_rows.append(_fit_row(name, model, n))
        pred = np.asarray(model.conditional_expected_purchases(duration, x, tx, big_t),
                          dtype=float)
        err = pred - actual
        top = np.argsort(-pred, kind="stable")[:n_top]
        alive = np.asarray(model.probability_alive(x, tx, big_t), dtype=float)
        decile = _rank_groups(alive)
        cal = (pd.DataFrame({"decile": decile, "p": alive, "active": active})
               .groupby("decile", sort=True)
               .agg(customers=("p", "size"), mean_probability_alive=("p", "mean"),
                    share_active=("active", "mean")).reset_index())
        cal.insert(0, "model", name)
        alive_tables.append(cal)
        observed, expected = _repeat_counts(model, x, big_t)
        count_tables.append(pd.DataFrame({
            "model": name,
            "repeat_purchases": [str(k) for k in range(MAX_COUNT)] + [f"{MAX_COUNT}+"],
            "observed": observed, "expected": expected}))
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = float(np.sum((observed - expected) ** 2 / expected))
        total_pred, total_actual = float(pred.sum()), float(actual.sum())
        score_rows.append({
            "model": name,
            "mae": float(np.abs(err).mean()),
            "rmse": float(np.sqrt(np.mean(err ** 2))),
            "bias": float(err.mean()),
            "predicted_total": total_pred,
            "actual_total": total_actual,
            "aggregate_error": total_pred / total_actual - 1 if total_actual > 0 else np.nan,
            "top_decile_lift": (float(actual[top].mean() / mean_actual) if mean_actual > 0
                                else np.nan),
            "alive_calibration_error": float(np.average(
                np.abs(cal["mean_probability_alive"] - cal["share_active"]),
                weights=cal["customers"])),
            "repeat_count_distance": distance,
        })
    fit = pd.DataFrame(fit_rows).set_index("model")
    fit["delta_aic"] = fit["aic"] - fit["aic"].min()
    scorecard = pd.DataFrame(score_rows).set_index("model")
    lr = _likelihood_ratio(fit, nested or [])
    best = _best(fit.join(scorecard), by)
    return ModelComparison(
        fit=fit, likelihood_ratio=lr, scorecard=scorecard,
        alive_calibration=pd.concat(alive_tables, ignore_index=True),
        repeat_counts=pd.concat(count_tables, ignore_index=True), best=best, by=by)
