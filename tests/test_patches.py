"""patch_size: runs of time steps merged into one before the recurrent layers."""

import numpy as np
import pytest
import torch

import sklearn_rnn
from sklearn_rnn import GRUClassifier, LSTMClassifier, RNNSequenceTransformer
from sklearn_rnn._modules import RecurrentNetwork


@pytest.fixture
def sequences(ragged_sequences):
    return ragged_sequences(60, 40)


@pytest.fixture
def labels(sequences):
    return np.array([int(s[:, 0].mean() > 0) for s in sequences])


def test_a_padded_sequence_has_the_patches_of_the_sequence_alone():
    torch.manual_seed(0)
    for bidirectional in (False, True):
        net = RecurrentNetwork(
            input_size=2, output_size=1, hidden_size=4, patch_size=3, bidirectional=bidirectional
        )
        short = torch.randn(1, 7, 2)  # two whole patches and a partial one
        padded = torch.cat([short, torch.zeros(1, 9, 2)], dim=1)
        patches, lengths = net.patches(padded, torch.tensor([7]))
        assert patches.shape == (1, 6, 4) and lengths.tolist() == [3]
        alone, _ = net.encode(short)
        in_a_batch, _ = net.encode(padded, torch.tensor([7]))
        torch.testing.assert_close(alone, in_a_batch)


@pytest.mark.parametrize("pooling", ["last", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_changes_a_prediction_with_patches(pooling, bidirectional, sequences, labels):
    clf = LSTMClassifier(
        hidden_size=6,
        max_epochs=3,
        patch_size=4,
        pooling=pooling,
        bidirectional=bidirectional,
        random_state=0,
    ).fit(sequences, labels)
    together = clf.predict_proba(sequences)
    alone = np.vstack([clf.predict_proba(s[np.newaxis]) for s in sequences])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_auto_leaves_the_recurrent_layers_at_most_32_steps(rng, sequences, labels):
    params = dict(hidden_size=4, max_epochs=1, random_state=0)
    y = rng.randint(0, 2, 20)
    for n_timesteps, expected in [(32, 1), (33, 2), (70, 3), (150, 5)]:
        X = rng.normal(size=(20, n_timesteps))
        assert GRUClassifier(**params).fit(X, y).patch_size_ == expected
    assert LSTMClassifier(**params).fit(sequences, labels).patch_size_ == 2  # longest: 39
    X = rng.normal(size=(20, 70))
    per_step = LSTMClassifier(return_sequences=True, **params).fit(X, X > 0)
    assert per_step.patch_size_ == 1
    assert RNNSequenceTransformer(**params).fit(X).patch_size_ == 3
    assert LSTMClassifier(patch_size=1, **params).fit(X, y).patch_size_ == 1
    with pytest.raises(ValueError, match="patch_size=4 merges time steps, but return_sequences"):
        LSTMClassifier(patch_size=4, return_sequences=True, **params).fit(X, X > 0)
    with pytest.raises(ValueError, match="patch_size"):
        LSTMClassifier(patch_size=0, **params).fit(X, y)


def test_attention_weights_are_shared_among_a_patchs_steps(sequences, labels):
    clf = LSTMClassifier(
        hidden_size=6, max_epochs=3, patch_size=4, pooling="attention", random_state=0
    ).fit(sequences, labels)
    weights = clf.attention_weights(sequences)
    for w, s in zip(weights, sequences):
        assert w.shape == (len(s),) and np.all(w >= 0)
        np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-5)
        whole = len(s) // 4 * 4
        # Equal within each whole patch.
        block = w[:whole].reshape(-1, 4)
        np.testing.assert_allclose(block - block[:, :1], 0.0, atol=1e-7)
    dense = clf.attention_weights(np.stack([s[:30] for s in sequences if len(s) >= 30]))
    np.testing.assert_allclose(dense.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.cpu_numerics
def test_patched_models_save_load_and_pickle(tmp_path, rng):
    import pickle

    X = rng.normal(size=(40, 50, 2))
    y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    clf = LSTMClassifier(hidden_size=6, max_epochs=3, random_state=0).fit(X, y)
    assert clf.patch_size_ == 2
    for other in (sklearn_rnn.load(clf.save(tmp_path / "clf")), pickle.loads(pickle.dumps(clf))):
        assert other.patch_size_ == 2
        np.testing.assert_array_equal(other.predict_proba(X), clf.predict_proba(X))
