"""BG/NBD model of purchase counts in a non-contractual setting.

Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative to the
Pareto/NBD model", *Marketing Science* 24(2). While alive, a customer buys at Poisson rate
``lambda``; after each repeat purchase she drops out with probability ``p``. Across customers
``lambda ~ Gamma(r, alpha)`` (shape ``r``, rate ``alpha``) and ``p ~ Beta(a, b)``.

The input is one row per customer: ``frequency`` x (repeat purchases), ``recency`` t_x (time of
the last purchase since the first) and ``T`` (time since the first purchase), all in one time
unit; see :func:`retention.rfm_summary`. Every prediction ``t`` is in that same unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention.checks import bad_rows
from retention.models.base import (
    FittedModel,
    broadcast_histories,
    broadcast_inputs,
    collapse,
    dot,
    shape_output,
    summary_columns,
)

__all__ = ["BetaGeo"]


class _BGNBDLikelihood:
    """Negative log-likelihood and its gradient on collapsed data.

    Per customer (FHL 2005, eq. 6), with
    ``d = log(a / (b+x-1)) + (r+x) log((alpha+T) / (alpha+t_x))``:

        log L = log[Gamma(r+x) alpha^r / Gamma(r)] + log[B(a, b+x) / B(a, b)]
                - (r+x) log(alpha+T) + [x > 0] log(1 + e^d)

    Terms in x only (gammaln, digamma) are computed once per distinct x, logs of alpha+T and
    alpha+t_x once per distinct T and t_x, and customers without repeat purchase (for whom
    the last term vanishes) are merged on T alone. Per repeat-buyer row there are only a
    softplus, a logistic and a few products.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        rep = x > 0
        (x1, tx1, T1), w1, _ = collapse(x[rep], tx[rep], T[rep], weights=w[rep])
        (T0,), w0, _ = collapse(T[~rep], weights=w[~rep])
        self.ux, self.ix = np.unique(x1, return_inverse=True)
        self.uT, iT = np.unique(np.concatenate([T1, T0]), return_inverse=True)
        # distinct (T, t_x) pairs of the repeat buyers
        (self.pT, self.ptx), _, self.ip = collapse(T1, tx1, weights=w1)
        self.x1, self.w1 = x1, w1
        # weight per distinct T over all customers, and of (weight * x) per distinct T
        self.wT = np.bincount(iT, weights=np.concatenate([w1, w0]), minlength=len(self.uT))
        self.wxT = np.bincount(iT[: len(x1)], weights=w1 * x1, minlength=len(self.uT))
        self.wsum = float(w1.sum() + w0.sum())
        # weight per distinct x of the repeat buyers
        self.wx = np.bincount(self.ix, weights=w1, minlength=len(self.ux))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        from scipy import special

        r, alpha, a, b = theta
        ux, wx = self.ux, self.wx
        log_alpha = np.log(alpha)
        # terms in x only
        a12 = (special.gammaln(r + ux) - special.gammaln(r)
               + special.betaln(a, b + ux) - special.betaln(a, b))
        ll = dot(wx, a12) + self.wsum * r * log_alpha
        # -(r+x) log(alpha+T) for everyone, via distinct T
        lT_u = np.log(alpha + self.uT)
        ll -= dot(r * self.wT + self.wxT, lT_u)
        # repeat buyers: softplus(d), d = log(a/(b+x-1)) + (r+x) log((alpha+T)/(alpha+t_x))
        gap_p = np.log(alpha + self.pT) - np.log(alpha + self.ptx)
        gap = gap_p[self.ip]
        logc = np.log(a) - np.log(b + ux - 1)
        d = (r + self.x1) * gap
        d += logc[self.ix]
        np.clip(d, -700.0, 700.0, out=d)  # no overflow, no subnormals
        e = np.exp(d, out=d)
        ll += dot(self.w1, np.log1p(e))
        wd = np.divide(e, 1.0 + e, out=e)  # P(dropped out after the last purchase)
        wd *= self.w1

        wd_x = np.bincount(self.ix, weights=wd, minlength=len(ux))
        wd_p = np.bincount(self.ip, weights=wd, minlength=len(gap_p))
        wdx_p = np.bincount(self.ip, weights=wd * self.x1, minlength=len(gap_p))
        psi_r = special.digamma(r + ux) - special.digamma(r)
        psi_ab = special.digamma(a + b) - special.digamma(a + b + ux)
        psi_b = special.digamma(b + ux) - special.digamma(b)
        inv_T = 1.0 / (alpha + self.uT)
        dinv_p = 1.0 / (alpha + self.pT) - 1.0 / (alpha + self.ptx)
        d_r = dot(wx, psi_r) + self.wsum * log_alpha - dot(self.wT, lT_u) + dot(wd_p, gap_p)
        d_alpha = (self.wsum * r / alpha - dot(r * self.wT + self.wxT, inv_T)
                   + dot(r * wd_p + wdx_p, dinv_p))
        d_a = dot(wx, psi_ab) + wd_x.sum() / a
        d_b = dot(wx, psi_ab + psi_b) - dot(wd_x, 1.0 / (b + ux - 1))
        return -ll, -np.array([d_r, d_alpha, d_a, d_b])


