"""Recurrent regressors: many-to-one sequence regression."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRecurrentEstimator, flatten_steps
from ._docs import estimator_doc

_REGRESSOR_PARAMETERS = """\
decoder : {None, "rnn", "attention"}, default=None
    How a forecast horizon is produced. None: a linear head outputs every
    target at once (direct multi-output). ``"rnn"``: an encoder-decoder
    (sequence to sequence) network, whose decoder cell unrolls one step per
    horizon step, fed its previous prediction; ``"attention"``: the same, its
    decoder also attending over the encoder's time steps at every step (read
    the weights with ``attention_weights``). With a decoder, ``y`` has shape
    (n_samples, horizon) or (n_samples, horizon, n_targets).
scale_targets : bool, default=True
    Whether to standardise each target with its mean and standard deviation
    for training; predictions are returned on the original scale.
"""

_REGRESSOR_ATTRIBUTES = """\
n_outputs_ : int
    Number of targets (per time step with ``return_sequences``, per horizon
    step with a ``decoder``).
horizon_ : int
    Number of forecast steps; only with a ``decoder``.
target_mean_, target_scale_ : ndarray of shape (n_outputs_,)
    The target standardisation learnt in ``fit`` (zeros and ones when
    ``scale_targets=False``).
"""

_EXAMPLE = """\
>>> import numpy as np
>>> from sklearn_rnn import {name}
>>> rng = np.random.RandomState(0)
>>> X = rng.normal(size=(64, 8, 2))          # 64 sequences, 8 steps, 2 features
>>> y = X[:, -1, 0] + X[:, -2, 1]
>>> reg = {name}(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
>>> reg.predict(X[:3]).shape
(3,)
"""


class _RecurrentRegressor(RegressorMixin, BaseRecurrentEstimator):
    """Regression on top of the shared recurrent core."""

    _parameter_constraints: dict = {
        **BaseRecurrentEstimator._parameter_constraints,
        "scale_targets": ["boolean"],
        "decoder": [StrOptions({"rnn", "attention"}), None],
    }
    _multi_output = True
    _y_numeric = True

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
        return_sequences=False,
        decoder=None,
        max_epochs=200,
        batch_size=32,
        lr=1e-2,
        lr_schedule="plateau",
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        scale_inputs=True,
        scale_targets=True,
        callbacks=None,
        verbose=0,
        device="auto",
        precision="float32",
        compile=False,
        random_state=None,
        warm_start=False,
        checkpoint_dir=None,
        checkpoint_every=10,
        accelerator=None,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.return_sequences = return_sequences
        self.decoder = decoder
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
        self.scale_inputs = scale_inputs
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
        self.scale_targets = scale_targets

    def _target_layout(self, y):
        if self.decoder is not None and self.return_sequences:
            raise ValueError(
                f"return_sequences=True (a prediction per input time step) and "
                f"decoder={self.decoder!r} (a forecast of the steps after the input) "
                "exclude each other; set one of them."
            )
        if self.decoder is not None:
            return "horizon"
        return super()._target_layout(y)

    def _has_attention(self):
        return super()._has_attention() or self.decoder == "attention"

    def _module_class(self):
        from ._modules import RecurrentNetwork, Seq2SeqNetwork

        return RecurrentNetwork if self.decoder is None else Seq2SeqNetwork

    def _encode_targets(self, y, warm):
        import torch

        from ._modules import MaskedMSELoss

        values = np.asarray(y, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, np.newaxis]
        target = self._fit_target_scaling(values, warm)
        n_outputs = values.shape[-1]
        if self.decoder is not None:
            self.horizon_ = y.shape[1]
            output_params = {
                "horizon": y.shape[1],
                "n_targets": n_outputs,
                "attention": self.decoder == "attention",
            }
            return target, output_params, torch.nn.MSELoss, {}
        if self.return_sequences:
            # Padded steps of ragged sequences get NaN targets, which the loss skips.
            return target, {"output_size": n_outputs, "per_step": True}, MaskedMSELoss, {}
        return target, {"output_size": n_outputs}, torch.nn.MSELoss, {}

    def predict(self, X):
        """Predict targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``; 3D input may have any number
            of time steps.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets, on the scale of the training targets. With
            ``return_sequences=True``: of shape (n_samples, n_timesteps) or
            (n_samples, n_timesteps, n_outputs), a list of arrays of shape
            (n_timesteps_i,) or (n_timesteps_i, n_outputs) for sequences of
            different lengths. With a ``decoder``: of shape (n_samples,
            horizon_) or (n_samples, horizon_, n_outputs).
        """
        check_is_fitted(self)
        outputs = self._forward(X)

        def unscaled(values):
            values = values * self.target_scale_ + self.target_mean_
            return values[..., 0] if self.n_outputs_ == 1 else values

        if isinstance(outputs, list):
            return [unscaled(values) for values in outputs]
        return unscaled(outputs)

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2 of ``predict(X)`` against ``y``.

        With ``return_sequences=True`` or a ``decoder``, every time step (or
        horizon step) of every sequence counts as a sample, and the R^2 of each
        output is averaged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences
            Test sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), or as in ``fit``
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; a sequence's weight applies to each of its steps.

        Returns
        -------
        score : float
        """
        if not self.return_sequences and self.decoder is None:
            return super().score(X, y, sample_weight=sample_weight)
        from sklearn.metrics import r2_score

        y_pred = self.predict(X)
        if self.decoder is not None:
            # Each horizon step (and target) is an output of its own, as it is for
            # the direct head's (n_samples, horizon) targets.
            y_true = np.asarray(y, dtype=np.float64).reshape(len(y_pred), -1)
            return r2_score(y_true, y_pred.reshape(len(y_pred), -1), sample_weight=sample_weight)
        y_true, y_pred, weights = flatten_steps(y, y_pred, sample_weight)
        return r2_score(y_true, y_pred, sample_weight=weights)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


_SUMMARY = """Sequence regressor built on {network}.

Reads each sequence, pools the hidden states into one vector and maps it to
the targets with a linear layer (many-to-one). Inputs and targets are
standardised internally, so the defaults work on raw data."""


class LSTMRegressor(_RecurrentRegressor):
    _cell = "lstm"


class GRURegressor(_RecurrentRegressor):
    _cell = "gru"


class RNNRegressor(_RecurrentRegressor):
    _cell = "rnn"
    _parameter_constraints: dict = {
        **_RecurrentRegressor._parameter_constraints,
        "nonlinearity": [StrOptions({"tanh", "relu"})],
    }

    def __init__(
        self,
        *,
        nonlinearity="tanh",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
        return_sequences=False,
        decoder=None,
        max_epochs=200,
        batch_size=32,
        lr=1e-2,
        lr_schedule="plateau",
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        scale_inputs=True,
        scale_targets=True,
        callbacks=None,
        verbose=0,
        device="auto",
        precision="float32",
        compile=False,
        random_state=None,
        warm_start=False,
        checkpoint_dir=None,
        checkpoint_every=10,
        accelerator=None,
    ):
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout,
            pooling=pooling,
            return_sequences=return_sequences,
            decoder=decoder,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            lr_schedule=lr_schedule,
            optimizer=optimizer,
            weight_decay=weight_decay,
            clip_grad_norm=clip_grad_norm,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            scale_inputs=scale_inputs,
            scale_targets=scale_targets,
            callbacks=callbacks,
            verbose=verbose,
            device=device,
            precision=precision,
            compile=compile,
            random_state=random_state,
            warm_start=warm_start,
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=checkpoint_every,
            accelerator=accelerator,
        )
        self.nonlinearity = nonlinearity


for _cls in (RNNRegressor, LSTMRegressor, GRURegressor):
    _cls.__doc__ = estimator_doc(
        _SUMMARY,
        _cls._cell,
        _REGRESSOR_PARAMETERS,
        _REGRESSOR_ATTRIBUTES,
        _EXAMPLE.format(name=_cls.__name__),
    )
