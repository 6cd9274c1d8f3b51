"""Every public estimator keeps every public output through save/load and pickle."""

import inspect
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

import sklearn_rnn
from sklearn_rnn._base import BaseRecurrentEstimator

pytestmark = pytest.mark.cpu_numerics  # saved and loaded models predict bitwise alike

DATA = Path(__file__).resolve().parent / "data"
OUTPUTS = (
    "predict",
    "predict_proba",
    "transform",
    "score",
    "get_feature_names_out",
    "attention_weights",
)


def exported_classes():
    """Every estimator class the package exports (not its data containers)."""
    return [
        obj
        for name in sklearn_rnn.__all__
        if inspect.isclass(obj := getattr(sklearn_rnn, name)) and hasattr(obj, "fit")
    ]


def savable_estimators():
    return [cls for cls in exported_classes() if issubclass(cls, BaseRecurrentEstimator)]


def fitted(cls, rng):
    """A small fitted instance of ``cls`` whose every public output is available."""
    X = rng.normal(size=(40, 7, 2))
    if issubclass(cls, sklearn_rnn.SlidingWindowTransformer):
        rows = rng.normal(size=(30, 2))
        return cls(window_size=3).fit(rows), rows, None
    params = {"hidden_size": 5, "max_epochs": 3, "random_state": 0, "pooling": "attention"}
    if "Classifier" in cls.__name__:
        y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    elif "Regressor" in cls.__name__:
        y = np.column_stack([X[:, -1, 0], X[:, -2, 1]])
    else:  # the sequence transformer: supervised, with pandas output
        y = X[:, :, 1].sum(axis=1) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = cls(**params).fit(X, y)
    if hasattr(estimator, "set_output"):
        estimator.set_output(transform="pandas")
    return estimator, X, y


def public_outputs(estimator, X, y):
    outputs = {}
    for name in OUTPUTS:
        if not hasattr(estimator, name):
            continue
        method = getattr(estimator, name)
        if name == "score":
            outputs[name] = method(X, y)
        elif name == "get_feature_names_out":
            outputs[name] = method()
        else:
            outputs[name] = method(X)
    return outputs


def assert_same_outputs(expected, actual):
    assert expected.keys() == actual.keys()
    for name, value in expected.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(actual[name], value, check_exact=True)
        else:
            np.testing.assert_array_equal(actual[name], value, err_msg=name)


@pytest.mark.parametrize("cls", savable_estimators(), ids=lambda cls: cls.__name__)
def test_save_and_load_keep_every_public_output(cls, rng, tmp_path):
    estimator, X, y = fitted(cls, rng)
    expected = public_outputs(estimator, X, y)
    assert "attention_weights" in expected and ("score" in expected or "transform" in expected)
    loaded = sklearn_rnn.load(estimator.save(tmp_path / "model"))
    assert type(loaded) is cls
    assert loaded.get_params() == estimator.get_params()
    assert_same_outputs(expected, public_outputs(loaded, X, y))
    # The class method rebuilds the same; another class refuses the directory.
    assert_same_outputs(expected, public_outputs(cls.load(tmp_path / "model"), X, y))


@pytest.mark.parametrize("cls", exported_classes(), ids=lambda cls: cls.__name__)
def test_pickle_keeps_every_public_output(cls, rng):
    estimator, X, y = fitted(cls, rng)
    expected = public_outputs(estimator, X, y)
    assert_same_outputs(expected, public_outputs(pickle.loads(pickle.dumps(estimator)), X, y))


def test_a_saved_transformer_keeps_its_output_setting_and_feature_names(rng, tmp_path):
    estimator, X, _ = fitted(sklearn_rnn.RNNSequenceTransformer, rng)
    loaded = sklearn_rnn.load(estimator.save(tmp_path / "embed"))
    assert isinstance(loaded.transform(X), pd.DataFrame)
    assert list(loaded.get_feature_names_out()) == list(estimator.get_feature_names_out())


def test_loading_through_another_class_is_refused(rng, tmp_path):
    estimator, _, _ = fitted(sklearn_rnn.LSTMRegressor, rng)
    estimator.save(tmp_path / "model")
    with pytest.raises(ValueError, match="holds a LSTMRegressor, which is not a GRURegressor"):
        sklearn_rnn.GRURegressor.load(tmp_path / "model")


def test_a_model_saved_in_format_1_still_loads():
    # Saved by the previous release: a GRUClassifier fitted on a DataFrame, with a
    # class-weight dict and a torch.optim class as its optimizer.
    path = DATA / "format1_gru_classifier"
    assert json.loads((path / "config.json").read_text())["format_version"] == 1
    expected = json.loads((path / "expected.json").read_text())
    loaded = sklearn_rnn.load(path)
    X = pd.DataFrame(
        np.random.RandomState(0).normal(size=(30, 8)), columns=[f"t{k}" for k in range(8)]
    )
    # The expected values were computed on another machine: CPU kernels (oneDNN's
    # choice of vector instructions) round float32 differently from one CPU to another.
    np.testing.assert_allclose(
        loaded.predict_proba(X), np.array(expected["predict_proba"]), rtol=1e-6, atol=1e-7
    )
    assert list(loaded.classes_) == expected["classes"]
    assert list(loaded.feature_names_in_) == list(X.columns)
    assert loaded.class_weight == {"up": 2.0, "down": 1.0}
    assert loaded.optimizer is torch.optim.AdamW


