"""Recurrent regressors: many-to-one sequence regression."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRecurrentEstimator
from ._docs import estimator_doc

_REGRESSOR_PARAMETERS = """\
scale_targets : bool, default=True
    Whether to standardise each target with its mean and standard deviation
    for training; predictions are returned on the original scale.
"""

_REGRESSOR_ATTRIBUTES = """\
n_outputs_ : int
    Number of targets.
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
        self.random_state = random_state
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.accelerator = accelerator
        self.scale_targets = scale_targets

    def _encode_targets(self, y, warm):
        import torch

        y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if warm and y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"warm_start=True continues training a network with {self.n_outputs_} "
                f"output(s), but y has {y.shape[1]}. Set warm_start=False to train anew."
            )
        if not warm:
            self.n_outputs_ = y.shape[1]
            if self.scale_targets:
                with np.errstate(over="ignore"):  # overflow is reported below, as an error
                    self.target_mean_ = y.mean(axis=0)
                    scale = y.std(axis=0)
                scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
                if not (np.isfinite(self.target_mean_).all() and np.isfinite(scale).all()):
                    raise ValueError(
                        "y holds values too large to standardise: their mean or standard "
                        "deviation overflows float64. Rescale y before fitting."
                    )
                self.target_scale_ = scale
            else:
                self.target_mean_ = np.zeros(y.shape[1])
                self.target_scale_ = np.ones(y.shape[1])
        scaled = (y - self.target_mean_) / self.target_scale_
        target = torch.from_numpy(scaled.astype(np.float32))
        return target, y.shape[1], torch.nn.MSELoss, {}

    def predict(self, X):
        """Predict targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps)
            Sequences, laid out as in ``fit``; 3D input may have any number
            of time steps.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets, on the scale of the training targets.
        """
        check_is_fitted(self)
        y_pred = self._forward(X) * self.target_scale_ + self.target_mean_
        return y_pred.ravel() if self.n_outputs_ == 1 else y_pred

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
