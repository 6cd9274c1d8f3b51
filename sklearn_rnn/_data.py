"""Input validation: any accepted input becomes one typed value, classified once.

Every accepted layout of ``X`` becomes one of three values, decided here and
nowhere else: ``DenseSequences`` (equal-length sequences in one 3D array),
``SeriesWindows`` (overlapping windows over one series, held as the series)
or ``RaggedSequences`` (sequences of different lengths, end to end). Scaling,
dataset building, fingerprinting and prediction take the value from there.
scikit-learn's own error messages are kept where scikit-learn has one. No
torch here: this runs at import time.
"""

import functools
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_array, check_X_y, validate_data

from ._panel import Windows

FLOAT_DTYPES = (np.float64, np.float32)

_LAYOUT_HELP = (
    "Pass a 3D array of shape (n_samples, n_timesteps, n_features), a 2D array of "
    "shape (n_samples, n_timesteps) holding univariate sequences, a list of 2D arrays "
    "(n_timesteps_i, n_features) of any lengths, or a DataFrame indexed by "
    "(instance, time)."
)


class TargetSpec(NamedTuple):
    """How an estimator's ``y`` is laid out, for validation.

    layout : {"sample", "step", "horizon", "input"}
        A target row per sequence; a target per time step (many-to-many); a
        forecast horizon per sequence (encoder-decoder); or no ``y``, the
        inputs being their own targets (autoencoder).
    numeric : bool
        Numeric targets (regression) rather than class labels.
    multi_output : bool
        Whether a 2D ``y`` (several outputs) is allowed in the "sample" layout.
    owner : str
        The setting that asks for the layout, named in error messages
        (``"return_sequences=True"``, ``"decoder='rnn'"``).
    """

    layout: str
    numeric: bool
    multi_output: bool
    owner: str = ""


class DenseSequences:
    """Equal-length sequences in one array.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_timesteps, n_features)
    """

    def __init__(self, values):
        self.values = values

    def __len__(self):
        return self.values.shape[0]

    @property
    def n_timesteps(self):
        return self.values.shape[1]

    @property
    def longest(self):
        return self.n_timesteps

    @property
    def n_features(self):
        return self.values.shape[2]

    def timestep_rows(self, weights=None):
        """Every time step's feature vector, and how much it counts.

        Parameters
        ----------
        weights : ndarray of shape (n_samples,) or (n_samples, n_timesteps), or None
            Sample weights (per sample, or per time step).

        Returns
        -------
        rows : ndarray of shape (n_rows, n_features)
        counts : ndarray of shape (n_rows,) or None (each row counts once)
        """
        rows = self.values.reshape(-1, self.values.shape[2])
        if weights is None:
            return rows, None
        if weights.ndim == 1:
            weights = np.repeat(weights[:, np.newaxis], self.n_timesteps, axis=1)
        return rows, weights.ravel()

    def fingerprint_data(self):
        """What identifies the data, for checkpoint fingerprints."""
        return self.values


class SeriesWindows:
    """Windows over one series, or over several end to end, held as the rows alone.

    Window ``k`` is ``series[starts[k] : starts[k] + n_timesteps]``.

    Parameters
    ----------
    windows : ndarray of shape (n_samples, n_timesteps, n_features) or Windows
        The windows as given: a strided view of ``series``, or a
        :class:`~sklearn_rnn.Windows`.
    series : ndarray of shape (n_rows, n_features)
        A read-only view of the rows the windows are cut from.
    starts : ndarray of shape (n_samples,)
        The row each window starts at.
    row_series : ndarray of shape (n_rows,) or None, default=None
        Position in ``series_labels`` of each row's series; None: one series.
    series_labels : ndarray of shape (n_series,) or None, default=None
    future : ndarray of shape (n_rows, n_future) or None, default=None
        Known-future columns; window ``k``'s are the ``horizon`` rows after it.
    horizon : int or None, default=None
    target_features : tuple of int or None, default=None
        Positions among the features of the targets' columns.
    """

    def __init__(
        self,
        windows,
        series,
        starts,
        *,
        row_series=None,
        series_labels=None,
        future=None,
        horizon=None,
        target_features=None,
    ):
        self.windows = windows
        self.series = series
        self.starts = starts
        self.row_series = row_series
        self.series_labels = series_labels
        self.future = future
        self.horizon = horizon
        self.target_features = target_features

    def __len__(self):
        return len(self.starts)

    @property
    def n_timesteps(self):
        return self.windows.shape[1]

    @property
    def longest(self):
        return self.n_timesteps

    @property
    def n_features(self):
        return self.windows.shape[2]

    @property
    def n_future(self):
        return 0 if self.future is None else self.future.shape[1]

    def timestep_rows(self, weights=None):
        """The series' rows, each counted once per window that holds it (with
        ``weights``, by the weight of each such window, or of the row's step in
        it): the statistics of the windows, without materialising them."""
        n_rows = self.series.shape[0]
        starts = self.starts
        if weights is not None and weights.ndim == 2:
            counts = np.zeros(n_rows)
            np.add.at(counts, starts[:, np.newaxis] + np.arange(self.n_timesteps), weights)
            return self.series, counts
        counts = np.bincount(starts, weights=weights, minlength=n_rows + 1) - np.bincount(
            starts + self.n_timesteps, weights=weights, minlength=n_rows + 1
        )
        return self.series, np.cumsum(counts)[:n_rows]

    def future_rows(self):
        """The known-future rows, each counted once per window whose future holds it."""
        n_rows = self.future.shape[0]
        first = self.starts + self.n_timesteps
        counts = np.bincount(first, minlength=n_rows + 1) - np.bincount(
            first + self.horizon, minlength=n_rows + 1
        )
        return self.future, np.cumsum(counts)[:n_rows]

    def fingerprint_data(self):
        if isinstance(self.windows, np.ndarray):
            return self.windows
        return (self.series, self.starts, self.future)


