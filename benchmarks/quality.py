"""Quality at default settings: forecasting and classification against baselines.

The product's first measure (issue #12). Every recurrent model is built with its
default settings, only ``random_state`` set, and fitted once per seed (0-4 by
default); the baselines are fitted in the same run, on the same data, with the
same number of threads. For each case the tables give the mean, min and max over
seeds, next to the baselines, the fit time in seconds and the number of epochs
trained.

Forecasting, on raw levels of real series shipped offline (``FORECAST_CASES``;
sktime and statsmodels). The last ``n_test`` values of each series are held out.

- One step ahead, the README's pipeline as a user writes it:
  ``make_pipeline(StandardScaler(), SlidingWindowTransformer(w), LSTMRegressor())``
  (and GRU, RNN) on rows ``series[:-1].reshape(-1, 1)`` with target
  ``series[1:]``, fitted on the training rows and predicting the held-out rows;
  the window transformer reaches back into the training rows, so each forecast
  uses the true history up to its origin. MAE on the held-out values.
- h steps ahead (h = ``n_test``): ``X, y = make_windows(train, w, horizon=h)``,
  then ``LSTMRegressor()`` (direct multi-output head), ``decoder="rnn"``,
  ``decoder="attention"`` and ``GRURegressor()``; one forecast of the held-out
  values from the last ``w`` training values. MAE against the held-out values.
- With ``--rolling``, also h/2 steps ahead from every origin in the held-out tail
  (h/2 = ``n_test // 2``): ``make_windows(series, w, horizon=h/2)``, the models
  fitted on the windows whose horizon ends before the tail and forecasting from
  every window whose horizon lies in it (``n_test - h/2 + 1`` origins); MAE over
  all of them. One forecast origin is one draw of the data; this measures the
  same models over several.
- Baselines: naive (last value), seasonal naive (one season back; n/a for
  non-seasonal series), RidgeCV on the same lags (the same pipeline with the
  windows flattened, ``RidgeCV(alphas=np.logspace(-3, 3, 13))`` in place of the
  network; multi-output on the same ``make_windows`` windows for h steps), and,
  if ``statsforecast`` is importable, AutoETS and AutoARIMA as reference rows
  (fitted on the training part; one step ahead they are applied to the true
  history with ``forward``). statsforecast 2.x requires pandas < 3: install it
  in an environment of its own (``pip install statsforecast`` beside this
  package's ``examples`` extra); ``--only forecast --models none`` then fits only
  the baselines and these references. The tables give each model's MAE relative to
  RidgeCV (mean over seeds and worst seed) and on how many seeds it beats it.

Classification, on the official train/test splits of UCR/UEA data sets shipped
with sktime (``CLASSIFICATION_CASES``). Models: ``LSTMClassifier``,
``GRUClassifier``, ``RNNClassifier`` and
``make_pipeline(RNNSequenceTransformer(cell=...), LogisticRegression(max_iter=1000))``
with ``cell="lstm"`` and ``"gru"`` (the transformer learns from the labels the
pipeline passes). Baselines on the flattened series: 1-nearest neighbour
(Euclidean) and ``StandardScaler -> RidgeClassifierCV``; JapaneseVowels, whose
sequences have 7 to 29 steps, goes to the networks as a list of arrays and to
the baselines resampled (linear interpolation) to the longest training length.
Published LSTM-FCN and FCN test accuracies are typed in as references
(``REFERENCE_ACCURACY``). Test accuracy is the metric; a seed at chance level
(accuracy <= 1/n_classes + 0.05, or <= the test set's majority-class rate) is
flagged.

Usage::

    python benchmarks/quality.py                        # everything, 5 seeds, 1 thread
    python benchmarks/quality.py --fast                 # CI-sized: checks the script works
    python benchmarks/quality.py --only airline,GunPoint --seeds 0,1,2
    python benchmarks/quality.py --only classify --threads 2 --json out.json
    python benchmarks/quality.py --report a.json b.json # tables of saved runs, merged

``--only`` keeps the cases whose id (``forecast:<series>``, ``classify:<data set>``)
contains one of the given substrings; ``--models`` keeps the models whose name
contains one (baselines always run). ``--max-epochs N`` overrides ``max_epochs``
of every network, and ``--set PARAM=VALUE`` any hyperparameter (to measure a lever
before it becomes a default); they are the only departures from the defaults. ``--fast``
uses ``--max-epochs`` (5 epochs, 1 seed, the lynx and ItalyPowerDemand cases), so fast mode
checks that the script works, not quality. Progress goes to stderr, the
Markdown tables to stdout; ``--json`` saves every raw per-seed result with the
run's settings, for comparing and merging runs (``--report``).

Needs the ``examples`` extra (sktime) and statsmodels for the co2, sunspots,
nile and realgdp series.
"""

import argparse
import json
import platform
import random
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

# --------------------------------------------------------------------------------------
# Case definitions: change the protocol here.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastCase:
    """A series, its held-out tail, the window the models read and its season."""

    name: str  # a key of SERIES_LOADERS
    n_test: int  # held-out values; also the horizon of the h-step task
    window: int  # time steps per window
    season: int | None  # period of the seasonal naive forecast; None: not seasonal
    source: str


