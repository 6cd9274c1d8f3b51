"""Data-parallel training through Hugging Face Accelerate (skorch's AccelerateMixin).

Imported lazily, only when an estimator is given an ``accelerator``.
"""

from skorch import NeuralNet
from skorch.hf import AccelerateMixin
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from ._modules import recurrent_loss, without_weights


class AcceleratedNet(AccelerateMixin, NeuralNet):
    """skorch's NeuralNet trained through an ``accelerate.Accelerator``.

    ``generator`` is the fit's own random stream, which shuffles the batches
    (through the DataLoader) and which checkpoints save.
    """

    def __init__(self, *args, generator=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.generator = generator

    def infer(self, x, **fit_params):
        return super().infer(without_weights(x), **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return recurrent_loss(
            self,
            y_pred,
            to_tensor(y_true, y_pred.device),
            X,
            lambda y_pred, y_true: super(AcceleratedNet, self).get_loss(
                y_pred, y_true, X=X, training=training
            ),
        )

    def _initialize_accelerator(self):
        # The losses have no parameters, and DistributedDataParallel refuses to wrap
        # a module without trainable parameters: prepare the module and optimizer only.
        criteria, self._criteria = self._criteria, []
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria


def whole_batch(batch):
    """``collate_fn`` for datasets whose ``__getitems__`` already returns a batch."""
    return batch


def accelerate_net_params():
    """Iterator settings for AcceleratedNet: real DataLoaders, which Accelerate
    shards across processes, fetching each batch with one ``__getitems__`` call."""
    return {
        "iterator_train": DataLoader,
        "iterator_train__shuffle": True,
        "iterator_train__collate_fn": whole_batch,
        "iterator_valid": DataLoader,
        "iterator_valid__collate_fn": whole_batch,
    }
