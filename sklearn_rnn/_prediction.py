"""The prediction engine: a fitted net's outputs over batches of validated input.

One place sets eval mode, no gradients and the net's mixed precision, pads
batches so a sample's output never depends on its batch, and puts outputs
back in input order. Imported lazily, when a model predicts, because it
imports torch.
"""

import contextlib

import numpy as np
import torch
from skorch.utils import to_tensor

from ._batches import make_dataset, place_on_device, prediction_batches
from ._data import RaggedSequences
from ._modules import step_mask

# On a GPU a prediction batch's recurrent outputs hold up to this many values (rows x
# longest sequence x the widest recurrent layer's outputs; 64 MiB of float32): one
# kernel launch then covers thousands of rows, where batches of the training size
# would leave the device idle between launches. The CPU keeps the training batch
# size, which costs it nothing.
GPU_PREDICTION_VALUES = 2**24


def prediction_batch_size(batch_size, device, longest, width):
    """Rows per prediction batch: ``batch_size`` on the CPU; on a GPU, if more, the
    rows of ``longest`` steps whose outputs of ``width`` values a step make up
    ``GPU_PREDICTION_VALUES``."""
    if torch.device(device).type == "cpu":
        return batch_size
    return max(batch_size, GPU_PREDICTION_VALUES // (max(longest, 1) * max(width, 1)))


def recurrent_width(module):
    """Values a step of ``module``'s widest recurrent layer outputs (1 if none)."""
    widths = [
        layer.hidden_size * (2 if layer.bidirectional else 1)
        for layer in module.modules()
        if isinstance(layer, torch.nn.RNNBase)
    ]
    return max(widths, default=1)


def batched_outputs(
    net,
    sequences,
    mean,
    scale,
    batch_size,
    compute,
    step_outputs=False,
    future_scaling=None,
    sample_scaling=None,
):
    """Run ``compute(batch)`` over prediction batches of validated ``sequences``.

    Parameters
    ----------
    net : fitted skorch net
    sequences : DenseSequences, SeriesWindows or RaggedSequences
    mean, scale : ndarray of shape (n_features,)
        The input standardisation learnt in ``fit``.
    batch_size : int
        Rows per batch; more on a GPU (``prediction_batch_size``).
    compute : callable
        Takes a batch on the module's device (a tensor, or a dict of ``"X"``
        and ``"lengths"`` for ragged data) and returns a tensor with one row
        per sequence.
    step_outputs : bool, default=False
        Whether the second axis of ``compute``'s output is time; ragged
        sequences then keep only their real steps.
    future_scaling : tuple of ndarrays or None, default=None
        The known-future columns' standardisation, for a model fitted with them.
    sample_scaling : tuple of ndarrays or None, default=None
        Each sample's (offset, scale), for a model scaled by window.

    Returns
    -------
    outputs : ndarray of shape (n_samples, ...), float64, in input order;
        a list of arrays of shape (n_timesteps_i, ...) for ragged sequences
        with ``step_outputs``
    """
    module = net.module_
    device = next(module.parameters()).device
    dataset = make_dataset(
        sequences, mean, scale, future_scaling=future_scaling, sample_scaling=sample_scaling
    )
    dataset = place_on_device(dataset, device)
    batch_size = prediction_batch_size(
        batch_size, device, sequences.longest, recurrent_width(module)
    )
    n_samples, n_done, pieces = len(dataset), 0, []
    ragged_steps = step_outputs and isinstance(sequences, RaggedSequences)
    if module.training:
        module.eval()
    autocast = getattr(net, "autocast", None)  # an accelerated net has its own
    with torch.no_grad(), (contextlib.nullcontext() if autocast is None else autocast()):
        for batch in prediction_batches(dataset, batch_size):
            outputs = compute(to_tensor(batch, device)).to("cpu", torch.float32)
            # The last batch is padded with rows that are no samples.
            n_real = min(outputs.shape[0], n_samples - n_done)
            outputs = outputs[:n_real]
            n_done += n_real
            if ragged_steps:
                lengths = batch["lengths"][:n_real].cpu()
                outputs = outputs[step_mask(lengths, outputs.shape[1], "cpu")]
            pieces.append(outputs)
    outputs = (pieces[0] if len(pieces) == 1 else torch.cat(pieces)).numpy().astype(np.float64)
    order = dataset.prediction_order()
    if order is None:
        return outputs
    position_of_sample = torch.argsort(order).numpy()
    if not ragged_steps:
        return outputs[position_of_sample]
    steps = np.split(outputs, np.cumsum(sequences.lengths[order.numpy()])[:-1])
    return [steps[position] for position in position_of_sample]
