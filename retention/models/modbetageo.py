"""MBG/NBD model of purchase counts in a non-contractual setting.

Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis", *International Journal of Research in Marketing* 24(3). The BG/NBD
(:class:`retention.models.BetaGeo`) with one change: a customer may drop out right after
*any* purchase, the first one included, so a customer who never came back is no longer
certainly alive. While alive, a customer buys at Poisson rate ``lambda``; after each purchase
she drops out with probability ``p``. Across customers ``lambda ~ Gamma(r, alpha)`` (shape
``r``, rate ``alpha``) and ``p ~ Beta(a, b)``.

The input is one row per customer: ``frequency`` x (repeat purchases), ``recency`` t_x (time of
the last purchase since the first, 0 without a repeat purchase) and ``T`` (time since the first
purchase), all in one time unit; see :func:`retention.rfm_summary`. Every prediction ``t`` is in
that same unit.
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
    check_histories,
    collapse,
    dot,
    shape_output,
    summary_columns,
)

__all__ = ["ModifiedBetaGeo"]


class _MBGNBDLikelihood:
    """Negative log-likelihood and its gradient on collapsed data.

    Per customer (Batislam et al. 2007), with
    ``d = log(a / (b+x)) + (r+x) log((alpha+T) / (alpha+t_x))``:

        log L = log[Gamma(r+x) alpha^r / Gamma(r)] + log[B(a, b+x+1) / B(a, b)]
                - (r+x) log(alpha+T) + log(1 + e^d)

    The last term (the customer dropped out right after the last purchase) is present for
    every customer, one-time buyers included. Terms in x only are computed once per distinct
    x, logs of alpha+T and alpha+t_x once per distinct T and (T, t_x) pair.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        (x, tx, T), w, _ = collapse(x, tx, T, weights=w)
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.uT, iT = np.unique(T, return_inverse=True)
        (self.pT, self.ptx), _, self.ip = collapse(T, tx, weights=w)
        self.x, self.w = x, w
        self.wT = np.bincount(iT, weights=w, minlength=len(self.uT))
        self.wxT = np.bincount(iT, weights=w * x, minlength=len(self.uT))
        self.wsum = float(w.sum())
        self.wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        from scipy import special

        r, alpha, a, b = theta
        ux, wx = self.ux, self.wx
        log_alpha = np.log(alpha)
        a12 = (special.gammaln(r + ux) - special.gammaln(r)
               + special.betaln(a, b + ux + 1) - special.betaln(a, b))
        ll = dot(wx, a12) + self.wsum * r * log_alpha
        lT_u = np.log(alpha + self.uT)
        ll -= dot(r * self.wT + self.wxT, lT_u)
        # softplus(d), d = log(a/(b+x)) + (r+x) log((alpha+T)/(alpha+t_x))
        gap_p = np.log(alpha + self.pT) - np.log(alpha + self.ptx)
        logc = np.log(a) - np.log(b + ux)
        d = (r + self.x) * gap_p[self.ip]
        d += logc[self.ix]
        np.clip(d, -700.0, 700.0, out=d)  # no overflow, no subnormals
        e = np.exp(d, out=d)
        ll += dot(self.w, np.log1p(e))
        wd = np.divide(e, 1.0 + e, out=e)  # P(dropped out after the last purchase)
        wd *= self.w

        wd_x = np.bincount(self.ix, weights=wd, minlength=len(ux))
        wd_p = np.bincount(self.ip, weights=wd, minlength=len(gap_p))
        wdx_p = np.bincount(self.ip, weights=wd * self.x, minlength=len(gap_p))
        psi_r = special.digamma(r + ux) - special.digamma(r)
        psi_ab = special.digamma(a + b) - special.digamma(a + b + ux + 1)
        psi_b = special.digamma(b + ux + 1) - special.digamma(b)
        inv_T = 1.0 / (alpha + self.uT)
        dinv_p = 1.0 / (alpha + self.pT) - 1.0 / (alpha + self.ptx)
        d_r = dot(wx, psi_r) + self.wsum * log_alpha - dot(self.wT, lT_u) + dot(wd_p, gap_p)
        d_alpha = (self.wsum * r / alpha - dot(r * self.wT + self.wxT, inv_T)
                   + dot(r * wd_p + wdx_p, dinv_p))
        d_a = dot(wx, psi_ab) + wd_x.sum() / a
        d_b = dot(wx, psi_ab + psi_b) - dot(wd_x, 1.0 / (b + ux))
        return -ll, -np.array([d_r, d_alpha, d_a, d_b])


