"""Saving models to JSON and loading them back: exact round trip, generic, clear errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention.models import BetaGeo, GammaGamma, NotFittedError, ShiftedBetaGeometric
from retention.models.base import MODEL_REGISTRY, FittedModel
from retention.models.persistence import load_model, model_to_dict, save_model

sys.path.insert(0, str(Path(__file__).parent))
from test_betageo import simulate_bgnbd  # noqa: E402


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    data = simulate_bgnbd(3000, 0.24, 4.41, 0.79, 2.43, seed=7)
    rng = np.random.default_rng(3)
    data["monetary_value"] = np.where(data["frequency"] > 0, rng.gamma(4.0, 10.0, len(data)),
                                      0.0)
    data.attrs["time_unit"] = "W"
    return data


def strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def test_betageo_round_trip_is_bit_identical(summary, tmp_path):
    bgf = BetaGeo(penalizer=0.01).fit(summary)
    path = tmp_path / "bgf.json"
    bgf.save(path)
    loaded = load_model(path)
    assert type(loaded) is BetaGeo and loaded is not bgf
    assert loaded.params_ == bgf.params_
    assert loaded.standard_errors_ == bgf.standard_errors_
    pd.testing.assert_frame_equal(loaded.covariance_, bgf.covariance_, check_exact=True)
    assert loaded.log_likelihood_ == bgf.log_likelihood_
    assert loaded.n_customers_ == bgf.n_customers_ == 3000
    assert loaded.time_unit_ == "W"
    assert loaded.penalizer == 0.01
    assert loaded.fit_options_ == bgf.fit_options_
    x, tx, big_t = summary["frequency"], summary["recency"], summary["T"]
    assert np.array_equal(loaded.conditional_expected_purchases(10, x, tx, big_t),
                          bgf.conditional_expected_purchases(10, x, tx, big_t))
    assert np.array_equal(loaded.probability_alive(x, tx, big_t),
                          bgf.probability_alive(x, tx, big_t))
    assert loaded.expected_purchases_new(52) == bgf.expected_purchases_new(52)
    assert np.array_equal(loaded.probability_of_purchases([0, 1, 5], 39),
                          bgf.probability_of_purchases([0, 1, 5], 39))
    assert loaded.summary.equals(bgf.summary)
    assert repr(loaded) == repr(bgf)


def test_file_content_and_metadata(summary, tmp_path):
    bgf = BetaGeo().fit(summary)
    path = tmp_path / "bgf.json"
    save_model(bgf, path)
    data = strict_json(path)
    assert data["format"] == "retention-model" and data["format_version"] == 1
    assert data["class"] == "BetaGeo"
    import retention

    assert data["package_version"] == retention.__version__
    assert data["init"] == {"penalizer": 0.0}
    assert list(data["params"]) == ["r", "alpha", "a", "b"]
    assert data["fit"]["n_customers"] == 3000
    assert data["fit"]["time_unit"] == "W"
    assert data["fit"]["options"]["penalizer"] == 0.0
    assert data["fit"]["options"]["frequency"] == "frequency"
    assert data["fit"]["optimizer"]["success"] is True
    assert "optimizer_result_" not in data["attributes"]
    assert data["log_likelihood"] == bgf.log_likelihood_
    assert data == model_to_dict(bgf)


@pytest.mark.parametrize("value", [0.1 + 0.2, 1 / 3, 5e-324, 1.7976931348623157e308,
                                   2.0**-1074 * 3, np.nextafter(1.0, 2.0), 123456789.123456789])
def test_exact_float_round_trip(value, tmp_path):
    bgf = BetaGeo()
    bgf.params_ = {"r": float(value), "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    bgf.standard_errors_ = {k: float("nan") for k in bgf.params_}
    bgf.log_likelihood_ = float("-inf")
    bgf.save(tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert loaded.params_["r"] == value
    assert float(loaded.params_["r"]).hex() == float(value).hex()
    assert all(np.isnan(v) for v in loaded.standard_errors_.values())
    assert loaded.log_likelihood_ == float("-inf")
    strict_json(tmp_path / "m.json")


def test_gammagamma_round_trip(summary, tmp_path):
    ggf = GammaGamma().fit(summary)
    ggf.save(tmp_path / "ggf.json")
    loaded = GammaGamma.load(tmp_path / "ggf.json")
    assert loaded.params_ == ggf.params_
    assert loaded.n_excluded_ == ggf.n_excluded_
    assert loaded.spend_frequency_correlation_ == ggf.spend_frequency_correlation_
    x, m = summary["frequency"], summary["monetary_value"]
    assert np.array_equal(loaded.expected_average_order_value(x, m),
                          ggf.expected_average_order_value(x, m))


def test_sbg_round_trip_keeps_arrays_and_constructor(tmp_path):
    sbg = ShiftedBetaGeometric(tol=1e-11, max_iter=700).fit(
        [1000, 631, 468, 382, 326, 289, 262, 241])
    sbg.save(tmp_path / "sbg.json")
    loaded = load_model(tmp_path / "sbg.json")
    assert (loaded.tol, loaded.max_iter) == (1e-11, 700)
    assert loaded.active_.dtype == sbg.active_.dtype
    assert np.array_equal(loaded.active_, sbg.active_)
    assert loaded.n_periods_ == sbg.n_periods_
    periods = np.arange(30)
    assert np.array_equal(loaded.survival(periods), sbg.survival(periods))
    assert (loaded.discounted_expected_residual_lifetime(0.1, [0, 3])
            == sbg.discounted_expected_residual_lifetime(0.1, [0, 3])).all()
    pd.testing.assert_frame_equal(loaded.project(20), sbg.project(20), check_exact=True)


class _Poisson(FittedModel):
    """A new model on the base, with no persistence code of its own."""

    _param_names = ("rate",)
    _model_name = "Poisson"

    def __init__(self, penalizer: float = 0.0, label: str = "x") -> None:
        self.penalizer = penalizer
        self.label = label

    def fit(self, counts: np.ndarray) -> _Poisson:
        counts = np.asarray(counts, dtype=float)

        def nll(theta):
            lam = theta[0]
            return (len(counts) * lam - counts.sum() * np.log(lam),
                    np.array([len(counts) - counts.sum() / lam]))

        self._fit_likelihood(nll, np.array([1.0]), float(len(counts)))
        self.counts_ = counts
        return self

    def expected(self, t):
        return self._check_fitted()["rate"] * np.asarray(t, dtype=float)


def test_a_new_model_gets_save_and_load(tmp_path):
    assert MODEL_REGISTRY["_Poisson"] is _Poisson
    model = _Poisson(penalizer=0.1, label="shop").fit([2, 4, 6, 3])
    model.save(tmp_path / "p.json")
    loaded = load_model(tmp_path / "p.json")
    assert isinstance(loaded, _Poisson) and loaded.label == "shop"
    assert loaded.params_ == model.params_ and loaded.penalizer == 0.1
    assert np.array_equal(loaded.counts_, model.counts_)
    assert np.array_equal(loaded.expected([1, 2]), model.expected([1, 2]))


def test_unsupported_attribute_is_named(tmp_path):
    model = _Poisson().fit([1, 2, 3])
    model.callback_ = lambda: None
    with pytest.raises(TypeError, match=r"attribute 'callback_' is a function.*_unsaved"):
        model.save(tmp_path / "p.json")


def test_not_fitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(NotFittedError):
        BetaGeo().save(tmp_path / "m.json")
    with pytest.raises(TypeError, match="only retention models"):
        save_model(object(), tmp_path / "m.json")


@pytest.fixture
def saved(tmp_path) -> Path:
    ggf = GammaGamma()
    ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    path = tmp_path / "ggf.json"
    ggf.save(path)
    return path


def _rewrite(path: Path, **changes) -> Path:
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"class": "Prophet"}, r"unknown model class 'Prophet'; known classes: \[.*'BetaGeo'"),
        ({"format": "pickle"}, r"not a saved retention model"),
        ({"format_version": 99}, r"format_version 99 is not supported"),
        ({"params": {"p": 1.0, "q": 2.0}}, r"params \['p', 'q'\] do not match .*'v'\]"),
        ({"params": {"p": "a", "q": 2.0, "v": 1.0}}, r"params must map parameter names to num"),
        ({"init": {"penalizer": -1}}, r"malformed GammaGamma description: penalizer must be"),
        ({"init": {"colour": 1}}, r"malformed GammaGamma description: .*colour"),
        ({"attributes": None}, r"missing field\(s\) \['attributes'\]"),
    ],
)
def test_malformed_files_name_the_file_and_problem(saved, changes, message):
    _rewrite(saved, **changes)
    with pytest.raises(ValueError, match=message) as info:
        load_model(saved)
    assert str(info.value).startswith(str(saved))


def test_not_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken.json: not valid JSON"):
        load_model(path)
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"broken.json: not a saved retention model"):
        load_model(path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.json")


def test_load_checks_the_class(saved):
    with pytest.raises(ValueError, match=r"holds a GammaGamma, not a BetaGeo"):
        BetaGeo.load(saved)
    assert isinstance(FittedModel.load(saved), GammaGamma)


def _penalized_models(summary):
    from retention.models import BetaGeoBetaBinom, ModifiedBetaGeo, ParetoNBD

    small = summary.iloc[:600]
    periods = pd.DataFrame({"frequency": [0, 1, 2, 3, 4, 2, 5, 6, 1, 0],
                            "recency": [0, 3, 5, 6, 6, 2, 6, 6, 1, 0],
                            "periods": 6,
                            "weights": [300, 40, 30, 25, 20, 20, 15, 30, 35, 10]})
    return [
        ParetoNBD(penalizer=0.05).fit(small),
        ModifiedBetaGeo(penalizer=0.05).fit(small),
        BetaGeoBetaBinom(penalizer=0.05).fit(periods),
        ShiftedBetaGeometric(penalizer=0.05).fit([1000, 631, 468, 382, 326, 289, 262, 241]),
    ]


def test_penalized_models_round_trip(summary, tmp_path):
    for model in _penalized_models(summary):
        name = type(model).__name__
        path = tmp_path / f"{name}.json"
        model.save(path)
        loaded = load_model(path)
        assert type(loaded) is type(model), name
        assert loaded.penalizer == 0.05, name
        assert loaded.params_ == model.params_, name
        assert loaded.fit_options_ == model.fit_options_, name
        assert strict_json(path)["init"]["penalizer"] == 0.05, name
