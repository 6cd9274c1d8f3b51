"""Saving whole fitted pipelines (and other scikit-learn composites) without pickle.

``save(obj, path)`` writes a directory. Each recurrent estimator inside ``obj``
goes into its own subdirectory in this package's safe format (safetensors and
JSON); the rest of ``obj`` (a Pipeline, its scikit-learn transformers, a
search...) goes into one skops file, with a small reference object standing
where each recurrent estimator was. ``load`` reads the skops file (which
executes no code and refuses types nobody trusted), loads the estimators and
puts them back in place.
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from sklearn.base import BaseEstimator

from . import _persistence
from ._base import BaseRecurrentEstimator
from ._windowing import SlidingWindowTransformer

MANIFEST_FILE = "manifest.json"
COMPOSITE_FILE = "composite.skops"
COMPOSITE_FORMAT = "sklearn-rnn-composite"
COMPOSITE_FORMAT_VERSION = 1


class SavedEstimator:
    """Stands in a saved composite for the recurrent estimator saved as number ``index``."""

    def __init__(self, index):
        self.index = index


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


# This package's types a composite may hold, trusted without being named.
_OWN_TYPES = [_type_name(SavedEstimator), _type_name(SlidingWindowTransformer)]


def _skops():
    try:
        import skops.io
    except ImportError:
        raise ImportError(
            "Saving a pipeline or another composite needs skops, scikit-learn's safe "
            "format: pip install 'sklearn-rnn[skops]' (or pip install skops). A single "
            "estimator saves without it: est.save(path)."
        ) from None
    return skops.io


def _is_sklearn_object(obj):
    """An instance of a scikit-learn class with attributes (a scorer, a splitter...),
    which may hold estimators."""
    return hasattr(obj, "__dict__") and not isinstance(obj, type) and (
        type(obj).__module__.startswith("sklearn.")
    )


def _harmless_sklearn_types(names):
    """The names among ``names`` that are scikit-learn classes whose instances only
    hold data: estimators, cross-validation splitters and scorers. Functions are not
    among them: a trusted function could be called later on data from the file."""
    import importlib

    from sklearn.metrics._scorer import _BaseScorer, _PassthroughScorer
    from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit

    harmless = []
    for name in names:
        module_name, _, attribute = name.rpartition(".")
        if not module_name.startswith("sklearn."):
            continue
        try:
            obj = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            continue
        kinds = (BaseEstimator, BaseCrossValidator, BaseShuffleSplit, _BaseScorer, _PassthroughScorer)
        if isinstance(obj, type) and issubclass(obj, kinds):
            harmless.append(name)
    return harmless


def _swapped(obj, replace, memo=None):
    """A copy of ``obj``'s object graph where ``replace(x)`` stands for every ``x``
    it returns something other than None for. Estimators, lists, tuples and dicts
    on the way are copied shallowly; everything else is shared, and ``obj`` itself
    is left as it was."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    result = replace(obj)
    if result is None:
        if isinstance(obj, BaseEstimator) or _is_sklearn_object(obj):
            result = object.__new__(type(obj))
            memo[id(obj)] = result
            result.__dict__.update(
                {name: _swapped(value, replace, memo) for name, value in vars(obj).items()}
            )
        elif isinstance(obj, list):
            result = [_swapped(item, replace, memo) for item in obj]
        elif type(obj) is tuple:
            result = tuple(_swapped(item, replace, memo) for item in obj)
        elif isinstance(obj, dict):
            result = obj.copy()  # keeps dict subclasses such as Bunch
            result.update({key: _swapped(value, replace, memo) for key, value in obj.items()})
        else:
            result = obj
    memo[id(obj)] = result
    return result


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save(obj, path):
    """Save a fitted estimator or a composite holding some, without pickle.

    Parameters
    ----------
    obj : estimator
        One of this package's estimators (saved with its ``save``), or a
        scikit-learn composite holding some: a ``Pipeline``, a
        ``ColumnTransformer``, a fitted search, a ``TransformedTargetRegressor``...
        Composites need skops (``pip install skops``).
    path : str or path-like
        Directory to write; replaced as a whole if it exists.

    Returns
    -------
    path : pathlib.Path
        The directory written.

    Raises
    ------
    TypeError
        If something in ``obj`` cannot be saved safely.
    """
    if isinstance(obj, BaseRecurrentEstimator):
        return obj.save(path)
    sio = _skops()
    path = Path(path)
    estimators = []

    def reference(value):
        if isinstance(value, BaseRecurrentEstimator):
            estimators.append(value)
            return SavedEstimator(len(estimators) - 1)
        return None

    with_references = _swapped(obj, reference)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        entries = []
        for index, estimator in enumerate(estimators):
            directory = f"estimators/{index}"
            if hasattr(estimator, "net_"):
                estimator.save(staging / directory)
                entries.append({"path": directory, "fitted": True})
            else:  # an unfitted template, such as a search's ``estimator``
                params = {
                    name: estimator._saved_param(name, value)
                    for name, value in estimator.get_params(deep=False).items()
                }
                entries.append({"class": type(estimator).__name__, "params": params, "fitted": False})
        sio.dump(with_references, staging / COMPOSITE_FILE)
        manifest = {
            "format": COMPOSITE_FORMAT,
            "format_version": COMPOSITE_FORMAT_VERSION,
            "estimators": entries,
            "composite_sha256": _sha256(staging / COMPOSITE_FILE),
        }
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))
        # The old directory is only removed once the new one is complete.
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
            os.replace(path, retired / path.name)
            os.replace(staging, path)
            shutil.rmtree(retired)
        else:
            os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path