class RaggedSequences:
    """Sequences of different lengths, stored end to end.

    Parameters
    ----------
    values : ndarray of shape (total_timesteps, n_features)
        Every sequence's rows, one sequence after the other.
    lengths : ndarray of shape (n_samples,), int64
        Time steps per sequence, each at least 1.
    """

    def __init__(self, values, lengths):
        self.values = values
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)

    def __len__(self):
        return len(self.lengths)

    @property
    def longest(self):
        return int(self.lengths.max())

    @property
    def n_features(self):
        return self.values.shape[1]

    def timestep_rows(self, weights=None):
        if weights is None or len(weights) == len(self.values):
            return self.values, weights  # none, or per step, stored end to end
        return self.values, np.repeat(weights, self.lengths)

    def fingerprint_data(self):
        return (self.values, self.lengths)


def as_sequences(X):
    """The typed value of a validated 3D array: windows over one series, or dense."""
    structure = window_structure(X)
    if structure is None:
        return DenseSequences(X)
    series, step = structure
    return SeriesWindows(X, series, np.arange(X.shape[0], dtype=np.int64) * step)


def windows_sequences(X):
    """The typed value of a :class:`~sklearn_rnn.Windows` (no copy of its rows)."""
    values = X.values
    if values.dtype not in FLOAT_DTYPES:
        values = values.astype(np.float64)
    if len(X) == 0:
        raise ValueError(
            "Found array with 0 sample(s) (shape=(0, ...)) while a minimum of 1 is required."
        )
    if X.starts.min() < 0 or X.starts.max() + X.window_size > len(values):
        raise ValueError("Windows: a window starts outside its rows (starts out of bounds).")
    if X.future_values is not None and (
        X.horizon is None or X.starts.max() + X.window_size + X.horizon > len(X.future_values)
    ):
        raise ValueError("Windows: the known future of a window reaches past its rows.")
    if not np.isfinite(values.sum()) or (
        X.future_values is not None and not np.isfinite(X.future_values.sum())
    ):
        raise ValueError("Windows hold NaN or infinite values; fill or drop them first.")
    return SeriesWindows(
        X,
        values,
        X.starts,
        row_series=X.row_series,
        series_labels=X.series_labels,
        future=X.future_values,
        horizon=X.horizon,
        target_features=X.target_features,
    )


def is_long_frame(X):
    """Whether ``X`` is a DataFrame indexed by (instance, time)."""
    return hasattr(X, "iloc") and getattr(X.index, "nlevels", 1) > 1


def _is_ragged_list(X):
    """A list of sequences NumPy cannot stack: different lengths or feature counts."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    try:
        shapes = {np.shape(sequence) for sequence in X}
    except ValueError:  # an element is itself a ragged nested list
        return False
    return len(shapes) > 1 and all(len(shape) in (1, 2) for shape in shapes)


def _is_nested_frame(X):
    """Whether ``X`` is sktime's nested_univ DataFrame: a row per instance, a column
    per channel, each cell a Series (or array) of the channel's time points."""
    if not (hasattr(X, "iloc") and hasattr(X, "columns")) or X.shape[0] == 0 or X.shape[1] == 0:
        return False
    first = X.iloc[0, 0]
    return all(dtype == object for dtype in X.dtypes) and (
        isinstance(first, (np.ndarray, list)) or type(first).__name__ == "Series"
    )


