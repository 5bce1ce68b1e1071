"""Fitting machinery shared by the customer-base models (BG/NBD, Gamma-Gamma).

* input checks on a per-customer summary, with errors that name the column, the count of bad
  rows and a few of their index labels (the wording of every check in the package,
  :mod:`retention.checks`);
* collapsing identical rows into weights;
* maximum likelihood on log-parameters with :func:`scipy.optimize.minimize` and an analytic
  gradient, a convergence check, and standard errors from the Hessian of the log-likelihood.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from retention.checks import bad_rows, examples, require_columns

#: Optimisation runs on log-parameters kept inside this box; a maximum on its edge means the
#: data do not identify the model.
LOG_BOUND = 25.0
#: Largest standard error of a log-parameter (se / value) that still counts as identified.
MAX_LOG_SE = 10.0


class ConvergenceError(RuntimeError):
    """The likelihood maximisation did not converge to an interior maximum."""


class NotFittedError(ValueError, AttributeError):
    """A prediction method was called before ``fit``."""


def summary_columns(
    summary: pd.DataFrame,
    columns: Mapping[str, str],
    weights: Any = None,
) -> tuple[dict[str, np.ndarray], np.ndarray, pd.Index]:
    """Check and extract the numeric columns a model is fitted on.

    Parameters
    ----------
    summary : DataFrame
        One row per customer (or per group of identical customers when ``weights`` is given).
    columns : mapping
        Argument name -> column name, e.g. ``{"frequency": "frequency"}``.
    weights : str, array-like or None
        Column name or array of non-negative row weights (number of customers per row).

    Returns
    -------
    values : dict of float arrays keyed by argument name
    weights : float array
    index : the summary's index
    """
    require_columns(
        summary,
        columns,
        what="summary",
        hint="Build it with retention.rfm_summary or pass the column names.",
    )
    if len(summary) == 0:
        raise ValueError("the summary is empty: there is no customer to fit on.")
    values: dict[str, np.ndarray] = {}
    for arg, col in columns.items():
        values[arg] = finite_nonnegative(summary[col], col, summary.index)
    if weights is None:
        w = np.ones(len(summary))
    else:
        name = weights if isinstance(weights, str) else "weights"
        if isinstance(weights, str):
            require_columns(summary, what="summary", weights=weights)
            weights = summary[weights]
        w = finite_nonnegative(weights, name, summary.index)
        if len(w) != len(summary):
            raise ValueError(
                f"weights has {len(w)} values but the summary has {len(summary)} rows."
            )
        if w.sum() <= 0:
            raise ValueError("weights sum to zero: there is no customer to fit on.")
    return values, w, summary.index


def finite_nonnegative(values: Any, name: str, index: pd.Index | None = None) -> np.ndarray:
    """Float array of ``values``; ``ValueError`` naming missing, infinite or negative entries."""
    series = values if isinstance(values, pd.Series) else None
    if series is not None and not pd.api.types.is_numeric_dtype(series.dtype):
        raise ValueError(f"column {name!r} must be numeric, got dtype {series.dtype}.")
    try:
        arr = np.asarray(
            series.to_numpy(dtype=np.float64, na_value=np.nan) if series is not None else values,
            dtype=np.float64,
        ).ravel()
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name!r} must be numeric: {err}") from err
    labels = index if index is not None and len(index) == len(arr) else pd.RangeIndex(len(arr))
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(bad_rows(name, "missing or infinite value(s)", bad, labels) + ".")
    neg = arr < 0
    if neg.any():
        raise ValueError(bad_rows(name, "negative value(s)", neg, labels) + ".")
    return arr


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of products with NumPy's pairwise summation.

    Used instead of ``np.dot`` in the likelihoods: a BLAS dot product may run multi-threaded,
    which is slow on short vectors when the cores are busy and makes the result (and so the
    optimiser's path) depend on the thread count.
    """
    return float(np.multiply(a, b).sum())


