"""Fits do not depend on the unit of money or time: the same estimates, rescaled, and the
log-likelihood shifted by the Jacobian of the change of unit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import retention as rt


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tx = rt.load_transactions(rt.sample_path())
    return rt.rfm_summary(tx, "D", time_unit="W")


@pytest.mark.parametrize("factor", [1e-9, 1e-3, 1e4, 1e10, 1e15])
def test_gamma_gamma_in_any_unit_of_money(summary, factor) -> None:
    spenders = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    base = rt.GammaGamma().fit(spenders)
    scaled = rt.GammaGamma().fit(spenders.assign(monetary_value=spenders["monetary_value"]
                                                 * factor))
    for name, unit in (("p", 1.0), ("q", 1.0), ("v", factor)):
        assert scaled.params_[name] == pytest.approx(base.params_[name] * unit, rel=1e-5)
        assert scaled.standard_errors_[name] == pytest.approx(
            base.standard_errors_[name] * unit, rel=1e-3)
    # each mean spend is a density in money: log L moves by -log(factor) per customer
    shift = -len(spenders) * np.log(factor)
    assert scaled.log_likelihood_ == pytest.approx(base.log_likelihood_ + shift, rel=1e-7)
    assert scaled.expected_average_order_value(2, 50.0 * factor) == pytest.approx(
        base.expected_average_order_value(2, 50.0) * factor, rel=1e-5)


@pytest.mark.parametrize("model", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
@pytest.mark.parametrize("factor", [1e-4, 24 * 7.0, 7 * 24 * 3600 * 1000.0])
def test_transaction_models_in_any_unit_of_time(summary, model, factor) -> None:
    cls = getattr(rt, model)
    base = cls().fit(summary)
    scaled = cls().fit(summary.assign(recency=summary["recency"] * factor,
                                      T=summary["T"] * factor))
    timed = {"alpha", "beta"}  # rates' scale parameters carry the unit of time
    for name, value in base.params_.items():
        unit = factor if name in timed else 1.0
        assert scaled.params_[name] == pytest.approx(value * unit, rel=1e-4), name
    # each repeat purchase time is a density in time: log L moves by -log(factor) per purchase
    shift = -summary["frequency"].sum() * np.log(factor)
    assert scaled.log_likelihood_ == pytest.approx(base.log_likelihood_ + shift, rel=1e-6)
    assert scaled.probability_alive(2, 10 * factor, 30 * factor) == pytest.approx(
        base.probability_alive(2, 10, 30), rel=1e-4)


def test_a_fit_that_fails_names_the_parameter_and_what_to_try() -> None:
    data = pd.DataFrame({"frequency": [1, 2, 3, 1], "monetary_value": [10.0, 10.0, 10.0, 10.0]})
    with pytest.raises(rt.models.base.ConvergenceError, match=r"\['(p|q|v)'.*\]") as err:
        rt.GammaGamma().fit(data)
    assert "penalizer" in str(err.value) or "more customers" in str(err.value)
