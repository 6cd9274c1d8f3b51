"""Recurrent classifiers: sequences (or each of their time steps) to class labels."""

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import NONLINEARITY, PATCH_SIZE, BaseRecurrentEstimator, with_patch_size
from ._data import TargetSpec
from ._docs import fill_doc
from ._targets import TrainingTargets, class_targets, declared_classes, flatten_steps


class _RecurrentClassifier(ClassifierMixin, BaseRecurrentEstimator):
    """Classification on top of the shared recurrent core: the classifiers'
    signature, labels and outputs."""

    _parameter_constraints: dict = {
        **BaseRecurrentEstimator._parameter_constraints,
        "patch_size": PATCH_SIZE,
        "return_sequences": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _stratify_validation = True

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        pooling="last",
        patch_size="auto",
        return_sequences=False,
        scale_inputs="auto",
        class_weight=None,
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
        self.patch_size = patch_size
        self.return_sequences = return_sequences
        self.class_weight = class_weight

    def _target_spec(self, y):
        if self.return_sequences:
            return TargetSpec("step", numeric=False, multi_output=False, owner="return_sequences=True")
        return TargetSpec("sample", numeric=False, multi_output=False)

    def _network_class(self):
        from ._modules import RecurrentNetwork

        return RecurrentNetwork

    def _network_params(self, sequences, targets):
        return with_patch_size(self, super()._network_params(sequences, targets), sequences)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the network for one epoch on sequences ``X`` and labels ``y``.

        Each call is one pass over the sequences it is given, at the current
        learning rate, without a validation split, schedule or checkpoint
        (scikit-learn's ``MLPRegressor.partial_fit`` habit). The first call (on
        an unfitted estimator) builds the network and fixes the input
        scaling from its data; later calls continue that network and its
        optimizer state, and ``partial_fit`` after ``fit`` continues the fitted
        network. For Optuna's pruning, dask-ml's ``Incremental`` and streams.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Training sequences, laid out as in ``fit``.
        y : array-like of shape (n_samples,)
            Class labels (a label per time step with ``return_sequences=True``),
            each one of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label ``y`` may hold in any call. Required on the first call
            (a batch need not hold every class); later calls may omit it.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the sequences in this epoch's loss, as in ``fit`` (the
            first call also weighs the scaling with them).

        Returns
        -------
        self : object
            The classifier, trained for one more epoch.
        """
        first = not hasattr(self, "net_")
        if isinstance(self.class_weight, str):
            raise ValueError(
                f"class_weight={self.class_weight!r} weighs the classes by their "
                "frequencies in y, which partial_fit sees one batch at a time; pass the "
                "weights as a dict {label: weight}."
            )
        classes = declared_classes(classes, None if first else self.classes_)
        if classes is None and first:
            raise ValueError(
                "classes must be given on the first call to partial_fit: every label y "
                "may hold in any call, since one batch need not hold every class."
            )
        return self._partial_fit_once(X, y, classes if first else None, sample_weight)

    def _encode_targets(self, y, warm, classes=None, weights=None):
        from ._modules import PerStepCrossEntropyLoss, WeightedCrossEntropyLoss

        indices, classes, weights = class_targets(
            y,
            estimator_name=type(self).__name__,
            class_weight=self.class_weight,
            previous_classes=self.classes_ if warm else classes,
        )
        criterion_params = {} if weights is None else {"criterion__weight": weights}
        output_params = {"output_size": len(classes)}
        criterion = WeightedCrossEntropyLoss
        if self.return_sequences:
            # Padded steps of ragged sequences get the label -100, which the loss skips.
            output_params["per_step"] = True
            criterion = PerStepCrossEntropyLoss
        return TrainingTargets(
            indices, output_params, criterion, criterion_params, {"classes_": classes}
        )

    def predict_proba(self, X):
        """Class probabilities for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax probabilities, columns in the order of ``classes_``. With
            ``return_sequences=True``: of shape (n_samples, n_timesteps,
            n_classes), a list of arrays of shape (n_timesteps_i, n_classes)
            for sequences of different lengths.
        """
        check_is_fitted(self)
        outputs = self._forward(X)
        if isinstance(outputs, list):
            return [softmax(logits, axis=-1) for logits in outputs]
        return softmax(outputs, axis=-1)

    def predict(self, X):
        """Predict class labels for sequences ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences of any lengths
            Sequences, laid out as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``. With ``return_sequences=True``: a label
            per time step, of shape (n_samples, n_timesteps), or a list of
            arrays of shape (n_timesteps_i,) for sequences of different lengths.
        """
        check_is_fitted(self)
        outputs = self._forward(X)
        if isinstance(outputs, list):
            return [self.classes_[np.argmax(logits, axis=-1)] for logits in outputs]
        return self.classes_[np.argmax(outputs, axis=-1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict(X)`` against ``y``.

        With ``return_sequences=True``, every time step of every sequence
        counts as a sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or a list of sequences
            Test sequences.
        y : array-like of shape (n_samples,), or per-step labels as in ``fit``
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; a sequence's weight applies to each of its steps.

        Returns
        -------
        score : float
            The share of correct labels.
        """
        if not self.return_sequences:
            return super().score(X, y, sample_weight=sample_weight)
        from sklearn.metrics import accuracy_score

        y_true, y_pred, weights = flatten_steps(y, self.predict(X), sample_weight)
        return accuracy_score(y_true, y_pred, sample_weight=weights)


