"""Windowing of time series: ``make_windows`` and ``SlidingWindowTransformer``.

Windows are strided NumPy views of the series, never copies: a million windows
of 64 steps cost no more memory than the series itself. The estimators
recognise such views and gather each batch's windows from the series.
"""

from numbers import Integral

import sys

import joblib
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._data import FLOAT_DTYPES, contiguous_groups
from ._panel import Windows


def _check_size(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _column_positions(selection, columns, name):
    """Positions of the selected columns, and whether a single column was named."""
    if selection is None:
        return list(range(len(columns))), False
    single = np.isscalar(selection)
    labels = [selection] if single else list(selection)
    if not labels:
        raise ValueError(f"{name} selects no column.")
    positions = []
    for label in labels:
        if label in columns:
            positions.append(columns.index(label))
        elif isinstance(label, Integral) and -len(columns) <= label < len(columns):
            positions.append(int(label) % len(columns))
        else:
            raise ValueError(f"{name}: {label!r} is not a column of the series {columns}.")
    return positions, single


def _select_columns(values, positions):
    """The columns at ``positions``: a view when they are evenly spaced, else a copy."""
    gaps = np.diff(positions)
    if len(positions) == 1 or (gaps[0] > 0 and (gaps == gaps[0]).all()):
        stride = int(gaps[0]) if len(positions) > 1 else 1
        return values[:, positions[0] : positions[-1] + 1 : stride]
    return values[:, positions]


def _as_float_table(series):
    """A 2D float array view of ``series``, its column labels and its index."""
    index = None
    # pandas is only imported by callers that pass pandas objects: no import cost here.
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(series, pd.Series):
        columns = [series.name if series.name is not None else 0]
        index = series.index
        values = series.to_numpy()[:, np.newaxis]
    elif pd is not None and isinstance(series, pd.DataFrame):
        columns = list(series.columns)
        index = series.index
        values = series.to_numpy()
    else:
        values = np.asarray(series)
        if values.ndim == 1:
            values = values[:, np.newaxis]
        if values.ndim != 2:
            raise ValueError(
                f"series must be 1D (n_timesteps,) or 2D (n_timesteps, n_columns); got "
                f"an array of shape {values.shape}."
            )
        columns = list(range(values.shape[1]))
    if values.dtype.kind in "iub":
        values = values.astype(np.float64)
    elif values.dtype.kind != "f":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"series must hold numbers; got values of dtype {values.dtype} that are "
                "not numeric."
            ) from exc
    return values, columns, index


def _check_finite(values, what):
    finite = np.isfinite(values)
    if not finite.all():
        row = int(np.argwhere(~finite)[0][0])
        raise ValueError(
            f"{what} contains NaN or infinite values (first at row {row}). Fill or drop "
            "missing values before windowing."
        )


def _series_bounds(index):
    """Codes, labels and first rows of the series of a (series, time) index.

    With more levels (sktime's hierarchical frames), a series is identified by
    every level but the last, its label a tuple.
    """
    ids = index.get_level_values(0) if index.nlevels == 2 else index.droplevel(-1)
    codes, labels, firsts = contiguous_groups(
        ids,
        "series is a long DataFrame indexed by (series, time), but the rows of a "
        "series are not contiguous. Sort it first: series.sort_index().",
    )
    ends = np.append(firsts[1:], len(codes))
    times = index.get_level_values(-1)
    later = np.asarray(times[1:] > times[:-1]) | (np.diff(codes) != 0)
    if not later.all():
        row = int(np.argmin(later)) + 1
        raise ValueError(
            f"series is a long DataFrame indexed by (series, time), but the rows of "
            f"series {labels[codes[row]]!r} are not in increasing time order (row "
            f"{row}, time {times[row]!r}). Sort it first: series.sort_index()."
        )
    return codes, np.asarray(labels, dtype=object), firsts, ends


def _panel_index(X):
    """The (series, time) index of a panel DataFrame, else None."""
    index = getattr(X, "index", None)
    if hasattr(X, "iloc") and getattr(index, "nlevels", 1) >= 2:
        return index
    return None


def _read_only(values):
    view = values.view()
    view.flags.writeable = False
    return view


def _target_features(target_positions, feature_positions):
    """Positions among the features of the target columns; () if one is not a feature."""
    if not set(target_positions) <= set(feature_positions):
        return ()
    return tuple(feature_positions.index(p) for p in target_positions)


