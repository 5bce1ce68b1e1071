"""Prediction intervals from the sampling distribution of a model's fitted parameters.

The maximum-likelihood estimates of the log-parameters are asymptotically normal with the
covariance the fit estimates (the inverse observed information, ``model.covariance_``, turned
into the covariance of the log-parameters ``cov / outer(theta, theta)``). Drawing parameter
vectors from that normal distribution (a seeded :func:`numpy.random.default_rng`) and
evaluating a prediction at each draw gives the prediction's sampling distribution; its
``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles are the interval. This is the
uncertainty that comes from estimating the parameters on a finite sample, not the spread of
what one customer will actually do.

* :func:`prediction_interval` — any prediction method of any fitted model, e.g.
  ``prediction_interval(bgf, "expected_purchases_new", 52)``, with the interval of the total
  over customers;
* :func:`with_intervals` — ``*_low`` / ``*_high`` columns for the per-customer table of
  :func:`retention.models.customer_value` (P(alive), expected purchases, order value, CLV),
  and intervals for the totals in ``attrs["totals"]``.

Identical customers (the same arguments) are evaluated once. A model whose prediction
methods broadcast parameter arrays (``_vectorised_params = True``, as :class:`BetaGeo` and
:class:`GammaGamma`) is evaluated for all draws at once on blocks of customers sized to bound
memory (about ``_BLOCK`` values per array); any other model once per draw. Blocks run on
a thread per CPU.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from retention.checks import fraction, whole_number
from retention.models.base import (
    FittedModel,
    NotFittedError,
    check_histories,
    collapse,
    summary_columns,
)

__all__ = ["PredictionInterval", "parameter_draws", "prediction_interval", "with_intervals"]

#: Values per (draws x customers) block: 4 MB per float array, so that blocks stay in cache.
_BLOCK = 500_000
#: Customers per block of a model evaluated one draw at a time (its arrays hold the block's
#: values for all draws: 100 MB at 500 draws).
_ROWS_PER_DRAW = 25_000
#: Largest magnitude sorted in single precision (its largest finite value is 3.4e38).
_SINGLE_MAX = 1e38


@dataclass(frozen=True)
class PredictionInterval:
    """A prediction with the interval of its sampling distribution.

    Attributes
    ----------
    value, low, high : float, ndarray or Series
        The prediction at the fitted parameters and the interval bounds, shaped like the
        method's output.
    total, total_low, total_high : float
        Sum of the values (over customers) and its interval (the quantiles of the per-draw
        sums, not the sums of the bounds).
    level : float
        Nominal coverage.
    n_draws : int
        Parameter draws.
    """

    value: Any
    low: Any
    high: Any
    total: float
    total_low: float
    total_high: float
    level: float
    n_draws: int


def _log_covariance(model: FittedModel) -> tuple[list[str], np.ndarray, np.ndarray]:
    params = model._check_fitted()
    names = list(params)
    theta = np.array([params[n] for n in names], dtype=np.float64)
    cov = getattr(model, "covariance_", None)
    if cov is not None:
        cov = np.asarray(pd.DataFrame(cov).loc[names, names], dtype=np.float64)
    else:
        se = getattr(model, "standard_errors_", None) or {}
        cov = np.diag([float(se.get(n, np.nan)) ** 2 for n in names])
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        raise ValueError(
            f"this {type(model).__name__} has no finite covariance matrix of its estimates "
            "(e.g. built from known parameters, not fitted), so there is no sampling "
            "distribution to draw from; fit it on data first."
        )
    return names, np.log(theta), cov / np.outer(theta, theta)


def parameter_draws(model: FittedModel, n_draws: int = 500, seed: Any = 0) -> pd.DataFrame:
    """Parameter vectors drawn from the asymptotic normal distribution of the log-parameters.

    Parameters
    ----------
    model : FittedModel
        A fitted model with ``covariance_`` (or, lacking it, ``standard_errors_``, taken as
        uncorrelated).
    n_draws : int, default 500
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    DataFrame
        One row per draw, one column per parameter (natural scale).

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37],
    ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39]})
    >>> bgf = BetaGeo().fit(summary, weights=[700, 600, 150, 120, 80, 70, 40, 20])
    >>> parameter_draws(bgf, 3).shape
    (3, 4)
    """
    n_draws = whole_number("n_draws", n_draws, what="a positive whole number of draws")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    names, mean, cov = _log_covariance(model)
    try:
        root = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:  # positive semi-definite: symmetric square root
        vals, vecs = np.linalg.eigh(cov)
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = rng.standard_normal((n_draws, len(names)))
    return pd.DataFrame(np.exp(mean + z @ root.T), columns=names)


def _draw_models(
    models: Sequence[FittedModel], draws: Sequence[np.ndarray], vectorised: bool
) -> Iterator[list[FittedModel]]:
    """Copies of ``models`` holding the draws: all at once (parameters of shape
    ``(n_draws, 1)``) when ``vectorised``, else one draw at a time."""
    copies = [copy.copy(m) for m in models]
    names = [list(m._check_fitted()) for m in models]
    if vectorised:
        for c, n, d in zip(copies, names, draws, strict=True):
            c.params_ = {k: d[:, [j]] for j, k in enumerate(n)}
        yield copies
        return
    for i in range(len(draws[0])):
        for c, n, d in zip(copies, names, draws, strict=True):
            c.params_ = {k: float(d[i, j]) for j, k in enumerate(n)}
        yield copies


def _evaluate(
    models: Sequence[FittedModel],
    draws: Sequence[np.ndarray],
    lengths: dict[str, int],
    fn: Callable[..., dict[str, Any]],
) -> dict[str, np.ndarray]:
    """``fn(*model_copies, vectorised=...)`` at every draw: for each key of ``lengths`` an
    array of shape (n_draws, length)."""
    vectorised = all(getattr(m, "_vectorised_params", False) for m in models)
    n_draws = len(draws[0])
    out = {k: np.empty((n_draws, n)) for k, n in lengths.items()}
    row = 0
    for copies in _draw_models(models, draws, vectorised):
        rows = n_draws if vectorised else 1
        values = fn(*copies, vectorised=vectorised)
        for key, n in lengths.items():
            arr = np.asarray(values[key], dtype=np.float64)
            if arr.size == rows * n:
                arr = arr.reshape(rows, n)
            out[key][row:row + rows] = arr  # broadcasts values that are the same for all
        row += rows
    return out


def _each_block(fn: Callable[[int, int], np.ndarray], n_rows: int, size: int) -> np.ndarray:
    """``fn(start, stop)`` for consecutive blocks of ``size`` rows, on a thread per CPU
    (NumPy releases the GIL in its array loops and sorts), summed over blocks. ``fn`` writes
    its per-row results into disjoint slices and returns an array (the per-draw totals)."""
    starts = range(0, n_rows, size)
    workers = min(os.cpu_count() or 1, len(starts))

    def run(start: int) -> np.ndarray:
        return fn(start, min(start + size, n_rows))

    if workers <= 1:
        return sum(map(run, starts))
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(run, starts))


def _weighted_sums(sampled: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sampled @ weights`` in NumPy's own loop: BLAS would start threads of its own beside
    the block threads, which then wait for each other."""
    return np.einsum("dn,n->d", sampled, weights)


