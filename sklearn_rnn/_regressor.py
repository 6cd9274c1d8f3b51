"""Recurrent regressors: sequences to values, per step values, or forecast horizons."""

import math
from numbers import Integral

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import NONLINEARITY, BaseRecurrentEstimator
from ._data import RaggedSequences, TargetSpec, validate_predict_data
from ._ridge import LINEAR_KINDS
from ._scaling import BY_SERIES, continued_features, target_columns
from ._docs import fill_doc
from ._targets import TrainingTargets, flatten_steps, numeric_targets

# linear_skip="auto" one step ahead: the networks' linear parts, in turn.
ALTERNATING_KINDS = ("levels", "both")


# With n_networks="auto", one step ahead: networks on each of ALTERNATING_KINDS,
# averaged. Two on each beat one on each for every cell over ten seeds, mostly by
# narrowing the worst seeds (benchmarks/README.md, "Defaults changed").
AUTO_NETWORKS_PER_LINEAR_PART = 2


class _RecurrentRegressor(RegressorMixin, BaseRecurrentEstimator):
    """Regression on top of the shared recurrent core: the regressors' signature,
    targets and outputs."""

    _parameter_constraints: dict = {
        **BaseRecurrentEstimator._parameter_constraints,
        "return_sequences": ["boolean"],
        "decoder": [StrOptions({"rnn", "attention"}), None],
        "linear_skip": ["boolean", StrOptions({"auto", *LINEAR_KINDS})],
        "window_norm": [StrOptions({"auto", "window", "both"}), None],
        "n_networks": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "loss": [StrOptions({"squared_error", "absolute_error", "huber", "quantile", "gaussian"})],
        "quantiles": ["array-like"],
        "scale_targets": ["boolean", StrOptions({"auto", "series", "window"})],
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
        linear_skip="auto",
        window_norm="auto",
        n_networks="auto",
        loss="squared_error",
        quantiles=(0.1, 0.5, 0.9),
        scale_inputs="auto",
        scale_targets="auto",
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
        self.n_networks = n_networks
        self.loss = loss
        self.quantiles = quantiles
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
        distribution = self.loss in ("quantile", "gaussian")
        known_future = getattr(self, "n_future_", 0) > 0
        return (
            self.linear_skip
            or distribution
            or known_future
            or self._n_networks() > 1
            or self._window_norm() is not None
        )

    def _reads_future(self):
        return not self.return_sequences

    def _window_target_scaling(self, sequences, n_columns, fitting=False):
        """Each sample's offset and scale (n_samples, n_columns) of targets scaled
        by series or by window, or None: those of the target's column in the
        sample's series or window (see ``_scaling.target_columns``)."""
        mode = getattr(self, "scaling_", {}).get("targets")
        if mode not in BY_SERIES:
            return None
        columns = target_columns(sequences, None if fitting else getattr(self, "target_features_", None))
        if fitting:
            self.target_features_ = columns
        if columns is None:
            raise ValueError(
                f"scale_targets={mode!r} scales each target by the statistics of its "
                "column among the window's features, but these windows do not say "
                "which features the targets are. Make them with make_windows(..., "
                "features=...) including the targets, or set scale_targets=True."
            )
        if n_columns % len(columns):
            raise ValueError(
                f"scale_targets={mode!r}: y has {n_columns} column(s) per step, which "
                f"are not the windows' {len(columns)} target column(s) (or a horizon "
                "of them). Pass the y that make_windows returned with these windows."
            )
        scaling = self._sample_scaling(sequences, mode)
        columns = np.tile(columns, n_columns // len(columns))
        return scaling.offset[:, columns], scaling.scale[:, columns]

    def _series_scaled_targets(self, sequences, y, spec):
        mode = getattr(self, "scaling_", {}).get("targets")
        if mode not in BY_SERIES:
            return y
        if spec.layout == "step":
            raise ValueError(
                f"scale_targets={mode!r} scales a target per sample; per-step targets "
                "(return_sequences=True) are not supported. Set scale_targets=True."
            )
        values = np.asarray(y, dtype=np.float64)
        n_columns = values.shape[-1] if values.ndim > 1 else 1
        offset, scale = self._window_target_scaling(sequences, n_columns, fitting=True)
        if values.ndim == 1:
            return (values - offset[:, 0]) / scale[:, 0]
        if values.ndim == 3:  # a decoder's (n_samples, horizon, n_targets)
            offset, scale = offset[:, np.newaxis], scale[:, np.newaxis]
        return (values - offset) / scale

    def _trained_quantiles(self):
        """``quantiles`` checked, sorted, with the median that ``predict`` returns."""
        levels = np.asarray(self.quantiles, dtype=np.float64).ravel()
        if levels.size == 0 or not np.all((levels > 0) & (levels < 1)):
            raise ValueError(
                f"quantiles must be levels strictly between 0 and 1, got {self.quantiles!r}."
            )
        return tuple(float(q) for q in np.unique(np.append(levels, 0.5)))

    def _network_class(self):
        from ._modules import ForecastEnsemble, ForecastNetwork, RecurrentNetwork, Seq2SeqNetwork

        if self._forecasting():
            return ForecastNetwork if self._n_networks() == 1 else ForecastEnsemble
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
        distribution = {"quantile": "quantile", "gaussian": "gaussian"}.get(self.loss, "point")
        n_future = getattr(self, "n_future_", 0)
        if n_future and self.decoder is not None and params["horizon"] != self.future_steps_:
            raise ValueError(
                f"The decoder forecasts {params['horizon']} step(s), but the windows' "
                f"known future spans {self.future_steps_}: make the windows with the "
                "horizon of y (make_windows(..., horizon=h, future=...))."
            )
        params.update(
            distribution=distribution,
            quantiles=self._trained_quantiles() if distribution == "quantile" else (),
            linear_skip=bool(self.linear_skip),
            # The linear part reads the whole training window (ragged: the shortest).
            skip_window=int(lengths.min()) if lengths is not None else sequences.n_timesteps,
            window_norm=window_norm,
        )
        if n_future:
            params.update(n_future=n_future, future_steps=self.future_steps_)
        # A warm start compares these with the fitted network's: an explicit count
        # that changed is a change of architecture.
        n_networks = self._n_networks() if self.n_networks == "auto" else self.n_networks
        if n_networks > 1:
            params["n_networks"] = n_networks
        return params

    def _n_networks(self):
        """The networks of the fitted model (or, before ``_note_targets``, of the
        parameter, "auto" counting one)."""
        fitted = getattr(self, "n_networks_", None)
        if fitted is not None:
            return fitted
        return 1 if self.n_networks == "auto" else self.n_networks

    def _note_targets(self, sequences, y, spec, early_stopping):
        if self.scaling_["targets"] not in BY_SERIES:
            self.target_features_ = None  # else set with the scaling by series
        self.linear_skip_ = self._resolved_linear_skip(sequences, y, spec, early_stopping)
        if self.n_networks == "auto":
            per_part = AUTO_NETWORKS_PER_LINEAR_PART
            alternate = self.linear_skip_ == "alternate"
            self.n_networks_ = per_part * len(ALTERNATING_KINDS) if alternate else 1
        else:
            self.n_networks_ = self.n_networks

    def _resolved_linear_skip(self, sequences, y, spec, early_stopping):
        """``linear_skip`` resolved for this fit: "levels", "changes", "both",
        "alternate" (the networks alternate between "levels" and "both") or None;
        sets ``target_features_`` to the features the targets continue, when that
        decides it."""
        self._continuation_units = None
        if not self.linear_skip or not self._forecasting():
            return None
        kind = self.linear_skip if isinstance(self.linear_skip, str) else "auto"
        if kind == "levels":
            return "levels"
        modes = self.scaling_
        by_series = modes["inputs"] in BY_SERIES or modes["targets"] in BY_SERIES
        if kind == "auto" and (self.decoder is not None or self.return_sequences or by_series):
            # Measured in benchmarks/quality.py: the average of levels and changes
            # forecasts several steps ahead better from a direct head (airline, co2,
            # lynx, realgdp); with a decoder it did not. Windows scaled by window are
            # already relative to their last value.
            return "levels"
        continued = None
        if spec.layout in ("sample", "horizon") and not isinstance(sequences, RaggedSequences):
            try:
                values = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                return "levels"  # not numbers: the targets' encoding says so next
            continued = continued_features(sequences, values.reshape(len(values), -1))
        if continued is not None and modes["targets"] not in BY_SERIES:
            self.target_features_ = continued[0]
            self._continuation_units = continued[2]
        if kind == "auto":
            # Measured in benchmarks/quality.py: several steps ahead the average of
            # the two regressions wins on most series; one step ahead each wins on
            # some, and a network on each, averaged, beats either (fits with early
            # stopping; partial_fit and small data keep one network).
            if continued is None:
                return "levels"
            if continued[1] > 1:
                return "both"
            alternate = self.n_networks != 1 and (early_stopping or self.n_networks != "auto")
            return "alternate" if alternate else "levels"
        # Scaling by series or window relates a target to its feature's statistics
        # only when they share units.
        same_units = continued is None or all(u == (1.0, 0.0) for u in continued[2])
        alike = not by_series or (modes["inputs"] == modes["targets"] and same_units)
        if self.return_sequences or continued is None or not alike:
            why = (
                "per-step targets (return_sequences=True) have no last value to start from"
                if self.return_sequences
                else "the targets are not found to continue features of the windows (make "
                "them with make_windows from the series itself, in y's units; windows that "
                "do not follow one another, as after shuffling, cannot show it)"
                if continued is None
                else "the inputs and the targets are scaled differently (scale_inputs, "
                "scale_targets)"
                if same_units
                else "the targets are in other units than the features they continue, which "
                "scaling by series or window cannot relate (scale_inputs, scale_targets)"
            )
            raise ValueError(
                f"linear_skip={self.linear_skip!r} forecasts changes from the targets' last "
                f"values, but {why}. Use linear_skip='levels'."
            )
        return kind

    def _linear_part(self, params, network=0):
        """(the linear part's kind, the ``ChangeBasis`` of its changes or None) for
        the ``network``-th network, of ``params``."""
        from ._ridge import ChangeBasis

        kind = self.linear_skip_
        if kind == "alternate":
            kind = ALTERNATING_KINDS[network % len(ALTERNATING_KINDS)]
        if kind in (None, "levels"):
            return kind, None
        columns = self.target_features_
        n_outputs = math.prod(
            (params["n_outputs"],) if self.decoder is None else (params["horizon"], params["n_outputs"])
        )
        if n_outputs % len(columns):
            raise ValueError(
                f"linear_skip={self.linear_skip!r}: the {n_outputs} outputs are not steps "
                f"of the {len(columns)} target(s) the windows continue."
            )
        repeats = n_outputs // len(columns)
        per_output = np.tile(np.asarray(columns), repeats)
        units = getattr(self, "_continuation_units", None) or [(1.0, 0.0)] * len(columns)
        slope, intercept = (np.tile(np.asarray(u, dtype=np.float64), repeats) for u in zip(*units))
        # A target's last value in the targets' scaled units, from its feature's in the
        # network's input units, through the feature's units in y's (by series or
        # window, the inputs are already per sample and input_mean_/input_scale_ are
        # zeros and ones; the targets are standardised once more by
        # target_mean_/target_scale_).
        target_mean = np.resize(np.ravel(self.target_mean_), n_outputs)
        target_scale = np.resize(np.ravel(self.target_scale_), n_outputs)
        ratio = slope * self.input_scale_[per_output] / target_scale
        shift = (slope * self.input_mean_[per_output] + intercept - target_mean) / target_scale
        basis = ChangeBasis(
            params["skip_window"],
            self.input_size_,
            params.get("n_future", 0) * (params.get("future_steps") or 0),
            per_output,
            ratio,
            shift,
        )
        return kind, basis

    def _early_stopping_by_default(self, n_samples):
        # Training has to beat the linear part on held-out recent samples to be kept;
        # below 20 samples there is too little to hold out.
        return self.linear_skip and n_samples >= 20

    def _training_callbacks(self, warm, module_params, network=0):
        from ._callbacks import IntervalCalibration, LinearSkipFit, LinearSkipRefit

        before, after = [], []
        if self.loss in ("quantile", "gaussian"):
            ensemble = self._n_networks() > 1  # its combined forecast is calibrated
            after.append(("interval_calibration", IntervalCalibration(keep_validation=ensemble)))
        if self.linear_skip and not warm:  # a warm start keeps the fitted linear part
            kind, basis = self._linear_part(module_params, network)
            linear = LinearSkipFit(kind=kind, basis=basis)
            before.append(("linear_skip_fit", linear))
            after.append(("linear_skip_refit", LinearSkipRefit()))
        return before, after

    def _networks_combined(self, ensemble, nets):
        from ._callbacks import calibrate_ensemble

        calibrate_ensemble(ensemble, nets)

    def _has_attention(self):
        return super()._has_attention() or self.decoder == "attention"

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train the network for one epoch on sequences ``X`` and targets ``y``.

        Each call is one pass over the sequences it is given, at the current
        learning rate, without a validation split, schedule or checkpoint
        (scikit-learn's ``MLPRegressor.partial_fit`` habit). The first call (on
        an unfitted estimator) builds the network and fixes the input and target
        scaling from its data; later calls continue that network and its
        optimizer state, and ``partial_fit`` after ``fit`` continues the fitted
        network. For Optuna's pruning, dask-ml's ``Incremental`` and streams.
        With ``linear_skip``, the first call also fits the linear part, which
        later calls keep.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Training sequences, laid out as in ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, as in ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the sequences in this epoch's loss, as in ``fit`` (the
            first call also weighs the scaling with them).

        Returns
        -------
        self : object
            The estimator, trained for one more epoch.
        """
        return self._partial_fit_once(X, y, sample_weight=sample_weight)

    def _encode_targets(self, y, warm, classes=None, weights=None):
        from ._modules import RegressionLoss

        previous = (
            {name: getattr(self, name) for name in ("n_outputs_", "target_mean_", "target_scale_")}
            if warm
            else None
        )
        values, fitted = numeric_targets(
            y, scale=bool(self.scale_targets), previous=previous, weights=weights
        )
        n_outputs = fitted["n_outputs_"]
        quantiles = self._trained_quantiles() if self.loss == "quantile" else ()
        criterion_params = {"criterion__kind": self.loss, "criterion__quantiles": quantiles}
        if quantiles:
            fitted["quantiles_"] = np.asarray(quantiles)
        if self.decoder is not None:
            fitted["horizon_"] = y.shape[1]
            output_params = {
                "horizon": y.shape[1],
                "n_targets": n_outputs,
                "attention": self.decoder == "attention",
            }
        else:
            output_params = {"output_size": n_outputs}
            if self.return_sequences:
                # Padded steps of ragged sequences get NaN targets, which the loss skips.
                output_params["per_step"] = True
        return TrainingTargets(values, output_params, RegressionLoss, criterion_params, fitted)

    def _distribution_kind(self):
        from ._modules import DistributionHead

        head = getattr(self.net_.module_, "head", None)
        return (head.kind, head) if isinstance(head, DistributionHead) else ("point", None)

    def _forecasts(self, X):
        """Forecasts in the targets' units: points (..., n_outputs), or distribution
        parameters (..., n_outputs, n_params), the outputs axis dropped for one
        output; a list of such arrays for ragged sequences with per-step outputs."""
        kind, _ = self._distribution_kind()
        sequences = validate_predict_data(self, X)
        outputs = self._forward_sequences(sequences)
        mean, scale = self.target_mean_, self.target_scale_
        by_window = self._window_target_scaling(sequences, self.n_outputs_)
        if by_window is not None:
            window_mean, window_scale = by_window
            if self.decoder is not None:
                window_mean, window_scale = window_mean[:, np.newaxis], window_scale[:, np.newaxis]
            mean, scale = mean * window_scale + window_mean, scale * window_scale

        def unscaled(values):
            if kind == "point":
                values = values * scale + mean
                return values[..., 0] if self.n_outputs_ == 1 else values
            if kind == "quantile":
                values = values * scale[..., np.newaxis] + mean[..., np.newaxis]
            else:
                values = np.stack(
                    [values[..., 0] * scale + mean, values[..., 1] * scale], axis=-1
                )
            return values[..., 0, :] if self.n_outputs_ == 1 else values

        if isinstance(outputs, list):
            return [unscaled(values) for values in outputs]
        return unscaled(outputs)

    def predict(self, X, return_std=False):
        """Predict targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``; 3D input may have any number
            of time steps.
        return_std : bool, default=False
            Whether to also return the standard deviation of each prediction;
            with ``loss="gaussian"`` only.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets, on the scale of the training targets: the median
            with ``loss="quantile"``, the mean with ``loss="gaussian"``. With
            ``return_sequences=True``: of shape (n_samples, n_timesteps) or
            (n_samples, n_timesteps, n_outputs), a list of arrays of shape
            (n_timesteps_i,) or (n_timesteps_i, n_outputs) for sequences of
            different lengths. With a ``decoder``: of shape (n_samples,
            horizon_) or (n_samples, horizon_, n_outputs).
        y_std : ndarray or list of ndarrays, shaped as ``y_pred``
            The standard deviations; only with ``return_std=True``.
        """
        check_is_fitted(self)
        kind, head = self._distribution_kind()
        if return_std and kind != "gaussian":
            raise ValueError(
                f"return_std=True needs a model fitted with loss='gaussian'; this one was "
                f"fitted with loss={self._fitted_loss()!r}. Use predict_quantiles or "
                "predict_interval for a quantile model."
            )
        forecasts = self._forecasts(X)

        def split(values):
            if kind == "point":
                return values, None
            if kind == "quantile":
                return values[..., head.center], None
            return values[..., 0], values[..., 1]

        if isinstance(forecasts, list):
            points, stds = zip(*(split(values) for values in forecasts)) if forecasts else ((), ())
            points, stds = list(points), list(stds)
        else:
            points, stds = split(forecasts)
        return (points, stds) if return_std else points

    def _fitted_loss(self):
        return self.net_.criterion_.kind if hasattr(self.net_.criterion_, "kind") else "squared_error"

    def predict_quantiles(self, X, quantiles=None):
        """Predict quantiles of the targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``.
        quantiles : sequence of float in (0, 1) or None, default=None
            The levels. With ``loss="quantile"``, levels the model was trained
            on (``quantiles_``; None: all of them). With ``loss="gaussian"``,
            any levels (None: the ``quantiles`` parameter), from the predicted
            normal distribution.

        Returns
        -------
        y_quantiles : ndarray of shape (n_samples, n_quantiles) or \
                (n_samples, n_outputs, n_quantiles)
            Increasing along the last axis, the quantile axis; with
            ``return_sequences`` or a ``decoder`` the predictions' shape (see
            ``predict``) with that axis added, a list of arrays for sequences of
            different lengths.
        """
        check_is_fitted(self)
        kind, head = self._distribution_kind()
        if kind == "point":
            raise ValueError(
                f"predict_quantiles needs a model fitted with loss='quantile' or "
                f"loss='gaussian'; this one was fitted with loss={self._fitted_loss()!r}."
            )
        if quantiles is None:
            levels = np.asarray(head.quantiles if kind == "quantile" else self.quantiles, float)
        else:
            levels = np.asarray(quantiles, dtype=np.float64).ravel()
        if levels.size == 0 or not np.all((levels > 0) & (levels < 1)):
            raise ValueError(f"quantiles must be levels strictly between 0 and 1, got {quantiles!r}.")
        forecasts = self._forecasts(X)
        if kind == "quantile":
            trained = np.asarray(head.quantiles)
            matches = np.isclose(levels[:, np.newaxis], trained[np.newaxis, :])
            missing = levels[~matches.any(axis=1)]
            if missing.size:
                raise ValueError(
                    f"The model was trained for the quantiles {trained.tolist()}, not "
                    f"{missing.tolist()}. Refit with loss='quantile' and quantiles that "
                    "include them, or use loss='gaussian' for any level."
                )
            index = matches.argmax(axis=1)

            def pick(values):
                return values[..., index]
        else:
            from scipy.stats import norm

            z = norm.ppf(levels)

            def pick(values):
                return values[..., :1] + values[..., 1:] * z

        if isinstance(forecasts, list):
            return [pick(values) for values in forecasts]
        return pick(forecasts)

    def predict_interval(self, X, coverage=0.9):
        """Predict a central interval of the targets for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``.
        coverage : float in (0, 1), default=0.9
            Share of outcomes the interval should hold: its bounds are the
            quantiles ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``, which a
            ``loss="quantile"`` model must have been trained on.

        Returns
        -------
        y_interval : ndarray of shape (n_samples, 2) or (n_samples, n_outputs, 2)
            Lower and upper bounds on the last axis; with ``return_sequences``
            or a ``decoder`` the predictions' shape (see ``predict``) with that
            axis added, a list of arrays for sequences of different lengths.
        """
        if not 0 < coverage < 1:
            raise ValueError(f"coverage must be strictly between 0 and 1, got {coverage!r}.")
        # Rounded, so that 0.05 is asked for rather than 0.04999999999999999.
        return self.predict_quantiles(X, [round((1 - coverage) / 2, 12), round((1 + coverage) / 2, 12)])

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
    %(n_networks)s
    %(loss)s
    %(quantiles)s
    %(scale_inputs)s
    %(scale_targets)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(n_outputs_)s
    %(horizon_)s
    %(quantiles_)s
    %(target_mean_)s
    %(n_future_)s
    %(target_features_)s
    %(linear_skip_)s
    %(n_networks_)s
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
    %(n_networks)s
    %(loss)s
    %(quantiles)s
    %(scale_inputs)s
    %(scale_targets)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(n_outputs_)s
    %(horizon_)s
    %(quantiles_)s
    %(target_mean_)s
    %(n_future_)s
    %(target_features_)s
    %(linear_skip_)s
    %(n_networks_)s
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


@fill_doc(hidden_size="rnn_regressor_hidden_size")
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
    %(n_networks)s
    %(loss)s
    %(quantiles)s
    %(scale_inputs)s
    %(scale_targets)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(n_outputs_)s
    %(horizon_)s
    %(quantiles_)s
    %(target_mean_)s
    %(n_future_)s
    %(target_features_)s
    %(linear_skip_)s
    %(n_networks_)s
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
        hidden_size=16,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
        return_sequences=False,
        decoder=None,
        linear_skip="auto",
        window_norm="auto",
        n_networks="auto",
        loss="squared_error",
        quantiles=(0.1, 0.5, 0.9),
        scale_inputs="auto",
        scale_targets="auto",
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
            n_networks=n_networks,
            loss=loss,
            quantiles=quantiles,
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
