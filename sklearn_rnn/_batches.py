"""Tensor datasets and the batch iterator skorch trains and predicts with.

The iterator gives skorch whole batches by slicing tensors, so training and
prediction make no per-sample Python calls and no collate. Imported lazily,
when a model is fitted, because it imports torch.
"""

import math

import numpy as np
import torch
from torch.utils.data import Dataset

from ._data import DenseSequences, RaggedSequences, SeriesWindows
from ._modules import IGNORE_CLASS, step_mask


def _to(tensor, device):
    return None if tensor is None else tensor.to(device)


def _on_device_of(index, data):
    """Index tensors (drawn on the CPU) moved to the device of the data they index."""
    return index.to(data.device) if isinstance(index, torch.Tensor) else index


# Share of the free GPU memory a data set may take to be moved there whole.
GPU_DATA_SHARE = 0.25


def place_on_device(dataset, device):
    """Move the whole data set to a CUDA ``device`` once, when it fits.

    Batches are then gathered on the GPU with no host-to-device copy per
    batch. A data set larger than a quarter of the free GPU memory stays on
    the CPU, and its batches are copied as they come.
    """
    device = torch.device(device)
    if device.type != "cuda":
        return dataset
    free_bytes, _ = torch.cuda.mem_get_info(device)
    size = sum(tensor.numel() * tensor.element_size() for tensor in dataset.tensors())
    return dataset.to(device) if size <= GPU_DATA_SHARE * free_bytes else dataset


def _plain_batch_indices(n_samples, batch_size, shuffle, generator=None):
    """Slices in order, or chunks of a new random permutation drawn from ``generator``."""
    if not shuffle:
        for start in range(0, n_samples, batch_size):
            yield slice(start, min(start + batch_size, n_samples))
        return
    order = torch.randperm(n_samples, generator=generator)
    for start in range(0, n_samples, batch_size):
        yield order[start : start + batch_size]


