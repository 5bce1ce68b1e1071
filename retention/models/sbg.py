"""Shifted-beta-geometric (sBG) model of contractual retention.

Fader & Hardie (2007), "How to project customer retention", *Journal of Interactive
Marketing* 21(1). Every customer of a cohort has a constant probability ``theta`` of
cancelling at the end of each period; ``theta`` varies across customers as a
``Beta(alpha, beta)`` distribution. Because the customers most likely to leave leave first,
the aggregate retention rate rises over time even though no individual's rate changes.

Time convention (used by every method):

* period 0 is acquisition; a customer is *active at the start of period t* when her
  lifetime ``T`` (the period in which she cancels, ``T = 1, 2, ...``) exceeds ``t``;
* ``survival(t) = P(T > t)``, so ``survival(0) = 1``;
* ``churn_probability(t) = P(T = t) = survival(t - 1) - survival(t)`` for ``t >= 1``;
* ``retention_rate(t) = survival(t) / survival(t - 1)`` for ``t >= 1``.

The valuation formulas (DEL, DERL) follow Fader & Hardie (2010), "Customer-base valuation in
a contractual setting: the perils of ignoring heterogeneity", *Marketing Science* 29(1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from retention.checks import examples, is_missing, is_real
from retention.models.base import LOG_BOUND, ConvergenceError, FittedModel, check_penalizer

__all__ = ["ShiftedBetaGeometric"]

#: The continued fraction of :func:`_hyp2f1_unit_a` stops when a step changes the value by less
#: than this relative amount, and gives up after this many steps. It needs about
#: ``15 / sqrt(d)`` steps at a discount rate ``d`` in the worst case (alpha and beta near 0),
#: so the cap covers every rate from 1e-10 per period.
_CF_TOL = 1e-14
_CF_MAX_STEPS = 2_000_000


def _hyp2f1_unit_a(b: float, gap: float, z: float) -> float:
    """``2F1(1, b; b + gap; z)`` for ``b, gap > 0`` and ``0 < z < 1``.

    The function is ``E[1 / (1 - z X)]`` with ``X ~ Beta(b, gap)``, and its power series
    ``sum_n (b)_n / (b + gap)_n z^n`` is the sBG's discounted survival sum. It is evaluated by
    Gauss's continued fraction (:func:`retention.models.special.log_hyp2f1_unit_a`, which says
    why :func:`scipy.special.hyp2f1` is not used), in about ``15 / sqrt(1 - z)`` steps; the
    relative error is of the order of ``1e-15 / (1 - z)``.

    Examples
    --------
    >>> round(_hyp2f1_unit_a(1.0, 1.0, 0.5), 10)  # -log(1 - z) / z
    1.3862943611
    """
    from retention.models.special import log_hyp2f1_unit_a

    value = float(np.exp(log_hyp2f1_unit_a(b, gap, z, tol=_CF_TOL, max_steps=_CF_MAX_STEPS)))
    if not np.isfinite(value):
        raise ValueError(
            f"the discounted lifetime did not converge in {_CF_MAX_STEPS:,} steps: the discount "
            f"rate {1.0 / z - 1.0:.3g} per period is too close to 0. Use discount_rate=0 for the "
            "undiscounted value."
        )
    return value


def _residual_lifetime(alpha: float, beta: float, d: float) -> float:
    """``sum_{t >= 1} S(t) / (1 + d)^(t - 1)`` for the sBG with parameters (alpha, beta).

    ``= beta / (alpha + beta) * 2F1(1, beta + 1; alpha + beta + 1; 1 / (1 + d))``; with
    ``d = 0`` the sum of the survival curve, ``beta / (alpha - 1)``, infinite if ``alpha <= 1``.
    """
    if d == 0.0:
        return beta / (alpha - 1.0) if alpha > 1.0 else math.inf
    return beta / (alpha + beta) * _hyp2f1_unit_a(beta + 1.0, alpha, 1.0 / (1.0 + d))


def _betaln_terms(alpha: float, beta: float, a_off: np.ndarray, b_off: np.ndarray) -> np.ndarray:
    """``log B(alpha + a_off, beta + b_off) - log B(alpha, beta)``, elementwise."""
    from scipy import special

    return special.betaln(alpha + a_off, beta + b_off) - special.betaln(alpha, beta)


def _loglik_grad(alpha: float, beta: float, active: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient with respect to (alpha, beta).

    Written as a chain of conditional binomials: of the ``active[t - 1]`` customers at risk in
    period ``t``, ``active[t]`` renew with probability ``r(t) = (beta + t - 1) / c_t`` and
    ``lost[t]`` churn with probability ``alpha / c_t``, where ``c_t = alpha + beta + t - 1``.
    This equals the usual ``sum lost_t log P(T = t) + active_n log S(n)`` with the beta
    functions cancelled, and stays accurate when alpha and beta are very large (the geometric
    limit), where differences of ``betaln`` values lose their digits.
    """
    from scipy import special

    t = np.arange(1, active.size, dtype=float)
    at_risk, renewed = active[:-1], active[1:]
    lost = at_risk - renewed
    b = beta + t - 1.0
    c = alpha + beta + t - 1.0
    # xlogy: 0 * log(0) = 0 when nobody renews (b > 0 anyway) or nobody churns.
    ll = float(np.sum(special.xlogy(renewed, b) + special.xlogy(lost, alpha) - at_risk * np.log(c)))
    lost_sum = lost.sum()
    risk_over_c = at_risk / c
    grad = np.array(
        [lost_sum / alpha - risk_over_c.sum(), np.sum(renewed / b) - risk_over_c.sum()],
        dtype=float,
    )
    return ll, grad


