"""``Windows``: windows over one or many series, held as the rows and where each window starts.

What ``make_windows`` returns for a panel of series (a long DataFrame indexed by
(series, time)) or with known-future columns: windows of several series cannot
be one strided view, so they are kept as the series' rows end to end and the
row each window starts at. The estimators gather each batch's windows from the
rows; memory grows with the total length of the series, not with windows x
window size.
"""

import copy
from numbers import Integral

import numpy as np


class Windows:
    """Windows over one or many series, and the known future that follows each.

    Window ``k`` is ``values[starts[k] : starts[k] + window_size]``. With
    known-future columns, its future is ``future_values[starts[k] + window_size
    : starts[k] + window_size + horizon]``: the values, at the ``horizon``
    forecast steps, of columns known in advance (calendar, planned prices).
    Built by :func:`~sklearn_rnn.make_windows` and
    :func:`~sklearn_rnn.make_forecast_windows`; pass it as ``X`` to any
    estimator of this package.

    It behaves as a read-only array of shape (n_windows, window_size,
    n_features) where scikit-learn needs one: ``len``, ``shape``, indexing
    samples (``X[train_index]`` in cross-validation gives the ``Windows`` of
    those samples), and ``np.asarray(X)``, which gathers every window into a
    new array (without the future).

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_features)
        The rows of every series, end to end, oldest first within a series.
    starts : ndarray of shape (n_windows,)
        The row each window starts at.
    window_size : int
        Time steps per window.
    row_series : ndarray of shape (n_rows,) or None, default=None
        Position in ``series_labels`` of each row's series; None for one series.
    series_labels : ndarray of shape (n_series,) or None, default=None
        The label of each series.
    future_values : ndarray of shape (n_rows, n_future) or None, default=None
        Known-future columns, row for row with ``values``.
    horizon : int or None, default=None
        Forecast steps each window's future spans; with ``future_values``.
    target_features : tuple of int or None, default=None
        Positions among the features of the columns the targets are made of,
        in the targets' order; ``()`` when a target is not a feature, None
        when unknown.
    feature_names : list or None, default=None
        The feature columns' labels.

    Attributes
    ----------
    shape : tuple (n_windows, window_size, n_features)
    series : ndarray of shape (n_windows,) or None
        The label of each window's series (None for one unlabelled series).
    future : ndarray of shape (n_windows, horizon, n_future) or None
        Each window's known future, gathered (a copy).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_rnn import make_windows
    >>> panel = pd.DataFrame(
    ...     {"sales": [1.0, 2, 3, 4, 10, 20, 30]},
    ...     index=pd.MultiIndex.from_tuples(
    ...         [("a", t) for t in range(4)] + [("b", t) for t in range(3)],
    ...         names=["store", "week"],
    ...     ),
    ... )
    >>> X, y = make_windows(panel, window_size=2)
    >>> X
    Windows(n_windows=3, window_size=2, n_features=1, n_series=2)
    >>> X.series.tolist(), y.tolist()
    (['a', 'b', 'a'], [3.0, 30.0, 4.0])
    >>> np.asarray(X)[:, :, 0]
    array([[ 1.,  2.],
           [10., 20.],
           [ 2.,  3.]])
    """

    # scikit-learn's indexing helpers and NumPy treat this as an array-like,
    # not as a scalar, and NumPy defers binary operations to it.
    __array_priority__ = 1

    def __init__(
        self,
        values,
        starts,
        window_size,
        *,
        row_series=None,
        series_labels=None,
        future_values=None,
        horizon=None,
        target_features=None,
        feature_names=None,
    ):
        self.values = values
        self.starts = np.asarray(starts, dtype=np.int64)
        self.window_size = int(window_size)
        self.row_series = row_series
        self.series_labels = series_labels
        self.future_values = future_values
        self.horizon = horizon
        self.target_features = target_features
        self.feature_names = feature_names

    @property
    def shape(self):
        return (len(self.starts), self.window_size, self.values.shape[1])

    @property
    def ndim(self):
        return 3

    @property
    def dtype(self):
        return self.values.dtype

    @property
    def n_future(self):
        """Known-future columns per step (0 without)."""
        return 0 if self.future_values is None else self.future_values.shape[1]

    @property
    def window_series(self):
        """Position in ``series_labels`` of each window's series, or None."""
        return None if self.row_series is None else self.row_series[self.starts]

    @property
    def series(self):
        codes = self.window_series
        return None if codes is None else self.series_labels[codes]

    @property
    def future(self):
        if self.future_values is None:
            return None
        rows = self.starts[:, np.newaxis] + self.window_size + np.arange(self.horizon)
        return self.future_values[rows]

    def __len__(self):
        return len(self.starts)

    def _with_starts(self, starts):
        subset = copy.copy(self)  # the same rows, other windows
        subset.starts = np.asarray(starts, dtype=np.int64)
        return subset

    def __getitem__(self, key):
        if isinstance(key, tuple):
            if all(k is Ellipsis or (isinstance(k, slice) and k == slice(None)) for k in key[1:]):
                return self[key[0]]
            return np.asarray(self)[key]
        if isinstance(key, Integral):
            start = self.starts[key]
            return self.values[start : start + self.window_size]
        return self._with_starts(self.starts[key])

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("Windows cannot be viewed as one array without a copy.")
        rows = self.starts[:, np.newaxis] + np.arange(self.window_size)
        windows = self.values[rows]
        return windows if dtype is None else windows.astype(dtype, copy=False)

    def __repr__(self):
        parts = [
            f"n_windows={len(self)}",
            f"window_size={self.window_size}",
            f"n_features={self.shape[2]}",
        ]
        if self.series_labels is not None:
            parts.append(f"n_series={len(self.series_labels)}")
        if self.future_values is not None:
            parts.append(f"horizon={self.horizon}, n_future={self.n_future}")
        return f"Windows({', '.join(parts)})"
