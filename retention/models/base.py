"""What every model shares: the one fitting path (BG/NBD, Gamma-Gamma, sBG) and the
protocols (:class:`TransactionModel`, :class:`SpendModel`) that CLV code accepts.

* :class:`TransactionModel` and :class:`SpendModel`: the methods prediction and diagnostics
  call, so any model that has them works, with :func:`require_methods` to say what is missing;
* input checks on a per-customer summary, with errors that name the column, the count of bad
  rows and a few of their index labels (the wording of every check in the package,
  :mod:`retention.checks`);
* collapsing identical rows into weights;
* maximum likelihood on log-parameters with :func:`scipy.optimize.minimize` and an analytic
  gradient (:func:`fit_log_params`, :meth:`FittedModel._fit_likelihood`), a convergence
  check, and standard errors from the Hessian of the log-likelihood.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import optimize

from retention.checks import examples, numeric_values, require_columns

#: Optimisation runs on log-parameters kept inside this box; a maximum on its edge means the
#: data do not identify the model.
LOG_BOUND = 25.0
#: Largest standard error of a log-parameter (se / value) that still counts as identified.
MAX_LOG_SE = 10.0


class ConvergenceError(RuntimeError):
    """The likelihood maximisation did not converge to an interior maximum."""


class NotFittedError(ValueError, AttributeError):
    """A prediction method was called before ``fit``."""


class TransactionModel(Protocol):
    """What CLV prediction and the model diagnostics need of a purchase-count model.

    :class:`retention.models.BetaGeo` is one; any object with these methods works (they take
    and return arrays or Series, in the time unit of the summary the model was fitted on).
    An optional ``time_unit_`` attribute ("D", "W", "M" or "Q") names that unit.
    """

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any,
                                       T: Any) -> Any:
        """Expected purchases in the next ``t`` time units of a customer with this history."""
        ...

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with this history is still active."""
        ...

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected repeat purchases of a new customer in their first ``t`` time units."""
        ...


class SpendModel(Protocol):
    """What CLV prediction needs of an order-value model.

    :class:`retention.models.GammaGamma` is one; any object with this method works.
    """

    def expected_average_order_value(self, frequency: Any, monetary_value: Any) -> Any:
        """Expected value of a customer's future orders given their past orders."""
        ...


def require_methods(model: Any, protocol: type, name: str, *methods: str) -> None:
    """Raise ``TypeError`` unless ``model`` has the methods of ``protocol`` a function uses.

    Parameters
    ----------
    model : object
        The model passed.
    protocol : type
        :class:`TransactionModel` or :class:`SpendModel`, for the message.
    name : str
        The argument, for the message (``"bgf"``).
    *methods : str
        The methods needed; default every method of ``protocol``.

    Examples
    --------
    >>> require_methods(object(), SpendModel, "ggf")
    Traceback (most recent call last):
    ...
    TypeError: ggf must be a fitted order-value model (a SpendModel such as GammaGamma), got \
object without expected_average_order_value().
    """
    if not methods:
        methods = tuple(m for m, v in vars(protocol).items()
                        if callable(v) and not m.startswith("_"))
    missing = [m for m in methods if not callable(getattr(model, m, None))]
    if missing:
        kind, example = _PROTOCOL_NAMES[protocol]
        raise TypeError(
            f"{name} must be a fitted {kind} (a {protocol.__name__} such as {example}), got "
            f"{type(model).__name__} without {', '.join(m + '()' for m in missing)}."
        )
    if isinstance(model, FittedModel) and getattr(model, "params_", None) is None:
        raise NotFittedError(f"{name} ({type(model).__name__}) is not fitted yet; call .fit first.")


_PROTOCOL_NAMES: dict[type, tuple[str, str]] = {
    TransactionModel: ("purchase-count model", "BetaGeo"),
    SpendModel: ("order-value model", "GammaGamma"),
}


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
    """Float array of a column or array-like (:func:`retention.checks.numeric_values`)."""
    if not isinstance(values, pd.Series):
        try:
            arr = np.asarray(values, dtype=np.float64).ravel()
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name!r} must be numeric: {err}") from err
        labels = index if index is not None and len(index) == len(arr) else None
        values = pd.Series(arr, index=labels)
    return numeric_values(values, name, nonnegative=True)


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


#: Advice of the "ran to the edge" message when the model gives none.
EDGE_HINT = (
    "check that the summary has enough repeat buyers and that recency/T are in a sensible "
    "time unit."
)