def _unnested(X):
    """sktime's nested_univ DataFrame as a 3D array (equal lengths) or a list of
    arrays (n_timesteps_i, n_channels), with its channel names; other X unchanged."""
    if not _is_nested_frame(X):
        return X, None
    sequences = _nested_frame_sequences(X)
    columns = np.asarray(X.columns, dtype=object)
    names = columns if all(isinstance(c, str) for c in columns) else None
    if len({len(sequence) for sequence in sequences}) == 1:
        return np.stack(sequences), names
    return sequences, names


def _with_channel_names(validate):
    """Read nested_univ DataFrames as sequences; their channel names are the
    feature names, recorded in fit and checked in predict."""

    @functools.wraps(validate)
    def wrapper(estimator, X, *args, **kwargs):
        X, names = _unnested(X)
        reset = validate.__name__ == "validate_fit_data" and kwargs.get("reset", True)
        fitted_names = None if reset else getattr(estimator, "feature_names_in_", None)
        if not reset and names is not None and fitted_names is not None:
            if not np.array_equal(names, fitted_names):
                raise ValueError(
                    f"The columns of X, {list(names)}, must be the feature names seen in "
                    f"fit, in the same order: {list(fitted_names)}."
                )
        result = validate(estimator, X, *args, **kwargs)
        if reset and names is not None:
            estimator.feature_names_in_ = names
        return result

    return wrapper


def _nested_frame_sequences(frame):
    """One array (n_timesteps_i, n_channels) per row of a nested_univ DataFrame."""
    sequences = []
    for i in range(frame.shape[0]):
        channels = [np.asarray(cell, dtype=np.float64) for cell in frame.iloc[i]]
        lengths = {len(channel) for channel in channels}
        if len(lengths) > 1:
            raise ValueError(
                f"Row {i} of the nested DataFrame X has channels of different lengths "
                f"{sorted(lengths)}; every channel of an instance needs the same time points."
            )
        sequences.append(np.stack(channels, axis=1))
    return sequences


def _is_sequence_table(X):
    """Input read as sequences of rows: ragged lists and long DataFrames."""
    return is_long_frame(X) or _is_ragged_list(X)


def _input_ndim(X):
    """Number of dimensions of ``X`` without converting it (tables count as 2D).

    Ragged lists and long (instance, time) DataFrames count as 3D.
    """
    if _is_sequence_table(X):
        return 3
    if sp.issparse(X) or hasattr(X, "iloc"):
        return 2
    ndim = getattr(X, "ndim", None)
    if ndim is not None:
        return ndim
    try:
        return np.asarray(X).ndim
    except ValueError as exc:
        raise ValueError(
            "X could not be read as an array of sequences: its sequences have "
            f"inconsistent shapes. {_LAYOUT_HELP}"
        ) from exc


def contiguous_groups(ids, not_contiguous):
    """Codes, labels and first rows of the groups of equal ``ids`` (a pandas
    Index), whose rows must be contiguous: else ``ValueError(not_contiguous)``."""
    codes, labels = ids.factorize(use_na_sentinel=False)
    firsts = np.flatnonzero(np.diff(codes, prepend=-1))
    if len(firsts) != len(labels):
        raise ValueError(not_contiguous)
    return codes, labels, firsts


def _long_frame_sequences(frame):
    """Split a DataFrame indexed by (instance, time) into one array per instance."""
    codes, _, starts = contiguous_groups(
        frame.index.get_level_values(0),
        "X is a long DataFrame indexed by (instance, time), but the rows of an "
        "instance are not contiguous. Sort it first: X.sort_index().",
    )
    lengths = np.diff(np.append(starts, len(codes)))
    return frame.to_numpy(), lengths


