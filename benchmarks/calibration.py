"""Calibration of prediction intervals on real series (issue #13).

For each series (``CASES``: monthly and yearly, shipped with sktime and
statsmodels), the last ``n_test`` values are forecast one step ahead from
windows of the true history: ``X, y = make_windows(series, window)``, the
windows whose target is among the last ``n_test`` values are the test set, the
windows before them the training set. Every model is fitted once per seed on
the training windows, at default settings but for its loss; the baselines are
fitted in the same run, on the same windows.

Models
    - ``LSTMRegressor(loss="quantile", quantiles=LEVELS)``: quantiles from one
      network (the median is ``predict``);
    - ``LSTMRegressor(loss="gaussian")``: a mean and a standard deviation,
      quantiles from the normal distribution;
    - MAPIE's ``SplitConformalRegressor`` around the point ``LSTMRegressor()``,
      fitted on the first 80% of the training windows and conformalized on the
      last 20% (MAPIE's own protocol; needs ``mapie``).

Baseline
    - ``QuantileRegressor`` (scikit-learn's linear quantile regression, no
      penalty) on the same lags, one model per level.

Metrics (on the test values, per seed): the share of outcomes inside the 80%
and 90% central intervals (nominal 0.80 and 0.90), the mean width of the 90%
interval, and the mean pinball loss over the levels ``LEVELS`` (for MAPIE, its
80% and 90% bounds give the 0.05, 0.1, 0.9 and 0.95 quantiles, its point
forecast the median). Tables give the mean over seeds and the range.

Usage::

    python benchmarks/calibration.py                  # 6 series, 5 seeds, 1 thread
    python benchmarks/calibration.py --fast           # CI-sized: checks the script works
    python benchmarks/calibration.py --only airline --seeds 0,1

Needs the ``examples`` extra (sktime, statsmodels) and, for the MAPIE rows, the
``conformal`` extra.
"""

import argparse
import platform
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)
COVERAGES = (0.8, 0.9)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
FAST_MAX_EPOCHS = 5


@dataclass(frozen=True)
class Case:
    name: str
    n_test: int  # the last values, forecast one step ahead
    window: int
    source: str


CASES = (
    Case("airline", 36, 24, "sktime load_airline, monthly passengers 1949-1960; last 3 years"),
    Case("co2", 120, 24, "statsmodels co2, weekly -> monthly mean; last 10 years"),
    Case("sunspots", 80, 20, "statsmodels sunspots, yearly 1700-2008; last 80 years"),
    Case("lynx", 30, 20, "sktime load_lynx, yearly trappings 1821-1934; last 30 years"),
    Case("nile", 30, 20, "statsmodels nile, yearly volume 1871-1970; last 30 years"),
    Case("realgdp", 48, 20, "statsmodels macrodata realgdp, quarterly 1959-2009; last 12 years"),
)


def load_series(name):
    if name == "airline":
        from sktime.datasets import load_airline

        return load_airline().to_numpy(dtype=float)
    if name == "lynx":
        from sktime.datasets import load_lynx

        return load_lynx().to_numpy(dtype=float)
    import statsmodels.api as sm

    if name == "co2":
        weekly = sm.datasets.co2.load_pandas().data["co2"]
        return weekly.resample("MS").mean().interpolate().to_numpy(dtype=float)
    if name == "sunspots":
        return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=float)
    if name == "nile":
        return sm.datasets.nile.load_pandas().data["volume"].to_numpy(dtype=float)
    if name == "realgdp":
        return sm.datasets.macrodata.load_pandas().data["realgdp"].to_numpy(dtype=float)
    raise KeyError(name)


def pinball(quantiles, truth):
    """Mean pinball loss of ``quantiles`` (n, len(LEVELS)) over the levels."""
    error = truth[:, np.newaxis] - quantiles
    levels = np.asarray(LEVELS)
    return float(np.mean(np.maximum(levels * error, (levels - 1) * error)))


def interval_levels(coverage):
    return round((1 - coverage) / 2, 12), round((1 + coverage) / 2, 12)


