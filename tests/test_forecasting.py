"""The regressors' default forecasting network: a linear part fitted by ridge
regression, and a recurrent correction that has to earn its place."""


import numpy as np
import pytest
import torch
from sklearn.linear_model import RidgeCV

from sklearn_rnn import GRURegressor, LSTMRegressor, RNNRegressor, make_windows
from sklearn_rnn._ridge import DEFAULT_ALPHAS


pytestmark = pytest.mark.usefixtures("quiet_convergence")


def trending_series(n=240, seed=0):
    """A trend, a season whose swing grows with the level, and noise: airline-like."""
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    level = 100 + 2.0 * t
    return level * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(scale=3, size=n)


@pytest.mark.cpu_numerics
def test_the_linear_part_is_ridgecv_on_the_scaled_training_windows():
    X, y = make_windows(trending_series(), 12)
    reg = LSTMRegressor(hidden_size=4, max_epochs=2, early_stopping=False, random_state=0)
    reg.fit(X, y)
    module = reg.net_.module_
    scaled_X = ((X - reg.input_mean_) / reg.input_scale_).reshape(len(X), -1)
    scaled_y = (y - reg.target_mean_) / reg.target_scale_
    ridge = RidgeCV(alphas=DEFAULT_ALPHAS, store_cv_results=True).fit(scaled_X, scaled_y)
    np.testing.assert_allclose(module.skip.weight.numpy()[0], ridge.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(module.skip.bias.numpy()[0], ridge.intercept_, atol=1e-5)
    # The loss is measured in units of the linear part's leave-one-out residual spread.
    best = list(DEFAULT_ALPHAS).index(ridge.alpha_)
    spread = np.sqrt(ridge.cv_results_[:, best].mean())
    np.testing.assert_allclose(module.spread.numpy(), [spread], rtol=1e-4)
    assert not module.skip.weight.requires_grad


@pytest.mark.parametrize("Regressor", [LSTMRegressor, GRURegressor, RNNRegressor])
def test_forecasts_follow_a_level_beyond_the_training_range(Regressor):
    series = trending_series()
    X, y = make_windows(series, 24)
    n_test = 24
    reg = Regressor(random_state=0).fit(X[:-n_test], y[:-n_test])
    mae = np.mean(np.abs(reg.predict(X[-n_test:]) - y[-n_test:]))
    naive = np.mean(np.abs(X[-n_test:, -1, 0] - y[-n_test:]))
    assert y[-n_test:].max() > y[:-n_test].max() + 20  # the test leaves the training range
    assert mae < naive / 3


def test_a_correction_that_does_not_help_is_not_kept():
    # A linear autoregression with noise: nothing for the recurrent part to add.
    rng = np.random.RandomState(0)
    series = np.zeros(400)
    for t in range(2, 400):
        series[t] = 0.6 * series[t - 1] - 0.3 * series[t - 2] + rng.normal()
    X, y = make_windows(series, 8)
    reg = LSTMRegressor(random_state=0).fit(X[:300], y[:300])
    ridge = RidgeCV(alphas=DEFAULT_ALPHAS).fit(X[:300, :, 0], y[:300])
    ours = np.mean(np.abs(reg.predict(X[300:]) - y[300:]))
    linear = np.mean(np.abs(ridge.predict(X[300:, :, 0]) - y[300:]))
    assert ours < 1.03 * linear
    assert reg.validation_loss_curve_ is not None  # early stopping was on ("auto")


@pytest.mark.parametrize(
    "n_samples, linear_skip, expected", [(30, True, True), (12, True, False), (30, False, False)]
)
def test_early_stopping_auto_needs_the_linear_part_and_enough_samples(
    n_samples, linear_skip, expected
):
    X, y = make_windows(trending_series(n_samples + 6), 6)
    reg = LSTMRegressor(hidden_size=4, max_epochs=3, linear_skip=linear_skip).fit(X, y)
    assert (reg.validation_loss_curve_ is not None) is expected


def test_exogenous_features_several_outputs_and_decoders_share_the_linear_part(rng):
    series = np.column_stack([trending_series(), rng.normal(size=240)])
    X, y = make_windows(series, 12, horizon=3, targets=0)  # y: (n, 3)
    for decoder in (None, "rnn", "attention"):
        reg = GRURegressor(hidden_size=6, max_epochs=4, decoder=decoder, random_state=0)
        reg.fit(X[:-20], y[:-20])
        module = reg.net_.module_
        assert module.skip.in_features == 12 * 2 and module.skip.out_features == 3
        assert module.window_norm == "window"  # several outputs (see window_norm="auto")
        prediction = reg.predict(X[-20:])
        assert prediction.shape == (20, 3) and np.isfinite(prediction).all()
        assert np.mean(np.abs(prediction - y[-20:])) < np.mean(np.abs(y[-20:] - y[-20:].mean()))


def test_per_step_outputs_and_ragged_sequences(ragged_sequences):
    sequences = ragged_sequences(50, 20)
    running = [np.cumsum(s[:, 0]) for s in sequences]
    reg = LSTMRegressor(hidden_size=6, max_epochs=5, return_sequences=True, random_state=0)
    reg.fit(sequences, running)
    assert reg.net_.module_.window_norm is None  # no look at later steps
    predictions = reg.predict(sequences)
    assert [len(p) for p in predictions] == [len(s) for s in sequences]
    # A per-step forecast reads nothing after its step: a changed future leaves it alone.
    changed = [s.copy() for s in sequences[:3]]
    for s in changed:
        s[-1] += 100.0
    for before, after in zip(predictions[:3], reg.predict(changed)):
        np.testing.assert_allclose(before[:-1], after[:-1], atol=1e-5)
    one_value = LSTMRegressor(hidden_size=6, max_epochs=3, random_state=0)
    one_value.fit(sequences, [r[-1] for r in running])
    assert one_value.net_.module_.skip_window == min(len(s) for s in sequences)
    assert np.isfinite(one_value.predict([s[:2] for s in sequences])).all()  # shorter ones too


def test_too_few_samples_for_a_ridge_leave_the_linear_part_at_zero(rng):
    X = rng.normal(size=(2, 5, 1))
    reg = LSTMRegressor(hidden_size=3, max_epochs=2).fit(X, [1.0, 2.0])
    assert torch.count_nonzero(reg.net_.module_.skip.weight) == 0
    assert np.isfinite(reg.predict(X)).all()


def test_a_warm_start_keeps_the_fitted_linear_part():
    X, y = make_windows(trending_series(), 12)
    reg = LSTMRegressor(hidden_size=4, max_epochs=3, warm_start=True, n_networks=1, random_state=0)
    reg.fit(X, y)
    linear = reg.net_.module_.skip.weight.detach().clone()
    reg.fit(X, y)
    assert torch.equal(reg.net_.module_.skip.weight, linear)


def test_the_plain_network_is_one_switch_away():
    from sklearn_rnn._modules import ForecastNetwork, RecurrentNetwork, Seq2SeqNetwork

    X, y = make_windows(trending_series(60), 6, horizon=2)
    plain = LSTMRegressor(hidden_size=4, max_epochs=2, linear_skip=False).fit(X, y)
    assert type(plain.net_.module_) is RecurrentNetwork
    decoder = LSTMRegressor(hidden_size=4, max_epochs=2, linear_skip=False, decoder="rnn")
    assert type(decoder.fit(X, y).net_.module_) is Seq2SeqNetwork
    normalised = LSTMRegressor(hidden_size=4, max_epochs=2, linear_skip=False, window_norm="window")
    module = normalised.fit(X, y).net_.module_
    assert type(module) is ForecastNetwork and module.skip is None