def validate_ragged(estimator, X, *, reset):
    """Validate sequences of different lengths into a RaggedSequences.

    ``X`` is a list of arrays of shape (n_timesteps_i, n_features) (or
    (n_timesteps_i,) for univariate sequences), or a DataFrame indexed by
    (instance, time) with one column per feature.
    """
    name = type(estimator).__name__
    if is_long_frame(X):
        columns = np.asarray(X.columns, dtype=object)
        values, lengths = _long_frame_sequences(X)
        names = columns if all(isinstance(c, str) for c in columns) else None
        fitted_names = getattr(estimator, "feature_names_in_", None)
        if not reset and fitted_names is not None and not np.array_equal(names, fitted_names):
            raise ValueError(
                f"The columns of X, {list(columns)}, must be the feature names seen in "
                f"fit, in the same order: {list(fitted_names)}."
            )
    else:
        names = None
        arrays = [np.asarray(sequence) for sequence in X]
        for i, sequence in enumerate(arrays):
            if sequence.ndim not in (1, 2):
                raise ValueError(
                    f"Sequence {i} of X has {sequence.ndim} dimensions; each sequence must "
                    "be 2D (n_timesteps, n_features) or 1D (n_timesteps,)."
                )
        arrays = [a[:, np.newaxis] if a.ndim == 1 else a for a in arrays]
        n_features = {a.shape[1] for a in arrays}
        if len(n_features) > 1:
            raise ValueError(
                f"The sequences of X have different numbers of features: {sorted(n_features)}. "
                "Every sequence needs the same features."
            )
        lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        values = np.concatenate(arrays) if arrays else np.empty((0, 0))
    empty = np.flatnonzero(lengths == 0)
    if len(empty):
        raise ValueError(f"Sequence {empty[0]} of X has 0 time steps; each needs at least one.")
    values = check_array(
        values, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X", ensure_min_samples=1
    )
    if reset:
        estimator.n_features_in_ = values.shape[1]
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif values.shape[1] != estimator.input_size_:
        raise ValueError(
            f"X has {values.shape[1]} features per time step, but {name} is expecting "
            f"{estimator.input_size_} features per time step as input."
        )
    return RaggedSequences(values, lengths.astype(np.int64))


def _check_ndim(X, ndim):
    if ndim > 3:
        raise ValueError(f"X has {ndim} dimensions, which is too many. {_LAYOUT_HELP}")
    if ndim < 2:
        shape = np.shape(X)
        raise ValueError(
            f"X is {ndim}D, of shape {shape}, but this package reads a 2D X as several "
            "univariate sequences, one per row. Reshape your data: a single sequence "
            "needs shape (1, n_timesteps) or (1, n_timesteps, n_features), so pass "
            "X.reshape(1, -1) for one univariate sequence."
        )


def _first_non_number(values):
    """The first of ``values`` that is not a number, or None."""
    for value in np.asarray(values, dtype=object).ravel():
        try:
            float(value)
        except (TypeError, ValueError):
            return value
    return None


def _non_numeric_part(X):
    """Where ``X`` holds something that is not a number: (description, value), or None."""
    if hasattr(X, "iloc") and hasattr(X, "columns") and not _is_nested_frame(X):
        for label in X.columns:
            value = _first_non_number(X[label].to_numpy())
            if value is not None:
                return f"X column {label!r}", value
        return None
    try:
        if _is_ragged_list(X) or _is_nested_frame(X):
            rows = X if isinstance(X, list) else [X.iloc[i].tolist() for i in range(len(X))]
            array = np.concatenate([np.asarray(s, dtype=object).reshape(len(s), -1) for s in rows])
            array = array[np.newaxis]
        else:
            array = np.asarray(X, dtype=object)
    except ValueError:
        return None
    if array.ndim == 2:
        for j in range(array.shape[1]):
            value = _first_non_number(array[:, j])
            if value is not None:
                return f"X column {j} (time step {j} of the univariate sequences)", value
    elif array.ndim == 3:
        for k in range(array.shape[2]):
            value = _first_non_number(array[:, :, k])
            if value is not None:
                return f"X feature {k} (of {array.shape[2]} per time step)", value
    return None


def _naming_non_numbers(validate):
    """Turn NumPy's "could not convert ..." into an error that names the column of
    X (or y) holding something that is not a number."""

    @functools.wraps(validate)
    def wrapper(estimator, X, *args, **kwargs):
        try:
            return validate(estimator, X, *args, **kwargs)
        except (TypeError, ValueError) as exc:
            message = str(exc)
            if "could not convert" not in message and "setting an array element" not in message:
                raise
            part = _non_numeric_part(X)
            if part is None:
                y = args[0] if args else kwargs.get("y")
                if y is not None and _first_non_number(y) is not None:
                    part = ("y", _first_non_number(y))
            if part is None:
                raise
            where, value = part
            raise ValueError(
                f"{where} holds a value that is not a number, {value!r} ({message}). "
                "Encode it as numbers or drop it before fitting."
            ) from None

    return wrapper


def _check_sequence_shape(X):
    if X.shape[1] == 0:
        raise ValueError(
            f"X has 0 time steps (shape {X.shape}); each sequence needs at least one."
        )
    if X.shape[2] == 0:
        raise ValueError(
            f"X has 0 features per time step (shape {X.shape}); at least one is required."
        )