def scores(quantiles, truth):
    """Coverage of each central interval, the 90% width and the pinball loss."""
    index = {level: k for k, level in enumerate(LEVELS)}
    result = {"pinball": pinball(quantiles, truth)}
    for coverage in COVERAGES:
        low, high = (quantiles[:, index[level]] for level in interval_levels(coverage))
        result[f"coverage {coverage:.0%}"] = float(np.mean((truth >= low) & (truth <= high)))
        if coverage == 0.9:
            result["width 90%"] = float(np.mean(high - low))
    return result


# -- models: each returns the (n_test, len(LEVELS)) quantiles of the test outcomes ------


def quantile_network(X_train, y_train, X_test, seed, overrides):
    from sklearn_rnn import LSTMRegressor

    levels = [q for q in LEVELS if q != 0.5]
    model = LSTMRegressor(loss="quantile", quantiles=levels, random_state=seed, **overrides)
    return model.fit(X_train, y_train).predict_quantiles(X_test, LEVELS)


def gaussian_network(X_train, y_train, X_test, seed, overrides):
    from sklearn_rnn import LSTMRegressor

    model = LSTMRegressor(loss="gaussian", random_state=seed, **overrides)
    return model.fit(X_train, y_train).predict_quantiles(X_test, LEVELS)


def mapie_split_conformal(X_train, y_train, X_test, seed, overrides):
    from mapie.regression import SplitConformalRegressor

    from sklearn_rnn import LSTMRegressor

    split = int(0.8 * len(X_train))
    conformal = SplitConformalRegressor(
        LSTMRegressor(random_state=seed, **overrides),
        confidence_level=list(COVERAGES),
        prefit=False,
    )
    # MAPIE takes 2D tables: univariate windows, one per row (this package's 2D layout).
    conformal.fit(X_train[:split, :, 0], y_train[:split])
    conformal.conformalize(X_train[split:, :, 0], y_train[split:])
    point, intervals = conformal.predict_interval(X_test[:, :, 0])
    by_level = {0.5: point}
    for k, coverage in enumerate(COVERAGES):
        low, high = interval_levels(coverage)
        by_level[low], by_level[high] = intervals[:, 0, k], intervals[:, 1, k]
    return np.column_stack([by_level[level] for level in LEVELS])


def linear_quantiles(X_train, y_train, X_test, seed, overrides):
    from sklearn.linear_model import QuantileRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    columns = []
    for level in LEVELS:
        model = make_pipeline(StandardScaler(), QuantileRegressor(quantile=level, alpha=0.0))
        columns.append(model.fit(X_train[:, :, 0], y_train).predict(X_test[:, :, 0]))
    return np.column_stack(columns)


MODELS = {
    "LSTMRegressor(loss='quantile')": quantile_network,
    "LSTMRegressor(loss='gaussian')": gaussian_network,
    "MAPIE split conformal, LSTMRegressor()": mapie_split_conformal,
}
BASELINES = {"QuantileRegressor, same lags": linear_quantiles}


def run_case(case, seeds, overrides, wanted):
    from sklearn_rnn import make_windows

    series = load_series(case.name)
    X, y = make_windows(series, case.window)
    n_train = len(y) - case.n_test
    data = (X[:n_train], y[:n_train], X[n_train:])
    truth = y[n_train:]
    rows = []
    for name, run_model in {**BASELINES, **MODELS}.items():
        if wanted and not any(w in name.lower() for w in wanted) and name not in BASELINES:
            continue
        for seed in [None] if name in BASELINES else seeds:
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    quantiles = run_model(*data, seed, overrides)
            except ImportError as exc:
                print(f"{case.name} | {name}: skipped ({exc})", file=sys.stderr)
                break
            row = {"case": case.name, "model": name, "seed": seed, **scores(quantiles, truth)}
            row["fit_s"] = time.perf_counter() - start
            crossing = np.mean(np.any(np.diff(quantiles, axis=1) < 0, axis=1))
            row["crossing"] = float(crossing)
            rows.append(row)
            print(
                f"{case.name} | {name} | seed {seed}: "
                + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)),
                file=sys.stderr,
                flush=True,
            )
    return rows


