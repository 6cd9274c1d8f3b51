"""Scaling by series and by window: which applies, and their statistics.

``scale_inputs`` and the regressors' ``scale_targets`` standardise with one
mean and scale per feature (True), per series of a panel ("series": the
series' own rows), or per window ("window": each window relative to its last
value, in units of its own standard deviation, as RevIN and neuralforecast's
temporal scalers do). "auto" picks "window" for a panel and one scaling per
feature otherwise. Everything here is NumPy on the validated sequences.
"""

import numpy as np

from ._data import DenseSequences, RaggedSequences, standardisation

# A window's scale is at least this fraction of its series' standard deviation,
# so that a flat window (a run of zeros, a plateau) is not blown up.
WINDOW_SCALE_FLOOR = 0.1

BY_SERIES = ("series", "window")


def resolved_scaling(scale_inputs, scale_targets, sequences):
    """What ``"auto"`` means for these sequences: ``{"inputs": ..., "targets": ...}``.

    A panel of windows is scaled by window, its targets too when the scaling of
    their columns is known (``target_columns``); anything else keeps one
    scaling per feature. ``scale_targets`` None (no numeric targets) stays None.
    """
    panel = getattr(sequences, "row_series", None) is not None
    inputs = scale_inputs
    if scale_inputs == "auto":
        inputs = "window" if panel else True
    targets = scale_targets
    if scale_targets == "auto":
        targets = "window" if panel and target_columns(sequences) is not None else True
    return {"inputs": inputs, "targets": targets}


def target_columns(sequences, fitted=None):
    """Positions among the features of the targets' columns, or None if unknown.

    Windows from ``make_windows`` say it; windows that do not (those of
    ``make_forecast_windows``) take the columns of fit; a single feature is the target.
    """
    known = getattr(sequences, "target_features", None)
    if known is not None:
        return tuple(known) or None  # () : a target is not a feature
    if fitted is not None:
        return tuple(fitted)
    if sequences.n_features == 1:
        return (0,)
    return None


def series_statistics(sequences, weights=None):
    """Each series' mean and scale of the rows its windows read.

    Rows count once per window holding them (by ``weights``, as
    ``standardisation`` counts them). Input that is not a panel of windows is
    one series, labelled None; series with no window are left out.

    Returns
    -------
    labels : ndarray of shape (n_series,), object
    mean, scale : ndarrays of shape (n_series, n_features)
    """
    rows, counts = sequences.timestep_rows(weights)
    codes = getattr(sequences, "row_series", None)
    if codes is None:
        mean, scale = standardisation(rows, counts, enabled=True, name="X")
        return np.array([None], dtype=object), mean[np.newaxis], scale[np.newaxis]
    labels = sequences.series_labels
    counts = np.ones(len(rows)) if counts is None else counts
    total = np.bincount(codes, weights=counts, minlength=len(labels))
    keep = total > 0
    total = np.where(keep, total, 1.0)

    def per_series(values):
        sums = [np.bincount(codes, weights=counts * column, minlength=len(labels)) for column in values.T]
        return np.stack(sums, axis=1) / total[:, np.newaxis]

    read = counts[:, np.newaxis] > 0
    with np.errstate(over="ignore", invalid="ignore"):
        rows = rows.astype(np.float64, copy=False)
        mean = per_series(np.where(read, rows, 0.0))
        scale = np.sqrt(per_series(np.where(read, np.square(rows - mean[codes]), 0.0)))
    if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
        raise ValueError(
            "X holds values too large to standardise: a series' mean or standard "
            "deviation overflows float64. Rescale X before fitting."
        )
    # A flat series is centred, not divided by zero; relative to its level, so
    # that a flat series of large values is not blown up by rounding.
    scale[scale < 1e-8 * np.maximum(np.abs(mean), 1.0)] = 1.0
    return labels[keep], mean[keep], scale[keep]


def _sample_rows(sequences):
    """The rows of every sample end to end, and where each sample starts and ends."""
    if isinstance(sequences, DenseSequences):
        n_samples, n_steps, n_features = sequences.values.shape
        starts = np.arange(n_samples) * n_steps
        return sequences.values.reshape(-1, n_features), starts, starts + n_steps
    if isinstance(sequences, RaggedSequences):
        return sequences.values, sequences.offsets, sequences.offsets + sequences.lengths
    return sequences.series, sequences.starts, sequences.starts + sequences.n_timesteps


def window_statistics(sequences, row_centre, sample_spread):
    """Each sample's last value and floored standard deviation per feature.

    Parameters
    ----------
    sequences : DenseSequences, SeriesWindows or RaggedSequences
    row_centre : ndarray of shape (n_features,) or (n_rows, n_features)
        A centre of each row's series, subtracted before the sums of squares
        so that they do not lose the spread of series far from zero.
    sample_spread : ndarray of shape (n_samples, n_features)
        The standard deviation of each sample's series, which floors its scale.

    Returns
    -------
    offset, scale : ndarrays of shape (n_samples, n_features)
    """
    rows, starts, ends = _sample_rows(sequences)
    centred = rows.astype(np.float64) - row_centre
    zero = np.zeros((1, rows.shape[1]))
    sums = np.concatenate([zero, np.cumsum(centred, axis=0)])
    squares = np.concatenate([zero, np.cumsum(np.square(centred), axis=0)])
    lengths = (ends - starts)[:, np.newaxis]
    mean = (sums[ends] - sums[starts]) / lengths
    variance = np.maximum((squares[ends] - squares[starts]) / lengths - np.square(mean), 0.0)
    offset = rows[ends - 1].astype(np.float64)
    scale = np.sqrt(variance + np.square(WINDOW_SCALE_FLOOR * sample_spread))
    return offset, scale
