"""Input validation.

Turns every accepted input layout into one 3D float array
``(n_samples, n_timesteps, n_features)`` and keeps scikit-learn's own error
messages where scikit-learn has one. No torch here: this runs at import time.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_X_y, validate_data

FLOAT_DTYPES = (np.float64, np.float32)

_LAYOUT_HELP = (
    "Pass a 3D array of shape (n_samples, n_timesteps, n_features), or a 2D array "
    "of shape (n_samples, n_timesteps) holding univariate sequences."
)


def _input_ndim(X):
    """Number of dimensions of ``X`` without converting it (tables count as 2D)."""
    if hasattr(X, "index") and getattr(X.index, "nlevels", 1) > 1:
        raise ValueError(
            "X is a DataFrame with a MultiIndex, the long (instance, time) layout, which "
            "this version does not read. Pass a 3D array (n_samples, n_timesteps, "
            "n_features) or a wide DataFrame with one univariate sequence per row."
        )
    if sp.issparse(X) or hasattr(X, "iloc"):
        return 2
    ndim = getattr(X, "ndim", None)
    if ndim is not None:
        return ndim
    try:
        return np.asarray(X).ndim
    except ValueError as exc:
        raise ValueError(
            "X could not be read as an array: its sequences seem to have different "
            f"lengths or shapes. All sequences must have the same length. {_LAYOUT_HELP}"
        ) from exc


def _check_ndim(X, ndim):
    if ndim > 3:
        raise ValueError(f"X has {ndim} dimensions, which is too many. {_LAYOUT_HELP}")


def _check_sequence_shape(X):
    if X.shape[1] == 0:
        raise ValueError(
            f"X has 0 time steps (shape {X.shape}); each sequence needs at least one."
        )
    if X.shape[2] == 0:
        raise ValueError(
            f"X has 0 features per time step (shape {X.shape}); at least one is required."
        )


def validate_fit_data(estimator, X, y, *, multi_output, y_numeric):
    """Validate training data and record the input layout on ``estimator``.

    Sets ``n_features_in_`` (and ``feature_names_in_`` for DataFrames) the way
    scikit-learn does, plus ``input_ndim_`` and ``input_size_``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    """
    ndim = _input_ndim(X)
    _check_ndim(X, ndim)
    if ndim == 3:
        X, y = check_X_y(
            X,
            y,
            allow_nd=True,
            dtype=FLOAT_DTYPES,
            multi_output=multi_output,
            y_numeric=y_numeric,
            estimator=estimator,
        )
        _check_sequence_shape(X)
        estimator.n_features_in_ = X.shape[2]
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    else:
        # 2D data: its columns are the time steps of univariate sequences, and
        # scikit-learn's column count and name checks apply to them unchanged.
        X, y = validate_data(
            estimator,
            X,
            y,
            dtype=FLOAT_DTYPES,
            multi_output=multi_output,
            y_numeric=y_numeric,
        )
        X = X[:, :, np.newaxis]
    estimator.input_ndim_ = ndim
    estimator.input_size_ = X.shape[2]
    return X, y


def validate_predict_data(estimator, X):
    """Validate data for a fitted estimator.

    A model fitted on 3D data accepts 3D data with the same number of
    features per time step and any number of time steps (and 2D data when it
    has one feature per step). A model fitted on 2D data checks columns exactly
    as scikit-learn does, and also accepts 3D data with one feature per step.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
    """
    ndim = _input_ndim(X)
    _check_ndim(X, ndim)
    name = type(estimator).__name__
    if ndim == 3:
        X = check_array(
            X, allow_nd=True, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X"
        )
        _check_sequence_shape(X)
        if X.shape[2] != estimator.input_size_:
            raise ValueError(
                f"X has {X.shape[2]} features per time step, but {name} is expecting "
                f"{estimator.input_size_} features per time step as input."
            )
        return X
    if estimator.input_ndim_ == 2 or ndim < 2:
        X = validate_data(estimator, X, reset=False, dtype=FLOAT_DTYPES)
    elif estimator.input_size_ != 1:
        raise ValueError(
            f"X is 2D, which means univariate sequences, but {name} was fitted on "
            f"sequences with {estimator.input_size_} features per time step. Pass a 3D "
            "array of shape (n_samples, n_timesteps, n_features)."
        )
    else:
        X = check_array(X, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X")
    return X[:, :, np.newaxis]


def seed_from_random_state(random_state):
    """An int seed for torch, drawn the scikit-learn way from ``random_state``."""
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def window_structure(X):
    """Recognise ``X`` as overlapping windows over one series, without copying.

    A 3D array whose sample stride is a whole number ``step`` of time-step
    strides, smaller than the window, is (by its memory layout) the windows
    ``series[k * step : k * step + n_timesteps]`` of a 2D series. Such views
    come from ``make_windows``, ``SlidingWindowTransformer`` or NumPy's
    ``sliding_window_view``.

    Returns
    -------
    structure : tuple (series, step) or None
        ``series``, a read-only view of shape (n_rows, n_features), and the
        window step; None when ``X`` is not such a view.
    """
    n_samples, n_timesteps, n_features = X.shape
    sample_stride, step_stride, feature_stride = X.strides
    if n_samples < 2 or n_timesteps < 2 or step_stride <= 0 or sample_stride <= 0:
        return None
    step, remainder = divmod(sample_stride, step_stride)
    if remainder or step >= n_timesteps:
        return None
    n_rows = (n_samples - 1) * step + n_timesteps
    series = np.lib.stride_tricks.as_strided(
        X, shape=(n_rows, n_features), strides=(step_stride, feature_stride), writeable=False
    )
    return series, step
