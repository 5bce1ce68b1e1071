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

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from retention.checks import examples, numeric_values, require_columns

if TYPE_CHECKING:  # scipy is imported by the functions that compute
    from scipy import optimize

#: Optimisation runs on log-parameters kept inside this box; a maximum on its edge means the
#: data do not identify the model.
LOG_BOUND = 25.0
#: A failed fit whose log-parameter (relative to its scale in the data) is beyond this has
#: a parameter running away, named in the error.
RUNAWAY = 10.0
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
    "check that the summary has enough repeat buyers; on little data a penalizer (e.g. "
    "penalizer=0.01) keeps the estimates finite."
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
    units: np.ndarray | None = None,
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
    units : array, optional
        The scale of each parameter in the data's units (e.g. the mean order value for a
        parameter in money, the mean customer age for one in time): the search runs on
        ``log(theta / units)``, so the fit does not depend on the unit of money or time the
        data come in. Default 1.

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

    starts = np.atleast_2d(np.asarray(x0, dtype=np.float64))
    log_units = np.zeros(starts.shape[1]) if units is None else np.log(
        np.asarray(units, dtype=np.float64))

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi + log_units)
        value, grad = neg_ll_grad(theta)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(phi)
        return value / scale, grad * theta / scale

    from scipy import optimize

    bounds = [(-LOG_BOUND, LOG_BOUND)] * starts.shape[1]
    result = None
    for start in starts:
        run = optimize.minimize(
            objective,
            np.clip(np.log(start) - log_units, -LOG_BOUND + 1, LOG_BOUND - 1),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": max_iter, "ftol": 1e-15, "gtol": tol},
        )
        if result is None or (np.isfinite(run.fun) and not run.fun >= result.fun):
            result = run
    assert result is not None
    phi = result.x
    theta = np.exp(phi + log_units)
    if limit_check is not None and np.isfinite(result.fun):
        limit_check(theta)
    grad_norm = float(np.max(np.abs(result.jac))) if result.jac is not None else np.inf
    on_edge = [n for n, p in zip(names, phi, strict=True) if abs(p) > LOG_BOUND - 1e-3]
    if on_edge:
        raise ConvergenceError(
            f"{model} fit did not converge: parameter(s) {on_edge} ran to the edge of the "
            "parameter space (estimates "
            f"{dict(zip(names, [float(f'{t:.6g}') for t in theta], strict=True))}). "
            f"The data do not identify the model; {edge_hint}"
        )
    failed = not np.isfinite(result.fun) or (not result.success and grad_norm > 1e-5)
    running = [n for n, p in zip(names, phi, strict=True) if abs(p) > RUNAWAY]
    if failed and running:
        raise ConvergenceError(
            f"{model} fit did not converge: parameter(s) {running} ran away (estimates "
            f"{dict(zip(names, [float(f'{t:.6g}') for t in theta], strict=True))}, more than "
            f"e^{RUNAWAY:.0f} times their scale in the data). The data do not identify the "
            f"model; {edge_hint}"
        )
    if failed:
        limit = f", the limit max_iter={max_iter}" if result.nit >= max_iter else ""
        raise ConvergenceError(
            f"{model} fit did not converge: {result.message} (largest scaled gradient "
            f"{grad_norm:.2e} after {result.nit} iterations{limit}). Check the data for "
            "degenerate input, e.g. all values identical."
        )
    return theta, result


#: Default ``tol`` and ``max_iter`` of :func:`fit_log_params`, recorded in ``fit_options_``.
_FIT_DEFAULTS: dict[str, Any] = {
    name: p.default for name, p in inspect.signature(fit_log_params).parameters.items()
    if name in ("tol", "max_iter")
}


def hessian_standard_errors(
    neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
) -> np.ndarray:
    """Standard errors of the natural parameters from the observed information matrix.

    The Hessian of the negative log-likelihood is the central-difference Jacobian of the
    analytic gradient (relative step 1e-5), symmetrised. Entries that are not identified
    (non positive-definite information) are NaN.
    """
    cov = hessian_covariance(neg_ll_grad, theta)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)