def test_values_round_trip_through_the_json_encoding():
    from sklearn_rnn._persistence import from_json, to_json

    values = [
        None,
        True,
        3,
        2.5,
        "text",
        [1, [2, "a"]],
        (0.1, 0.5, 0.9),
        {1: "one", "b": (2,)},
        np.array(["a", "bc"]),
        np.array([["x", "y"]], dtype=object),
        np.float32(1.5),
        torch.optim.SGD,
    ]
    for value in values:
        decoded = from_json(json.loads(json.dumps(to_json(value))))
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(decoded, value)
            assert decoded.dtype == value.dtype
        else:
            assert decoded == value and type(decoded) is type(value.item() if isinstance(value, np.generic) else value)


@pytest.mark.parametrize(
    "value, match",
    [(object(), "not a str, number or bool"), ({(1, 2): 3}, "not a str, number or bool")],
)
def test_values_without_a_safe_encoding_are_type_errors(value, match):
    from sklearn_rnn._persistence import to_json

    with pytest.raises(TypeError, match=match):
        to_json(value)


def test_a_fitted_attribute_without_a_safe_encoding_is_named(rng, tmp_path):
    estimator, _, _ = fitted(sklearn_rnn.LSTMClassifier, rng)
    estimator.extra_state_ = object()
    with pytest.raises(TypeError, match="fitted attribute extra_state_ cannot be saved"):
        estimator.save(tmp_path / "model")


# -- whole pipelines and other composites -------------------------------------------


def window_pipeline():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        sklearn_rnn.SlidingWindowTransformer(6),
        sklearn_rnn.LSTMRegressor(hidden_size=5, max_epochs=3, random_state=0),
    )


def series_rows():
    series = np.sin(np.arange(160) / 5.0) * 20 + 100
    return series[:-1].reshape(-1, 1), series[1:]


def forbid_unpickling(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("load must not unpickle anything")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)


def test_a_whole_fitted_pipeline_saves_and_loads_without_pickle(tmp_path, monkeypatch):
    pytest.importorskip("skops")
    rows, target = series_rows()
    pipe = window_pipeline().fit(rows[:120], target[:120])
    expected = pipe.predict(rows[120:])
    sklearn_rnn.save(pipe, tmp_path / "pipe")
    forbid_unpickling(monkeypatch)
    loaded = sklearn_rnn.load(tmp_path / "pipe")
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    np.testing.assert_array_equal(loaded.predict(rows[120:]), expected)
    # The training history survives, as with a single estimator.
    assert loaded[-1].net_.history.to_list() == pipe[-1].net_.history.to_list()
    assert loaded[-1].loss_curve_ == pipe[-1].loss_curve_


def test_a_fitted_search_and_a_target_transformer_save_and_load(tmp_path):
    pytest.importorskip("skops")
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
    from sklearn.preprocessing import StandardScaler

    rows, target = series_rows()
    search = GridSearchCV(
        window_pipeline(), {"lstmregressor__hidden_size": [3, 5]}, cv=TimeSeriesSplit(2)
    )
    model = TransformedTargetRegressor(regressor=search, transformer=StandardScaler())
    model.fit(rows[:120], target[:120])
    loaded = sklearn_rnn.load(sklearn_rnn.save(model, tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict(rows[120:]), model.predict(rows[120:]))
    template = loaded.regressor_.estimator[-1]  # the search's unfitted template
    assert not hasattr(template, "net_") and template.get_params() == search.estimator[-1].get_params()
    assert loaded.regressor_.best_params_ == model.regressor_.best_params_


def custom_step(X):
    return X * 2


def test_types_nobody_trusted_are_refused_with_their_names(tmp_path):
    pytest.importorskip("skops")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    rows, target = series_rows()
    pipe = window_pipeline()
    pipe.steps.insert(0, ("double", FunctionTransformer(custom_step)))
    pipe.fit(rows[:100], target[:100])
    sklearn_rnn.save(pipe, tmp_path / "pipe")
    name = f"{__name__}.custom_step"
    with pytest.raises(ValueError, match=f"types that are not trusted: \\['{name}'\\]"):
        sklearn_rnn.load(tmp_path / "pipe")
    loaded = sklearn_rnn.load(tmp_path / "pipe", trusted=[name])
    np.testing.assert_array_equal(loaded.predict(rows[100:]), pipe.predict(rows[100:]))


def test_a_damaged_composite_is_a_clear_error_and_a_failed_save_keeps_the_old_one(tmp_path):
    pytest.importorskip("skops")
    rows, target = series_rows()
    pipe = window_pipeline().fit(rows[:100], target[:100])
    path = sklearn_rnn.save(pipe, tmp_path / "pipe")
    # A save that fails half-way leaves the complete earlier save in place.
    broken = window_pipeline().fit(rows[:100], target[:100])
    broken[-1].set_params(callbacks=[("extra", __import__("skorch").callbacks.EpochTimer())])
    with pytest.raises(TypeError, match="callbacks cannot be saved"):
        sklearn_rnn.save(broken, path)
    np.testing.assert_array_equal(sklearn_rnn.load(path).predict(rows[100:]), pipe.predict(rows[100:]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no staging left behind
    data = bytearray((path / "composite.skops").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / "composite.skops").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted, truncated, or comes from another save"):
        sklearn_rnn.load(path)


def test_a_single_estimator_keeps_its_training_history(rng, tmp_path):
    estimator, X, y = fitted(sklearn_rnn.GRUClassifier, rng)
    loaded = sklearn_rnn.load(sklearn_rnn.save(estimator, tmp_path / "model"))
    assert loaded.net_.history.to_list() == estimator.net_.history.to_list()
    assert len(loaded.net_.history) == estimator.n_iter_
