"""Many-to-many outputs, encoder-decoder forecasting and the sequence transformer."""


import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_rnn import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNRegressor,
    RNNSequenceTransformer,
    load,
)


@pytest.fixture
def sequences(ragged_sequences):
    return ragged_sequences(60, 25)


@pytest.fixture
def running(sequences):
    """Per-step targets: a running sum, which needs memory."""
    return [np.cumsum(s[:, 0]) for s in sequences]


@pytest.fixture
def signs(running):
    """The running sum's sign as a per-step label."""
    return [np.where(r > 0, "pos", "neg") for r in running]


pytestmark = pytest.mark.usefixtures("quiet_convergence")


# -- many-to-many -----------------------------------------------------------------------


def test_per_step_regression_shapes_for_equal_length_and_ragged_input(sequences, running, rng):
    X = rng.normal(size=(40, 9, 2))
    y = np.cumsum(X[:, :, 0], axis=1)
    reg = GRURegressor(hidden_size=8, max_epochs=3, return_sequences=True, random_state=0)
    assert reg.fit(X, y).predict(X).shape == (40, 9)
    two_outputs = np.stack([y, -y], axis=2)
    assert reg.fit(X, two_outputs).predict(X).shape == (40, 9, 2)
    assert reg.n_outputs_ == 2
    reg.fit(sequences, running)
    predictions = reg.predict(sequences)
    assert [p.shape for p in predictions] == [(len(s),) for s in sequences]
    assert isinstance(reg.score(sequences, running), float)


def test_per_step_classification_labels_each_time_step(sequences, signs):
    clf = LSTMClassifier(hidden_size=16, return_sequences=True, random_state=0)
    clf.fit(sequences, signs)
    assert list(clf.classes_) == ["neg", "pos"]
    labels = clf.predict(sequences)
    assert [p.shape for p in labels] == [(len(s),) for s in sequences]
    assert set(np.concatenate(labels)) <= {"neg", "pos"}
    proba = clf.predict_proba(sequences)
    assert [p.shape for p in proba] == [(len(s), 2) for s in sequences]
    np.testing.assert_allclose(np.concatenate(proba).sum(axis=1), 1.0)
    # A running sum needs memory: labelling every step right shows the state is carried.
    assert clf.score(sequences, signs) > 0.9


@pytest.mark.parametrize("bidirectional", [False, True])
def test_per_step_predictions_ignore_padding_and_batch_composition(bidirectional, sequences, running):
    reg = LSTMRegressor(
        hidden_size=6,
        max_epochs=3,
        return_sequences=True,
        bidirectional=bidirectional,
        random_state=0,
    ).fit(sequences, running)
    together = reg.predict(sequences)
    for i in range(0, 60, 7):
        alone = reg.predict([sequences[i]])[0]
        with_a_longer_one = reg.predict([sequences[i], np.zeros((70, 2))])[0]
        np.testing.assert_allclose(together[i], alone, atol=1e-5)
        np.testing.assert_allclose(together[i], with_a_longer_one, atol=1e-5)


def test_ragged_equal_length_and_long_frame_inputs_agree_per_step(sequences, running, rng):
    X = rng.normal(size=(30, 8, 2))
    y = np.cumsum(X[:, :, 1], axis=1)
    params = dict(hidden_size=6, max_epochs=3, return_sequences=True, random_state=0)
    dense = GRURegressor(**params).fit(X, y)
    as_list = GRURegressor(**params).fit(list(X), list(y))  # equal lengths: stacked
    np.testing.assert_allclose(dense.predict(X), as_list.predict(X))
    frame = pd.concat(
        [pd.DataFrame(s, columns=["a", "b"]).assign(i=k, t=np.arange(len(s))) for k, s in enumerate(sequences)]
    ).set_index(["i", "t"])
    targets = pd.Series(np.concatenate(running), index=frame.index)
    from_frame = GRURegressor(**params).fit(frame, targets)
    from_list = GRURegressor(**params).fit(sequences, running)
    for a, b in zip(from_frame.predict(frame), from_list.predict(sequences)):
        np.testing.assert_array_equal(a, b)
    # The ragged path pads each batch; equal-length ragged data predicts as the dense path.
    ragged = dense.predict([*X, X[0, :5]])
    np.testing.assert_allclose(np.stack(ragged[:30]), dense.predict(X), atol=1e-5)