def fit_log_params(
    neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    names: tuple[str, ...],
    scale: float,
    model: str,
    *,
    tol: float = 1e-9,
    max_iter: int = 2000,
    limit_check: Callable[[np.ndarray], None] | None = None,
    edge_hint: str = EDGE_HINT,
) -> tuple[np.ndarray, optimize.OptimizeResult]:
    """Minimise a negative log-likelihood over positive parameters, on the log scale.

    Parameters
    ----------
    neg_ll_grad : callable
        ``theta -> (negative log-likelihood, gradient w.r.t. theta)`` at natural parameters.
    x0 : array
        Starting natural parameters (positive): one vector, or one row per starting point
        (the best maximum of the runs is kept).
    names : tuple of str
        Parameter names, for messages.
    scale : float
        Number of customers; the objective is divided by it so that tolerances do not depend
        on the data size.
    model : str
        Model name, for messages.
    tol : float, default 1e-9
        Gradient tolerance of the optimiser (on the scaled objective).
    max_iter : int, default 2000
        Maximum number of optimiser iterations of each run.
    limit_check : callable, optional
        Called with the best estimates before the generic checks; raises
        :class:`ConvergenceError` when the maximum lies at a limit of the model that the
        model can name (e.g. the sBG's geometric limit).
    edge_hint : str
        Advice closing the message when a parameter ends on the edge of the search box.

    Returns
    -------
    theta : array of fitted natural parameters
    result : the :class:`scipy.optimize.OptimizeResult` of the best run

    Raises
    ------
    ConvergenceError
        When the optimiser fails or ends on the edge of the parameter box.

    Examples
    --------
    >>> import numpy as np
    >>> def nll(theta):  # Poisson counts 2, 4 and 6: the rate's estimate is their mean
    ...     return 3 * theta[0] - 12 * np.log(theta[0]), np.array([3 - 12 / theta[0]])
    >>> theta, result = fit_log_params(nll, np.array([[1.0], [10.0]]), ("rate",), 3.0, "Poisson")
    >>> round(float(theta[0]), 6)
    4.0
    """

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        value, grad = neg_ll_grad(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(phi)
        return value / scale, grad * theta / scale

    starts = np.atleast_2d(np.asarray(x0, dtype=np.float64))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * starts.shape[1]
    result = None
    for start in starts:
        run = optimize.minimize(
            objective,
            np.clip(np.log(start), -LOG_BOUND + 1, LOG_BOUND - 1),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": 1e-15, "gtol": tol},
        )
        if result is None or (np.isfinite(run.fun) and not run.fun >= result.fun):
            result = run
    assert result is not None
    phi = result.x
    if limit_check is not None and np.isfinite(result.fun):
        limit_check(np.exp(phi))
    grad_norm = float(np.max(np.abs(result.jac))) if result.jac is not None else np.inf
    on_edge = [n for n, p in zip(names, phi, strict=True) if abs(p) > LOG_BOUND - 1e-3]
    if on_edge:
        raise ConvergenceError(
            f"{model} fit did not converge: parameter(s) {on_edge} ran to the edge of the "
            "parameter space (estimates "
            f"{dict(zip(names, np.exp(phi).round(6).tolist(), strict=True))}). "
            f"The data do not identify the model; {edge_hint}"
        )
    if not np.isfinite(result.fun) or (not result.success and grad_norm > 1e-5):
        limit = f", the limit max_iter={max_iter}" if result.nit >= max_iter else ""
        raise ConvergenceError(
            f"{model} fit did not converge: {result.message} (largest scaled gradient "
            f"{grad_norm:.2e} after {result.nit} iterations{limit}). Check the data for "
            "degenerate input, e.g. all values identical."
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
        **options: Any,
    ) -> None:
        """Maximise the likelihood from ``x0`` and set the fitted attributes.

        ``params_``, ``log_likelihood_``, ``standard_errors_``, ``n_customers_`` and
        ``optimizer_result_``; :class:`ConvergenceError` when there is no proper maximum.
        ``x0`` may hold several starting points (one a row); ``options`` are passed to
        :func:`fit_log_params` (``tol``, ``max_iter``, ``limit_check``, ``edge_hint``).
        """
        names = self._param_names
        theta, result = fit_log_params(neg_ll_grad, x0, names, n_customers, self._model_name,
                                       **options)
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
