"""Seed 000: forecast a sine series one step ahead from windows of 10 values.

The seed builds the series ``sin(linspace(0, 100, 400))``, cuts it into windows
of 10 values with ``tf.data.Dataset.window`` and trains a Keras LSTM on
(window -> next value). Here the windows are a NumPy view of the series and the
model is an ``LSTMRegressor`` at default settings. The first 80% of the series
trains it; the rest is forecast one step at a time and compared with the
naive forecast (the last value of the window). A plot is saved as PNG.

Run: ``python examples/seed_000_sine_window.py``
"""

# %%
from pathlib import Path

import numpy as np
from sklearn.metrics import mean_absolute_error

from sklearn_rnn import LSTMRegressor

WINDOW_SIZE = 10
OUTPUT = Path(__file__).parent / "output" / "seed_000_sine_window.png"

# %%
timesteps = np.linspace(0, 100, 400)
series = np.sin(timesteps)

# Window k holds series[k : k + 10] and its target is series[k + 10].
windows = np.lib.stride_tricks.sliding_window_view(series[:-1], WINDOW_SIZE)
targets = series[WINDOW_SIZE:]
target_times = timesteps[WINDOW_SIZE:]
n_train = int(0.8 * len(windows))


def fit_and_score(random_state=0):
    """Fit on the first 80% of the windows; return the model, forecast and MAEs."""
    model = LSTMRegressor(random_state=random_state)
    model.fit(windows[:n_train], targets[:n_train])
    forecast = model.predict(windows[n_train:])
    truth = targets[n_train:]
    naive = windows[n_train:, -1]
    return model, forecast, mean_absolute_error(truth, forecast), mean_absolute_error(truth, naive)


def plot(forecast, path=OUTPUT):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(timesteps, series, color="0.6", label="series")
    ax.plot(target_times[n_train:], forecast, "--", color="C3", label="LSTM one-step forecast")
    ax.axvline(target_times[n_train], color="k", lw=0.8)
    ax.set_xlabel("t")
    ax.legend(loc="lower left")
    ax.set_title("sin(t): training on the left of the line, forecast on the right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# %%
if __name__ == "__main__":
    model, forecast, mae, naive_mae = fit_and_score()
    print(f"{len(windows)} windows of {WINDOW_SIZE} steps; {n_train} for training")
    print(f"Trained for {model.n_iter_} epochs")
    print(f"One-step forecast MAE: LSTM {mae:.4f}, naive (last value) {naive_mae:.4f}")
    try:
        print(f"Plot saved to {plot(forecast)}")
    except ImportError:
        print("Install matplotlib (pip install -e '.[examples]') for the plot.")
