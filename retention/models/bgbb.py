"""BG/BB model of repeat transactions in a discrete-time non-contractual setting.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
setting", *Marketing Science* 29(6). Transactions can only happen at discrete opportunities
(a yearly fund drive, a weekly market, a conference edition). While alive, a customer
transacts at each opportunity with probability ``p``; at the start of each opportunity a live
customer becomes inactive with probability ``theta``. Across customers ``p ~ Beta(alpha, beta)``
and ``theta ~ Beta(gamma, delta)``.

The input is one row per transaction pattern: ``frequency`` x (transactions in the ``n``
opportunities after the first one), ``recency`` t_x (the opportunity of the last transaction,
0 without one) and ``periods`` n (opportunities observed), with ``weights`` the number of
customers with that pattern. Every prediction ``t`` is a whole number of opportunities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention.checks import bad_rows, examples
from retention.models.base import (
    FittedModel,
    _where,
    broadcast_histories,
    broadcast_inputs,
    check_histories,
    collapse,
    dot,
    shape_output,
    summary_columns,
)

__all__ = ["BetaGeoBetaBinom"]


class _BGBBLikelihood:
    """Negative log-likelihood and its gradient on collapsed histories.

    Per pattern (FHS 2010, eq. 5), in log space::

        L = B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n)/B(gamma, delta)
            + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
                                  * B(gamma+1, delta+t_x+i)/B(gamma, delta)

    the first term for a customer still alive at opportunity n, the others for one who became
    inactive at the start of opportunity t_x+i+1. Every beta function is a sum of
    ``gammaln`` (and its derivative of ``digamma``) values at ``parameter + k`` for whole k,
    so each evaluation computes a handful of tables over ``k = 0..max(n)+1`` and the
    ``(patterns x max(n - t_x))`` grid of terms is only gathered from them, combined with a
    masked log-sum-exp.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, n: np.ndarray, w: np.ndarray) -> None:
        (x, tx, n), w, self.codes = collapse(x, tx, n, weights=w)
        self.x, self.tx, self.n = (v.astype(np.int64) for v in (x, tx, n))
        self.w = w
        self.size = int(self.n.max()) + 2 if len(self.n) else 2
        k = self.n - self.tx  # number of "became inactive" terms
        j = np.arange(int(k.max()) if len(k) else 0)
        self.mask = j[None, :] < k[:, None]
        s = self.tx[:, None] + j[None, :]
        self.s = np.where(self.mask, s, 0)
        self.m = np.where(self.mask, s - self.x[:, None], 0)
        self.n_x = self.n - self.x

    def rows(self, theta: np.ndarray, gradient: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None]:
        """Log-likelihood of each distinct pattern and (optionally) its (rows, 4) gradient."""
        from scipy import special

        alpha, beta, gamma, delta = theta
        ks = np.arange(self.size, dtype=np.float64)
        lb = special.gammaln(beta + ks)
        lab = special.gammaln(alpha + beta + ks)
        gd = special.gammaln(delta + ks)
        ggd = special.gammaln(gamma + delta + ks)
        x, n, s, m = self.x, self.n, self.s, self.m
        const = (special.gammaln(alpha + x) - special.betaln(alpha, beta)
                 - special.betaln(gamma, delta))
        alive = lb[self.n_x] - lab[n] + special.gammaln(gamma) + gd[n] - ggd[n]
        dead = lb[m] - lab[s] + special.gammaln(gamma + 1) + gd[s] - ggd[s + 1]
        dead = np.where(self.mask, dead, -np.inf)
        top = np.maximum(alive, dead.max(axis=1, initial=-np.inf))
        e_alive = np.exp(alive - top)
        e_dead = np.exp(dead - top[:, None])
        total = e_alive + e_dead.sum(axis=1)
        ll = const + top + np.log(total)
        if not gradient:
            return ll, None
        pi_alive = e_alive / total
        pi_dead = e_dead / total[:, None]
        psi = special.digamma
        pb = psi(beta + ks)
        pab = psi(alpha + beta + ks)
        pd_ = psi(delta + ks)
        pgd = psi(gamma + delta + ks)
        grad = np.empty((len(x), 4))
        grad[:, 0] = (psi(alpha + x) - psi(alpha) + psi(alpha + beta)
                      - pi_alive * pab[n] - (pi_dead * pab[s]).sum(axis=1))
        grad[:, 1] = (psi(alpha + beta) - psi(beta)
                      + pi_alive * (pb[self.n_x] - pab[n])
                      + (pi_dead * (pb[m] - pab[s])).sum(axis=1))
        grad[:, 2] = (psi(gamma + delta) - psi(gamma)
                      + pi_alive * (psi(gamma) - pgd[n])
                      + (pi_dead * (psi(gamma + 1) - pgd[s + 1])).sum(axis=1))
        grad[:, 3] = (psi(gamma + delta) - psi(delta)
                      + pi_alive * (pd_[n] - pgd[n])
                      + (pi_dead * (pd_[s] - pgd[s + 1])).sum(axis=1))
        return ll, grad

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = self.rows(theta, gradient=True)
        assert grad is not None
        return -dot(self.w, ll), -np.array([dot(self.w, g) for g in grad.T])


