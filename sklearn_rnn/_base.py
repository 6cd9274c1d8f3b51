"""The shared estimator core: hyperparameters, validation and the skorch net.

Estimators hold a skorch ``NeuralNet`` in ``net_``, built in ``fit``; they do
not subclass it, so scikit-learn's parameter validation, ``clone`` and tags
stay intact while skorch runs the training loop, callbacks and history.
"""

import contextlib
import copy
import os
import re
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._data import (
    RaggedSequences,
    seed_from_random_state,
    validate_fit_data,
    validate_predict_data,
    window_structure,
)

_OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
_DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def resolve_device(device):
    """Turn the ``device`` parameter into a torch device string that exists here."""
    import torch

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


def _optimizer_class(optimizer):
    if callable(optimizer):
        return optimizer
    import torch

    return {
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "sgd": torch.optim.SGD,
        "rmsprop": torch.optim.RMSprop,
    }[optimizer]


def _checked_callbacks(callbacks):
    from skorch.callbacks import Callback

    for entry in callbacks or []:
        named = isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
        if not isinstance(entry[1] if named else entry, Callback):
            raise TypeError(
                "callbacks must be a list of skorch callbacks (skorch.callbacks.Callback "
                f"instances) or (name, callback) tuples; got {entry!r}."
            )
    return callbacks or []


def flatten_steps(y_true, y_pred, sample_weight=None):
    """Per-step targets and predictions as one row per time step, for scoring.

    ``y_pred`` is an array (n_samples, n_timesteps, ...) or a list of arrays
    (n_timesteps_i, ...); ``y_true`` is laid out as in ``fit``. A sequence's
    sample weight is repeated for each of its steps.

    Returns
    -------
    y_true, y_pred : ndarray of shape (total_timesteps,) or (total_timesteps, n_outputs)
    sample_weight : ndarray of shape (total_timesteps,) or None
    """
    if isinstance(y_pred, list):
        lengths = [len(values) for values in y_pred]
        y_pred = np.concatenate(y_pred) if y_pred else np.empty(0)
        y_true = (
            y_true.to_numpy()
            if hasattr(y_true, "iloc")
            else np.concatenate([np.asarray(values) for values in y_true])
        )
    else:
        lengths = [y_pred.shape[1]] * y_pred.shape[0]
        y_true = np.asarray(y_true)
        y_pred = y_pred.reshape((-1,) + y_pred.shape[2:])
    y_true = y_true.reshape(y_pred.shape)
    if sample_weight is not None:
        sample_weight = np.repeat(np.asarray(sample_weight, dtype=np.float64), lengths)
    return y_true, y_pred, sample_weight


@contextlib.contextmanager
def seeded_torch_rng(device, seed):
    """Seed torch's generators for ``device`` only, restoring them afterwards.

    ``torch.manual_seed`` would also re-seed every CUDA device for good; here
    the CPU generator and the training device's generator are forked, seeded,
    and left as they were once training is done.
    """
    import torch

    device = torch.device(device)
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


