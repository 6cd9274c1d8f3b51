"""Recurrent classifiers: many-to-one sequence classification."""

import numpy as np
from scipy.special import softmax
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseRecurrentEstimator, flatten_steps
from ._docs import estimator_doc

_CLASSIFIER_PARAMETERS = """\
class_weight : dict, "balanced" or None, default=None
    Weights of the classes in the loss: ``{label: weight}``, ``"balanced"``
    for weights inversely proportional to class frequencies, or None for
    equal weights.
"""

_CLASSIFIER_ATTRIBUTES = """\
classes_ : ndarray of shape (n_classes,)
    The class labels, sorted; ``predict`` returns values from this array.
"""

_EXAMPLE = """\
>>> import numpy as np
>>> from sklearn_rnn import {name}
>>> rng = np.random.RandomState(0)
>>> X = rng.normal(size=(64, 8, 2))
>>> y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
>>> clf = {name}(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
>>> clf.classes_
array(['down', 'up'], dtype='<U4')
>>> clf.predict_proba(X[:2]).shape
(2, 2)
"""


class _RecurrentClassifier(ClassifierMixin, BaseRecurrentEstimator):
    """Classification on top of the shared recurrent core."""

    _parameter_constraints: dict = {
        **BaseRecurrentEstimator._parameter_constraints,
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
        return_sequences=False,
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
        class_weight=None,
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
        self.class_weight = class_weight
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

    def _encode_targets(self, y, warm):
        import torch

        from ._modules import PerStepCrossEntropyLoss

        target, weights = self._encode_labels(y, warm)
        criterion_params = {} if weights is None else {"criterion__weight": weights}
        output_params = {"output_size": len(self.classes_)}
        if self.return_sequences:
            # Padded steps of ragged sequences get the label -100, which the loss skips.
            output_params["per_step"] = True
            return target, output_params, PerStepCrossEntropyLoss, criterion_params
        return target, output_params, torch.nn.CrossEntropyLoss, criterion_params

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
        """
        if not self.return_sequences:
            return super().score(X, y, sample_weight=sample_weight)
        from sklearn.metrics import accuracy_score

        y_true, y_pred, weights = flatten_steps(y, self.predict(X), sample_weight)
        return accuracy_score(y_true, y_pred, sample_weight=weights)


_SUMMARY = """Sequence classifier built on {network}.

Reads each sequence, pools the hidden states into one vector and maps it to
class scores with a linear layer; ``predict_proba`` applies the softmax.
Labels may be of any type: ``classes_`` holds them and ``predict`` returns them."""


class LSTMClassifier(_RecurrentClassifier):
    _cell = "lstm"


class GRUClassifier(_RecurrentClassifier):
    _cell = "gru"


class RNNClassifier(_RecurrentClassifier):
    _cell = "rnn"
    _parameter_constraints: dict = {
        **_RecurrentClassifier._parameter_constraints,
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
        class_weight=None,
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
            class_weight=class_weight,
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


for _cls in (RNNClassifier, LSTMClassifier, GRUClassifier):
    _cls.__doc__ = estimator_doc(
        _SUMMARY,
        _cls._cell,
        _CLASSIFIER_PARAMETERS,
        _CLASSIFIER_ATTRIBUTES,
        _EXAMPLE.format(name=_cls.__name__),
    )