def _examples(values: np.ndarray, positions: np.ndarray) -> str:
    """``"v1 at position i1, v2 at position i2, ..."`` for the first few bad values."""
    shown = examples(values.take(positions))
    return ", ".join(f"{v!r} at position {int(i)}" for v, i in zip(shown, positions, strict=False))


def _as_periods(t: Any, name: str, minimum: int) -> tuple[np.ndarray, bool]:
    """Validate integer period(s) ``>= minimum``; return an int array and whether t was scalar."""
    scalar = np.ndim(t) == 0
    arr = np.atleast_1d(np.asarray(t))
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be integer period number(s); got dtype {arr.dtype}.")
    as_float = arr.astype(float)
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float)) | (as_float < minimum)
    if bad.any():
        where = np.flatnonzero(bad)
        raise ValueError(
            f"{name} must be whole periods >= {minimum}; {where.size} value(s) are not, "
            f"e.g. {_examples(arr, where)}."
        )
    return as_float.astype(np.int64), scalar


def _shape_like(values: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(values[0]) if scalar else values


class ShiftedBetaGeometric(FittedModel):
    """Shifted-beta-geometric model of a contractual cohort's retention.

    Fit it on the number of customers of one cohort still active at the start of periods
    ``0, 1, ..., n``; it then gives the survival curve, the period-by-period retention and
    churn, projections beyond the observed periods, and the discounted expected (residual)
    lifetime used in customer valuation.

    Parameters
    ----------
    tol : float, default 1e-10
        Gradient tolerance of the maximum-likelihood optimiser.
    max_iter : int, default 1000
        Maximum number of optimiser iterations.
    penalizer : float, default 0.0
        L2 penalty on the log-parameters: the fit minimises
        ``-log L / n + penalizer * sum(log(theta) ** 2)`` over ``theta = (alpha, beta)``
        (``n`` customers at period 0), shrinking each parameter towards 1, as for
        :class:`~retention.models.BetaGeo`. 0 fits the maximum likelihood; a small value
        (0.001 - 0.1) steadies fits on short or small cohorts. ``log_likelihood_`` stays the
        unpenalised log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``{"alpha": ..., "beta": ...}``, the maximum-likelihood estimates of the beta
        distribution of the per-period churn probability.
    standard_errors_ : dict
        ``{"alpha": ..., "beta": ...}``, asymptotic standard errors from the observed
        information (the inverse of the negative Hessian of the log-likelihood, as for
        the other models).
    log_likelihood_ : float
        Maximised log-likelihood.
    n_periods_ : int
        Number of observed periods ``n`` (the data had ``n + 1`` values, periods ``0..n``).
    n_customers_ : float
        Cohort size at period 0.
    active_ : numpy.ndarray
        Customers active at the start of periods ``0..n`` as used in the fit.
    optimizer_result_ : scipy.optimize.OptimizeResult
        The best of the optimiser runs (one per starting point); absent after
        :meth:`from_params`.
    summary : pandas.DataFrame
        Property, as for the other models: columns ``coef``, ``se``, ``lower_95`` and
        ``upper_95`` (Wald interval), one row per parameter.

    See Also
    --------
    ShiftedBetaGeometric.fit : the accepted inputs.

    Notes
    -----
    With ``theta ~ Beta(alpha, beta)``:

    * ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)``;
    * ``S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)``;
    * ``r(t) = (beta + t - 1) / (alpha + beta + t - 1)``.

    The mean churn probability in period 1 is ``alpha / (alpha + beta)``.

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention.
    *Journal of Interactive Marketing*, 21(1), 76-90.

    Examples
    --------
    >>> from retention.models.sbg import ShiftedBetaGeometric
    >>> sbg = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> {k: round(v, 3) for k, v in sbg.params_.items()}
    {'alpha': 0.704, 'beta': 1.182}
    >>> round(100 * sbg.survival(12), 1)  # projected % active in year 12 (actual: 17.3)
    17.0
    >>> sbg.summary.round(3)
            coef     se  lower_95  upper_95
    alpha  0.704  0.066     0.576     0.833
    beta   1.182  0.152     0.883     1.481
    """

    _param_names = ("alpha", "beta")
    _model_name = "sBG"
    _fit_hint = "fit(active) or ShiftedBetaGeometric.from_params(alpha, beta)"

    def __init__(self, tol: float = 1e-10, max_iter: int = 1000,
                 penalizer: float = 0.0) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.penalizer = check_penalizer(penalizer)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(
        cls, alpha: float, beta: float, n_customers: float | None = None
    ) -> ShiftedBetaGeometric:
        """Build a model with known parameters, without fitting.

        Useful to reproduce published results or to explore the formulas. The data-dependent
        attributes are empty: ``log_likelihood_`` and the standard errors are NaN,
        ``n_periods_`` is 0 and ``active_`` has the single value ``n_customers``.

        Parameters
        ----------
        alpha, beta : float
            Positive parameters of the beta distribution of the churn probability.
        n_customers : float, optional
            Cohort size used by :meth:`project` for the expected active customers
            (default 1, so expected counts are fractions of the cohort).

        Returns
        -------
        ShiftedBetaGeometric

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric.from_params(alpha=0.668, beta=3.806)
        >>> round(sbg.retention_rate(1), 3)
        0.851
        """
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not (is_real(value) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number; got {value!r}.")
        if n_customers is not None and not (
            is_real(n_customers) and np.isfinite(n_customers) and n_customers > 0
        ):
            raise ValueError(f"n_customers must be a positive number; got {n_customers!r}.")
        size = 1.0 if n_customers is None else float(n_customers)
        model = cls()
        model.params_ = {"alpha": float(alpha), "beta": float(beta)}
        model.standard_errors_ = {"alpha": float("nan"), "beta": float("nan")}
        model.log_likelihood_ = float("nan")
        model.n_periods_ = 0
        model.n_customers_ = size
        model.active_ = np.array([size])
        return model

    # ------------------------------------------------------------------ fitting
    @staticmethod
    def _validate_active(
        active: Sequence[float] | np.ndarray | pd.Series, n_customers: float | None
    ) -> np.ndarray:
        if isinstance(active, pd.DataFrame):
            raise ValueError(
                "active must be one sequence of counts (or survival values), not a DataFrame; "
                "pass a single column."
            )
        raw = np.asarray(active.to_numpy() if isinstance(active, pd.Series) else active)
        if raw.dtype.kind in "USO" and raw.ndim == 1:
            raw = np.asarray(active, dtype=object)  # keep each element's own type
        if raw.ndim != 1:
            raise ValueError(f"active must be one-dimensional; got an array of shape {raw.shape}.")
        if raw.size < 3:
            raise ValueError(
                f"active needs at least 3 values (periods 0, 1 and 2: two observed periods) to "
                f"estimate alpha and beta; got {raw.size}."
            )
        if raw.dtype.kind in "iuf":
            non_numeric = np.array([], dtype=np.int64)
        else:
            non_numeric = np.flatnonzero(
                [not (is_missing(v) or is_real(v)) for v in raw.tolist()]
            )
            if raw.dtype.kind == "b":
                non_numeric = np.arange(raw.size)
        if non_numeric.size:
            raise ValueError(
                f"active must hold numbers; {non_numeric.size} value(s) are not, "
                f"e.g. {_examples(raw, non_numeric)}."
            )
        values = np.array([np.nan if is_missing(v) else float(v) for v in raw.tolist()])
        missing = np.flatnonzero(~np.isfinite(values))
        if missing.size:
            raise ValueError(
                f"active has {missing.size} missing or infinite value(s), "
                f"e.g. {_examples(raw, missing)}; the sBG needs every period of the cohort."
            )
        negative = np.flatnonzero(values < 0)
        if negative.size:
            raise ValueError(
                f"active has {negative.size} negative value(s), e.g. {_examples(raw, negative)}."
            )
        increasing = np.flatnonzero(np.diff(values) > 0) + 1
        if increasing.size:
            raise ValueError(
                f"active must not increase: a cohort only loses customers, but {increasing.size} "
                f"value(s) exceed the one before, e.g. {_examples(raw, increasing)}."
            )
        if values[0] <= 0:
            raise ValueError(f"active must start with a positive cohort size; got {values[0]:g}.")
        if n_customers is not None:
            if not (is_real(n_customers) and np.isfinite(n_customers) and n_customers > 0):
                raise ValueError(f"n_customers must be a positive number; got {n_customers!r}.")
            if values[0] not in (1.0, 100.0, float(n_customers)):
                raise ValueError(
                    "with n_customers, active must be survival starting at 1 (fractions) or 100 "
                    f"(percentages), or counts starting at n_customers={n_customers!r}; "
                    f"it starts at {values[0]:g}."
                )
            values = values / values[0] * float(n_customers)
        if values[1] == 0:
            raise ValueError(
                "active drops to 0 in period 1: every customer churned in the first period, so "
                "the data say nothing about how retention evolves."
            )
        if values[-1] == values[0]:
            raise ValueError(
                "active never decreases: no customer churned, so the churn distribution cannot "
                "be estimated."
            )
        return values

    def fit(
        self,
        active: Sequence[float] | np.ndarray | pd.Series,
        n_customers: float | None = None,
    ) -> ShiftedBetaGeometric:
        """Fit alpha and beta by maximum likelihood on one cohort.

        Parameters
        ----------
        active : sequence of float
            One value per period ``0, 1, ..., n`` (at least three), non-increasing:

            * without ``n_customers``: the number of customers still active at the start of
              each period; the first value is the cohort size;
            * with ``n_customers``: the survival curve, either as fractions starting at 1
              (``[1, 0.631, ...]``) or percentages starting at 100 (``[100, 63.1, ...]``),
              which is scaled to a cohort of ``n_customers``.

            Counts need not be whole numbers (scaled percentages rarely are); the likelihood
            weights each period by its count.
        n_customers : float, optional
            Cohort size when ``active`` is a survival curve. The size matters: it sets how
            much information the data carry, hence the standard errors.

        Returns
        -------
        ShiftedBetaGeometric
            The fitted model (``self``).

        Raises
        ------
        ValueError
            If ``active`` has fewer than three values, non-numeric, missing, infinite or
            negative values, increases anywhere, never decreases, or drops to 0 in period 1.
        ConvergenceError
            If the optimiser does not converge to an interior maximum with a positive-definite
            information matrix (e.g. data without heterogeneity, for which alpha and beta grow
            without bound).

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric().fit(
        ...     [100, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1], n_customers=1000
        ... )
        >>> {k: round(v, 3) for k, v in sbg.params_.items()}
        {'alpha': 0.668, 'beta': 3.806}
        """
        values = self._validate_active(active, n_customers)

        def neg_ll_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            ll, grad = _loglik_grad(float(theta[0]), float(theta[1]), values)
            return -ll, -grad

        def geometric_limit(theta: np.ndarray) -> None:
            # The geometric model (one churn probability for everyone) is the limit
            # alpha, beta -> oo of the sBG. If the fit does no better than it, the maximum
            # lies at that limit.
            alpha, beta = (float(v) for v in theta)
            ll, _ = _loglik_grad(alpha, beta, values)
            lost, exposure = values[0] - values[-1], values[:-1].sum()
            p_geo = lost / exposure
            ll_geo = lost * np.log(p_geo) + (exposure - lost) * np.log1p(-p_geo)
            if ll - ll_geo <= 1e-10 * max(1.0, abs(ll_geo)):
                raise ConvergenceError(
                    "the sBG fit did not converge to an interior maximum: the data show no "
                    "heterogeneity (retention does not rise over time), so alpha and beta grow "
                    f"without bound (reached alpha={alpha:.3g}, beta={beta:.3g}). A constant "
                    f"churn probability of {p_geo:.4g} per period describes these data as well."
                )

        self._fit_likelihood(
            neg_ll_grad,
            np.exp(self._starting_points(values)),
            float(values[0]),  # scales the objective, so the tolerance does not depend on it
            tol=self.tol,
            max_iter=self.max_iter,
            limit_check=geometric_limit,
            edge_hint="alpha and beta near 0 mean part of the cohort churns at once and the rest "
            "never does. Try a larger max_iter if the data look regular.",
        )
        self.n_periods_ = int(values.size - 1)
        self.active_ = values
        return self

    @staticmethod
    def _starting_points(values: np.ndarray) -> np.ndarray:
        """Log-parameter starts, one a row: moment matching on the first two periods (when it
        gives positive parameters), then alpha = beta = 1."""
        starts = [np.zeros(2)]
        churn1 = 1.0 - values[1] / values[0]
        if values[1] > 0:
            ret2 = values[2] / values[1]
            # churn1 = alpha / s and ret2 = (s - alpha + 1) / (s + 1) with s = alpha + beta.
            denom = ret2 - 1.0 + churn1
            if 0 < churn1 < 1 and denom > 0:
                s = (1.0 - ret2) / denom
                alpha, beta = churn1 * s, (1.0 - churn1) * s
                if alpha > 0 and beta > 0:
                    x = np.clip(np.log([alpha, beta]), -LOG_BOUND + 1, LOG_BOUND - 1)
                    starts.insert(0, x)
        return np.array(starts)

    # ------------------------------------------------------------------ predictions
    def _alpha_beta(self) -> tuple[float, float]:
        """The fitted (alpha, beta); :class:`NotFittedError` before ``fit``/``from_params``."""
        params = self._check_fitted()
        return params["alpha"], params["beta"]

    def survival(self, t: int | Sequence[int] | np.ndarray) -> float | np.ndarray:
        """Probability that a customer is still active at the start of period ``t``.

        ``S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)``; ``S(0) = 1``.

        Parameters
        ----------
        t : int or array-like of int
            Period(s), ``>= 0``. Periods beyond the data are a projection.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``t``, otherwise an array of the same length.

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
        >>> sbg.survival([0, 1]).round(3).tolist()
        [1.0, 0.627]
        """
        alpha, beta = self._alpha_beta()
        periods, scalar = _as_periods(t, "t", 0)
        values = np.exp(_betaln_terms(alpha, beta, np.zeros(periods.shape), periods))
        return _shape_like(values, scalar)

    def churn_probability(self, t: int | Sequence[int] | np.ndarray) -> float | np.ndarray:
        """Probability that a new customer churns in period ``t`` (``P(T = t)``).

        ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta) = S(t - 1) - S(t)``.

        Parameters
        ----------
        t : int or array-like of int
            Period(s), ``>= 1``.

        Returns
        -------
        float or numpy.ndarray

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric.from_params(alpha=1.0, beta=1.0)
        >>> sbg.churn_probability([1, 2, 3]).round(4).tolist()
        [0.5, 0.1667, 0.0833]
        """
        alpha, beta = self._alpha_beta()
        periods, scalar = _as_periods(t, "t", 1)
        values = np.exp(_betaln_terms(alpha, beta, np.ones(periods.shape), periods - 1.0))
        return _shape_like(values, scalar)

    def retention_rate(self, t: int | Sequence[int] | np.ndarray) -> float | np.ndarray:
        """Share of the customers active at the start of period ``t - 1`` still active at ``t``.

        ``r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)``, which rises with
        ``t`` towards 1: the heterogeneity (sorting) effect.

        Parameters
        ----------
        t : int or array-like of int
            Period(s), ``>= 1``.

        Returns
        -------
        float or numpy.ndarray

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric.from_params(alpha=0.704, beta=1.182)
        >>> sbg.retention_rate([1, 2]).round(3).tolist()
        [0.627, 0.756]
        """
        alpha, beta = self._alpha_beta()
        periods, scalar = _as_periods(t, "t", 1)
        values = (beta + periods - 1.0) / (alpha + beta + periods - 1.0)
        return _shape_like(values, scalar)

    def expected_active(self, t: int | Sequence[int] | np.ndarray) -> float | np.ndarray:
        """Expected number of the cohort's customers active at the start of period ``t``.

        ``n_customers_ * S(t)``.

        Parameters
        ----------
        t : int or array-like of int
            Period(s), ``>= 0``.

        Returns
        -------
        float or numpy.ndarray

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> round(sbg.expected_active(8), 1)
        220.1
        """
        self._check_fitted()
        return self.n_customers_ * self.survival(t)

    def project(self, horizon: int) -> pd.DataFrame:
        """Table of the fitted and projected cohort for periods ``0..horizon``.

        Parameters
        ----------
        horizon : int
            Last period of the table (``>= 0``); periods after ``n_periods_`` are projections.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``period``, with columns ``survival``, ``retention_rate`` and
            ``churn_probability`` (NaN at period 0), ``expected_active``, ``observed_active``
            (NaN beyond the data) and ``projected`` (True beyond the data).

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
        >>> sbg.project(12)["expected_active"].round(1).tail(2).tolist()
        [179.9, 170.0]
        """
        self._check_fitted()
        (h,), _ = _as_periods(horizon, "horizon", 0)
        periods = np.arange(h + 1)
        later = periods[1:]
        observed = np.full(h + 1, np.nan)
        k = min(h + 1, self.active_.size)
        observed[:k] = self.active_[:k]
        table = pd.DataFrame(
            {
                "survival": self.survival(periods),
                "retention_rate": np.concatenate([[np.nan], self.retention_rate(later)]),
                "churn_probability": np.concatenate([[np.nan], self.churn_probability(later)]),
                "expected_active": self.expected_active(periods),
                "observed_active": observed,
                "projected": periods > self.n_periods_,
            },
            index=pd.Index(periods, name="period"),
        )
        return table

    # ------------------------------------------------------------------ valuation
    @staticmethod
    def _check_discount(discount_rate: float) -> float:
        if not (is_real(discount_rate) and np.isfinite(discount_rate) and discount_rate >= 0):
            raise ValueError(
                f"discount_rate must be a non-negative number per period (0.1 for 10%); "
                f"got {discount_rate!r}."
            )
        return float(discount_rate)

    def discounted_expected_lifetime(self, discount_rate: float) -> float:
        """Discounted expected lifetime (DEL) of a customer at acquisition.

        The expected number of periods a new customer stays, each period discounted back to
        acquisition: ``DEL = sum_{t >= 0} S(t) / (1 + d)^t = 2F1(1, beta; alpha + beta;
        1 / (1 + d))`` (Fader & Hardie 2010). The first period counts in full. Multiplied by
        a constant per-period margin it is the expected customer lifetime value at
        acquisition. It equals ``1 + discounted_expected_residual_lifetime(d, 0) / (1 + d)``:
        the first period plus the residual lifetime, valued one period later, discounted.
        The hypergeometric function is evaluated as described under
        :meth:`discounted_expected_residual_lifetime`.

        Parameters
        ----------
        discount_rate : float
            Discount rate per period ``d >= 0``. With ``d = 0`` the result is the undiscounted
            expected lifetime ``(alpha + beta - 1) / (alpha - 1)``, infinite if ``alpha <= 1``.

        Returns
        -------
        float

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric.from_params(alpha=1.5, beta=3.0)
        >>> round(sbg.discounted_expected_lifetime(0.0), 6)
        7.0
        """
        alpha, beta = self._alpha_beta()
        d = self._check_discount(discount_rate)
        if d == 0.0:
            return (alpha + beta - 1.0) / (alpha - 1.0) if alpha > 1.0 else math.inf
        return _hyp2f1_unit_a(beta, alpha, 1.0 / (1.0 + d))

    def discounted_expected_residual_lifetime(
        self,
        discount_rate: float,
        periods_survived: int | Sequence[int] | np.ndarray = 0,
    ) -> float | np.ndarray:
        """Discounted expected residual lifetime (DERL) of an active customer.

        For a customer who has survived ``k = periods_survived`` renewals (active at the start
        of periods ``0..k``, so ``T > k``), valued just before the next renewal decision:
        ``DERL = sum_{t > k} P(T > t | T > k) / (1 + d)^(t - k - 1)``, the next renewal
        undiscounted. In closed form (Fader & Hardie 2010, with ``n - 1 = k`` renewals)::

            DERL = (beta + k) / (alpha + beta + k) * 2F1(1, beta + k + 1; alpha + beta + k + 1;
                                                         1 / (1 + d))

        Multiplied by a constant per-period margin it is the customer's expected residual
        value. It grows with ``k``: the longer a customer has stayed, the lower her likely
        churn probability. Valued at acquisition instead, the same stream is worth
        ``discounted_expected_lifetime(d) - 1`` for ``k = 0``, i.e. this value over ``1 + d``.

        The hypergeometric function is evaluated by a continued fraction that stays finite and
        accurate for all alpha, beta, k and every discount rate from about 1e-10 per period
        (and ``d = 0`` in closed form); closer to 0 it raises ``ValueError``.

        Parameters
        ----------
        discount_rate : float
            Discount rate per period ``d >= 0`` (with ``d = 0``: the undiscounted expected
            number of further renewals, infinite if ``alpha <= 1``).
        periods_survived : int or array-like of int, default 0
            Renewals already made ``k >= 0``.

        Returns
        -------
        float or numpy.ndarray
            A float for a scalar ``periods_survived``, otherwise an array.

        References
        ----------
        Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
        setting: the perils of ignoring heterogeneity. *Marketing Science*, 29(1), 85-93.

        Examples
        --------
        >>> sbg = ShiftedBetaGeometric.from_params(alpha=0.668, beta=3.806)
        >>> sbg.discounted_expected_residual_lifetime(0.1, [0, 4]).round(2).tolist()
        [5.41, 6.9]
        """
        alpha, beta = self._alpha_beta()
        d = self._check_discount(discount_rate)
        k, scalar = _as_periods(periods_survived, "periods_survived", 0)
        # Having survived k renewals, theta ~ Beta(alpha, beta + k): the residual lifetime is
        # that of an sBG with beta + k.
        distinct, where = np.unique(k, return_inverse=True)
        values = np.array([_residual_lifetime(alpha, beta + float(j), d) for j in distinct])
        return _shape_like(values[where.reshape(k.shape)], scalar)
