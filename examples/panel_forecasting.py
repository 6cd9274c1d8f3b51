"""Many series, one network: a global LSTM on 22 US employment series.

The monthly US employment counts by sector, 2006-2015, that ``vega_datasets``
ships offline (22 series in thousands of jobs, from 550 in utilities to 143,000
for all non-farm jobs; seasonally adjusted). The panel is a long DataFrame
indexed by (series, month), as sktime and neuralforecast lay it out:

1. ``make_windows(panel, 24, horizon=12)`` cuts every series into windows of 24
   months and the 12 months that follow; no window crosses from one series into
   the next, and the windows are gathered from the rows batch by batch.
2. One ``LSTMRegressor()`` at its defaults learns from all of them at once. On a
   panel it scales every window by its own last value and spread
   (``scale_inputs`` and ``scale_targets`` are "auto"), so series a thousand
   times apart train one network, and its forecasts come back in each series'
   own units. A full run also shows the other scalings: by each series'
   statistics ("series") and one for all series (True).
3. The models are trained on 2006-2013 and forecast every 12-month stretch
   of 2014-2015 (13 forecast origins per series). Against them: a RidgeCV per
   series on the same 24 lags (22 models), one RidgeCV for all series on
   windows scaled as the LSTM scales them (its linear part alone), the
   seasonal naive forecast (the same month a year earlier) and the naive one
   (the last month).
4. Series never seen in training: the global LSTM trained without five of
   the sectors forecasts them from their windows alone.

Errors are the mean absolute scaled error (MASE: the absolute error divided
by the series' mean absolute month-to-month change in training) and the mean
absolute percentage error, averaged over series. The script prints them for
each LSTM seed and saves a chart of six sectors' forecasts from the last origin.

Run: ``python examples/panel_forecasting.py`` (``SKLEARN_RNN_FAST=1`` trains one
seed for a few epochs, as CI does). The figures in the README come from a full
run with one torch thread.
"""

# %%
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import LSTMRegressor, make_windows

FAST = os.environ.get("SKLEARN_RNN_FAST") == "1"
WINDOW, HORIZON = 24, 12
TEST_MONTHS = 24  # 2014-2015
SEEDS = (0,) if FAST else (0, 1, 2, 3, 4)
SETTINGS = {"max_epochs": 5} if FAST else {}
UNSEEN = ("construction", "information", "utilities", "wholesale_trade", "financial_activities")
SHOWN = ("nonfarm", "construction", "manufacturing", "retail_trade", "information", "utilities")
OUTPUT = Path(__file__).parent / "output" / "panel_forecasting.png"


def load_panel():
    """The 22 employment series as a long frame indexed by (sector, month)."""
    from vega_datasets import data

    wide = data.us_employment().drop(columns="nonfarm_change")
    wide["month"] = pd.to_datetime(wide["month"])
    long = wide.melt(id_vars="month", var_name="sector", value_name="jobs")
    return long.set_index(["sector", "month"]).sort_index()


def split(panel):
    """Training rows (2006-2013), and the rows the test windows read (2012-2015)."""
    by_sector = panel.groupby(level="sector", group_keys=False)
    train = by_sector.apply(lambda rows: rows.iloc[:-TEST_MONTHS])
    test = by_sector.apply(lambda rows: rows.iloc[-(TEST_MONTHS + WINDOW) :])
    return train, test


def scaled_errors(panel, train, forecasts, y_test):
    """MASE and MAPE per sector: forecasts and y_test are DataFrames (sector, month) x steps."""
    scale = train["jobs"].groupby(level="sector").apply(lambda s: np.mean(np.abs(np.diff(s))))
    errors = (forecasts - y_test).abs()
    sectors = errors.index.get_level_values("sector")
    mase = errors.groupby(sectors).mean().mean(axis=1) / scale
    mape = (errors / y_test).groupby(sectors).mean().mean(axis=1) * 100
    return mase, mape


def as_frame(values, y_test):
    return pd.DataFrame(np.asarray(values), index=y_test.index, columns=y_test.columns)


# %% The baselines: RidgeCV per series on the same lags, seasonal naive, naive.
def baselines(train, test):
    X_test, y_test = make_windows(test, WINDOW, horizon=HORIZON)
    ridge, seasonal, naive = (np.zeros(y_test.shape) for _ in range(3))
    windows = np.asarray(X_test)[:, :, 0]  # 286 windows of 24 months: small
    for sector in train.index.unique(level="sector"):
        X, y = make_windows(train.loc[sector], WINDOW, horizon=HORIZON)
        mine = np.asarray(X_test.series == sector)
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
        ridge[mine] = model.fit(X[:, :, 0], y).predict(windows[mine])
    seasonal[:] = windows[:, WINDOW - 12 : WINDOW - 12 + HORIZON]
    naive[:] = windows[:, -1:]
    # One RidgeCV for all series, on windows scaled as the LSTM scales them (less
    # their last value, over their spread): the linear part of the LSTM alone.
    X, y = make_windows(train, WINDOW, horizon=HORIZON)
    train_windows = np.asarray(X)[:, :, 0]

    def scaled(windows):
        return windows[:, -1:], windows.std(axis=1, keepdims=True) + 1e-12

    last, spread = scaled(train_windows)
    pooled = RidgeCV(alphas=np.logspace(-3, 3, 13))
    pooled.fit((train_windows - last) / spread, (y.to_numpy() - last) / spread)
    last, spread = scaled(windows)
    pooled_forecast = pooled.predict((windows - last) / spread) * spread + last
    return y_test, {
        "RidgeCV per series": as_frame(ridge, y_test),
        "RidgeCV global, windows scaled": as_frame(pooled_forecast, y_test),
        "seasonal naive": as_frame(seasonal, y_test),
        "naive": as_frame(naive, y_test),
    }


