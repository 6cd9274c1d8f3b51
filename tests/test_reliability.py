"""Persistence, checkpoint and resume, determinism and threaded prediction."""

import json
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import sklearn_rnn
from sklearn_rnn import GRUClassifier, GRURegressor, LSTMClassifier, LSTMRegressor, RNNRegressor

pytestmark = pytest.mark.cpu_numerics  # bitwise: same seed, save/load, resumed checkpoints

ROOT = Path(__file__).resolve().parent.parent
X = np.random.RandomState(0).normal(size=(60, 8, 2))
y_reg = X[:, -1, 0] - X[:, -2, 1]
y_clf = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")


def fitted(Estimator, y, **params):
    params = {"hidden_size": 6, "max_epochs": 4, "random_state": 0, **params}
    return Estimator(**params).fit(X, y)


@pytest.mark.parametrize(
    "estimator",
    [
        pytest.param(lambda: fitted(LSTMRegressor, y_reg), id="LSTMRegressor"),
        pytest.param(
            lambda: fitted(RNNRegressor, np.column_stack([y_reg, 2 * y_reg]), nonlinearity="relu"),
            id="RNNRegressor-multioutput",
        ),
        pytest.param(
            lambda: fitted(GRUClassifier, y_clf, class_weight={"up": 2.0, "down": 1.0}),
            id="GRUClassifier",
        ),
        pytest.param(
            lambda: fitted(
                LSTMClassifier, y_clf, bidirectional=True, num_layers=2, pooling="attention"
            ),
            id="LSTMClassifier-bidirectional",
        ),
    ],
)
def test_save_and_load_give_identical_predictions(estimator, tmp_path):
    est = estimator()
    est.save(tmp_path / "model")
    loaded = sklearn_rnn.load(tmp_path / "model")
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    method = "predict_proba" if hasattr(est, "classes_") else "predict"
    np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.loss_curve_ == est.loss_curve_ and loaded.n_iter_ == est.n_iter_
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["sklearn_rnn_version"] == sklearn_rnn.__version__


