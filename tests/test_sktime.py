"""sktime as a client: reductions, evaluation and grid search with our regressors, and
exogenous lags read as sequences of several features."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_rnn import GRURegressor, LSTMRegressor, from_lag_rows, make_windows

sktime = pytest.importorskip("sktime")
from sktime.forecasting.compose import make_reduction  # noqa: E402
from sktime.forecasting.model_evaluation import evaluate  # noqa: E402
from sktime.forecasting.model_selection import ForecastingGridSearchCV  # noqa: E402
from sktime.split import ExpandingWindowSplitter  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sktime's remember_data notice
        yield


def monthly(values):
    return pd.Series(values, index=pd.period_range("2000-01", periods=len(values), freq="M"))


def seasonal_series(rng, n=96):
    t = np.arange(n)
    return monthly(10 + 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * rng.normal(size=n))


TINY = dict(hidden_size=6, max_epochs=5, random_state=0)


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_reductions_forecast_with_our_regressors(rng, strategy):
    y = seasonal_series(rng)
    forecaster = make_reduction(LSTMRegressor(**TINY), window_length=12, strategy=strategy)
    forecaster.fit(y[:-6], fh=np.arange(1, 7))
    forecast = forecaster.predict()
    assert len(forecast) == 6 and np.isfinite(forecast).all()
    assert forecast.index.equals(y.index[-6:])


def test_evaluate_and_grid_search_run_with_our_regressors(rng):
    y = seasonal_series(rng)
    cv = ExpandingWindowSplitter(initial_window=60, step_length=12, fh=[1, 2, 3])
    results = evaluate(make_reduction(GRURegressor(**TINY), window_length=12), cv, y)
    assert len(results) == 3 and np.isfinite(results.iloc[:, 0]).all()
    search = ForecastingGridSearchCV(
        make_reduction(LSTMRegressor(**TINY), window_length=12),
        cv=cv,
        param_grid={"window_length": [6, 12]},
    )
    search.fit(y[:-6], fh=[1, 2, 3])
    assert search.best_params_["window_length"] in (6, 12)


def test_exogenous_lags_become_sequences_of_several_features(rng):
    y = seasonal_series(rng, n=60)
    X = pd.DataFrame(
        {"price": rng.normal(size=60), "promo": rng.randint(0, 2, 60).astype(float)},
        index=y.index,
    )
    seen = {}

    class Recording(LSTMRegressor):
        def fit(self, X, y, sample_weight=None):
            seen["X"], seen["y"] = X, y
            return super().fit(X, y, sample_weight=sample_weight)

    regressor = make_pipeline(
        FunctionTransformer(from_lag_rows, kw_args={"n_channels": 3}), Recording(**TINY)
    )
    forecaster = make_reduction(regressor, window_length=4, strategy="recursive")
    forecaster.fit(y[:-3], X=X[:-3], fh=[1, 2, 3])
    # What the network trained on is the windows of (y, price, promo), 4 steps each,
    # the value after each window its target: make_windows on the same table.
    table = pd.concat([y.rename("y"), X], axis=1)[:-3]
    windows, targets = make_windows(table, 4, targets=["y"])
    np.testing.assert_array_equal(seen["X"], windows)
    np.testing.assert_array_equal(np.ravel(seen["y"]), np.ravel(targets))
    assert np.isfinite(forecaster.predict(X=X[-3:])).all()


def test_lag_rows_are_checked():
    with pytest.raises(ValueError, match="do not split into 4 channels"):
        from_lag_rows(np.zeros((2, 6)), n_channels=4)
    with pytest.raises(ValueError, match="expects a 2D array"):
        from_lag_rows(np.zeros((2, 3, 2)), n_channels=2)
