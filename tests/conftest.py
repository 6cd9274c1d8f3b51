"""Shared test data. Every builder seeds its own generator, so a test's data never
depends on which tests ran before it, on ``-k`` selection or on xdist workers."""

import numpy as np
import pytest


def make_sine_windows(n_points=300, window=10, seed=0):
    """Windows of one noisy sine series and the value after each window.

    Returns X of shape (n_points - window, window, 1), a copy, and y of shape
    (n_points - window,).
    """
    rng = np.random.RandomState(seed)
    t = np.linspace(0, 60, n_points)
    series = np.sin(t) + 0.05 * rng.normal(size=n_points)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    y = series[window:]
    return X[:, :, np.newaxis].copy(), y


def make_sine_horizons(n_samples, n_steps, horizon, seed=0):
    """Windows of independent sines with random phase and period, and the
    ``horizon`` steps that follow each: X (n_samples, n_steps, 1), y (n_samples, horizon)."""
    rng = np.random.RandomState(seed)
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, 1))
    period = rng.uniform(8, 16, size=(n_samples, 1))
    t = np.arange(n_steps + horizon)
    series = np.sin(2 * np.pi * t / period + phase)
    return series[:, :n_steps, np.newaxis], series[:, n_steps:]


def make_two_class_sequences(n_samples=160, n_timesteps=12, seed=0):
    """Class 1 sequences rise, class 0 sequences fall, both with noise; a second
    feature is pure noise. X (n_samples, n_timesteps, 2), y (n_samples,) of 0/1."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n_samples)
    slope = np.where(y == 1, 1.0, -1.0)[:, np.newaxis]
    t = np.linspace(0, 1, n_timesteps)[np.newaxis, :]
    X = slope * t + 0.3 * rng.normal(size=(n_samples, n_timesteps))
    noise_feature = rng.normal(size=(n_samples, n_timesteps))
    return np.stack([X, noise_feature], axis=2), y


def make_ragged_sequences(n_sequences, max_length, seed=0):
    """``n_sequences`` arrays of shape (n_timesteps_i, 2), 3 <= n_timesteps_i < max_length."""
    rng = np.random.RandomState(seed)
    return [rng.normal(size=(rng.randint(3, max_length), 2)) for _ in range(n_sequences)]


@pytest.fixture(autouse=True)
def _cpu_numerics_on_the_cpu(request, monkeypatch):
    """On a machine with a GPU, ``device="auto"`` trains there, where results
    differ from the CPU's in the last digits and same-seed fits with dropout
    differ (the GPU's dropout masks are not drawn from the fit's own stream).
    Tests marked ``cpu_numerics`` assert bitwise CPU behaviour, so their models
    stay on the CPU; every other test trains on the GPU."""
    if request.node.get_closest_marker("cpu_numerics") is None:
        return
    import torch

    if not torch.cuda.is_available():
        return
    from sklearn_rnn import _net

    resolve = _net.resolve_device
    monkeypatch.setattr(
        _net, "resolve_device", lambda device: resolve("cpu" if device == "auto" else device)
    )


@pytest.fixture
def rng():
    """A generator of the test's own, seeded afresh for every test."""
    return np.random.RandomState(0)


@pytest.fixture
def sine_windows():
    return make_sine_windows


@pytest.fixture
def sine_horizons():
    return make_sine_horizons


@pytest.fixture
def two_class_sequences():
    return make_two_class_sequences


@pytest.fixture
def ragged_sequences():
    return make_ragged_sequences


@pytest.fixture
def quiet_convergence():
    """Silence ConvergenceWarning: tests that train tiny models for a few epochs
    (``pytestmark = pytest.mark.usefixtures("quiet_convergence")``)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