def test_padded_steps_do_not_count_in_the_loss():
    import torch

    from sklearn_rnn._modules import MaskedMSELoss, PerStepCrossEntropyLoss

    prediction = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    target = torch.tensor([[0.0, 2.0, float("nan")], [4.0, float("nan"), float("nan")]])
    assert MaskedMSELoss()(prediction, target).item() == pytest.approx(1.0 / 3)
    prediction.requires_grad_(True)
    MaskedMSELoss()(prediction, target).backward()
    assert torch.isfinite(prediction.grad).all() and prediction.grad[0, 2] == 0
    logits = torch.zeros(1, 3, 2)
    logits[0, 2] = torch.tensor([100.0, -100.0])  # badly wrong, but on a padded step
    loss = PerStepCrossEntropyLoss()(logits, torch.tensor([[0, 1, -100]]))
    assert loss.item() == pytest.approx(np.log(2))


def test_per_step_targets_are_validated(sequences, running, rng):
    reg = RNNRegressor(hidden_size=4, max_epochs=1, return_sequences=True)
    X = rng.normal(size=(10, 6, 1))
    with pytest.raises(ValueError, match=r"y of shape \(10, 6\)"):
        reg.fit(X, rng.normal(size=10))
    with pytest.raises(ValueError, match="Sequence 1 of X has"):
        reg.fit(sequences[:3], [running[0], running[0][:1], running[2]])
    with pytest.raises(ValueError, match="3 target sequences, but X has 4"):
        reg.fit(sequences[:4], running[:3])
    with pytest.raises(ValueError, match="one array of per-step targets per sequence"):
        reg.fit(sequences[:3], np.zeros(3))
    bad = [r.copy() for r in running[:3]]
    bad[1][0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        reg.fit(sequences[:3], bad)
    with pytest.raises(ValueError, match="labels per time step"):
        LSTMClassifier(return_sequences=True).fit(X, np.zeros((10, 6, 2)))


@pytest.mark.cpu_numerics
def test_per_step_models_save_load_and_early_stop(sequences, signs):
    clf = GRUClassifier(
        hidden_size=4, max_epochs=4, return_sequences=True, early_stopping=True, random_state=0
    ).fit(sequences, signs)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        clf.save(directory)
        loaded = load(directory)
    for a, b in zip(loaded.predict_proba(sequences), clf.predict_proba(sequences)):
        np.testing.assert_array_equal(a, b)


# -- encoder-decoder ---------------------------------------------------------------------


@pytest.mark.parametrize("decoder", ["rnn", "attention"])
def test_encoder_decoder_forecasts_a_horizon(decoder, sine_horizons):
    X, y = sine_horizons(300, 24, horizon=6)
    reg = GRURegressor(hidden_size=24, decoder=decoder, max_epochs=60, random_state=0).fit(X, y)
    assert reg.horizon_ == 6 and reg.n_outputs_ == 1
    X_test, y_test = sine_horizons(100, 24, horizon=6, seed=1)
    assert reg.predict(X_test).shape == (100, 6)
    assert reg.score(X_test, y_test) > 0.9
    two_targets = np.stack([y, 2 * y], axis=2)
    reg.set_params(max_epochs=2).fit(X, two_targets)
    assert reg.predict(X_test).shape == (100, 6, 2)


def test_encoder_decoder_attention_weights_and_ragged_input(sequences, sine_horizons, rng):
    X, y = sine_horizons(60, 12, horizon=3)
    reg = LSTMRegressor(hidden_size=8, decoder="attention", max_epochs=3, random_state=0)
    reg.fit(X, y)
    weights = reg.attention_weights(X)
    assert weights.shape == (60, 3, 12)
    np.testing.assert_allclose(weights.sum(axis=2), 1.0, rtol=1e-5)
    ragged = reg.fit(sequences, rng.normal(size=(60, 3))).attention_weights(sequences[:2])
    assert [w.shape for w in ragged] == [(3, len(sequences[0])), (3, len(sequences[1]))]
    alone = reg.predict([sequences[4]])
    np.testing.assert_allclose(reg.predict(sequences)[4], alone[0], atol=1e-5)
    assert not hasattr(LSTMRegressor(decoder="rnn"), "attention_weights")


@pytest.mark.cpu_numerics
def test_encoder_decoder_saves_and_loads(tmp_path, sine_horizons):
    X, y = sine_horizons(40, 10, horizon=4)
    reg = RNNRegressor(hidden_size=4, decoder="attention", max_epochs=2, random_state=0).fit(X, y)
    loaded = load(reg.save(tmp_path / "model"))
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    assert loaded.horizon_ == 4


def test_encoder_decoder_settings_are_checked(sine_horizons):
    X, y = sine_horizons(20, 10, horizon=4)
    with pytest.raises(ValueError, match="exclude each other"):
        LSTMRegressor(decoder="rnn", return_sequences=True).fit(X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(n_samples, horizon\)"):
        LSTMRegressor(decoder="rnn").fit(X, y[:, 0])
    with pytest.raises(ValueError, match="decoder"):
        LSTMRegressor(decoder="transformer").fit(X, y)


# -- sequence transformer ----------------------------------------------------------------


def test_autoencoder_reconstruction_error_falls_during_training(sine_horizons):
    X, _ = sine_horizons(200, 20, horizon=0)
    embed = RNNSequenceTransformer(n_components=4, hidden_size=16, max_epochs=40, random_state=0)
    embed.fit(X)
    assert embed.objective_ == "reconstruction"
    curve = embed.loss_curve_
    assert curve[-1] < 0.3 * curve[0]
    assert all(later <= earlier * 1.1 for earlier, later in zip(curve[::5], curve[5::5]))
    assert embed.transform(X).shape == (200, 4)


def test_supervised_embedding_in_a_pipeline_and_its_feature_names(rng):
    X = rng.normal(size=(120, 10, 1))
    y = np.where(X[:, 3, 0] > 0, "up", "down")
    pipe = make_pipeline(
        RNNSequenceTransformer(cell="gru", n_components=3, random_state=0),
        LogisticRegression(),
    ).fit(X, y)
    embed = pipe[0]
    assert embed.objective_ == "classification" and list(embed.classes_) == ["down", "up"]
    assert pipe.score(X, y) > 0.9
    names = embed.get_feature_names_out()
    assert list(names) == [f"rnnsequencetransformer{i}" for i in range(3)]
    frame = embed.set_output(transform="pandas").transform(X)
    assert list(frame.columns) == list(names)
    # A regression target keeps numbers; a refit without y forgets the classes.
    embed.set_output(transform="default").fit(X, X[:, :, 0].sum(axis=1))
    assert embed.objective_ == "regression" and not hasattr(embed, "classes_")


def test_embeddings_of_ragged_sequences_and_long_frames(sequences):
    frame = pd.concat(
        [pd.DataFrame(s, columns=["a", "b"]).assign(i=f"s{k}", t=np.arange(len(s))) for k, s in enumerate(sequences)]
    ).set_index(["i", "t"])
    embed = RNNSequenceTransformer(n_components=2, hidden_size=4, max_epochs=3, random_state=0)
    from_list = embed.fit(sequences).transform(sequences)
    assert from_list.shape == (60, 2)
    alone = embed.transform([sequences[5]])
    np.testing.assert_allclose(from_list[5], alone[0], atol=1e-5)
    embed.fit(frame).set_output(transform="pandas")
    out = embed.transform(frame)
    assert out.shape == (60, 2) and list(out.index[:2]) == ["s0", "s1"]
    with pytest.raises(ValueError, match="multilabel-indicator"):
        embed.fit(sequences[:4], np.array([[0, 1], [1, 0], [1, 1], [0, 0]]))


@pytest.mark.cpu_numerics
def test_transformer_saves_and_loads(tmp_path, sequences):
    embed = RNNSequenceTransformer(n_components=2, hidden_size=4, max_epochs=2, random_state=0)
    embed.fit(sequences, [s.shape[0] > 10 for s in sequences])
    loaded = load(embed.save(tmp_path / "embed"))
    np.testing.assert_array_equal(loaded.transform(sequences), embed.transform(sequences))
    assert list(loaded.classes_) == [False, True]
