"""Ragged training: length-grouped packed batches against padding to the longest.

2,000 univariate sequences with lengths drawn uniformly from 10 to 200,
``LSTMRegressor()`` at its default size (64 units, batches of 32), the median
of 3 epochs (the
first pays one-off costs), in one process:

- length-grouped: the list of sequences as it is; batches group similar
  lengths, so each batch runs as many steps as its longest sequence (packed
  for bidirectional networks; a forward-only network reads each sequence's
  outputs at its true end, which the fused CPU kernel makes faster than packing);
- padded: every sequence zero-padded to the longest (a 3D array), so every
  batch runs 200 steps (and padding leaks into the results).

Prints the median epoch times over ``--repeats`` interleaved runs and the speed-up.

Run: ``python benchmarks/ragged_speed.py`` (``--fast`` for a CI-sized run).
"""

import argparse
import statistics

import numpy as np
import torch

from sklearn_rnn import LSTMRegressor


def make_sequences(n_sequences, seed=0):
    rng = np.random.RandomState(seed)
    lengths = rng.randint(10, 201, size=n_sequences)
    sequences = [np.sin(np.arange(n) / 5.0 + rng.uniform(0, 6)) for n in lengths]
    targets = np.array([s[-1] for s in sequences])
    return sequences, targets


def epoch_time(X, y):
    model = LSTMRegressor(
        max_epochs=3,
        lr_schedule="constant",
        scale_inputs=False,
        random_state=0,
    ).fit(X, y)
    return statistics.median(model.net_.history[:, "dur"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="a small run, for CI")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sequences, targets = make_sequences(300 if args.fast else 2000)
    longest = max(len(s) for s in sequences)
    padded = np.zeros((len(sequences), longest, 1))
    for i, s in enumerate(sequences):
        padded[i, : len(s), 0] = s

    times = {"grouped": [], "padded": []}
    for _ in range(args.repeats):
        times["grouped"].append(epoch_time(sequences, targets))
        times["padded"].append(epoch_time(padded, targets))
    grouped, padded_time = statistics.median(times["grouped"]), statistics.median(times["padded"])
    lengths = [len(s) for s in sequences]
    print(
        f"{len(sequences):,} sequences, lengths {min(lengths)}-{max(lengths)} "
        f"(mean {np.mean(lengths):.0f}), LSTM(64), batch 32, {args.threads} threads"
    )
    print(f"  length-grouped batches: {grouped:.3f} s per epoch")
    print(f"  padded to the longest:  {padded_time:.3f} s per epoch")
    print(f"  speed-up: {padded_time / grouped:.2f}x")


if __name__ == "__main__":
    main()