FORECAST_CASES = (
    ForecastCase("airline", 24, 24, 12, "sktime load_airline, monthly passengers 1949-1960"),
    ForecastCase("co2", 36, 24, 12, "statsmodels co2, weekly -> monthly mean, gaps interpolated"),
    ForecastCase("sunspots", 30, 20, None, "statsmodels sunspots, yearly SUNACTIVITY"),
    ForecastCase("lynx", 20, 20, None, "sktime load_lynx, yearly trappings 1821-1934"),
    ForecastCase("nile", 20, 10, None, "statsmodels nile, yearly volume 1871-1970"),
    ForecastCase("realgdp", 20, 8, None, "statsmodels macrodata realgdp, quarterly, s.a."),
)


@dataclass(frozen=True)
class ClassificationCase:
    """A UCR/UEA data set that sktime ships, loaded on its official split."""

    name: str
    ragged: bool = False  # sequences of different lengths


CLASSIFICATION_CASES = (
    ClassificationCase("GunPoint"),  # 150 steps, 2 classes, 50 train / 150 test
    ClassificationCase("ItalyPowerDemand"),  # 24 steps, 2 classes, 67 / 1029
    ClassificationCase("BasicMotions"),  # 100 steps x 6 channels, 4 classes, 40 / 40
    ClassificationCase("ArrowHead"),  # 251 steps, 3 classes, 36 / 175
    ClassificationCase("OSULeaf"),  # 427 steps, 6 classes, 200 / 242
    ClassificationCase("JapaneseVowels", ragged=True),  # 7-29 steps x 12, 9 classes, 270 / 370
)

# Published test accuracies, typed in; None where no figure was found (printed n/a).
# - LSTM-FCN, univariate: Karim et al., "LSTM Fully Convolutional Networks for Time
#   Series Classification", IEEE Access 6 (2018); the LSTM-FCN column of
#   Results/train_loss_old_datasets.csv in github.com/titu1994/LSTM-FCN.
# - LSTM-FCN, JapaneseVowels: Karim et al., "Multivariate LSTM-FCNs for Time Series
#   Classification", Neural Networks 116 (2019), results table in the README of
#   github.com/titu1994/MLSTM-FCN (LSTM-FCN 0.99; MLSTM-FCN 1.00).
# - FCN: Fawaz et al., "Deep learning for time series classification: a review",
#   DMKD 33 (2019), mean of 10 runs; results/results-uea-avg-std.csv and
#   results/results-mts-avg-std.csv in github.com/hfawaz/dl-4-tsc.
# - BasicMotions: neither paper covers it; no published LSTM-FCN/FCN figure found.
REFERENCE_ACCURACY = {
    #                    LSTM-FCN, FCN
    "GunPoint": (1.000, 1.000),
    "ItalyPowerDemand": (0.962, 0.961),
    "BasicMotions": (None, None),
    "ArrowHead": (0.897, 0.843),
    "OSULeaf": (0.983, 0.977),
    "JapaneseVowels": (0.99, 0.993),
}

RIDGE_ALPHAS_FORECAST = np.logspace(-3, 3, 13)
RIDGE_ALPHAS_CLASSIFY = np.logspace(-3, 3, 10)
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
FAST_CASES = ("forecast:lynx", "classify:ItalyPowerDemand")
FAST_MAX_EPOCHS = 5

TASK_ONE_STEP = "forecast, 1 step ahead"
TASK_H_STEP = "forecast, h steps ahead"
TASK_ROLLING = "forecast, h/2 steps ahead from every origin"
TASK_CLASSIFY = "classification"


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def _statsmodels_datasets():
    try:
        import statsmodels.api as sm
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "This series ships with statsmodels: pip install statsmodels (or leave it out "
            "with --only)."
        ) from exc
    return sm.datasets


def _airline():
    from sktime.datasets import load_airline

    return load_airline().to_numpy(dtype=float)


def _lynx():
    from sktime.datasets import load_lynx

    return load_lynx().to_numpy(dtype=float)


def _co2():
    weekly = _statsmodels_datasets().co2.load_pandas().data["co2"]
    return weekly.resample("MS").mean().interpolate().to_numpy(dtype=float)


def _sunspots():
    return _statsmodels_datasets().sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(float)


def _nile():
    return _statsmodels_datasets().nile.load_pandas().data["volume"].to_numpy(dtype=float)


def _realgdp():
    return _statsmodels_datasets().macrodata.load_pandas().data["realgdp"].to_numpy(float)


SERIES_LOADERS = {
    "airline": _airline,
    "co2": _co2,
    "sunspots": _sunspots,
    "lynx": _lynx,
    "nile": _nile,
    "realgdp": _realgdp,
}


def load_classification(case, split):
    """Sequences and labels of one split, in the layout the estimators take.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_channels), or a list of arrays
        of shape (n_timesteps_i, n_channels) for a ragged data set.
    y : ndarray of shape (n_samples,)
    """
    from sktime.datasets import load_UCR_UEA_dataset

    from sklearn_rnn import from_channels_first

    if not case.ragged:
        X, y = load_UCR_UEA_dataset(case.name, split=split, return_type="numpy3D")
        return from_channels_first(X), np.asarray(y)
    long, y = load_UCR_UEA_dataset(case.name, split=split, return_type="pd-multiindex")
    instances = long.index.get_level_values(0).unique()
    return [long.loc[i].to_numpy(dtype=float) for i in instances], np.asarray(y)


