"""Forecast airline passengers with a window Pipeline, against honest baselines.

The monthly airline passengers series (1949-1960) that sktime ships. The last
24 months are held out. Every method forecasts one month ahead from the true
history up to the month before, and is scored on the held-out months:

- naive: next month = this month;
- seasonal naive: next month = the same month a year earlier;
- Ridge on the same lags: a linear autoregression on the windows the LSTM sees;
- LSTM: ``StandardScaler -> SlidingWindowTransformer -> LSTMRegressor``,
  grid-searched over the window size and hidden size with ``TimeSeriesSplit``.

Both learnt models see the month-over-month change of log passengers (the
series has a trend and a growing seasonal swing) and forecast the next change;
the forecast is turned back into passengers. The numbers are printed, whoever
wins, and a plot of history, forecasts and truth is saved as PNG.

Run: ``python examples/airline_window_pipeline.py`` (``SKLEARN_RNN_FAST=1`` for
a quick run with a smaller grid, as CI does).
"""

# %%
import os
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sklearn_rnn import LSTMRegressor, SlidingWindowTransformer

FAST = os.environ.get("SKLEARN_RNN_FAST") == "1"
N_TEST = 24
OUTPUT = Path(__file__).parent / "output" / "airline_window_pipeline.png"


def load_series():
    from sktime.datasets import load_airline

    series = load_airline()
    return series.index.to_timestamp(), series.to_numpy(dtype=float)


# %%
dates, passengers = load_series()
log_change = np.diff(np.log(passengers))  # log_change[t] = log p[t+1] - log p[t]
# Row t of the table holds the change into month t+1; its target is the change into
# month t+2. The last row has no target and is left out.
rows, targets = log_change[:-1].reshape(-1, 1), log_change[1:]
n_train = len(rows) - N_TEST
# The forecast for row t is for month t + 2, made from the passengers of month t + 1.
last_known, truth = passengers[1:-1], passengers[2:]


def flatten(windows):
    return windows.reshape(len(windows), -1)


def searched(pipeline, grid):
    return GridSearchCV(
        pipeline, grid, cv=TimeSeriesSplit(2 if FAST else 4), scoring="neg_mean_absolute_error"
    )


def fit_forecasters(random_state=0):
    """Fit the grid-searched LSTM and Ridge pipelines on the training rows."""
    lstm = searched(
        make_pipeline(
            StandardScaler(),
            SlidingWindowTransformer(12),
            LSTMRegressor(random_state=random_state),
        ),
        {
            "slidingwindowtransformer__window_size": [12] if FAST else [12, 24],
            "lstmregressor__hidden_size": [16] if FAST else [16, 64],
        },
    )
    ridge = searched(
        make_pipeline(SlidingWindowTransformer(12), FunctionTransformer(flatten), Ridge()),
        {
            "slidingwindowtransformer__window_size": [12, 24],
            "ridge__alpha": [0.01, 0.1, 1.0, 10.0],
        },
    )
    lstm.fit(rows[:n_train], targets[:n_train])
    ridge.fit(rows[:n_train], targets[:n_train])
    return lstm, ridge


def forecasts(lstm, ridge):
    """One-month-ahead forecasts of passengers over the held-out months."""
    test_rows = rows[n_train:]  # transform continues from the training rows
    base = last_known[n_train:]
    return {
        "naive (last value)": base,
        "seasonal naive": passengers[n_train + 2 - 12 : len(passengers) - 12],
        "Ridge on the same lags": base * np.exp(ridge.predict(test_rows)),
        "LSTM window pipeline": base * np.exp(lstm.predict(test_rows)),
    }


def scores(predictions):
    held_out = truth[n_train:]
    return {
        name: {
            "MAE": float(np.mean(np.abs(p - held_out))),
            "RMSE": float(np.sqrt(np.mean((p - held_out) ** 2))),
            "MAPE %": float(100 * np.mean(np.abs(p - held_out) / held_out)),
        }
        for name, p in predictions.items()
    }


def plot(predictions, path=OUTPUT):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    test_dates = dates[n_train + 2 :]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(dates, passengers, color="0.5", label="history and truth")
    for (name, p), style in zip(predictions.items(), [":", "-.", "--", "-"]):
        ax.plot(test_dates, p, style, label=name)
    ax.axvline(test_dates[0], color="k", lw=0.8)
    ax.set_ylabel("passengers (thousands)")
    ax.set_title("Airline passengers: one-month-ahead forecasts of the last 24 months")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# %%
if __name__ == "__main__":
    lstm, ridge = fit_forecasters()
    print("LSTM grid search best:", lstm.best_params_)
    print("Ridge grid search best:", ridge.best_params_)
    predictions = forecasts(lstm, ridge)
    table = scores(predictions)
    print(f"\nHeld-out months {dates[n_train + 2]:%Y-%m} to {dates[-1]:%Y-%m}:")
    print(f"{'method':<26}{'MAE':>8}{'RMSE':>8}{'MAPE %':>9}")
    for name, row in sorted(table.items(), key=lambda item: item[1]["MAE"]):
        print(f"{name:<26}{row['MAE']:>8.2f}{row['RMSE']:>8.2f}{row['MAPE %']:>9.2f}")
    print(f"\nBest by MAE: {min(table, key=lambda name: table[name]['MAE'])}")
    try:
        print(f"Plot saved to {plot(predictions)}")
    except ImportError:
        print("Install matplotlib (pip install -e '.[examples]') for the plot.")
