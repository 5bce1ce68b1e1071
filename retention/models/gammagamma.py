"""Gamma-Gamma model of average order value.

Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (after Colombo & Jiang
1999). A customer's order values are ``Gamma(p, nu)``; across customers ``nu ~ Gamma(q, v)``
(shape ``q``, rate ``v``, the paper's gamma). The mean of a customer's x repeat order values,
``m``, then has the density

    Gamma(px+q) / (Gamma(px) Gamma(q)) * v^q m^(px-1) x^(px) / (v + m x)^(px+q).

The model assumes average spend is independent of purchase frequency; the fit reports the
observed correlation (``spend_frequency_correlation_``) so that the assumption can be checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from retention.checks import bad_rows
from retention.models.base import (
    FittedModel,
    broadcast_inputs,
    collapse,
    dot,
    shape_output,
    summary_columns,
)

__all__ = ["GammaGamma"]


class _GammaGammaLikelihood:
    """Negative log-likelihood of the mean repeat spend and its gradient in (p, q, v)."""

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray) -> None:
        (self.x, self.m), self.w, _ = collapse(x, m, weights=w)
        self.log_m = np.log(self.m)
        self.log_x = np.log(self.x)

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        from scipy import special

        p, q, v = theta
        x, m, w = self.x, self.m, self.w
        px = p * x
        log_vmx = np.log(v + m * x)
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
              + (px - 1) * self.log_m + px * self.log_x - (px + q) * log_vmx)
        psi_pq = special.digamma(px + q)
        d_p = x * (psi_pq - special.digamma(px) + self.log_m + self.log_x - log_vmx)
        d_q = psi_pq - special.digamma(q) + np.log(v) - log_vmx
        d_v = q / v - (px + q) / (v + m * x)
        return -float(dot(w, ll)), -np.array([dot(w, d_p), dot(w, d_q), dot(w, d_v)])


class GammaGamma(FittedModel):
    """Gamma-Gamma model of the mean repeat order value, fitted by maximum likelihood.

    Only repeat buyers (frequency > 0) carry information on spend: rows with frequency 0 are
    left out of the fit and counted in ``n_excluded_``.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the log-parameters: the fit minimises
        ``-log L / n + penalizer * sum(log(theta) ** 2)`` over ``theta = (p, q, v)`` (``n``
        repeat buyers), as for :class:`~retention.models.BetaGeo` (lifetimes'
        ``penalizer_coef`` penalises the squared natural parameters instead).

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "v"}``; the population mean order value is ``p v / (q - 1)``.
    log_likelihood_ : float
    standard_errors_ : dict
    covariance_ : DataFrame
        Asymptotic covariance matrix of the estimates (inverse observed information).
    n_customers_ : float
        Repeat buyers fitted (sum of their weights).
    n_excluded_ : int
        Rows left out because their frequency is 0.
    spend_frequency_correlation_ : float
        (Weighted) Pearson correlation between frequency and monetary value among the repeat
        buyers. The model assumes it is about 0; a clearly non-zero value (say beyond +-0.3)
        means the expected order values are biased.
    optimizer_result_ : scipy.optimize.OptimizeResult

    Examples
    --------
    >>> from retention.models import GammaGamma
    >>> import numpy as np
    >>> import pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> data = pd.DataFrame({"frequency": rng.integers(1, 6, 300),
    ...                      "monetary_value": rng.gamma(4.0, 10.0, 300)})
    >>> data.loc[len(data)] = [0, 0.0]   # a one-time buyer: not part of the fit
    >>> ggf = GammaGamma().fit(data)
    >>> ggf.n_customers_, ggf.n_excluded_
    (300.0, 1)
    """

    _param_names = ("p", "q", "v")
    _model_name = "Gamma-Gamma"
    _vectorised_params = True

    def fit(
        self,
        summary: pd.DataFrame,
        *,
        frequency: str = "frequency",
        monetary_value: str = "monetary_value",
        weights: str | np.ndarray | pd.Series | None = None,
    ) -> GammaGamma:
        """Fit on the repeat buyers' (frequency, monetary_value).

        Parameters
        ----------
        summary : DataFrame
            One row per customer (see :func:`retention.rfm_summary`); rows with frequency 0
            are ignored.
        frequency, monetary_value : str
            Column names: number of repeat purchases and their mean value.
        weights : str or array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Missing columns, NaN / negative frequency, no repeat buyer, or a repeat buyer
            whose monetary value is not positive (e.g. net of refunds).

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> rng = np.random.default_rng(1)
        >>> data = pd.DataFrame({"frequency": rng.integers(1, 6, 300),
        ...                      "monetary_value": rng.gamma(4.0, 10.0, 300)})
        >>> sorted(GammaGamma().fit(data).params_)
        ['p', 'q', 'v']
        """
        if isinstance(summary, pd.DataFrame) and monetary_value in summary and frequency in summary:
            # check signs of monetary values among repeat buyers before the generic checks
            freq_col = pd.to_numeric(summary[frequency], errors="coerce")
            mon = pd.to_numeric(summary[monetary_value], errors="coerce")
            bad = ((freq_col > 0) & ~(mon > 0)).to_numpy()
            if bad.any():
                raise ValueError(
                    bad_rows(monetary_value, "non-positive or missing value(s)", bad, summary.index)
                    + " among repeat buyers (frequency > 0). The Gamma-Gamma model needs "
                    "positive average order values; drop or fix these customers first, e.g. "
                    f"summary[summary[{monetary_value!r}] > 0]."
                )
        values, w, index = summary_columns(
            summary, {"frequency": frequency, "monetary_value": monetary_value}, weights
        )
        x, m = values["frequency"], values["monetary_value"]
        repeat = (x > 0) & (w > 0)
        if not repeat.any():
            raise ValueError(
                f"no repeat buyer ({frequency!r} > 0) among the {len(x)} rows; the Gamma-Gamma "
                "model is fitted on repeat buyers' mean spend."
            )
        x, m, w = x[repeat], m[repeat], w[repeat]
        nll = _GammaGammaLikelihood(x, m, w)
        n = float(w.sum())
        spend = float(np.average(m, weights=w))  # v is in money: searched relative to it
        theta0 = np.array([1.0, 2.0, spend])
        self._fit_likelihood(nll, theta0, n, units=np.array([1.0, 1.0, spend]))
        self.fit_options_.update(frequency=frequency, monetary_value=monetary_value,
                                 weights=weights if isinstance(weights, str) else (
                                     None if weights is None else "values"))
        self.n_excluded_ = int(len(repeat) - repeat.sum())
        if len(x) > 1 and np.ptp(x) > 0 and np.ptp(m) > 0:
            cov = np.cov(x, m, aweights=w)
            self.spend_frequency_correlation_ = float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
        else:
            self.spend_frequency_correlation_ = float("nan")
        return self

    def expected_average_order_value(self, frequency: Any, monetary_value: Any) -> Any:
        """Expected average order value of customers given their repeat history.

        ``E[M | x, m] = p (v + x m) / (p x + q - 1)``: a weighted mean of the population mean
        ``p v / (q - 1)`` and the customer's own mean ``m`` (Fader & Hardie 2013, eq. 5).
        Customers without a repeat purchase (x = 0) get the population mean. Requires q > 1.

        Parameters
        ----------
        frequency, monetary_value : float or array-like
            Number of repeat purchases and their mean value (broadcast together).

        Returns
        -------
        float, ndarray or Series (indexed like the first Series argument)

        Examples
        --------
        >>> ggf = GammaGamma()
        >>> ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
        >>> round(ggf.expected_average_order_value(0, 0), 2)
        35.22
        >>> round(ggf.expected_average_order_value(2, 12.5), 2)
        16.58
        """
        params = self._check_fitted()
        p, q, v = params["p"], params["q"], params["v"]
        if np.any(q <= 1):
            low = float(np.min(q))
            raise ValueError(
                f"the fitted q = {low:.4g} is not above 1, so the expected order value is "
                "infinite."
            )
        arrays, index, scalar = broadcast_inputs(frequency=frequency, monetary_value=monetary_value)
        x, m = arrays["frequency"], arrays["monetary_value"]
        out = p * (v + x * m) / (p * x + q - 1)
        return shape_output(out, index, scalar, "expected_average_order_value")