def _alive(r: float, alpha: float, a: float, b: float, x: np.ndarray, tx: np.ndarray,
           big_t: np.ndarray) -> np.ndarray:
    """P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), in log space."""
    from scipy import special

    log_odds = (np.log(a) - np.log(b + x)
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx)))
    return special.expit(-log_odds)


def _conditional_expectation(r: float, alpha: float, a: float, b: float, t: np.ndarray,
                             x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    """Expected purchases in (T, T+t]; the new customer is the case x = t_x = T = 0.

    ``a = 1`` is a removable singularity of the closed form (0/0); near it the value is the
    mean of the two sides at ``a -+ 1e-4``.
    """
    step = 1e-4
    if abs(a - 1) < step:
        return 0.5 * (_closed_form(r, alpha, a - step, b, t, x, tx, big_t)
                      + _closed_form(r, alpha, a + step, b, t, x, tx, big_t))
    return _closed_form(r, alpha, a, b, t, x, tx, big_t)


def _closed_form(r: float, alpha: float, a: float, b: float, t: np.ndarray,
                 x: np.ndarray, tx: np.ndarray, big_t: np.ndarray) -> np.ndarray:
    from scipy import special

    z = t / (alpha + big_t + t)
    hyp = special.hyp2f1(r + x, b + x + 1, a + b + x, z)
    head = (a + b + x) / (a - 1)
    body = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp
    return head * body * _alive(r, alpha, a, b, x, tx, big_t)


class ModifiedBetaGeo(FittedModel):
    """MBG/NBD model (Batislam, Denizel & Filiztekin 2007), fitted by maximum likelihood.

    Like :class:`~retention.models.BetaGeo`, but a customer can also drop out right after the
    first purchase, so customers without a repeat purchase are not certainly alive.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``: purchase rates ``lambda ~ Gamma(r, alpha)`` (alpha in the
        time unit of the summary), dropout probabilities ``p ~ Beta(a, b)``.
    log_likelihood_ : float
        Maximised log-likelihood.
    standard_errors_ : dict
        Standard errors from the inverse observed information (Hessian) matrix.
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
        (``n`` customers), shrinking each parameter towards 1, as for
        :class:`~retention.models.BetaGeo` (lifetimes' ``penalizer_coef`` penalises the
        squared natural parameters instead). 0 fits the maximum likelihood; a small value
        (0.001 - 0.1) steadies fits on few repeat buyers. ``log_likelihood_`` stays the unpenalised
        log-likelihood.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models.modbetageo import ModifiedBetaGeo
    >>> summary = pd.DataFrame({                      # one row per group of customers
    ...     "frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...     "recency": [0, 0, 30, 5, 35, 10, 36, 37],    # weeks
    ...     "T": [39, 30, 39, 38, 39, 37, 39, 39],
    ...     "customers": [700, 600, 150, 120, 80, 70, 40, 20]})
    >>> mbg = ModifiedBetaGeo().fit(summary, weights="customers")
    >>> sorted(mbg.params_)
    ['a', 'alpha', 'b', 'r']
    >>> round(mbg.probability_alive(0, 0, 39), 2)       # a one-time buyer may be gone
    0.77
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "MBG/NBD"
    _expected_factorises = True

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "T",
        weights: str | np.ndarray | pd.Series | None = None,
    ) -> ModifiedBetaGeo:
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
            frequency, recency > T, recency > 0 without a repeat purchase, or no repeat buyer
            at all.
        ConvergenceError
            When the likelihood maximisation does not converge.

        Examples
        --------
        >>> import pandas as pd
        >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
        ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37],
        ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39]})
        >>> counts = [700, 600, 150, 120, 80, 70, 40, 20]
        >>> round(ModifiedBetaGeo().fit(summary, weights=counts).log_likelihood_, 2)
        -4377.08
        """
        values, w, index = summary_columns(
            summary, {"frequency": frequency, "recency": recency, "T": T}, weights
        )
        x, tx, big_t = values["frequency"], values["recency"], values["T"]
        fractional = x != np.round(x)
        if fractional.any():
            raise ValueError(bad_rows(frequency, "non-integer value(s)", fractional, index)
                             + "; frequency counts repeat purchases.")
        check_histories(x, tx, big_t, index=index, names=(frequency, recency, T))
        if not np.any((x > 0) & (w > 0)):
            raise ValueError(
                f"no customer has a repeat purchase ({frequency!r} is 0 for all "
                f"{len(x)} rows); the MBG/NBD purchase and dropout processes cannot be "
                "estimated."
            )
        keep = w > 0
        nll = _MBGNBDLikelihood(x[keep], tx[keep], big_t[keep], w[keep])
        n = float(w.sum())
        # start: Gamma(1, alpha) with mean rate = mean repeat purchases per unit time
        rate = dot(w, x + 1) / max(dot(w, big_t), 1e-300)
        age = max(dot(w, big_t) / n, 1e-300)  # parameters in time are searched relative to it
        x0 = np.array([1.0, 1.0 / rate, 1.0, 1.0])
        self._fit_likelihood(nll, x0, n, units=np.array([1.0, age, 1.0, 1.0]))
        self.time_unit_ = summary.attrs.get("time_unit")
        return self

    # ----------------------------------------------------------------------------------------
    # predictions
    # ----------------------------------------------------------------------------------------

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected number of repeat purchases in ``(0, t]`` by a newly acquired customer.

        Batislam et al. (2007):
        ``b/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]``, where
        ``b / (a+b)`` is the probability of not dropping out right after the first purchase.

        Parameters
        ----------
        t : float or array-like
            Length of the period, in the summary's time unit.

        Examples
        --------
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> round(mbg.expected_purchases_new(39), 3)
        1.183
        """
        p = self._check_fitted()
        arrays, index, scalar = broadcast_inputs(t=t)
        t = arrays["t"]
        zero = np.zeros_like(t)
        out = _conditional_expectation(p["r"], p["alpha"], p["a"], p["b"], t, zero, zero, zero)
        return shape_output(out, index, scalar, "expected_purchases")

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """Expected purchases in the next ``t`` time units of a customer with history (x, t_x, T).

        ``(a+b+x)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] * P(alive)``, with Gauss's hypergeometric
        function (:func:`scipy.special.hyp2f1`).

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
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> round(mbg.conditional_expected_purchases(39, 2, 30.43, 38.86), 3)
        1.263
        """
        p = self._check_fitted()
        arrays, index, scalar = broadcast_histories(frequency, recency, T, t=t)
        t, x, tx, big_t = arrays["t"], arrays["frequency"], arrays["recency"], arrays["T"]
        out = _conditional_expectation(p["r"], p["alpha"], p["a"], p["b"], t, x, tx, big_t)
        return shape_output(out, index, scalar, "expected_purchases")

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with history (x, t_x, T) has not dropped out.

        ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))``; below 1 for one-time buyers too
        (for them it falls with T, from ``b / (a+b)`` at T = 0).

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
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> round(mbg.probability_alive(0, 0, 30), 3)
        0.417
        >>> round(mbg.probability_alive(2, 5, 38), 3)
        0.112
        """
        p = self._check_fitted()
        arrays, index, scalar = broadcast_histories(frequency, recency, T)
        x, tx, big_t = arrays["frequency"], arrays["recency"], arrays["T"]
        out = _alive(p["r"], p["alpha"], p["a"], p["b"], x, tx, big_t)
        return shape_output(out, index, scalar, "probability_alive")

    def probability_of_purchases(self, k: Any, t: Any) -> Any:
        """Probability that a new customer makes exactly ``k`` repeat purchases in ``(0, t]``.

        With the negative binomial pmf and survival function (:data:`scipy.stats.nbinom`,
        ``n = r``, ``p = alpha / (alpha + t)``)::

            B(a, b+k+1)/B(a, b) * NB.pmf(k) + B(a+1, b+k)/B(a, b) * NB.sf(k-1)

        the second term being the dropout right after the k-th repeat purchase (for k = 0,
        right after the first purchase, ``NB.sf(-1) = 1``).

        Parameters
        ----------
        k : int or array-like of int
            Number of repeat purchases (>= 0).
        t : float or array-like
            Length of the period, in the summary's time unit.

        Examples
        --------
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> round(mbg.probability_of_purchases(0, 39), 3)
        0.582
        """
        from scipy import special, stats

        p = self._check_fitted()
        r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
        arrays, index, scalar = broadcast_inputs(k=k, t=t)
        k, t = arrays["k"], arrays["t"]
        if np.any(k != np.round(k)):
            raise ValueError("k must hold whole numbers of purchases.")
        nb_p = alpha / (alpha + t)
        log_beta = special.betaln(a, b)
        alive = np.exp(special.betaln(a, b + k + 1) - log_beta) * stats.nbinom.pmf(k, r, nb_p)
        dead = np.exp(special.betaln(a + 1, b + k) - log_beta) * stats.nbinom.sf(k - 1, r, nb_p)
        return shape_output(alive + dead, index, scalar, "probability")
