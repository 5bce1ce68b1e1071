"""Pareto/NBD model of purchase counts in a non-contractual setting.

Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and what will
they do next?", *Management Science* 33(1); the expressions used here are those of Fader,
Hardie & Lee (2005), "A note on deriving the Pareto/NBD model and related expressions". While
alive, a customer buys at Poisson rate ``lambda`` and her unobserved lifetime is exponential
with rate ``mu``. Across customers ``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)``
(shapes ``r, s``, rates ``alpha, beta``), independently.

The input is one row per customer: ``frequency`` x (repeat purchases), ``recency`` t_x (time of
the last purchase since the first) and ``T`` (time since the first purchase), all in one time
unit; see :func:`retention.rfm_summary`. Every prediction ``t`` is in that same unit.

Numerics. The likelihood of a history is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [(alpha+T)^-(r+x) (beta+T)^-s + s * I],
    I = int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du = F(t_x) - F(T),

where ``s * I`` is Fader & Hardie's ``s / (r+s+x) * A_0`` and ``F(y)`` the same integral from
``y`` to infinity. With ``M = max(alpha, beta)`` and ``z = |alpha - beta| / (M + y) < 1`` (the
note's choice of argument), ``F`` is a Gauss hypergeometric function, written after Euler's
transformation as ``2F1(1, b; c; z)`` with ``1 <= 2F1 <= 1 / (1 - z)``, so that its logarithm
never overflows however large x and T are (the untransformed ``2F1(r+s+x, ., r+s+x+1; z)`` of
the note overflows for large x). ``2F1(1, b; c; z)`` is evaluated by Gauss's continued fraction
for every row at once (:func:`retention.models.special.log_hyp2f1_unit_a`):
:func:`scipy.special.hyp2f1` returns NaN for large ``b`` near ``z = 1`` and loses digits when
``c - b`` is a whole number (``s`` or ``r + x`` integer). Within 1e-4 of ``z = 1`` (``alpha``
and ``beta`` orders of magnitude apart) ``F`` is integrated numerically instead
(:func:`_log_tail_quadrature`). ``log I`` is ``log F(t_x) + log(1 - F(T)/F(t_x))``; where the
two nearly cancel (``T`` close to ``t_x``) ``I`` is integrated directly, by Gauss-Legendre
quadrature over a short stretch or :func:`scipy.integrate.quad` otherwise, as is any row still
not finite. The two terms of ``L`` are added in log space, so the log-likelihood is finite for
every valid history.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention.checks import bad_rows
from retention.models.base import (
    ConvergenceError,
    FittedModel,
    broadcast_histories,
    broadcast_inputs,
    check_histories,
    collapse,
    dot,
    shape_output,
    summary_columns,
)
from retention.models.special import log_hyp2f1_unit_a as _log_hyp2f1_unit_a

__all__ = ["ParetoNBD"]

#: The continued fraction (:func:`retention.models.special.log_hyp2f1_unit_a`) is used where
#: ``1 - z >= _CF_MIN_GAP`` (at most ~1,500 steps); closer to ``z = 1``, ``F`` is integrated
#: numerically.
_CF_MIN_GAP = 1e-4
#: ``I = F(t_x) - F(T)`` is integrated directly when ``I / F(t_x)`` is below this (the
#: subtraction would lose more than 10 bits).
_CANCEL = 1e-3
#: Relative step (on log-parameters) of the central-difference gradient.
_GRAD_STEP = 2e-6


def _log_tail(r: float, alpha: float, s: float, beta: float, x: np.ndarray,
              y: np.ndarray) -> np.ndarray:
    """``log F(y)``, ``F(y) = int_y^inf (alpha+u)^-(r+x) (beta+u)^-(s+1) du``.

    With ``m = r + s + x`` and the Fader-Hardie argument ``z = |alpha-beta| / (max + y)``:

    * ``alpha >= beta``: ``F = (alpha+y)^-(r+x) (beta+y)^-s 2F1(1, r+x; m+1; z) / m``;
    * ``alpha < beta``: ``F = (alpha+y)^-(r+x-1) (beta+y)^-(s+1) 2F1(1, s+1; m+1; z) / m``.
    """
    x, y = (np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(x, y))
    la, lb = np.log(alpha + y), np.log(beta + y)
    m = r + s + x
    # 1 - z = (min + y) / (max + y): near z = 1 the fraction needs too many steps
    far = np.minimum(alpha, beta) + y >= _CF_MIN_GAP * (np.maximum(alpha, beta) + y)
    out = np.empty(x.shape)
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y[far])
        log_h = _log_hyp2f1_unit_a(r + x[far], np.full(z.shape, s + 1.0), z)
        out[far] = -(r + x[far]) * la[far] - s * lb[far] + log_h - np.log(m[far])
    else:
        z = (beta - alpha) / (beta + y[far])
        log_h = _log_hyp2f1_unit_a(np.full(z.shape, s + 1.0), r + x[far], z)
        out[far] = (-(r + x[far] - 1.0) * la[far] - (s + 1.0) * lb[far] + log_h
                    - np.log(m[far]))
    if not far.all():
        out[~far] = _log_tail_quadrature(r, alpha, s, beta, x[~far], y[~far])
    return out


def _log_tail_quadrature(r: float, alpha: float, s: float, beta: float, x: np.ndarray,
                         y: np.ndarray) -> np.ndarray:
    """``log F(y)`` by composite Gauss-Legendre quadrature, every row at once.

    In ``w`` with ``u = y + h (e^w - 1)``, ``h`` the integrand's e-folding length at ``y``,
    the integrand is smooth: it falls like ``exp(-v)`` first and like ``exp(-(r+s+x) w)``
    once ``u`` is past both ``alpha`` and ``beta``; it is cut where it is below 1e-17.
    """
    nodes, weights = np.polynomial.legendre.leggauss(16)
    h = 1.0 / ((r + x) / (alpha + y) + (s + 1.0) / (beta + y))
    top = _log_integrand(r, alpha, s, beta, x, y)
    m = r + s + x
    # [0, w1]: up to past both alpha and beta; [w1, w1 + 40/m]: the power-law tail
    w1 = np.log1p((max(alpha, beta) + y) / h) + 3.0
    total = np.zeros(len(x))
    for start, span in ((np.zeros(len(x)), w1), (w1, 40.0 / m)):
        width = span / 48
        for k in range(48):
            w = start[:, None] + (k + 0.5 + 0.5 * nodes[None, :]) * width[:, None]
            with np.errstate(over="ignore"):  # far in the tail: u = inf, integrand 0
                u = y[:, None] + h[:, None] * np.expm1(w)
                log_f = w + _log_integrand(r, alpha, s, beta, x[:, None], u) - top[:, None]
            total += np.exp(log_f) @ weights * (width / 2)
    return top + np.log(h) + np.log(total)


def _log_integrand(r: float, alpha: float, s: float, beta: float, x: np.ndarray,
                   u: np.ndarray) -> np.ndarray:
    return -(r + x) * np.log(alpha + u) - (s + 1.0) * np.log(beta + u)


def _log_between_quadrature(r: float, alpha: float, s: float, beta: float, x: np.ndarray,
                            lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``log I`` by 32-point Gauss-Legendre on ``[lo, hi]`` (a short stretch of a smooth,
    slowly varying integrand: the case where ``F(lo) - F(hi)`` cancels)."""
    nodes, weights = np.polynomial.legendre.leggauss(32)
    half = (hi - lo)[:, None] / 2
    u = (lo + hi)[:, None] / 2 + half * nodes[None, :]
    log_f = _log_integrand(r, alpha, s, beta, x[:, None], u)
    top = log_f.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return (top[:, 0] + np.log(np.exp(log_f - top) @ weights) + np.log(half[:, 0]))


