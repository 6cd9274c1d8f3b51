"""Mixed precision and torch.compile options (off by default), and their checks."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_rnn import GRUClassifier, LSTMRegressor, RNNSequenceTransformer, load

X = np.random.RandomState(0).normal(size=(64, 10, 2))
y = X[:, :, 0].sum(axis=1)


def test_bfloat16_autocast_trains_and_predicts_close_to_float32():
    params = dict(hidden_size=8, max_epochs=15, lr_schedule="constant", random_state=0)
    full = LSTMRegressor(**params).fit(X, y)
    half = LSTMRegressor(precision="bfloat16", **params).fit(X, y)
    assert half.net_.precision == "bfloat16"
    # Same seed, other rounding: the curves agree to bfloat16's ~3 significant digits.
    np.testing.assert_allclose(half.loss_curve_, full.loss_curve_, rtol=0.1)
    assert half.predict(X).dtype == np.float64
    np.testing.assert_allclose(half.predict(X), full.predict(X), atol=0.15 * y.std())
    assert half.score(X, y) > 0.5


@pytest.mark.cpu_numerics
def test_bfloat16_reaches_every_prediction_path(tmp_path):
    clf = GRUClassifier(
        hidden_size=4, max_epochs=2, pooling="attention", precision="bfloat16", random_state=0
    ).fit(X, y > 0)
    np.testing.assert_allclose(clf.attention_weights(X).sum(axis=1), 1.0, rtol=1e-2)
    loaded = load(clf.save(tmp_path / "model"))
    assert loaded.precision == "bfloat16"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    embed = RNNSequenceTransformer(
        n_components=3, hidden_size=4, max_epochs=2, precision="bfloat16", random_state=0
    )
    assert embed.fit_transform(X).dtype == np.float64


def test_float16_needs_a_gpu_and_accelerator_settings_stay_with_the_accelerator():
    with pytest.raises(ValueError, match="float16' needs a GPU"):
        LSTMRegressor(precision="float16", device="cpu").fit(X, y)

    class StandInAccelerator:
        device = "cpu"

        def prepare(self, *args):
            return args

        def backward(self, loss):
            loss.backward()

    with pytest.raises(ValueError, match="the Accelerator's settings"):
        LSTMRegressor(compile=True, accelerator=StandInAccelerator()).fit(X, y)


class Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(10, 1)

    def forward(self, X):
        return self.linear(X[:, :, 0])


def test_float16_loss_scaling_steps_and_clips_with_unscaled_gradients():
    # CPU kernels have no float16 LSTM, but a linear model shows the scaler's path.
    from skorch.callbacks import GradientNormClipping

    from sklearn_rnn._net import RecurrentNet

    seen_norms = []

    class RecordNorm(GradientNormClipping):
        def on_grad_computed(self, net, named_parameters, **kwargs):
            params = [p for _, p in named_parameters]
            seen_norms.append(float(torch.norm(torch.stack([p.grad.norm() for p in params]))))

    inputs = torch.as_tensor(X, dtype=torch.float32)
    targets = torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
    net = RecurrentNet(
        Linear,
        criterion=torch.nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=0.05,
        max_epochs=30,
        batch_size=16,
        train_split=None,
        verbose=0,
        device="cpu",
        precision="float16",
        callbacks=[RecordNorm()],
    )
    torch.manual_seed(0)
    net.fit(inputs, targets)
    assert net.history[-1, "train_loss"] < 0.05 * net.history[0, "train_loss"]
    # The first steps overflow at the initial 65536 loss scale; the scaler skips
    # them and lowers the scale. Otherwise the callbacks see the true, unscaled norms.
    finite = [norm for norm in seen_norms if np.isfinite(norm)]
    assert len(finite) < len(seen_norms) and max(finite) < 1000
    assert net._scaler.get_scale() > 1
    assert "_scaler" not in net.__getstate__()  # rebuilt on demand, not pickled


def test_compiled_forward_matches_eager_and_pickles_uncompiled():
    params = dict(hidden_size=4, max_epochs=2, lr_schedule="constant", random_state=0)
    eager = LSTMRegressor(**params).fit(X[:32], y[:32])
    compiled = LSTMRegressor(compile=True, **params).fit(X[:32], y[:32])
    np.testing.assert_allclose(compiled.loss_curve_, eager.loss_curve_, rtol=1e-4)
    np.testing.assert_allclose(compiled.predict(X[:32]), eager.predict(X[:32]), atol=1e-4)
    assert list(compiled.net_.module_.state_dict()) == list(eager.net_.module_.state_dict())
    restored = pickle.loads(pickle.dumps(compiled))
    np.testing.assert_allclose(restored.predict(X[:32]), compiled.predict(X[:32]), atol=1e-5)


def test_data_sets_move_to_a_gpu_whole_only_when_they_fit(monkeypatch):
    from sklearn_rnn import _batches

    moved = []

    class Recording(_batches.SequenceDataset):
        def to(self, device):
            moved.append(str(device))
            return self

    dataset = Recording(torch.zeros(100, 10, 2), torch.zeros(100))  # 8,400 bytes
    assert _batches.place_on_device(dataset, "cpu") is dataset and moved == []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (40_000, 80_000))
    _batches.place_on_device(dataset, "cuda:0")
    assert moved == ["cuda:0"]
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (30_000, 80_000))
    _batches.place_on_device(dataset, "cuda:0")
    assert moved == ["cuda:0"]  # 8,400 bytes is over a quarter of 30,000: stays put


def test_gpu_predictions_come_in_batches_of_thousands_of_rows():
    from sklearn_rnn._modules import RecurrentNetwork
    from sklearn_rnn._prediction import prediction_batch_size, recurrent_width

    assert prediction_batch_size(32, "cpu", 64, 64) == 32  # the CPU keeps the training size
    assert prediction_batch_size(32, "cuda:0", 32, 64) == 8192  # 2**24 values
    assert prediction_batch_size(32, "cuda", 32, 1024) == 512  # wide layers, fewer rows
    assert prediction_batch_size(32, "mps", 2**20, 64) == 32  # never below the training size
    assert prediction_batch_size(10_000, "cuda", 64, 64) == 10_000
    network = RecurrentNetwork(input_size=2, output_size=1, hidden_size=16, bidirectional=True)
    assert recurrent_width(network) == 32 and recurrent_width(torch.nn.Linear(2, 2)) == 1


def test_unpickled_recurrent_layers_are_flattened_once(monkeypatch):
    reg = LSTMRegressor(hidden_size=4, max_epochs=1, n_networks=1).fit(X[:32], y[:32])
    flattened = []
    monkeypatch.setattr(
        torch.nn.RNNBase, "flatten_parameters", lambda layer: flattened.append(layer)
    )
    restored = pickle.loads(pickle.dumps(reg))
    assert flattened == [restored.net_.module_.rnn]  # cuDNN's one block, on a GPU


@pytest.mark.parametrize("kind", ["sequence", "window", "ragged"])
def test_moved_data_sets_gather_the_same_batches(kind):
    from sklearn_rnn import _batches

    values = torch.arange(60.0).reshape(30, 2)
    if kind == "sequence":
        dataset = _batches.SequenceDataset(values.reshape(10, 3, 2), torch.arange(10.0))
    elif kind == "window":
        dataset = _batches.WindowDataset(values, torch.arange(0, 20, 2), 5, torch.arange(10.0))
    else:
        lengths = torch.tensor([3, 1, 4, 2, 5, 3, 2, 4, 3, 3])
        offsets = torch.cumsum(lengths, 0) - lengths
        dataset = _batches.RaggedDataset(values, offsets, lengths, torch.arange(10.0))
    moved = dataset.to("cpu")
    index = torch.tensor([7, 2, 5])
    for a, b in zip(dataset[index], moved[index]):
        a, b = (a["X"], b["X"]) if isinstance(a, dict) else (a, b)
        torch.testing.assert_close(a, b)
    assert len(moved.subset(index)) == 3
    assert sum(t.numel() for t in moved.tensors()) == sum(t.numel() for t in dataset.tensors())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["float32", "bfloat16", "float16"])
def test_training_on_a_gpu_with_the_data_there(precision, rng):
    ragged = [rng.normal(size=(n, 2)) for n in rng.randint(3, 30, size=64)]
    targets = np.array([s[:, 0].sum() for s in ragged])
    for data, target in ((X, y), (ragged, targets)):
        reg = LSTMRegressor(
            hidden_size=16, max_epochs=20, device="cuda", precision=precision, random_state=0
        ).fit(data, target)
        assert reg.device_ == "cuda" and reg.score(data, target) > 0.5
