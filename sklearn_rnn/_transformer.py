"""RNNSequenceTransformer: sequences to fixed-size embeddings."""

from numbers import Integral

from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from ._base import NONLINEARITY, PATCH_SIZE, BaseRecurrentEstimator, with_patch_size
from ._data import TargetSpec, is_long_frame, validate_predict_data
from ._docs import fill_doc
from ._targets import TrainingTargets, class_targets, declared_classes, numeric_targets


@fill_doc
class RNNSequenceTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseRecurrentEstimator
):
    """Sequences to fixed-size embeddings with a recurrent encoder.

    Encodes each sequence (of any length) into ``n_components`` values, for any
    scikit-learn estimator downstream. With ``y``, the encoder is trained with a
    classification head (class labels) or a regression head (numeric targets)
    on the embedding, and the encoder is kept; without ``y``, it is trained as an
    encoder-decoder autoencoder whose decoder reconstructs the input sequence from
    the embedding.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"}, default="lstm"
        The recurrent cell of the encoder (and decoder): Elman RNN, LSTM or GRU.
    n_components : int, default=16
        Size of the embedding: a linear projection of the encoder's pooled state.
    nonlinearity : {"tanh", "relu"}, default="tanh"
        Activation of the Elman cell; used only with ``cell="rnn"``.
    %(network_parameters)s
    %(patch_size)s
    %(scale_inputs)s
    scale_targets : bool, default=True
        Whether to standardise numeric targets ``y`` for training.
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    objective_ : {"classification", "regression", "reconstruction"}
        What the encoder was trained for: a head predicting class labels or
        numeric ``y``, or, without ``y``, a decoder reconstructing the input.
    classes_ : ndarray of shape (n_classes,)
        The class labels, when trained for classification.
    n_outputs_ : int
        Number of numeric targets, when trained for regression.
    %(patch_size_)s
    %(common_attributes)s

    See Also
    --------
    LSTMClassifier : A classifier with the same encoder and a linear head.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_rnn import RNNSequenceTransformer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 12, 2))
    >>> y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    >>> embed = RNNSequenceTransformer(n_components=4, max_epochs=5, random_state=0)
    >>> embed.fit_transform(X).shape   # no y: trained as an autoencoder
    (64, 4)
    >>> pipe = make_pipeline(embed, LogisticRegression()).fit(X, y)   # supervised
    >>> pipe.predict(X[:3]).shape
    (3,)
    >>> embed.get_feature_names_out()[:2]
    array(['rnnsequencetransformer0', 'rnnsequencetransformer1'], dtype=object)
    """

    _parameter_constraints: dict = {
        **BaseRecurrentEstimator._parameter_constraints,
        "cell": [StrOptions({"rnn", "lstm", "gru"})],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "nonlinearity": NONLINEARITY,
        "patch_size": PATCH_SIZE,
        "scale_targets": ["boolean"],
    }

    def __init__(
        self,
        *,
        cell="lstm",
        n_components=16,
        nonlinearity="tanh",
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
        patch_size="auto",
        scale_inputs="auto",
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
        self.cell = cell
        self.n_components = n_components
        self.nonlinearity = nonlinearity
        self.patch_size = patch_size
        self.scale_targets = scale_targets

    @property
    def _cell(self):
        return self.cell

    @property
    def _stratify_validation(self):
        return getattr(self, "objective_", None) == "classification"

    def _encoder_params(self):
        params = super()._encoder_params()
        if self.cell == "rnn":
            params["nonlinearity"] = self.nonlinearity
        return params

    def _target_spec(self, y):
        layout = "input" if y is None else "sample"
        return TargetSpec(layout, numeric=False, multi_output=True)

    def _network_class(self):
        from ._modules import SequenceEmbeddingNetwork

        return SequenceEmbeddingNetwork

    def _network_params(self, sequences, targets):
        return with_patch_size(self, super()._network_params(sequences, targets), sequences)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train the encoder, supervised by ``y`` or as an autoencoder without it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Training sequences, laid out as for the estimators: a 2D array holds
            univariate sequences, one per row; a list holds arrays of shape
            (n_timesteps_i, n_features); a DataFrame indexed by (instance,
            time) holds one row per time step.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Class labels or numeric targets: the encoder is trained with a
            classification or regression head on the embedding. None trains an
            encoder-decoder that reconstructs each input sequence from its
            embedding.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the sequences in the loss (the validation loss of early
            stopping included) and the input and target scaling; None weighs
            them alike.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        return self._fit_or_restore(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None, sample_weight=None):
        """Train the encoder for one epoch, supervised by ``y`` or as an autoencoder.

        Each call is one pass over the sequences it is given, at the current
        learning rate, without a validation split, schedule or checkpoint
        (scikit-learn's ``MLPRegressor.partial_fit`` habit). The first call (on
        an unfitted estimator) builds the network and fixes the input (and numeric target)
        scaling from its data; later calls continue that network and its
        optimizer state, and ``partial_fit`` after ``fit`` continues the fitted
        network. For Optuna's pruning, dask-ml's ``Incremental`` and streams.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Training sequences, laid out as in ``fit``.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Class labels, numeric targets or None, as in ``fit``; the same kind
            in every call.
        classes : array-like of shape (n_classes,), default=None
            With class labels, every label ``y`` may hold in any call; needed on
            the first call if a batch may lack a class.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the sequences in this epoch's loss, as in ``fit`` (the
            first call also weighs the scaling with them).

        Returns
        -------
        self : object
            The transformer, trained for one more epoch.
        """
        first = not hasattr(self, "net_")
        classes = declared_classes(classes, None if first else getattr(self, "classes_", ()))
        return self._partial_fit_once(X, y, classes if first else None, sample_weight)

    def _encode_targets(self, y, warm, classes=None, weights=None):
        from ._modules import MaskedMSELoss, RegressionLoss, WeightedCrossEntropyLoss

        if y is None:
            objective = "reconstruction"
        else:
            kind = type_of_target(y, input_name="y", raise_unknown=True)
            if kind in ("binary", "multiclass"):
                objective = "classification"
            elif kind in ("continuous", "continuous-multioutput"):
                objective = "regression"
            else:
                raise ValueError(
                    f"y is {kind!r}, which {type(self).__name__} cannot learn from: pass "
                    "class labels of shape (n_samples,), numeric targets of shape "
                    "(n_samples,) or (n_samples, n_outputs), or no y for the autoencoder."
                )
        if warm and objective != self.objective_:
            raise ValueError(
                f"warm_start=True (and partial_fit) continue training for "
                f"{self.objective_}, but this y means {objective}. Fit anew "
                "(warm_start=False) to train for it."
            )
        fitted = {"objective_": objective, "_n_features_out": self.n_components}
        output_params = {"n_components": self.n_components}
        if objective == "reconstruction":
            # The targets are the inputs; padded steps are NaN and skipped.
            output_params["output_size"] = None
            return TrainingTargets(None, output_params, MaskedMSELoss, {}, fitted)
        if objective == "classification":
            indices, classes, _ = class_targets(
                y,
                estimator_name=type(self).__name__,
                previous_classes=self.classes_ if warm else classes,
            )
            output_params["output_size"] = len(classes)
            fitted["classes_"] = classes
            return TrainingTargets(indices, output_params, WeightedCrossEntropyLoss, {}, fitted)
        previous = (
            {name: getattr(self, name) for name in ("n_outputs_", "target_mean_", "target_scale_")}
            if warm
            else None
        )
        values, target_fitted = numeric_targets(
            y.astype(float).reshape(len(y), -1),
            scale=self.scale_targets,
            previous=previous,
            weights=weights,
        )
        output_params["output_size"] = target_fitted["n_outputs_"]
        fitted.update(target_fitted)
        return TrainingTargets(values, output_params, RegressionLoss, {}, fitted)

    def transform(self, X):
        """Embed each sequence of ``X`` as a vector of ``n_components`` values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The embeddings. With ``set_output(transform="pandas")`` and a
            DataFrame indexed by (instance, time), a DataFrame indexed by
            instance.
        """
        check_is_fitted(self)
        long_frame = is_long_frame(X)
        sequences = validate_predict_data(self, X)
        module = self.net_.module_
        embeddings = self._outputs(
            sequences,
            lambda batch: module.embed(**(batch if isinstance(batch, dict) else {"X": batch})),
        )
        if long_frame and _get_output_config("transform", self)["dense"] == "pandas":
            import pandas as pd

            # One row per instance, not per time step: index the rows by instance.
            return pd.DataFrame(embeddings, index=X.index.get_level_values(0).unique())
        return embeddings

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