def _log_between_quad(r: float, alpha: float, s: float, beta: float, x: float, lo: float,
                      hi: float) -> float:
    """``log I`` by adaptive quadrature (:func:`scipy.integrate.quad`), one row."""
    from scipy import integrate

    if not hi > lo:
        return -np.inf
    top = float(_log_integrand(r, alpha, s, beta, np.float64(x), np.float64(lo)))
    # the integrand decreases from lo; its e-folding length there sets the scale
    scale = 1.0 / ((r + x) / (alpha + lo) + (s + 1.0) / (beta + lo))

    # u = lo + scale (e^w - 1): the integrand falls like exp(-v) first, then like a power of
    # v, and is smooth in w throughout
    def f(w: float) -> float:
        u = lo + scale * np.expm1(w)
        return float(np.exp(w + _log_integrand(r, alpha, s, beta, np.float64(x), np.float64(u))
                            - top))

    edges = np.linspace(0.0, np.log1p((hi - lo) / scale), 64)
    value = sum(integrate.quad(f, a, b, epsabs=0.0, epsrel=1e-13, limit=200)[0]
                for a, b in zip(edges[:-1], edges[1:], strict=True))
    return top + np.log(scale) + np.log(value)


def _log_between(r: float, alpha: float, s: float, beta: float, x: np.ndarray,
                 log_f_lo: np.ndarray, log_f_hi: np.ndarray, lo: np.ndarray,
                 hi: np.ndarray) -> np.ndarray:
    """``log I = log(F(lo) - F(hi))``, -inf where ``lo == hi``."""
    d = log_f_hi - log_f_lo
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_f_lo + np.log(-np.expm1(np.minimum(d, 0.0)))
    near = (hi > lo) & ~(d < np.log1p(-_CANCEL))
    # a short stretch (against the distance to the integrand's poles): Gauss-Legendre is exact
    # to rounding; a long one goes to adaptive quadrature below
    short = near & (hi - lo <= 0.5 * (min(alpha, beta) + lo))
    if short.any():
        out[short] = _log_between_quadrature(r, alpha, s, beta, x[short], lo[short], hi[short])
    out[~(hi > lo)] = -np.inf
    bad = np.flatnonzero((hi > lo) & (~np.isfinite(out) | (near & ~short)))
    for i in bad:
        out[i] = _log_between_quad(r, alpha, s, beta, float(x[i]), float(lo[i]), float(hi[i]))
    return out


