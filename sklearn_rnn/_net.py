"""Building the skorch net an estimator trains: device, seeding, callbacks, optimizer,
mixed precision and torch.compile.

Imported lazily, when a model is fitted or loaded, because it imports torch.
"""

import contextlib
import copy
import re
import threading
from collections.abc import Mapping

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, GradientNormClipping
from skorch.utils import to_tensor

from ._batches import BatchIterator, ValidationSplit
from ._callbacks import PlateauSchedule, StopOnNonFiniteLoss
from ._modules import clip_gradient_norms, recurrent_loss, without_weights

PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}
_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
# Held while a fit seeds torch's process-wide generator (to initialise weights) or
# draws dropout masks from it, so that fits running at once in threads never draw
# from each other's stream.
RNG_LOCK = threading.RLock()


def resolve_device(device):
    """Turn the ``device`` parameter into a torch device string that exists here."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.fullmatch(device):
        raise ValueError(
            f"device={device!r} is not a known device; use 'auto', 'cpu', 'cuda', "
            "'cuda:N' or 'mps'."
        )
    mps_available = torch.backends.mps.is_available()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if mps_available else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested, but CUDA is not available in this "
                f"PyTorch installation (torch {torch.__version__}). Use device='auto' "
                "or device='cpu'."
            )
        index = torch.device(device).index
        if index is not None and index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested, but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
    if device == "mps" and not mps_available:
        raise ValueError(
            "device='mps' was requested, but Apple MPS is not available here. Use "
            "device='auto' or device='cpu'."
        )
    return device


def training_device(settings):
    """The device a fit trains on: the accelerator's, or ``device`` resolved here.

    Refuses speed options that cannot apply there.
    """
    accelerator = settings["accelerator"]
    if accelerator is not None:
        if settings["precision"] != "float32" or settings["compile"]:
            raise ValueError(
                "With an accelerator, mixed precision and compilation are the "
                "Accelerator's settings (Accelerator(mixed_precision='bf16'), "
                "dynamo_backend=...): leave precision='float32' and compile=False."
            )
        return str(accelerator.device)
    device = resolve_device(settings["device"])
    if settings["precision"] == "float16" and device.split(":")[0] not in ("cuda", "mps"):
        raise ValueError(
            f"precision='float16' needs a GPU, but the model trains on {device!r}, "
            "where PyTorch's recurrent kernels have no float16 version. Use "
            "precision='bfloat16' on the CPU."
        )
    return device


@contextlib.contextmanager
def seeded_torch_rng(device, seed):
    """Seed torch's generators for ``device`` only, restoring them afterwards.

    ``torch.manual_seed`` would also re-seed every CUDA device for good; here
    the CPU generator and the training device's generator are forked, seeded,
    and left as they were. ``RNG_LOCK`` is held throughout: torch's generators
    are process-wide, and another fit's thread must not draw from them meanwhile.
    """
    device = torch.device(device)
    with RNG_LOCK, _seeded(device, seed):
        yield


@contextlib.contextmanager
def _seeded(device, seed):
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        with torch.random.fork_rng(devices=[index], device_type="cuda"):
            torch.random.default_generator.manual_seed(seed)
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
            yield
    elif device.type == "mps":
        with torch.random.fork_rng(devices=[0], device_type="mps"):
            torch.random.default_generator.manual_seed(seed)
            torch.mps.manual_seed(seed)
            yield
    else:
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)
            yield


def _checked_callbacks(callbacks):
    for entry in callbacks or []:
        named = isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
        if not isinstance(entry[1] if named else entry, Callback):
            raise TypeError(
                "callbacks must be a list of skorch callbacks (skorch.callbacks.Callback "
                f"instances) or (name, callback) tuples; got {entry!r}."
            )
    return callbacks or []


def build_net(
    settings,
    *,
    module,
    module_params,
    criterion,
    criterion_params,
    device,
    seed,
    stratify,
    early_stopping=False,
    callbacks=((), ()),
    checkpoint=None,
):
    estimator_callbacks = callbacks
    """The skorch net to train ``module(**module_params)`` with ``criterion``.

    Parameters
    ----------
    settings : mapping
        The estimator's hyperparameters (``get_params(deep=False)``); the
        training ones are read here.
    module, criterion : type
    module_params, criterion_params : dict
        Their parameters; ``criterion_params`` as skorch's ``criterion__*``.
    device : str
        From ``training_device``.
    seed : int
        Seeds the validation split (and names the checkpoint's seed).
    stratify : bool
        Whether the validation split is stratified by label.
    early_stopping : bool, default=False
        Whether to hold out validation samples (``early_stopping`` resolved).
    callbacks : (list, list) of (name, callback), default=((), ())
        The estimator's own callbacks, run before and after the learning-rate
        schedule (which restores the best weights when training ends).
    checkpoint : tuple (fingerprint, state or None) or None
        With ``checkpoint_dir``: the fit's fingerprint and the checkpoint to
        resume from, if any.

    Returns
    -------
    net : RecurrentNet or AcceleratedNet, not initialised
    """
    callbacks = [("stop_on_non_finite_loss", StopOnNonFiniteLoss())]
    if settings["clip_grad_norm"] is not None:
        callbacks.append(
            (
                "gradient_clipping",
                NetworkGradientClipping(gradient_clip_value=settings["clip_grad_norm"]),
            )
        )
    resumed = checkpoint[1] if checkpoint else None
    before_schedule, after_schedule = estimator_callbacks
    callbacks.extend(before_schedule)
    callbacks.append(
        (
            "plateau_schedule",
            PlateauSchedule(
                monitor="valid_loss" if early_stopping else "train_loss",
                patience=settings["n_iter_no_change"],
                tol=settings["tol"],
                max_reductions=4 if settings["lr_schedule"] == "plateau" else 0,
                factor=0.5,
                restore_best=early_stopping,
                resume_state=resumed["plateau"] if resumed else None,
                score_initial=True,
            ),
        )
    )
    callbacks.extend(after_schedule)
    if checkpoint is not None:
        from ._checkpoint import CheckpointEvery

        callbacks.append(
            (
                "checkpoint",
                CheckpointEvery(
                    settings["checkpoint_dir"], settings["checkpoint_every"], checkpoint[0], seed
                ),
            )
        )
    # Copies, so that fitting never mutates the callbacks the user passed in.
    callbacks.extend(copy.deepcopy(_checked_callbacks(settings["callbacks"])))
    train_split = (
        ValidationSplit(settings["validation_fraction"], stratify, seed)
        if early_stopping
        else None
    )
    optimizer = settings["optimizer"]
    # The fit's own stream of shuffles and dropout masks, independent of the seed
    # that initialised the weights.
    stream_seed = int(np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0])
    generator = torch.Generator().manual_seed(stream_seed)
    extra = {f"module__{key}": value for key, value in module_params.items()}
    if settings["weight_decay"]:
        extra["optimizer__weight_decay"] = settings["weight_decay"]
    net_class, net_params = RecurrentNet, {
        "iterator_train": BatchIterator,
        "iterator_train__shuffle": True,
        "iterator_train__generator": generator,
        "iterator_valid": BatchIterator,
        "device": device,
        "precision": settings["precision"],
        "compile_forward": settings["compile"],
        "generator": generator,
    }
    accelerator = settings["accelerator"]
    if accelerator is not None:
        from ._distributed import AcceleratedNet, accelerate_net_params

        net_class = AcceleratedNet
        net_params = {
            "accelerator": accelerator,
            "device": None,  # the Accelerator places the model
            # skorch prints through accelerator.print, which ignores verbose=0.
            "callbacks__print_log__sink": accelerator.print if settings["verbose"] else print,
            **accelerate_net_params(),
            "iterator_train__generator": generator,
            "generator": generator,
        }
    return net_class(
        module=module,
        criterion=criterion,
        optimizer=optimizer if callable(optimizer) else OPTIMIZERS[optimizer],
        lr=settings["lr"],
        max_epochs=settings["max_epochs"],
        batch_size=settings["batch_size"],
        train_split=train_split,
        callbacks=callbacks,
        verbose=settings["verbose"],
        **net_params,
        **extra,
        **criterion_params,
    )


def _draws_random(module):
    """Whether a training forward pass of ``module`` draws random numbers (dropout)."""
    for part in module.modules():
        if isinstance(part, torch.nn.RNNBase) and part.dropout > 0 and part.num_layers > 1:
            return True
        if isinstance(part, torch.nn.modules.dropout._DropoutNd) and part.p > 0:
            return True
    return False


@contextlib.contextmanager
def _generator_as_global(generator):
    """Run with ``generator``'s state in torch's CPU generator, and carry the
    state drawn on back into ``generator``, under ``RNG_LOCK``."""
    with RNG_LOCK:
        saved = torch.random.get_rng_state()
        torch.random.set_rng_state(generator.get_state())
        try:
            yield
        finally:
            generator.set_state(torch.random.get_rng_state())
            torch.random.set_rng_state(saved)


class NetworkGradientClipping(GradientNormClipping):
    """skorch's gradient-norm clipping, each network of an ensemble on its own."""

    def on_grad_computed(self, net, named_parameters, **kwargs):
        if self.gradient_clip_value is not None:
            clip_gradient_norms(net.module_, self.gradient_clip_value, self.gradient_clip_norm_type)


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
    generator : torch.Generator or None, default=None
        The fit's own CPU random stream. Training forward passes that draw
        random numbers (dropout) draw them from it rather than from torch's
        process-wide generator, so a fit's dropout masks do not depend on what
        other threads draw meanwhile (on the CPU; CUDA kernels draw from the
        device's generator).
    **kwargs
        ``NeuralNet``'s parameters.
    """

    def __init__(
        self, *args, precision="float32", compile_forward=False, generator=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.compile_forward = compile_forward
        self.generator = generator

    def _own_random_stream(self):
        """Swap the fit's stream into torch's CPU generator for a forward pass
        that draws random numbers; otherwise do nothing."""
        if self.generator is None or not (self.module_.training and _draws_random(self.module_)):
            return contextlib.nullcontext()
        return _generator_as_global(self.generator)

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
        x = without_weights(x)
        module = self._forward_module()
        with self.autocast(), self._own_random_stream():
            if isinstance(x, Mapping):
                y_pred = module(**self._merge_x_and_fit_params(x, fit_params))
            else:
                y_pred = module(x, **fit_params)
        # The loss and the predictions are computed in float32.
        return y_pred.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return recurrent_loss(
            self,
            y_pred,
            to_tensor(y_true, self.device),
            X,
            lambda y_pred, y_true: super(RecurrentNet, self).get_loss(
                y_pred, y_true, X=X, training=training
            ),
        )

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

    def __setstate__(self, state):
        super().__setstate__(state)
        # Unpickled recurrent layers hold each weight in a tensor of its own; cuDNN
        # wants them in one block and would copy them there at every call (warning
        # each time) until they are flattened once.
        module = self.__dict__.get("module_")
        if isinstance(module, torch.nn.Module):
            for layer in module.modules():
                if isinstance(layer, torch.nn.RNNBase):
                    layer.flatten_parameters()
