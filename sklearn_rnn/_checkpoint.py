"""Checkpoint a long fit every few epochs, and resume it after a crash.

A checkpoint holds everything the rest of the fit depends on: weights,
optimizer state, the plateau schedule's state, the history and the random
number generators' states. Resuming from it finishes with the same weights as
a fit that was never interrupted. Files are written atomically and read with
``torch.load(weights_only=True)``, which executes no pickled code.
"""

import hashlib
import json
import os
import tempfile
from numbers import Integral
from pathlib import Path

import joblib
import torch
from skorch.callbacks import Callback
from skorch.history import History

CHECKPOINT_VERSION = 2
# Parameters that do not change what a fit computes epoch by epoch. A random_state
# that is not an int only seeds the fit, and the checkpoint keeps that seed.
_NEUTRAL_PARAMS = {
    "checkpoint_dir",
    "checkpoint_every",
    "verbose",
    "callbacks",
    "max_epochs",
    "accelerator",
}


def fit_fingerprint(estimator, X, y, sample_weight=None):
    """A digest of what determines the fit: class, parameters, data and weights."""
    params = {
        name: repr(value)
        for name, value in sorted(estimator.get_params(deep=False).items())
        if name not in _NEUTRAL_PARAMS
        and not (name == "random_state" and not isinstance(value, Integral))
    }
    data = (X, y) if sample_weight is None else (X, y, sample_weight)
    text = json.dumps([type(estimator).__name__, params, joblib.hash(data)])
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_path(directory, fingerprint):
    """One file per fit, so fits that share a directory (the candidates and folds
    of a parallel search) never write over each other."""
    return Path(directory) / f"checkpoint-{fingerprint[:20]}.pt"


def read_checkpoint(directory, fingerprint):
    """The unfinished checkpoint of this fit in ``directory``, or None."""
    path = checkpoint_path(directory, fingerprint)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many types for a damaged file
        raise ValueError(
            f"{path} could not be read ({type(exc).__name__}: {exc}). Remove it to start anew."
        ) from None
    if state.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} has an unknown checkpoint version; remove it to start anew.")
    if state["complete"] or state["fingerprint"] != fingerprint:
        return None
    return state


def restore_checkpoint(net, state):
    """Put a freshly initialised skorch ``net`` back in the checkpointed state."""
    net.module_.load_state_dict(state["module"])
    net.optimizer_.load_state_dict(state["optimizer"])
    net.history = History(json.loads(state["history"]))
    # The fit's own stream of shuffles and dropout masks carries on where it was.
    net.generator.set_state(state["rng_fit"])


class CheckpointEvery(Callback):
    """Write a checkpoint every ``every`` epochs and when training ends.

    Parameters
    ----------
    directory : str or path-like
    every : int
    fingerprint : str
        From ``fit_fingerprint``: a checkpoint is only resumed by the same fit.
    seed : int
        The seed of the fit, reused on resume.
    """

    once_per_fit = True  # not run again by partial_fit's later epochs

    def __init__(self, directory, every, fingerprint, seed):
        self.directory = directory
        self.every = every
        self.fingerprint = fingerprint
        self.seed = seed

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) % self.every == 0:
            self._write(net, complete=False)

    def on_train_end(self, net, **kwargs):
        # skorch also ends training on a KeyboardInterrupt (Ctrl-C): only a fit that
        # ran out of epochs or was stopped by the schedule is complete. Otherwise the
        # last epoch-end checkpoint stays, to resume from.
        finished = len(net.history) >= net.max_epochs or (
            dict(net.callbacks_)["plateau_schedule"].stopped_
        )
        if finished:
            self._write(net, complete=True)

    def _write(self, net, complete):
        accelerator = getattr(net, "accelerator", None)
        if accelerator is not None and not accelerator.is_main_process:
            return  # data-parallel processes hold the same state: one writes it
        state = {
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
            "seed": self.seed,
            "complete": complete,
            "module": net.module_.state_dict(),
            "optimizer": net.optimizer_.state_dict(),
            "plateau": dict(net.callbacks_)["plateau_schedule"].get_state(),
            "history": json.dumps(net.history.to_list()),
            "rng_fit": net.generator.get_state(),
        }
        path = checkpoint_path(self.directory, self.fingerprint)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                torch.save(state, file)
            # A process killed while writing leaves the previous checkpoint intact.
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