def test_save_and_load_keep_feature_names_and_label_types(tmp_path):
    frame = pd.DataFrame(X[:, :, 0], columns=[f"t{k}" for k in range(8)])
    reg = GRURegressor(hidden_size=4, max_epochs=2).fit(frame, y_reg)
    reg.save(tmp_path / "reg")
    loaded = sklearn_rnn.load(tmp_path / "reg")
    assert list(loaded.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(loaded.predict(frame), reg.predict(frame))
    clf = LSTMClassifier(hidden_size=4, max_epochs=2).fit(X, (y_clf == "up").astype(int) * 10)
    clf.save(tmp_path / "clf")
    loaded = sklearn_rnn.load(tmp_path / "clf")
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_load_executes_no_pickle(tmp_path, monkeypatch):
    est = fitted(GRUClassifier, y_clf)
    est.save(tmp_path / "model")

    def forbidden(*args, **kwargs):
        raise AssertionError("load must not unpickle anything")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    loaded = sklearn_rnn.load(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_a_loaded_model_continues_training_with_warm_start(tmp_path):
    est = fitted(LSTMRegressor, y_reg)
    est.save(tmp_path / "model")
    loaded = sklearn_rnn.load(tmp_path / "model").set_params(warm_start=True, max_epochs=2)
    loaded.fit(X, y_reg)
    assert loaded.loss_curve_[0] < est.loss_curve_[0]


def _damage(path, how):
    weights = path / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    if how == "flipped byte":
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif how == "truncated weights":
        weights.write_bytes(bytes(data[: len(data) // 3]))
    elif how == "garbage config":
        (path / "config.json").write_text("{not json")
    elif how == "missing weights":
        weights.unlink()
    elif how == "unknown estimator":
        config = json.loads((path / "config.json").read_text())
        config["estimator"] = "os.system"
        (path / "config.json").write_text(json.dumps(config))
    elif how == "future format":
        config = json.loads((path / "config.json").read_text())
        config["format_version"] = 99
        (path / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "how, error, match",
    [
        ("flipped byte", ValueError, "corrupted, truncated, or comes from another model"),
        ("truncated weights", ValueError, "corrupted, truncated"),
        ("garbage config", ValueError, "is corrupted: it is not valid JSON"),
        ("missing weights", FileNotFoundError, "weights.safetensors is missing"),
        ("unknown estimator", ValueError, "unknown estimator 'os.system'"),
        ("future format", ValueError, "format version 99"),
    ],
)
def test_damaged_files_are_clear_errors(tmp_path, how, error, match):
    fitted(LSTMRegressor, y_reg).save(tmp_path / "model")
    _damage(tmp_path / "model", how)
    with pytest.raises(error, match=match):
        sklearn_rnn.load(tmp_path / "model")


def test_weights_of_another_model_are_rejected(tmp_path):
    fitted(LSTMRegressor, y_reg).save(tmp_path / "a")
    fitted(LSTMRegressor, y_reg, hidden_size=7).save(tmp_path / "b")
    (tmp_path / "a" / "weights.safetensors").write_bytes(
        (tmp_path / "b" / "weights.safetensors").read_bytes()
    )
    with pytest.raises(ValueError, match="comes from another model"):
        sklearn_rnn.load(tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="not a model saved"):
        sklearn_rnn.load(tmp_path / "nowhere")


def test_what_the_safe_format_cannot_hold_is_an_error(tmp_path):
    from skorch.callbacks import EpochTimer

    est = fitted(LSTMRegressor, y_reg, callbacks=[EpochTimer()])
    with pytest.raises(TypeError, match="callbacks cannot be saved"):
        est.save(tmp_path / "model")
    with pytest.warns(UserWarning, match="saved as None"):
        fitted(LSTMRegressor, y_reg, random_state=np.random.RandomState(0)).save(tmp_path / "m")


def test_pickle_and_joblib_keep_working(tmp_path):
    import joblib

    est = fitted(GRUClassifier, y_clf)
    joblib.dump(est, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(X), est.predict(X))


def test_same_seed_gives_bitwise_identical_models_on_cpu():
    params = dict(hidden_size=8, num_layers=2, dropout=0.2, max_epochs=6, random_state=3)
    first = LSTMRegressor(**params).fit(X, y_reg)
    second = LSTMRegressor(**params).fit(X, y_reg)
    for (name, a), (_, b) in zip(
        first.net_.module_.state_dict().items(), second.net_.module_.state_dict().items()
    ):
        assert torch.equal(a, b), name
    assert first.predict(X).tobytes() == second.predict(X).tobytes()


def test_predict_from_many_threads_at_once():
    est = fitted(GRUClassifier, y_clf)
    chunks = [X[i : i + 7] for i in range(0, len(X), 7)] * 6
    expected = [est.predict_proba(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(est.predict_proba, chunks))
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


RESUMABLE_FIT = textwrap.dedent(
    """
    import sys, time
    import numpy as np, torch
    from skorch.callbacks import Callback
    from sklearn_rnn import LSTMRegressor

    torch.set_num_threads(1)

    class Slow(Callback):
        def on_epoch_end(self, net, **kwargs):
            time.sleep(0.3)

    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8, 2))
    y = X[:, -1, 0] - X[:, -2, 1]
    reg = LSTMRegressor(hidden_size=6, max_epochs=12, dropout=0.0, lr_schedule="plateau",
                        n_iter_no_change=3, random_state=0, checkpoint_dir=sys.argv[1],
                        checkpoint_every=2, callbacks=[Slow()])
    reg.fit(X, y)
    """
)


def test_a_killed_fit_resumes_to_the_same_weights(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(RESUMABLE_FIT)
    checkpoints = tmp_path / "checkpoints"
    process = subprocess.Popen([sys.executable, str(script), str(checkpoints)])
    try:
        deadline = time.time() + 120
        while not list(checkpoints.glob("checkpoint-*.pt")) and time.time() < deadline:
            time.sleep(0.05)
        (checkpoint,) = checkpoints.glob("checkpoint-*.pt")
        time.sleep(0.4)  # into the next epochs, past the first checkpoint
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    state = torch.load(checkpoint, weights_only=True)
    assert not state["complete"] and len(json.loads(state["history"])) < 12

    params = dict(
        hidden_size=6, max_epochs=12, lr_schedule="plateau", n_iter_no_change=3, random_state=0
    )
    resumed = LSTMRegressor(checkpoint_dir=checkpoints, checkpoint_every=2, **params).fit(
        X, y_reg
    )
    uninterrupted = LSTMRegressor(**params).fit(X, y_reg)
    assert resumed.loss_curve_ == uninterrupted.loss_curve_
    for (name, a), (_, b) in zip(
        resumed.net_.module_.state_dict().items(),
        uninterrupted.net_.module_.state_dict().items(),
    ):
        assert torch.equal(a, b), name
    assert torch.load(checkpoint, weights_only=True)["complete"]


def test_fits_sharing_a_checkpoint_directory_keep_their_own_files(tmp_path):
    params = dict(max_epochs=2, random_state=0, checkpoint_dir=tmp_path, checkpoint_every=1)
    LSTMRegressor(hidden_size=4, **params).fit(X, y_reg)
    LSTMRegressor(hidden_size=5, **params).fit(X, y_reg)
    files = sorted(tmp_path.glob("checkpoint-*.pt"))
    assert len(files) == 2 and not list(tmp_path.glob("*.tmp"))
    for path in files:
        path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="could not be read"):
        LSTMRegressor(hidden_size=4, **params).fit(X, y_reg)


def test_an_interrupted_fit_leaves_a_checkpoint_to_resume_from(tmp_path):
    from skorch.callbacks import Callback

    class InterruptInEpoch(Callback):
        def on_batch_begin(self, net, training=False, **kwargs):
            if len(net.history) == 3 and training:
                raise KeyboardInterrupt  # what Ctrl-C does; skorch ends training quietly

    params = dict(hidden_size=4, max_epochs=6, lr_schedule="constant", n_iter_no_change=10,
                  random_state=0, checkpoint_dir=tmp_path, checkpoint_every=1)
    interrupted = LSTMRegressor(callbacks=[InterruptInEpoch()], **params).fit(X, y_reg)
    assert interrupted.n_iter_ == len(interrupted.loss_curve_) == 2
    (checkpoint,) = tmp_path.glob("checkpoint-*.pt")
    assert not torch.load(checkpoint, weights_only=True)["complete"]
    resumed = LSTMRegressor(**params).fit(X, y_reg)
    params.pop("checkpoint_dir")
    uninterrupted = LSTMRegressor(**params).fit(X, y_reg)
    assert resumed.loss_curve_ == uninterrupted.loss_curve_


def test_a_fit_with_an_accelerator_resumes_from_its_checkpoint(tmp_path):
    accelerate = pytest.importorskip("accelerate")
    from skorch.callbacks import Callback

    class Crash(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 3:
                raise RuntimeError("crash")

    params = dict(hidden_size=4, max_epochs=5, lr_schedule="constant", random_state=0,
                  checkpoint_dir=tmp_path, checkpoint_every=1)
    with pytest.raises(RuntimeError, match="crash"):
        LSTMRegressor(
            accelerator=accelerate.Accelerator(cpu=True), callbacks=[Crash()], **params
        ).fit(X, y_reg)
    resumed = LSTMRegressor(accelerator=accelerate.Accelerator(cpu=True), **params).fit(X, y_reg)
    params.pop("checkpoint_dir")
    uninterrupted = LSTMRegressor(accelerator=accelerate.Accelerator(cpu=True), **params).fit(
        X, y_reg
    )
    assert resumed.loss_curve_ == uninterrupted.loss_curve_


def _same_weights(a, b):
    for (name, left), (_, right) in zip(
        a.net_.module_.state_dict().items(), b.net_.module_.state_dict().items()
    ):
        assert torch.equal(left, right), name


FAULT_PARAMS = dict(
    hidden_size=5,
    num_layers=2,
    dropout=0.3,  # the fit's own random stream must resume where it was too
    max_epochs=8,
    lr_schedule="plateau",
    n_iter_no_change=2,
    random_state=0,
    checkpoint_every=1,
)


@pytest.mark.parametrize("where", ["on_batch_end", "on_epoch_end"])
@pytest.mark.parametrize("draw", range(3))
def test_an_exception_from_a_callback_leaves_a_whole_checkpoint_to_resume_from(
    tmp_path, where, draw
):
    from skorch.callbacks import Callback

    failing_epoch = np.random.RandomState(draw).randint(2, FAULT_PARAMS["max_epochs"])

    class Fail(Callback):
        pass

    def fail(self, net, **kwargs):
        if len(net.history) == failing_epoch:
            raise RuntimeError("a callback failed")

    setattr(Fail, where, fail)
    with pytest.raises(RuntimeError, match="a callback failed"):
        LSTMRegressor(checkpoint_dir=tmp_path, callbacks=[Fail()], **FAULT_PARAMS).fit(X, y_reg)
    (checkpoint,) = tmp_path.glob("checkpoint-*.pt")
    assert not list(tmp_path.glob("*.tmp"))
    state = torch.load(checkpoint, weights_only=True)  # whole and readable
    assert not state["complete"]
    resumed = LSTMRegressor(checkpoint_dir=tmp_path, **FAULT_PARAMS).fit(X, y_reg)
    uninterrupted = LSTMRegressor(**FAULT_PARAMS).fit(X, y_reg)
    assert resumed.loss_curve_ == uninterrupted.loss_curve_
    _same_weights(resumed, uninterrupted)


def test_a_full_disk_while_checkpointing_leaves_the_last_whole_checkpoint(tmp_path, monkeypatch):
    import errno

    from sklearn_rnn import _checkpoint

    real_save, writes = torch.save, []

    def save_until_the_disk_fills(state, file):
        writes.append(state)
        if len(writes) == 4:
            file.write(b"\0" * 100)  # half a file, then no space
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(state, file)

    monkeypatch.setattr(_checkpoint.torch, "save", save_until_the_disk_fills)
    with pytest.raises(OSError, match="No space left on device"):
        LSTMRegressor(checkpoint_dir=tmp_path, **FAULT_PARAMS).fit(X, y_reg)
    monkeypatch.setattr(_checkpoint.torch, "save", real_save)
    (checkpoint,) = tmp_path.glob("checkpoint-*.pt")
    assert not list(tmp_path.glob("*.tmp"))
    state = torch.load(checkpoint, weights_only=True)
    assert len(json.loads(state["history"])) == 3  # the last checkpoint that was whole
    resumed = LSTMRegressor(checkpoint_dir=tmp_path, **FAULT_PARAMS).fit(X, y_reg)
    uninterrupted = LSTMRegressor(**FAULT_PARAMS).fit(X, y_reg)
    assert resumed.loss_curve_ == uninterrupted.loss_curve_
    _same_weights(resumed, uninterrupted)
