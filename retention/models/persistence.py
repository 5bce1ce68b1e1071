"""Saving fitted models to JSON and reading them back, with an exact round trip.

A file holds the model's class name (looked up in a registry of the package's model classes,
:data:`retention.models.base.MODEL_REGISTRY`: nothing is unpickled or imported from the file),
its constructor arguments, parameters, standard errors, covariance matrix, log-likelihood, fit
metadata (customers, fit options, time unit, optimiser outcome) and any other public fitted
attribute (ending in ``_``). Numbers are written as JSON numbers in Python's shortest
round-trip form, so every float reads back bit for bit and a loaded model predicts exactly
what the saved one did. Non-finite floats are written as ``{"__float__": "nan"}`` (or
``"inf"``, ``"-inf"``), arrays as ``{"__ndarray__": [...], "dtype": ..., "shape": ...}`` and
tables as ``{"__frame__": {"index": ..., "columns": ..., "data": ...}}``, so the file stays
strict JSON.

Layout (``format_version`` 1)::

    {"format": "retention-model", "format_version": 1, "class": "BetaGeo",
     "package_version": "0.1.0", "init": {"penalizer": 0.0},
     "params": {...}, "standard_errors": {...}, "covariance": {"__frame__": ...} or null,
     "log_likelihood": ..., "fit": {"n_customers": ..., "time_unit": "W",
     "options": {...}, "optimizer": {"success": true, "iterations": 31, ...}},
     "attributes": {...}}
"""

from __future__ import annotations

import inspect
import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from retention.models.base import MODEL_REGISTRY, FittedModel

__all__ = ["load_model", "save_model"]

FORMAT = "retention-model"
FORMAT_VERSION = 1

#: Attributes with a key of their own in the file: attribute -> (section, key).
_SECTIONS: dict[str, tuple[str | None, str]] = {
    "params_": (None, "params"),
    "standard_errors_": (None, "standard_errors"),
    "covariance_": (None, "covariance"),
    "log_likelihood_": (None, "log_likelihood"),
    "n_customers_": ("fit", "n_customers"),
    "time_unit_": ("fit", "time_unit"),
    "fit_options_": ("fit", "options"),
}


class _Unsupported(TypeError):
    """A value that has no JSON form here."""


def _encode(value: Any) -> Any:
    """Plain JSON value of ``value``; floats keep their exact value."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return value
        return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise _Unsupported(f"an array of dtype {value.dtype}")
        return {"__ndarray__": [_encode(v) for v in value.ravel().tolist()],
                "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, pd.DataFrame):
        return {"__frame__": {"index": [_encode(v) for v in value.index.tolist()],
                              "columns": [_encode(v) for v in value.columns.tolist()],
                              "data": [[_encode(v) for v in row]
                                       for row in value.to_numpy(dtype=np.float64).tolist()]}}
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise _Unsupported(f"a dict with non-string keys, e.g. {bad[0]!r}")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    raise _Unsupported(f"a {type(value).__name__}")


def _decode(value: Any) -> Any:
    """Inverse of :func:`_encode`."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__ndarray__" in value:
        data = [_decode(v) for v in value["__ndarray__"]]
        return np.array(data, dtype=np.dtype(value["dtype"])).reshape(value["shape"])
    if "__frame__" in value:
        frame = value["__frame__"]
        data = np.array([[_decode(v) for v in row] for row in frame["data"]], dtype=np.float64)
        return pd.DataFrame(data.reshape(len(frame["index"]), len(frame["columns"])),
                            index=[_decode(v) for v in frame["index"]],
                            columns=[_decode(v) for v in frame["columns"]])
    return {k: _decode(v) for k, v in value.items()}


def _init_arguments(model: FittedModel) -> dict[str, Any]:
    """Constructor arguments, read from the attributes of the same name."""
    out = {}
    for name, param in inspect.signature(type(model).__init__).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if not hasattr(model, name):
            raise TypeError(
                f"cannot save {type(model).__name__}: its constructor argument {name!r} is not "
                f"stored as an attribute {name!r}."
            )
        out[name] = getattr(model, name)
    return out