def load(path, *, device="cpu", trusted=None):
    """Load what ``save`` (or ``est.save``) wrote, executing no pickle.

    Parameters
    ----------
    path : str or path-like
        The directory written by ``save``.
    device : {"cpu", "auto", "cuda", "cuda:N", "mps"}, default="cpu"
        Where to put the networks. The default works on every machine,
        whatever the models were trained on.
    trusted : list of str or None, default=None
        Types the composite may hold beyond those trusted by default (skops's
        list, this package's estimators, and scikit-learn's estimator,
        splitter and scorer classes), for example a function of yours that a
        ``FunctionTransformer`` calls, named as skops's ``trusted`` takes them.
        ``skops.io.get_untrusted_types(file=path / "composite.skops")`` lists
        what a file holds.

    Returns
    -------
    obj : estimator
        The saved estimator or composite; predicts exactly as the saved one did.

    Raises
    ------
    ValueError
        If the files are corrupted, truncated, or do not belong together, or if
        the composite holds types that are not trusted.
    """
    path = Path(path)
    manifest_path = path / MANIFEST_FILE
    if not manifest_path.is_file():
        return BaseRecurrentEstimator.load(path, device=device)
    sio = _skops()
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{manifest_path} is corrupted: it is not valid JSON ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != COMPOSITE_FORMAT:
        raise ValueError(f"{manifest_path} is not a sklearn-rnn composite manifest.")
    if manifest.get("format_version") != COMPOSITE_FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in composite format version {manifest.get('format_version')}, "
            f"which this version of sklearn-rnn (version {COMPOSITE_FORMAT_VERSION}) cannot read."
        )
    composite_path = path / COMPOSITE_FILE
    if not composite_path.is_file():
        raise FileNotFoundError(f"{composite_path} is missing.")
    if _sha256(composite_path) != manifest.get("composite_sha256"):
        raise ValueError(
            f"{composite_path} does not match {manifest_path}: the file is corrupted, "
            "truncated, or comes from another save."
        )
    found = sio.get_untrusted_types(file=composite_path)
    allowed = [*_OWN_TYPES, *_harmless_sklearn_types(found), *(trusted or [])]
    untrusted = [name for name in found if name not in allowed]
    if untrusted:
        raise ValueError(
            f"{composite_path} holds types that are not trusted: {untrusted}. Loading "
            "would run their code; if you trust where the file comes from, pass them "
            "as load(path, trusted=[...])."
        )
    with_references = sio.load(composite_path, trusted=allowed)
    estimators = []
    for entry in manifest["estimators"]:
        if entry["fitted"]:
            estimators.append(BaseRecurrentEstimator.load(path / entry["path"], device=device))
            continue
        estimator_class = BaseRecurrentEstimator._registry.get(str(entry.get("class")))
        if estimator_class is None:
            raise ValueError(f"{manifest_path}: unknown estimator {entry.get('class')!r}.")
        params = {key: _persistence.from_json(value) for key, value in entry["params"].items()}
        estimators.append(estimator_class(**params))

    def restore(value):
        return estimators[value.index] if isinstance(value, SavedEstimator) else None

    return _swapped(with_references, restore)
