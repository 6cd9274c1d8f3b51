"""Target encoding: numeric targets standardised, class labels as indices, class weights.

An estimator's ``_encode_targets`` turns validated ``y`` into a
``TrainingTargets``: what the loss compares the network's output with, the
network's output parameters, the loss, and the fitted attributes learnt from
``y``. The helpers here compute; the estimator decides and sets attributes.
"""

from typing import NamedTuple

import numpy as np

from ._data import standardisation


class TrainingTargets(NamedTuple):
    """What ``_encode_targets`` returns to the fit skeleton.

    values : torch.Tensor or None
        The targets in the network's units: float32 scaled values or int64
        class indices, one row per sample (per step with per-step targets).
        None when the inputs are their own targets (the autoencoder).
    output_params : dict
        The network's parameters that depend on ``y``, e.g. ``{"output_size": 3}``.
    criterion : type
        The loss, a ``torch.nn.Module`` class.
    criterion_params : dict
        Its parameters, as skorch's ``criterion__*`` keyword arguments.
    fitted : dict
        Fitted attributes learnt from ``y`` (``classes_``, ``target_mean_``, ...),
        which the skeleton sets on the estimator.
    """

    values: object
    output_params: dict
    criterion: type
    criterion_params: dict
    fitted: dict


def numeric_targets(y, *, scale, previous=None, weights=None):
    """Standardise numeric targets (last axis: outputs) as a float32 tensor.

    Parameters
    ----------
    y : ndarray of shape (n_samples,), (n_samples, n_outputs) or (..., n_outputs)
    scale : bool
        Whether to standardise; False keeps the values.
    previous : dict or None
        The fitted ``n_outputs_``, ``target_mean_`` and ``target_scale_`` to keep
        (a warm start continues with the statistics of the first fit).
    weights : ndarray or None
        Sample weights over the leading axes of ``y`` (per sample, or per
        sample and step), which weigh the standardisation.

    Returns
    -------
    values : torch.Tensor of y's shape, with an outputs axis for 1D ``y``
    fitted : dict of ``n_outputs_``, ``target_mean_`` and ``target_scale_``
    """
    import torch

    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"y holds values that are not numbers ({exc}); a regression target must be "
            "numeric. For class labels, use a classifier."
        ) from None
    if values.ndim == 1:
        values = values[:, np.newaxis]
    n_outputs = values.shape[-1]
    if previous is not None:
        if n_outputs != previous["n_outputs_"]:
            raise ValueError(
                f"warm_start=True (and partial_fit) continue training a network with "
                f"{previous['n_outputs_']} output(s), but y has {n_outputs}. Fit anew "
                "(warm_start=False) to train for other outputs."
            )
        fitted = dict(previous)
    else:
        counts = None
        if weights is not None:
            shape = weights.shape + (1,) * (values.ndim - 1 - weights.ndim)
            counts = np.broadcast_to(weights.reshape(shape), values.shape[:-1]).ravel()
        mean, scale_ = standardisation(
            values.reshape(-1, n_outputs), counts, enabled=scale, name="y"
        )
        fitted = {"n_outputs_": n_outputs, "target_mean_": mean, "target_scale_": scale_}
    scaled = (values - fitted["target_mean_"]) / fitted["target_scale_"]
    return torch.from_numpy(scaled.astype(np.float32)), fitted


def class_targets(y, *, estimator_name, class_weight=None, previous_classes=None):
    """Class labels as class indices of the same shape.

    Parameters
    ----------
    y : array-like of labels, any shape
    estimator_name : str
        Named in the error for a single class.
    class_weight : dict, "balanced" or None
        As scikit-learn's ``compute_class_weight`` takes it.
    previous_classes : ndarray or None
        The classes the network was trained on (a warm start, ``partial_fit``
        after its first call), or declared by ``partial_fit``'s ``classes``:
        ``y`` may hold any of them, and only them.

    Returns
    -------
    indices : torch.Tensor of y's shape, int64
    classes : ndarray of shape (n_classes,)
    weights : torch.Tensor of shape (n_classes,), float32, or None
    """
    import torch
    from sklearn.utils.class_weight import compute_class_weight
    from sklearn.utils.multiclass import check_classification_targets

    labels = np.asarray(y).ravel()
    check_classification_targets(labels)
    if previous_classes is None:
        classes, encoded = np.unique(labels, return_inverse=True)
    else:
        classes = np.asarray(previous_classes)
        encoded = np.searchsorted(classes, labels).clip(max=len(classes) - 1)
        unknown = np.unique(labels[classes[encoded] != labels])
        if len(unknown):
            raise ValueError(
                f"y holds the labels {unknown.tolist()!r}, which the network was not "
                f"trained for: it knows the classes {classes.tolist()!r} (from the first "
                "call to partial_fit, or the fit a warm start continues). Fit anew "
                "(warm_start=False) to learn other classes."
            )
    if len(classes) < 2:
        raise ValueError(
            f"{estimator_name} needs at least 2 classes to learn from, but y holds only "
            f"one class: {classes.tolist()[0]!r}."
        )
    weights = None
    if class_weight is not None:
        if isinstance(class_weight, str) and len(np.unique(encoded)) < len(classes):
            raise ValueError(
                f"class_weight={class_weight!r} weighs the classes by their frequencies in "
                "y, but this y lacks some of them (a partial_fit batch, say). Pass the "
                "weights as a dict {label: weight} instead."
            )
        weights = torch.as_tensor(
            compute_class_weight(class_weight, classes=classes, y=labels), dtype=torch.float32
        )
    indices = torch.from_numpy(encoded.astype(np.int64).reshape(np.shape(y)))
    return indices, classes, weights


def declared_classes(classes, fitted=None):
    """``partial_fit``'s ``classes``, sorted and unique, or None when not given.

    ``fitted``, the classes of the fitted network (None on a first call): later
    calls may repeat ``classes``, not change them.
    """
    if classes is None:
        return None
    classes = np.unique(np.asarray(classes))
    if fitted is not None and not np.array_equal(classes, fitted):
        raise ValueError(
            f"classes={classes.tolist()!r} differs from the classes of the first call to "
            f"partial_fit (or of fit): {np.asarray(fitted).tolist()!r}."
        )
    return classes


def flatten_steps(y_true, y_pred, sample_weight=None):
    """Per-step targets and predictions as one row per time step, for scoring.

    ``y_pred`` is an array (n_samples, n_timesteps, ...) or a list of arrays
    (n_timesteps_i, ...); ``y_true`` is laid out as in ``fit``. A sequence's
    sample weight is repeated for each of its steps; weights per step (as
    ``fit`` takes them) are kept.

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
        if isinstance(sample_weight, (list, tuple)) and sample_weight and np.ndim(sample_weight[0]):
            # Per step, a list of arrays (n_timesteps_i,).
            sample_weight = np.concatenate([np.asarray(w, dtype=np.float64) for w in sample_weight])
        else:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.ndim == 1 and len(sample_weight) == len(lengths):
                sample_weight = np.repeat(sample_weight, lengths)  # per sequence
            else:  # per step: (n_samples, n_timesteps), or end to end
                sample_weight = sample_weight.ravel()
    return y_true, y_pred, sample_weight