def to_fixed_length(X, length):
    """Resample each sequence to ``length`` steps by linear interpolation (for baselines)."""
    if not isinstance(X, list):
        return np.asarray(X, dtype=float)
    grid = np.linspace(0.0, 1.0, length)
    out = np.empty((len(X), length, X[0].shape[1]))
    for i, seq in enumerate(X):
        steps = np.linspace(0.0, 1.0, len(seq))
        for c in range(seq.shape[1]):
            out[i, :, c] = np.interp(grid, steps, seq[:, c])
    return out


def flatten_windows(W):
    """(n, n_timesteps, n_features) windows -> (n, n_timesteps * n_features) rows."""
    W = np.asarray(W)
    return W.reshape(len(W), -1)


# --------------------------------------------------------------------------------------
# Models at default settings (``overrides`` is empty unless --max-epochs or --set is given)
# --------------------------------------------------------------------------------------


def one_step_models(window, seed, overrides):
    """The README's window pipeline, one per recurrent regressor."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_rnn import GRURegressor, LSTMRegressor, RNNRegressor, SlidingWindowTransformer

    return {
        cls.__name__: make_pipeline(
            StandardScaler(),
            SlidingWindowTransformer(window),
            cls(random_state=seed, **overrides),
        )
        for cls in (LSTMRegressor, GRURegressor, RNNRegressor)
    }


def h_step_models(seed, overrides):
    """Multi-step regressors for ``make_windows(..., horizon=h)`` windows."""
    from sklearn_rnn import GRURegressor, LSTMRegressor

    return {
        "LSTMRegressor, direct head": LSTMRegressor(random_state=seed, **overrides),
        "LSTMRegressor, decoder=rnn": LSTMRegressor(decoder="rnn", random_state=seed, **overrides),
        "LSTMRegressor, decoder=attention": LSTMRegressor(
            decoder="attention", random_state=seed, **overrides
        ),
        "GRURegressor, direct head": GRURegressor(random_state=seed, **overrides),
    }


def one_step_ridge(window):
    """The one-step pipeline with a linear autoregression in place of the network."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from sklearn_rnn import SlidingWindowTransformer

    return make_pipeline(
        StandardScaler(),
        SlidingWindowTransformer(window),
        FunctionTransformer(flatten_windows),
        RidgeCV(alphas=RIDGE_ALPHAS_FORECAST),
    )


def h_step_ridge():
    """Multi-output RidgeCV on the flattened ``make_windows`` windows."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(
        FunctionTransformer(flatten_windows),
        StandardScaler(),
        RidgeCV(alphas=RIDGE_ALPHAS_FORECAST),
    )


def classifiers(seed, overrides):
    """The recurrent classifiers and embedding pipelines."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklearn_rnn import (
        GRUClassifier,
        LSTMClassifier,
        RNNClassifier,
        RNNSequenceTransformer,
    )

    models = {
        cls.__name__: cls(random_state=seed, **overrides)
        for cls in (LSTMClassifier, GRUClassifier, RNNClassifier)
    }
    for cell in ("lstm", "gru"):
        models[f"{cell.upper()} embedding + LogReg"] = make_pipeline(
            RNNSequenceTransformer(cell=cell, random_state=seed, **overrides),
            LogisticRegression(max_iter=1000),
        )
    return models


