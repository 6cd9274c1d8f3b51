"""Windows over panels of series, known-future columns and per-series scaling."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score

from sklearn_rnn import (
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNSequenceTransformer,
    Windows,
    load,
    make_forecast_windows,
    make_windows,
)

FAST = {"hidden_size": 8, "max_epochs": 3, "random_state": 0}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def seasonal_panel(levels, n_steps=48, seed=0, promotions=False):
    """Monthly series of the same shape at the given levels, as a long frame."""
    rng = np.random.default_rng(seed)
    frames = []
    for name, level in levels.items():
        t = np.arange(n_steps)
        shape = 1 + 0.3 * np.sin(2 * np.pi * t / 12) + 0.005 * t
        promo = (rng.random(n_steps) < 0.3).astype(float) if promotions else np.zeros(n_steps)
        value = level * (shape + 0.5 * promo + rng.normal(0, 0.02, n_steps))
        frames.append(
            pd.DataFrame(
                {"sales": value, "promo": promo},
                index=pd.MultiIndex.from_arrays([[name] * n_steps, t], names=["store", "month"]),
            )
        )
    return pd.concat(frames)


# -- windows over panels ---------------------------------------------------------------


def test_no_window_crosses_a_series_and_each_series_gives_its_own_windows():
    panel = seasonal_panel({"a": 1.0, "b": 10.0, "c": 100.0}, n_steps=20)
    panel = panel.drop(index=[("c", t) for t in range(12, 20)])  # a shorter series
    X, y = make_windows(panel, window_size=5, horizon=2, targets="sales")
    assert isinstance(X, Windows)
    assert X.shape == (len(y), 5, 2)
    windows = np.asarray(X)
    for k, (series, time) in enumerate(y.index):
        rows = panel.loc[series]
        first = rows.index.get_loc(time) - 5
        assert first >= 0
        np.testing.assert_array_equal(windows[k], rows.to_numpy()[first : first + 5])
        np.testing.assert_array_equal(y.iloc[k], rows["sales"].to_numpy()[first + 5 : first + 7])
    for series in ("a", "b", "c"):
        alone_X, alone_y = make_windows(panel.loc[series], window_size=5, horizon=2, targets="sales")
        mine = np.asarray(X.series == series)
        np.testing.assert_array_equal(windows[mine], alone_X)
        np.testing.assert_array_equal(y.to_numpy()[mine], alone_y.to_numpy())
    # Time-major: the last windows are the most recent of every series.
    times = y.index.get_level_values("month")
    assert (np.diff(times) >= 0).all()


def test_panel_windows_hold_the_rows_once_and_index_as_an_array():
    panel = seasonal_panel({"a": 1.0, "b": 2.0}, n_steps=200)
    X, y = make_windows(panel, window_size=50, targets="sales", features=["sales"])
    assert X.values.shape == (400, 1)
    assert X.values.nbytes * 30 < np.asarray(X).nbytes
    assert not X.values.flags.writeable
    subset = X[np.arange(10, 20)]
    assert isinstance(subset, Windows) and len(subset) == 10
    np.testing.assert_array_equal(np.asarray(subset), np.asarray(X)[10:20])
    np.testing.assert_array_equal(X[3], np.asarray(X)[3])
    np.testing.assert_array_equal(X[2:5, ...].starts, X.starts[2:5])


def test_the_estimators_gather_panel_windows_per_batch():
    from sklearn_rnn._batches import WindowDataset, make_dataset
    from sklearn_rnn._data import windows_sequences

    X, _ = make_windows(seasonal_panel({"a": 1.0, "b": 2.0}, n_steps=100), 30, targets="sales")
    sequences = windows_sequences(X)
    dataset = make_dataset(sequences, np.zeros(2), np.ones(2))
    assert isinstance(dataset, WindowDataset)
    assert dataset.series.shape == (200, 2)
    batch, _ = dataset[torch.arange(len(X))]
    np.testing.assert_allclose(batch.numpy(), np.asarray(X), rtol=1e-6)


def test_panel_layout_errors_name_the_problem():
    panel = seasonal_panel({"a": 1.0, "b": 2.0}, n_steps=10)
    shuffled = panel.iloc[[0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16, 7, 17, 8, 18, 9, 19]]
    with pytest.raises(ValueError, match="not contiguous"):
        make_windows(shuffled, 3)
    with pytest.raises(ValueError, match="the longest here has 10"):
        make_windows(panel, 8, horizon=5)
    with pytest.raises(ValueError, match="NaN"):
        make_windows(panel.assign(sales=np.where(np.arange(20) == 7, np.nan, 1.0)), 3)


# -- known-future columns ----------------------------------------------------------------


def test_future_pairs_each_window_with_its_horizon_and_nothing_later():
    panel = seasonal_panel({"a": 1.0, "b": 5.0}, n_steps=30, promotions=True)
    X, y = make_windows(panel, window_size=6, horizon=3, targets="sales", future="promo")
    assert X.future.shape == (len(X), 3, 1)
    for k, (series, time) in enumerate(y.index):
        rows = panel.loc[series]
        first_target = rows.index.get_loc(time)
        np.testing.assert_array_equal(X.future[k, :, 0], rows["promo"].to_numpy()[first_target : first_target + 3])
    # Changing the table after a window's last target changes nothing about it.
    changed = panel.copy()
    changed.loc[("a", slice(20, None)), :] = 1e6
    X2, y2 = make_windows(changed, window_size=6, horizon=3, targets="sales", future="promo")
    unchanged = np.asarray((X.series == "b") | (y.index.get_level_values("month") + 3 <= 20))
    np.testing.assert_array_equal(np.asarray(X)[unchanged], np.asarray(X2)[unchanged])
    np.testing.assert_array_equal(X.future[unchanged], X2.future[unchanged])


@pytest.mark.parametrize("decoder", [None, "rnn", "attention"])
def test_the_regressors_read_the_known_future(decoder):
    # Promotions lift sales by half the level: unforecastable from the past alone.
    panel = seasonal_panel({"a": 1.0, "b": 3.0, "c": 9.0}, n_steps=60, promotions=True)
    train = panel.groupby(level="store").head(48)
    test = panel.groupby(level="store").tail(24)
    errors = {}
    for future in (None, "promo"):
        X, y = make_windows(train, 12, horizon=3, targets="sales", future=future)
        X_test, y_test = make_windows(test, 12, horizon=3, targets="sales", future=future)
        y, y_test = y.to_numpy(), y_test.to_numpy()
        if decoder is not None:
            y, y_test = y[:, :, np.newaxis], y_test[:, :, np.newaxis]
        model = GRURegressor(hidden_size=16, max_epochs=60, decoder=decoder, random_state=0)
        model.fit(X, y)
        relative = np.abs(model.predict(X_test).reshape(y_test.shape) - y_test) / y_test
        errors[future] = relative.mean()
    assert errors["promo"] < 0.6 * errors[None], errors


def test_forecast_windows_end_where_the_data_ends_and_read_the_future_rows():
    panel = seasonal_panel({"a": 1.0, "b": 5.0}, n_steps=30, promotions=True)
    X, y = make_windows(panel, window_size=6, horizon=2, targets="sales", future="promo")
    model = LSTMRegressor(**FAST).fit(X, y)
    # The last 2 rows of each series are the periods to forecast: sales unknown.
    ahead = panel.copy()
    ahead.loc[ahead.groupby(level="store").tail(2).index, "sales"] = np.nan
    X_next = make_forecast_windows(ahead, window_size=6, horizon=2, future="promo")
    assert list(X_next.series) == ["a", "b"]
    # Each series' last window of make_windows is the same forecast.
    last = [int(np.flatnonzero(np.asarray(X.series == name))[-1]) for name in ("a", "b")]
    np.testing.assert_allclose(model.predict(X_next), model.predict(X[last]), rtol=1e-6)
    with pytest.raises(ValueError, match="at least 8 rows"):
        make_forecast_windows(panel.groupby(level="store").head(7), 6, horizon=2, future="promo")


def test_one_series_with_known_future_columns():
    frame = seasonal_panel({"a": 1.0}, n_steps=40, promotions=True).loc["a"]
    X, y = make_windows(frame, 8, horizon=2, targets="sales", future=["promo"])
    assert isinstance(X, Windows) and X.series is None
    np.testing.assert_array_equal(X.future[0, :, 0], frame["promo"].to_numpy()[8:10])
    model = LSTMRegressor(**FAST).fit(X, y)
    assert model.n_future_ == 1 and model.future_steps_ == 2
    X_next = make_forecast_windows(frame, 8, horizon=2, future=["promo"])
    np.testing.assert_allclose(model.predict(X_next), model.predict(X[[-1]]), rtol=1e-6)


def test_future_mismatches_are_clear_errors():
    panel = seasonal_panel({"a": 1.0, "b": 5.0}, n_steps=30, promotions=True)
    X, y = make_windows(panel, 6, horizon=2, targets="sales", future="promo")
    X_plain, _ = make_windows(panel, 6, horizon=2, targets="sales")
    model = LSTMRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="fitted with 1 known-future column"):
        model.predict(X_plain)
    with pytest.raises(ValueError, match="fitted with 0 known-future"):
        LSTMRegressor(**FAST).fit(X_plain, y).predict(X)
    with pytest.raises(ValueError, match="does not read"):
        LSTMClassifier(**FAST).fit(X, (y.to_numpy()[:, 0] > 2).astype(int))
    with pytest.raises(ValueError, match="does not read"):
        RNNSequenceTransformer(**FAST).fit(X)
    with pytest.raises(ValueError, match="known future spans 2"):
        LSTMRegressor(decoder="rnn", **FAST).fit(X, y.to_numpy()[:, :1, np.newaxis])


# -- per-series scaling ------------------------------------------------------------------


def test_series_of_any_magnitude_are_forecast_in_their_own_units():
    levels = {"tiny": 0.01, "small": 1.0, "large": 1e4}
    panel = seasonal_panel(levels, n_steps=72)
    train = panel.groupby(level="store").head(60)
    X, y = make_windows(train, 12, targets="sales")
    X_test, y_test = make_windows(panel.groupby(level="store").tail(24), 12, targets="sales")
    errors = {}
    for scaling in ("auto", "series", True):
        model = LSTMRegressor(max_epochs=40, scale_inputs=scaling, scale_targets=scaling, random_state=0)
        relative = np.abs(model.fit(X, y).predict(X_test) / y_test.to_numpy() - 1)
        errors[scaling] = {name: relative[np.asarray(X_test.series == name)].mean() for name in levels}
    assert max(errors["auto"].values()) < 0.06, errors
    assert max(errors["series"].values()) < 0.06, errors
    # Scaled together, the tiny series is lost in the large one's units.
    assert errors[True]["tiny"] > 3 * errors["auto"]["tiny"], errors


@pytest.mark.parametrize("scaling", ["auto", "series"])
def test_a_series_not_seen_in_fit_is_scaled_by_its_own_rows(scaling):
    panel = seasonal_panel({"a": 1.0, "b": 10.0}, n_steps=60)
    X, y = make_windows(panel, 12, targets="sales")
    model = LSTMRegressor(max_epochs=40, scale_inputs=scaling, scale_targets=scaling, random_state=0)
    model.fit(X, y)
    mode = "window" if scaling == "auto" else scaling
    assert model.scaling_ == {"inputs": mode, "targets": mode}
    assert list(model.series_labels_) == ["a", "b"]
    new = seasonal_panel({"new": 500.0}, n_steps=60, seed=1)
    X_new, y_new = make_windows(new, 12, targets="sales")
    relative = np.abs(model.predict(X_new) / y_new.to_numpy() - 1)
    assert relative.mean() < 0.06


def test_window_statistics_are_exact_for_small_series_beside_large_ones():
    from sklearn_rnn._data import windows_sequences
    from sklearn_rnn._scaling import WINDOW_SCALE_FLOOR, sample_statistics

    # A series of level 1 after one of level 1e7: running sums over both would
    # lose the small one's spread.
    panel = seasonal_panel({"big": 1e7, "small": 1.0}, n_steps=300)
    X, _ = make_windows(panel, 12, targets="sales", features=["sales"])
    none = np.array([], dtype=object)
    scaling = sample_statistics(windows_sequences(X), "window", none, None, None)
    windows = np.asarray(X)
    np.testing.assert_array_equal(scaling.offset, windows[:, -1])
    # Unseen series: each window's series statistics are those of its rows so far.
    so_far = np.array(
        [
            panel.loc[series, "sales"].to_numpy()[: time].std()
            for series, time in zip(X.series, np.asarray(X.starts) % 300 + 12)
        ]
    )
    expected = np.sqrt(windows[:, :, 0].var(axis=1) + (WINDOW_SCALE_FLOOR * so_far) ** 2)
    np.testing.assert_allclose(scaling.scale[:, 0], expected, rtol=1e-9)


@pytest.mark.parametrize("scaling", ["auto", "series"])
def test_unseen_series_forecasts_read_nothing_later_and_not_each_other(scaling):
    panel = seasonal_panel({"a": 1.0, "b": 10.0}, n_steps=40)
    X, y = make_windows(panel, 8, targets="sales")
    params = dict(FAST, scale_inputs=scaling, scale_targets=scaling)
    model = LSTMRegressor(**params).fit(X, y)
    new = seasonal_panel({"new": 1e4}, n_steps=40, seed=2)
    X_new, _ = make_windows(new, 8, targets="sales")
    everything = model.predict(X_new)
    np.testing.assert_allclose(model.predict(X_new[:5]), everything[:5], rtol=1e-6)
    changed = new.copy()
    changed.iloc[20:] *= 3  # rows after the first windows' last steps
    early = np.asarray(X_new.starts) + 8 <= 20
    X_changed, _ = make_windows(changed, 8, targets="sales")
    np.testing.assert_allclose(model.predict(X_changed)[early], everything[early], rtol=1e-6)


def test_windows_refuse_look_ahead_by_layout():
    panel = seasonal_panel({"a": 1.0}, n_steps=10, promotions=True)
    with pytest.raises(ValueError, match="also targets"):
        make_windows(panel, 3, targets="sales", future="sales")
    unordered = panel.iloc[[0, 2, 1, 3, 4, 5, 6, 7, 8, 9]]
    with pytest.raises(ValueError, match="increasing time order"):
        make_windows(unordered, 3, targets="sales")


def test_scaling_by_series_or_window_refuses_what_it_cannot_do():
    panel = seasonal_panel({"a": 1.0, "b": 10.0}, n_steps=30)
    X, y = make_windows(panel, 6, targets="sales", features=["promo"])
    # "auto" falls back to one scaling of the targets; "window" says why it cannot.
    assert LSTMRegressor(**FAST).fit(X, y).scaling_ == {"inputs": "window", "targets": True}
    for mode in ("series", "window"):
        with pytest.raises(ValueError, match="do not say which features the targets are"):
            LSTMRegressor(scale_targets=mode, **FAST).fit(X, y)


# -- scikit-learn's model selection, persistence, weights ------------------------------


def test_panel_windows_cross_validate_grid_search_and_weigh():
    panel = seasonal_panel({"a": 1.0, "b": 3.0}, n_steps=40, promotions=True)
    X, y = make_windows(panel, 6, targets="sales", future="promo")
    scores = cross_val_score(LSTMRegressor(**FAST), X, y, cv=TimeSeriesSplit(3))
    assert np.isfinite(scores).all()
    search = GridSearchCV(LSTMRegressor(**FAST), {"hidden_size": [4, 8]}, cv=TimeSeriesSplit(2))
    assert search.fit(X, y).best_params_["hidden_size"] in (4, 8)
    weights = np.where(np.asarray(X.series == "a"), 2.0, 0.5)
    LSTMRegressor(**FAST).fit(X, y, sample_weight=weights).predict(X)


@pytest.mark.cpu_numerics
def test_a_panel_model_saves_loads_and_pickles(tmp_path):
    panel = seasonal_panel({"a": 1.0, "b": 30.0}, n_steps=30, promotions=True)
    X, y = make_windows(panel, 6, horizon=2, targets="sales", future="promo")
    model = LSTMRegressor(decoder="rnn", **FAST).fit(X, y.to_numpy()[:, :, np.newaxis])
    expected = model.predict(X)
    model.save(tmp_path / "model")
    np.testing.assert_allclose(LSTMRegressor.load(tmp_path / "model").predict(X), expected)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), expected)
    from sklearn_rnn import save

    save(model, tmp_path / "model.skops")
    np.testing.assert_allclose(load(tmp_path / "model.skops").predict(X), expected)


# -- the window transformer on panels ----------------------------------------------------


def test_the_window_transformer_windows_each_series_and_continues_it():
    from sklearn.pipeline import make_pipeline

    from sklearn_rnn import SlidingWindowTransformer

    index = pd.MultiIndex.from_tuples([("a", t) for t in range(5)] + [("b", t) for t in range(3)])
    rows = pd.DataFrame({"v": [1.0, 2, 3, 4, 5, 10, 20, 30]}, index=index)
    transformer = SlidingWindowTransformer(3).fit(rows)
    windows = transformer.transform(rows)
    assert isinstance(windows, Windows) and len(windows) == len(rows)
    np.testing.assert_array_equal(
        np.asarray(windows)[:, :, 0],
        [[1, 1, 1], [1, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [10, 10, 10], [10, 10, 20], [10, 20, 30]],
    )
    later = pd.DataFrame(
        {"v": [6.0, 40, 100]}, index=pd.MultiIndex.from_tuples([("a", 5), ("b", 3), ("new", 0)])
    )
    np.testing.assert_array_equal(
        np.asarray(transformer.transform(later))[:, :, 0], [[4, 5, 6], [20, 30, 40], [100, 100, 100]]
    )
    with pytest.raises(ValueError, match="fitted on a panel"):
        transformer.transform(rows.to_numpy())
    pipe = make_pipeline(SlidingWindowTransformer(3), LSTMRegressor(**FAST))
    assert pipe.fit(rows, rows["v"].to_numpy()).predict(later).shape == (3,)


def test_sktime_panels_and_hierarchies_are_windowed_per_series(tmp_path):
    hierarchical = pytest.importorskip("sktime.utils._testing.hierarchical")
    panel = hierarchical._make_hierarchical(hierarchy_levels=(2, 3), min_timepoints=20, max_timepoints=20)
    X, y = make_windows(panel, 5, horizon=2)
    # Six series, identified by both levels above time.
    assert len(set(X.series)) == 6 and isinstance(X.series[0], tuple)
    for k, (*series, time) in enumerate(y.index[:12]):
        rows = panel.loc[tuple(series)]
        first = rows.index.get_loc(time) - 5
        np.testing.assert_array_equal(np.asarray(X[k])[:, 0], rows.to_numpy()[first : first + 5, 0])
    model = LSTMRegressor(**FAST).fit(X, y)
    # Their tuple labels survive the safe format.
    model.save(tmp_path / "model")
    loaded = LSTMRegressor.load(tmp_path / "model")
    assert list(loaded.series_labels_) == list(model.series_labels_)
    np.testing.assert_allclose(loaded.predict(X[:3]), model.predict(X[:3]))