class SequenceDataset(Dataset):
    """Tensors of a whole data set, indexed in batches.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_timesteps, n_features)
    y : torch.Tensor of shape (n_samples, ...) or None
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        index = _on_device_of(index, self.X)
        return self.X[index], (None if self.y is None else self.y[index])

    def __getitems__(self, indices):
        # A DataLoader hands the whole batch's indices over at once: one gather.
        return self[torch.as_tensor(indices)]

    def tensors(self):
        """Every tensor the data set holds."""
        return [self.X] + ([] if self.y is None else [self.y])

    def to(self, device):
        """The data set with its tensors on ``device``."""
        return SequenceDataset(*(_to(t, device) for t in (self.X, self.y)))

    def batch_indices(self, batch_size, shuffle, generator=None):
        """The index of every batch of an epoch; shuffled ones drawn from ``generator``
        (a CPU ``torch.Generator``; None: torch's global one)."""
        return _plain_batch_indices(len(self), batch_size, shuffle, generator)

    def prediction_order(self):
        """The order to predict samples in (None: as given)."""
        return None

    def subset(self, index):
        """The samples at ``index`` (a slice or an index tensor) as a new dataset."""
        return SequenceDataset(*self[index])


class WindowDataset(Dataset):
    """Windows over one or several series, gathered from the rows batch by batch.

    Holds the rows once, so memory grows with the series and not with
    series x window. With known-future rows, a batch is the dict of the windows
    ``"X"`` and their futures ``"future"``.

    Parameters
    ----------
    series : torch.Tensor of shape (n_rows, n_features)
    starts : torch.Tensor of shape (n_samples,), int64
        The row where each window starts.
    window_size : int
    y : torch.Tensor of shape (n_samples, ...) or None
    future : torch.Tensor of shape (n_rows, n_future) or None, default=None
        Known-future columns; a window's future is the ``horizon`` rows after it.
    horizon : int or None, default=None
    by_window : tuple of two torch.Tensor of shape (n_samples, n_features) or None
        Each window's offset and scale, applied as it is gathered.
    """

    def __init__(
        self, series, starts, window_size, y=None, future=None, horizon=None, by_window=None
    ):
        self.series = series
        self.starts = starts
        self.by_window = by_window
        self.offsets = torch.arange(window_size, device=series.device)
        self.y = y
        self.future = future
        self.horizon = horizon
        if future is not None:
            self.future_offsets = window_size + torch.arange(horizon, device=series.device)

    def __len__(self):
        return self.starts.shape[0]

    def __getitem__(self, index):
        index = _on_device_of(index, self.series)
        starts = self.starts[index].unsqueeze(-1)
        windows = self.series[starts + self.offsets]
        if self.by_window is not None:
            offset, scale = (v[index].unsqueeze(-2) for v in self.by_window)
            windows = (windows - offset) / scale
        y = None if self.y is None else self.y[index]
        if self.future is None:
            return windows, y
        return {"X": windows, "future": self.future[starts + self.future_offsets]}, y

    def _like(self, series, starts, y, future, by_window):
        return WindowDataset(
            series, starts, len(self.offsets), y, future, self.horizon, by_window
        )

    def tensors(self):
        extra = [] if self.future is None else [self.future]
        extra += [] if self.by_window is None else list(self.by_window)
        return [self.series, self.starts] + ([] if self.y is None else [self.y]) + extra

    def to(self, device):
        return self._like(
            self.series.to(device),
            self.starts.to(device),
            _to(self.y, device),
            _to(self.future, device),
            None if self.by_window is None else tuple(v.to(device) for v in self.by_window),
        )

    def __getitems__(self, indices):
        return self[torch.as_tensor(indices)]

    batch_indices = SequenceDataset.batch_indices
    prediction_order = SequenceDataset.prediction_order

    def subset(self, index):
        """The windows at ``index`` (a slice or an index tensor) as a new dataset."""
        index = _on_device_of(index, self.series)
        y = None if self.y is None else self.y[index]
        by_window = None if self.by_window is None else tuple(v[index] for v in self.by_window)
        return self._like(self.series, self.starts[index], y, self.future, by_window)


class RaggedDataset(Dataset):
    """Sequences of different lengths, stored end to end, batched by length.

    A batch is padded to its longest sequence and handed to the network with
    the lengths, which it packs, so padding never reaches a result.

    Parameters
    ----------
    values : torch.Tensor of shape (total_timesteps, n_features)
    offsets : torch.Tensor of shape (n_samples,), int64
        Row of ``values`` where each sequence starts.
    lengths : torch.Tensor of shape (n_samples,), int64
    y : torch.Tensor of shape (n_samples, ...) or None
        Or, with ``step_targets``, of shape (total_timesteps, ...): a target per
        time step, stored like ``values``.
    step_targets : bool, default=False
        Whether ``y`` holds a target per time step. Padded steps then get the
        target NaN (float) or -100 (class index), which the losses skip.
    """

    def __init__(self, values, offsets, lengths, y=None, step_targets=False):
        self.values = values
        self.offsets = offsets
        self.lengths = lengths
        self.y = y
        self.step_targets = step_targets

    def __len__(self):
        return self.lengths.shape[0]

    def __getitem__(self, index):
        device = self.values.device
        if isinstance(index, slice):
            index = torch.arange(len(self), device=device)[index]
        index = _on_device_of(index, self.values)
        lengths = self.lengths[index]
        steps = torch.arange(int(lengths.max()), device=device)
        valid = steps < lengths.unsqueeze(1)
        rows = torch.where(valid, self.offsets[index].unsqueeze(1) + steps, 0)
        X = self.values[rows] * valid.unsqueeze(2)
        if self.y is None:
            y = None
        elif self.step_targets:
            y = self.y[rows]
            fill = float("nan") if y.is_floating_point() else IGNORE_CLASS
            y = y.masked_fill(~valid.view(valid.shape + (1,) * (y.dim() - 2)), fill)
        else:
            y = self.y[index]
        return {"X": X, "lengths": lengths}, y

    def __getitems__(self, indices):
        return self[torch.as_tensor(indices)]

    def tensors(self):
        return [self.values, self.offsets, self.lengths] + ([] if self.y is None else [self.y])

    def to(self, device):
        return RaggedDataset(
            self.values.to(device),
            self.offsets.to(device),
            self.lengths.to(device),
            _to(self.y, device),
            self.step_targets,
        )

    def batch_indices(self, batch_size, shuffle, generator=None):
        """Batches of similar lengths, so little time goes into padding.

        When shuffling, ties in length are broken at random and the batches
        come in a random order.
        """
        n_samples = len(self)
        # Drawn on the CPU, from its seeded generator, wherever the data are.
        order = torch.randperm(n_samples, generator=generator) if shuffle else torch.arange(n_samples)
        order = order[torch.argsort(self.lengths.cpu()[order], stable=True)]
        batches = [order[start : start + batch_size] for start in range(0, n_samples, batch_size)]
        if shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        return iter(batches)

    def prediction_order(self):
        """Samples sorted by length, so prediction batches are little padded."""
        return torch.argsort(self.lengths.cpu(), stable=True)

    def subset(self, index):
        """The sequences at ``index`` (a slice or an index tensor) as a new dataset."""
        index = _on_device_of(index, self.values)
        if self.y is None or self.step_targets:
            y = self.y  # per-step targets are found through the offsets
        else:
            y = self.y[index]
        return RaggedDataset(
            self.values, self.offsets[index], self.lengths[index], y, self.step_targets
        )


class ReconstructionDataset(Dataset):
    """A data set whose targets are its own (scaled) inputs, for the autoencoder.

    The targets are the input batch itself, not a copy of the data; padded
    time steps of ragged batches get the target NaN, which the loss skips.

    Parameters
    ----------
    inputs : SequenceDataset, WindowDataset or RaggedDataset, without targets
    """

    y = None  # no stored targets: nothing to stratify on

    def __init__(self, inputs):
        self.inputs = inputs

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        X, _ = self.inputs[index]
        if not isinstance(X, dict):
            return X, X
        padding = ~step_mask(X["lengths"], X["X"].shape[1], X["X"].device)
        return X, X["X"].masked_fill(padding.unsqueeze(2), float("nan"))

    def __getitems__(self, indices):
        return self[torch.as_tensor(indices)]

    def batch_indices(self, batch_size, shuffle, generator=None):
        return self.inputs.batch_indices(batch_size, shuffle, generator)

    def prediction_order(self):
        return self.inputs.prediction_order()

    def subset(self, index):
        return ReconstructionDataset(self.inputs.subset(index))

    def tensors(self):
        return self.inputs.tensors()

    def to(self, device):
        return ReconstructionDataset(self.inputs.to(device))


class WeightedDataset(Dataset):
    """A data set whose batches also carry the samples' weights, as
    ``X["sample_weight"]``: of shape (batch,), or (batch, time) per step.

    Parameters
    ----------
    inner : SequenceDataset, WindowDataset, RaggedDataset or ReconstructionDataset
    weights : torch.Tensor of shape (n_samples,) or (n_samples, n_timesteps), or a
        RaggedDataset of per-step weights stored like the sequences (one feature),
        which pads them per batch as it pads the inputs (padding weighs 0).
    """

    def __init__(self, inner, weights):
        self.inner = inner
        self.weights = weights

    @property
    def y(self):
        return self.inner.y  # what a stratified validation split reads

    def __len__(self):
        return len(self.inner)

    def _weights(self, index):
        if isinstance(self.weights, RaggedDataset):
            return self.weights[index][0]["X"][..., 0]
        return self.weights[_on_device_of(index, self.weights)]

    def __getitem__(self, index):
        X, y = self.inner[index]
        X = dict(X) if isinstance(X, dict) else {"X": X}
        X["sample_weight"] = self._weights(index)
        return X, y

    def __getitems__(self, indices):
        return self[torch.as_tensor(indices)]

    def batch_indices(self, batch_size, shuffle, generator=None):
        return self.inner.batch_indices(batch_size, shuffle, generator)

    def prediction_order(self):
        return self.inner.prediction_order()

    def subset(self, index):
        """The samples at ``index``, their weights scaled to a mean of 1 among them.

        The losses treat weights as numbers of copies, so a validation split and
        its training part each keep their own scale: one part's weights never
        change the other's losses.
        """
        if isinstance(self.weights, RaggedDataset):
            weights = self.weights.subset(index)
            sums = torch.cumsum(torch.cat([weights.values.new_zeros(1), weights.values[:, 0]]), 0)
            total = (sums[weights.offsets + weights.lengths] - sums[weights.offsets]).sum()
            mean = total / weights.lengths.sum().clamp(min=1)
            if mean > 0:
                weights = RaggedDataset(weights.values / mean, weights.offsets, weights.lengths)
        else:
            weights = self.weights[_on_device_of(index, self.weights)]
            if weights.numel() and weights.mean() > 0:
                weights = weights / weights.mean()
        return WeightedDataset(self.inner.subset(index), weights)

    def tensors(self):
        extra = self.weights.tensors() if isinstance(self.weights, RaggedDataset) else [self.weights]
        return self.inner.tensors() + extra

    def to(self, device):
        return WeightedDataset(self.inner.to(device), self.weights.to(device))


def make_dataset(
    sequences,
    mean,
    scale,
    targets=None,
    layout="sample",
    weights=None,
    future_scaling=None,
    sample_scaling=None,
):
    """The torch dataset of validated ``sequences``, standardised by ``mean`` and ``scale``.

    Windows over one series keep the series alone and are gathered per batch;
    ragged sequences stay end to end and are padded per batch, and so are
    their per-step targets.

    Parameters
    ----------
    sequences : DenseSequences, SeriesWindows or RaggedSequences
    mean, scale : ndarray of shape (n_features,)
    targets : torch.Tensor or None
    layout : {"sample", "step", "horizon", "input"}, default="sample"
        The targets' layout (see ``TargetSpec``): "step" targets of ragged
        sequences are stored like the inputs; "input" makes the scaled inputs
        their own targets.
    weights : ndarray or None, default=None
        Sample weights from ``validate_sample_weight``: of shape (n_samples,),
        per step (n_samples, n_timesteps), or per step end to end for ragged
        sequences (total_timesteps,).
    future_scaling : tuple (mean, scale) of ndarrays of shape (n_future,) or None
        The standardisation of windows' known-future columns; None leaves
        them out.
    sample_scaling : tuple (offset, scale) of ndarrays of shape (n_samples, \
            n_features) or None
        A standardisation of each sample by its own statistics, after ``mean``
        and ``scale``: windows over a series are standardised as they are
        gathered, other sequences at once.

    Returns
    -------
    dataset : SequenceDataset, WindowDataset, RaggedDataset or ReconstructionDataset,
        inside a WeightedDataset with ``weights``
    """

    def scaled(values):
        values = (values - mean) / scale
        return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))

    by_window = None
    if sample_scaling is not None:
        offset, sample_scale = sample_scaling
        if isinstance(sequences, RaggedSequences):
            mean = mean + np.repeat(offset, sequences.lengths, axis=0)
            scale = scale * np.repeat(sample_scale, sequences.lengths, axis=0)
        elif isinstance(sequences, DenseSequences):
            mean = mean + offset[:, np.newaxis]
            scale = scale * sample_scale[:, np.newaxis]
        else:
            by_window = tuple(
                torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                for v in (offset, sample_scale)
            )

    if isinstance(sequences, RaggedSequences):
        dataset = RaggedDataset(
            scaled(sequences.values),
            torch.from_numpy(sequences.offsets),
            torch.from_numpy(sequences.lengths),
            targets,
            step_targets=layout == "step",
        )
    elif isinstance(sequences, SeriesWindows):
        future = None
        if future_scaling is not None:
            future_mean, future_scale = future_scaling
            future = torch.from_numpy(
                np.ascontiguousarray((sequences.future - future_mean) / future_scale, dtype=np.float32)
            )
        dataset = WindowDataset(
            scaled(sequences.series),
            torch.from_numpy(np.asarray(sequences.starts, dtype=np.int64)),
            sequences.n_timesteps,
            targets,
            future,
            sequences.horizon,
            by_window,
        )
    elif isinstance(sequences, DenseSequences):
        dataset = SequenceDataset(scaled(sequences.values), targets)
    else:
        raise TypeError(f"Unknown validated input {type(sequences).__name__}.")
    if layout == "input":
        dataset = ReconstructionDataset(dataset)
    if weights is None:
        return dataset
    weights = torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32))
    if isinstance(sequences, RaggedSequences) and len(weights) != len(sequences):
        weights = RaggedDataset(
            weights[:, np.newaxis],
            torch.from_numpy(sequences.offsets),
            torch.from_numpy(sequences.lengths),
        )
    return WeightedDataset(dataset, weights)


