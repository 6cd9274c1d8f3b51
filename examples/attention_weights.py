"""Which time steps mattered? Attention pooling's weights, read after fitting.

Each sequence is noise with one spike at a random position; the class is the
sign of the spike. A bidirectional GRU classifier with ``pooling="attention"``
learns the task, and ``attention_weights(X)`` shows where it looked: the weight
of each time step in each prediction. The plot marks the spike's true position.

Run: ``python examples/attention_weights.py``
"""

# %%
from pathlib import Path

import numpy as np

from sklearn_rnn import GRUClassifier

OUTPUT = Path(__file__).parent / "output" / "attention_weights.png"


def make_data(n_samples, n_timesteps=30, seed=0):
    rng = np.random.RandomState(seed)
    X = 0.3 * rng.normal(size=(n_samples, n_timesteps, 1))
    where = rng.randint(n_timesteps, size=n_samples)
    sign = rng.choice([-1.0, 1.0], size=n_samples)
    X[np.arange(n_samples), where, 0] += 3 * sign
    return X, np.where(sign > 0, "up", "down"), where


X, y, spikes = make_data(600)
X_test, y_test, spikes_test = make_data(200, seed=1)


def fit_and_read(random_state=0):
    """Fit; return the model, test accuracy, test weights and the share of weight on the spike."""
    model = GRUClassifier(bidirectional=True, pooling="attention", random_state=random_state)
    model.fit(X, y)
    weights = model.attention_weights(X_test)
    on_spike = float(np.mean(weights[np.arange(len(weights)), spikes_test]))
    return model, model.score(X_test, y_test), weights, on_spike


def plot(weights, path=OUTPUT, n_rows=12):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 4))
    image = ax.imshow(weights[:n_rows], aspect="auto", cmap="viridis")
    ax.scatter(spikes_test[:n_rows], np.arange(n_rows), marker="x", color="red", label="spike")
    ax.set_xlabel("time step")
    ax.set_ylabel("test sequence")
    ax.set_title("Attention weight of each time step (red x: where the spike is)")
    ax.legend(loc="upper right")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# %%
if __name__ == "__main__":
    model, accuracy, weights, on_spike = fit_and_read()
    print(f"Test accuracy: {accuracy:.3f}")
    print(
        f"Mean attention weight on the spike's time step: {on_spike:.2f} "
        f"(uniform would be {1 / X.shape[1]:.3f})"
    )
    try:
        print(f"Plot saved to {plot(weights)}")
    except ImportError:
        print("Install matplotlib (pip install -e '.[examples]') for the plot.")
