"""Scaling by series and by window: which applies, and their statistics.

``scale_inputs`` and the regressors' ``scale_targets`` standardise with one
mean and scale per feature (True), per series of a panel ("series": the
series' own rows), or per window ("window": each window relative to its last
value, in units of its own standard deviation, as RevIN and neuralforecast's
temporal scalers do). "auto" picks "window" for a panel and one scaling per
feature otherwise. Everything here is NumPy on the validated sequences.
"""

from typing import NamedTuple

import numpy as np

from ._data import DenseSequences, RaggedSequences, standardisation

# A window's scale is at least this fraction of its series' standard deviation,
# so that a flat window (a run of zeros, a plateau) is not blown up.
WINDOW_SCALE_FLOOR = 0.1

BY_SERIES = ("series", "window")


def resolved_scaling(scale_inputs, scale_targets, sequences):
    """What ``"auto"`` means for these sequences: ``{"inputs": ..., "targets": ...}``.

    A panel of windows is scaled by window, its targets too when the windows
    say which features they are (``make_windows`` does); anything else keeps
    one scaling per feature. ``scale_targets`` None (no numeric targets) stays None.
    """
    panel = getattr(sequences, "row_series", None) is not None
    inputs = scale_inputs
    if scale_inputs == "auto":
        inputs = "window" if panel else True
    targets = scale_targets
    if scale_targets == "auto":
        stated = bool(getattr(sequences, "target_features", None))
        targets = "window" if panel and stated else True
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


class SampleScaling(NamedTuple):
    """Each sample's standardisation, and a centre of each row for numerics.

    ``offset`` and ``scale`` (n_samples, n_features) are in the data's units.
    ``row_centre`` (n_rows, n_features), for windows over series, is a constant
    of each row's series: the rows are stored less it (in float32), and each
    window less ``offset - centre``, so that series far from zero keep their
    small variations. None for other input.
    """

    offset: np.ndarray
    scale: np.ndarray
    row_centre: np.ndarray | None


# Rows gathered at once to measure windows' spreads (float64 elements).
_GATHER_ELEMENTS = 1 << 20


def _series_of_samples(sequences):
    """(labels, position of each sample's series in them, first row of each series,
    or None when each sample is its own series (dense and ragged sequences))."""
    row_series = getattr(sequences, "row_series", None)
    if row_series is not None:
        labels = sequences.series_labels
        firsts = np.full(len(labels), -1, dtype=np.int64)
        rows = np.arange(len(row_series))
        boundaries = np.flatnonzero(np.diff(row_series, prepend=-1))
        firsts[row_series[boundaries]] = rows[boundaries]
        return labels, row_series[sequences.starts], firsts
    if hasattr(sequences, "starts"):  # windows over one series
        return np.array([None], dtype=object), np.zeros(len(sequences), dtype=np.int64), np.zeros(1, dtype=np.int64)
    return np.array([None], dtype=object), np.zeros(len(sequences), dtype=np.int64), None


def _own_statistics(rows, first, ends):
    """Mean and standard deviation of ``rows[first:end]`` for each ``end``
    (one series, from its first row: what a window's series shows up to it)."""
    segment = rows[first : ends.max()].astype(np.float64)
    centred = segment - segment[0]
    zero = np.zeros((1, segment.shape[1]))
    sums = np.concatenate([zero, np.cumsum(centred, axis=0)])
    squares = np.concatenate([zero, np.cumsum(np.square(centred), axis=0)])
    counts = (ends - first)[:, np.newaxis]
    mean = sums[ends - first] / counts
    variance = np.maximum(squares[ends - first] / counts - np.square(mean), 0.0)
    return mean + segment[0], np.sqrt(variance)


