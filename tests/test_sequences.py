"""Variable-length sequences: ragged lists and long (instance, time) DataFrames."""

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_rnn import GRURegressor, LSTMClassifier, RNNClassifier


@pytest.fixture
def sequences(ragged_sequences):
    return ragged_sequences(80, 30)


@pytest.fixture
def labels(sequences):
    return np.array([int(s[:, 0].mean() > 0) for s in sequences])


@pytest.fixture
def means(sequences):
    return np.array([s[:, 1].mean() for s in sequences])


def long_frame(sequences):
    parts = [
        pd.DataFrame(s, columns=["a", "b"]).assign(instance=i, time=np.arange(len(s)))
        for i, s in enumerate(sequences)
    ]
    return pd.concat(parts).set_index(["instance", "time"])


@pytest.mark.cpu_numerics
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_changes_a_prediction(pooling, bidirectional, sequences, labels):
    clf = LSTMClassifier(
        hidden_size=6, max_epochs=3, pooling=pooling, bidirectional=bidirectional, random_state=0
    ).fit(sequences, labels)
    together = clf.predict_proba(sequences)
    alone = np.vstack([clf.predict_proba(s[np.newaxis]) for s in sequences])
    with_a_longer_one = np.vstack(
        [clf.predict_proba([s, np.zeros((60, 2))])[:1] for s in sequences[:10]]
    )
    # Same up to float rounding: other batch sizes run other matrix kernels.
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(together[:10], with_a_longer_one, atol=1e-5)


def test_last_pooling_reads_each_sequence_at_its_true_end():
    from sklearn_rnn._modules import RecurrentNetwork

    torch.manual_seed(0)
    net = RecurrentNetwork(input_size=1, output_size=1, cell="gru", hidden_size=4)
    short = torch.randn(1, 3, 1)
    padded = torch.cat([short, torch.full((1, 5, 1), 7.0)], dim=1)
    alone, _ = net.encode(short)
    packed, _ = net.encode(padded, torch.tensor([3]))
    torch.testing.assert_close(alone, packed)


def test_long_dataframe_equals_the_list_of_arrays(sequences, means):
    frame = long_frame(sequences)
    from_frame = GRURegressor(hidden_size=6, max_epochs=5, random_state=0).fit(frame, means)
    from_list = GRURegressor(hidden_size=6, max_epochs=5, random_state=0).fit(sequences, means)
    np.testing.assert_array_equal(from_frame.predict(frame), from_list.predict(sequences))
    assert list(from_frame.feature_names_in_) == ["a", "b"]
    assert from_list.n_features_in_ == 2 and not hasattr(from_list, "feature_names_in_")
    shuffled = frame.sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match="not contiguous"):
        from_frame.predict(shuffled)


def test_ragged_sequences_are_learnt(sequences, labels, means):
    reg = GRURegressor(hidden_size=16, pooling="mean", random_state=0).fit(sequences, means)
    assert reg.score(sequences, means) > 0.8
    clf = RNNClassifier(hidden_size=16, random_state=0).fit(sequences, labels)
    assert clf.score(sequences, labels) > 0.8


def test_univariate_ragged_sequences_and_dense_input_after_ragged_fit(sequences, labels):
    univariate = [s[:, 0] for s in sequences]
    clf = LSTMClassifier(hidden_size=6, max_epochs=3, random_state=0).fit(univariate, labels)
    assert clf.input_size_ == 1
    assert clf.predict(univariate).shape == (80,)
    equal_length = np.stack([s[:3] for s in univariate])
    assert clf.predict(equal_length).shape == (80,)  # 2D univariate sequences
    with pytest.raises(ValueError, match="2 features per time step, but LSTMClassifier"):
        clf.predict(sequences)