def collapse(
    *columns: np.ndarray, weights: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Merge identical rows of ``columns`` into one row each, summing their weights.

    Codes are built one column at a time with :func:`pandas.factorize`, so the combined key
    never overflows.

    Returns
    -------
    columns : list of arrays, the distinct rows (in order of first appearance)
    weights : summed weight of each distinct row
    codes : the distinct row of each input row
    """
    code = np.zeros(len(weights), dtype=np.int64)
    for col in columns:
        col_code, col_uniques = pd.factorize(col)
        code, _ = pd.factorize(code * len(col_uniques) + col_code)
    n = int(code.max()) + 1 if len(code) else 0
    first = np.full(n, len(code), dtype=np.int64)
    np.minimum.at(first, code, np.arange(len(code)))
    merged = np.bincount(code, weights=weights, minlength=n)
    return [col[first] for col in columns], merged, code


def fit_log_params(
    neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    names: tuple[str, ...],
    scale: float,
    model: str,
) -> tuple[np.ndarray, optimize.OptimizeResult]:
    """Minimise a negative log-likelihood over positive parameters, on the log scale.

    Parameters
    ----------
    neg_ll_grad : callable
        ``theta -> (negative log-likelihood, gradient w.r.t. theta)`` at natural parameters.
    x0 : array
        Starting natural parameters (positive).
    names : tuple of str
        Parameter names, for messages.
    scale : float
        Number of customers; the objective is divided by it so that tolerances do not depend
        on the data size.
    model : str
        Model name, for messages.

    Returns
    -------
    theta : array of fitted natural parameters
    result : the :class:`scipy.optimize.OptimizeResult`

    Raises
    ------
    ConvergenceError
        When the optimiser fails or ends on the edge of the parameter box.
    """

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        value, grad = neg_ll_grad(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(phi)
        return value / scale, grad * theta / scale

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(x0)
    result = optimize.minimize(
        objective,
        np.log(x0),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-9},
    )
    phi = result.x
    grad_norm = float(np.max(np.abs(result.jac))) if result.jac is not None else np.inf
    on_edge = [n for n, p in zip(names, phi, strict=True) if abs(p) > LOG_BOUND - 1e-3]
    if on_edge:
        raise ConvergenceError(
            f"{model} fit did not converge: parameter(s) {on_edge} ran to the edge of the search "
            f"range (estimates {dict(zip(names, np.exp(phi).round(6).tolist(), strict=True))}). "
            "The data do not identify the model; check that the summary has enough repeat "
            "buyers and that recency/T are in a sensible time unit."
        )
    if not np.isfinite(result.fun) or (not result.success and grad_norm > 1e-5):
        raise ConvergenceError(
            f"{model} fit did not converge: {result.message} (largest scaled gradient "
            f"{grad_norm:.2e} after {result.nit} iterations). Check the data for degenerate "
            "input, e.g. all values identical."
        )
    return np.exp(phi), result


def hessian_standard_errors(
    neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
) -> np.ndarray:
    """Standard errors of the natural parameters from the observed information matrix.

    The Hessian of the negative log-likelihood is the central-difference Jacobian of the
    analytic gradient (relative step 1e-5), symmetrised. Entries that are not identified
    (non positive-definite information) are NaN.
    """
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        hess[:, j] = (neg_ll_grad(up)[1] - neg_ll_grad(down)[1]) / (2 * h)
    hess = (hess + hess.T) / 2
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)


def broadcast_inputs(**inputs: Any) -> tuple[dict[str, np.ndarray], pd.Index | None, bool]:
    """Broadcast array-like arguments of a prediction method.

    Returns the float arrays, the index of the first pandas Series among the inputs (to
    label the result) and whether every input was a scalar.
    """
    index = next((v.index for v in inputs.values() if isinstance(v, pd.Series)), None)
    scalar = all(np.ndim(v) == 0 for v in inputs.values())
    arrays = {}
    for name, value in inputs.items():
        arr = np.asarray(value.to_numpy() if isinstance(value, pd.Series) else value,
                         dtype=np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} has {int(bad.sum())} missing or infinite value(s).")
        neg = arr < 0
        if neg.any():
            raise ValueError(
                f"{name} has {int(neg.sum())} negative value(s), e.g. "
                f"{examples(arr.ravel(), neg.ravel())}."
            )
        arrays[name] = arr
    shaped = np.broadcast_arrays(*arrays.values())
    return dict(zip(arrays, shaped, strict=True)), index, scalar


def shape_output(values: np.ndarray, index: pd.Index | None, scalar: bool, name: str) -> Any:
    """A float for scalar inputs, a Series when an input was a Series, else an array."""
    if scalar:
        return float(values)
    if index is not None and values.ndim == 1 and len(values) == len(index):
        return pd.Series(values, index=index, name=name)
    return values


class FittedModel:
    """Common parts of the models: fitted-state check, parameter table, repr."""

    _param_names: tuple[str, ...] = ()
    #: Model name in messages.
    _model_name: str = ""
    #: How to fit the model, in the not-fitted message.
    _fit_hint: str = ".fit(summary)"

    def _check_fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call {self._fit_hint} first."
            )
        return params

    def _fit_likelihood(
        self,
        neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
        x0: np.ndarray,
        n_customers: float,
    ) -> None:
        """Maximise the likelihood from ``x0`` and set the fitted attributes.

        ``params_``, ``log_likelihood_``, ``standard_errors_``, ``n_customers_`` and
        ``optimizer_result_``; :class:`ConvergenceError` when there is no proper maximum.
        """
        names = self._param_names
        theta, result = fit_log_params(neg_ll_grad, x0, names, n_customers, self._model_name)
        self.params_ = dict(zip(names, map(float, theta), strict=True))
        self.log_likelihood_ = float(-neg_ll_grad(theta)[0])
        se = hessian_standard_errors(neg_ll_grad, theta)
        # flat: no curvature, or a log-scale standard error so wide that the data allow the
        # parameter to be anything over many orders of magnitude
        flat = np.isnan(se) | (se / theta > MAX_LOG_SE)
        if flat.any():
            bad = [n for n, f in zip(names, flat, strict=True) if f]
            estimates = {n: float(f"{t:.6g}") for n, t in zip(names, theta, strict=True)}
            raise ConvergenceError(
                f"{type(self).__name__} fit did not reach a proper maximum: the likelihood is "
                f"flat in {bad} (information matrix not positive definite; estimates "
                f"{estimates}). The data do not identify the model, e.g. too few customers or "
                "no sign of the behaviour the parameter describes."
            )
        self.standard_errors_ = dict(zip(names, map(float, se), strict=True))
        self.n_customers_ = float(n_customers)
        self.optimizer_result_ = result

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95% Wald intervals.

        Examples
        --------
        >>> from retention.models import GammaGamma
        >>> import numpy as np
        >>> import pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> data = pd.DataFrame({"frequency": rng.integers(1, 6, 300),
        ...                      "monetary_value": rng.gamma(4.0, 10.0, 300)})
        >>> list(GammaGamma().fit(data).summary.columns)
        ['coef', 'se', 'lower_95', 'upper_95']
        """
        params = self._check_fitted()
        coef = pd.Series(params, name="coef")
        se = pd.Series(self.standard_errors_, name="se")
        return pd.DataFrame(
            {"coef": coef, "se": se, "lower_95": coef - 1.959964 * se,
             "upper_95": coef + 1.959964 * se}
        )

    def __repr__(self) -> str:
        params = getattr(self, "params_", None)
        if params is None:
            return f"{type(self).__name__}()"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in params.items())
        n = getattr(self, "n_customers_", None)
        return f"{type(self).__name__}({shown}" + (f"; n={n:g})" if n is not None else ")")