def _log_terms(r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray,
               big_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two terms of the likelihood bracket, in logs: alive at T, and dropped out in (t_x, T].

    ``log[(alpha+T)^-(r+x) (beta+T)^-s]`` and ``log[s * I]`` (``-inf`` when ``t_x == T``).
    """
    alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    lo = _log_tail(r, alpha, s, beta, x, tx)
    hi = _log_tail(r, alpha, s, beta, x, big_t)
    return alive, np.log(s) + _log_between(r, alpha, s, beta, x, lo, hi, tx, big_t)


class _ParetoNBDLikelihood:
    """Negative log-likelihood and its gradient on collapsed data.

    Identical histories are merged; ``log F`` is computed once per distinct (x, y) pair, y
    being a t_x or a T; gammaln terms once per distinct x. The gradient is a central
    difference on the log-parameters (``_GRAD_STEP``, eight evaluations).
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        (x, tx, T), w, _ = collapse(x, tx, T, weights=w)
        self.w = w
        self.tx, self.T = tx, T
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))
        self.wsum = float(w.sum())
        # distinct (x, y) pairs, y in t_x and T; the last term vanishes when t_x == T
        gap = T > tx
        self.gap = gap
        n = int(gap.sum())
        (self.px, self.py), _, code = collapse(np.concatenate([x[gap], x[gap]]),
                                               np.concatenate([tx[gap], T[gap]]),
                                               weights=np.ones(2 * n))
        self.i_lo, self.i_hi = code[:n], code[n:]
        self.gx = x[gap]
        self.uT, self.iT = np.unique(T, return_inverse=True)
        self.wT = np.bincount(self.iT, weights=w, minlength=len(self.uT))
        self.wxT = np.bincount(self.iT, weights=w * x, minlength=len(self.uT))

    def log_likelihood(self, theta: np.ndarray) -> float:
        from scipy import special

        r, alpha, s, beta = (float(v) for v in theta)
        const = (dot(self.wx, special.gammaln(r + self.ux)) - self.wsum * special.gammaln(r)
                 + self.wsum * (r * np.log(alpha) + s * np.log(beta)))
        x = self.ux[self.ix]
        alive = -(r + x) * np.log(alpha + self.T) - s * np.log(beta + self.T)
        log_f = _log_tail(r, alpha, s, beta, self.px, self.py)
        dead = np.full(len(x), -np.inf)
        dead[self.gap] = np.log(s) + _log_between(
            r, alpha, s, beta, self.gx, log_f[self.i_lo], log_f[self.i_hi],
            self.tx[self.gap], self.T[self.gap])
        return const + dot(self.w, np.logaddexp(alive, dead))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.asarray(theta, dtype=np.float64)
        if np.any(theta <= 0) or not np.all(np.isfinite(theta)):
            return np.inf, np.zeros(4)
        value = self.log_likelihood(theta)
        grad = np.empty(4)
        for j in range(4):
            up, down = theta.copy(), theta.copy()
            up[j] *= np.exp(_GRAD_STEP)
            down[j] *= np.exp(-_GRAD_STEP)
            # d/d log(theta_j), then d/d theta_j
            grad[j] = ((self.log_likelihood(up) - self.log_likelihood(down))
                       / (2 * _GRAD_STEP) / theta[j])
        return -value, -grad