def hessian_covariance(
    neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    theta: np.ndarray,
) -> np.ndarray:
    """Asymptotic covariance matrix of the natural parameters: the inverse observed information.

    The Hessian of the negative log-likelihood is the central-difference Jacobian of the
    analytic gradient (relative step 1e-5), symmetrised; a singular Hessian gives a matrix of
    NaN. At the maximum the covariance of the log-parameters is
    ``cov / outer(theta, theta)`` (:func:`log_covariance`).

    Examples
    --------
    >>> import numpy as np
    >>> def nll(theta):  # Poisson counts 2, 4 and 6: var(rate) = rate / 3 at the estimate 4
    ...     return 3 * theta[0] - 12 * np.log(theta[0]), np.array([3 - 12 / theta[0]])
    >>> round(float(hessian_covariance(nll, np.array([4.0]))[0, 0]), 6)
    1.333333
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
        return np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)


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
            raise ValueError(
                f"{name} has {int(bad.sum())} missing or infinite value(s), e.g. at "
                f"{_where(bad, index)}."
            )
        neg = arr < 0
        if neg.any():
            raise ValueError(
                f"{name} has {int(neg.sum())} negative value(s), e.g. at {_where(neg, index)} "
                f"(values {examples(arr.ravel(), neg.ravel())})."
            )
        arrays[name] = arr
    shaped = np.broadcast_arrays(*arrays.values())
    return dict(zip(arrays, shaped, strict=True)), index, scalar


def _where(mask: np.ndarray, index: pd.Index | None) -> str:
    """``"rows ['a', 'c']"`` (labels of a 1-d input with an index) or ``"positions [0, 2]"``."""
    mask = np.asarray(mask)
    if index is not None and mask.ndim == 1 and len(index) == len(mask):
        return f"rows {examples(index, mask)}"
    flat = np.flatnonzero(mask.ravel())
    return f"positions {[int(i) for i in flat[:5]]}"


def check_histories(
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    index: pd.Index | None = None,
    names: tuple[str, str, str] = ("frequency", "recency", "T"),
) -> None:
    """Refuse customer histories that cannot occur.

    Every prediction method that takes a history (frequency x, recency t_x, age T) calls it,
    and so does :func:`retention.models.predict_clv`. A history is impossible when a value is
    missing, infinite or negative, when ``recency > T`` (beyond a relative rounding of 1e-12)
    or when ``frequency`` is 0 but ``recency`` is not (recency is the time of the last
    *repeat* purchase). Each problem gives a ``ValueError`` naming the argument, the count
    and a few examples (row labels when the input was a Series, else positions).

    Parameters
    ----------
    frequency, recency, T : float or array-like
        Histories (broadcast together).
    index : Index, optional
        Row labels for the messages.
    names : tuple of str
        Names of the three arguments (or columns) in the messages.

    Raises
    ------
    ValueError
        On the first kind of impossible history found.

    Examples
    --------
    >>> check_histories([0, 2], [0.0, 5.0], [10.0, 10.0])      # fine
    >>> check_histories([0, 2], [3.0, 5.0], [10.0, 10.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: recency has 1 value(s) above 0 while frequency is 0 (...), e.g. at ...
    >>> check_histories(2, 12.0, 10.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: recency has 1 value(s) greater than T, e.g. at positions [0]: recency=12.0 ...
    """
    fx, ftx, fT = names
    if index is None:
        index = next((v.index for v in (frequency, recency, T) if isinstance(v, pd.Series)),
                     None)
    arrays = []
    for name, value in zip(names, (frequency, recency, T), strict=True):
        raw = value.to_numpy() if isinstance(value, pd.Series) else value
        try:
            arr = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric: {err}") from err
        arrays.append(arr)
    try:
        x, tx, big_t = np.broadcast_arrays(*arrays)
    except ValueError as err:
        raise ValueError(f"{fx}, {ftx} and {fT} have incompatible shapes: {err}") from err
    for name, arr in zip(names, (x, tx, big_t), strict=True):
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} has {int(bad.sum())} missing or infinite value(s), e.g. "
                             f"at {_where(bad, index)}.")
        bad = arr < 0
        if bad.any():
            raise ValueError(f"{name} has {int(bad.sum())} negative value(s), e.g. at "
                             f"{_where(bad, index)} (values {examples(arr.ravel(), bad.ravel())}).")
    late = tx > big_t * (1 + 1e-12)
    if late.any():
        pairs = ", ".join(f"{ftx}={a!r} with {fT}={b!r}" for a, b in zip(
            examples(tx.ravel(), late.ravel()), examples(big_t.ravel(), late.ravel()),
            strict=True))
        raise ValueError(
            f"{ftx} has {int(late.sum())} value(s) greater than {fT}, e.g. at "
            f"{_where(late, index)}: {pairs}; {ftx} (time of the last purchase) cannot exceed "
            f"{fT} (time since the first)."
        )
    lone = (x == 0) & (tx > 0)
    if lone.any():
        raise ValueError(
            f"{ftx} has {int(lone.sum())} value(s) above 0 while {fx} is 0 (no repeat purchase, "
            f"so the last purchase is the first: {ftx} must be 0), e.g. at "
            f"{_where(lone, index)} (values {examples(tx.ravel(), lone.ravel())})."
        )


def broadcast_histories(
    frequency: Any, recency: Any, T: Any, **others: Any
) -> tuple[dict[str, np.ndarray], pd.Index | None, bool]:
    """:func:`broadcast_inputs` of ``others`` (first) and the history, then
    :func:`check_histories`: what a prediction method taking a history starts with.

    Examples
    --------
    >>> arrays, index, scalar = broadcast_histories(1, 5.0, 10.0, t=[1.0, 2.0])
    >>> arrays["recency"].tolist(), scalar
    ([5.0, 5.0], False)
    """
    arrays, index, scalar = broadcast_inputs(**others, frequency=frequency, recency=recency, T=T)
    check_histories(arrays["frequency"], arrays["recency"], arrays["T"], index=index)
    return arrays, index, scalar


def shape_output(values: np.ndarray, index: pd.Index | None, scalar: bool, name: str) -> Any:
    """A float for scalar inputs, a Series when an input was a Series, else an array.

    With parameters given as arrays (one row per draw, see :mod:`retention.models.intervals`)
    the values of scalar inputs stay an array.
    """
    if scalar and np.size(values) == 1:
        return float(values)
    if index is not None and values.ndim == 1 and len(values) == len(index):
        return pd.Series(values, index=index, name=name)
    return values


#: Model classes by class name, for :func:`retention.models.persistence.load_model`: every
#: subclass of :class:`FittedModel` is added when it is defined.
MODEL_REGISTRY: dict[str, type[FittedModel]] = {}


def check_penalizer(penalizer: Any) -> float:
    """``penalizer`` as a float, or a ``ValueError`` unless it is a finite number >= 0."""
    real = isinstance(penalizer, (int, float, np.integer, np.floating)) and not isinstance(
        penalizer, (bool, np.bool_))
    value = float(penalizer) if real else float("nan")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"penalizer must be a finite number >= 0 (0 for none), got "
                         f"{penalizer!r}.")
    return value


def penalized(
    neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    penalizer: float,
    n_customers: float,
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """``neg_ll_grad`` plus the L2 penalty ``n_customers * penalizer * sum(log(theta) ** 2)``.

    Per customer (the scale the optimiser works on) the objective is
    ``-log L / n + penalizer * sum(log(theta) ** 2)``: the form of lifetimes'
    ``penalizer_coef``, which adds the penalty to the mean negative log-likelihood, but on the
    log-parameters (shrinking every parameter towards 1) where lifetimes takes the squares of
    the natural parameters (shrinking them towards 0).

    Examples
    --------
    >>> import numpy as np
    >>> def nll(theta):
    ...     return 3 * theta[0] - 12 * np.log(theta[0]), np.array([3 - 12 / theta[0]])
    >>> value, grad = penalized(nll, 0.5, 3.0)(np.array([np.e]))
    >>> round(float(value - nll(np.array([np.e]))[0]), 12)   # 3 * 0.5 * log(e) ** 2
    1.5
    """

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = neg_ll_grad(theta)
        log_theta = np.log(theta)
        weight = n_customers * penalizer
        return (value + weight * float(np.sum(log_theta**2)),
                grad + weight * 2.0 * log_theta / theta)

    return objective


class FittedModel:
    """Common parts of the models: fitting, fitted-state check, parameter table, saving, repr.

    A model built on it gets, with no code of its own, an optional L2 ``penalizer`` (a
    constructor argument stored under that name), the covariance matrix of the estimates,
    :meth:`save` / :func:`retention.load_model` and the prediction intervals of
    :mod:`retention.models.intervals`. What it must provide:

    * ``_param_names`` (the order of ``params_``), ``_model_name``;
    * a ``fit`` that ends in :meth:`_fit_likelihood` (or sets ``params_``,
      ``standard_errors_`` and optionally ``covariance_`` itself);
    * a constructor whose arguments are stored as attributes of the same name (JSON values:
      numbers, strings, booleans, None) and that works with only those arguments;
    * predictions that read ``params_`` when called and depend only on the constructor
      arguments and public attributes ending in ``_`` (numbers, strings, None, dicts, lists,
      NumPy arrays, DataFrames: what :meth:`save` stores). Anything else that is not saved is
      named in ``_unsaved_attributes``;
    * methods taking customer histories call :func:`broadcast_histories` (or
      :func:`check_histories`);
    * optionally ``_vectorised_params = True`` when every prediction method also works with
      each parameter an array of shape ``(n_draws, 1)`` and inputs of shape ``(1, n)``,
      returning ``(n_draws, n)``: intervals then evaluate all draws at once;
    * optionally ``_expected_factorises = True`` when ``conditional_expected_purchases(t, x,
      t_x, T)`` is ``probability_alive(x, t_x, T)`` times a function of ``(t, x, T)`` only
      (BG/NBD, MBG/NBD, Pareto/NBD): intervals then evaluate that function once per distinct
      ``(x, T)`` for every month of the horizon.
    """

    _param_names: tuple[str, ...] = ()
    #: Model name in messages.
    _model_name: str = ""
    #: How to fit the model, in the not-fitted message.
    _fit_hint: str = ".fit(summary)"
    #: Fitted attributes that :meth:`save` leaves out (not needed to predict).
    _unsaved_attributes: tuple[str, ...] = ("optimizer_result_",)
    #: Whether prediction methods broadcast parameter arrays (one row per draw).
    _vectorised_params: bool = False
    #: Whether expected purchases are P(alive) times a function of (t, frequency, T).
    _expected_factorises: bool = False

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = check_penalizer(penalizer)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MODEL_REGISTRY[cls.__name__] = cls

    def save(self, path: Any) -> None:
        """Write the fitted model to a JSON file (:func:`retention.models.persistence.save_model`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from retention.models import BetaGeo
        >>> from retention.models.persistence import load_model
        >>> bgf = BetaGeo()
        >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "bgf.json"
        >>> bgf.save(path)
        >>> load_model(path).probability_alive(2, 5, 38) == bgf.probability_alive(2, 5, 38)
        True
        """
        from retention.models.persistence import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: Any) -> FittedModel:
        """Read a model written by :meth:`save`; ``ValueError`` if it holds another class."""
        from retention.models.persistence import load_model

        model = load_model(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}.")
        return model

    def _check_fitted(self) -> dict[str, float]:
        params = getattr(self, "params_", None)
        if params is None:
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call {self._fit_hint} first."
            )
        return params

    def _param_values(self) -> tuple[Any, ...]:
        """The fitted parameters in :attr:`_param_names` order (NotFittedError before a fit)."""
        params = self._check_fitted()
        return tuple(params[name] for name in self._param_names)

    def _fit_likelihood(
        self,
        neg_ll_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
        x0: np.ndarray,
        n_customers: float,
        *,
        penalizer: float | None = None,
        **options: Any,
    ) -> None:
        """Maximise the likelihood from ``x0`` and set the fitted attributes.

        ``params_``, ``log_likelihood_``, ``standard_errors_``, ``covariance_`` (a DataFrame,
        natural parameters), ``n_customers_``, ``fit_options_`` and ``optimizer_result_``;
        :class:`ConvergenceError` when there is no proper maximum. ``x0`` may hold several
        starting points (one a row); ``options`` are passed to :func:`fit_log_params`
        (``tol``, ``max_iter``, ``limit_check``, ``edge_hint``, ``units``).

        With ``penalizer`` (default: the model's ``penalizer`` attribute, else 0) above 0 the
        objective is :func:`penalized`: ``-log L / n + penalizer * sum(log(theta) ** 2)``.
        ``log_likelihood_`` is then the unpenalised log-likelihood at the penalised
        estimates, and the covariance the inverse Hessian of the penalised objective (the
        penalty acting as a normal prior on the log-parameters). With 0 nothing changes.
        """
        names = self._param_names
        if penalizer is None:
            penalizer = getattr(self, "penalizer", 0.0)
        penalizer = check_penalizer(penalizer)
        objective = neg_ll_grad if penalizer == 0 else penalized(neg_ll_grad, penalizer,
                                                                 n_customers)
        theta, result = fit_log_params(objective, x0, names, n_customers, self._model_name,
                                       **options)
        self.params_ = dict(zip(names, map(float, theta), strict=True))
        self.log_likelihood_ = float(-neg_ll_grad(theta)[0])
        cov = hessian_covariance(objective, theta)
        diag = np.diag(cov)
        se = np.where(diag > 0, np.sqrt(np.abs(diag)), np.nan)
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
                "no sign of the behaviour the parameter describes. Try more customers (a "
                "longer window), a penalizer (e.g. penalizer=0.01) or a simpler model."
            )
        self.standard_errors_ = dict(zip(names, map(float, se), strict=True))
        self.covariance_ = pd.DataFrame(cov, index=list(names), columns=list(names))
        self.n_customers_ = float(n_customers)
        self.fit_options_ = {
            "penalizer": penalizer,
            "tol": float(options.get("tol", _FIT_DEFAULTS["tol"])),
            "max_iter": int(options.get("max_iter", _FIT_DEFAULTS["max_iter"])),
            "n_starts": int(np.atleast_2d(x0).shape[0]),
        }
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
