"""Memory of windowed training: windows stay views all the way into training.

Measures, in one process:

1. ``make_windows`` on a 5,000,000-point series with window 128: wall time and
   the memory it allocates (tracemalloc sees NumPy's allocations).
2. One epoch of a small LSTM on 1,000,000 windows of 64 steps: the rise of the
   process's peak resident memory (``ru_maxrss``) during ``fit``, next to what the
   windows would take if materialised.
3. The same for a panel: 1,000 series in a long (series, time) DataFrame,
   1,000,000 windows of 64 steps from ``make_windows`` (a ``Windows``: the rows
   once and where each window starts), scaled by window as the defaults do.

Run: ``python benchmarks/window_memory.py`` (``--fast`` for a CI-sized run).
"""

import argparse
import resource
import time
import tracemalloc

import numpy as np
import torch

from sklearn_rnn import LSTMRegressor, make_windows


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def time_make_windows(n_points, window_size):
    series = np.random.RandomState(0).normal(size=n_points)
    tracemalloc.start()
    start = time.perf_counter()
    X, y = make_windows(series, window_size)
    seconds = time.perf_counter() - start
    allocated = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return X.shape, seconds, allocated, np.shares_memory(X, series)


def epoch_memory(n_windows, window_size, batch_size):
    rng = np.random.RandomState(0)
    series = np.sin(np.arange(n_windows + window_size) / 10.0) + 0.1 * rng.normal(
        size=n_windows + window_size
    )
    X, y = make_windows(series.astype(np.float32), window_size)
    # Load torch's kernels and allocator once, so that the measure is of the data path.
    LSTMRegressor(hidden_size=16, max_epochs=1, n_networks=1, random_state=0).fit(X[:512], y[:512])
    before = peak_rss_mb()
    start = time.perf_counter()
    # One network: the data path is measured (the default fits four one step ahead).
    model = LSTMRegressor(
        hidden_size=16, max_epochs=1, batch_size=batch_size, n_networks=1, random_state=0
    )
    model.fit(X, y)
    seconds = time.perf_counter() - start
    return X.shape, peak_rss_mb() - before, seconds


def panel_epoch_memory(n_series, windows_per_series, window_size, batch_size):
    import pandas as pd

    rng = np.random.RandomState(0)
    length = windows_per_series + window_size
    levels = np.exp(rng.uniform(0, 8, size=n_series))  # series 1 to 3,000 apart
    t = np.arange(length)
    values = levels[:, np.newaxis] * (1 + 0.3 * np.sin(t / 10.0) + 0.05 * rng.normal(size=(n_series, length)))
    index = pd.MultiIndex.from_product([range(n_series), t], names=["series", "time"])
    panel = pd.DataFrame({"value": values.ravel().astype(np.float32)}, index=index)
    start = time.perf_counter()
    X, y = make_windows(panel, window_size)
    windowing = time.perf_counter() - start
    LSTMRegressor(hidden_size=16, max_epochs=1, random_state=0).fit(X[:512], y.iloc[:512])
    before = peak_rss_mb()
    start = time.perf_counter()
    model = LSTMRegressor(hidden_size=16, max_epochs=1, batch_size=batch_size, random_state=0)
    model.fit(X, y)
    return X.shape, peak_rss_mb() - before, time.perf_counter() - start, windowing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small sizes, for CI")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n_points = 500_000 if args.fast else 5_000_000
    n_windows = 50_000 if args.fast else 1_000_000

    shape, seconds, allocated, is_view = time_make_windows(n_points, 128)
    print(f"make_windows: series of {n_points:,} points, window 128 -> X {shape}")
    print(f"  {seconds * 1000:.2f} ms, {allocated:.2f} MiB allocated, X is a view: {is_view}")
    materialised = shape[0] * shape[1] * 8 / 2**20
    print(f"  (materialised float64 windows would take {materialised:,.0f} MiB)")

    shape, rss_rise, seconds = epoch_memory(n_windows, 64, batch_size=256)
    as_float32 = shape[0] * shape[1] * 4 / 2**20
    print(f"\nOne epoch, LSTM(16), {shape[0]:,} windows of {shape[1]} steps, batch 256:")
    print(f"  peak RSS rose by {rss_rise:.1f} MiB during fit ({seconds:.1f} s)")
    print(
        f"  materialised windows alone would take {as_float32:,.0f} MiB as float32, "
        f"{2 * as_float32:,.0f} MiB as float64"
    )

    n_series = 100 if args.fast else 1000
    # In a fresh process: the peak resident memory only ever grows, and the run
    # above has already raised it.
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1, torch.set_num_threads, (args.threads,)) as pool:
        shape, rss_rise, seconds, windowing = pool.apply(
            panel_epoch_memory, (n_series, 500 if args.fast else 1000, 64, 256)
        )
    as_float32 = shape[0] * shape[1] * 4 / 2**20
    print(
        f"\nOne epoch on a panel of {n_series:,} series, {shape[0]:,} windows of {shape[1]} "
        f"steps (make_windows {windowing:.2f} s), batch 256, scaled by window:"
    )
    print(f"  panel peak RSS rose by {rss_rise:.1f} MiB during fit ({seconds:.1f} s)")
    print(f"  materialised windows alone would take {as_float32:,.0f} MiB as float32")


if __name__ == "__main__":
    main()