def test_training_batches_group_sequences_of_similar_length(sequences):
    from sklearn_rnn._batches import RaggedDataset

    lengths = torch.tensor([len(s) for s in sequences])
    offsets = torch.cumsum(lengths, 0) - lengths
    dataset = RaggedDataset(torch.zeros(int(lengths.sum()), 2), offsets, lengths)
    torch.manual_seed(0)
    batches = list(dataset.batch_indices(16, shuffle=True))
    assert sorted(torch.cat(batches).tolist()) == list(range(80))
    spans = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    random_spans = [int(lengths[b].max() - lengths[b].min()) for b in torch.randperm(80).split(16)]
    assert sum(spans) < sum(random_spans) / 2
    X, _ = dataset[batches[0]]
    assert X["X"].shape == (16, int(lengths[batches[0]].max()), 2)


def test_channels_first_data_from_sktime_is_converted_explicitly(rng):
    from sklearn_rnn import from_channels_first

    channels_first = rng.normal(size=(6, 3, 20))  # (n_samples, n_channels, n_timepoints)
    X = from_channels_first(channels_first)
    assert X.shape == (6, 20, 3) and np.shares_memory(X, channels_first)
    np.testing.assert_array_equal(X[2, 5], channels_first[2, :, 5])
    with pytest.raises(ValueError, match="expects a 3D array"):
        from_channels_first(np.zeros((6, 20)))


def nested_frame(sequences, columns=("a", "b")):
    """sktime's nested_univ layout: a row per instance, a Series of time points per cell."""
    return pd.DataFrame(
        {name: [pd.Series(s[:, k]) for s in sequences] for k, name in enumerate(columns)}
    )


def test_sktime_nested_frames_read_as_the_same_sequences(rng, sequences, labels):
    equal = rng.normal(size=(40, 9, 2))
    y = (equal[:, :, 0].mean(axis=1) > 0).astype(int)
    params = dict(hidden_size=6, max_epochs=3, random_state=0)
    from_array = LSTMClassifier(**params).fit(equal, y)
    from_nested = LSTMClassifier(**params).fit(nested_frame(equal), y)
    np.testing.assert_array_equal(
        from_nested.predict_proba(nested_frame(equal)), from_array.predict_proba(equal)
    )
    assert list(from_nested.feature_names_in_) == ["a", "b"]
    with pytest.raises(ValueError, match="must be the feature names seen in fit"):
        from_nested.predict(nested_frame(equal, columns=("b", "a")))
    # Instances of different lengths read as a list of sequences.
    ragged = LSTMClassifier(**params).fit(nested_frame(sequences), labels)
    np.testing.assert_array_equal(
        ragged.predict_proba(nested_frame(sequences)),
        LSTMClassifier(**params).fit(sequences, labels).predict_proba(sequences),
    )


def test_long_dataframe_columns_are_checked_and_nan_instances_kept_apart(sequences, means):
    frame = long_frame(sequences[:20])
    reg = GRURegressor(hidden_size=4, max_epochs=2, random_state=0).fit(frame, means[:20])
    with pytest.raises(ValueError, match="must be the feature names seen in fit"):
        reg.predict(frame[["b", "a"]])
    with pytest.raises(ValueError, match="must be the feature names seen in fit"):
        reg.predict(frame.rename(columns={"a": "x"}))
    index = pd.MultiIndex.from_arrays(
        [[np.nan, np.nan, "a", "a", "a", "b"], [0, 1, 0, 1, 2, 0]], names=["instance", "time"]
    )
    odd = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0)}, index=index)
    assert reg.predict(odd).shape == (3,)


def test_attention_weights_are_readable_after_fitting(rng):
    # The label is the sign of step 4; attention should concentrate there.
    X = rng.normal(size=(200, 10, 1))
    y = (X[:, 4, 0] > 0).astype(int)
    clf = LSTMClassifier(pooling="attention", hidden_size=16, random_state=0).fit(X, y)
    weights = clf.attention_weights(X)
    assert weights.shape == (200, 10)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.score(X, y) > 0.9
    ragged = clf.attention_weights([X[0, :7], X[1]])
    assert [w.shape for w in ragged] == [(7,), (10,)]
    np.testing.assert_allclose([w.sum() for w in ragged], 1.0, rtol=1e-5)
    assert not hasattr(LSTMClassifier(pooling="last"), "attention_weights")