def classification_baselines():
    """Baselines on flattened (fixed-length) series."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "1-NN (Euclidean)": KNeighborsClassifier(n_neighbors=1),
        "RidgeClassifierCV": make_pipeline(
            StandardScaler(), RidgeClassifierCV(alphas=RIDGE_ALPHAS_CLASSIFY)
        ),
    }


def statsforecast_models(season):
    """AutoETS and AutoARIMA, or nothing when statsforecast is not importable."""
    try:
        from statsforecast.models import AutoARIMA, AutoETS
    except ImportError:
        return {}
    period = season or 1
    return {"AutoETS": AutoETS(season_length=period), "AutoARIMA": AutoARIMA(season_length=period)}


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def seed_everything(seed):
    """Seed Python, NumPy and torch (the estimators also get ``random_state``)."""
    import torch

    seed = 0 if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _recurrent_step(model):
    """The fitted sklearn-rnn step of ``model`` (a network with ``n_iter_``), or None."""
    steps = [step for _, step in model.steps] if hasattr(model, "steps") else [model]
    for step in steps:
        if type(step).__module__.startswith("sklearn_rnn") and hasattr(step, "n_iter_"):
            return step
    return None


def measure(model, fit, score, seed):
    """Fit and score one model; return the measured fields of a result record.

    Parameters
    ----------
    model : estimator
    fit : callable ``fit(model)`` that fits it
    score : callable ``score(model) -> float`` on the held-out data
    seed : int or None

    Returns
    -------
    dict with ``value`` (None on error), ``fit_s``, ``epochs``, ``converged``
    (False when a ConvergenceWarning was raised), ``warnings`` (distinct
    messages) and ``error`` (None, or the exception's text).
    """
    from sklearn.exceptions import ConvergenceWarning

    seed_everything(seed)
    result = {"value": None, "fit_s": None, "error": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start = time.perf_counter()
            fit(model)
            result["fit_s"] = time.perf_counter() - start
            result["value"] = float(score(model))
        except Exception as exc:  # noqa: BLE001 - recorded and reported, never hidden
            result["error"] = f"{type(exc).__name__}: {exc}"
    # The fit a best-of-restarts model kept.
    kept = getattr(model, "best_", model)
    step = _recurrent_step(kept) if result["error"] is None else None
    result["epochs"] = int(step.n_iter_) if step is not None else None
    result["converged"] = (
        not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        if step is not None
        else None
    )
    result["warnings"] = sorted({f"{w.category.__name__}: {w.message}"[:300] for w in caught})
    return result


def mae(prediction, truth):
    return float(np.mean(np.abs(np.asarray(prediction, dtype=float).ravel() - truth)))


def evaluate(task, case, name, kind, seed, model, fit, score, metric="MAE"):
    """Measure one fit (see ``measure``) and return its record; progress to stderr.

    ``kind`` is "model" (a recurrent model, one record per seed), "baseline" or
    "reference" (fitted once, ``seed`` None).
    """
    record = {
        "task": task,
        "case": case,
        "model": name,
        "kind": kind,
        "seed": seed,
        "metric": metric,
        **measure(model, fit, score, seed),
    }
    shown = f"{record['value']:.4g}" if record["error"] is None else record["error"][:120]
    took = "" if record["fit_s"] is None else f" ({record['fit_s']:.1f} s)"
    print(
        f"[{task}] {case} | {name}{'' if seed is None else f' | seed {seed}'}: "
        f"{metric} {shown}{took}",
        file=sys.stderr,
        flush=True,
    )
    return record


class _SeedAverage:
    """The mean forecast of ``n`` fits of ``model``, with random states
    ``seed * n`` to ``seed * n + n - 1`` (``--average``): seeds 0, 1, 2 of an
    average of five are fits 0-4, 5-9 and 10-14."""

    def __init__(self, model, seed, n):
        from sklearn.base import clone

        names = [k for k in model.get_params() if k == "random_state" or k.endswith("__random_state")]
        self.models = [
            clone(model).set_params(**{k: seed * n + j for k in names}) for j in range(n)
        ]

    def fit(self, *args):
        for model in self.models:
            model.fit(*args)
        return self

    def predict(self, X):
        return np.mean([model.predict(X) for model in self.models], axis=0)


def averaged(models, seed, n):
    """``models`` ({name: model}), each replaced by the mean of ``n`` fits when ``n`` > 1."""
    if n == 1:
        return models
    return {f"{name}, mean of {n} fits": _SeedAverage(model, seed, n) for name, model in models.items()}


def restored_validation_loss(model):
    """The validation loss of the weights early stopping kept in ``model`` (the
    untrained network's among the candidates), as the schedule recorded it: before
    the linear part's refit on every sample, so not exactly the final model's."""
    step = _recurrent_step(model)
    if step is None or step.validation_loss_curve_ is None or step.n_networks_ != 1:
        raise ValueError(
            "--restarts compares one-network fits with early stopping: one step ahead "
            "the regressors fit four networks, so select --models 'direct head' (or "
            "--set n_networks=1)"
        )
    return dict(step.net_.callbacks_)["plateau_schedule"].best_loss_


class _BestOfRestarts:
    """The one of ``n`` fits of ``model`` with the lowest
    ``restored_validation_loss`` (``--restarts``, scikit-learn's ``n_init``
    habit), with the random states of ``_SeedAverage``."""

    def __init__(self, model, seed, n):
        self.models = _SeedAverage(model, seed, n).models

    def fit(self, *args):
        losses = []
        for model in self.models:
            model.fit(*args)
            losses.append(restored_validation_loss(model))
        self.best_ = self.models[int(np.argmin(losses))]
        return self

    def predict(self, X):
        return self.best_.predict(X)


def repeated(models, seed, average=1, restarts=1):
    """``models`` ({name: model}), each replaced by the mean of ``average`` fits or
    by the best of ``restarts`` fits when either is above 1."""
    if restarts > 1:
        return {
            f"{name}, best of {restarts} fits": _BestOfRestarts(model, seed, restarts)
            for name, model in models.items()
        }
    return averaged(models, seed, average)


class _Fixed:
    """A forecaster whose forecast is given: the naive and seasonal naive baselines."""

    def __init__(self, forecast):
        self.forecast = forecast

    def fit(self, *args):
        return self

    def predict(self, *args):
        return self.forecast


# --------------------------------------------------------------------------------------
# Forecasting
# --------------------------------------------------------------------------------------


def run_one_step(case, series, seeds, keep_model, overrides, average=1, restarts=1):
    """One-step-ahead forecasts of the held-out values; a record per fit."""
    rows, targets = series[:-1].reshape(-1, 1), series[1:]
    n_train = len(rows) - case.n_test
    truth = targets[n_train:]  # the last n_test values of the series

    def fit(model):
        model.fit(rows[:n_train], targets[:n_train])

    def score(model):
        return mae(model.predict(rows[n_train:]), truth)

    baselines = {"naive": _Fixed(rows[n_train:, 0]), "RidgeCV": one_step_ridge(case.window)}
    if case.season:
        start = len(series) - case.n_test - case.season
        baselines["seasonal naive"] = _Fixed(series[start : start + case.n_test])
    records = [
        evaluate(TASK_ONE_STEP, case.name, name, "baseline", None, model, fit, score)
        for name, model in baselines.items()
    ]

    # statsforecast: fitted on the training values, then applied to the true history
    # up to each origin with ``forward`` (the fitted model's parameters, no refit).
    n_fit = len(series) - case.n_test

    def fit_stats(model):
        model.fit(series[:n_fit])

    def score_stats(model):
        forecasts = [
            model.forward(y=series[:t], h=1)["mean"][0] for t in range(n_fit, len(series))
        ]
        return mae(forecasts, truth)

    records += [
        evaluate(TASK_ONE_STEP, case.name, name, "reference", None, model, fit_stats, score_stats)
        for name, model in statsforecast_models(case.season).items()
    ]
    for seed in seeds:
        models = {k: m for k, m in one_step_models(case.window, seed, overrides).items() if keep_model(k)}
        for name, model in repeated(models, seed, average, restarts).items():
            records.append(evaluate(TASK_ONE_STEP, case.name, name, "model", seed, model, fit, score))
    return records


def run_h_step(case, series, seeds, keep_model, overrides, average=1, restarts=1):
    """Forecasts of the whole held-out tail from the end of the training part."""
    from sklearn_rnn import make_windows

    h = case.n_test
    train, truth = series[:-h], series[-h:]
    X, y = make_windows(train, case.window, horizon=h)  # y: (n_windows, h)
    last = train[-case.window :].reshape(1, case.window, 1)

    def fit(model):
        model.fit(X, y)

    def score(model):
        return mae(model.predict(last), truth)

    baselines = {"naive": _Fixed(np.repeat(train[-1], h)), "RidgeCV": h_step_ridge()}
    if case.season:
        one_season_back = len(train) - case.season + np.arange(h) % case.season
        baselines["seasonal naive"] = _Fixed(train[one_season_back])
    records = [
        evaluate(TASK_H_STEP, case.name, name, "baseline", None, model, fit, score)
        for name, model in baselines.items()
    ]

    def fit_stats(model):
        model.fit(train)

    def score_stats(model):
        return mae(model.predict(h=h)["mean"], truth)

    records += [
        evaluate(TASK_H_STEP, case.name, name, "reference", None, model, fit_stats, score_stats)
        for name, model in statsforecast_models(case.season).items()
    ]
    for seed in seeds:
        models = {k: m for k, m in h_step_models(seed, overrides).items() if keep_model(k)}
        for name, model in repeated(models, seed, average, restarts).items():
            records.append(evaluate(TASK_H_STEP, case.name, name, "model", seed, model, fit, score))
    return records


def run_rolling(case, series, seeds, keep_model, overrides, average=1, restarts=1):
    """h/2-step forecasts from every origin whose horizon lies in the held-out tail."""
    from sklearn_rnn import make_windows

    h = case.n_test // 2
    X, y = make_windows(series, case.window, horizon=h)  # y: (n_windows, h)
    first_target = np.arange(len(X)) + case.window
    start = len(series) - case.n_test
    train = first_target + h <= start  # the whole horizon before the tail
    test = first_target >= start  # the whole horizon in the tail
    truth = np.asarray(y[test]).ravel()

    def fit(model):
        model.fit(X[train], y[train])

    def score(model):
        return mae(model.predict(X[test]), truth)

    origins = first_target[test]
    baselines = {
        "naive": _Fixed(np.repeat(series[origins - 1][:, np.newaxis], h, axis=1)),
        "RidgeCV": h_step_ridge(),
    }
    if case.season:
        back = origins[:, np.newaxis] - case.season + np.arange(h) % case.season
        baselines["seasonal naive"] = _Fixed(series[back])
    records = [
        evaluate(TASK_ROLLING, case.name, name, "baseline", None, model, fit, score)
        for name, model in baselines.items()
    ]
    for seed in seeds:
        models = {k: m for k, m in h_step_models(seed, overrides).items() if keep_model(k)}
        for name, model in repeated(models, seed, average, restarts).items():
            records.append(evaluate(TASK_ROLLING, case.name, name, "model", seed, model, fit, score))
    return records


def run_forecast_case(case, seeds, keep_model, overrides, average=1, rolling=False, restarts=1):
    """The forecasting tasks on one series; returns (case info, records)."""
    series = SERIES_LOADERS[case.name]()
    info = {
        "id": f"forecast:{case.name}",
        "source": case.source,
        "length": len(series),
        "n_test": case.n_test,
        "window": case.window,
        "season": case.season,
    }
    records = run_one_step(case, series, seeds, keep_model, overrides, average, restarts)
    records += run_h_step(case, series, seeds, keep_model, overrides, average, restarts)
    if rolling:
        records += run_rolling(case, series, seeds, keep_model, overrides, average, restarts)
    return info, records


# --------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------


def chance_level(y_test):
    """Accuracy at or below which a seed counts as at chance level."""
    _, counts = np.unique(y_test, return_counts=True)
    return max(1.0 / len(counts) + 0.05, counts.max() / counts.sum())


def run_classification_case(case, seeds, keep_model, overrides):
    """Test accuracy of every classifier and baseline; returns (case info, records)."""
    X_train, y_train = load_classification(case, "train")
    X_test, y_test = load_classification(case, "test")
    chance = chance_level(y_test)
    lengths = [len(x) for x in X_train]
    info = {
        "id": f"classify:{case.name}",
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_timesteps": f"{min(lengths)}-{max(lengths)}" if case.ragged else lengths[0],
        "n_channels": X_train[0].shape[-1],
        "n_classes": len(np.unique(y_train)),
        "chance_level": chance,
        "baseline_input": f"resampled to {max(lengths)} steps" if case.ragged else "flattened",
    }
    flat_train = flatten_windows(to_fixed_length(X_train, max(lengths)))
    flat_test = flatten_windows(to_fixed_length(X_test, max(lengths)))

    def at_chance(record):
        record["at_chance"] = record["value"] is not None and record["value"] <= chance
        return record

    records = [
        at_chance(
            evaluate(
                TASK_CLASSIFY,
                case.name,
                name,
                "baseline",
                None,
                model,
                lambda m: m.fit(flat_train, y_train),
                lambda m: m.score(flat_test, y_test),
                metric="accuracy",
            )
        )
        for name, model in classification_baselines().items()
    ]
    published = REFERENCE_ACCURACY.get(case.name, (None, None))
    for name, accuracy in zip(("LSTM-FCN (published)", "FCN (published)"), published):
        records.append(
            {
                "task": TASK_CLASSIFY,
                "case": case.name,
                "model": name,
                "kind": "reference",
                "seed": None,
                "metric": "accuracy",
                "value": accuracy,
                "fit_s": None,
                "epochs": None,
                "converged": None,
                "warnings": [],
                "error": None,
                "at_chance": False,
            }
        )
    for seed in seeds:
        for name, model in classifiers(seed, overrides).items():
            if keep_model(name):
                records.append(
                    at_chance(
                        evaluate(
                            TASK_CLASSIFY,
                            case.name,
                            name,
                            "model",
                            seed,
                            model,
                            lambda m: m.fit(X_train, y_train),
                            lambda m: m.score(X_test, y_test),
                            metric="accuracy",
                        )
                    )
                )
    return info, records


# --------------------------------------------------------------------------------------
# Summaries and Markdown tables
# --------------------------------------------------------------------------------------


def _fmt(value, digits=3):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _fmt_mae(value):
    if value is None or np.isnan(value):
        return "n/a"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def group(records):
    """Records grouped by (task, case, model, threads), in first-seen order."""
    groups = {}
    for r in records:
        groups.setdefault((r["task"], r["case"], r["model"], r["threads"]), []).append(r)
    return groups


def summarise(rows):
    """Statistics of one group of records (the seeds of one model on one case)."""
    ok = [r for r in rows if r["error"] is None and r["value"] is not None]
    values = np.array([r["value"] for r in ok], dtype=float)
    fit_s = [r["fit_s"] for r in ok if r["fit_s"] is not None]
    epochs = [r["epochs"] for r in ok if r["epochs"] is not None]
    return {
        "kind": rows[0]["kind"],
        "values": values,
        "seeds": [r["seed"] for r in ok],
        "n": len(rows),
        "errors": [r["error"] for r in rows if r["error"] is not None],
        "mean": values.mean() if len(values) else float("nan"),
        "min": values.min() if len(values) else float("nan"),
        "max": values.max() if len(values) else float("nan"),
        "fit_s": float(np.mean(fit_s)) if fit_s else None,
        "epochs": (min(epochs), max(epochs)) if epochs else None,
        "unconverged": sum(r["converged"] is False for r in ok),
        "at_chance": [r["seed"] for r in ok if r.get("at_chance")],
    }


def _epochs(stats):
    if stats["epochs"] is None:
        return ""
    low, high = stats["epochs"]
    return f"{low}" if low == high else f"{low}-{high}"


def _label(model, threads, all_threads):
    return model if len(all_threads) == 1 else f"{model} ({threads} thr.)"


def _notes(stats):
    notes = []
    if stats["unconverged"]:
        notes.append(f"{stats['unconverged']}/{stats['n']} hit max_epochs")
    if stats["errors"]:
        notes.append(f"{len(stats['errors'])} error(s): {stats['errors'][0][:80]}")
    return notes


def _forecast_row(case, name, stats, ridge, naive):
    """One Markdown row: a model's seeds against RidgeCV and naive, or a baseline."""
    is_model = stats["kind"] == "model"
    notes = _notes(stats)
    if is_model and naive is not None and stats["mean"] > naive:
        notes.insert(0, "**worse than naive**")
    ratio_mean = stats["mean"] / ridge if ridge else float("nan")
    spread = ratio_worst = beats = ""
    if is_model:
        spread = f"| {_fmt_mae(stats['min'])} | {_fmt_mae(stats['max'])} "
        ratio_worst = _fmt(stats["max"] / ridge, 2) if ridge else "n/a"
        beats = f"{int(np.sum(stats['values'] < ridge))}/{len(stats['values'])}" if ridge else ""
    else:
        spread = "| | "
    return (
        f"| {case} | {name} | {_fmt_mae(stats['mean'])} {spread}| {_fmt(ratio_mean, 2)} "
        f"| {ratio_worst} | {beats} | {_fmt(stats['fit_s'], 2)} | {_epochs(stats)} "
        f"| {'; '.join(notes)} |"
    )


def forecast_table(records, task):
    """Markdown table of one forecasting task, rows grouped by series."""
    groups = {key: summarise(rows) for key, rows in group(records).items() if key[0] == task}
    all_threads = sorted({key[3] for key in groups})
    lines = [
        f"### {task} (MAE on the held-out values; lower is better)",
        "",
        (
            "| series | model | MAE mean | min | max | / RidgeCV mean | / RidgeCV worst "
            "| beats RidgeCV (seeds) | fit s | epochs | notes |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in dict.fromkeys(key[1] for key in groups):
        mine = {key: stats for key, stats in groups.items() if key[1] == case}
        by_name = {key[2]: stats["mean"] for key, stats in mine.items()}
        ridge, naive = by_name.get("RidgeCV"), by_name.get("naive")
        fixed = [key for key in mine if mine[key]["kind"] != "model"]
        models = [key for key in mine if mine[key]["kind"] == "model"]
        for key in fixed:
            lines.append(_forecast_row(case, key[2], mine[key], ridge, naive))
        if "seasonal naive" not in by_name:
            lines.append(f"| {case} | seasonal naive | n/a (not seasonal) | | | | | | | | |")
        for key in models:
            name = _label(key[2], key[3], all_threads)
            lines.append(_forecast_row(case, name, mine[key], ridge, naive))
    return "\n".join(lines)


def classification_table(records):
    """Markdown table of test accuracies, rows grouped by data set."""
    groups = group(r for r in records if r["task"] == TASK_CLASSIFY)
    all_threads = sorted({key[3] for key in groups if groups[key][0]["kind"] != "reference"})
    lines = [
        "### classification (test accuracy on the official split; higher is better)",
        "",
        (
            "| data set | model | accuracy mean | min | max | seeds at chance | fit s | epochs "
            "| notes |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    seen_references = set()
    for key, rows in groups.items():
        s = summarise(rows)
        if s["kind"] == "reference":
            if (key[1], key[2]) in seen_references:
                continue
            seen_references.add((key[1], key[2]))
            lines.append(f"| {key[1]} | {key[2]} | {_fmt(rows[0]['value'])} | | | | | | |")
            continue
        is_model = s["kind"] == "model"
        chance = ", ".join(str(seed) for seed in s["at_chance"]) if is_model else ""
        if not is_model and s["at_chance"]:
            chance = "yes"
        lines.append(
            f"| {key[1]} | {_label(key[2], key[3], all_threads)} | {_fmt(s['mean'])} "
            f"| {_fmt(s['min']) if is_model else ''} | {_fmt(s['max']) if is_model else ''} "
            f"| {chance} | {_fmt(s['fit_s'], 2)} | {_epochs(s)} | {'; '.join(_notes(s))} |"
        )
    return "\n".join(lines)


def cases_table(infos):
    forecasts = [i for i in infos if i["id"].startswith("forecast:")]
    classifications = [i for i in infos if i["id"].startswith("classify:")]
    lines = []
    if forecasts:
        lines += [
            "| forecast case | source | length | held out (= h) | window | season |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {i['id']} | {i['source']} | {i['length']} | {i['n_test']} | {i['window']} "
            f"| {i['season'] or 'none'} |"
            for i in forecasts
        ]
        lines.append("")
    if classifications:
        lines += [
            (
                "| classification case | train | test | steps | channels | classes "
                "| chance level | baseline input |"
            ),
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {i['id']} | {i['n_train']} | {i['n_test']} | {i['n_timesteps']} "
            f"| {i['n_channels']} | {i['n_classes']} | {i['chance_level']:.3f} "
            f"| {i['baseline_input']} |"
            for i in classifications
        ]
    return "\n".join(lines)


def report(runs):
    """Markdown for one or several runs ({"meta": ..., "cases": ..., "records": ...})."""
    # A later run's result for the same (task, case, model, seed, threads) replaces an
    # earlier one, so a case re-run can be merged over a full run.
    unique = {}
    for run in runs:
        for r in run["records"]:
            unique[(r["task"], r["case"], r["model"], r["seed"], r["threads"])] = r
    records = list(unique.values())
    infos = list({i["id"]: i for run in runs for i in run["cases"]}.values())
    lines = ["## sklearn-rnn quality at default settings", ""]
    for run in runs:
        m = run["meta"]
        lines.append(
            f"- run {m['started']}: {m['threads']} torch thread(s), seeds {m['seeds']}, "
            f"max_epochs {m['max_epochs'] or 'default'}, {m['total_s'] / 60:.1f} min; "
            f"sklearn-rnn {m['versions']['sklearn_rnn']}, torch {m['versions']['torch']}, "
            f"skorch {m['versions']['skorch']}, scikit-learn {m['versions']['sklearn']}, "
            f"statsforecast {m['versions']['statsforecast']}; {m['machine']}; "
            f"`{' '.join(m['argv'])}`"
        )
    lines += ["", cases_table(infos), ""]
    for task in (TASK_ONE_STEP, TASK_H_STEP, TASK_ROLLING):
        if any(r["task"] == task for r in records):
            lines += [forecast_table(records, task), ""]
    if any(r["task"] == TASK_CLASSIFY for r in records):
        lines += [classification_table(records), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _versions():
    import importlib.metadata as md

    def version(name):
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    import sklearn_rnn

    return {
        "sklearn_rnn": sklearn_rnn.__version__,
        "torch": version("torch"),
        "skorch": version("skorch"),
        "sklearn": version("scikit-learn"),
        "numpy": version("numpy"),
        "sktime": version("sktime"),
        "statsmodels": version("statsmodels"),
        "statsforecast": version("statsforecast"),
        "python": platform.python_version(),
    }


def _substrings(text):
    return [part.strip().lower() for part in text.split(",") if part.strip()] if text else []


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"CI-sized: seed 0, cases {', '.join(FAST_CASES)}, "
        f"--max-epochs {FAST_MAX_EPOCHS} (checks the script, not quality)",
    )
    parser.add_argument(
        "--seeds", default=None, help="comma-separated seeds (default 0,1,2,3,4; --fast: 0)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--only",
        default=None,
        help="comma-separated substrings of case ids to run "
        "(e.g. forecast, classify, airline, GunPoint)",
    )
    parser.add_argument(
        "--models",
        default=None,
        help="comma-separated substrings of model names to run, or =name for that name "
        "alone (baselines always run)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="override max_epochs of every network (default: the package's)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="set a hyperparameter of every network (a Python literal, else a string), "
        "to measure a lever: --set scale_inputs=window --set scale_targets=window",
    )
    parser.add_argument(
        "--restarts",
        type=int,
        default=1,
        metavar="N",
        help="forecasting: score, of N fits per seed (random states as --average), the "
        "one with the lowest validation loss; one-network models only (the direct "
        "heads and decoders, or --set n_networks=1)",
    )
    parser.add_argument(
        "--average",
        type=int,
        default=1,
        metavar="N",
        help="forecasting: score the mean forecast of N fits per seed (random states "
        "seed*N to seed*N+N-1) in place of one fit",
    )
    parser.add_argument(
        "--rolling",
        action="store_true",
        help="forecasting: also h/2 steps ahead from every origin in the held-out tail",
    )
    parser.add_argument("--json", default=None, help="write the raw per-seed results here")
    parser.add_argument(
        "--report",
        nargs="+",
        default=None,
        metavar="JSON",
        help="print the tables of saved runs (merged) instead of running",
    )
    return parser.parse_args(argv)


def _settings(pairs):
    """``--set`` values: {param: value}, each value a Python literal or else a string."""
    import ast

    settings = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--set takes PARAM=VALUE, got {pair!r}")
        try:
            settings[name.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            settings[name.strip()] = text
    return settings


def _seeds(args):
    if args.seeds is None:
        return [0] if args.fast else list(DEFAULT_SEEDS)
    return [int(part) for part in args.seeds.split(",") if part.strip()]


def selected_cases(args):
    """(kind, case) pairs whose id matches --only (or the fast cases)."""
    wanted = _substrings(args.only) or ([c.lower() for c in FAST_CASES] if args.fast else [])
    cases = [("forecast", c) for c in FORECAST_CASES]
    cases += [("classify", c) for c in CLASSIFICATION_CASES]
    if not wanted:
        return cases
    return [(kind, c) for kind, c in cases if any(w in f"{kind}:{c.name}".lower() for w in wanted)]


def run(args):
    """Run the selected cases; return {"meta", "cases", "records"}."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    seeds = _seeds(args)
    for option, n in (("--average", args.average), ("--restarts", args.restarts)):
        if n < 1 or (n > 1 and any(k != "forecast" for k, _ in selected_cases(args))):
            raise SystemExit(
                f"{option} N takes N >= 1 and forecasting cases only (--only forecast)"
            )
    if args.average > 1 and args.restarts > 1:
        raise SystemExit("--average and --restarts are two ways to use several fits: choose one")
    max_epochs = args.max_epochs or (FAST_MAX_EPOCHS if args.fast else None)
    overrides = {} if max_epochs is None else {"max_epochs": max_epochs}
    overrides.update(_settings(args.set))
    wanted_models = _substrings(args.models)

    def keep_model(name):
        name = name.lower()
        return not wanted_models or any(
            name == w[1:] if w.startswith("=") else w in name for w in wanted_models
        )

    started = time.perf_counter()
    meta = {
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": ["benchmarks/quality.py", *sys.argv[1:]],
        "threads": args.threads,
        "seeds": seeds,
        "max_epochs": max_epochs,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s), "
        f"cuda available: {torch.cuda.is_available()}",
        "versions": _versions(),
    }
    infos, records = [], []
    with threadpool_limits(limits=args.threads):
        for kind, case in selected_cases(args):
            if kind == "forecast":
                info, case_records = run_forecast_case(
                    case, seeds, keep_model, overrides, args.average, args.rolling, args.restarts
                )
            else:
                info, case_records = run_classification_case(case, seeds, keep_model, overrides)
            for record in case_records:
                record["threads"] = args.threads
            infos.append(info)
            records += case_records
    meta["total_s"] = time.perf_counter() - started
    return {"meta": meta, "cases": infos, "records": records}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        runs = []
        for path in args.report:
            with open(path) as f:
                runs.append(json.load(f))
        print(report(runs))
        return
    result = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, default=_json_default)
    print(report([result]))


if __name__ == "__main__":
    main()