def _window_moments(sequences):
    """Each sample's last row, mean and variance over its steps (n_samples,
    n_features each), computed on the gathered samples, chunk by chunk."""
    if isinstance(sequences, DenseSequences):
        values = sequences.values
        return (
            values[:, -1].astype(np.float64),
            values.mean(axis=1, dtype=np.float64),
            values.var(axis=1, dtype=np.float64),
        )
    if isinstance(sequences, RaggedSequences):
        values, offsets, lengths = sequences.values, sequences.offsets, sequences.lengths
        firsts = values[offsets].astype(np.float64)
        centred = values - np.repeat(firsts, lengths, axis=0)
        mean = np.add.reduceat(centred, offsets, axis=0) / lengths[:, np.newaxis]
        squares = np.add.reduceat(np.square(centred), offsets, axis=0) / lengths[:, np.newaxis]
        last = values[offsets + lengths - 1].astype(np.float64)
        return last, mean + firsts, np.maximum(squares - np.square(mean), 0.0)
    rows, starts, width = sequences.series, sequences.starts, sequences.n_timesteps
    chunk = max(1, _GATHER_ELEMENTS // (width * rows.shape[1]))
    last = rows[starts + width - 1].astype(np.float64)
    mean, variance = np.empty_like(last), np.empty_like(last)
    steps = np.arange(width)
    for begin in range(0, len(starts), chunk):
        windows = rows[starts[begin : begin + chunk, np.newaxis] + steps]
        mean[begin : begin + chunk] = windows.mean(axis=1, dtype=np.float64)
        variance[begin : begin + chunk] = windows.var(axis=1, dtype=np.float64)
    return last, mean, variance


def sample_statistics(sequences, mode, fitted_labels, fitted_mean, fitted_scale):
    """Each sample's standardisation when scaled by series or by window.

    A sample's series statistics are those fitted for its series when it was
    seen in ``fit``; for another series, the mean and standard deviation of its
    rows from its first up to the sample's last step (nothing later, and the
    same whatever else is predicted with it); a dense or ragged sequence is its
    own series. ``"series"`` standardises by them; ``"window"`` takes the
    window's last value as offset and its own standard deviation as scale,
    floored at ``WINDOW_SCALE_FLOOR`` times its series'.

    Returns
    -------
    SampleScaling
    """
    labels, sample_series, firsts = _series_of_samples(sequences)
    fitted = {label: position for position, label in enumerate(fitted_labels)}
    last, window_mean, window_variance = _window_moments(sequences)
    mean = np.empty_like(last)
    spread = np.empty_like(last)
    for code, label in enumerate(labels):
        mine = np.flatnonzero(sample_series == code)
        if not len(mine):
            continue
        if label in fitted:
            mean[mine], spread[mine] = fitted_mean[fitted[label]], fitted_scale[fitted[label]]
        elif firsts is None:  # dense or ragged: each sequence its own series
            mean[mine], spread[mine] = window_mean[mine], np.sqrt(window_variance[mine])
        else:
            ends = sequences.starts[mine] + sequences.n_timesteps
            mean[mine], spread[mine] = _own_statistics(sequences.series, firsts[code], ends)
    spread[spread < 1e-8 * np.maximum(np.abs(mean), 1.0)] = 1.0  # flat: centred only
    row_centre = None
    if firsts is not None:
        row_series = getattr(sequences, "row_series", None)
        centres = sequences.series[firsts].astype(np.float64)
        if row_series is None:
            row_centre = np.broadcast_to(centres[0], sequences.series.shape)
        else:
            row_centre = centres[row_series]
    if mode == "series":
        return SampleScaling(mean, spread, row_centre)
    scale = np.sqrt(window_variance + np.square(WINDOW_SCALE_FLOOR * spread))
    return SampleScaling(last, scale, row_centre)


def continued_features(sequences, y):
    """The features that the targets continue, and over how many steps, or None.

    ``y`` (n_samples, n_columns), unscaled, in ``make_windows``' layout (for
    each step ahead, every target). The targets are compared with the values
    that follow each window: the series' next rows for windows cut from a
    series (a ``make_windows`` view, a ``Windows``), the later windows' last
    steps for other dense windows (only across windows that overlap step for
    step: a gap, as in a cross-validation fold, is not compared). Targets that
    equal them (to float32's precision) continue those features; so do targets
    that are one affine map of them, the same at every step ahead (``y`` in
    other units than windows standardised before windowing, as behind a
    ``StandardScaler``). Windows that say which features their targets are
    (``make_windows`` on a panel, or with a known future) are only checked
    against those.

    Returns
    -------
    continued : tuple (columns, n_steps, units) or None
        ``columns``, one feature position per target; ``n_steps``, the steps
        ahead ``y`` holds (``n_columns = n_steps * len(columns)``); ``units``,
        one ``(slope, intercept)`` per target giving it from its feature's
        value (``(1.0, 0.0)`` where they are equal).
    """
    n_columns = y.shape[1]
    following = _following_values(sequences)
    if following is None:
        return None
    stated = getattr(sequences, "target_features", None)
    if stated is not None:
        if not stated or n_columns % len(stated):
            return None
        candidates = [tuple(stated)]
    else:
        # Each of the first step's columns against each feature's next value.
        next_values = [following(0, c) for c in range(sequences.n_features)]
        candidates = []
        for n_targets in range(1, min(sequences.n_features, n_columns) + 1):
            if n_columns % n_targets:
                continue
            columns = []
            for j in range(n_targets):
                match = next(
                    (c for c, v in enumerate(next_values) if _units(y[:, j], v) is not None), None
                )
                if match is None:
                    break
                columns.append(match)
            else:
                candidates.append(tuple(columns))
    for columns in candidates:
        n_targets = len(columns)
        units = [_units(y[:, j], following(0, c)) for j, c in enumerate(columns)]
        if None in units:
            continue
        if all(
            _equal(y[:, k], following(k // n_targets, columns[j]), units[j])
            for k, j in ((k, k % n_targets) for k in range(n_targets, n_columns))
        ):
            return columns, n_columns // n_targets, tuple(units)
    return None


def _following_values(sequences):
    """``following(s, c)``: feature ``c``'s value ``s + 1`` steps after each window's
    last step (NaN where it is unknown), or None if the sequences have no order."""
    if isinstance(sequences, DenseSequences):
        values = sequences.values
        n, n_steps = len(values), values.shape[1]
        # Window i + 1 follows window i when it is window i ``stride`` steps later
        # (make_windows' ``step``), so that a copy of its windows shows what a view does.
        stride = _window_stride(values)
        follows = np.ones(max(n - 1, 0), dtype=bool)
        if n_steps > 1:
            follows = np.all(values[1:, :-stride] == values[:-1, stride:], axis=(1, 2))
        breaks = np.concatenate([[0], np.cumsum(~follows)])

        def following(step, column):
            # The value step + 1 steps after window i's last is in window i + later.
            later = -(-(step + 1) // stride)
            position = n_steps - 1 - (later * stride - step - 1)
            out = np.full(n, np.nan)
            last = n - later
            if last > 0:
                unbroken = breaks[later:] == breaks[:last]
                known = np.flatnonzero(unbroken)
                out[known] = values[known + later, position, column]
            return out

        return following
    if getattr(sequences, "series", None) is None or getattr(sequences, "starts", None) is None:
        return None
    rows, starts = sequences.series, sequences.starts
    ends = starts + sequences.n_timesteps - 1
    row_series = sequences.row_series

    def following(step, column):
        at = ends + step + 1
        known = at < len(rows)
        if row_series is not None:
            known[known] = row_series[at[known]] == row_series[starts[known]]
        out = np.full(len(starts), np.nan)
        out[known] = rows[at[known], column]
        return out

    return following


def _window_stride(values, n_pairs=64):
    """The steps by which most of the first ``n_pairs`` consecutive windows follow
    one another (the fewest among ties), if at least half of them do; 1 otherwise
    (shuffled windows). Windows must share two steps or more to be compared, so that
    one equal value is not taken for a shift."""
    n_steps = values.shape[1]
    if n_steps < 3 or len(values) < 2:
        return 1
    n = min(len(values), n_pairs + 1)
    first, second = values[: n - 1], values[1:n]
    counts = [
        int(np.all(second[:, :-stride] == first[:, stride:], axis=(1, 2)).sum())
        for stride in range(1, n_steps - 1)
    ]
    best = int(np.argmax(counts))
    return 1 + best if 2 * counts[best] >= len(first) else 1


def _equal(targets, values, units=(1.0, 0.0)):
    """Whether the known ``values`` (at least two), mapped by ``units`` (slope,
    intercept), equal ``targets`` to float32 precision."""
    known = ~np.isnan(values)
    if known.sum() < 2:
        return False
    slope, intercept = units
    a, b = targets[known], values[known]
    if (slope, intercept) == (1.0, 0.0):
        return bool(np.all(np.abs(a - b) <= 1e-6 * np.maximum(np.abs(a), np.abs(b)) + 1e-30))
    # float32 inputs carry a relative error of about 6e-8 of their magnitude, which the
    # slope carries into the targets' units, and float32 targets one of theirs; and the
    # map must explain the targets' variation, not only their level.
    error = np.abs(a - (slope * b + intercept))
    within = np.all(error <= 1e-6 * np.abs(slope * b) + 1e-7 * np.abs(a) + 1e-30)
    return bool(within and error.max() <= 1e-3 * np.ptp(a))


def _units(targets, values):
    """``(slope, intercept)`` with which the known ``values`` give ``targets`` (to
    float32 precision), ``(1.0, 0.0)`` if equal; None if no such map holds. At
    least three known values that are not all the same are needed for a map."""
    if _equal(targets, values):
        return 1.0, 0.0
    known = ~np.isnan(values)
    if known.sum() < 3:
        return None
    a, b = targets[known], values[known]
    spread = b - b.mean()
    variance = float(spread @ spread)
    if not variance > 0.0 or not np.isfinite(variance):
        return None
    slope = float(spread @ (a - a.mean())) / variance
    if slope == 0.0 or not np.isfinite(slope):
        return None
    units = (slope, float(a.mean() - slope * b.mean()))
    return units if _equal(targets, values, units) else None