def _sorted_distinct(
    columns: Sequence[np.ndarray], by_cardinality: bool = True,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of ``columns`` in lexicographic order (columns with fewer distinct values
    first), their counts and the distinct row of each input row. Sorted, a block of rows
    shares few values of its leading columns, which models evaluate once per distinct value."""
    distinct, weights, codes = collapse(*columns, weights=np.ones(len(columns[0])))
    # columns with fewer distinct values lead, so that blocks share many of their values
    keys = sorted(distinct, key=lambda d: len(pd.unique(d))) if by_cardinality else distinct
    order = np.lexsort(keys[::-1])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return [d[order] for d in distinct], weights[order], rank[codes]


def _factorises(model: Any) -> bool:
    """Whether expected purchases are P(alive) times a function of (t, frequency, T)
    (``_expected_factorises``; the BG/NBD is one)."""
    return bool(getattr(model, "_expected_factorises", False))


def _quantiles(sampled: np.ndarray, lo_q: float, hi_q: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``lo_q`` and ``hi_q`` quantiles over the draws (axis 0) of each column, as
    :func:`numpy.quantile` (linear interpolation) computes them, from the sorted draws.

    The draws of more than 64 columns are sorted in single precision, several times faster
    than in double, when they fit in it: the bounds then carry a rounding error below 6e-8
    relative (below 1e-38 absolute for magnitudes under 1e-38), far below the Monte Carlo
    error of any number of draws.

    Examples
    --------
    >>> import numpy as np
    >>> sampled = np.random.default_rng(0).normal(size=(101, 300))
    >>> low, high = _quantiles(sampled, 0.05, 0.95)
    >>> bool(np.allclose(low, np.quantile(sampled, 0.05, axis=0), rtol=1e-7, atol=0))
    True
    """
    single = sampled.shape[1] > 64 and bool(  # NaN compares False: double
        sampled.max() < _SINGLE_MAX and sampled.min() > -_SINGLE_MAX)
    rows = np.sort(sampled.T.astype(np.float32 if single else np.float64), axis=1)
    n = rows.shape[1]
    bounds = []
    for q in (lo_q, hi_q):
        virtual = q * (n - 1)  # numpy's "linear" method: _lerp(a[i], a[i + 1], virtual - i)
        i = min(int(np.floor(virtual)), n - 1)
        j = min(i + 1, n - 1)
        gamma = virtual - i
        a, b = rows[:, i].astype(np.float64), rows[:, j].astype(np.float64)
        diff = b - a
        value = a + diff * gamma
        if gamma >= 0.5:
            value = b - diff * (1 - gamma)
        bounds.append(np.where(np.isnan(rows[:, -1]), np.nan, value))
    return bounds[0], bounds[1]


def _bounds(level: float) -> tuple[float, float]:
    level = fraction("level", level, open_low=True)
    if level >= 1:
        raise ValueError(f"level must be strictly between 0 and 1 (0.9 for 90%), got {level!r}.")
    return (1 - level) / 2, (1 + level) / 2


def _check_method(model: Any, method: str) -> Callable[..., Any]:
    if not isinstance(model, FittedModel):
        raise TypeError(f"model must be a fitted retention model, got {type(model).__name__}.")
    if getattr(model, "params_", None) is None:
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet; call .fit first.")
    fn = getattr(model, method, None) if isinstance(method, str) else None
    if not callable(fn) or method.startswith("_"):
        raise ValueError(f"{type(model).__name__} has no prediction method {method!r}.")
    return fn


def prediction_interval(
    model: FittedModel,
    method: str,
    *args: Any,
    level: float = 0.9,
    n_draws: int = 500,
    seed: Any = 0,
    **kwargs: Any,
) -> PredictionInterval:
    """Interval of ``getattr(model, method)(*args, **kwargs)`` from parameter uncertainty.

    Parameters
    ----------
    model : FittedModel
        A fitted model (any of the package's, with ``covariance_``).
    method : str
        Name of one of its prediction methods, e.g. ``"probability_alive"``,
        ``"conditional_expected_purchases"``, ``"expected_purchases_new"``, ``"survival"``.
    *args, **kwargs
        Its arguments. Array arguments (one value per customer) are broadcast together and
        identical rows evaluated once; scalars are passed as given.
    level : float, default 0.9
        Nominal coverage: the bounds are the ``(1 - level) / 2`` and ``(1 + level) / 2``
        quantiles of the predictions over the draws.
    n_draws : int, default 500
        Parameter draws (:func:`parameter_draws`).
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    PredictionInterval
        ``value``, ``low``, ``high`` shaped like the method's output (a Series keeps its
        index), and ``total``, ``total_low``, ``total_high`` for the sum over customers.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37],
    ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39]})
    >>> bgf = BetaGeo().fit(summary, weights=[700, 600, 150, 120, 80, 70, 40, 20])
    >>> pi = prediction_interval(bgf, "expected_purchases_new", 52)
    >>> bool(pi.low < pi.value < pi.high)
    True
    >>> pi = prediction_interval(bgf, "probability_alive", [1, 4], [5.0, 36.0], [38.0, 39.0])
    >>> bool((pi.low <= pi.value).all() and (pi.value <= pi.high).all())
    True
    """
    fn = _check_method(model, method)
    lo_q, hi_q = _bounds(level)
    point = fn(*args, **kwargs)
    draws = parameter_draws(model, n_draws, seed).to_numpy()
    n_draws = len(draws)

    keys: list[tuple[str, Any]] = [("arg", i) for i in range(len(args))]
    keys += [("kw", k) for k in kwargs]
    values = list(args) + list(kwargs.values())
    arrays = [i for i, v in enumerate(values) if np.ndim(v) > 0]
    if arrays:
        raw = [np.asarray(values[i].to_numpy() if isinstance(values[i], pd.Series)
                          else values[i]) for i in arrays]
        shape = np.broadcast_shapes(*(r.shape for r in raw))
        flat = [np.broadcast_to(r, shape).ravel() for r in raw]
        distinct, weights, codes = _sorted_distinct(flat)
    else:
        shape, distinct, weights, codes = (), [], np.ones(1), np.zeros(1, dtype=np.int64)

    vectorised = getattr(model, "_vectorised_params", False)
    size = max(1, _BLOCK // n_draws) if vectorised else _ROWS_PER_DRAW
    n_rows = len(weights)
    low, high = np.empty(n_rows), np.empty(n_rows)

    def block(start: int, stop: int) -> np.ndarray:
        rows = [d[start:stop] for d in distinct]

        def call(m: FittedModel, *, vectorised: bool) -> dict[str, Any]:
            call_values = list(values)
            for i, b in zip(arrays, rows, strict=True):
                call_values[i] = b[None, :] if vectorised else b
            pos = [v for (kind, _), v in zip(keys, call_values, strict=True) if kind == "arg"]
            kw = {k: v for (kind, k), v in zip(keys, call_values, strict=True) if kind == "kw"}
            return {"value": getattr(m, method)(*pos, **kw)}

        sampled = _evaluate([model], [draws], {"value": stop - start}, call)["value"]
        low[start:stop], high[start:stop] = _quantiles(sampled, lo_q, hi_q)
        return _weighted_sums(sampled, weights[start:stop])

    totals = _each_block(block, n_rows, size)

    def shaped(v: np.ndarray) -> Any:
        out = v[codes].reshape(shape)
        if isinstance(point, pd.Series):
            return pd.Series(out.ravel(), index=point.index, name=point.name)
        return float(out.ravel()[0]) if np.ndim(point) == 0 else out

    t_low, t_high = np.quantile(totals, [lo_q, hi_q])
    return PredictionInterval(
        value=point, low=shaped(low), high=shaped(high),
        total=float(np.sum(np.asarray(point, dtype=np.float64))),
        total_low=float(t_low), total_high=float(t_high),
        level=float(level), n_draws=n_draws,
    )


#: Columns of a customer-value table that get intervals, in output order.
_QUANTITIES = ("probability_alive", "expected_purchases", "expected_average_order_value", "clv")


def with_intervals(
    values: pd.DataFrame,
    model: FittedModel,
    spend_model: FittedModel | None = None,
    *,
    level: float = 0.9,
    n_draws: int = 500,
    seed: Any = 0,
    frequency: str = "frequency",
    recency: str = "recency",
    T: str = "T",
    monetary_value: str = "monetary_value",
) -> pd.DataFrame:
    """Add ``*_low`` / ``*_high`` columns to a per-customer prediction table.

    Parameters
    ----------
    values : DataFrame
        The table of :func:`retention.models.customer_value` (or of
        :func:`retention.models.predict_clv` joined to the summary columns): the history
        columns and any of ``probability_alive``, ``expected_purchases``,
        ``expected_average_order_value`` and ``clv``. Expected purchases and CLV are
        recomputed from ``attrs`` (``horizon``, ``time_unit``, ``discount_rate``,
        ``model_time_unit``) as those functions set them.
    model : FittedModel
        The purchase-count model the table was made with (e.g. BetaGeo).
    spend_model : FittedModel, optional
        The order-value model (e.g. GammaGamma); needed for the order-value and CLV
        intervals, which are left out without it. Its draws are independent of the
        purchase-count model's (the two are fitted separately).
    level, n_draws, seed
        As in :func:`prediction_interval`.
    frequency, recency, T, monetary_value : str
        Column names.

    Returns
    -------
    DataFrame
        A copy of ``values`` with ``<column>_low`` and ``<column>_high`` after each column
        that has an interval. ``attrs["totals"]`` holds, per quantity except
        ``probability_alive``, ``{"value", "low", "high"}`` for its sum over all customers
        (for ``probability_alive`` the sum is the expected number of active customers);
        ``attrs`` also records ``interval_level``, ``interval_draws`` and ``interval_seed``.

    Raises
    ------
    ValueError
        Missing columns or attrs, impossible histories, or a model without a covariance
        matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo, customer_value
    >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37],
    ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39]})
    >>> bgf = BetaGeo().fit(summary, weights=[700, 600, 150, 120, 80, 70, 40, 20])
    >>> table = summary.assign(probability_alive=bgf.probability_alive(
    ...     summary["frequency"], summary["recency"], summary["T"]))
    >>> out = with_intervals(table, bgf, n_draws=200)
    >>> list(out.columns[3:])
    ['probability_alive', 'probability_alive_low', 'probability_alive_high']
    >>> bool((out["probability_alive_low"] <= out["probability_alive"]).all())
    True
    """
    from retention.periods import PERIOD_DAYS, normalize_freq

    if not isinstance(values, pd.DataFrame):
        raise TypeError(f"values must be a DataFrame, got {type(values).__name__}.")
    _check_method(model, "probability_alive")
    lo_q, hi_q = _bounds(level)
    wanted = [q for q in _QUANTITIES if q in values.columns]
    if spend_model is None:
        wanted = [q for q in wanted if q not in ("expected_average_order_value", "clv")]
    else:
        _check_method(spend_model, "expected_average_order_value")
    if not wanted:
        raise ValueError(
            f"values has none of the prediction columns {list(_QUANTITIES)} (order value and "
            "CLV need spend_model=); build it with retention.models.customer_value."
        )
    needs_spend = any(q in wanted for q in ("expected_average_order_value", "clv"))
    cols = {"frequency": frequency, "recency": recency, "T": T}
    if needs_spend:
        cols["monetary_value"] = monetary_value
    data, _, index = summary_columns(values, cols)
    x, tx, big_t = data["frequency"], data["recency"], data["T"]
    check_histories(x, tx, big_t, index=index, names=(frequency, recency, T))

    ends = discount = np.empty(0)
    if "expected_purchases" in wanted or "clv" in wanted:
        missing = [k for k in ("horizon", "time_unit", "model_time_unit", "discount_rate")
                   if values.attrs.get(k) is None]
        if missing:
            raise ValueError(
                f"values.attrs lacks {missing}: the expected purchases and CLV are recomputed "
                "with the horizon and time units customer_value / predict_clv record there."
            )
        horizon = int(values.attrs["horizon"])
        step = (PERIOD_DAYS[normalize_freq(values.attrs["time_unit"])]
                / PERIOD_DAYS[normalize_freq(values.attrs["model_time_unit"])])
        ends = step * np.arange(1, horizon + 1)
        discount = (1.0 + float(values.attrs["discount_rate"])) ** -np.arange(1, horizon + 1)

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    models: list[FittedModel] = [model] + ([spend_model] if needs_spend else [])
    draws = [parameter_draws(m, n_draws, rng).to_numpy() for m in models]
    n_draws = len(draws[0])
    # purchase quantities per distinct history; order value and CLV per distinct
    # (history, monetary value), sorted by history so that a block of histories owns a
    # contiguous range of them
    history, h_weights, h_codes = _sorted_distinct([x, tx, big_t])
    n_hist = len(h_weights)
    if needs_spend:
        # order value per distinct (frequency, monetary value), CLV per distinct (history,
        # monetary value) and the order value row of each
        (s_x, s_m), s_weights, s_codes = _sorted_distinct([x, data["monetary_value"]])
        (f_hist, f_m), f_weights, f_codes = _sorted_distinct(
            [h_codes.astype(np.float64), data["monetary_value"]], by_cardinality=False)
        f_hist = f_hist.astype(np.int64)
        f_start = np.searchsorted(f_hist, np.arange(n_hist + 1))
        f_spend = np.empty(len(f_weights), dtype=np.int64)
        f_spend[f_codes] = s_codes
    per_history = [q for q in wanted if q in ("probability_alive", "expected_purchases")]
    per_row = [q for q in wanted if q == "clv"]
    per_history_or_row = per_history + per_row

    def quantities(bg: Any, gg: Any = None, *, vectorised: bool, h0: int, h1: int,
                   f0: int, f1: int) -> dict[str, Any]:
        cx, ctx, cbig_t = (h[h0:h1][None, :] if vectorised else h[h0:h1] for h in history)
        out: dict[str, Any] = {}
        if "probability_alive" in wanted:
            out["probability_alive"] = bg.probability_alive(cx, ctx, cbig_t)
        discounted: Any = 0.0
        if len(ends):
            previous: Any = 0.0
            for end, factor in zip(ends, discount, strict=True):
                current = np.asarray(bg.conditional_expected_purchases(end, cx, ctx, cbig_t))
                discounted = discounted + (current - previous) * factor
                previous = current
            out["expected_purchases"] = previous
        if gg is not None:
            local = f_hist[f0:f1] - h0
            fx = history[0][f_hist[f0:f1]]
            fm = f_m[f0:f1]
            aov = np.asarray(gg.expected_average_order_value(
                fx[None, :] if vectorised else fx, fm[None, :] if vectorised else fm))
            if "clv" in wanted:
                disc = np.asarray(discounted)
                disc = disc.reshape(-1, h1 - h0) if disc.size else np.zeros((1, h1 - h0))
                out["clv"] = disc[:, local] * aov.reshape(disc.shape[0] if vectorised else 1,
                                                          -1)
        return out

    if "clv" not in wanted:  # the purchase model alone
        models = models[:1]
    vectorised = all(getattr(m, "_vectorised_params", False) for m in models)
    factored = len(ends) > 0 and _factorises(model)
    if factored:
        (xt_x, xt_t), _, xt_code = collapse(history[0], history[2],
                                            weights=np.ones(n_hist))
        # a possible history of each (x, T), the most likely alive: t_x = T (0 when x = 0)
        xt_tx = np.where(xt_x > 0, xt_t, 0.0)
        # sum_k (E_k - E_{k-1}) d_k = sum_k E_k (d_k - d_{k+1}), d_{K+1} = 0
        weights_k = discount - np.append(discount[1:], 0.0)

        def quantities(bg: Any, gg: Any = None, *, vectorised: bool, h0: int, h1: int,
                       f0: int, f1: int) -> dict[str, Any]:
            lift = (lambda v: v[None, :]) if vectorised else (lambda v: v)
            cx, ctx, cbig_t = (lift(h[h0:h1]) for h in history)
            alive = np.asarray(bg.probability_alive(cx, ctx, cbig_t))
            alive = alive.reshape(-1, h1 - h0)
            out: dict[str, Any] = {"probability_alive": alive}
            groups, local_xt = np.unique(xt_code[h0:h1], return_inverse=True)
            k, m = len(ends), len(groups)
            gx, gtx, gt = xt_x[groups], xt_tx[groups], xt_t[groups]
            cum = np.asarray(bg.conditional_expected_purchases(
                lift(np.repeat(ends, m)), lift(np.tile(gx, k)), lift(np.tile(gtx, k)),
                lift(np.tile(gt, k)))).reshape(-1, k, m)
            ref = np.asarray(bg.probability_alive(lift(gx), lift(gtx), lift(gt)))
            per_alive = cum / ref.reshape(-1, 1, m)
            out["expected_purchases"] = alive * per_alive[:, -1, local_xt]
            if gg is not None and "clv" in wanted:
                local = f_hist[f0:f1] - h0
                # order values once per distinct (frequency, monetary value) of the block
                spend, spend_local = np.unique(f_spend[f0:f1], return_inverse=True)
                aov = np.asarray(gg.expected_average_order_value(lift(s_x[spend]),
                                                                 lift(s_m[spend])))
                aov = aov.reshape(-1, len(spend))[:, spend_local]
                disc = np.einsum("dkm,k->dm", per_alive, weights_k)
                disc = alive * disc[:, local_xt]
                out["clv"] = disc[:, local] * aov
            return {q: out[q] for q in per_history_or_row}

    size = (max(1, _BLOCK // n_draws // (3 if needs_spend else 1)) if vectorised
            else _ROWS_PER_DRAW)
    spend_models = [spend_model] if needs_spend else []
    low = {q: np.empty(n_hist if q in per_history else len(f_weights)) for q in per_history_or_row}
    if "expected_average_order_value" in wanted:
        low["expected_average_order_value"] = np.empty(len(s_weights))
    high = {q: np.empty_like(v) for q, v in low.items()}
    totals = {}
    if "expected_average_order_value" in wanted:
        spend_vectorised = getattr(spend_model, "_vectorised_params", False)
        spend_size = max(1, _BLOCK // n_draws) if spend_vectorised else _ROWS_PER_DRAW
        q = "expected_average_order_value"

        def spend_block(s0: int, s1: int) -> np.ndarray:
            def spend(gg: Any, *, vectorised: bool) -> dict[str, Any]:
                lift = (lambda v: v[None, :]) if vectorised else (lambda v: v)
                return {q: gg.expected_average_order_value(lift(s_x[s0:s1]), lift(s_m[s0:s1]))}

            sampled = _evaluate(spend_models, draws[1:], {q: s1 - s0}, spend)[q]
            low[q][s0:s1], high[q][s0:s1] = _quantiles(sampled, lo_q, hi_q)
            return _weighted_sums(sampled, s_weights[s0:s1])

        totals[q] = _each_block(spend_block, len(s_weights), spend_size)

    def history_block(h0: int, h1: int) -> np.ndarray:
        f0, f1 = (int(f_start[h0]), int(f_start[h1])) if needs_spend else (0, 0)
        lengths = {q: h1 - h0 for q in per_history} | {q: f1 - f0 for q in per_row}
        sampled = _evaluate(
            models, draws[:len(models)], lengths,
            lambda *ms, vectorised: quantities(
                *ms, vectorised=vectorised, h0=h0, h1=h1, f0=f0, f1=f1))
        sums = []
        for q in per_history_or_row:
            a, b, w = (h0, h1, h_weights) if q in per_history else (f0, f1, f_weights)
            low[q][a:b], high[q][a:b] = _quantiles(sampled[q], lo_q, hi_q)
            sums.append(_weighted_sums(sampled[q], w[a:b]))
        return np.array(sums)

    if per_history_or_row:
        totals.update(zip(per_history_or_row, _each_block(history_block, n_hist, size),
                          strict=True))

    out = values.copy()
    summary_totals = {}
    for q in wanted:
        at = out.columns.get_loc(q) + 1
        codes = (h_codes if q in per_history else f_codes if q == "clv" else s_codes)
        out.insert(at, f"{q}_low", low[q][codes])
        out.insert(at + 1, f"{q}_high", high[q][codes])
        t_low, t_high = np.quantile(totals[q], [lo_q, hi_q])
        summary_totals[q] = {"value": float(np.sum(values[q].to_numpy(dtype=np.float64))),
                             "low": float(t_low), "high": float(t_high)}
    out.attrs.update(totals=summary_totals, interval_level=float(level),
                     interval_draws=int(n_draws),
                     interval_seed=seed if isinstance(seed, int) else None)
    return out
