"""Forecast intervals: a fan chart of two years of airline passengers, and calibrated bands.

The monthly airline passengers series (1949-1960) that sktime ships, on its raw
levels. Two ways to put an interval around a forecast:

1. **A horizon fan.** ``make_windows(train, 24, horizon=24)`` pairs every 24
   months with the 24 that follow; ``LSTMRegressor(loss="quantile")`` learns the
   0.05 ... 0.95 quantiles of every horizon step with one network (they never
   cross), and ``predict_quantiles`` of the last 24 training months draws the
   fan over the held-out two years.
2. **One step ahead, with a Gaussian.** The README's window pipeline with
   ``LSTMRegressor(loss="gaussian")``: ``Pipeline.predict(X, return_std=True)``
   forwards ``return_std`` to the regressor, which gives a mean and a standard
   deviation for each held-out month.

Both models calibrate their spread on the most recent training windows, which
early stopping holds out (split conformal). The script prints how many held-out
months fall inside the 80% and 90% bands, next to the median's error and a
RidgeCV forecast on the same lags, and saves the fan chart.

Run: ``python examples/forecast_intervals.py`` (``SKLEARN_RNN_FAST=1`` trains for a
few epochs, as CI does).
"""

# %%
import os
from pathlib import Path

import numpy as np
from scipy.stats import norm
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import LSTMRegressor, SlidingWindowTransformer, make_windows

FAST = os.environ.get("SKLEARN_RNN_FAST") == "1"
WINDOW, HORIZON = 24, 24
LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
SETTINGS = {"max_epochs": 5} if FAST else {}
OUTPUT = Path(__file__).parent / "output" / "forecast_intervals.png"


def load_series():
    from sktime.datasets import load_airline

    series = load_airline()
    return series.index.to_timestamp(), series.to_numpy(dtype=float)


def inside(truth, low, high):
    return float(np.mean((truth >= low) & (truth <= high)))


# %% A fan over the next 24 months, from one quantile network.
def horizon_fan(passengers, random_state=0):
    train, held_out = passengers[:-HORIZON], passengers[-HORIZON:]
    X, y = make_windows(train, WINDOW, horizon=HORIZON)  # X (n, 24, 1), y (n, 24)
    model = LSTMRegressor(loss="quantile", quantiles=LEVELS, random_state=random_state, **SETTINGS)
    model.fit(X, y)
    last = train[-WINDOW:].reshape(1, WINDOW, 1)
    fan = model.predict_quantiles(last)[0]  # (24 steps, 7 levels), increasing along levels
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    ridge_forecast = ridge.fit(X[:, :, 0], y).predict(last[:, :, 0])[0]
    return held_out, fan, ridge_forecast


# %% One month ahead, a mean and a standard deviation from the window pipeline.
def one_step_gaussian(passengers, n_test=HORIZON, random_state=0):
    rows, targets = passengers[:-1].reshape(-1, 1), passengers[1:]
    n_train = len(rows) - n_test
    pipe = make_pipeline(
        StandardScaler(),
        SlidingWindowTransformer(WINDOW),
        LSTMRegressor(loss="gaussian", random_state=random_state, **SETTINGS),
    ).fit(rows[:n_train], targets[:n_train])
    mean, std = pipe.predict(rows[n_train:], return_std=True)
    return targets[n_train:], mean, std


def plot(dates, passengers, fan, path=OUTPUT):
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    future = dates[-HORIZON:]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(dates[:-HORIZON], passengers[:-HORIZON], color="black", lw=1, label="training months")
    ax.plot(future, passengers[-HORIZON:], color="black", lw=1, ls="--", label="held-out months")
    for k, shade in zip(range(3), (0.18, 0.3, 0.45)):  # 90%, 80%, 50% bands, outside in
        ax.fill_between(
            future,
            fan[:, k],
            fan[:, -1 - k],
            color="tab:blue",
            alpha=shade,
            lw=0,
            label=f"{LEVELS[-1 - k] - LEVELS[k]:.0%} interval",
        )
    ax.plot(future, fan[:, LEVELS.index(0.5)], color="tab:blue", lw=1.5, label="median")
    ax.set_xlim(dates[-7 * 12], dates[-1])
    ax.set_ylabel("passengers (thousands)")
    ax.set_title("LSTMRegressor(loss='quantile'): 24 months ahead from one window")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# %%
if __name__ == "__main__":
    dates, passengers = load_series()
    held_out, fan, ridge_forecast = horizon_fan(passengers)
    median = fan[:, LEVELS.index(0.5)]
    print("24 months ahead, one forecast from the end of 1958 (quantile loss):")
    print(f"  MAE of the median   {np.mean(np.abs(median - held_out)):6.1f}")
    print(f"  MAE of RidgeCV      {np.mean(np.abs(ridge_forecast - held_out)):6.1f} (same windows)")
    for low, high in ((0.1, 0.9), (0.05, 0.95)):
        covered = inside(held_out, fan[:, LEVELS.index(low)], fan[:, LEVELS.index(high)])
        print(f"  inside the {high - low:.0%} band: {covered:.0%} of the 24 months")

    truth, mean, std = one_step_gaussian(passengers)
    print("One month ahead, the window pipeline with loss='gaussian':")
    print(f"  MAE of the mean     {np.mean(np.abs(mean - truth)):6.1f}")
    for coverage in (0.8, 0.9):
        z = norm.ppf((1 + coverage) / 2)
        covered = inside(truth, mean - z * std, mean + z * std)
        print(f"  inside mean +- {z:.2f} std ({coverage:.0%}): {covered:.0%} of the 24 months")
    try:
        print(f"Fan chart: {plot(dates, passengers, fan)}")
    except ImportError:
        print("Install matplotlib for the fan chart.")