def table(cases, rows):
    metrics = ["coverage 80%", "coverage 90%", "width 90%", "pinball"]
    lines = [
        "| series | model | " + " | ".join(metrics) + " | quantiles crossing | fit s |",
        "|---|---|" + "---|" * (len(metrics) + 2),
    ]
    for case in cases:
        models = list(dict.fromkeys(r["model"] for r in rows if r["case"] == case.name))
        for model in models:
            group = [r for r in rows if r["case"] == case.name and r["model"] == model]
            cells = []
            for metric in metrics:
                values = np.array([r[metric] for r in group])
                digits = 3 if metric.startswith("coverage") else 4
                cell = f"{values.mean():.{digits}g}" if not metric.startswith("coverage") else f"{values.mean():.3f}"
                if len(values) > 1:
                    low, high = values.min(), values.max()
                    cell += (
                        f" ({low:.3f}-{high:.3f})"
                        if metric.startswith("coverage")
                        else f" ({low:.{digits}g}-{high:.{digits}g})"
                    )
                cells.append(cell)
            crossing = np.mean([r["crossing"] for r in group])
            fit_s = np.mean([r["fit_s"] for r in group])
            lines.append(
                f"| {case.name} | {model} | " + " | ".join(cells) + f" | {crossing:.0%} | {fit_s:.1f} |"
            )
    return "\n".join(lines)


def summary(rows):
    """Mean absolute coverage error per model, over series and seeds, and the
    pinball loss relative to the linear baseline (mean over series)."""
    lines = ["| model | mean abs. coverage error, 80% | 90% | worst series-mean error | pinball / linear |", "|---|---|---|---|---|"]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    baseline = {c: [r["pinball"] for r in rows if r["case"] == c and r["model"] in BASELINES] for c in cases}
    for model in dict.fromkeys(r["model"] for r in rows):
        group = [r for r in rows if r["model"] == model]
        errors = {cov: [abs(r[f"coverage {cov:.0%}"] - cov) for r in group] for cov in COVERAGES}
        worst = max(
            abs(np.mean([r[f"coverage {cov:.0%}"] for r in group if r["case"] == c]) - cov)
            for c in cases
            if any(r["case"] == c for r in group)
            for cov in COVERAGES
        )
        ratios = [
            np.mean([r["pinball"] for r in group if r["case"] == c]) / baseline[c][0]
            for c in cases
            if baseline[c] and any(r["case"] == c for r in group)
        ]
        lines.append(
            f"| {model} | {np.mean(errors[0.8]):.3f} | {np.mean(errors[0.9]):.3f} | "
            f"{worst:.3f} | {np.mean(ratios):.3f} |"
        )
    return "\n".join(lines)


def _settings(pairs):
    from quality import _settings as parsed  # the same PARAM=VALUE reading

    return parsed(pairs)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="CI-sized: lynx, seed 0, 5 epochs")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (default 0-4)")
    parser.add_argument("--only", default=None, help="comma-separated series names")
    parser.add_argument("--models", default=None, help="comma-separated substrings of model names")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="set a hyperparameter of every network, as in quality.py",
    )
    return parser.parse_args(argv)


def main(argv=None):
    import torch
    from threadpoolctl import threadpool_limits

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.seeds is not None:
        seeds = [int(s) for s in args.seeds.split(",")]
    else:
        seeds = [0] if args.fast else list(DEFAULT_SEEDS)
    only = args.only.split(",") if args.only else (["lynx"] if args.fast else None)
    cases = [c for c in CASES if only is None or c.name in only]
    overrides = {"max_epochs": FAST_MAX_EPOCHS} if args.fast else {}
    overrides.update(_settings(args.set))
    wanted = [w.strip().lower() for w in args.models.split(",")] if args.models else []
    started = time.perf_counter()
    rows = []
    with threadpool_limits(limits=args.threads):
        for case in cases:
            rows += run_case(case, seeds, overrides, wanted)
    print("## Calibration of one-step-ahead intervals on real series\n")
    print(
        f"`{' '.join(['benchmarks/calibration.py', *sys.argv[1:]])}`: seeds {seeds}, "
        f"{args.threads} torch thread(s), {'max_epochs 5 (fast mode)' if args.fast else 'default settings'}, "
        f"{(time.perf_counter() - started) / 60:.1f} min; {platform.machine()}, "
        f"Python {platform.python_version()}, torch {torch.__version__}\n"
    )
    print("| series | test values | window | source |\n|---|---|---|---|")
    for case in cases:
        print(f"| {case.name} | {case.n_test} | {case.window} | {case.source} |")
    print()
    print(table(cases, rows))
    print()
    print(summary(rows))


if __name__ == "__main__":
    main()