def model_to_dict(model: FittedModel) -> dict[str, Any]:
    """The JSON-ready description of a fitted model that :func:`save_model` writes.

    Examples
    --------
    >>> from retention.models import GammaGamma
    >>> ggf = GammaGamma()
    >>> ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> d = model_to_dict(ggf)
    >>> d["class"], d["params"]
    ('GammaGamma', {'p': 6.25, 'q': 3.74, 'v': 15.44})
    """
    if not isinstance(model, FittedModel):
        raise TypeError(f"only retention models can be saved, got {type(model).__name__}.")
    model._check_fitted()
    from retention import __version__

    out: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "package_version": __version__,
        "init": {},
        "params": None,
        "standard_errors": None,
        "covariance": None,
        "log_likelihood": None,
        "fit": {"n_customers": None, "time_unit": None, "options": None},
        "attributes": {},
    }

    def put(name: str, value: Any, where: str) -> Any:
        try:
            return _encode(value)
        except _Unsupported as err:
            raise TypeError(
                f"cannot save {type(model).__name__}: {where} {name!r} is {err}, which has no "
                "JSON form; list it in _unsaved_attributes if predictions do not need it."
            ) from None

    for name, value in _init_arguments(model).items():
        out["init"][name] = put(name, value, "constructor argument")
    for name, value in vars(model).items():
        if not name.endswith("_") or name.startswith("_") or name in model._unsaved_attributes:
            continue
        section, key = _SECTIONS.get(name, ("attributes", name))
        target = out if section is None else out[section]
        target[key] = put(name, value, "attribute")
    result = getattr(model, "optimizer_result_", None)
    if result is not None:
        out["fit"]["optimizer"] = {
            "success": bool(getattr(result, "success", False)),
            "message": str(getattr(result, "message", "")),
            "iterations": _encode(getattr(result, "nit", None)),
            "objective": _encode(getattr(result, "fun", None)),
        }
    return out


def save_model(model: FittedModel, path: str | os.PathLike[str]) -> None:
    """Write a fitted model to ``path`` as JSON (exact round trip with :func:`load_model`).

    Parameters
    ----------
    model : FittedModel
        A fitted model of the package (BetaGeo, GammaGamma, ShiftedBetaGeometric, ...).
    path : str or path-like
        File to write (overwritten).

    Raises
    ------
    NotFittedError
        The model has no ``params_``.
    TypeError
        Not a model of the package, or a fitted attribute without a JSON form.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from retention.models import ShiftedBetaGeometric
    >>> sbg = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "sbg.json"
    >>> save_model(sbg, path)
    >>> load_model(path).survival(12) == sbg.survival(12)
    True
    """
    text = json.dumps(model_to_dict(model), indent=1, allow_nan=False)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _fail(path: Any, problem: str) -> ValueError:
    return ValueError(f"{os.fspath(path)}: {problem}")


def load_model(path: str | os.PathLike[str]) -> FittedModel:
    """Read a model written by :func:`save_model` (or ``model.save``).

    The class is looked up by name among the package's models (and any other subclass of
    :class:`~retention.models.base.FittedModel` defined in the session); it is built with the
    saved constructor arguments and given the saved fitted attributes, so its predictions are
    bit-identical to those of the saved model. ``optimizer_result_`` is not restored (the
    file's ``fit.optimizer`` keeps its outcome).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    FittedModel

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not valid JSON, not a saved model, a newer format, an unknown class, or parameters
        that do not match the class; the message names the file and the problem.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from retention.models import GammaGamma
    >>> ggf = GammaGamma()
    >>> ggf.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ggf.json"
    >>> ggf.save(path)
    >>> load_model(path).params_ == ggf.params_
    True
    """
    import retention.models  # noqa: F401  (defines and so registers the package's models)

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise _fail(path, f"not valid JSON ({err}); expected a model written by "
                          "model.save().") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _fail(path, f"not a saved retention model (no \"format\": {FORMAT!r} field).")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _fail(path, f"format_version {version!r} is not supported (this package reads "
                          f"versions up to {FORMAT_VERSION}; it has version "
                          f"{_package_version()}, the file was written by "
                          f"{data.get('package_version')!r}).")
    name = data.get("class")
    cls = MODEL_REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise _fail(path, f"unknown model class {name!r}; known classes: "
                          f"{sorted(MODEL_REGISTRY)}.")
    missing = [k for k in ("init", "params", "fit", "attributes") if k not in data]
    if missing:
        raise _fail(path, f"missing field(s) {missing} of a saved {name}.")
    try:
        init = _decode(data["init"])
        params = _decode(data["params"])
        if not isinstance(params, dict) or not all(
            isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool))
            for v in params.values()
        ):
            raise _fail(path, f"params must map parameter names to numbers, got {params!r}.")
        expected = list(cls._param_names)
        if expected and list(params) != expected:
            raise _fail(path, f"params {list(params)} do not match the parameters {expected} "
                              f"of {name}.")
        model = cls(**init)
        attributes: dict[str, Any] = {}
        for attr, (section, key) in _SECTIONS.items():
            source = data if section is None else data.get(section, {})
            if isinstance(source, dict) and source.get(key) is not None:
                attributes[attr] = _decode(source[key])
        extra = _decode(data["attributes"])
        if not isinstance(extra, dict):
            raise _fail(path, "attributes must be a JSON object.")
        attributes.update(extra)
    except ValueError as err:
        if str(err).startswith(os.fspath(path)):
            raise
        raise _fail(path, f"malformed {name} description: {err}") from None
    except (TypeError, KeyError, AttributeError) as err:
        raise _fail(path, f"malformed {name} description: {err}") from None
    attributes["params_"] = {k: float(v) for k, v in params.items()}
    for attr, value in attributes.items():
        setattr(model, attr, value)
    return model


def _package_version() -> str:
    from retention import __version__

    return __version__