class BaseRecurrentEstimator(BaseEstimator):
    """Base class of the recurrent estimators; not for direct use.

    Subclasses define ``__init__`` with the hyperparameters listed in
    ``_parameter_constraints``, set ``_cell`` and implement
    ``_encode_targets(y, warm)``, which returns the target tensor, the
    module's output parameters (e.g. ``{"output_size": 3}``), the criterion
    class and its parameters. ``_target_layout`` and ``_module_class`` pick
    the layout of ``y`` and the torch module.
    """

    _cell = "lstm"

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions({"last", "mean", "max", "attention"})],
        "return_sequences": ["boolean"],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"plateau", "constant"})],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "scale_inputs": ["boolean"],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "device": [StrOptions({"auto", "cpu", "cuda", "mps"}), str],
        "precision": [StrOptions({"float32", "bfloat16", "float16"})],
        "compile": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
        "accelerator": [HasMethods(["prepare", "backward"]), None],
    }

    # -- hooks for subclasses -------------------------------------------------

    _multi_output = False
    _y_numeric = False
    _stratify_validation = False

    def _target_layout(self, y):
        """How ``y`` is laid out: "sample", "step", "horizon" or "none"."""
        return "step" if getattr(self, "return_sequences", False) else "sample"

    def _module_class(self):
        """The torch module class, chosen by the hyperparameters alone."""
        from ._modules import RecurrentNetwork

        return RecurrentNetwork

    def _module_params(self, output_params):
        """The module's parameters: the encoder's, plus ``output_params`` from
        ``_encode_targets`` (the output size and shape)."""
        params = {
            "input_size": self.input_size_,
            **output_params,
            "cell": self._cell,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
            "pooling": self.pooling,
        }
        if self._cell == "rnn":
            params["nonlinearity"] = self.nonlinearity
        return params

    # -- fitting --------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Training sequences. A 2D array or DataFrame holds univariate
            sequences, one per row, its columns being the time steps; a list
            holds arrays of shape (n_timesteps_i, n_features), and a DataFrame
            indexed by (instance, time) one row per time step.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; per time step with ``return_sequences=True``, and a
            forecast horizon with a regressor's ``decoder``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_restore(X, y)

    def _fit_or_restore(self, X, y):
        # A fit that fails leaves the estimator as it was: a rejected warm start
        # or refit must not break a model that was fitted before.
        state = dict(self.__dict__)
        try:
            return self._fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, y):
        warm = self.warm_start and hasattr(self, "net_")
        previous_input_size = getattr(self, "input_size_", None)
        layout = self._target_layout(y)
        X, y = validate_fit_data(
            self,
            X,
            y,
            multi_output=self._multi_output,
            y_numeric=self._y_numeric,
            targets=layout,
        )
        if warm and previous_input_size != self.input_size_:
            raise ValueError(
                f"warm_start=True continues training the fitted network, which takes "
                f"{previous_input_size} features per time step, but X has "
                f"{self.input_size_}. Set warm_start=False to train a new network."
            )
        device = (
            resolve_device(self.device)
            if self.accelerator is None
            else str(self.accelerator.device)
        )
        self._check_speed_options(device)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                f"dropout={self.dropout} has no effect with num_layers=1: dropout is "
                "applied between stacked recurrent layers.",
                UserWarning,
            )
        if not warm:
            self._fit_input_scaling(X)
        y_tensor, output_params, criterion, criterion_params = self._encode_targets(y, warm)
        dataset = self._make_dataset(X, y_tensor, step_targets=layout == "step")
        if layout == "none":
            from ._batches import ReconstructionDataset

            dataset = ReconstructionDataset(dataset)
        if self.accelerator is None:
            from ._batches import place_on_device

            dataset = place_on_device(dataset, device)
        seed = seed_from_random_state(self.random_state)
        checkpoint = None
        if self.checkpoint_dir is not None:
            from ._checkpoint import fit_fingerprint, read_checkpoint

            fingerprint = fit_fingerprint(self, X, y)
            checkpoint = read_checkpoint(self.checkpoint_dir, fingerprint)
            if checkpoint is not None:
                seed = checkpoint["seed"]
            checkpoint_spec = (fingerprint, checkpoint)
        else:
            checkpoint_spec = None

        net = self._build_net(
            self._module_params(output_params),
            criterion,
            criterion_params,
            device,
            seed,
            checkpoint_spec,
        )
        with seeded_torch_rng(device, seed):
            net.initialize()
            if warm:
                self._load_warm_start_weights(net)
            if checkpoint is None:
                net.partial_fit(dataset)
            else:
                from ._checkpoint import restore_checkpoint

                restore_checkpoint(net, checkpoint)
                net.partial_fit(dataset, epochs=max(self.max_epochs - len(net.history), 0))
        self.net_ = net
        self.device_ = device
        self._record_history()
        return self

    def _check_speed_options(self, device):
        if self.accelerator is not None and (self.precision != "float32" or self.compile):
            raise ValueError(
                "With an accelerator, mixed precision and compilation are the "
                "Accelerator's settings (Accelerator(mixed_precision='bf16'), "
                "dynamo_backend=...): leave precision='float32' and compile=False."
            )
        if self.precision == "float16" and device.split(":")[0] not in ("cuda", "mps"):
            raise ValueError(
                f"precision='float16' needs a GPU, but the model trains on {device!r}, "
                "where PyTorch's recurrent kernels have no float16 version. Use "
                "precision='bfloat16' on the CPU."
            )

    def _fit_target_scaling(self, values, warm):
        """Standardise numeric targets (last axis: outputs) with the statistics of ``fit``.

        Sets ``n_outputs_``, ``target_mean_`` and ``target_scale_`` unless
        ``warm``; returns the scaled targets as a float32 tensor.
        """
        import torch

        n_outputs = values.shape[-1]
        if warm and n_outputs != self.n_outputs_:
            raise ValueError(
                f"warm_start=True continues training a network with {self.n_outputs_} "
                f"output(s), but y has {n_outputs}. Set warm_start=False to train anew."
            )
        if not warm:
            flat = values.reshape(-1, n_outputs)
            self.n_outputs_ = n_outputs
            if self.scale_targets:
                with np.errstate(over="ignore"):  # overflow is reported below, as an error
                    mean = flat.mean(axis=0)
                    scale = flat.std(axis=0)
                scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
                if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
                    raise ValueError(
                        "y holds values too large to standardise: their mean or standard "
                        "deviation overflows float64. Rescale y before fitting."
                    )
            else:
                mean, scale = np.zeros(n_outputs), np.ones(n_outputs)
            self.target_mean_, self.target_scale_ = mean, scale
        scaled = (values - self.target_mean_) / self.target_scale_
        return torch.from_numpy(scaled.astype(np.float32))

    def _encode_labels(self, y, warm):
        """Class labels as class indices of the same shape; sets ``classes_``.

        Returns the index tensor and the class weights for the loss (or None).
        """
        import torch
        from sklearn.utils.class_weight import compute_class_weight
        from sklearn.utils.multiclass import check_classification_targets

        labels = np.asarray(y).ravel()
        check_classification_targets(labels)
        classes, encoded = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes to learn from, but y "
                f"holds only one class: {classes.tolist()[0]!r}."
            )
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True continues training on the classes {self.classes_!r}, "
                f"but y has the classes {classes!r}. Set warm_start=False to train anew."
            )
        self.classes_ = classes
        class_weight = getattr(self, "class_weight", None)
        weights = None
        if class_weight is not None:
            weights = torch.as_tensor(
                compute_class_weight(class_weight, classes=classes, y=labels), dtype=torch.float32
            )
        return torch.from_numpy(encoded.astype(np.int64).reshape(np.shape(y))), weights

    def _fit_input_scaling(self, X):
        if isinstance(X, RaggedSequences):
            steps = X.values
        else:
            structure = window_structure(X)
            # Windows over one series: the series' statistics, without materialising windows.
            steps = X.reshape(-1, X.shape[2]) if structure is None else structure[0]
        if self.scale_inputs:
            with np.errstate(over="ignore"):  # overflow is reported below, as an error
                mean = steps.mean(axis=0, dtype=np.float64)
                scale = steps.std(axis=0, dtype=np.float64)
            # Constant features are centred, not divided by zero.
            scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
            if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
                raise ValueError(
                    "X holds values too large to standardise: their mean or standard "
                    "deviation overflows float64. Rescale X before fitting."
                )
        else:
            mean = np.zeros(steps.shape[1])
            scale = np.ones(steps.shape[1])
        self.input_mean_ = mean
        self.input_scale_ = scale

    def _make_dataset(self, X, y=None, step_targets=False):
        """Scaled float32 tensors of validated ``X`` (and ``y``) as a torch dataset.

        Windows over one series keep the series alone and are gathered per batch;
        ragged sequences stay end to end and are padded per batch, and so are
        their per-step targets (``step_targets``).
        """
        import torch

        from ._batches import RaggedDataset, SequenceDataset, WindowDataset

        def scaled(values):
            values = (values - self.input_mean_) / self.input_scale_
            return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))

        if isinstance(X, RaggedSequences):
            return RaggedDataset(
                scaled(X.values),
                torch.from_numpy(X.offsets),
                torch.from_numpy(X.lengths),
                y,
                step_targets=step_targets,
            )
        structure = window_structure(X)
        if structure is None:
            return SequenceDataset(scaled(X), y)
        series, step = structure
        starts = torch.arange(X.shape[0], dtype=torch.int64) * step
        return WindowDataset(scaled(series), starts, X.shape[1], y)

    def _build_net(
        self, module_params, criterion, criterion_params, device, seed, checkpoint_spec=None
    ):
        """The skorch net to train, around ``self._module_class()(**module_params)``.

        ``checkpoint_spec`` is None, or (fingerprint, state of the checkpoint to
        resume from or None) when ``checkpoint_dir`` is set.
        """
        from skorch.callbacks import GradientNormClipping

        from ._batches import BatchIterator, ValidationSplit
        from ._callbacks import PlateauSchedule, StopOnNonFiniteLoss
        from ._net import RecurrentNet

        callbacks = [("stop_on_non_finite_loss", StopOnNonFiniteLoss())]
        if self.clip_grad_norm is not None:
            callbacks.append(
                ("gradient_clipping", GradientNormClipping(gradient_clip_value=self.clip_grad_norm))
            )
        callbacks.append(
            (
                "plateau_schedule",
                PlateauSchedule(
                    monitor="valid_loss" if self.early_stopping else "train_loss",
                    patience=self.n_iter_no_change,
                    tol=self.tol,
                    max_reductions=4 if self.lr_schedule == "plateau" else 0,
                    factor=0.5,
                    restore_best=self.early_stopping,
                    resume_state=checkpoint_spec[1]["plateau"]
                    if checkpoint_spec and checkpoint_spec[1]
                    else None,
                ),
            )
        )
        if checkpoint_spec is not None:
            from ._checkpoint import CheckpointEvery

            callbacks.append(
                (
                    "checkpoint",
                    CheckpointEvery(
                        self.checkpoint_dir, self.checkpoint_every, checkpoint_spec[0], seed
                    ),
                )
            )
        # Copies, so that fitting never mutates the callbacks the user passed in.
        callbacks.extend(copy.deepcopy(_checked_callbacks(self.callbacks)))
        train_split = (
            ValidationSplit(self.validation_fraction, self._stratify_validation, seed)
            if self.early_stopping
            else None
        )
        optimizer_params = {}
        if self.weight_decay:
            optimizer_params["optimizer__weight_decay"] = self.weight_decay
        module_params = {f"module__{key}": value for key, value in module_params.items()}
        net_class, net_params = RecurrentNet, {
            "iterator_train": BatchIterator,
            "iterator_train__shuffle": True,
            "iterator_valid": BatchIterator,
            "device": device,
            "precision": self.precision,
            "compile_forward": self.compile,
        }
        if self.accelerator is not None:
            from ._distributed import AcceleratedNet, accelerate_net_params

            net_class = AcceleratedNet
            net_params = {
                "accelerator": self.accelerator,
                "device": None,  # the Accelerator places the model
                # skorch prints through accelerator.print, which ignores verbose=0.
                "callbacks__print_log__sink": self.accelerator.print if self.verbose else print,
                **accelerate_net_params(),
            }
        return net_class(
            module=self._module_class(),
            criterion=criterion,
            optimizer=_optimizer_class(self.optimizer),
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            verbose=self.verbose,
            **net_params,
            **module_params,
            **optimizer_params,
            **criterion_params,
        )

    def _load_warm_start_weights(self, net):
        old = self.net_.get_params_for("module")
        new = net.get_params_for("module")
        changed = sorted(key for key in new if old.get(key) != new[key])
        if changed:
            raise ValueError(
                "warm_start=True continues training the fitted network, so the "
                f"architecture cannot change, but these settings did: {changed}. "
                "Set warm_start=False to train a new network."
            )
        net.module_.load_state_dict(self.net_.module_.state_dict())

    def _record_history(self):
        history = self.net_.history
        if history and "train_loss" not in history[-1]:
            history.pop()  # an epoch cut short (skorch ends training on Ctrl-C)
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(loss) for loss in history[:, "train_loss"]]
        self.validation_loss_curve_ = (
            [float(loss) for loss in history[:, "valid_loss"]] if self.early_stopping else None
        )
        if not dict(self.net_.callbacks_)["plateau_schedule"].stopped_:
            warnings.warn(
                f"Maximum number of epochs ({self.max_epochs}) reached and the training "
                "loss has not converged yet. Raise max_epochs or lr.",
                ConvergenceWarning,
            )

    # -- prediction -----------------------------------------------------------

    def _batched_outputs(self, X, compute, step_outputs=False):
        """Run ``compute(batch)`` over prediction batches of validated ``X``.

        ``compute`` takes a batch on the module's device (a tensor, or a dict of
        ``"X"`` and ``"lengths"`` for ragged data) and returns a tensor with one
        row per sequence. With ``step_outputs``, its second axis is time, and
        ragged sequences keep only their real steps. It runs with the module in
        eval mode, without gradients, under the net's mixed precision.

        Returns
        -------
        outputs : ndarray of shape (n_samples, ...), float64, in input order;
            a list of arrays of shape (n_timesteps_i, ...) for ragged sequences
            with ``step_outputs``
        """
        import torch
        from skorch.utils import to_tensor

        from ._batches import place_on_device, prediction_batches
        from ._modules import step_mask

        module = self.net_.module_
        device = next(module.parameters()).device
        dataset = place_on_device(self._make_dataset(X), device)
        n_samples, n_done, pieces = len(dataset), 0, []
        ragged_steps = step_outputs and isinstance(X, RaggedSequences)
        if module.training:
            module.eval()
        with torch.no_grad(), self._autocast():
            for batch in prediction_batches(dataset, self.batch_size):
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
        sequences = np.split(outputs, np.cumsum(X.lengths[order.numpy()])[:-1])
        return [sequences[position] for position in position_of_sample]

    def _forward(self, X):
        """Network outputs for ``X``, float64: an array with a row per sequence, or
        a list of per-step arrays for ragged sequences and per-step outputs."""
        X = validate_predict_data(self, X)
        net = self.net_
        # The net's own forward (mixed precision, compiled module), without
        # evaluation_step's per-batch bookkeeping, a tenth of a one-sample
        # prediction. An accelerated net's step would also gather the outputs of
        # every process, and each process predicts its own inputs.
        return self._batched_outputs(
            X, net.infer, step_outputs=getattr(net.module_, "per_step", False)
        )

    def _autocast(self):
        """The fitted net's mixed-precision context (a no-op with an accelerator)."""
        autocast = getattr(self.net_, "autocast", None)
        return contextlib.nullcontext() if autocast is None else autocast()

    def _has_attention(self):
        return self.pooling == "attention"

    @available_if(lambda self: self._has_attention())
    def attention_weights(self, X):
        """How much each input time step counted in each prediction.

        With ``pooling="attention"``, the softmax weights the attention pooling
        gives the hidden state of every time step. With ``decoder="attention"``
        (regressors), the weights every forecast step of the decoder gives the
        encoder's time steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``.

        Returns
        -------
        weights : ndarray of shape (n_samples, n_timesteps), or \
                (n_samples, horizon, n_timesteps) for the decoder's attention;
            for sequences of different lengths, a list with an array per
            sequence, of shape (n_timesteps_i,) or (horizon, n_timesteps_i)
            Non-negative weights that sum to 1 over each sequence's time steps.
        """
        check_is_fitted(self)
        X = validate_predict_data(self, X)
        module = self.net_.module_

        def weights(batch):
            inputs = batch if isinstance(batch, dict) else {"X": batch}
            # Time on the second axis, where ragged sequences are cut to length.
            return module.attention_weights(**inputs).movedim(-1, 1)

        result = self._batched_outputs(X, weights, step_outputs=True)
        if isinstance(result, list):
            return [np.moveaxis(w, 0, -1) for w in result]
        return np.moveaxis(result, 1, -1)

    def save(self, path):
        """Save the fitted estimator to the directory ``path``, safely.

        Writes ``config.json`` (hyperparameters, fitted attributes, package
        version) and ``weights.safetensors``; ``sklearn_rnn.load(path)`` reads
        them back without executing any pickle, unlike ``pickle``/``joblib``.

        Parameters
        ----------
        path : str or path-like
            Directory to write; created if it does not exist.

        Returns
        -------
        path : pathlib.Path
            The directory written.
        """
        from ._persistence import save

        return save(self, path)

    def __sklearn_is_fitted__(self):
        # check_is_fitted would otherwise scan every attribute's name on each call.
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