def _check_univariate(estimator):
    """2D X holds univariate sequences: refuse it for a model of several features."""
    if estimator.input_size_ != 1:
        raise ValueError(
            f"X is 2D, which means univariate sequences, but {type(estimator).__name__} "
            f"was fitted on sequences with {estimator.input_size_} features per time step. "
            "Pass a 3D array of shape (n_samples, n_timesteps, n_features)."
        )


def _record_layout(estimator, ndim, n_features, reset):
    """Record the input layout (``reset``), or check ``n_features`` per step against it."""
    if reset:
        estimator.input_ndim_ = ndim
        estimator.input_size_ = n_features
    elif n_features != estimator.input_size_:
        raise ValueError(
            f"X has {n_features} features per time step, but {type(estimator).__name__} "
            f"is expecting {estimator.input_size_} features per time step as input."
        )


def _reset_3d_features(estimator, X, reset):
    _check_sequence_shape(X)
    if reset:
        estimator.n_features_in_ = X.shape[2]
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_


def _validate_windows(estimator, X, reset):
    """The typed value of a :class:`~sklearn_rnn.Windows`, its layout recorded or checked."""
    sequences = windows_sequences(X)
    if reset:
        estimator.n_features_in_ = sequences.n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    _record_layout(estimator, 3, sequences.n_features, reset)
    return sequences