def _survival_sum(gamma: float, delta: float, n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sum_{i=n+1}^{n+t} B(gamma, delta+i) / B(gamma, delta): expected opportunities alive.

    FHS (2010), eq. 13's closed form; ``gamma = 1`` is a removable singularity (0/0), near it
    the value is the mean of the two sides at ``gamma -+ 1e-4``.
    """
    step = 1e-4
    if abs(gamma - 1) < step:
        return 0.5 * (_survival_closed(gamma - step, delta, n, t)
                      + _survival_closed(gamma + step, delta, n, t))
    return _survival_closed(gamma, delta, n, t)


def _survival_closed(gamma: float, delta: float, n: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``delta/(gamma-1) Gamma(gamma+delta)/Gamma(1+delta) [f(n) - f(n+t)]``,
    ``f(k) = Gamma(1+delta+k) / Gamma(gamma+delta+k)``, in log space."""
    from scipy import special

    gl = special.gammaln
    lead = (np.log(delta) - np.log(abs(gamma - 1)) + gl(gamma + delta) - gl(1 + delta)
            + gl(1 + delta + n) - gl(gamma + delta + n))
    ratio = ((gl(1 + delta + n + t) - gl(1 + delta + n))
             - (gl(gamma + delta + n + t) - gl(gamma + delta + n)))
    out = np.sign(gamma - 1) * np.exp(lead) * -np.expm1(ratio)
    return np.where(t > 0, np.maximum(out, 0.0), 0.0)


def _whole(name: str, values: np.ndarray) -> None:
    fractional = values != np.round(values)
    if fractional.any():
        raise ValueError(
            f"{name} has {int(fractional.sum())} non-integer value(s), e.g. "
            f"{values[fractional][:5].tolist()}; the BG/BB counts whole transaction "
            "opportunities."
        )


def _check_patterns(x: np.ndarray, tx: np.ndarray, n: np.ndarray, *,
                    index: pd.Index | None = None,
                    names: tuple[str, str, str] = ("frequency", "recency", "T")) -> None:
    """Refuse impossible discrete histories: :func:`~retention.models.base.check_histories`,
    then frequency > recency (x transactions need at least x opportunities).

    Examples
    --------
    >>> _check_patterns(np.array([2.0]), np.array([1.0]), np.array([4.0]))
    Traceback (most recent call last):
    ...
    ValueError: frequency has 1 value(s) greater than recency, e.g. at positions [0]: \
frequency=2.0 with recency=1.0; x transactions need at least x opportunities, the last one at \
recency.
    """
    check_histories(x, tx, n, index=index, names=names)
    fx, ftx, _ = names
    early = x > tx
    if early.any():
        pairs = ", ".join(f"{fx}={a!r} with {ftx}={b!r}" for a, b in zip(
            examples(x.ravel(), early.ravel()), examples(tx.ravel(), early.ravel()),
            strict=True))
        raise ValueError(
            f"{fx} has {int(early.sum())} value(s) greater than {ftx}, e.g. at "
            f"{_where(early, index)}: {pairs}; x transactions need at least x opportunities, "
            f"the last one at {ftx}."
        )


class BetaGeoBetaBinom(FittedModel):
    """BG/BB model (Fader, Hardie & Shang 2010), fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict
        ``{"alpha", "beta", "gamma", "delta"}``: transaction probabilities
        ``p ~ Beta(alpha, beta)``, dropout probabilities ``theta ~ Beta(gamma, delta)``
        (both per transaction opportunity).
    log_likelihood_ : float
        Maximised log-likelihood.
    standard_errors_ : dict
        Standard errors from the inverse observed information (Hessian) matrix.
    n_customers_ : float
        Number of customers fitted (sum of the weights).
    time_unit_ : str or None
        ``summary.attrs["time_unit"]`` when the summary carries one.
    optimizer_result_ : scipy.optimize.OptimizeResult

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters: the fit minimises
        ``-log L / n + penalizer * sum(log(theta) ** 2)`` over
        ``theta = (alpha, beta, gamma, delta)`` (``n`` customers), shrinking each parameter
        towards 1, as for
        :class:`~retention.models.BetaGeo` (lifetimes' ``penalizer_coef`` penalises the
        squared natural parameters instead). 0 fits the maximum likelihood; a small value
        (0.001 - 0.1) steadies fits on few customers. ``log_likelihood_`` stays the unpenalised
        log-likelihood.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models.bgbb import BetaGeoBetaBinom
    >>> patterns = pd.DataFrame({     # 4 yearly opportunities after the first gift
    ...     "frequency": [0, 1, 1, 2, 2, 3, 4, 1, 2, 3],
    ...     "recency":   [0, 1, 4, 2, 4, 4, 4, 2, 3, 3],
    ...     "periods":   [4, 4, 4, 4, 4, 4, 4, 4, 4, 4],
    ...     "weights":   [900, 200, 120, 110, 150, 260, 400, 90, 80, 100]})
    >>> bgbb = BetaGeoBetaBinom().fit(patterns)
    >>> sorted(bgbb.params_)
    ['alpha', 'beta', 'delta', 'gamma']
    >>> bool(bgbb.probability_alive(0, 0, 4) < bgbb.probability_alive(4, 4, 4))
    True
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _model_name = "BG/BB"
    _fit_hint = ".fit(summary, T='periods', weights='weights')"

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "periods",
        weights: str | np.ndarray | pd.Series | None = "weights",
    ) -> BetaGeoBetaBinom:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        summary : DataFrame
            One row per transaction pattern (x, t_x, n) with the number of customers who
            have it, or one row per customer with ``weights=None``.
        frequency, recency, T : str
            Column names of x (transactions after the first), t_x (opportunity of the last
            one, 0 without one) and n (opportunities observed).
        weights : str, array-like or None, default "weights"
            Number of customers each row stands for (column name or values); ``None`` for
            one row per customer. Identical patterns are merged internally anyway.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Empty summary, missing columns, NaN / infinite / negative or non-integer values,
            impossible histories (frequency > recency, recency > periods, recency > 0 without
            a transaction), or no transaction at all.
        ConvergenceError
            When the likelihood maximisation does not converge.

        Examples
        --------
        >>> import pandas as pd
        >>> patterns = pd.DataFrame({"frequency": [0, 1, 1, 2, 2, 3],
        ...                          "recency": [0, 1, 3, 2, 3, 3],
        ...                          "periods": [3, 3, 3, 3, 3, 3],
        ...                          "weights": [500, 120, 80, 60, 110, 200]})
        >>> round(BetaGeoBetaBinom().fit(patterns).log_likelihood_, 2)
        -1751.12
        """
        values, w, index = summary_columns(
            summary, {"frequency": frequency, "recency": recency, "T": T}, weights
        )
        x, tx, n = values["frequency"], values["recency"], values["T"]
        for col, v in ((frequency, x), (recency, tx), (T, n)):
            fractional = v != np.round(v)
            if fractional.any():
                raise ValueError(bad_rows(col, "non-integer value(s)", fractional, index)
                                 + "; the BG/BB counts whole transaction opportunities.")
        _check_patterns(x, tx, n, index=index, names=(frequency, recency, T))
        if not np.any((x > 0) & (w > 0)):
            raise ValueError(
                f"no customer has a transaction ({frequency!r} is 0 for all {len(x)} rows); "
                "the BG/BB transaction and dropout processes cannot be estimated."
            )
        keep = w > 0
        nll = _BGBBLikelihood(x[keep], tx[keep], n[keep], w[keep])
        x0 = np.array([[1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 2.0]])
        self._fit_likelihood(nll, x0, float(w.sum()))
        self.time_unit_ = summary.attrs.get("time_unit")
        return self

    # ----------------------------------------------------------------------------------------
    # predictions
    # ----------------------------------------------------------------------------------------

    def _histories(self, **inputs: Any
                   ) -> tuple[dict[str, np.ndarray], pd.Index | None, bool, np.ndarray,
                              np.ndarray]:
        """Checked, broadcast inputs and the log-likelihood of each history."""
        history = [inputs.pop(k) for k in ("frequency", "recency", "T")]
        arrays, index, scalar = broadcast_histories(*history, **inputs)
        for name, v in arrays.items():
            _whole(name, v)
        x, tx, n = arrays["frequency"], arrays["recency"], arrays["T"]
        _check_patterns(x, tx, n, index=index)
        lik = _BGBBLikelihood(x.ravel(), tx.ravel(), n.ravel(), np.ones(x.size))
        ll, _ = lik.rows(np.array(self._param_values()))
        return arrays, index, scalar, ll[lik.codes].reshape(x.shape)

    def probability_alive_at(self, m: Any, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with history (x, t_x, n) is alive at opportunity n+m.

        FHS (2010), eq. 11 generalised:
        ``B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n+m)/B(gamma, delta) / L``.
        ``m = 0`` is the probability of being alive at the last opportunity observed.

        Parameters
        ----------
        m : int or array-like of int
            Opportunities ahead (>= 0).
        frequency, recency, T : int or array-like of int
            Histories x, t_x, n (broadcast together).

        Raises
        ------
        ValueError
            Impossible histories: those of
            :func:`~retention.models.base.check_histories` (missing or negative values,
            recency > T, recency > 0 with frequency 0), non-integer values, and frequency >
            recency.

        Examples
        --------
        >>> bgbb = BetaGeoBetaBinom()
        >>> bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> bgbb.probability_alive_at([1, 5], 1, 1, 6).round(3)
        array([0.069, 0.055])
        """
        from scipy import special

        alpha, beta, gamma, delta = self._param_values()
        arrays, index, scalar, ll = self._histories(
            m=m, frequency=frequency, recency=recency, T=T)
        m, x, n = arrays["m"], arrays["frequency"], arrays["T"]
        log_p = (special.betaln(alpha + x, beta + n - x) - special.betaln(alpha, beta)
                 + special.betaln(gamma, delta + n + m) - special.betaln(gamma, delta) - ll)
        out = np.exp(np.minimum(log_p, 0.0))
        return shape_output(out, index, scalar, "probability_alive")

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with history (x, t_x, n) is alive at the next opportunity.

        FHS (2010), eq. 11: :meth:`probability_alive_at` with ``m = 1``.

        Parameters
        ----------
        frequency, recency, T : int or array-like of int
            Histories x, t_x, n (broadcast together).

        Raises
        ------
        ValueError
            Impossible histories, as for :meth:`probability_alive_at`.

        Examples
        --------
        >>> bgbb = BetaGeoBetaBinom()
        >>> bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(bgbb.probability_alive(6, 6, 6), 3)
        0.93
        """
        return self.probability_alive_at(1, frequency, recency, T)

    def conditional_expected_purchases(self, t: Any, frequency: Any, recency: Any,
                                       T: Any) -> Any:
        """Expected transactions in the next ``t`` opportunities of a customer with history.

        FHS (2010), eq. 13::

            B(alpha+x+1, beta+n-x)/B(alpha, beta) / L
              * delta/(gamma-1) * Gamma(gamma+delta)/Gamma(1+delta)
              * [Gamma(1+delta+n)/Gamma(gamma+delta+n) - Gamma(1+delta+n+t)/Gamma(gamma+delta+n+t)]

        Parameters
        ----------
        t : int or array-like of int
            Future opportunities n+1 .. n+t.
        frequency, recency, T : int or array-like of int
            Histories x, t_x, n (broadcast together).

        Returns
        -------
        float, ndarray or Series (indexed like the first Series argument)

        Examples
        --------
        >>> bgbb = BetaGeoBetaBinom()
        >>> bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(bgbb.conditional_expected_purchases(5, 6, 6, 6), 3)
        3.752
        """
        from scipy import special

        alpha, beta, gamma, delta = self._param_values()
        arrays, index, scalar, ll = self._histories(
            t=t, frequency=frequency, recency=recency, T=T)
        t, x, n = arrays["t"], arrays["frequency"], arrays["T"]
        head = np.exp(special.betaln(alpha + x + 1, beta + n - x) - special.betaln(alpha, beta)
                      - ll)
        out = head * _survival_sum(gamma, delta, n, t)
        return shape_output(out, index, scalar, "expected_purchases")

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected transactions of a new customer in her first ``t`` opportunities, E[X(t)].

        FHS (2010), eq. 8:
        ``alpha/(alpha+beta) * delta/(gamma-1) * [1 - Gamma(gamma+delta)/Gamma(gamma+delta+t)
        * Gamma(1+delta+t)/Gamma(1+delta)]``.

        Parameters
        ----------
        t : int or array-like of int
            Number of opportunities.

        Examples
        --------
        >>> bgbb = BetaGeoBetaBinom()
        >>> bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(bgbb.expected_purchases_new(6), 3)
        2.22
        """
        alpha, beta, gamma, delta = self._param_values()
        arrays, index, scalar = broadcast_inputs(t=t)
        t = arrays["t"]
        _whole("t", t)
        out = alpha / (alpha + beta) * _survival_sum(gamma, delta, np.zeros_like(t), t)
        return shape_output(out, index, scalar, "expected_purchases")

    def probability_of_purchases(self, k: Any, t: Any) -> Any:
        """Probability that a new customer makes exactly ``k`` transactions in ``t`` opportunities.

        FHS (2010), eq. 7::

            C(t, k) B(alpha+k, beta+t-k)/B(alpha, beta) B(gamma, delta+t)/B(gamma, delta)
            + sum_{i=k}^{t-1} C(i, k) B(alpha+k, beta+i-k)/B(alpha, beta)
                              B(gamma+1, delta+i)/B(gamma, delta)

        Parameters
        ----------
        k : int or array-like of int
            Number of transactions (>= 0); 0 probability above ``t``.
        t : int or array-like of int
            Number of opportunities.

        Examples
        --------
        >>> bgbb = BetaGeoBetaBinom()
        >>> bgbb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(bgbb.probability_of_purchases(0, 6), 3)
        0.311
        """
        from scipy import special

        alpha, beta, gamma, delta = self._param_values()
        arrays, index, scalar = broadcast_inputs(k=k, t=t)
        k, t = arrays["k"], arrays["t"]
        _whole("k", k)
        _whole("t", t)
        (uk, ut), _, codes = collapse(k.ravel(), t.ravel(), weights=np.ones(k.size))
        gl, bl = special.gammaln, special.betaln
        base = -bl(alpha, beta) - bl(gamma, delta)

        def log_choose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return gl(a + 1) - gl(b + 1) - gl(a - b + 1)

        possible = uk <= ut
        kk, tt = np.where(possible, uk, 0.0), np.where(possible, ut, 0.0)
        alive = (log_choose(tt, kk) + bl(alpha + kk, beta + tt - kk) + bl(gamma, delta + tt)
                 + base)
        i = np.arange(int(tt.max()) if len(tt) else 0, dtype=np.float64)[None, :]
        valid = (i >= kk[:, None]) & (i < tt[:, None])
        ii = np.where(valid, i, kk[:, None])
        dead = (log_choose(ii, kk[:, None]) + bl(alpha + kk[:, None], beta + ii - kk[:, None])
                + bl(gamma + 1, delta + ii) + base)
        dead = np.where(valid, dead, -np.inf)
        both = np.concatenate([alive[:, None], dead], axis=1)
        prob = np.exp(special.logsumexp(both, axis=1))
        out = np.where(possible, prob, 0.0)[codes].reshape(k.shape)
        return shape_output(out, index, scalar, "probability")
