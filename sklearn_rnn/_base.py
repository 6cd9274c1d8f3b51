"""The estimator skeleton: shared hyperparameters, the fit and predict flow, saving.

Estimators hold a skorch ``NeuralNet`` in ``net_``, built in ``fit``; they do
not subclass it, so scikit-learn's parameter validation, ``clone`` and tags
stay intact while skorch runs the training loop, callbacks and history.

The work is done elsewhere, one job per module: ``_data`` validates input into
one typed value, ``_targets`` encodes targets, ``_batches`` builds datasets,
``_net`` builds the skorch net, ``_prediction`` runs prediction batches and
``_persistence`` reads and writes files. Subclasses fill the abstract contract
below and read their own parameters; this class reads only the shared ones.
"""

import copy
import hashlib
import json
import os
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _persistence
from ._scaling import BY_SERIES, resolved_scaling, sample_statistics, series_statistics
from ._data import (
    RaggedSequences,
    seed_from_random_state,
    standardisation,
    validate_fit_data,
    validate_predict_data,
    validate_sample_weight,
)

# torch's losses, which models saved before sample weights name, by the losses of this
# package that compute the same and also take sample weights (see _modules.LOSSES).
_TORCH_LOSSES = {"MSELoss": "RegressionLoss", "CrossEntropyLoss": "WeightedCrossEntropyLoss"}
# The constraint of the Elman cell's ``nonlinearity``, for the estimators that have one.
NONLINEARITY = [StrOptions({"tanh", "relu"})]
# The constraint of ``patch_size``, for the estimators that have one.
PATCH_SIZE = [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})]
# patch_size="auto" leaves the recurrent layers at most this many steps: measured in
# benchmarks/quality.py (GunPoint, BasicMotions), where 25-30 steps trained reliably.
AUTO_PATCH_STEPS = 32


def with_patch_size(estimator, params, sequences):
    """The network ``params`` with ``estimator.patch_size`` resolved, which is
    recorded as ``patch_size_`` (for the estimators that have ``patch_size``)."""
    estimator.patch_size_ = resolved_patch_size(
        estimator.patch_size,
        sequences,
        params.get("per_step", False),
        fitted=getattr(estimator, "patch_size_", None),  # set only when continuing
    )
    return {**params, "patch_size": estimator.patch_size_}