def _shape_targets(y, one_target, horizon):
    """``y`` of shape (n, horizon, n_targets) in ``make_windows``' documented layout."""
    if one_target:
        return y[:, :, 0] if horizon > 1 else y[:, 0, 0]
    return y[:, 0, :] if horizon == 1 else y.reshape(len(y), -1)


def _target_labels(names, one_target, horizon):
    if horizon == 1:
        return names
    if one_target:
        return [f"{names[0]}(t+{h})" for h in range(1, horizon + 1)]
    return [f"{name}(t+{h})" for h in range(1, horizon + 1) for name in names]


def make_windows(
    series, window_size, horizon=1, step=1, *, targets=None, features=None, future=None
):
    """Cut a time series, or a panel of them, into (window -> following values) samples.

    Window ``k`` holds rows ``[k * step, k * step + window_size)`` of the
    ``features`` columns; its target is the ``horizon`` rows of the
    ``targets`` columns that follow it. A window never contains its own target
    or anything after it.

    A long DataFrame indexed by (series, time), sktime's pd-multiindex or
    neuralforecast's long format with ``set_index(["unique_id", "ds"])``, is a
    panel: each series is windowed on its own, so no window crosses from one
    series into the next, and series too short for one window give none.

    Parameters
    ----------
    series : array-like of shape (n_timesteps,) or (n_timesteps, n_columns), \
            pandas Series or DataFrame
        The series, oldest row first; or a panel, a DataFrame with a
        two-level (series, time) index whose rows of a series are contiguous
        and in time order.
    window_size : int
        Number of time steps per window.
    horizon : int, default=1
        Number of steps ahead to predict; ``horizon > 1`` gives a target per
        step, to train one model for all steps (direct multi-output).
    step : int, default=1
        Distance between the starts of consecutive windows of a series.
    targets : column label, int, list of them, or None, default=None
        The columns to predict (labels for a DataFrame, positions otherwise).
        None means every column.
    features : list of column labels or ints, or None, default=None
        The columns windows are made of. None means every column. Columns
        that are features but not targets are exogenous inputs.
    future : column label, int, list of them, or None, default=None
        Columns known in advance (calendar, promotions, planned prices): each
        window is paired with their values at its ``horizon`` target steps,
        which the regressors read beside the window (the decoders step by
        step). They may also be features. Only rows after the window and up
        to its last target are paired, so nothing later can leak in.

    Returns
    -------
    X : ndarray of shape (n_windows, window_size, n_features), or Windows
        The windows. For one series without ``future``: a read-only strided
        view of the series where the feature columns allow it (all columns, or
        an evenly spaced run of them), else a view of a copy of those columns
        (memory of the series, not of the windows). For a panel or with
        ``future``: a :class:`Windows`, which holds the rows once and where
        each window starts, and behaves as that array (``X.future`` gives the
        known futures, of shape (n_windows, horizon, n_future); ``X.series``
        each window's series). A panel's windows are ordered by the time of
        their first target, then by series, so that the last windows are the
        most recent (as ``TimeSeriesSplit`` and the regressors' early stopping
        expect).
    y : ndarray, Series or DataFrame
        Shape (n_windows,) for one target column named as a scalar (or a
        single-column series) and ``horizon=1``; (n_windows, horizon) for one
        target and several steps; (n_windows, n_targets) for several targets
        and one step; (n_windows, horizon * n_targets) otherwise, step by step
        (all targets at t+1, then all at t+2, ...). For pandas input, ``y`` is
        a Series or DataFrame indexed by the time of each window's first target
        (by (series, time) for a panel).

    See Also
    --------
    make_forecast_windows : The last window of each series, to forecast what
        follows the data.

    Notes
    -----
    To forecast the ``horizon`` steps after the end of the data, fit on these
    windows and predict from the last ``window_size`` rows of each series:
    :func:`make_forecast_windows`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import make_windows
    >>> X, y = make_windows(np.arange(6.0), window_size=3)
    >>> X[:, :, 0]
    array([[0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> y
    array([3., 4., 5.])
    >>> X, y = make_windows(np.arange(6.0), window_size=3, horizon=2)
    >>> y
    array([[3., 4.],
           [4., 5.]])
    """
    window_size = _check_size(window_size, "window_size")
    horizon = _check_size(horizon, "horizon")
    step = _check_size(step, "step")
    values, columns, index = _as_float_table(series)
    panel = index is not None and index.nlevels > 1
    target_positions, single_target = _column_positions(targets, columns, "targets")
    feature_positions, _ = _column_positions(features, columns, "features")
    feature_values = _select_columns(values, feature_positions)
    target_values = _select_columns(values, target_positions)
    _check_finite(feature_values, "series")
    _check_finite(target_values, "series")
    future_values = None
    if future is not None:
        future_positions, _ = _column_positions(future, columns, "future")
        leaked = [columns[p] for p in future_positions if p in target_positions]
        if leaked:
            raise ValueError(
                f"future columns {leaked} are also targets: their future values are "
                "what the model is to forecast. Known-future columns must be inputs "
                "known in advance (calendar, planned prices), not targets."
            )
        future_values = _read_only(np.ascontiguousarray(values[:, future_positions]))
        _check_finite(future_values, "series")
    one_target = single_target or (targets is None and len(columns) == 1)
    names = [columns[p] for p in target_positions]

    if not panel and future is None:
        n_timesteps = values.shape[0]
        if n_timesteps < window_size + horizon:
            raise ValueError(
                f"window_size={window_size} and horizon={horizon} need a series of at "
                f"least {window_size + horizon} time steps; this one has {n_timesteps}."
            )
        n_windows = (n_timesteps - window_size - horizon) // step + 1
        windows = np.lib.stride_tricks.sliding_window_view(feature_values, window_size, axis=0)
        X = windows[: (n_windows - 1) * step + 1 : step].transpose(0, 2, 1)
        ahead = np.lib.stride_tricks.sliding_window_view(
            target_values[window_size:], horizon, axis=0
        )
        y = ahead[: (n_windows - 1) * step + 1 : step].transpose(0, 2, 1)
        y = _shape_targets(y, one_target, horizon)
        target_index = None if index is None else index[window_size : window_size + (n_windows - 1) * step + 1 : step]
    else:
        if panel:
            row_codes, labels, firsts, ends = _series_bounds(index)
        else:
            row_codes, labels = None, None
            firsts, ends = np.array([0]), np.array([values.shape[0]])
        counts = np.maximum((ends - firsts - window_size - horizon) // step + 1, 0)
        if counts.sum() == 0:
            raise ValueError(
                f"window_size={window_size} and horizon={horizon} need a series of at "
                f"least {window_size + horizon} time steps; the longest here has "
                f"{int((ends - firsts).max())}."
            )
        starts = np.concatenate(
            [first + step * np.arange(count) for first, count in zip(firsts, counts)]
        )
        if panel:
            # Time-major: the last windows are the most recent of every series.
            times = index.get_level_values(-1)[starts + window_size]
            time_rank = _time_rank(times)
            starts = starts[np.lexsort((row_codes[starts], time_rank))]
        ahead = starts[:, np.newaxis] + window_size + np.arange(horizon)
        y = _shape_targets(target_values[ahead], one_target, horizon)
        X = Windows(
            _read_only(feature_values),
            starts,
            window_size,
            row_series=row_codes,
            series_labels=labels,
            future_values=future_values,
            horizon=horizon if future is not None else None,
            target_features=_target_features(target_positions, feature_positions),
            feature_names=[columns[p] for p in feature_positions],
        )
        target_index = None
        if index is not None:
            target_index = index[starts + window_size]
    if target_index is None:
        return X, y
    import pandas as pd

    if y.ndim == 1:
        return X, pd.Series(y, index=target_index, name=names[0], copy=False)
    labels = _target_labels(names, one_target, horizon)
    return X, pd.DataFrame(y, index=target_index, columns=labels, copy=False)


def _time_rank(values):
    """Rank of each value among the sorted distinct values (times of any kind)."""
    import pandas as pd

    return pd.factorize(values, sort=True)[0]


def make_forecast_windows(series, window_size, horizon=1, *, features=None, future=None):
    """The last window of each series, to forecast the steps that follow the data.

    Without ``future``, the window of each series is its last
    ``window_size`` rows. With ``future``, the last ``horizon`` rows of each
    series are the periods to forecast: they hold the known-future columns
    (their other columns are ignored and may be NaN), and the window is the
    ``window_size`` rows before them.

    Parameters
    ----------
    series : array-like, pandas Series or DataFrame
        One series or a panel, laid out as for :func:`make_windows`.
    window_size : int
        Time steps per window, as the model was trained with.
    horizon : int, default=1
        Steps to forecast; with ``future``, the rows at the end of each series
        that are the forecast periods.
    features : list of column labels or ints, or None, default=None
        The columns windows are made of, as in :func:`make_windows`.
    future : column label, int, list of them, or None, default=None
        The known-future columns, as in :func:`make_windows`.

    Returns
    -------
    X : ndarray of shape (1, window_size, n_features), or Windows
        One window per series: a view of the series' last rows for one series
        without ``future``, else a :class:`Windows` (in series order), whose
        ``series`` names the series.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import make_forecast_windows
    >>> make_forecast_windows(np.arange(6.0), window_size=3)[:, :, 0]
    array([[3., 4., 5.]])
    """
    window_size = _check_size(window_size, "window_size")
    horizon = _check_size(horizon, "horizon")
    values, columns, index = _as_float_table(series)
    panel = index is not None and index.nlevels > 1
    feature_positions, _ = _column_positions(features, columns, "features")
    n_after = horizon if future is not None else 0
    if panel:
        row_codes, labels, firsts, ends = _series_bounds(index)
    else:
        row_codes, labels = None, None
        firsts, ends = np.array([0]), np.array([values.shape[0]])
    short = (ends - firsts) < window_size + n_after
    if short.any():
        which = "" if labels is None else f" (series {labels[np.argmax(short)]!r})"
        raise ValueError(
            f"window_size={window_size}{' and horizon=' + str(horizon) + ' future rows' if n_after else ''} "
            f"need at least {window_size + n_after} rows per series; a series{which} has "
            f"{int((ends - firsts)[np.argmax(short)])}."
        )
    # The rows each window reads, and the future rows after it, end to end.
    rows = np.concatenate(
        [np.arange(end - n_after - window_size, end) for end in ends]
    )
    feature_values = _select_columns(values, feature_positions)[rows]
    n_rows = window_size + n_after
    read = np.tile(np.arange(n_rows) < window_size, len(ends))
    _check_finite(feature_values[read], "series")
    feature_values[~read] = 0.0  # the periods to forecast: never read as inputs
    if not panel and future is None:
        return _read_only(feature_values)[np.newaxis]
    future_values = None
    if future is not None:
        future_positions, _ = _column_positions(future, columns, "future")
        future_values = np.ascontiguousarray(values[rows][:, future_positions])
        future_values[read] = 0.0  # the windows' own rows: never read as future
        _check_finite(future_values, "series")
        future_values = _read_only(future_values)
    return Windows(
        _read_only(feature_values),
        np.arange(len(ends)) * n_rows,
        window_size,
        row_series=None if row_codes is None else np.repeat(np.arange(len(ends)), n_rows),
        series_labels=labels,
        future_values=future_values,
        horizon=horizon if future is not None else None,
        feature_names=[columns[p] for p in feature_positions],
    )


class SlidingWindowTransformer(TransformerMixin, BaseEstimator):
    """Turn an ordered table of rows into one window per row, for Pipelines.

    Row ``t`` becomes the window of rows ``t - window_size + 1`` to ``t``, so
    the output has as many samples as the input and ``y`` stays aligned:
    ``make_pipeline(StandardScaler(), SlidingWindowTransformer(24),
    LSTMRegressor())`` fits, predicts, cross-validates with
    ``TimeSeriesSplit`` and grid-searches
    ``slidingwindowtransformer__window_size``.

    The first rows lack a full past. In ``fit_transform`` (and ``transform`` of
    the data the transformer was fitted on) their windows are padded at the
    start as ``padding`` says. ``transform`` of any other data treats it as the
    rows that follow the fitted rows, so their windows reach back into the
    last ``window_size - 1`` fitted rows: predicting the periods after the
    training data uses the training data as history, as a forecast should. Set
    ``use_fit_history=False`` to pad instead.

    A panel, a DataFrame indexed by (series, time) whose rows of a series are
    contiguous, is windowed series by series: no window reaches into another
    series, each series' first rows are padded, and ``transform`` of new rows
    continues each series from its own fitted rows (a series not seen in
    ``fit`` is padded). The output is then a :class:`Windows`, one window per
    row in the input's order, which the estimators of this package read
    directly (scaling each window by its own statistics; ``y`` is scaled as
    a whole unless ``scale_targets`` says otherwise, since the windows do not
    say which feature it is).

    Parameters
    ----------
    window_size : int, default=10
        Number of rows per window.
    padding : {"edge", "zeros"}, default="edge"
        How windows that reach before the first available row are filled:
        with copies of that row, or with zeros.
    use_fit_history : bool, default=True
        Whether ``transform`` of new data continues from the fitted rows.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    history_ : ndarray of shape (min(window_size - 1, n_rows), n_features_in_), or dict
        The last fitted rows, the past of the rows that follow them; for a
        panel, a dict of those of each series.

    Notes
    -----
    The output is a read-only strided view of shape (n_rows, window_size,
    n_features): its memory is that of the (padded) table, and the recurrent
    estimators of this package gather batches from it without copying every
    window. Because a window depends on the rows before it, transforming a
    subset or a reordering of rows is not the same as subsetting or reordering
    the transformed rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import SlidingWindowTransformer
    >>> rows = np.arange(5.0).reshape(-1, 1)
    >>> SlidingWindowTransformer(3).fit_transform(rows)[:, :, 0]
    array([[0., 0., 0.],
           [0., 0., 1.],
           [0., 1., 2.],
           [1., 2., 3.],
           [2., 3., 4.]])
    >>> SlidingWindowTransformer(3).fit(rows).transform(np.array([[5.0], [6.0]]))[:, :, 0]
    array([[3., 4., 5.],
           [4., 5., 6.]])
    """

    _parameter_constraints: dict = {
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"edge", "zeros"})],
        "use_fit_history": ["boolean"],
    }

    def __init__(self, window_size=10, *, padding="edge", use_fit_history=True):
        self.window_size = window_size
        self.padding = padding
        self.use_fit_history = use_fit_history

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Remember the last rows of ``X`` as the past of the rows that follow.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Ordered rows, oldest first.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        panel = _panel_index(X)
        X = validate_data(self, X, dtype=FLOAT_DTYPES)
        if panel is None:
            self.history_ = self._last_rows(X)
        else:
            _, labels, firsts, ends = _series_bounds(panel)
            self.history_ = {
                label: self._last_rows(X[first:end])
                for label, first, end in zip(labels, firsts, ends)
            }
        self._fit_fingerprint = (X.shape, X.dtype.str, joblib.hash(X))
        return self

    def _last_rows(self, X):
        return X[X.shape[0] - min(self.window_size - 1, X.shape[0]) :].copy()

    def _padded(self, past, rows):
        """``past`` then ``rows``, padded at the start to a full window's past."""
        n_missing = self.window_size - 1 - len(past)
        if n_missing:
            first = past[:1] if len(past) else rows[:1]
            fill = np.repeat(first, n_missing, axis=0)
            if self.padding == "zeros":
                fill = np.zeros_like(fill)
            past = np.concatenate([fill, past])
        return np.concatenate([past, rows])

    def transform(self, X):
        """Window every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Ordered rows: the fitted rows, or rows that follow them.

        Returns
        -------
        windows : ndarray of shape (n_rows, window_size, n_features)
            Row ``t``'s window, ending with row ``t``; a read-only view.
        """
        check_is_fitted(self)
        panel = _panel_index(X)
        X = validate_data(self, X, dtype=FLOAT_DTYPES, reset=False)
        is_fitted_data = (X.shape, X.dtype.str) == self._fit_fingerprint[:2] and (
            joblib.hash(X) == self._fit_fingerprint[2]
        )
        continues = self.use_fit_history and not is_fitted_data
        fitted_panel = isinstance(self.history_, dict)
        if (panel is not None) != fitted_panel:
            raise ValueError(
                f"The transformer was fitted on {'a panel' if fitted_panel else 'one series'} "
                f"but X is {'a panel' if panel is not None else 'one series'} "
                "(a DataFrame indexed by (series, time) is a panel). Fit and transform "
                "the same kind of data."
            )
        if panel is None:
            past = self.history_.astype(X.dtype, copy=False) if continues else X[:0]
            rows = self._padded(past, X)
            windows = np.lib.stride_tricks.sliding_window_view(rows, self.window_size, axis=0)
            return windows.transpose(0, 2, 1)
        _, labels, firsts, ends = _series_bounds(panel)
        pieces, starts, row_series = [], [], []
        n_rows = 0
        for code, (label, first, end) in enumerate(zip(labels, firsts, ends)):
            past = self.history_.get(label) if continues else None
            past = X[:0] if past is None else past.astype(X.dtype, copy=False)
            piece = self._padded(past, X[first:end])
            starts.append(n_rows + np.arange(end - first))
            row_series.append(np.full(len(piece), code))
            pieces.append(piece)
            n_rows += len(piece)
        return Windows(
            _read_only(np.concatenate(pieces)),
            np.concatenate(starts),
            self.window_size,
            row_series=np.concatenate(row_series),
            series_labels=labels,
            feature_names=list(getattr(self, "feature_names_in_", range(X.shape[1]))),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
