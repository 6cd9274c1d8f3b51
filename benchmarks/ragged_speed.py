"""Ragged training: length-grouped packed batches against padding to the longest.

2,000 univariate sequences with lengths drawn uniformly from 10 to 200,
``LSTMRegressor()`` at its default size (64 units, batches of 32), in one
process:

- length-grouped: the list of sequences as it is; batches group similar
  lengths, so each batch runs as many steps as its longest sequence (packed
  for bidirectional networks; a forward-only network reads each sequence's
  outputs at its true end, which the fused CPU kernel makes faster than packing);
- padded: every sequence zero-padded to the longest (a 3D array), so every
  batch runs 200 steps (and padding leaks into the results).

The two train in turn, one epoch each (``warm_start=True``, one epoch per
``fit``; the optimizer starts afresh every epoch, which changes the path of the
weights but not the work per epoch), so that epochs next to each other in time
are compared: the speed of a shared or virtual machine drifts by tens of
percent over seconds, more than the length of a whole fit. Each repeat trains a
new pair of models for one untimed epoch (which pays one-off costs) and three
timed ones, and reports the median of its three epoch-by-epoch speed-ups; the
summary gives the median epoch times and the median speed-up over all repeats.

Run: ``python benchmarks/ragged_speed.py`` (``--fast`` for a CI-sized run).
"""

import argparse
import statistics
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_rnn import LSTMRegressor


def make_sequences(n_sequences, seed=0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(10, 201, size=n_sequences)
    sequences = [np.sin(np.arange(n) / 5.0 + rng.uniform(0, 6)) for n in lengths]
    targets = np.array([s[-1] for s in sequences])
    return sequences, targets


def interleaved_epoch_times(datasets, targets, n_epochs=3):
    """Train one model per data set, an epoch of each in turn; their epoch times.

    The first epoch of each is not timed. The order alternates every epoch, so
    neither data set always runs first.
    """
    models = {
        name: LSTMRegressor(
            max_epochs=1,
            lr_schedule="constant",
            scale_inputs=False,
            random_state=0,
            warm_start=True,
        )
        for name in datasets
    }
    times = {name: [] for name in datasets}
    for epoch in range(n_epochs + 1):
        names = list(datasets) if epoch % 2 == 0 else list(datasets)[::-1]
        for name in names:
            model = models[name].fit(datasets[name], targets)
            if epoch:
                times[name].append(model.net_.history[-1, "dur"])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="a small run, for CI")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # One epoch per fit never converges; the warning says nothing here.
    warnings.simplefilter("ignore", ConvergenceWarning)
    sequences, targets = make_sequences(300 if args.fast else 2000)
    longest = max(len(s) for s in sequences)
    padded = np.zeros((len(sequences), longest, 1))
    for i, s in enumerate(sequences):
        padded[i, : len(s), 0] = s

    times = {"grouped": [], "padded": []}
    speedups = []
    for _ in range(args.repeats):
        run = interleaved_epoch_times({"grouped": sequences, "padded": padded}, targets)
        for name, epoch_times in run.items():
            times[name].extend(epoch_times)
        speedups.append(statistics.median(p / g for p, g in zip(run["padded"], run["grouped"])))
    grouped, padded_time = statistics.median(times["grouped"]), statistics.median(times["padded"])
    lengths = [len(s) for s in sequences]
    print(
        f"{len(sequences):,} sequences, lengths {min(lengths)}-{max(lengths)} "
        f"(mean {np.mean(lengths):.0f}), LSTM(64), batch 32, {args.threads} threads"
    )
    print(f"  length-grouped batches: {grouped:.3f} s per epoch")
    print(f"  padded to the longest:  {padded_time:.3f} s per epoch")
    print(
        f"  speed-up: {statistics.median(speedups):.2f}x "
        f"(per repeat: {', '.join(f'{x:.2f}x' for x in speedups)})"
    )


if __name__ == "__main__":
    main()