def _conditional_expectation(r: float, alpha: float, a: float, b: float, t: np.ndarray,
                             x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    """FHL (2005) eq. 10; eq. 9 (new customer) is the case x = t_x = T = 0.

    ``a = 1`` and ``a + b + x = 1`` are removable singularities of the closed form (0/0 and
    2F1 with c = 0); near them the value is the mean of the two sides at ``a -+ 1e-4``.
    The parameters may be arrays of shape ``(n_draws, 1)`` (one row per parameter draw).
    """
    step = 1e-4
    near = (np.abs(a - 1) < step) | ((np.abs(a + b - 1) < step) & np.any(x == 0))
    if np.ndim(near) == 0:
        if near:
            return 0.5 * (_closed_form(r, alpha, a - step, b, t, x, tx, big_t)
                          + _closed_form(r, alpha, a + step, b, t, x, tx, big_t))
        return _closed_form(r, alpha, a, b, t, x, tx, big_t)
    if not near.any():
        return _closed_form(r, alpha, a, b, t, x, tx, big_t)
    # rows away from the singularity: 0.5 * (v + v) == v exactly
    return 0.5 * (_closed_form(r, alpha, np.where(near, a - step, a), b, t, x, tx, big_t)
                  + _closed_form(r, alpha, np.where(near, a + step, a), b, t, x, tx, big_t))


def _closed_form(r: Any, alpha: Any, a: Any, b: Any, t: np.ndarray,
                 x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    return _expected_if_alive(r, alpha, a, b, t, x, big_t) * _alive(r, alpha, a, b, x, tx,
                                                                    big_t)


def _expected_if_alive(r: Any, alpha: Any, a: Any, b: Any, t: np.ndarray, x: np.ndarray,
                       big_t: np.ndarray) -> np.ndarray:
    """The part of eq. 10 before P(alive); it depends on (t, x, T) only, so on many customers
    the hypergeometric function is evaluated once per distinct (t, x, T)."""
    t, x, big_t = np.broadcast_arrays(t, x, big_t)
    shape = t.shape
    pshape = np.broadcast(r, alpha, a, b).shape
    per_draw = len(pshape) == 2 and pshape[1] == 1 and (len(shape) == 1 or (
        len(shape) == 2 and shape[0] == 1))
    if t.size > 64 and (pshape == () or per_draw):
        (ut, ux, ubig_t), _, codes = collapse(t.ravel(), x.ravel(), big_t.ravel(),
                                              weights=np.ones(t.size))
        values = np.take(_head_body(r, alpha, a, b, ut, ux, ubig_t), codes, axis=-1)
        return values.reshape(shape) if pshape == () else values
    return _head_body(r, alpha, a, b, t, x, big_t)


def _head_body(r: Any, alpha: Any, a: Any, b: Any, t: np.ndarray, x: np.ndarray,
               big_t: np.ndarray) -> np.ndarray:
    from scipy import special

    z = t / (alpha + big_t + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
    return head * body


def _alive(r: float, alpha: float, a: float, b: float, x: np.ndarray, tx: np.ndarray,
           big_t: np.ndarray) -> np.ndarray:
    """P(alive) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), in log space.

    With parameters of shape ``(n_draws, 1)`` and many customers (of shape ``(1, n)``) the
    logarithms are taken once per distinct x and per distinct age (T or t_x).
    """
    from scipy import special

    if np.ndim(alpha) == 2 and np.size(x) > 64:
        x, tx, big_t = (v.ravel() for v in np.broadcast_arrays(x, tx, big_t))
        n = x.size
        ages, where = np.unique(np.concatenate([big_t, tx]), return_inverse=True)
        log_age = np.log(alpha + ages)
        log_odds = np.take(log_age, where[:n], axis=1)
        log_odds -= np.take(log_age, where[n:], axis=1)
        counts, at = np.unique(x, return_inverse=True)
        log_odds *= np.take(r + counts, at, axis=1)
        with np.errstate(divide="ignore"):
            head = np.log(a) - np.log(np.where(counts > 0, b + counts - 1, 1.0))
        log_odds += np.take(head, at, axis=1)
        with np.errstate(over="ignore"):  # exp overflow: P(alive) = 1 / inf = 0
            alive = np.exp(log_odds, out=log_odds)
        alive += 1.0
        np.reciprocal(alive, out=alive)
        alive[:, x == 0] = 1.0
        return alive
    with np.errstate(divide="ignore"):
        log_odds = (np.log(a) - np.log(np.where(x > 0, b + x - 1, 1.0))
                    + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx)))
    return np.where(x > 0, special.expit(-log_odds), 1.0)


class BetaGeo(FittedModel):
    """BG/NBD model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``: purchase rates ``lambda ~ Gamma(r, alpha)`` (alpha in the
        time unit of the summary), dropout probabilities ``p ~ Beta(a, b)``.
    log_likelihood_ : float
        Maximised log-likelihood.
    standard_errors_ : dict
        Standard errors from the inverse observed information (Hessian) matrix.
    covariance_ : DataFrame
        That inverse: the asymptotic covariance matrix of the estimates (used by
        :mod:`retention.models.intervals`).
    fit_options_ : dict
        Penalizer, optimiser settings and column names of the fit (saved with the model).
    n_customers_ : float
        Number of customers fitted (sum of the weights).
    time_unit_ : str or None
        ``summary.attrs["time_unit"]`` when the summary came from :func:`retention.rfm_summary`.
    optimizer_result_ : scipy.optimize.OptimizeResult

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters: the fit minimises
        ``-log L / n + penalizer * sum(log(theta) ** 2)`` over ``theta = (r, alpha, a, b)``
        (``n`` customers), shrinking each parameter towards 1. Like lifetimes'
        ``penalizer_coef`` it is added to the mean negative log-likelihood, but lifetimes
        penalises the squared natural parameters (with ``alpha`` rescaled so that the largest
        ``T`` is 10), so equal values do not give equal estimates. 0 fits the maximum
        likelihood; a small value (0.001 - 0.1) steadies fits on few repeat buyers.
        ``log_likelihood_`` stays the unpenalised log-likelihood.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models import BetaGeo
    >>> summary = pd.DataFrame({                      # one row per group of customers
    ...     "frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...     "recency": [0, 0, 30, 5, 35, 10, 36, 37],    # weeks
    ...     "T": [39, 30, 39, 38, 39, 37, 39, 39],
    ...     "customers": [700, 600, 150, 120, 80, 70, 40, 20]})
    >>> bgf = BetaGeo().fit(summary, weights="customers")
    >>> sorted(bgf.params_)
    ['a', 'alpha', 'b', 'r']
    >>> round(bgf.probability_alive(1, 5, 38), 2)
    0.76
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "BG/NBD"
    _vectorised_params = True
    _expected_factorises = True

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "T",
        weights: str | np.ndarray | pd.Series | None = None,
    ) -> BetaGeo:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        summary : DataFrame
            One row per customer (see :func:`retention.rfm_summary`).
        frequency, recency, T : str
            Column names.
        weights : str or array-like, optional
            Number of customers each row stands for (column name or values). Identical
            (frequency, recency, T) rows are merged into weights internally anyway.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Empty summary, missing columns, NaN / infinite / negative values, non-integer
            frequency, recency > T, or no repeat buyer at all.
        ConvergenceError
            When the likelihood maximisation does not converge.

        Examples
        --------
        >>> import pandas as pd
        >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
        ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37],
        ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39]})
        >>> counts = [700, 600, 150, 120, 80, 70, 40, 20]
        >>> round(BetaGeo().fit(summary, weights=counts).log_likelihood_, 2)
        -4376.69
        """
        values, w, index = summary_columns(
            summary, {"frequency": frequency, "recency": recency, "T": T}, weights
        )
        x, tx, big_t = values["frequency"], values["recency"], values["T"]
        fractional = x != np.round(x)
        if fractional.any():
            raise ValueError(bad_rows(frequency, "non-integer value(s)", fractional, index)
                             + "; frequency counts repeat purchases.")
        late = tx > big_t * (1 + 1e-12)
        if late.any():
            raise ValueError(bad_rows(recency, f"greater-than-{T!r} value(s)", late, index)
                             + f"; recency cannot exceed {T!r}.")
        if not np.any((x > 0) & (w > 0)):
            raise ValueError(
                f"no customer has a repeat purchase ({frequency!r} is 0 for all "
                f"{len(x)} rows); the BG/NBD dropout process cannot be estimated."
            )
        keep = w > 0
        nll = _BGNBDLikelihood(x[keep], tx[keep], big_t[keep], w[keep])
        n = float(w.sum())
        # start: Gamma(1, alpha) with mean rate = mean repeat purchases per unit time
        rate = dot(w, x + 1) / max(dot(w, big_t), 1e-300)
        age = max(dot(w, big_t) / n, 1e-300)  # parameters in time are searched relative to it
        x0 = np.array([1.0, 1.0 / rate, 1.0, 1.0])
        self._fit_likelihood(nll, x0, n, units=np.array([1.0, age, 1.0, 1.0]))
        self.fit_options_.update(frequency=frequency, recency=recency, T=T,
                                 weights=weights if isinstance(weights, str) else (
                                     None if weights is None else "values"))
        self.time_unit_ = summary.attrs.get("time_unit")
        return self

    # ----------------------------------------------------------------------------------------
    # predictions
    # ----------------------------------------------------------------------------------------

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected number of purchases in ``(0, t]`` by a newly acquired customer, E[X(t)].

        FHL (2005) eq. 9:
        ``(a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``.

        Parameters
        ----------
        t : float or array-like
            Length of the period, in the summary's time unit.

        Examples
        --------
        >>> bgf = BetaGeo()
        >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
        >>> round(bgf.expected_purchases_new(52), 3)
        1.444
        """
        p = self._check_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        arrays, index, scalar = broadcast_inputs(t=t)
        t = arrays["t"]
        zero = np.zeros_like(t)
        out = _conditional_expectation(r, alpha, a, b, t, zero, zero, zero)
        return shape_output(out, index, scalar, "expected_purchases")

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """Expected purchases in the next ``t`` time units of a customer with history (x, t_x, T).

        FHL (2005) eq. 10, with Gauss's hypergeometric function
        (:func:`scipy.special.hyp2f1`).

        Parameters
        ----------
        t : float or array-like
            Length of the future period, in the summary's time unit.
        frequency, recency, T : float or array-like
            Customer histories (scalars, arrays or Series; broadcast together).

        Returns
        -------
        float, ndarray or Series (indexed like the first Series argument)

        Raises
        ------
        ValueError
            Impossible histories (:func:`~retention.models.base.check_histories`): missing
            or negative values, recency > T, or recency > 0 with frequency 0.

        Examples
        --------
        >>> bgf = BetaGeo()
        >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
        >>> round(bgf.conditional_expected_purchases(39, 2, 30.43, 38.86), 3)
        1.226
        """
        p = self._check_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        arrays, index, scalar = broadcast_histories(frequency, recency, T, t=t)
        t, x, tx, big_t = arrays["t"], arrays["frequency"], arrays["recency"], arrays["T"]
        out = _conditional_expectation(r, alpha, a, b, t, x, tx, big_t)
        return shape_output(out, index, scalar, "expected_purchases")

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with history (x, t_x, T) has not dropped out.

        FHL (2005) eq. 11; 1 for customers without a repeat purchase (in BG/NBD a customer
        can only drop out right after a repeat purchase).

        Parameters
        ----------
        frequency, recency, T : float or array-like
            Customer histories (broadcast together).

        Raises
        ------
        ValueError
            Impossible histories, as for :meth:`conditional_expected_purchases`.

        Examples
        --------
        >>> bgf = BetaGeo()
        >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
        >>> bgf.probability_alive(0, 0, 30)
        1.0
        >>> round(bgf.probability_alive(2, 5, 38), 3)
        0.129
        """
        p = self._check_fitted()
        arrays, index, scalar = broadcast_histories(frequency, recency, T)
        x, tx, big_t = arrays["frequency"], arrays["recency"], arrays["T"]
        out = _alive(p["r"], p["alpha"], p["a"], p["b"], x, tx, big_t)
        return shape_output(out, index, scalar, "probability_alive")

    def probability_of_purchases(self, k: Any, t: Any) -> Any:
        """Probability that a new customer makes exactly ``k`` purchases in ``(0, t]``, P(X(t)=k).

        FHL (2005) eq. 8, written with the negative binomial pmf and survival function
        (:data:`scipy.stats.nbinom`, ``n = r``, ``p = alpha / (alpha + t)``)::

            B(a, b+k)/B(a, b) * NB.pmf(k) + [k > 0] B(a+1, b+k-1)/B(a, b) * NB.sf(k-1)

        Parameters
        ----------
        k : int or array-like of int
            Number of purchases (>= 0).
        t : float or array-like
            Length of the period, in the summary's time unit.

        Examples
        --------
        >>> bgf = BetaGeo()
        >>> bgf.params_ = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
        >>> round(bgf.probability_of_purchases(0, 39), 3)
        0.574
        """
        from scipy import special, stats

        p = self._check_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        arrays, index, scalar = broadcast_inputs(k=k, t=t)
        k, t = arrays["k"], arrays["t"]
        if np.any(k != np.round(k)):
            raise ValueError("k must hold whole numbers of purchases.")
        nb_p = alpha / (alpha + t)
        first = np.exp(special.betaln(a, b + k) - special.betaln(a, b)) * stats.nbinom.pmf(
            k, r, nb_p)
        with np.errstate(invalid="ignore"):
            second = np.exp(special.betaln(a + 1, np.maximum(b + k - 1, 1e-300))
                            - special.betaln(a, b)) * stats.nbinom.sf(k - 1, r, nb_p)
        out = first + np.where(k > 0, second, 0.0)
        return shape_output(out, index, scalar, "probability")

