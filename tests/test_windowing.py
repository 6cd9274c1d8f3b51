"""make_windows and SlidingWindowTransformer: properties, errors and Pipelines."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import GRURegressor, LSTMRegressor, SlidingWindowTransformer, make_windows

sizes = st.integers(min_value=1, max_value=6)


@st.composite
def series_and_sizes(draw):
    window_size, horizon, step = draw(sizes), draw(sizes), draw(sizes)
    n_columns = draw(st.integers(1, 3))
    n_timesteps = draw(st.integers(window_size + horizon, window_size + horizon + 30))
    # Distinct values, so that a value identifies its row and column.
    values = np.arange(n_timesteps * n_columns, dtype=np.float64).reshape(n_timesteps, n_columns)
    return values, window_size, horizon, step


@settings(max_examples=150, deadline=None)
@given(series_and_sizes())
def test_every_window_is_its_slice_and_targets_follow_it(case):
    values, window_size, horizon, step = case
    n_timesteps, n_columns = values.shape
    X, y = make_windows(values, window_size, horizon, step)
    n_windows = (n_timesteps - window_size - horizon) // step + 1
    assert X.shape == (n_windows, window_size, n_columns)
    y = y.reshape(n_windows, horizon, n_columns) if y.ndim == 2 else y.reshape(n_windows, 1, 1)
    assert np.shares_memory(X, values)  # a view, not a copy
    for k in range(n_windows):
        start, end = k * step, k * step + window_size
        np.testing.assert_array_equal(X[k], values[start:end])
        np.testing.assert_array_equal(y[k], values[end : end + horizon])
        # No window sees its own target or anything after it.
        assert X[k].max() < values[end:].min()
    # Every window whose targets fit in the series is there.
    assert (n_windows * step) + window_size + horizon > n_timesteps


@settings(max_examples=100, deadline=None)
@given(series_and_sizes())
def test_one_target_and_exogenous_features(case):
    values, window_size, horizon, step = case
    if values.shape[1] < 2:
        values = np.column_stack([values, values + 1000])
    X, y = make_windows(values, window_size, horizon, step, targets=0, features=[1])
    n_windows = X.shape[0]
    assert X.shape[2] == 1
    assert y.shape == ((n_windows,) if horizon == 1 else (n_windows, horizon))
    for k in range(n_windows):
        end = k * step + window_size
        np.testing.assert_array_equal(X[k, :, 0], values[end - window_size : end, 1])
        np.testing.assert_array_equal(np.atleast_1d(y[k]), values[end : end + horizon, 0])


@settings(max_examples=100, deadline=None)
@given(
    window_size=sizes,
    n_rows=st.integers(1, 25),
    n_columns=st.integers(1, 3),
    padding=st.sampled_from(["edge", "zeros"]),
)
def test_transformer_row_t_is_the_window_ending_at_row_t(window_size, n_rows, n_columns, padding):
    rows = np.arange(1.0, 1 + n_rows * n_columns).reshape(n_rows, n_columns)
    windows = SlidingWindowTransformer(window_size, padding=padding).fit_transform(rows)
    assert windows.shape == (n_rows, window_size, n_columns)
    fill = rows[0] if padding == "edge" else np.zeros(n_columns)
    for t in range(n_rows):
        past = [rows[r] if r >= 0 else fill for r in range(t - window_size + 1, t + 1)]
        np.testing.assert_array_equal(windows[t], np.array(past))
        assert windows[t].max() <= rows[t].max()  # nothing after row t


@settings(max_examples=60, deadline=None)
@given(window_size=sizes, n_train=st.integers(1, 20), n_new=st.integers(1, 10))
def test_transformer_continues_from_the_fitted_rows(window_size, n_train, n_new):
    series = np.arange(float(n_train + n_new)).reshape(-1, 1)
    transformer = SlidingWindowTransformer(window_size).fit(series[:n_train])
    continued = transformer.transform(series[n_train:])
    whole = SlidingWindowTransformer(window_size).fit_transform(series)
    np.testing.assert_array_equal(continued, whole[n_train:])


def test_transform_of_the_fitted_rows_equals_fit_transform():
    rows = np.random.RandomState(0).normal(size=(30, 2))
    transformer = SlidingWindowTransformer(5).fit(rows)
    np.testing.assert_array_equal(transformer.transform(rows), transformer.fit_transform(rows))
    padded = SlidingWindowTransformer(5, use_fit_history=False).fit(rows[:20])
    np.testing.assert_array_equal(
        padded.transform(rows[20:]), SlidingWindowTransformer(5).fit_transform(rows[20:])
    )


def test_pandas_input_keeps_the_time_index_of_each_target():
    index = pd.date_range("2020-01-01", periods=20, freq="D")
    frame = pd.DataFrame({"load": np.arange(20.0), "temp": np.arange(20.0) + 100}, index=index)
    X, y = make_windows(frame, 5, targets="load")
    assert isinstance(y, pd.Series) and y.name == "load"
    assert y.index[0] == index[5] and y.index[-1] == index[-1]
    assert X.shape == (15, 5, 2)
    X, y = make_windows(frame, 5, horizon=3, step=2, targets="load", features=["temp"])
    assert list(y.columns) == ["load(t+1)", "load(t+2)", "load(t+3)"]
    assert list(y.index) == list(index[5:18:2])
    np.testing.assert_array_equal(y.iloc[0], [5.0, 6.0, 7.0])
    X, y = make_windows(frame, 5, horizon=2)
    assert list(y.columns) == ["load(t+1)", "temp(t+1)", "load(t+2)", "temp(t+2)"]
    _, y = make_windows(frame["load"], 5)
    assert y.name == "load" and y.index[0] == index[5]


def test_windows_are_read_only_views():
    series = np.arange(100.0)
    X, y = make_windows(series, 10)
    assert np.shares_memory(X, series) and np.shares_memory(y, series)
    with pytest.raises(ValueError, match="read-only"):
        X[0, 0, 0] = 1.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(window_size=20), ValueError, "need a series of at least 21 time steps"),
        (dict(window_size=10, horizon=11), ValueError, "at least 21 time steps"),
        (dict(window_size=0), ValueError, "window_size must be a positive integer"),
        (dict(window_size=-3), ValueError, "window_size must be a positive integer"),
        (dict(window_size=2.5), TypeError, "window_size must be a positive integer"),
        (dict(window_size="3"), TypeError, "window_size must be a positive integer"),
        (dict(window_size=True), TypeError, "window_size must be a positive integer"),
        (dict(window_size=3, horizon=0), ValueError, "horizon must be a positive integer"),
        (dict(window_size=3, step=1.0), TypeError, "step must be a positive integer"),
        (dict(window_size=3, targets=5), ValueError, "targets: 5 is not a column"),
        (dict(window_size=3, features=[]), ValueError, "features selects no column"),
    ],
)
def test_make_windows_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_windows(np.arange(20.0), **kwargs)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_series_is_an_error(bad):
    series = np.arange(30.0)
    series[17] = bad
    with pytest.raises(ValueError, match="NaN or infinite values \\(first at row 17\\)"):
        make_windows(series, 5)
    with pytest.raises(ValueError, match="NaN|infinity"):
        SlidingWindowTransformer(5).fit(series.reshape(-1, 1))


def test_non_numeric_and_badly_shaped_series_are_errors():
    with pytest.raises(TypeError, match="must hold numbers"):
        make_windows(np.array(["a", "b", "c", "d"]), 2)
    with pytest.raises(ValueError, match="1D .* or 2D"):
        make_windows(np.zeros((5, 2, 2)), 2)


def test_make_windows_on_a_long_series_is_a_view():
    series = np.random.RandomState(0).normal(size=1_000_000).astype(np.float32)
    X, y = make_windows(series, 128)
    assert X.shape == (1_000_000 - 128, 128, 1)
    assert np.shares_memory(X, series) and np.shares_memory(y, series)


def test_estimator_trains_on_windows_without_materialising_them():
    from sklearn_rnn._data import window_structure

    series = np.sin(np.linspace(0, 50, 500))
    X, y = make_windows(series, 12)
    structure = window_structure(X)
    assert structure is not None and np.shares_memory(structure[0], series)
    assert window_structure(np.ascontiguousarray(X)) is None
    # The gathered windows train exactly as the materialised ones do.
    params = dict(hidden_size=8, max_epochs=5, random_state=0, scale_inputs=False)
    from_view = LSTMRegressor(**params).fit(X, y)
    from_copy = LSTMRegressor(**params).fit(np.ascontiguousarray(X), y)
    assert from_view.loss_curve_ == from_copy.loss_curve_
    np.testing.assert_array_equal(from_view.predict(X), from_copy.predict(X.copy()))


def _series_table(n=240, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    values = 10 + 3 * np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=n)
    rows = values[:-1].reshape(-1, 1)  # row t: the value at t
    target = values[1:]  # aligned: the value at t + 1
    return rows, target


def test_window_pipeline_fits_predicts_cross_validates_and_grid_searches():
    rows, target = _series_table()
    pipe = make_pipeline(
        StandardScaler(),
        SlidingWindowTransformer(24),
        GRURegressor(hidden_size=16, n_networks=1, random_state=0),  # one: the search is the point
    )
    pipe.fit(rows[:200], target[:200])
    assert pipe.predict(rows[200:]).shape == (len(rows) - 200,)
    assert pipe.score(rows[200:], target[200:]) > 0.7
    scores = cross_val_score(pipe, rows, target, cv=TimeSeriesSplit(3))
    assert scores.shape == (3,)
    search = GridSearchCV(
        pipe,
        {"slidingwindowtransformer__window_size": [6, 24]},
        cv=TimeSeriesSplit(2),
    ).fit(rows, target)
    assert search.best_params_["slidingwindowtransformer__window_size"] in (6, 24)


def test_predicting_the_rows_after_training_uses_the_training_rows_as_history():
    rows, target = _series_table()
    pipe = make_pipeline(SlidingWindowTransformer(12), LSTMRegressor(hidden_size=8, max_epochs=5))
    pipe.fit(rows[:200], target[:200])
    windows = pipe[0].transform(rows[200:])
    np.testing.assert_array_equal(windows[0], rows[189:201])


def test_transformed_target_regressor_around_a_window_pipeline():
    rows, target = _series_table()
    pipe = make_pipeline(
        SlidingWindowTransformer(12),
        LSTMRegressor(hidden_size=8, scale_targets=False, random_state=0),
    )
    model = TransformedTargetRegressor(regressor=pipe, transformer=StandardScaler())
    model.fit(rows[:200], target[:200])
    prediction = model.predict(rows[200:])
    assert abs(prediction.mean() - target[200:].mean()) < 1.0  # back on the original scale
    assert model.score(rows[200:], target[200:]) > 0.5


def test_multi_step_direct_forecast_after_the_end_of_the_data():
    series = np.sin(np.linspace(0, 40, 400))
    X, y = make_windows(series, 20, horizon=5)
    model = LSTMRegressor(hidden_size=16, random_state=0).fit(X, y)
    assert model.n_outputs_ == 5
    forecast = model.predict(series[-20:].reshape(1, 20, 1))
    assert forecast.shape == (1, 5)
    truth = np.sin(np.linspace(0, 40, 400)[1] * np.arange(400, 405))
    assert np.abs(forecast[0] - truth).max() < 0.2
