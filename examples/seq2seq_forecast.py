"""Multi-step forecasting: an encoder-decoder with attention against a direct multi-output head.

The monthly airline passengers series (1949-1960) that sktime ships, on its raw
levels. Each model reads the last 24 months and forecasts the next 12 (a year
ahead). The last 24 months are held out: forecasts start from each of the 13
origins whose year ahead lies inside them, and every model is scored over all
13 x 12 forecasts.

- seasonal naive: each month as the same month a year earlier;
- RidgeCV, direct: a linear model with one output per horizon step, on the same
  windows;
- LSTM, direct head: ``LSTMRegressor()`` whose linear head outputs all 12 steps
  at once (the multi-output head of ``make_windows(..., horizon=12)``);
- LSTM encoder-decoder: ``LSTMRegressor(decoder="rnn")``, whose decoder cell
  unrolls the 12 steps, each fed the previous forecast;
- LSTM encoder-decoder with attention: ``LSTMRegressor(decoder="attention")``,
  whose decoder also attends over the 24 input months at every step.

The networks are fitted with several seeds (the data are small, so a single
seed says little), and the mean and range of their MAE are printed, whoever
wins, with a plot of the error by horizon step and of the decoder's attention.

Every network has the regressors' default linear part (``linear_skip="auto"``),
which the recurrent part corrects: for the direct head, the average of a ridge
autoregression from the window to all 12 months and one from the window's
changes to each month's change from the last (``linear_skip_ == "both"``); for
the decoders, the first alone, and each decoder step is fed the full forecast. The attention map
shows which input months each forecast step reads.

Run: ``python examples/seq2seq_forecast.py`` (``SKLEARN_RNN_FAST=1`` for a quick
run, as CI does).
"""

# %%
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV

from sklearn_rnn import LSTMRegressor, make_windows

FAST = os.environ.get("SKLEARN_RNN_FAST") == "1"
WINDOW, HORIZON, N_TEST = 24, 12, 24
SEEDS = [0] if FAST else [0, 1, 2]
OUTPUT = Path(__file__).parent / "output" / "seq2seq_forecast.png"


def load_passengers():
    from sktime.datasets import load_airline

    return load_airline().to_numpy(dtype=float)


# In the fast run (40 epochs), fits stop before they converge and would warn.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

# %%
passengers = load_passengers()
X, y = make_windows(passengers, WINDOW, horizon=HORIZON)  # y[k] = passengers[k+W : k+W+H]
first_target = np.arange(len(X)) + WINDOW  # index of each window's first target month
test_start = len(passengers) - N_TEST
train = first_target + HORIZON <= test_start  # the whole year ahead is before the test months
test = (first_target >= test_start) & (first_target + HORIZON <= len(passengers))
truth = y[test]


def network_models(seed):
    epochs = {"max_epochs": 40} if FAST else {}
    return {
        "LSTM, direct head": LSTMRegressor(random_state=seed, **epochs),
        "LSTM encoder-decoder": LSTMRegressor(decoder="rnn", random_state=seed, **epochs),
        "LSTM enc-dec + attention": LSTMRegressor(
            decoder="attention", random_state=seed, **epochs
        ),
    }


def run():
    """Forecasts of every method, as {name: [passenger forecasts per seed]}, and the fits."""
    seasonal = np.stack([passengers[t - 12 : t - 12 + HORIZON] for t in first_target[test]])
    ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X[train, :, 0], y[train])
    forecasts = {
        "seasonal naive": [seasonal],
        "RidgeCV, direct": [ridge.predict(X[test, :, 0])],
    }
    fitted, seconds = {}, {}
    for seed in SEEDS:
        for name, model in network_models(seed).items():
            start = time.perf_counter()
            model.fit(X[train], y[train])
            seconds.setdefault(name, []).append(time.perf_counter() - start)
            forecasts.setdefault(name, []).append(model.predict(X[test]))
            fitted.setdefault(name, model)  # the first seed's, for the plot
    return forecasts, fitted, seconds


def mae(forecast, axis=None):
    return np.mean(np.abs(forecast - truth), axis=axis)


def plot(forecasts, attention_model, path=OUTPUT):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    steps = np.arange(1, HORIZON + 1)
    for name, runs in forecasts.items():
        left.plot(steps, np.mean([mae(f, axis=0) for f in runs], axis=0), marker="o", label=name)
    left.set_xlabel("months ahead")
    left.set_ylabel("MAE (thousands of passengers)")
    left.set_title("Error by horizon step, held-out months")
    left.legend()
    weights = attention_model.attention_weights(X[test]).mean(axis=0)  # (horizon, window)
    image = right.imshow(weights, aspect="auto", cmap="viridis")
    right.set_xlabel("input month (0 = oldest of the 24)")
    right.set_ylabel("forecast step")
    right.set_title("Decoder attention, mean over origins")
    fig.colorbar(image, ax=right)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# %%
if __name__ == "__main__":
    forecasts, fitted, seconds = run()
    print(
        f"{train.sum()} training windows of {WINDOW} months; {test.sum()} forecast origins x "
        f"{HORIZON} months in the held-out {N_TEST} months; seeds {SEEDS}"
    )
    print(f"{'method':<27}{'MAE mean':>9}{'min':>8}{'max':>8}{'fit s':>8}")
    rows = {name: [mae(f) for f in runs] for name, runs in forecasts.items()}
    for name, maes in sorted(rows.items(), key=lambda item: np.mean(item[1])):
        fit = f"{np.mean(seconds[name]):8.1f}" if name in seconds else " " * 8
        print(f"{name:<27}{np.mean(maes):9.2f}{min(maes):8.2f}{max(maes):8.2f}{fit}")
    print(f"\nBest by mean MAE: {min(rows, key=lambda name: np.mean(rows[name]))}")
    try:
        print(f"Plot saved to {plot(forecasts, fitted['LSTM enc-dec + attention'])}")
    except ImportError:
        print("Install matplotlib (pip install -e '.[examples]') for the plot.")
