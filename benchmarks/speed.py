"""Training and prediction speed, side by side with a hand-written PyTorch loop.

One task for every contender: 20,000 windows x 32 steps x 1 feature,
LSTM(64) -> Linear, MSE, Adam lr 1e-3, batch 128, 5 epochs, 2 threads.
Contenders run interleaved in one process, ``--repeats`` times; the table
shows medians and ratios to the hand-written loop (lower is better):

- hand-written loop: data held as tensors, batches by slicing a random permutation;
- sklearn-rnn: ``LSTMRegressor`` on the same arrays, doing the same work
  (no input/target scaling, no gradient clipping, constant learning rate), and
  at its defaults for clipping and scaling as a second row;
- skorch default: ``NeuralNetRegressor`` with its default ``DataLoader`` path;
- Keras 3 on the torch backend, where installed.

Run: ``python benchmarks/speed.py`` (``--fast`` for a CI-sized smoke run);
``--device cuda`` runs every contender on the GPU (the hand-written loop holds
its data there), ``--precision bfloat16`` runs the hand-written loop under
``torch.autocast`` and sklearn-rnn with ``precision="bfloat16"`` (skorch's
default path stays in float32).
"""

import argparse
import contextlib
import statistics
import time

import numpy as np
import torch
from torch import nn

N_SAMPLES, N_STEPS, HIDDEN, BATCH, EPOCHS, LR = 20_000, 32, 64, 128, 5, 1e-3
# Set by main(): where every contender trains, and the hand-written loop's autocast.
DEVICE, PRECISION = "cpu", "float32"


def synchronize():
    """Wait for queued GPU work, so that a timer stops when the work is done."""
    if DEVICE.startswith("cuda"):
        torch.cuda.synchronize()


def autocast():
    if PRECISION == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(DEVICE).type, dtype=getattr(torch, PRECISION))


def make_data(n_samples, n_steps, seed=0):
    rng = np.random.RandomState(seed)
    series = np.sin(np.arange(n_samples + n_steps) / 8.0) + 0.1 * rng.normal(
        size=n_samples + n_steps
    )
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], n_steps)[:n_samples]
    y = series[n_steps : n_steps + n_samples]
    return np.ascontiguousarray(X[:, :, None], dtype=np.float32), y.astype(np.float32)


class LastStepLSTM(nn.Module):
    def __init__(self, hidden_size=HIDDEN):
        super().__init__()
        self.rnn = nn.LSTM(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, X):
        outputs, _ = self.rnn(X)
        return self.head(outputs[:, -1])


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def hand_written(X, y, epochs):
    torch.manual_seed(0)
    X_t = torch.from_numpy(X).to(DEVICE)
    y_t = torch.from_numpy(y).unsqueeze(1).to(DEVICE)
    model = LastStepLSTM().to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.MSELoss()
    epoch_times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(X_t), device=DEVICE)
        for i in range(0, len(X_t), BATCH):
            index = order[i : i + BATCH]
            optimizer.zero_grad()
            with autocast():
                loss = loss_fn(model(X_t[index]).float(), y_t[index])
            loss.backward()
            optimizer.step()
        synchronize()
        epoch_times.append(time.perf_counter() - start)
    model.eval()

    def predict(inputs):
        with torch.no_grad(), autocast():
            return model(torch.from_numpy(inputs).to(DEVICE)).float().cpu().numpy()

    return statistics.median(epoch_times), predict


def sklearn_rnn_fit(X, y, epochs, same_work=True):
    from sklearn_rnn import LSTMRegressor

    extra = (
        dict(scale_inputs=False, scale_targets=False, clip_grad_norm=None) if same_work else {}
    )
    model = LSTMRegressor(
        hidden_size=HIDDEN,
        lr=LR,
        batch_size=BATCH,
        max_epochs=epochs,
        lr_schedule="constant",
        n_iter_no_change=epochs + 1,
        n_networks=1,  # one network, as the other contenders train
        device=DEVICE,
        precision=PRECISION,
        random_state=0,
        **extra,
    )
    model.fit(X, y)
    return statistics.median(model.net_.history[:, "dur"]), model.predict


def skorch_default_fit(X, y, epochs):
    from skorch import NeuralNetRegressor

    torch.manual_seed(0)
    net = NeuralNetRegressor(
        LastStepLSTM,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=BATCH,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device=DEVICE,
        verbose=0,
    )
    net.fit(X, y[:, None])
    return statistics.median(net.history[:, "dur"]), net.predict


def keras_fit(X, y, epochs):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    model = keras.Sequential([keras.Input((N_STEPS, 1)), keras.layers.LSTM(HIDDEN), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse")
    epoch_times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_times.append(time.perf_counter() - self.start)

    model.fit(X, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[Timer()])
    return statistics.median(epoch_times), lambda inputs: model.predict(inputs, verbose=0)


def contenders():
    found = {
        "hand-written loop": hand_written,
        "sklearn-rnn (same work)": sklearn_rnn_fit,
        "sklearn-rnn (defaults: scaling, clipping)": lambda X, y, e: sklearn_rnn_fit(
            X, y, e, same_work=False
        ),
        "skorch default": skorch_default_fit,
    }
    if DEVICE != "cpu" or PRECISION != "float32":
        return found  # Keras is measured on the CPU in float32 only
    try:
        import keras  # noqa: F401

        found["Keras 3 (torch backend)"] = keras_fit
    except ImportError:
        pass
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="a small smoke run, for CI")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()
    global DEVICE, PRECISION
    DEVICE, PRECISION = args.device, args.precision
    torch.set_num_threads(args.threads)
    n_samples, epochs = (2_000, 2) if args.fast else (N_SAMPLES, EPOCHS)
    X, y = make_data(n_samples, N_STEPS)
    single = X[:1]

    results = {name: {"epoch": [], "predict_all": [], "predict_one": []} for name in contenders()}
    for _ in range(args.repeats):
        for name, fit in contenders().items():
            epoch, predict = fit(X, y, epochs)
            predict(X[:256])  # warm up
            results[name]["epoch"].append(epoch)
            results[name]["predict_all"].append(median_time(lambda: predict(X), 3))
            results[name]["predict_one"].append(median_time(lambda: predict(single), 200))

    base = {key: statistics.median(v) for key, v in results["hand-written loop"].items()}
    print(
        f"{n_samples:,} windows x {N_STEPS} steps x 1 feature, LSTM({HIDDEN}) -> Linear, "
        f"batch {BATCH}, {epochs} epochs, {args.threads} threads, {args.repeats} repeats, "
        f"device {DEVICE}, {PRECISION} (medians; ratio to the hand-written loop)\n"
    )
    print(f"{'contender':<44}{'epoch':>16}{'predict all':>18}{'predict 1':>18}")
    for name, columns in results.items():
        cells = []
        for key in ("epoch", "predict_all", "predict_one"):
            value = statistics.median(columns[key])
            unit = (value * 1e3, "ms") if key == "predict_one" else (value, "s")
            cells.append(f"{unit[0]:.3f} {unit[1]} {value / base[key]:.2f}x")
        print(f"{name:<44}{cells[0]:>16}{cells[1]:>18}{cells[2]:>18}")


if __name__ == "__main__":
    main()
