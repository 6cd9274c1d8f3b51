"""Safe files for fitted models: tensors in safetensors, everything else in JSON.

A saved model is a directory with ``config.json`` (what the caller puts in
it, plus the format, the versions and a SHA-256 of the weights) and
``weights.safetensors``. Reading executes no pickle and checks the weights
against the checksum. This module knows files and values, not estimators: the
estimators decide what to write and rebuild themselves from what is read.

Values go into JSON as themselves when JSON has them (None, bool, int,
float, str, lists), and tagged otherwise: a dict as ``{"items": [[key,
value], ...]}`` (its keys may be numbers), a tuple as ``{"tuple": [...]}``, an
array as ``{"values": [...], "dtype": "<U4"}`` (with its ``"shape"`` unless
1D), an object array holding tuples (labels of hierarchical series) as
``{"objects": [...], "shape": [...]}``, a ``torch.optim`` class as
``{"torch.optim": "Adam"}``.
Every JSON object is a tag, so decoding is unambiguous.
"""

import hashlib
import json
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from ._version import __version__

FORMAT = "sklearn-rnn"
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_json_scalar(value):
    return value is None or isinstance(value, (str, bool, Integral, Real))


def _scalar(value):
    value = value.item() if isinstance(value, np.generic) else value
    if not _is_json_scalar(value):
        raise TypeError(f"{value!r} of type {type(value).__name__} is not a str, number or bool")
    return value


def to_json(value):
    """``value`` as a JSON value (see the module docstring); TypeError if it has none."""
    if isinstance(value, np.ndarray) and value.dtype == object and any(
        isinstance(v, tuple) for v in value.ravel().tolist()
    ):
        # Labels of hierarchical series are tuples, which NumPy would read back as rows.
        return {"objects": [to_json(v) for v in value.ravel().tolist()], "shape": list(value.shape)}
    if isinstance(value, np.ndarray):
        encoded = {"values": [_scalar(v) for v in value.ravel().tolist()], "dtype": value.dtype.str}
        return encoded if value.ndim == 1 else {**encoded, "shape": list(value.shape)}
    if isinstance(value, tuple):
        return {"tuple": [to_json(item) for item in value]}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {"items": [[_scalar(key), to_json(item)] for key, item in value.items()]}
    if isinstance(value, type) and value.__module__.startswith("torch.optim"):
        return {"torch.optim": value.__name__}
    return _scalar(value)


def from_json(value):
    """The value ``to_json`` encoded."""
    if isinstance(value, list):
        return [from_json(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "items" in value:
        return {key: from_json(item) for key, item in value["items"]}
    if "tuple" in value:
        return tuple(from_json(item) for item in value["tuple"])
    if "objects" in value:
        items = [from_json(item) for item in value["objects"]]
        array = np.empty(len(items), dtype=object)
        for position, item in enumerate(items):
            array[position] = item
        return array.reshape(value["shape"])
    if "values" in value:
        array = np.asarray(value["values"], dtype=np.dtype(value["dtype"]))
        return array.reshape(value["shape"]) if "shape" in value else array
    if "torch.optim" in value:
        import torch

        optimizer = getattr(torch.optim, str(value["torch.optim"]), None)
        if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            raise ValueError(f"unknown torch optimizer {value['torch.optim']!r}")
        return optimizer
    raise ValueError(f"unknown tagged value {sorted(value)!r}")


def write_model(path, config, tensors):
    """Write ``tensors`` and ``config`` to the directory ``path`` (created if needed).

    Parameters
    ----------
    path : str or path-like
    config : dict
        JSON-ready content; the format, versions and checksum are added.
    tensors : dict of str to torch.Tensor or ndarray

    Returns
    -------
    path : pathlib.Path
    """
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {
        name: torch.from_numpy(value) if isinstance(value, np.ndarray) else value
        for name, value in tensors.items()
    }
    path.mkdir(parents=True, exist_ok=True)
    weights_path = path / WEIGHTS_FILE
    save_file(tensors, str(weights_path))
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_rnn_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        **config,
        "weights_sha256": _sha256(weights_path),
    }
    (path / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return path


def _upgrade(config):
    """A format-1 config in format 2's terms (format 1 stored feature names as a list)."""
    names = config.get("fitted", {}).get("feature_names_in_")
    if isinstance(names, list):
        config["fitted"]["feature_names_in_"] = {"values": names, "dtype": "|O"}
    config["format_version"] = FORMAT_VERSION
    return config


def read_config(path):
    """The config of the model saved in the directory ``path``, checked for format."""
    path = Path(path)
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
    if config.get("format_version") == 1:
        return _upgrade(config)
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in format version {config.get('format_version')}, which "
            f"this version of sklearn-rnn (format {FORMAT_VERSION}) cannot read."
        )
    return config


def read_tensors(path, config):
    """The tensors saved beside ``config``, checked against its checksum.

    Returns
    -------
    tensors : dict of str to torch.Tensor
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path = Path(path) / WEIGHTS_FILE
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path} is missing.")
    if _sha256(weights_path) != config.get("weights_sha256"):
        raise ValueError(
            f"{weights_path} does not match {Path(path) / CONFIG_FILE}: the weights file is "
            "corrupted, truncated, or comes from another model."
        )
    try:
        return load_file(str(weights_path))
    except SafetensorError as exc:
        raise ValueError(f"{weights_path} could not be read: {exc}") from None