def resolved_patch_size(patch_size, sequences, per_step, fitted=None):
    """``patch_size`` as an int for validated ``sequences``; an error if it cannot apply.

    ``fitted``, the size a warm start continues with: "auto" keeps it, whatever
    the length of the new sequences."""
    if patch_size == "auto" and fitted is not None:
        return fitted
    if patch_size == "auto":
        return 1 if per_step else max(1, -(-sequences.longest // AUTO_PATCH_STEPS))
    if patch_size > 1 and per_step:
        raise ValueError(
            f"patch_size={patch_size} merges time steps, but return_sequences=True "
            "predicts at every step; set patch_size=1 (or 'auto')."
        )
    return patch_size


def _plain_number(value):
    """NumPy scalars as Python numbers, for ``json.dumps``."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{value!r} of type {type(value).__name__} is not JSON")


def _with_defaults(module_class, params):
    """``params`` with the module's defaults for those a model saved by an earlier
    version did not name (a warm start compares them with a new fit's)."""
    import inspect

    from ._modules import RecurrentNetwork

    def defaults(cls):
        return {
            name: parameter.default
            for name, parameter in inspect.signature(cls).parameters.items()
            if parameter.default is not inspect.Parameter.empty
        }

    signature = inspect.signature(module_class).parameters
    filled = defaults(module_class)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
        # The encoder's parameters, passed on through **encoder_params.
        filled = {**defaults(RecurrentNetwork), **filled}
    return {**filled, **params}


def _training_state(net):
    """Copies of what an epoch of ``net`` changes, for ``_restore_training_state``."""
    generator = getattr(net, "generator", None)
    return (
        copy.deepcopy(net.module_.state_dict()),
        copy.deepcopy(net.optimizer_.state_dict()),
        len(net.history),
        None if generator is None else generator.get_state(),
    )


def _restore_training_state(net, saved):
    module_state, optimizer_state, n_epochs, generator_state = saved
    net.module_.load_state_dict(module_state)
    net.optimizer_.load_state_dict(optimizer_state)
    del net.history[n_epochs:]
    if generator_state is not None:
        net.generator.set_state(generator_state)


def _network_seed(seed, k):
    """The seed of the ``k``-th of several networks fitted side by side (the first keeps ``seed``)."""
    if k == 0:
        return seed
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


def _merge_optimizer_states(net, nets):
    """Load the optimizer states of ``nets`` (one network each) into ``net``'s,
    whose parameters are theirs one network after another; the learning rate is
    the first network's (the schedule may have lowered it)."""
    groups = [fitted.optimizer_.state_dict() for fitted in nets]
    target = net.optimizer_.state_dict()
    if len(target["param_groups"]) != 1 or any(len(g["param_groups"]) != 1 for g in groups):
        return  # a custom optimizer with its own groups: it starts anew
    state, offset = {}, 0
    for group in groups:
        state.update({index + offset: value for index, value in group["state"].items()})
        offset += len(group["param_groups"][0]["params"])
    if offset != len(target["param_groups"][0]["params"]):
        return
    lr = nets[0].optimizer_.param_groups[0]["lr"]
    net.optimizer_.load_state_dict(
        {"state": state, "param_groups": [{**target["param_groups"][0], "lr": lr}]}
    )


def _target_weights(weights, sequences, layout):
    """Sample weights over the leading axes of the validated targets, or None."""
    if weights is None or layout == "input":
        return None
    per_sample = len(weights) == len(sequences)
    if layout == "step" and isinstance(sequences, RaggedSequences) and per_sample:
        return np.repeat(weights, sequences.lengths)  # targets are stored end to end
    return weights


class BaseRecurrentEstimator(BaseEstimator, metaclass=ABCMeta):
    """Base class of the recurrent estimators; not for direct use.

    The contract a subclass fills:

    - ``__init__`` with its full, keyword-only signature, forwarding the
      shared hyperparameters here and storing its own;
    - ``_cell``: ``"rnn"``, ``"lstm"`` or ``"gru"``;
    - ``_target_spec(y)``: the ``TargetSpec`` of ``y`` (its layout and kind);
    - ``_network_class()``: the torch module, chosen by hyperparameters (and
      what ``_note_targets`` resolved from the data);
    - ``_encode_targets(y, warm, classes, weights)``: a ``TrainingTargets``
      (targets as the loss sees them, the network's output parameters, the
      loss, fitted attributes);
    - optionally ``_encoder_params()`` (Elman cells add their nonlinearity),
      ``_network_params(sequences, targets)`` (parameters that depend on the
      inputs), ``_early_stopping_by_default(n_samples)`` (what
      ``early_stopping="auto"`` means), ``_training_callbacks(warm, module_params,
      network)``,
      ``_stratify_validation`` and ``_has_attention()``.
    """

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions({"last", "mean", "max", "attention"})],
        "scale_inputs": ["boolean", StrOptions({"auto", "series", "window"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"plateau", "constant"})],
        "optimizer": [StrOptions({"adam", "adamw", "sgd", "rmsprop"}), callable],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
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

    # Public subclasses by class name: the only classes ``load`` rebuilds.
    _registry: dict = {}
    _stratify_validation = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            BaseRecurrentEstimator._registry[cls.__name__] = cls

    @abstractmethod
    def __init__(
        self,
        *,
        hidden_size,
        num_layers,
        bidirectional,
        dropout,
        pooling,
        scale_inputs,
        max_epochs,
        batch_size,
        lr,
        lr_schedule,
        optimizer,
        weight_decay,
        clip_grad_norm,
        early_stopping,
        validation_fraction,
        n_iter_no_change,
        tol,
        callbacks,
        verbose,
        device,
        precision,
        compile,
        random_state,
        warm_start,
        checkpoint_dir,
        checkpoint_every,
        accelerator,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.scale_inputs = scale_inputs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.clip_grad_norm = clip_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.verbose = verbose
        self.device = device
        self.precision = precision
        self.compile = compile
        self.random_state = random_state
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.accelerator = accelerator

    # -- the contract -----------------------------------------------------------

    @property
    @abstractmethod
    def _cell(self):
        """The recurrent cell: "rnn", "lstm" or "gru"."""

    @abstractmethod
    def _target_spec(self, y):
        """The ``TargetSpec`` of ``y`` under the current hyperparameters."""

    @abstractmethod
    def _network_class(self):
        """The torch module class, chosen by the hyperparameters alone."""

    @abstractmethod
    def _encode_targets(self, y, warm, classes=None, weights=None):
        """Validated ``y`` as a ``TrainingTargets``.

        With ``warm``, the fitted attributes of the previous fit are kept (and
        ``y`` must agree with them). ``classes``, the labels a classifier's first
        ``partial_fit`` declares, or None. ``weights``, the sample weights over
        ``y``'s leading axes (for a weighted target scaling), or None.
        """

    def _encoder_params(self):
        """The recurrent encoder's parameters."""
        return {
            "cell": self._cell,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
            "pooling": self.pooling,
        }

    def _has_attention(self):
        return self.pooling == "attention"

    def _network_params(self, sequences, targets):
        """The torch module's parameters, given the validated inputs and targets."""
        return {
            "input_size": self.input_size_,
            **targets.output_params,
            **self._encoder_params(),
        }

    def _early_stopping_by_default(self, n_samples):
        """What ``early_stopping="auto"`` resolves to for ``n_samples`` sequences."""
        return False

    def _uses_early_stopping(self, n_samples):
        if self.early_stopping == "auto":
            return self._early_stopping_by_default(n_samples)
        return bool(self.early_stopping)

    def _training_callbacks(self, warm, module_params, network=0):
        """(before, after): (name, callback) pairs the fit runs before and after the
        learning-rate schedule, for a network of ``module_params`` (the
        ``network``-th of several)."""
        return [], []

    def _networks_combined(self, ensemble, nets):
        """Called once the fitted ``nets`` are loaded into ``ensemble``, the module
        of several networks; what is learnt of them together goes here."""

    # -- fitting ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
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
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the sequences in the loss (the validation loss of early
            stopping included), the input and target scaling and a regressor's
            linear part; None weighs them alike. With ``return_sequences=True``
            also a weight per time step: of shape (n_samples, n_timesteps), or
            a list of arrays (n_timesteps_i,) for sequences of any lengths.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_or_restore(X, y, sample_weight=sample_weight)

    def _fit_or_restore(self, X, y, partial=False, classes=None, sample_weight=None):
        # A fit that fails leaves the estimator as it was: a rejected warm start
        # or refit must not break a model that was fitted before.
        state = dict(self.__dict__)
        try:
            return self._fit(X, y, partial, classes, sample_weight)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _partial_fit_once(self, X, y, classes=None, sample_weight=None):
        """One epoch on ``X, y``: ``partial_fit``'s work for every estimator."""
        return self._fit_or_restore(X, y, True, classes, sample_weight)

    def _fit(self, X, y, partial=False, classes=None, sample_weight=None):
        """Train on ``X, y``: a whole fit, or with ``partial`` one epoch, which
        continues the fitted net (its optimizer state included) after the first."""
        from ._batches import make_dataset, place_on_device
        from ._modules import unwrapped
        from ._net import build_net, seeded_torch_rng, training_device

        fitted = hasattr(self, "net_")
        warm = fitted and (partial or self.warm_start)
        continuing = fitted and partial
        if not warm:
            # Nothing learnt by an earlier fit (with other targets, say) may linger.
            for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("_")]:
                delattr(self, name)
        previous_input_size = getattr(self, "input_size_", None)
        spec = self._target_spec(y)
        sequences, y = validate_fit_data(self, X, y, targets=spec, reset=not continuing)
        if warm and previous_input_size != self.input_size_:
            raise ValueError(
                f"warm_start=True (and partial_fit) continue training the fitted network, "
                f"which takes {previous_input_size} features per time step, but X has "
                f"{self.input_size_}. Fit anew (warm_start=False) to train a new network."
            )
        settings = self.get_params(deep=False)
        # Continuing: where the network is now (a loaded model's load(device=...)).
        device = str(next(self.net_.module_.parameters()).device) if continuing else None
        device = device or training_device(settings)
        if self.dropout > 0 and self.num_layers == 1 and not continuing:
            warnings.warn(
                f"dropout={self.dropout} has no effect with num_layers=1: dropout is "
                "applied between stacked recurrent layers.",
                UserWarning,
            )
        weights = validate_sample_weight(sample_weight, sequences, per_step=spec.layout == "step")
        self._check_future(sequences, fitted=warm)
        if not warm:
            self._fit_scaling(sequences, weights)
            held_out = not partial and self._uses_early_stopping(len(sequences))
            self._note_targets(sequences, y, spec, held_out)
        y = self._series_scaled_targets(sequences, y, spec)
        targets = self._encode_targets(
            y, warm, classes, _target_weights(weights, sequences, spec.layout)
        )
        for name, value in targets.fitted.items():
            setattr(self, name, value)
        mean, scale, by_sample = self._input_scaling(sequences)
        dataset = make_dataset(
            sequences,
            mean,
            scale,
            targets.values,
            spec.layout,
            weights,
            future_scaling=self._future_scaling(),
            sample_scaling=by_sample,
        )
        if self.accelerator is None:
            dataset = place_on_device(dataset, device)
        if continuing:
            self.device_ = device
            self._train_one_more_epoch(dataset)
            return self
        seed = seed_from_random_state(self.random_state)
        fingerprint = None
        if self.checkpoint_dir is not None and not partial:
            from ._checkpoint import fit_fingerprint

            fingerprint = fit_fingerprint(self, sequences.fingerprint_data(), y, weights)
        # partial_fit trains on all it is given: no validation split, no schedule.
        early_stopping = not partial and self._uses_early_stopping(len(sequences))
        module = self._network_class()
        module_params = self._network_params(sequences, targets)
        n_networks = module_params.get("n_networks", 1)
        warm_states = [None] * n_networks
        if warm:
            warm_states = self._warm_start_states(module_params)

        def build(module, module_params, seed, callbacks, checkpoint=None):
            net = build_net(
                settings,
                module=module,
                module_params=module_params,
                criterion=targets.criterion,
                criterion_params=targets.criterion_params,
                device=device,
                seed=seed,
                stratify=self._stratify_validation,
                early_stopping=early_stopping,
                callbacks=callbacks,
                checkpoint=checkpoint,
            )
            # Weights are drawn from torch's process-wide generator, seeded under a lock;
            # shuffles and dropout masks then come from the net's own generator.
            with seeded_torch_rng(device, seed):
                net.initialize()
            return net

        def train(module, module_params, seed, fingerprint, warm_state, network=0):
            """One network's fit (partial_fit's first epoch), resumed from its checkpoint."""
            checkpoint = resumed = None
            if fingerprint is not None:
                from ._checkpoint import read_checkpoint

                resumed = read_checkpoint(self.checkpoint_dir, fingerprint)
                if resumed is not None:
                    seed = resumed["seed"]
                checkpoint = (fingerprint, resumed)
            callbacks = self._training_callbacks(warm, module_params, network)
            net = build(module, module_params, seed, callbacks, checkpoint)
            if warm_state is not None:
                unwrapped(net.module_).load_state_dict(warm_state)
            if resumed is None:
                net.partial_fit(dataset, epochs=1 if partial else None)
            else:
                from ._checkpoint import restore_checkpoint

                restore_checkpoint(net, resumed)
                net.partial_fit(dataset, epochs=max(self.max_epochs - len(net.history), 0))
            return net

        if n_networks == 1:
            nets = [train(module, module_params, seed, fingerprint, warm_states[0])]
            self.net_ = nets[0]
        else:
            # Each network is fitted alone, with its own seed: its own initial
            # weights, batch order and early stopping, as independent fits are.
            member_params = {k: v for k, v in module_params.items() if k != "n_networks"}
            nets = []
            for k in range(n_networks):
                network_fingerprint = None
                if fingerprint is not None:
                    network_fingerprint = hashlib.sha256(f"{fingerprint}/{k}".encode()).hexdigest()
                net = train(
                    module.member_class,
                    member_params,
                    _network_seed(seed, k),
                    network_fingerprint,
                    warm_states[k],
                    network=k,
                )
                nets.append(net)
                if net.history and "train_loss" not in net.history[-1] and k < n_networks - 1:
                    # Ctrl-C, which skorch takes as the end of one network's training,
                    # ends the whole fit; with checkpoint_dir, the next fit resumes this
                    # network (and fits the ones before it again, to the same weights).
                    raise KeyboardInterrupt
            # One net holds them all; what it trains further (partial_fit) starts
            # from each network's own optimizer state. Its history is the first's.
            self.net_ = build(module, module_params, seed, self._training_callbacks(True, module_params))
            for network, fitted in zip(unwrapped(self.net_.module_).networks, nets):
                network.load_state_dict(unwrapped(fitted.module_).state_dict())
            _merge_optimizer_states(self.net_, nets)
            self._networks_combined(unwrapped(self.net_.module_), nets)
            self.net_.history = nets[0].history
        self.device_ = device
        self._record_history(early_stopping, warn=not partial, nets=nets)
        return self

    def _fit_scaling(self, sequences, weights):
        """Learn the input standardisation (``scale_inputs``, and a regressor's
        ``scale_targets`` resolved in ``scaling_``), with each series' statistics
        where scaling is by series or by window; and the known-future columns'."""
        self.scaling_ = resolved_scaling(
            self.scale_inputs, getattr(self, "scale_targets", None), sequences
        )
        if any(mode in BY_SERIES for mode in self.scaling_.values()):
            self.series_labels_, self.series_mean_, self.series_scale_ = series_statistics(
                sequences, weights
            )
        self.input_mean_, self.input_scale_ = standardisation(
            *sequences.timestep_rows(weights),
            enabled=self.scaling_["inputs"] is True,
            name="X",
        )
        if getattr(sequences, "n_future", 0):
            self.n_future_, self.future_steps_ = sequences.n_future, sequences.horizon
            self.future_mean_, self.future_scale_ = standardisation(
                *sequences.future_rows(), enabled=bool(self.scale_inputs), name="X"
            )

    def _sample_scaling(self, sequences, mode):
        """Each sample's ``SampleScaling`` when scaled by ``mode`` ("series" or
        "window"), from the series statistics learnt in ``fit``. Computed once per
        validated input: inputs and targets scaled alike share it."""
        computed = sequences.__dict__.setdefault("_sample_scaling", {})
        if mode not in computed:
            computed[mode] = sample_statistics(
                sequences, mode, self.series_labels_, self.series_mean_, self.series_scale_
            )
        return computed[mode]

    def _input_scaling(self, sequences):
        """How ``make_dataset`` standardises ``sequences``: ``(mean, scale,
        by_sample)``: per feature, or (by series or window) a centre per row
        and each sample's (offset, scale) less that centre."""
        mode = getattr(self, "scaling_", {}).get("inputs")
        if mode not in BY_SERIES:
            return self.input_mean_, self.input_scale_, None
        scaling = self._sample_scaling(sequences, mode)
        n_features = self.input_size_
        if scaling.row_centre is None:
            return np.zeros(n_features), np.ones(n_features), (scaling.offset, scaling.scale)
        # Rows are stored less a constant of their series, in float32; each window
        # then less the rest of its offset: small variations of series far from zero
        # survive the float32 storage.
        sample_centre = scaling.row_centre[sequences.starts]
        by_sample = (scaling.offset - sample_centre, scaling.scale)
        return scaling.row_centre, np.ones(n_features), by_sample

    def _future_scaling(self):
        """The known-future columns' (mean, scale), or None without them."""
        if not getattr(self, "n_future_", 0):
            return None
        return self.future_mean_, self.future_scale_

    def _reads_future(self):
        """Whether the estimator reads windows' known-future columns (regressors)."""
        return False

    def _series_scaled_targets(self, sequences, y, spec):
        """``y`` scaled per series before its encoding (regressors); here unchanged."""
        return y

    def _note_targets(self, sequences, y, spec, early_stopping):
        """Learn from the unscaled ``y`` of a new fit (``early_stopping``: whether it
        holds out samples) what the network needs to know of it (regressors: the
        features it continues); here nothing."""

    def _check_future(self, sequences, fitted):
        """Refuse known-future columns where they cannot be read, or that differ
        from those the model was fitted with."""
        n_future = getattr(sequences, "n_future", 0)
        name = type(self).__name__
        if n_future and not self._reads_future():
            raise ValueError(
                f"X holds known-future columns (Windows made with future=...), which "
                f"{name} does not read: only the regressors' forecasts use them, and "
                "not with return_sequences=True. Make the windows without future=."
            )
        if not fitted:
            return
        expected = getattr(self, "n_future_", 0)
        if n_future != expected or (n_future and sequences.horizon != self.future_steps_):
            have = f"{n_future} known-future column(s)" + (
                f" over {sequences.horizon} step(s)" if n_future else ""
            )
            want = f"{expected} known-future column(s)" + (
                f" over {self.future_steps_} step(s)" if expected else ""
            )
            raise ValueError(
                f"X has {have}, but {name} was fitted with {want}. Make the windows "
                "with the same future= columns and horizon as in fit (make_windows, or "
                "make_forecast_windows for the periods after the data)."
            )

    def _train_one_more_epoch(self, dataset):
        """One more epoch of the fitted net on all of ``dataset``, at the current
        learning rate: without a validation split and without the callbacks that
        act once per fit (``once_per_fit``: the schedule, checkpoints, the linear
        part's ridge, the intervals' calibration). An epoch that fails leaves the
        network, its optimizer, random stream and history as they were."""
        net = self.net_
        saved = _training_state(net)
        callbacks, train_split = net.callbacks_, net.train_split
        net.callbacks_ = [
            (name, cb) for name, cb in callbacks if not getattr(cb, "once_per_fit", False)
        ]
        net.train_split = None
        try:
            net.partial_fit(dataset, epochs=1)
        except BaseException:
            _restore_training_state(net, saved)
            raise
        finally:
            net.callbacks_, net.train_split = callbacks, train_split
        self._record_history(False, warn=False)

    def _warm_start_states(self, module_params):
        """The fitted weights a warm start continues from, one state per network;
        the architecture must not have changed."""
        from ._modules import unwrapped

        old = self.net_.get_params_for("module")
        changed = sorted(key for key in module_params if old.get(key) != module_params[key])
        if old.get("n_networks", 1) != module_params.get("n_networks", 1):
            changed = sorted({*changed, "n_networks"})
        if changed:
            raise ValueError(
                "warm_start=True continues training the fitted network, so the "
                f"architecture cannot change, but these settings did: {changed}. "
                "Set warm_start=False to train a new network."
            )
        module = unwrapped(self.net_.module_)
        networks = getattr(module, "networks", [module])
        return [network.state_dict() for network in networks]

    def _record_history(self, early_stopping, warn=True, nets=None):
        """The fitted history attributes (the first network's, for several), and a
        ConvergenceWarning when a network (of ``nets``, default ``net_``) stopped at
        ``max_epochs`` still improving."""
        history = self.net_.history
        if history and "train_loss" not in history[-1]:
            history.pop()  # an epoch cut short (skorch ends training on Ctrl-C)
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(loss) for loss in history[:, "train_loss"]]
        self.validation_loss_curve_ = (
            [float(loss) for loss in history[:, "valid_loss"]] if early_stopping else None
        )
        nets = [self.net_] if nets is None else nets
        if warn and not all(dict(net.callbacks_)["plateau_schedule"].stopped_ for net in nets):
            warnings.warn(
                f"Maximum number of epochs ({self.max_epochs}) reached and the training "
                "loss has not converged yet. Raise max_epochs or lr.",
                ConvergenceWarning,
            )

    # -- prediction -------------------------------------------------------------

    def _outputs(self, sequences, compute, step_outputs=False):
        """``compute`` over prediction batches of validated ``sequences``; see
        ``_prediction.batched_outputs``."""
        from ._prediction import batched_outputs

        self._check_future(sequences, fitted=True)
        mean, scale, by_sample = self._input_scaling(sequences)
        return batched_outputs(
            self.net_,
            sequences,
            mean,
            scale,
            self.batch_size,
            compute,
            step_outputs,
            future_scaling=self._future_scaling(),
            sample_scaling=by_sample,
        )

    def _forward(self, X):
        """Network outputs for ``X``, float64: an array with a row per sequence, or
        a list of per-step arrays for ragged sequences and per-step outputs."""
        return self._forward_sequences(validate_predict_data(self, X))

    def _forward_sequences(self, sequences):
        """``_forward`` of validated ``sequences``."""
        net = self.net_
        # The net's own forward (mixed precision, compiled module), without
        # evaluation_step's per-batch bookkeeping, a tenth of a one-sample
        # prediction. An accelerated net's step would also gather the outputs of
        # every process, and each process predicts its own inputs.
        return self._outputs(
            sequences, net.infer, step_outputs=getattr(net.module_, "per_step", False)
        )

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
                (n_samples, horizon, n_timesteps) for the decoder's attention
            Non-negative weights that sum to 1 over each sequence's time steps;
            for sequences of different lengths, a list with an array per
            sequence, of shape (n_timesteps_i,) or (horizon, n_timesteps_i).
        """
        check_is_fitted(self)
        sequences = validate_predict_data(self, X)
        module = self.net_.module_

        def weights(batch):
            inputs = batch if isinstance(batch, dict) else {"X": batch}
            # Time on the second axis, where ragged sequences are cut to length.
            return module.attention_weights(**inputs).movedim(-1, 1)

        result = self._outputs(sequences, weights, step_outputs=True)
        if isinstance(result, list):
            return [np.moveaxis(w, 0, -1) for w in result]
        return np.moveaxis(result, 1, -1)

    def __sklearn_is_fitted__(self):
        # check_is_fitted would otherwise scan every attribute's name on each call.
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # -- saving -----------------------------------------------------------------

    def save(self, path):
        """Save the fitted estimator to the directory ``path``, safely.

        Writes ``config.json`` (hyperparameters, fitted attributes, package
        version) and ``weights.safetensors`` (the network's weights and the
        fitted arrays); ``load`` reads them back without executing any pickle,
        unlike ``pickle``/``joblib``.

        Parameters
        ----------
        path : str or path-like
            Directory to write; created if it does not exist.

        Returns
        -------
        path : pathlib.Path
            The directory written.
        """
        check_is_fitted(self)
        params = {name: self._saved_param(name, value) for name, value in self.get_params(deep=False).items()}
        fitted, tensors = {}, {}
        # Every attribute that is not a hyperparameter is fitted state (including
        # private state such as the set_output configuration): nothing is listed by hand.
        for name, value in vars(self).items():
            if name in params or name == "net_":
                continue
            if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
                tensors[f"fitted.{name}"] = np.ascontiguousarray(value)
                continue
            try:
                fitted[name] = _persistence.to_json(value)
            except TypeError as exc:
                raise TypeError(f"The fitted attribute {name} cannot be saved safely: {exc}") from None
        criterion = self.net_.criterion_
        tensors.update(
            {
                f"module.{name}": tensor.detach().to("cpu").contiguous()
                for name, tensor in self.net_.module_.state_dict().items()
            }
        )
        if getattr(criterion, "weight", None) is not None:
            tensors["criterion.weight"] = criterion.weight.detach().to("cpu").contiguous()
        try:
            # History rows hold numbers, strings and lists of per-batch rows.
            history = json.loads(json.dumps(self.net_.history.to_list(), default=_plain_number))
        except TypeError as exc:
            raise TypeError(
                f"net_.history holds a value JSON cannot store ({exc}); a callback wrote "
                "it there. Remove it from the history before saving, or use pickle."
            ) from None
        config = {
            "estimator": type(self).__name__,
            "params": params,
            "fitted": fitted,
            "history": history,
            "module": {
                key: _persistence.to_json(value)
                for key, value in self.net_.get_params_for("module").items()
            },
            "criterion": type(criterion).__name__,
            "criterion_params": {
                key: _persistence.to_json(value)
                for key, value in self.net_.get_params_for("criterion").items()
                if key != "weight"  # a tensor, saved with the weights
            },
        }
        return _persistence.write_model(path, config, tensors)

    @staticmethod
    def _saved_param(name, value):
        """A hyperparameter as the safe format stores it, or an error saying why not."""
        if name == "callbacks" and value:
            raise TypeError(
                "callbacks cannot be saved in the safe format: they are Python objects. "
                "Set callbacks=None before saving (they only act during fit), or use pickle."
            )
        if name == "accelerator" and value is not None:
            warnings.warn(
                "accelerator is a training-time object that the safe format cannot "
                "store; it is saved as None. The fitted weights are saved unchanged.",
                UserWarning,
            )
            return None
        if name == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn(
                "random_state is a RandomState instance, which the safe format cannot "
                "store; it is saved as None. The fitted weights are saved unchanged.",
                UserWarning,
            )
            return None
        if name == "checkpoint_dir" and value is not None:
            return os.fspath(value)
        try:
            return _persistence.to_json(value)
        except TypeError as exc:
            raise TypeError(f"{name}={value!r} cannot be saved in the safe format: {exc}") from None

    @classmethod
    def load(cls, path, *, device="cpu"):
        """Load an estimator saved with ``save(path)``, executing no pickle.

        Parameters
        ----------
        path : str or path-like
            The directory written by ``save``.
        device : {"cpu", "auto", "cuda", "cuda:N", "mps"}, default="cpu"
            Where to put the network. The default works on every machine,
            whatever the model was trained on.

        Returns
        -------
        estimator : fitted estimator
            Predicts exactly as the saved one did.

        Raises
        ------
        ValueError
            If the files are corrupted, truncated, do not belong together, or
            hold another kind of estimator than ``cls``.
        """
        import torch

        from . import _modules
        from ._net import build_net, resolve_device

        config = _persistence.read_config(path)
        name = str(config.get("estimator"))
        saved_class = BaseRecurrentEstimator._registry.get(name)
        if saved_class is None:
            raise ValueError(f"{path}: unknown estimator {config.get('estimator')!r}.")
        if not issubclass(saved_class, cls):
            raise ValueError(f"{path} holds a {name}, which is not a {cls.__name__}.")
        tensors = _persistence.read_tensors(path, config)

        params = {key: _persistence.from_json(value) for key, value in config["params"].items()}
        estimator = saved_class(**params)
        for key, value in config["fitted"].items():
            setattr(estimator, key, _persistence.from_json(value))
        for key, tensor in tensors.items():
            if key.startswith("fitted."):
                setattr(estimator, key[len("fitted.") :], tensor.numpy())
        criterion_name = _TORCH_LOSSES.get(config.get("criterion"), config.get("criterion"))
        if criterion_name in _modules.LOSSES:
            criterion = _modules.LOSSES[criterion_name]
        else:
            raise ValueError(f"{path}: unknown criterion {criterion_name!r}.")
        criterion_params = {
            f"criterion__{key}": _persistence.from_json(value)
            for key, value in config.get("criterion_params", {}).items()
        }
        if "criterion.weight" in tensors:
            criterion_params["criterion__weight"] = tensors["criterion.weight"]
        net = build_net(
            estimator.get_params(deep=False),
            module=estimator._network_class(),
            module_params=_with_defaults(
                estimator._network_class(),
                {key: _persistence.from_json(v) for key, v in config["module"].items()},
            ),
            criterion=criterion,
            criterion_params=criterion_params,
            device=resolve_device(device),
            seed=0,
            stratify=estimator._stratify_validation,
        )
        net.initialize()
        if "history" in config:  # format 1 did not keep it
            from skorch.history import History

            net.history = History(config["history"])
        module_state = {
            key[len("module.") :]: tensor
            for key, tensor in tensors.items()
            if key.startswith("module.")
        }
        try:
            net.module_.load_state_dict(module_state)
        except RuntimeError as exc:
            raise ValueError(
                f"{path}: the saved weights do not fit the saved architecture: {exc}"
            ) from None
        estimator.net_ = net
        return estimator

