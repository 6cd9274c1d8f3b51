"""The skorch net the estimators train: mixed precision and torch.compile as options.

Imported lazily, when a model is fitted or loaded, because it imports torch.
"""

import contextlib
from collections.abc import Mapping

import torch
from skorch import NeuralNet
from skorch.utils import to_tensor

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


class RecurrentNet(NeuralNet):
    """skorch's ``NeuralNet`` with autocast mixed precision and an optional compiled forward.

    Parameters
    ----------
    precision : {"float32", "bfloat16", "float16"}, default="float32"
        Run the forward pass under ``torch.autocast`` with this dtype. The
        weights, the optimizer state and the loss stay float32; float16
        training scales the loss with a ``GradScaler`` so small gradients do
        not underflow.
    compile_forward : bool, default=False
        Run the forward pass through ``torch.compile(module_)``. The compiled
        wrapper shares the module's parameters; ``module_`` itself stays a
        plain module, so state dicts, pickles and saved models do not change.
    **kwargs
        ``NeuralNet``'s parameters.
    """

    def __init__(self, *args, precision="float32", compile_forward=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.compile_forward = compile_forward

    def autocast(self):
        """The autocast context of ``precision`` on the module's device."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        device_type = next(self.module_.parameters()).device.type
        return torch.autocast(device_type=device_type, dtype=dtype)

    def _forward_module(self):
        if not self.compile_forward:
            return self.module_
        cached = self.__dict__.get("_compiled")
        if cached is None or cached[0] is not self.module_:
            cached = (self.module_, torch.compile(self.module_))
            self._compiled = cached
        return cached[1]

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device)
        module = self._forward_module()
        with self.autocast():
            if isinstance(x, Mapping):
                y_pred = module(**self._merge_x_and_fit_params(x, fit_params))
            else:
                y_pred = module(x, **fit_params)
        # The loss and the predictions are computed in float32.
        return y_pred.float()

    def _grad_scaler(self):
        if self.precision != "float16":
            return None
        scaler = self.__dict__.get("_scaler")
        if scaler is None:
            device_type = next(self.module_.parameters()).device.type
            scaler = self._scaler = torch.amp.GradScaler(device_type)
        return scaler

    def train_step_single(self, batch, **fit_params):
        scaler = self._grad_scaler()
        if scaler is None:
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        scaler.scale(loss).backward()
        # Unscaled before the callbacks see them: gradient clipping needs the true norm.
        scaler.unscale_(self.optimizer_)
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        scaler = self._grad_scaler()
        if scaler is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        scaler.step(self.optimizer_)  # skipped when the scaled gradients overflowed
        scaler.update()

    def __getstate__(self):
        state = super().__getstate__()
        # The compiled wrapper and the scaler are rebuilt on demand, not pickled.
        state.pop("_compiled", None)
        state.pop("_scaler", None)
        return state