@fill_doc
class LSTMClassifier(_RecurrentClassifier):
    """Sequence classifier built on a long short-term memory network (``torch.nn.LSTM``).

    Reads each sequence, pools the hidden states into one vector and maps it to
    class scores with a linear layer; ``predict_proba`` applies the softmax.
    Labels may be of any type: ``classes_`` holds them and ``predict`` returns them.

    Parameters
    ----------
    %(network_parameters)s
    %(patch_size)s
    %(return_sequences)s
    %(scale_inputs)s
    %(class_weight)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(classes_)s
    %(patch_size_)s
    %(common_attributes)s

    See Also
    --------
    GRUClassifier : The same with a gated recurrent unit.
    RNNClassifier : The same with an Elman cell.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import LSTMClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 8, 2))
    >>> y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
    >>> clf = LSTMClassifier(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _cell = "lstm"


@fill_doc
class GRUClassifier(_RecurrentClassifier):
    """Sequence classifier built on a gated recurrent unit network (``torch.nn.GRU``).

    Reads each sequence, pools the hidden states into one vector and maps it to
    class scores with a linear layer; ``predict_proba`` applies the softmax.
    Labels may be of any type: ``classes_`` holds them and ``predict`` returns them.

    Parameters
    ----------
    %(network_parameters)s
    %(patch_size)s
    %(return_sequences)s
    %(scale_inputs)s
    %(class_weight)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(classes_)s
    %(patch_size_)s
    %(common_attributes)s

    See Also
    --------
    LSTMClassifier : The same with a long short-term memory cell.
    RNNClassifier : The same with an Elman cell.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import GRUClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 8, 2))
    >>> y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
    >>> clf = GRUClassifier(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _cell = "gru"


@fill_doc(lr="rnn_classifier_lr")
class RNNClassifier(_RecurrentClassifier):
    """Sequence classifier built on an Elman recurrent network (``torch.nn.RNN``).

    Reads each sequence, pools the hidden states into one vector and maps it to
    class scores with a linear layer; ``predict_proba`` applies the softmax.
    Labels may be of any type: ``classes_`` holds them and ``predict`` returns them.

    Parameters
    ----------
    %(nonlinearity)s
    %(network_parameters)s
    %(patch_size)s
    %(return_sequences)s
    %(scale_inputs)s
    %(class_weight)s
    %(training_parameters)s
    %(runtime_parameters)s

    Attributes
    ----------
    %(classes_)s
    %(patch_size_)s
    %(common_attributes)s

    See Also
    --------
    LSTMClassifier : The same with a long short-term memory cell.
    GRUClassifier : The same with a gated recurrent unit.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_rnn import RNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(64, 8, 2))
    >>> y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
    >>> clf = RNNClassifier(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _cell = "rnn"
    _parameter_constraints: dict = {
        **_RecurrentClassifier._parameter_constraints,
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
        patch_size="auto",
        return_sequences=False,
        scale_inputs="auto",
        class_weight=None,
        max_epochs=200,
        batch_size=32,
        lr=3e-3,
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
            patch_size=patch_size,
            return_sequences=return_sequences,
            scale_inputs=scale_inputs,
            class_weight=class_weight,
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
