"""Malformed input gets a clear ValueError or TypeError, never a torch error or NaN."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from sklearn_rnn import LSTMClassifier, LSTMRegressor, SlidingWindowTransformer, make_windows

X3 = np.random.RandomState(0).normal(size=(12, 5, 2))
y_reg = np.random.RandomState(1).normal(size=12)
y_clf = np.arange(12) % 2


def with_value(array, index, value, dtype=None):
    array = array.astype(dtype or array.dtype, copy=True)
    array[index] = value
    return array


FIT_CASES = {
    "NaN in X": (with_value(X3, (3, 2, 1), np.nan), y_reg, ValueError, "Input X contains NaN"),
    "inf in X": (with_value(X3, (0, 0, 0), np.inf), y_reg, ValueError, "infinity"),
    "NaN in y": (X3, with_value(y_reg, 4, np.nan), ValueError, "Input y contains NaN"),
    "inf in y": (X3, with_value(y_reg, 4, -np.inf), ValueError, "Input y contains infinity"),
    "no samples (3D)": (X3[:0], y_reg[:0], ValueError, "0 sample\\(s\\)"),
    "no samples (2D)": (X3[:0, :, 0], y_reg[:0], ValueError, "0 sample\\(s\\)"),
    "no time steps": (X3[:, :0], y_reg, ValueError, "0 time steps"),
    "no features (3D)": (X3[:, :, :0], y_reg, ValueError, "0 features per time step"),
    "no columns (2D)": (X3[:, :0, 0], y_reg, ValueError, "0 feature\\(s\\)"),
    "1D X": (X3[:, 0, 0], y_reg, ValueError, r"Reshape your data: a single sequence needs shape \(1, n_timesteps\)"),
    "4D X": (X3[:, :, :, np.newaxis], y_reg, ValueError, "X has 4 dimensions"),
    "y too short": (X3, y_reg[:-1], ValueError, "inconsistent numbers of samples"),
    "strings in X": (
        np.full(X3.shape, "abc"),
        y_reg,
        ValueError,
        r"X feature 0 \(of 2 per time step\) holds a value that is not a number, 'abc'",
    ),
    "a string column": (
        pd.DataFrame({"t0": np.zeros(12), "t1": ["a"] * 12}),
        y_reg,
        ValueError,
        "X column 't1' holds a value that is not a number, 'a'",
    ),
    "a string time step": (
        np.column_stack([np.zeros(12), np.full(12, "x", dtype=object)]),
        y_reg,
        ValueError,
        r"X column 1 \(time step 1 of the univariate sequences\) holds a value that is not",
    ),
    "a string in a ragged sequence": (
        [np.zeros((5, 2)), np.array([[1.0, "q"]], dtype=object)],
        y_reg[:2],
        ValueError,
        r"X feature 1 \(of 2 per time step\) holds a value that is not a number, 'q'",
    ),
    "nested frame, channels of different lengths": (
        pd.DataFrame({"a": [pd.Series(np.zeros(5))] * 2, "b": [pd.Series(np.zeros(4))] * 2}),
        y_reg[:2],
        ValueError,
        r"Row 0 of the nested DataFrame X has channels of different lengths \[4, 5\]",
    ),
    "complex X": (X3 + 1j, y_reg, ValueError, "Complex data not supported"),
    "sparse X": (sp.csr_matrix(X3[:, :, 0]), y_reg, TypeError, "Sparse data was passed"),
    "an empty sequence": (
        [np.zeros((5, 2)), np.zeros((0, 2))], y_reg[:2], ValueError, "Sequence 1 of X has 0 time"
    ),
    "ragged features": (
        [np.zeros((5, 2)), np.zeros((5, 3))], y_reg[:2], ValueError, "different numbers of features"
    ),
    "3D sequence in a list": (
        [np.zeros((5, 2)), np.zeros((4, 2, 1))], y_reg[:2], ValueError, "inconsistent shapes"
    ),
    "ragged list, y too short": (
        [np.zeros((5, 2)), np.zeros((4, 2))], y_reg[:3], ValueError, "inconsistent numbers"
    ),
    "string y (regressor)": (X3, np.array(["a"] * 12), ValueError, "y holds values that are not numbers"),
}


@pytest.mark.parametrize("case", FIT_CASES, ids=list(FIT_CASES))
def test_malformed_fit_input(case):
    X, y, error, match = FIT_CASES[case]
    with pytest.raises(error, match=match):
        LSTMRegressor(hidden_size=4, max_epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(12), "needs at least 2 classes.*only one class: 0.0"),
        (np.array(["only"] * 12), "only one class: 'only'"),
        (np.random.RandomState(1).normal(size=12), "Unknown label type"),
    ],
)
def test_classifier_needs_two_or_more_discrete_classes(y, match):
    with pytest.raises(ValueError, match=match):
        LSTMClassifier(hidden_size=4, max_epochs=1).fit(X3, y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_size=-1), "'hidden_size' parameter .* must be an int in the range \\[1, inf\\)"),
        (dict(hidden_size=2.5), "'hidden_size' parameter"),
        (dict(num_layers=0), "'num_layers' parameter"),
        (dict(dropout=1.0), "'dropout' parameter .* range \\[0.0, 1.0\\)"),
        (dict(dropout=-0.1), "'dropout' parameter"),
        (dict(batch_size=0), "'batch_size' parameter"),
        (dict(lr=-0.01), "'lr' parameter"),
        (dict(lr=0), "'lr' parameter"),
        (dict(max_epochs=0), "'max_epochs' parameter"),
        (dict(pooling="first"), "'pooling' parameter"),
        (dict(optimizer="adamax"), "'optimizer' parameter"),
        (dict(clip_grad_norm=0), "'clip_grad_norm' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (dict(device="tpu"), "device='tpu' is not a known device"),
        (dict(device=3), "'device' parameter"),
    ],
)
def test_invalid_hyperparameters(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        LSTMRegressor(**params).fit(X3, y_reg)


def test_cuda_requested_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        LSTMRegressor(device="cuda:0").fit(X3, y_reg)


def test_predict_errors():
    reg = LSTMRegressor(hidden_size=4, max_epochs=1)
    with pytest.raises(NotFittedError):
        reg.predict(X3)
    reg.fit(X3, y_reg)
    with pytest.raises(ValueError, match="X has 3 features per time step, but LSTMRegressor"):
        reg.predict(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        reg.predict(with_value(X3, (0, 0, 0), np.nan))
    with pytest.raises(ValueError, match="0 time steps"):
        reg.predict(X3[:, :0])
    with pytest.raises(ValueError, match="0 sample"):
        reg.predict(X3[:0])


def test_impossible_windows():
    with pytest.raises(ValueError, match="at least 11 time steps"):
        make_windows(np.arange(5.0), 10)
    with pytest.raises(ValueError, match="'window_size' parameter"):
        SlidingWindowTransformer(0).fit(np.zeros((5, 1)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    dtype=st.sampled_from(["float64", "float32", "int64", "bool", "complex128", "U3", "object"]),
    fill=st.sampled_from([0.0, 1.5, np.nan, np.inf]),
)
def test_fuzzed_shapes_and_dtypes_fit_or_fail_cleanly(shape, dtype, fill):
    X = np.full(shape, fill).astype(dtype) if dtype != "U3" else np.full(shape, "abc")
    y = np.arange(shape[0]) % 2 if shape else np.zeros(0)
    reg = LSTMRegressor(hidden_size=2, max_epochs=1)
    try:
        reg.fit(X, y)
    except (ValueError, TypeError) as exc:
        assert str(exc)  # a message, not an empty error
        return
    assert np.isfinite(reg.predict(X)).all()
