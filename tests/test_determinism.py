"""The same integer random_state gives the same model however fits are scheduled,
and windows give the same model as a view or as a copy."""

import threading

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit

from sklearn_rnn import GRUClassifier, LSTMRegressor, make_windows


pytestmark = [pytest.mark.usefixtures("quiet_convergence"), pytest.mark.cpu_numerics]


def regression_data(rng):
    X = rng.normal(size=(64, 8, 2))
    return X, X[:, -1, 0] + X[:, -3, 1]


def fit_and_predict(X, y, seed, dropout, max_epochs=6):
    params = dict(
        hidden_size=6, num_layers=2, dropout=dropout, max_epochs=max_epochs, random_state=seed
    )
    return LSTMRegressor(**params).fit(X, y).predict(X)


@pytest.mark.parametrize("torch_threads", [1, 2])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_fits_in_threads_equal_the_same_fits_run_one_at_a_time(rng, dropout, torch_threads):
    torch.set_num_threads(torch_threads)
    X, y = regression_data(rng)
    # Fewer epochs with two torch threads per fit: on a busy 2-core machine the
    # oversubscribed threads spin, and a few epochs already interleave.
    epochs = 6 if torch_threads == 1 else 3
    alone = {seed: fit_and_predict(X, y, seed, dropout, epochs) for seed in (0, 1)}
    together = {}

    def fit(seed):
        together[seed] = fit_and_predict(X, y, seed, dropout, epochs)

    threads = [threading.Thread(target=fit, args=(seed,)) for seed in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in (0, 1):
        np.testing.assert_array_equal(together[seed], alone[seed])


def test_a_fit_does_not_depend_on_random_numbers_drawn_elsewhere_meanwhile(rng):
    X, y = regression_data(rng)
    first = fit_and_predict(X, y, 0, dropout=0.3)

    from skorch.callbacks import Callback

    class Draw(Callback):
        """Draws from torch's global generator before every batch, as other code may."""

        def on_batch_begin(self, net, **kwargs):
            torch.rand(10)

    params = dict(hidden_size=6, num_layers=2, dropout=0.3, max_epochs=6, random_state=0)
    with_draws = LSTMRegressor(**params, callbacks=[Draw()]).fit(X, y).predict(X)
    np.testing.assert_array_equal(with_draws, first)


def grid_search(n_jobs):
    series = np.sin(np.arange(240) / 6.0) + 0.05 * np.random.RandomState(0).normal(size=240)
    X, y = make_windows(series, 8)
    search = GridSearchCV(
        LSTMRegressor(max_epochs=6, random_state=0),
        {"hidden_size": [4, 8], "dropout": [0.0]},
        cv=TimeSeriesSplit(3),
        n_jobs=n_jobs,
    )
    return search, X, y


def test_a_threaded_grid_search_equals_the_sequential_one():
    sequential, X, y = grid_search(n_jobs=1)
    sequential.fit(X, y)
    threaded, _, _ = grid_search(n_jobs=3)
    with joblib.parallel_backend("threading"):
        threaded.fit(X, y)
    np.testing.assert_array_equal(
        threaded.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(
        threaded.best_estimator_.predict(X), sequential.best_estimator_.predict(X)
    )


def test_a_search_on_dask_threads_equals_the_sequential_one():
    distributed = pytest.importorskip("distributed")
    sequential, X, y = grid_search(n_jobs=1)
    sequential.fit(X, y)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=3, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster):
        on_dask, _, _ = grid_search(n_jobs=None)
        with joblib.parallel_backend("dask"):
            on_dask.fit(X, y)
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )


def test_classifiers_are_deterministic_in_threads_too(two_class_sequences):
    X, y = two_class_sequences(n_samples=80)
    params = dict(hidden_size=6, max_epochs=8, early_stopping=True, random_state=3)
    alone = GRUClassifier(**params).fit(X, y).predict_proba(X)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(GRUClassifier(**params).fit(X, y).predict_proba(X))
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        np.testing.assert_array_equal(result, alone)


@pytest.mark.parametrize("step", [1, 3])
def test_windows_as_a_view_or_a_copy_train_the_same_model(step):
    series = np.cumsum(np.random.RandomState(0).normal(size=400)) * 3 + 10
    X, y = make_windows(series, 24, step=step)
    copy = np.ascontiguousarray(X)
    assert np.shares_memory(X, series) and not np.shares_memory(copy, series)
    params = dict(hidden_size=8, max_epochs=5, random_state=0)
    from_view = LSTMRegressor(**params).fit(X, y)
    from_copy = LSTMRegressor(**params).fit(copy, y)
    # The view's statistics weigh each row by the windows holding it, as the copy does.
    np.testing.assert_allclose(from_view.input_mean_, copy.mean(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(from_view.input_scale_, copy.std(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(from_view.input_mean_, from_copy.input_mean_, rtol=1e-12)
    np.testing.assert_allclose(from_view.input_scale_, from_copy.input_scale_, rtol=1e-12)
    np.testing.assert_allclose(from_view.predict(X), from_copy.predict(copy), rtol=1e-4, atol=1e-4)
