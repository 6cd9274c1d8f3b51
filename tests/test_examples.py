"""The examples run as scripts, and the figures they claim hold."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# One thread per script: pytest-xdist already runs a worker per core, and torch's
# threads spin-wait, so oversubscribed cores slow a script down many times over.
SCRIPT_ENV = {**os.environ, "MPLBACKEND": "Agg", "SKLEARN_RNN_FAST": "1", "OMP_NUM_THREADS": "1"}


def run_script(path, *args):
    """Run a script in a fresh interpreter; return its standard output."""
    result = subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=SCRIPT_ENV,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def load_script(path):
    """Import a script as a module, without running its ``__main__`` part."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_example(name):
    return load_script(EXAMPLES / f"{name}.py")


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs_as_a_script(script):
    run_script(EXAMPLES / script)


def test_seed_003_table_is_aligned_and_accurate_at_default_settings():
    example = load_example("seed_003_next_value")
    # The true values are the 5th values that follow each test input (the seed's own
    # table was off by two rows).
    assert example.y_test[0] == 2.38 and list(example.X_test[0, :, 0]) == [1.5, 1.71, 1.92, 2.15]
    maes = [example.fit_and_score(random_state=seed)[2] for seed in range(3)]
    assert max(maes) <= 0.05, maes


def test_seed_000_sine_forecast_beats_the_naive_forecast(tmp_path):
    example = load_example("seed_000_sine_window")
    _, forecast, mae, naive_mae = example.fit_and_score()
    assert mae < naive_mae / 5
    pytest.importorskip("matplotlib")
    png = example.plot(forecast, tmp_path / "sine.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_window_memory_benchmark_runs_in_fast_mode():
    out = run_script(ROOT / "benchmarks" / "window_memory.py", "--fast", "--threads", "1")
    assert "X is a view: True" in out
    rise = float(out.split("peak RSS rose by ")[1].split(" MiB")[0])
    assert rise < 100
    panel_rise = float(out.split("panel peak RSS rose by ")[1].split(" MiB")[0])
    assert panel_rise < 100


def test_speed_benchmark_runs_in_fast_mode():
    out = run_script(ROOT / "benchmarks" / "speed.py", "--fast", "--repeats", "1", "--threads", "1")
    for contender in ("hand-written loop", "sklearn-rnn (same work)", "skorch default"):
        assert contender in out


def test_ragged_speed_benchmark_runs_in_fast_mode():
    out = run_script(ROOT / "benchmarks" / "ragged_speed.py", "--fast", "--repeats", "1", "--threads", "1")
    assert "speed-up:" in out


def test_quality_benchmark_runs_in_fast_mode(tmp_path):
    pytest.importorskip("sktime")
    results = tmp_path / "quality.json"
    out = run_script(ROOT / "benchmarks" / "quality.py", "--fast", "--json", str(results))
    for row in (
        "| lynx | naive |",
        "| lynx | LSTMRegressor, decoder=attention |",
        "| ItalyPowerDemand | GRU embedding + LogReg |",
        "| ItalyPowerDemand | RidgeClassifierCV |",
        "| ItalyPowerDemand | LSTM-FCN (published) |",
    ):
        assert row in out
    records = json.loads(results.read_text())["records"]
    assert [r["error"] for r in records if r["error"]] == []
    assert {r["seed"] for r in records if r["kind"] == "model"} == {0}


def test_attention_example_finds_the_spike():
    example = load_example("attention_weights")
    _, accuracy, weights, on_spike = example.fit_and_read()
    assert accuracy > 0.95
    assert on_spike > 5 / weights.shape[1]  # far above uniform attention


def test_calibration_benchmark_runs_in_fast_mode():
    pytest.importorskip("sktime")
    pytest.importorskip("mapie")
    out = run_script(ROOT / "benchmarks" / "calibration.py", "--fast")
    for row in (
        "| lynx | QuantileRegressor, same lags |",
        "| lynx | LSTMRegressor(loss='quantile') |",
        "| lynx | LSTMRegressor(loss='gaussian') |",
        "| lynx | MAPIE split conformal, LSTMRegressor() |",
    ):
        assert row in out
    # The network's quantiles never cross, by construction.
    quantile_row = next(line for line in out.splitlines() if "loss='quantile'" in line and "| lynx" in line)
    assert quantile_row.split("|")[-3].strip() == "0%"


def test_forecast_intervals_example_gives_increasing_quantiles():
    example = load_example("forecast_intervals")
    dates, passengers = example.load_series()
    held_out, fan, _ = example.horizon_fan(passengers)
    assert fan.shape == (24, len(example.LEVELS)) and held_out.shape == (24,)
    assert (np.diff(fan, axis=1) >= 0).all()
    truth, mean, std = example.one_step_gaussian(passengers)
    assert mean.shape == std.shape == truth.shape and (std > 0).all()


def test_quality_benchmark_averages_fits_with_consecutive_seeds():
    quality = load_script(ROOT / "benchmarks" / "quality.py")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sklearn_rnn import GRURegressor, SlidingWindowTransformer

    rng = np.random.RandomState(0)
    rows, targets = rng.normal(size=(60, 1)), rng.normal(size=60)
    model = make_pipeline(
        StandardScaler(),
        SlidingWindowTransformer(4),
        GRURegressor(hidden_size=3, max_epochs=2, random_state=0),
    )
    average = quality.averaged({"GRU": model}, seed=1, n=2)["GRU, mean of 2 fits"]
    average.fit(rows, targets)
    alone = [model.set_params(gruregressor__random_state=s).fit(rows, targets).predict(rows) for s in (2, 3)]
    np.testing.assert_allclose(average.predict(rows), np.mean(alone, axis=0), rtol=1e-6)
    assert not np.allclose(alone[0], alone[1])


def test_quality_benchmark_restarts_keep_the_fit_with_the_lowest_validation_loss(monkeypatch):
    quality = load_script(ROOT / "benchmarks" / "quality.py")
    from sklearn_rnn import GRURegressor

    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(80, 4, 1)), rng.normal(size=80)
    model = GRURegressor(hidden_size=3, max_epochs=3, early_stopping=True, random_state=0)
    fitted = model.fit(X, y)
    # The loss early stopping kept: an epoch's, or the untrained network's if lower.
    kept = quality.restored_validation_loss(fitted)
    assert kept <= min(fitted.validation_loss_curve_)
    no_validation = GRURegressor(max_epochs=1, early_stopping=False).fit(X, y)
    with pytest.raises(ValueError, match="one-network fits with early stopping"):
        quality.restored_validation_loss(no_validation)

    # The middle one of three fits has the lowest loss, and is the one kept.
    losses = {3: 0.5, 4: 0.1, 5: 0.3}
    monkeypatch.setattr(quality, "restored_validation_loss", lambda m: losses[m.random_state])
    best = quality.repeated({"GRU": model}, seed=1, restarts=3)["GRU, best of 3 fits"]
    best.fit(X, y)
    assert [m.random_state for m in best.models] == [3, 4, 5]
    assert best.best_ is best.models[1]
    np.testing.assert_array_equal(best.predict(X), best.models[1].predict(X))


