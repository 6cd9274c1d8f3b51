"""Recurrent regressors: sequences to values, per step values, or forecast horizons."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import NONLINEARITY, BaseRecurrentEstimator
from ._data import TargetSpec
from ._docs import fill_doc
from ._targets import TrainingTargets, flatten_steps, numeric_targets


class _RecurrentRegressor(RegressorMixin, BaseRecurrentEstimator):
    """Regression on top of the shared recurrent core: the regressors' signature,
    targets and outputs."""

    _parameter_constraints: dict = {
        **BaseRecurrentEstimator._parameter_constraints,
        "return_sequences": ["boolean"],
        "decoder": [StrOptions({"rnn", "attention"}), None],
        "linear_skip": ["boolean"],
        "window_norm": [StrOptions({"auto", "window", "both"}), None],
        "scale_targets": ["boolean"],
    }

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
        linear_skip=True,
        window_norm="auto",
        scale_inputs=True,
        scale_targets=True,
        max_epochs=200,
        batch_size=32,
        lr=1e-2,
        lr_schedule="plateau",
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping="auto",
        validation_fraction=0.2,
        n_iter_no_change=10,
        tol=1e-4,
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
            scale_inputs=scale_inputs,
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
        self.return_sequences = return_sequences
        self.decoder = decoder
        self.linear_skip = linear_skip
        self.window_norm = window_norm
        self.scale_targets = scale_targets

    def _target_spec(self, y):
        if self.decoder is not None and self.return_sequences:
            raise ValueError(
                f"return_sequences=True (a prediction per input time step) and "
                f"decoder={self.decoder!r} (a forecast of the steps after the input) "
                "exclude each other; set one of them."
            )
        if self.decoder is not None:
            return TargetSpec("horizon", numeric=True, multi_output=True, owner=f"decoder={self.decoder!r}")
        if self.return_sequences:
            return TargetSpec("step", numeric=True, multi_output=True, owner="return_sequences=True")
        return TargetSpec("sample", numeric=True, multi_output=True)

    def _window_norm(self):
        """``window_norm`` resolved ("auto" needs the number of outputs: see
        ``_network_params``); None without a linear part when "auto"."""
        if self.window_norm == "auto" and not self.linear_skip:
            return None
        return self.window_norm

    def _forecasting(self):
        return self.linear_skip or self._window_norm() is not None

    def _network_class(self):
        from ._modules import ForecastNetwork, RecurrentNetwork, Seq2SeqNetwork

        if self._forecasting():
            return ForecastNetwork
        return RecurrentNetwork if self.decoder is None else Seq2SeqNetwork

    def _network_params(self, sequences, targets):
        params = super()._network_params(sequences, targets)
        if not self._forecasting():
            return params
        if self.decoder is None:
            params["n_outputs"] = params.pop("output_size")
        else:
            params["n_outputs"] = params.pop("n_targets")
        window_norm = self._window_norm()
        if window_norm == "auto":
            # Measured in benchmarks/quality.py: one value ahead gains from also
            # reading the level (lynx, sunspots); a horizon or several outputs are
            # forecast better from the normalised window alone (airline, co2).
            several = self.decoder is not None or params["n_outputs"] > 1
            window_norm = "window" if several else "both"
        lengths = getattr(sequences, "lengths", None)
        params.update(
            linear_skip=self.linear_skip,
            # The linear part reads the whole training window (ragged: the shortest).
            skip_window=int(lengths.min()) if lengths is not None else sequences.n_timesteps,
            window_norm=window_norm,
        )
        return params

    def _early_stopping_by_default(self, n_samples):
        # Training has to beat the linear part on held-out recent samples to be kept;
        # below 20 samples there is too little to hold out.
        return self.linear_skip and n_samples >= 20

    def _training_callbacks(self, warm):
        if not self.linear_skip or warm:
            return [], []  # a warm start keeps the fitted linear part
        from ._callbacks import LinearSkipFit, LinearSkipRefit

        return [("linear_skip_fit", LinearSkipFit())], [("linear_skip_refit", LinearSkipRefit())]

    def _has_attention(self):
        return super()._has_attention() or self.decoder == "attention"

    def _encode_targets(self, y, warm):
        import torch

        from ._modules import MaskedMSELoss

        previous = (
            {name: getattr(self, name) for name in ("n_outputs_", "target_mean_", "target_scale_")}
            if warm
            else None
        )
        values, fitted = numeric_targets(y, scale=self.scale_targets, previous=previous)
        n_outputs = fitted["n_outputs_"]
        if self.decoder is not None:
            fitted["horizon_"] = y.shape[1]
            output_params = {
                "horizon": y.shape[1],
                "n_targets": n_outputs,
                "attention": self.decoder == "attention",
            }
            return TrainingTargets(values, output_params, torch.nn.MSELoss, {}, fitted)
        if self.return_sequences:
            # Padded steps of ragged sequences get NaN targets, which the loss skips.
            output_params = {"output_size": n_outputs, "per_step": True}
            return TrainingTargets(values, output_params, MaskedMSELoss, {}, fitted)
        return TrainingTargets(values, {"output_size": n_outputs}, torch.nn.MSELoss, {}, fitted)

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
            The R^2 score.
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


@fill_doc
class LSTMRegressor(_RecurrentRegressor):
    """Sequence regressor built on a long short-term memory network (``torch.nn.LSTM``).

    Reads each sequence, pools the hidden states into one vector and maps it to
    the targets with a linear layer (many-to-one). Inputs and targets are
    standardised internally, so the defaults work on raw data.

    Parameters
    ----------
    %(network_parameters)s
    %(return_sequences)s
    %(decoder)s
    %(linear_skip)s
    %(window_norm)s
    %(scale_inputs)s
    %(scale_targets)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(n_outputs_)s
    %(horizon_)s
    %(target_mean_)s
    %(common_attributes)s

    See Also
    --------
    GRURegressor : The same with a gated recurrent unit.
    RNNRegressor : The same with an Elman cell.
    make_windows : Cut a series into (window -> following values) samples.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import LSTMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 8, 2))          # 64 sequences, 8 steps, 2 features
    >>> y = X[:, -1, 0] + X[:, -2, 1]
    >>> reg = LSTMRegressor(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _cell = "lstm"


@fill_doc
class GRURegressor(_RecurrentRegressor):
    """Sequence regressor built on a gated recurrent unit network (``torch.nn.GRU``).

    Reads each sequence, pools the hidden states into one vector and maps it to
    the targets with a linear layer (many-to-one). Inputs and targets are
    standardised internally, so the defaults work on raw data.

    Parameters
    ----------
    %(network_parameters)s
    %(return_sequences)s
    %(decoder)s
    %(linear_skip)s
    %(window_norm)s
    %(scale_inputs)s
    %(scale_targets)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(n_outputs_)s
    %(horizon_)s
    %(target_mean_)s
    %(common_attributes)s

    See Also
    --------
    LSTMRegressor : The same with a long short-term memory cell.
    RNNRegressor : The same with an Elman cell.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import GRURegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 8, 2))          # 64 sequences, 8 steps, 2 features
    >>> y = X[:, -1, 0] + X[:, -2, 1]
    >>> reg = GRURegressor(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _cell = "gru"


@fill_doc
class RNNRegressor(_RecurrentRegressor):
    """Sequence regressor built on an Elman recurrent network (``torch.nn.RNN``).

    Reads each sequence, pools the hidden states into one vector and maps it to
    the targets with a linear layer (many-to-one). Inputs and targets are
    standardised internally, so the defaults work on raw data.

    Parameters
    ----------
    %(nonlinearity)s
    %(network_parameters)s
    %(return_sequences)s
    %(decoder)s
    %(linear_skip)s
    %(window_norm)s
    %(scale_inputs)s
    %(scale_targets)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(n_outputs_)s
    %(horizon_)s
    %(target_mean_)s
    %(common_attributes)s

    See Also
    --------
    LSTMRegressor : The same with a long short-term memory cell.
    GRURegressor : The same with a gated recurrent unit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import RNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 8, 2))          # 64 sequences, 8 steps, 2 features
    >>> y = X[:, -1, 0] + X[:, -2, 1]
    >>> reg = RNNRegressor(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _cell = "rnn"
    _parameter_constraints: dict = {
        **_RecurrentRegressor._parameter_constraints,
        "nonlinearity": NONLINEARITY,
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
        linear_skip=True,
        window_norm="auto",
        scale_inputs=True,
        scale_targets=True,
        max_epochs=200,
        batch_size=32,
        lr=1e-2,
        lr_schedule="plateau",
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping="auto",
        validation_fraction=0.2,
        n_iter_no_change=10,
        tol=1e-4,
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
            linear_skip=linear_skip,
            window_norm=window_norm,
            scale_inputs=scale_inputs,
            scale_targets=scale_targets,
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

    def _encoder_params(self):
        return {**super()._encoder_params(), "nonlinearity": self.nonlinearity}