def _validate_inputs(estimator, X, ndim, reset):
    """Validate ``X`` alone for fit (its targets are checked on their own)."""
    if isinstance(X, Windows):
        return _validate_windows(estimator, X, reset)
    if _is_sequence_table(X):
        sequences = validate_ragged(estimator, X, reset=reset)
        _record_layout(estimator, 3, sequences.n_features, reset)
        return sequences
    if ndim == 3:
        X = check_array(X, allow_nd=True, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X")
        _reset_3d_features(estimator, X, reset)
    elif reset or estimator.input_ndim_ == 2:
        X = validate_data(estimator, X, reset=reset, dtype=FLOAT_DTYPES)[:, :, np.newaxis]
    else:  # continuing a model fitted on 3D sequences: read 2D X as predict does
        _check_univariate(estimator)
        X = check_array(X, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X")
        X = X[:, :, np.newaxis]
    _record_layout(estimator, ndim, X.shape[2], reset)
    return as_sequences(X)


def _check_target_values(values, y_numeric):
    """Finite numbers (regression) or classification labels, with scikit-learn's messages."""
    flat = values.reshape(values.shape[0], -1)
    if y_numeric:
        return check_array(flat, dtype=np.float64, input_name="y").reshape(values.shape)
    check_array(flat, dtype=None, input_name="y")
    check_classification_targets(flat.ravel())
    return values


def validate_step_targets(X, y, *, y_numeric, owner="return_sequences=True"):
    """Per-time-step targets (many-to-many) for validated sequences ``X``.

    Returns
    -------
    y : ndarray of shape (n_samples, n_timesteps, n_outputs) for equal-length
        ``X``, or (total_timesteps, n_outputs) stored like ``X.values`` for
        ragged ``X``; without the ``n_outputs`` axis for class labels
    """
    kind = "values" if y_numeric else "labels"
    if y is None:
        raise ValueError(f"{owner} needs a target per time step, but y is None.")
    if isinstance(X, RaggedSequences):
        if hasattr(y, "iloc"):  # long Series/DataFrame: one row per time step
            values = y.to_numpy()
            if len(values) != len(X.values):
                raise ValueError(
                    f"y has {len(values)} rows, but X has {len(X.values)} time steps in all; "
                    "per-step targets need one row per time step of X."
                )
        else:
            if isinstance(y, np.ndarray) and y.dtype != object:
                raise ValueError(
                    "X holds sequences of different lengths, so y needs one array of "
                    "per-step targets per sequence (a list), not one array."
                )
            targets = [np.asarray(target) for target in y]
            if len(targets) != len(X):
                raise ValueError(
                    f"y has {len(targets)} target sequences, but X has {len(X)} sequences."
                )
            for i, (target, length) in enumerate(zip(targets, X.lengths)):
                if target.ndim not in (1, 2) or (target.ndim == 2 and not y_numeric):
                    raise ValueError(
                        f"Targets {i} have shape {target.shape}; each sequence needs "
                        f"{kind} of shape (n_timesteps_i,)"
                        + (" or (n_timesteps_i, n_outputs)." if y_numeric else ".")
                    )
                if len(target) != length:
                    raise ValueError(
                        f"Sequence {i} of X has {length} time steps, but its targets have "
                        f"{len(target)}; per-step targets need one per time step."
                    )
            if len({target.shape[1:] for target in targets}) > 1:
                raise ValueError("The target sequences of y have different numbers of outputs.")
            values = np.concatenate(targets)
        if y_numeric and values.ndim == 1:
            values = values[:, np.newaxis]
        return _check_target_values(values, y_numeric)
    y = np.asarray(y) if not hasattr(y, "iloc") else y.to_numpy()
    expected = (len(X), X.n_timesteps)
    allowed_ndim = (2, 3) if y_numeric else (2,)
    if y.ndim not in allowed_ndim or y.shape[:2] != expected:
        shapes = f"{expected}" + (f" or {expected + ('n_outputs',)}" if y_numeric else "")
        x_shape = expected + (X.n_features,)
        raise ValueError(
            f"{owner} needs {kind} per time step: y of shape {shapes} "
            f"for X of shape {x_shape}, got y of shape {y.shape}."
        )
    if y_numeric and y.ndim == 2:
        y = y[:, :, np.newaxis]
    return _check_target_values(y, y_numeric)


def validate_horizon_targets(X, y, *, owner):
    """Forecast targets for an encoder-decoder: (n_samples, horizon[, n_targets]).

    Returns
    -------
    y : ndarray of shape (n_samples, horizon, n_targets), float64
    """
    if y is None:
        raise ValueError(f"{owner} needs targets y, but y is None.")
    y = check_array(y, allow_nd=True, ensure_2d=False, dtype=np.float64, input_name="y")
    if y.ndim not in (2, 3):
        raise ValueError(
            f"{owner} forecasts a horizon of steps: y must have shape "
            "(n_samples, horizon) or (n_samples, horizon, n_targets), got shape "
            f"{y.shape}. For one step ahead, pass y.reshape(-1, 1)."
        )
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} samples, but y has {len(y)}.")
    return y if y.ndim == 3 else y[:, :, np.newaxis]


@_with_channel_names
@_naming_non_numbers
def validate_fit_data(estimator, X, y, *, targets, reset=True):
    """Validate training data and record the input layout on ``estimator``.

    Sets ``n_features_in_`` (and ``feature_names_in_`` for DataFrames) the way
    scikit-learn does, plus ``input_ndim_`` and ``input_size_``; with
    ``reset=False`` (``partial_fit`` after its first call) checks ``X``
    against them instead.

    Parameters
    ----------
    estimator : estimator
    X : array-like, list of sequences or DataFrame indexed by (instance, time)
    y : array-like or None
    targets : TargetSpec
        The layout of ``y`` and what it may hold.

    Returns
    -------
    sequences : DenseSequences, SeriesWindows or RaggedSequences
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs) for the
        "sample" layout; as ``validate_step_targets`` or
        ``validate_horizon_targets`` return for "step" and "horizon"; None for
        "input"
    """
    ndim = _input_ndim(X)
    _check_ndim(X, ndim)
    if targets.layout != "sample":
        sequences = _validate_inputs(estimator, X, ndim, reset)
        if targets.layout == "step":
            y = validate_step_targets(sequences, y, y_numeric=targets.numeric, owner=targets.owner)
        elif targets.layout == "horizon":
            y = validate_horizon_targets(sequences, y, owner=targets.owner)
        else:
            y = None
        return sequences, y
    common = dict(
        multi_output=targets.multi_output, y_numeric=targets.numeric, estimator=estimator
    )
    if isinstance(X, Windows) or _is_sequence_table(X):
        if isinstance(X, Windows):
            sequences = _validate_windows(estimator, X, reset)
        else:
            sequences = validate_ragged(estimator, X, reset=reset)
        # y gets scikit-learn's own checks and messages against one row per sequence.
        y = check_X_y(np.zeros((len(sequences), 1)), y, **common)[1]
        _record_layout(estimator, 3, sequences.n_features, reset)
        return sequences, y
    if ndim == 3:
        X, y = check_X_y(X, y, allow_nd=True, dtype=FLOAT_DTYPES, **common)
        _reset_3d_features(estimator, X, reset)
    else:
        # 2D data: its columns are the time steps of univariate sequences, and
        # scikit-learn's column count and name checks apply to them unchanged.
        del common["estimator"]
        if reset or estimator.input_ndim_ == 2:
            X, y = validate_data(estimator, X, y, reset=reset, dtype=FLOAT_DTYPES, **common)
        else:  # continuing a model fitted on 3D sequences: read 2D X as predict does
            _check_univariate(estimator)
            X, y = check_X_y(X, y, dtype=FLOAT_DTYPES, estimator=estimator, **common)
        X = X[:, :, np.newaxis]
    _record_layout(estimator, ndim, X.shape[2], reset)
    return as_sequences(X), y


def _is_checked_float_array(X):
    """Whether ``X`` is a non-empty, finite float ndarray.

    ``check_array`` returns such an array unchanged; skipping it saves most of
    the validation time of a one-sample prediction. Anything else, including
    an array whose sum overflows, goes through ``check_array`` and its errors.
    """
    return (
        type(X) is np.ndarray
        and X.dtype in FLOAT_DTYPES
        and X.size > 0
        and bool(np.isfinite(X.sum()))
    )


@_with_channel_names
@_naming_non_numbers
def validate_predict_data(estimator, X):
    """Validate data for a fitted estimator.

    A model fitted on 3D data accepts 3D data with the same number of
    features per time step and any number of time steps (and 2D data when it
    has one feature per step). A model fitted on 2D data checks columns exactly
    as scikit-learn does, and also accepts 3D data with one feature per step.

    Returns
    -------
    sequences : DenseSequences, SeriesWindows or RaggedSequences
    """
    if isinstance(X, Windows):
        return _validate_windows(estimator, X, reset=False)
    ndim = _input_ndim(X)
    _check_ndim(X, ndim)
    name = type(estimator).__name__
    if _is_sequence_table(X):
        return validate_ragged(estimator, X, reset=False)
    if ndim == 3:
        if not _is_checked_float_array(X):
            X = check_array(
                X, allow_nd=True, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X"
            )
        _check_sequence_shape(X)
        if X.shape[2] != estimator.input_size_:
            raise ValueError(
                f"X has {X.shape[2]} features per time step, but {name} is expecting "
                f"{estimator.input_size_} features per time step as input."
            )
        return as_sequences(X)
    if estimator.input_ndim_ == 2 or ndim < 2:
        X = validate_data(estimator, X, reset=False, dtype=FLOAT_DTYPES)
    else:
        _check_univariate(estimator)
        X = check_array(X, dtype=FLOAT_DTYPES, estimator=estimator, input_name="X")
    return as_sequences(X[:, :, np.newaxis])


def standardisation(rows, counts=None, *, enabled, name):
    """Per-column mean and scale of ``rows`` (n_rows, n_columns), for standardising.

    ``counts`` (n_rows,), when given, says how many times each row counts.
    Constant columns get the scale 1: they are centred, not divided by zero.
    With ``enabled=False``, zeros and ones. ``name`` ("X" or "y") names the
    data in the error raised when the statistics overflow float64.
    """
    n_columns = rows.shape[1]
    if not enabled:
        return np.zeros(n_columns), np.ones(n_columns)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
        if counts is None:
            mean = rows.mean(axis=0, dtype=np.float64)
            scale = rows.std(axis=0, dtype=np.float64)
        else:
            weights = counts / counts.sum()
            mean = weights @ rows.astype(np.float64, copy=False)
            scale = np.sqrt(weights @ np.square(rows - mean))
    scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
    if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
        raise ValueError(
            f"{name} holds values too large to standardise: their mean or standard "
            f"deviation overflows float64. Rescale {name} before fitting."
        )
    return mean, scale


def _ndim(values):
    """The number of dimensions of ``values``, or -1 for a ragged nesting."""
    try:
        return np.ndim(values)
    except ValueError:
        return -1


def validate_sample_weight(sample_weight, sequences, *, per_step):
    """``sample_weight`` checked and scaled to a mean of 1; None when it weighs
    every sample alike (None, or equal weights).

    Parameters
    ----------
    sample_weight : array-like, list of arrays or None
        A weight per sample, of shape (n_samples,); with ``per_step``, also a
        weight per time step: of shape (n_samples, n_timesteps) for sequences
        of one length, a list of arrays (n_timesteps_i,) for any lengths.
    sequences : DenseSequences, SeriesWindows or RaggedSequences
    per_step : bool
        Whether the targets are per time step (``return_sequences=True``).

    Returns
    -------
    weights : ndarray of shape (n_samples,), or per step (n_samples,
        n_timesteps), or (total_timesteps,) end to end for ragged sequences;
        or None.
    """
    if sample_weight is None:
        return None
    n_samples = len(sequences)
    ragged = isinstance(sequences, RaggedSequences)
    steps = None
    listed = isinstance(sample_weight, (list, tuple)) and any(np.ndim(w) for w in sample_weight)
    if per_step and not np.isscalar(sample_weight):
        total = len(sequences.values) if ragged else None
        if ragged and listed and len(sample_weight) == n_samples:
            lengths = [len(w) for w in sample_weight]
            if lengths != sequences.lengths.tolist():
                raise ValueError(
                    "sample_weight per time step must have a weight for every step of "
                    "every sequence: one array per sequence, as long as it."
                )
            steps = np.concatenate([np.asarray(w, dtype=np.float64) for w in sample_weight])
        elif ragged and not listed and _ndim(sample_weight) == 1 and len(sample_weight) == total:
            # One weight per time step, end to end, as a long frame's y is laid out.
            steps = np.asarray(sample_weight, dtype=np.float64)
        elif not ragged and _ndim(sample_weight) == 2:
            steps = np.asarray(sample_weight, dtype=np.float64)
            expected = (n_samples, sequences.n_timesteps)
            if steps.shape != expected:
                raise ValueError(
                    f"sample_weight per time step must have shape {expected} (a weight "
                    f"per sample and step), got {steps.shape}."
                )
    if steps is not None:
        weights = _check_sample_weight(
            steps.ravel(), np.empty((steps.size, 0)), dtype=np.float64, ensure_non_negative=True
        ).reshape(steps.shape)
    else:
        weights = _check_sample_weight(
            sample_weight,
            np.empty((n_samples, 0)),
            dtype=np.float64,
            ensure_non_negative=True,
        )
    if np.all(weights == weights.flat[0]):
        return None
    return weights / weights.mean()


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
    if not isinstance(X, np.ndarray):
        return None
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


def from_channels_first(X):
    """Convert sktime/aeon ``(n_samples, n_channels, n_timepoints)`` data to this package's layout.

    sktime's and aeon's ``numpy3D`` format puts the channels before the time
    points; the estimators here take time steps before features (batch first,
    as PyTorch's ``batch_first=True`` and Keras do). The two layouts cannot be
    told apart from the shape alone, so the conversion is explicit.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_channels, n_timepoints)
        Sequences in the channels-first layout.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timepoints, n_channels)
        A view of ``X`` (no copy) with the last two axes swapped.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import from_channels_first
    >>> from_channels_first(np.zeros((10, 3, 150))).shape
    (10, 150, 3)
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            f"from_channels_first expects a 3D array (n_samples, n_channels, n_timepoints); "
            f"got {X.ndim} dimensions."
        )
    return np.swapaxes(X, 1, 2)


def from_lag_rows(X, n_channels):
    """Turn rows of lags, laid out channel by channel, into sequences.

    sktime's ``make_reduction`` with exogenous ``X`` hands a tabular regressor
    rows ``[y lags, X_1 lags, ..., X_k lags]``, each block in time order.
    Read as this package's 2D layout, such a row would be one univariate
    sequence ``(k + 1) * window_length`` steps long; this helper makes it a
    sequence of ``window_length`` steps with ``k + 1`` features. Use it in
    front of a regressor, ``make_pipeline(FunctionTransformer(from_lag_rows,
    kw_args={"n_channels": k + 1}), LSTMRegressor())``. The layout cannot be
    told from the rows alone, so the conversion is explicit.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_channels * n_lags)
        Rows of lags, channel-major: the first ``n_lags`` columns are the
        first channel's lags, oldest first, and so on.
    n_channels : int
        Number of channels (the target and its exogenous series).

    Returns
    -------
    X : ndarray of shape (n_samples, n_lags, n_channels)
        A view of ``X`` where it can be one.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import from_lag_rows
    >>> rows = np.array([[1, 2, 3, 10, 20, 30]])   # y lags 1, 2, 3; X lags 10, 20, 30
    >>> from_lag_rows(rows, n_channels=2)[0].tolist()
    [[1, 10], [2, 20], [3, 30]]
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"from_lag_rows expects a 2D array (n_samples, n_channels * n_lags); got "
            f"{X.ndim} dimensions."
        )
    if not isinstance(n_channels, (int, np.integer)) or n_channels < 1:
        raise ValueError(f"n_channels must be a positive int, got {n_channels!r}.")
    if X.shape[1] % n_channels:
        raise ValueError(
            f"X has {X.shape[1]} columns, which do not split into {n_channels} channels "
            "of equal numbers of lags."
        )
    return np.swapaxes(X.reshape(X.shape[0], n_channels, -1), 1, 2)
