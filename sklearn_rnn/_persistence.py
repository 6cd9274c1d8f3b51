"""Safe persistence: weights in safetensors, everything else in JSON.

``est.save(path)`` writes a directory with ``config.json`` (hyperparameters,
fitted attributes, package version) and ``weights.safetensors`` (the network's
weights and the fitted arrays). ``load(path)`` reads them back without
executing any pickle, checking the weights file against the checksum recorded
in the config.
"""

import hashlib
import json
import os
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np

FORMAT = "sklearn-rnn"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"

# Fitted attributes kept in the JSON file, and fitted arrays kept as float64 tensors.
_JSON_ATTRIBUTES = (
    "n_features_in_",
    "input_ndim_",
    "input_size_",
    "n_iter_",
    "loss_curve_",
    "validation_loss_curve_",
    "device_",
    "n_outputs_",
    "horizon_",
    "objective_",
)
_ARRAY_ATTRIBUTES = ("input_mean_", "input_scale_", "target_mean_", "target_scale_")
# Losses by class name: torch's, then this package's (per-step, with padding).
_TORCH_CRITERIA = ("MSELoss", "CrossEntropyLoss")
_PACKAGE_CRITERIA = ("MaskedMSELoss", "PerStepCrossEntropyLoss")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_json_scalar(value):
    return value is None or isinstance(value, (str, bool, Integral, Real))