class ParetoNBD(FittedModel):
    """Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), fitted by maximum likelihood.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``: purchase rates ``lambda ~ Gamma(r, alpha)``, dropout
        rates ``mu ~ Gamma(s, beta)`` (alpha and beta in the time unit of the summary).
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
        ``-log L / n + penalizer * sum(log(theta) ** 2)`` over ``theta = (r, alpha, s, beta)``
        (``n`` customers), shrinking each parameter towards 1, as for
        :class:`~retention.models.BetaGeo` (lifetimes' ``penalizer_coef`` penalises the
        squared natural parameters instead). 0 fits the maximum likelihood; a small value
        (0.001 - 0.1) steadies fits on few repeat buyers. ``log_likelihood_`` stays the unpenalised
        log-likelihood.

    Examples
    --------
    >>> import pandas as pd
    >>> from retention.models.paretonbd import ParetoNBD
    >>> summary = pd.DataFrame({                      # one row per group of customers
    ...     "frequency": [0, 0, 1, 1, 2, 2, 4, 7],
    ...     "recency": [0, 0, 30, 5, 35, 10, 36, 37],    # weeks
    ...     "T": [39, 30, 39, 38, 39, 37, 39, 39],
    ...     "customers": [700, 600, 150, 120, 80, 70, 40, 20]})
    >>> pnbd = ParetoNBD().fit(summary, weights="customers")
    >>> sorted(pnbd.params_)
    ['alpha', 'beta', 'r', 's']
    >>> round(pnbd.probability_alive(1, 5, 38), 2)
    0.81
    """

    _param_names = ("r", "alpha", "s", "beta")
    _model_name = "Pareto/NBD"
    _expected_factorises = True

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "T",
        weights: str | np.ndarray | pd.Series | None = None,
    ) -> ParetoNBD:
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
            frequency, recency > T, recency > 0 with frequency 0, or no repeat buyer at all.
        ConvergenceError
            When the likelihood maximisation does not converge.

        Examples
        --------
        >>> import pandas as pd
        >>> summary = pd.DataFrame({"frequency": [0, 0, 1, 1, 2, 2, 4, 7],
        ...                         "recency": [0, 0, 30, 5, 35, 10, 36, 37],
        ...                         "T": [39, 30, 39, 38, 39, 37, 39, 39]})
        >>> counts = [700, 600, 150, 120, 80, 70, 40, 20]
        >>> round(ParetoNBD().fit(summary, weights=counts).log_likelihood_, 2)
        -4376.57
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
                f"{len(x)} rows); the Pareto/NBD purchase process cannot be estimated."
            )
        keep = w > 0
        nll = _ParetoNBDLikelihood(x[keep], np.minimum(tx, big_t)[keep], big_t[keep], w[keep])
        n = float(w.sum())
        # start: Gamma(1, alpha) with mean rate = mean repeat purchases per unit time, and
        # mean lifetime of the order of the observation period
        rate = dot(w, x + 1) / max(dot(w, big_t), 1e-300)
        age = max(dot(w, big_t) / n, 1e-300)  # parameters in time are searched relative to it
        x0 = np.array([0.9, 0.9 / rate, 0.9, 0.9 * age])
        def no_dropout(theta: np.ndarray) -> None:
            # mean dropout rate s / beta: a lifetime a million windows long is no dropout
            if theta[2] / theta[3] * age < 1e-6:
                raise ConvergenceError(
                    "ParetoNBD fit did not reach a proper maximum: no customer appears to "
                    f"drop out (s / beta = {theta[2] / theta[3]:.3g} per time unit, a mean "
                    f"lifetime of {theta[3] / theta[2] / age:.3g} times the mean customer age), "
                    "so ['s', 'beta'] are not identified. Try more customers or a longer "
                    "window, a penalizer (e.g. penalizer=0.01), or a model without dropout.")

        self._fit_likelihood(nll, x0, n, units=np.array([1.0, age, 1.0, age]),
                             limit_check=no_dropout)
        self.time_unit_ = summary.attrs.get("time_unit")
        return self

    # ----------------------------------------------------------------------------------------
    # predictions
    # ----------------------------------------------------------------------------------------

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """Probability that a customer with history (x, t_x, T) is still alive at T.

        Fader, Hardie & Lee (2005 note), eq. 18 with its two terms::

            P(alive) = (alpha+T)^-(r+x) (beta+T)^-s / [(alpha+T)^-(r+x) (beta+T)^-s + s I],

        computed in log space (see the module notes on ``I``).

        Parameters
        ----------
        frequency, recency, T : float or array-like
            Customer histories (broadcast together).

        Raises
        ------
        ValueError
            Impossible histories (:func:`~retention.models.base.check_histories`): missing
            or negative values, recency > T, or recency > 0 with frequency 0.

        Examples
        --------
        >>> pnbd = ParetoNBD()
        >>> pnbd.params_ = {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}
        >>> round(pnbd.probability_alive(0, 0, 39), 3)
        0.294
        >>> round(pnbd.probability_alive(2, 5, 38), 3)
        0.137
        """
        r, alpha, s, beta = self._param_values()
        arrays, index, scalar = broadcast_histories(frequency, recency, T)
        x, tx, big_t = arrays["frequency"], arrays["recency"], arrays["T"]
        out = self._alive(r, alpha, s, beta, x, tx, big_t)
        return shape_output(out, index, scalar, "probability_alive")

    @staticmethod
    def _alive(r: float, alpha: float, s: float, beta: float, x: np.ndarray, tx: np.ndarray,
               big_t: np.ndarray) -> np.ndarray:
        from scipy import special

        shape = np.shape(x)
        x, tx, big_t = (np.ravel(v).astype(np.float64) for v in (x, tx, big_t))
        alive, dead = _log_terms(r, alpha, s, beta, x, np.minimum(tx, big_t), big_t)
        with np.errstate(invalid="ignore"):
            out = special.expit(alive - dead)
        return out.reshape(shape)

    def conditional_expected_purchases(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """Expected purchases in the next ``t`` time units of a customer with history (x, t_x, T).

        Fader, Hardie & Lee (2005 note), eq. 41::

            P(alive) * (r+x)(beta+T) / ((alpha+T)(s-1)) * [1 - ((beta+T)/(beta+T+t))^(s-1)],

        with the bracket over ``s - 1`` computed by ``expm1``/``log1p`` (its limit
        ``log(1 + t/(beta+T))`` at ``s = 1``).

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
            Impossible histories, as for :meth:`probability_alive`.

        Examples
        --------
        >>> pnbd = ParetoNBD()
        >>> pnbd.params_ = {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}
        >>> round(pnbd.conditional_expected_purchases(39, 2, 30.43, 38.86), 3)
        1.455
        """
        r, alpha, s, beta = self._param_values()
        arrays, index, scalar = broadcast_histories(frequency, recency, T, t=t)
        t, x, tx, big_t = arrays["t"], arrays["frequency"], arrays["recency"], arrays["T"]
        alive = self._alive(r, alpha, s, beta, x, tx, big_t)
        out = alive * (r + x) / (alpha + big_t) * (beta + big_t) * _lifetime_window(
            s, t / (beta + big_t))
        return shape_output(out, index, scalar, "expected_purchases")

    def expected_purchases_new(self, t: Any) -> Any:
        """Expected number of purchases in ``(0, t]`` by a newly acquired customer, E[X(t)].

        Fader, Hardie & Lee (2005 note), eq. 27:
        ``r beta / (alpha (s-1)) * [1 - (beta/(beta+t))^(s-1)]``.

        Parameters
        ----------
        t : float or array-like
            Length of the period, in the summary's time unit.

        Examples
        --------
        >>> pnbd = ParetoNBD()
        >>> pnbd.params_ = {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}
        >>> round(pnbd.expected_purchases_new(52), 3)
        1.473
        """
        r, alpha, s, beta = self._param_values()
        arrays, index, scalar = broadcast_inputs(t=t)
        t = arrays["t"]
        out = r * beta / alpha * _lifetime_window(s, t / beta)
        return shape_output(out, index, scalar, "expected_purchases")

    def probability_of_purchases(self, k: Any, t: Any) -> Any:
        """Probability that a new customer makes exactly ``k`` purchases in ``(0, t]``, P(X(t)=k).

        Fader, Hardie & Lee (2005 note), eq. 24: the customer is alive at ``t`` with ``k``
        Poisson purchases (a negative binomial times ``(beta/(beta+t))^s``), or died at some
        ``tau < t`` after ``k`` purchases, the latter a difference of Gauss hypergeometric
        terms (:func:`scipy.special.hyp2f1`); values are clipped to ``[0, 1]``.

        Parameters
        ----------
        k : int or array-like of int
            Number of purchases (>= 0).
        t : float or array-like
            Length of the period, in the summary's time unit.

        Examples
        --------
        >>> pnbd = ParetoNBD()
        >>> pnbd.params_ = {"r": 0.5531, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}
        >>> round(pnbd.probability_of_purchases(0, 39), 3)
        0.594
        """
        from scipy import special

        r, alpha, s, beta = self._param_values()
        arrays, index, scalar = broadcast_inputs(k=k, t=t)
        k, t = arrays["k"], arrays["t"]
        if np.any(k != np.round(k)):
            raise ValueError("k must hold whole numbers of purchases.")
        shape = k.shape
        k, t_in = k.ravel(), t.ravel()
        t = np.where(t_in > 0, t_in, 1.0)  # t = 0 is set at the end
        with np.errstate(divide="ignore"):
            log_t = np.log(t)
            alive = (special.gammaln(r + k) - special.gammaln(r) - special.gammaln(k + 1)
                     + r * np.log(alpha / (alpha + t)) + k * (log_t - np.log(alpha + t))
                     + s * np.log(beta / (beta + t)))
        alive = np.where(k == 0, (alpha / (alpha + t)) ** r * (beta / (beta + t)) ** s,
                         np.exp(alive))
        big = max(alpha, beta)
        p_arg = s + 1.0 if alpha >= beta else r + k
        head = (r * np.log(alpha) + s * np.log(beta) + special.betaln(r + k, s + 1.0)
                - special.betaln(r, s))
        # int_0^inf minus int_t^inf of the dead-after-k-purchases density
        whole = head + _log_hyp2f1(r + s, p_arg, r + s + k + 1, abs(alpha - beta) / big) \
            - (r + s) * np.log(big)
        kmax = int(k.max()) if len(k) else 0
        tail = np.full(len(k), -np.inf)
        for i in range(kmax + 1):
            use = k >= i
            if not use.any():
                break
            with np.errstate(divide="ignore", invalid="ignore"):
                term = (i * log_t - special.gammaln(i + 1) + special.gammaln(r + s + i)
                        - special.gammaln(r + s)
                        + _log_hyp2f1(r + s + i, p_arg, r + s + k + 1,
                                      abs(alpha - beta) / (big + t))
                        - (r + s + i) * np.log(big + t))
            tail = np.where(use, np.logaddexp(tail, head + term), tail)
        dead = np.exp(whole) - np.exp(tail)
        out = np.clip(alive + np.maximum(dead, 0.0), 0.0, 1.0)
        out = np.where(t_in == 0, (k == 0).astype(np.float64), out).reshape(shape)
        return shape_output(out, index, scalar, "probability")


def _log_hyp2f1(a: Any, b: Any, c: Any, z: Any) -> np.ndarray:
    """``log 2F1(a, b; c; z)`` for ``0 <= z < 1``, positive ``a, b, c``; Euler's
    transformation ``(1-z)^(c-a-b) 2F1(c-a, c-b; c; z)`` where the direct value overflows."""
    from scipy import special

    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = np.log(special.hyp2f1(a, b, c, z))
        bad = ~np.isfinite(out)
        if bad.any():
            out = np.where(bad, (c - a - b) * np.log1p(-z)
                           + np.log(special.hyp2f1(c - a, c - b, c, z)), out)
    return out


def _lifetime_window(s: float, u: np.ndarray) -> np.ndarray:
    """``[1 - (1+u)^-(s-1)] / (s-1)``, ``log(1+u)`` at ``s = 1``."""
    lg = np.log1p(u)
    if s == 1.0:
        return lg
    return -np.expm1(-(s - 1.0) * lg) / (s - 1.0)
