"""partial_fit: one epoch per call, scaling fixed at the first call, classes declared
up front; and the clients that need it: Optuna's pruning and dask-ml's Incremental."""

import numpy as np
import pytest

from sklearn_rnn import (
    GRUClassifier,
    LSTMClassifier,
    LSTMRegressor,
    RNNSequenceTransformer,
    make_windows,
)


def series_windows(rng, n=240, window=8):
    series = np.sin(np.arange(n) / 5.0) + 0.1 * rng.normal(size=n)
    return make_windows(series, window)


def labelled(rng, n=80):
    X = rng.normal(size=(n, 12))
    return X, np.where(X.mean(axis=1) > 0, "up", "down")


@pytest.mark.cpu_numerics
def test_each_call_is_one_epoch_on_a_network_it_keeps(rng):
    X, y = series_windows(rng)
    reg = LSTMRegressor(hidden_size=6, random_state=0)
    reg.partial_fit(X[:120], y[:120])
    net, mean, target_mean = reg.net_, reg.input_mean_.copy(), reg.target_mean_.copy()
    skip = reg.net_.module_.skip.weight.detach().clone()
    for _ in range(4):
        reg.partial_fit(X[120:] * 3 + 1, y[120:] * 3 + 1)
    assert reg.net_ is net and reg.n_iter_ == 5 and len(reg.loss_curve_) == 5
    # Scaling and the linear part stay as the first call set them.
    np.testing.assert_array_equal(reg.input_mean_, mean)
    np.testing.assert_array_equal(reg.target_mean_, target_mean)
    assert np.array_equal(reg.net_.module_.skip.weight.detach(), skip)
    assert reg.validation_loss_curve_ is None


def test_training_by_partial_fit_learns_and_is_seeded(rng):
    X, y = labelled(rng)
    fits = []
    for _ in range(2):
        clf = GRUClassifier(hidden_size=8, random_state=0)
        for _ in range(15):
            clf.partial_fit(X, y, classes=["down", "up"])
        fits.append(clf)
    assert fits[0].loss_curve_[-1] < fits[0].loss_curve_[0]
    assert fits[0].score(X, y) > 0.8
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_partial_fit_after_fit_continues_the_fitted_network(rng):
    X, y = series_windows(rng)
    reg = LSTMRegressor(hidden_size=6, max_epochs=4, random_state=0).fit(X, y)
    fitted_epochs, net = reg.n_iter_, reg.net_
    reg.partial_fit(X, y)
    assert reg.net_ is net and reg.n_iter_ == fitted_epochs + 1
    # fit starts anew.
    reg.fit(X, y)
    assert reg.net_ is not net and reg.n_iter_ <= 4


def test_classes_are_declared_on_the_first_call(rng):
    X, y = labelled(rng)
    clf = LSTMClassifier(hidden_size=4, random_state=0)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        clf.partial_fit(X, y)
    # A batch may hold a single class, once the classes are known.
    up = y == "up"
    clf.partial_fit(X[up], y[up], classes=np.array(["up", "down"]))
    assert list(clf.classes_) == ["down", "up"]
    clf.partial_fit(X[~up], y[~up])
    assert set(clf.predict(X)) <= {"down", "up"} and clf.n_iter_ == 2
    with pytest.raises(ValueError, match=r"labels \['sideways'\], which the network was not"):
        clf.partial_fit(X[:3], np.array(["up", "sideways", "down"]))
    with pytest.raises(ValueError, match="differs from the classes of the first call"):
        clf.partial_fit(X, y, classes=["down", "up", "sideways"])
    with pytest.raises(ValueError, match="class_weight='balanced' weighs the classes"):
        LSTMClassifier(class_weight="balanced").partial_fit(X, y, classes=["down", "up"])
    weighted = LSTMClassifier(hidden_size=4, class_weight={"up": 2.0, "down": 1.0}, random_state=0)
    weighted.partial_fit(X[up], y[up], classes=["down", "up"])
    assert weighted.net_.criterion_.weight.tolist() == [1.0, 2.0]


def test_later_calls_check_the_features_as_predict_does(rng):
    X, y = labelled(rng)
    clf = LSTMClassifier(hidden_size=4, random_state=0).partial_fit(X, y, classes=["down", "up"])
    with pytest.raises(ValueError, match="X has 11 features, but LSTMClassifier is expecting 12"):
        clf.partial_fit(X[:, :11], y)
    reg = LSTMRegressor(hidden_size=4, random_state=0).partial_fit(rng.normal(size=(30, 5, 2)), rng.normal(size=30))
    with pytest.raises(ValueError, match="X has 3 features per time step, but LSTMRegressor is expecting 2"):
        reg.partial_fit(rng.normal(size=(30, 5, 3)), rng.normal(size=30))