def _plain(value):
    """NumPy scalars to Python scalars, for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _encode_params(estimator):
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name == "optimizer" and isinstance(value, type):
            if not value.__module__.startswith("torch.optim"):
                raise TypeError(
                    f"optimizer={value!r} cannot be saved in the safe format, which only "
                    "names torch.optim optimizers. Use pickle for custom optimizers."
                )
            value = {"torch.optim": value.__name__}
        elif name == "callbacks" and value:
            raise TypeError(
                "callbacks cannot be saved in the safe format: they are Python objects. "
                "Set callbacks=None before saving (they only act during fit), or use pickle."
            )
        elif name == "class_weight" and isinstance(value, dict):
            if not all(_is_json_scalar(key) for key in value):
                raise TypeError("class_weight keys must be str, int, float or bool to save.")
            value = {"items": [[_plain(k), float(v)] for k, v in value.items()]}
        elif name == "accelerator" and value is not None:
            warnings.warn(
                "accelerator is a training-time object that the safe format cannot "
                "store; it is saved as None. The fitted weights are saved unchanged.",
                UserWarning,
            )
            value = None
        elif name == "random_state" and not _is_json_scalar(value):
            warnings.warn(
                "random_state is a RandomState instance, which the safe format cannot "
                "store; it is saved as None. The fitted weights are saved unchanged.",
                UserWarning,
            )
            value = None
        elif name == "checkpoint_dir" and value is not None:
            value = os.fspath(value)
        elif not _is_json_scalar(value):
            raise TypeError(f"{name}={value!r} cannot be saved in the safe format.")
        params[name] = _plain(value)
    return params


def _decode_params(params):
    import torch

    params = dict(params)
    optimizer = params.get("optimizer")
    if isinstance(optimizer, dict):
        params["optimizer"] = getattr(torch.optim, optimizer["torch.optim"])
    class_weight = params.get("class_weight")
    if isinstance(class_weight, dict):
        params["class_weight"] = {key: weight for key, weight in class_weight["items"]}
    return params


def save(estimator, path):
    """Save a fitted estimator to the directory ``path`` (created if needed)."""
    from safetensors.torch import save_file
    from sklearn.utils.validation import check_is_fitted

    import torch

    from . import __version__

    check_is_fitted(estimator)
    path = Path(path)
    fitted = {name: _plain(getattr(estimator, name)) for name in _JSON_ATTRIBUTES if hasattr(estimator, name)}
    if hasattr(estimator, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(name) for name in estimator.feature_names_in_]
    if hasattr(estimator, "classes_"):
        classes = estimator.classes_.tolist()
        if not all(_is_json_scalar(label) for label in classes):
            raise TypeError(
                "Only str, int, float and bool class labels can be saved in the safe "
                "format; use pickle for other labels."
            )
        fitted["classes_"] = {"values": classes, "dtype": estimator.classes_.dtype.str}
    criterion = estimator.net_.criterion_
    tensors = {
        f"module.{name}": tensor.detach().to("cpu").contiguous()
        for name, tensor in estimator.net_.module_.state_dict().items()
    }
    for name in _ARRAY_ATTRIBUTES:
        if hasattr(estimator, name):
            tensors[f"fitted.{name}"] = torch.from_numpy(np.asarray(getattr(estimator, name)))
    if getattr(criterion, "weight", None) is not None:
        tensors["criterion.weight"] = criterion.weight.detach().to("cpu").contiguous()

    path.mkdir(parents=True, exist_ok=True)
    weights_path = path / WEIGHTS_FILE
    save_file(tensors, str(weights_path))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_rnn_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "estimator": type(estimator).__name__,
        "params": _encode_params(estimator),
        "fitted": fitted,
        "module": {k: _plain(v) for k, v in estimator.net_.get_params_for("module").items()},
        "criterion": type(criterion).__name__,
        "weights_sha256": _sha256(weights_path),
    }
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return path


def _read_config(path):
    config_path = path / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{config_path} does not exist: {path} is not a model saved with est.save()."
        )
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{config_path} is corrupted: it is not valid JSON ({exc}).") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{config_path} is not a sklearn-rnn model config.")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in format version {config.get('format_version')}, which "
            f"this version of sklearn-rnn (format {FORMAT_VERSION}) cannot read."
        )
    return config


def load(path, *, device="cpu"):
    """Load an estimator saved with ``est.save(path)``, executing no pickle.

    Parameters
    ----------
    path : str or path-like
        The directory written by ``save``.
    device : {"cpu", "auto", "cuda", "cuda:N", "mps"}, default="cpu"
        Where to put the network. The default works on every machine, whatever
        the model was trained on.

    Returns
    -------
    estimator : fitted estimator
        Predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        If the files are corrupted, truncated, or do not belong together.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    import sklearn_rnn

    from ._base import BaseRecurrentEstimator, resolve_device

    path = Path(path)
    config = _read_config(path)
    estimator_class = getattr(sklearn_rnn, str(config.get("estimator")), None)
    if not (
        isinstance(estimator_class, type) and issubclass(estimator_class, BaseRecurrentEstimator)
    ):
        raise ValueError(f"{path}: unknown estimator {config.get('estimator')!r}.")
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path} is missing.")
    if _sha256(weights_path) != config.get("weights_sha256"):
        raise ValueError(
            f"{weights_path} does not match {path / CONFIG_FILE}: the weights file is "
            "corrupted, truncated, or comes from another model."
        )
    try:
        tensors = load_file(str(weights_path))
    except SafetensorError as exc:
        raise ValueError(f"{weights_path} could not be read: {exc}") from None

    params = _decode_params(config["params"])
    estimator = estimator_class(**params)
    fitted = config["fitted"]
    for name in _JSON_ATTRIBUTES:
        if name in fitted:
            setattr(estimator, name, fitted[name])
    if "feature_names_in_" in fitted:
        estimator.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    if "classes_" in fitted:
        classes = fitted["classes_"]
        estimator.classes_ = np.asarray(classes["values"], dtype=np.dtype(classes["dtype"]))
    for name in _ARRAY_ATTRIBUTES:
        if f"fitted.{name}" in tensors:
            setattr(estimator, name, tensors[f"fitted.{name}"].numpy())

    import torch

    from . import _modules

    criterion_name = config.get("criterion")
    if criterion_name in _TORCH_CRITERIA:
        criterion = getattr(torch.nn, criterion_name)
    elif criterion_name in _PACKAGE_CRITERIA:
        criterion = getattr(_modules, criterion_name)
    else:
        raise ValueError(f"{path}: unknown criterion {criterion_name!r}.")
    criterion_params = {}
    if "criterion.weight" in tensors:
        criterion_params["criterion__weight"] = tensors["criterion.weight"]
    net = estimator._build_net(
        config["module"],
        criterion,
        criterion_params,
        resolve_device(device),
        seed=0,
    )
    net.initialize()
    module_state = {
        name[len("module.") :]: tensor for name, tensor in tensors.items() if name.startswith("module.")
    }
    try:
        net.module_.load_state_dict(module_state)
    except RuntimeError as exc:
        raise ValueError(f"{weights_path} does not fit the saved architecture: {exc}") from None
    estimator.net_ = net
    return estimator