def test_quality_benchmark_rolling_origins_hold_out_whole_horizons():
    quality = load_script(ROOT / "benchmarks" / "quality.py")
    series = np.arange(60, dtype=float) ** 1.5
    case = quality.ForecastCase("toy", 12, 8, 4, "a toy series")
    records = quality.run_rolling(case, series, [0], lambda name: False, {})
    by_model = {r["model"]: r["value"] for r in records}
    h, start = 6, 48  # h/2 steps, from each of the 12 - 6 + 1 origins in the last 12 values
    origins = np.arange(start, 60 - h + 1)
    truth = np.stack([series[t : t + h] for t in origins])
    naive = np.repeat(series[origins - 1][:, None], h, axis=1)
    seasonal = np.stack([series[t - 4 + np.arange(h) % 4] for t in origins])
    assert by_model["naive"] == pytest.approx(np.mean(np.abs(naive - truth)))
    assert by_model["seasonal naive"] == pytest.approx(np.mean(np.abs(seasonal - truth)))
    assert set(by_model) == {"naive", "seasonal naive", "RidgeCV"}
    # --restarts reaches the rolling origins' models too.
    tiny = {"hidden_size": 2, "max_epochs": 2, "early_stopping": True}
    records = quality.run_rolling(
        case, series, [0], lambda name: name == "GRURegressor, direct head", tiny, restarts=2
    )
    restarted = [r for r in records if r["kind"] == "model"]
    assert [r["model"] for r in restarted] == ["GRURegressor, direct head, best of 2 fits"]
    assert restarted[0]["error"] is None and restarted[0]["epochs"] == 2