def test_the_transformer_learns_incrementally_too(rng):
    X, y = labelled(rng)
    embed = RNNSequenceTransformer(hidden_size=6, n_components=3, random_state=0)
    embed.partial_fit(X).partial_fit(X)
    assert embed.objective_ == "reconstruction" and embed.n_iter_ == 2
    assert embed.transform(X).shape == (len(X), 3)
    supervised = RNNSequenceTransformer(hidden_size=6, n_components=3, random_state=0)
    up = y == "up"
    supervised.partial_fit(X[up], y[up], classes=["down", "up"]).partial_fit(X[~up], y[~up])
    assert list(supervised.classes_) == ["down", "up"]


def test_optuna_search_prunes_with_partial_fit(rng):
    optuna = pytest.importorskip("optuna")
    integration = pytest.importorskip("optuna_integration")
    from sklearn.model_selection import TimeSeriesSplit

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = series_windows(rng, n=160)
    search = integration.OptunaSearchCV(
        LSTMRegressor(max_epochs=5, random_state=0),
        {"hidden_size": optuna.distributions.IntDistribution(4, 12)},
        enable_pruning=True,
        max_iter=3,
        n_trials=3,
        cv=TimeSeriesSplit(2),
        random_state=0,
    )
    search.fit(np.asarray(X), y)
    assert len(search.study_.trials) == 3
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in search.study_.trials)
    # Each trial reported one score per partial_fit epoch.
    assert max(len(t.intermediate_values) for t in search.study_.trials) == 3


def test_dask_ml_incremental_trains_block_by_block(rng):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = labelled(rng)  # dask-ml's blocks are 2D: univariate sequences, one per row
    incremental = wrappers.Incremental(LSTMClassifier(hidden_size=6, random_state=0))
    incremental.fit(da.from_array(X, chunks=(20, 12)), da.from_array(y, chunks=20), classes=["down", "up"])
    assert incremental.estimator_.n_iter_ == 4  # one epoch per block
    assert set(incremental.predict(da.from_array(X, chunks=(20, 12))).compute()) <= {"down", "up"}


def test_a_failed_call_leaves_the_model_as_it_was(rng):
    X, y = series_windows(rng)
    reg = LSTMRegressor(hidden_size=4, max_epochs=3, linear_skip=False, random_state=0).fit(X, y)
    before, n_epochs = reg.predict(X[:5]), len(reg.net_.history)
    with pytest.raises(ValueError, match="Training diverged"):
        reg.partial_fit(X, y * 1e30)
    np.testing.assert_array_equal(reg.predict(X[:5]), before)
    assert len(reg.net_.history) == n_epochs == reg.n_iter_
    # And it trains on as if nothing had happened.
    again = LSTMRegressor(hidden_size=4, max_epochs=3, linear_skip=False, random_state=0).fit(X, y)
    np.testing.assert_array_equal(reg.partial_fit(X, y).predict(X), again.partial_fit(X, y).predict(X))


@pytest.mark.cpu_numerics
def test_later_calls_train_where_the_network_is(rng):
    X, y = series_windows(rng)
    reg = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    reg.device_ = "cuda"  # as a model trained on a GPU and loaded with load(device="cpu")
    reg.partial_fit(X, y)
    assert reg.device_ == "cpu"


def test_2d_batches_continue_a_model_of_univariate_3d_sequences(rng):
    X, y = series_windows(rng)  # (n, 8, 1)
    reg = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    reg.partial_fit(np.asarray(X)[:, :, 0], y)
    assert reg.n_iter_ == 3


def test_models_saved_before_weights_and_patches_continue_training(rng):
    from pathlib import Path

    import pandas as pd

    import sklearn_rnn

    path = Path(__file__).parent / "data" / "format1_gru_classifier"
    X = pd.DataFrame(rng.normal(size=(30, 8)), columns=[f"t{k}" for k in range(8)])
    y = np.where(X.mean(axis=1) > 0, "up", "down")
    loaded = sklearn_rnn.load(path)
    loaded.partial_fit(X, y, sample_weight=rng.uniform(0.5, 2.0, 30))
    warm = sklearn_rnn.load(path).set_params(warm_start=True, max_epochs=2)
    warm.fit(X, y)
    assert warm.patch_size_ == 1


def test_a_warm_start_keeps_its_patches_for_sequences_of_another_length(rng):
    y = rng.randint(0, 2, 20)
    clf = LSTMClassifier(hidden_size=4, max_epochs=1, warm_start=True, random_state=0)
    clf.fit(rng.normal(size=(20, 100, 1)), y)
    clf.fit(rng.normal(size=(20, 60, 1)), y)
    assert clf.patch_size_ == 4
