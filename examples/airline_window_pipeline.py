"""Forecast airline passengers one month ahead with a window Pipeline, at default settings.

The monthly airline passengers series (1949-1960) that sktime ships, on its raw
levels, as a user would write it: no logs, no differencing, no tuning. The last
24 months are held out; every method forecasts one month ahead from the true
history up to the month before:

- naive: next month = this month;
- seasonal naive: next month = the same month a year earlier;
- RidgeCV on the same lags: the same pipeline with a linear model on the
  flattened windows;
- ``StandardScaler -> SlidingWindowTransformer(24) -> LSTMRegressor()`` (and
  ``GRURegressor()``), over several seeds: mean, min and max.

The test months reach 622 thousand passengers, far above the training maximum
of 505: the regressors' linear part (``linear_skip``, a ridge autoregression on
the window) carries the level there, and the recurrent network corrects what
it misses. One month ahead the regressors fit four such networks, two on a
ridge on the window's values and two on that averaged with a ridge on its
changes, and average their forecasts (``n_networks="auto"``). The numbers are
printed, whoever wins, with a plot.

Run: ``python examples/airline_window_pipeline.py`` (``SKLEARN_RNN_FAST=1`` for a
single seed, as CI does).
"""

# %%
import os
from pathlib import Path

import numpy as np
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sklearn_rnn import GRURegressor, LSTMRegressor, SlidingWindowTransformer

FAST = os.environ.get("SKLEARN_RNN_FAST") == "1"
WINDOW, N_TEST = 24, 24
SEEDS = [0] if FAST else [0, 1, 2, 3, 4]
OUTPUT = Path(__file__).parent / "output" / "airline_window_pipeline.png"


def load_series():
    from sktime.datasets import load_airline

    series = load_airline()
    return series.index.to_timestamp(), series.to_numpy(dtype=float)


# %%
dates, passengers = load_series()
# Row t holds this month's passengers; its target is next month's.
rows, targets = passengers[:-1].reshape(-1, 1), passengers[1:]
n_train = len(rows) - N_TEST


def flatten(windows):
    return windows.reshape(len(windows), -1)


def window_pipeline(model):
    return make_pipeline(StandardScaler(), SlidingWindowTransformer(WINDOW), model)


def forecasts():
    """One-month-ahead forecasts of the held-out months: {name: [forecast per seed]}."""
    held_out_rows = rows[n_train:]  # the window transformer continues from the training rows
    ridge = make_pipeline(
        StandardScaler(),
        SlidingWindowTransformer(WINDOW),
        FunctionTransformer(flatten),
        RidgeCV(alphas=np.logspace(-3, 3, 13)),
    )
    result = {
        "naive (last value)": [passengers[n_train:-1]],
        "seasonal naive": [passengers[n_train + 1 - 12 : len(passengers) - 12]],
        "RidgeCV on the same lags": [
            ridge.fit(rows[:n_train], targets[:n_train]).predict(held_out_rows)
        ],
    }
    for name, Regressor in (("LSTMRegressor()", LSTMRegressor), ("GRURegressor()", GRURegressor)):
        result[name] = [
            window_pipeline(Regressor(random_state=seed))
            .fit(rows[:n_train], targets[:n_train])
            .predict(held_out_rows)
            for seed in SEEDS
        ]
    return result


def mae(forecast):
    return float(np.mean(np.abs(forecast - targets[n_train:])))


def plot(predictions, path=OUTPUT):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    test_dates = dates[n_train + 1 :]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(dates, passengers, color="0.5", label="history and truth")
    for (name, runs), style in zip(predictions.items(), [":", "-.", "--", "-", "-"]):
        ax.plot(test_dates, runs[0], style, label=name if len(runs) == 1 else f"{name}, seed 0")
    ax.axvline(test_dates[0], color="k", lw=0.8)
    ax.set_ylabel("passengers (thousands)")
    ax.set_title("Airline passengers, raw levels: one-month-ahead forecasts of the last 24 months")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# %%
if __name__ == "__main__":
    predictions = forecasts()
    print(f"Held-out months {dates[n_train + 1]:%Y-%m} to {dates[-1]:%Y-%m}, seeds {SEEDS}:")
    print(f"{'method':<27}{'MAE mean':>9}{'min':>8}{'max':>8}")
    table = {name: [mae(f) for f in runs] for name, runs in predictions.items()}
    for name, maes in sorted(table.items(), key=lambda item: np.mean(item[1])):
        print(f"{name:<27}{np.mean(maes):9.2f}{min(maes):8.2f}{max(maes):8.2f}")
    print(f"\nBest by mean MAE: {min(table, key=lambda name: np.mean(table[name]))}")
    try:
        print(f"Plot saved to {plot(predictions)}")
    except ImportError:
        print("Install matplotlib (pip install -e '.[examples]') for the plot.")