class BatchIterator:
    """skorch iterator yielding ``(X_batch, y_batch)`` tensor slices.

    Replaces torch's ``DataLoader``: a batch is one indexing operation on the
    data set's tensors instead of ``batch_size`` ``__getitem__`` calls and a
    collate.

    Parameters
    ----------
    dataset : SequenceDataset
    batch_size : int
    shuffle : bool, default=False
        Draw a new permutation every epoch.
    generator : torch.Generator or None, default=None
        The CPU generator permutations are drawn from: the fit's own, so that
        fits running at once in threads never draw from each other's stream.
        None uses torch's global generator.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        for index in self.dataset.batch_indices(self.batch_size, self.shuffle, self.generator):
            yield self.dataset[index]


class ValidationSplit:
    """skorch ``train_split``: hold out a fraction of the samples for validation.

    Regressors hold out the *last* samples, because windows cut from one
    series overlap and a random split would leak the validation targets into
    training. Classifiers hold out a stratified random subset.

    Parameters
    ----------
    fraction : float in (0, 1)
    stratify : bool
    random_state : int
    """

    def __init__(self, fraction, stratify, random_state):
        self.fraction = fraction
        self.stratify = stratify
        self.random_state = random_state

    def __call__(self, dataset, y=None, **fit_params):
        n_samples = len(dataset)
        n_valid = math.ceil(self.fraction * n_samples)
        n_train = n_samples - n_valid
        if n_train < 1:
            raise ValueError(
                f"early_stopping with validation_fraction={self.fraction} holds out "
                f"{n_valid} of the {n_samples} training samples and leaves none to train "
                "on. Lower validation_fraction or pass more samples."
            )
        labels = None if dataset.y is None else dataset.y.cpu().numpy()
        # Only one label per sample can be stratified on; per-step labels cannot.
        if not self.stratify or labels is None or labels.shape != (n_samples,):
            return dataset.subset(slice(0, n_train)), dataset.subset(slice(n_train, n_samples))
        from sklearn.model_selection import train_test_split

        _, counts = np.unique(labels, return_counts=True)
        # Stratify when every class can be in both parts; else split at random.
        can_stratify = counts.min() >= 2 and min(n_valid, n_train) >= len(counts)
        train_idx, valid_idx = train_test_split(
            np.arange(n_samples),
            test_size=n_valid,
            stratify=labels if can_stratify else None,
            random_state=self.random_state,
        )
        return dataset.subset(torch.from_numpy(train_idx)), dataset.subset(
            torch.from_numpy(valid_idx)
        )


# CPU GEMM kernels compute the rows of a partial block (past the last multiple
# of the kernel's row count) on another code path, with other rounding. With
# torch 2.13's MKL on x86-64, a GEMM gives a row the same bits in any batch
# whose row count is a multiple of 4, with 1 to 16 threads; the GEMMs that
# matter are the recurrent one of GRU and Elman cells (torch's own loop over the
# batch rows) and the linear head (a matrix-vector kernel when it has one
# output). Mean pooling over outputs stored time-major, when hidden_size is not
# a multiple of 8, and MKL's SSE kernels (MKL_CBWR=COMPATIBLE) need multiples of
# 8. Giving every prediction batch a multiple of this many rows keeps a sample's
# prediction independent of which and how many samples it is batched with; 16
# rows were no more invariant in any case tried, and make a one-sample
# prediction 1.5x slower.
PREDICTION_ROW_MULTIPLE = 8


def prediction_batches(dataset, batch_size):
    """The inputs of ``dataset`` in batches of a multiple of 8 rows.

    The batch size is ``batch_size`` rounded up to a multiple of
    ``PREDICTION_ROW_MULTIPLE``; the last
    batch is padded with zero rows (length-1 sequences for ragged data), which
    the caller drops from the outputs. Samples come in
    ``dataset.prediction_order()``.

    Parameters
    ----------
    dataset : SequenceDataset, WindowDataset or RaggedDataset
    batch_size : int

    Yields
    ------
    batch : torch.Tensor of shape (n_rows, n_timesteps, n_features), or a dict
        of such a tensor ``"X"`` and the ``"lengths"``
    """
    multiple = PREDICTION_ROW_MULTIPLE
    batch_size = -(-batch_size // multiple) * multiple
    order = dataset.prediction_order()
    for start in range(0, len(dataset), batch_size):
        index = slice(start, start + batch_size) if order is None else order[start : start + batch_size]
        batch, _ = dataset[index]
        inputs = batch["X"] if isinstance(batch, dict) else batch
        missing = -inputs.shape[0] % multiple
        if missing:
            if isinstance(batch, dict):
                # Padding rows: zeros, of length 1 for ragged sequences.
                batch = {
                    name: torch.cat(
                        [value, (value.new_ones if name == "lengths" else value.new_zeros)((missing,) + value.shape[1:])]
                    )
                    for name, value in batch.items()
                }
            else:
                batch = torch.cat([batch, batch.new_zeros((missing,) + batch.shape[1:])])
        yield batch