# %% One global LSTM on every series, and one that never saw five of them.
def global_lstm(train, test, seed, without=(), **params):
    kept = train.drop(index=list(without), level="sector") if without else train
    X, y = make_windows(kept, WINDOW, horizon=HORIZON)  # Windows (n, 24, 1), y (n, 12)
    model = LSTMRegressor(random_state=seed, **SETTINGS, **params).fit(X, y)
    X_test, y_test = make_windows(test, WINDOW, horizon=HORIZON)
    return as_frame(model.predict(X_test), y_test), len(X)


def plot(panel, y_test, forecasts, path):
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5))
    last_origin = y_test.index.get_level_values("month").max()
    months = pd.date_range(last_origin, periods=HORIZON, freq="MS")
    for ax, sector in zip(axes.ravel(), SHOWN):
        history = panel.loc[sector, "jobs"]
        ax.plot(history.index, history.to_numpy(), color="black", lw=1, label="jobs (thousands)")
        for (name, frame), style in zip(forecasts.items(), ("-", "--", ":")):
            ax.plot(months, frame.loc[(sector, last_origin)].to_numpy(), style, lw=1.6, label=name)
        ax.axvspan(history.index[-TEST_MONTHS], history.index[-1], color="0.92")
        ax.set_title(sector.replace("_", " "))
        ax.set_xlim(pd.Timestamp("2011-01-01"), history.index[-1])
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("The last 12 months, forecast from December 2014 (shaded: test years)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    torch.set_num_threads(1)
    panel = load_panel()
    train, test = split(panel)
    n_sectors = panel.index.unique(level="sector").size
    y_test, results = baselines(train, test)
    print(
        f"{n_sectors} series of {panel.loc['nonfarm'].shape[0]} months; test: {len(y_test)} "
        f"forecasts of {HORIZON} months (13 origins per series in 2014-2015); 1 torch thread\n"
    )
    rows = []
    for name, forecast in results.items():
        mase, mape = scaled_errors(panel, train, forecast, y_test)
        rows.append((name, "-", mase.mean(), mape.mean(), mase.loc[list(UNSEEN)].mean()))
    lstm_last = None
    for seed in SEEDS:
        forecast, n_windows = global_lstm(train, test, seed)
        unseen, _ = global_lstm(train, test, seed, without=UNSEEN)
        mase, mape = scaled_errors(panel, train, forecast, y_test)
        unseen_mase, _ = scaled_errors(panel, train, unseen, y_test)
        rows.append(
            (f"LSTMRegressor() global", seed, mase.mean(), mape.mean(), mase.loc[list(UNSEEN)].mean())
        )
        rows.append(("  same, 5 series unseen", seed, np.nan, np.nan, unseen_mase.loc[list(UNSEEN)].mean()))
        lstm_last = lstm_last if lstm_last is not None else forecast
    if not FAST:
        # The other scalings, for comparison: by each series' statistics over its
        # training rows, and one scaling for all series.
        for scaling in ("series", True):
            forecast, _ = global_lstm(
                train, test, 0, scale_inputs=scaling, scale_targets=scaling
            )
            mase, mape = scaled_errors(panel, train, forecast, y_test)
            name = f"  scale_*={scaling!r}"
            rows.append((name, 0, mase.mean(), mape.mean(), mase.loc[list(UNSEEN)].mean()))
    table = pd.DataFrame(rows, columns=["model", "seed", "MASE", "MAPE %", "MASE, 5 series"])
    print(f"global LSTM trained on {n_windows} windows of all {n_sectors} series\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    lstm = table[table["model"] == "LSTMRegressor() global"]
    ridge = table[table["model"] == "RidgeCV per series"].iloc[0]
    print(
        f"\nLSTM MASE over seeds: mean {lstm['MASE'].mean():.3f}, worst {lstm['MASE'].max():.3f}; "
        f"RidgeCV per series {ridge['MASE']:.3f}"
    )
    plot(
        panel,
        y_test,
        {"global LSTM (seed 0)": lstm_last, "RidgeCV per series": results["RidgeCV per series"],
         "naive": results["naive"]},
        OUTPUT,
    )
    print(f"saved {OUTPUT.relative_to(Path(__file__).parent.parent)}")
    return table


if __name__ == "__main__":
    main()
