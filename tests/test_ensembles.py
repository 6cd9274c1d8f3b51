"""Several networks fitted and averaged (``n_networks``): a deep ensemble."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_rnn import GRURegressor, LSTMRegressor, RNNRegressor, make_windows
from sklearn_rnn._modules import ForecastEnsemble, RegressionLoss, in_loss_units, loss_inputs


pytestmark = pytest.mark.usefixtures("quiet_convergence")


def _ensemble(distribution="point", horizon=None):
    torch.manual_seed(0)
    module = ForecastEnsemble(
        3,
        input_size=3,
        n_outputs=2,
        horizon=horizon,
        attention=horizon is not None,
        skip_window=6,
        distribution=distribution,
        quantiles=(0.1, 0.5, 0.9) if distribution == "quantile" else (),
        cell="gru",
        hidden_size=5,
    )
    with torch.no_grad():  # trained-looking networks (their output layers start at zero)
        for network in module.networks:
            last = network.inner.head if horizon is None else network.inner.out
            last.weight.normal_()
            last.bias.normal_()
            network.skip.weight.normal_()
            network.spread.uniform_(0.5, 2.0)
    return module


@pytest.mark.parametrize("horizon", [None, 4])
@pytest.mark.parametrize("distribution", ["point", "quantile", "gaussian"])
def test_an_ensemble_forecasts_the_combination_of_its_networks(distribution, horizon):
    module = _ensemble(distribution, horizon).eval()
    X = torch.randn(7, 6, 3)
    with torch.no_grad():
        each = torch.stack([network(X) for network in module.networks])
        combined = module(X)
    assert not torch.allclose(each[0], each[1])
    if distribution != "gaussian":
        torch.testing.assert_close(combined, each.mean(dim=0))
    else:
        mean, std = each[..., 0], each[..., 1]
        mixture_variance = (std**2 + mean**2).mean(dim=0) - mean.mean(dim=0) ** 2
        torch.testing.assert_close(combined[..., 0], mean.mean(dim=0))
        torch.testing.assert_close(combined[..., 1], mixture_variance.sqrt())
    if distribution == "quantile":
        assert (combined.diff(dim=-1) >= 0).all()  # averaged quantiles do not cross
    torch.testing.assert_close(module.point_forecast(X), module.head.point(combined))


@pytest.mark.parametrize("distribution", ["point", "quantile", "gaussian"])
def test_training_an_ensemble_trains_each_network_on_its_own_error(distribution):
    # What partial_fit and a warm start do to a fitted ensemble.
    module = _ensemble(distribution)
    for network in module.networks[1:]:  # one loss unit for all, as fitted networks share
        network.spread.copy_(module.networks[0].spread)
    criterion = RegressionLoss(
        "squared_error" if distribution == "point" else distribution,
        quantiles=(0.1, 0.5, 0.9) if distribution == "quantile" else (),
    )
    X, y, weights = torch.randn(8, 6, 3), torch.randn(8, 2), torch.rand(8)
    module.train()
    stacked = module(X)
    assert stacked.shape[:2] == (3, 8)
    y_pred, y_true, stacked_weights, n_networks = loss_inputs(module, stacked, y, weights)
    (n_networks * criterion(y_pred, y_true, stacked_weights)).backward()
    joint = [[p.grad.clone() for p in network.parameters() if p.requires_grad] for network in module.networks]
    module.zero_grad()
    for k, network in enumerate(module.networks):
        own = in_loss_units(network, network(X), y)
        criterion(*own, weights).backward()
        actual = [p.grad for p in network.parameters() if p.requires_grad]
        for expected, got in zip(joint[k], actual):
            torch.testing.assert_close(got, expected)
        module.zero_grad()


def _series(n=160, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    return 10 + 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * rng.normal(size=n)


SMALL = dict(hidden_size=6, max_epochs=6, batch_size=16, random_state=0)


def test_each_network_is_the_fit_of_its_own_seed():
    X, y = make_windows(_series(), 12)
    y = y.ravel()
    single = LSTMRegressor(n_networks=1, **SMALL).fit(X, y)
    # Three networks one step ahead: on the levels, on both regressions, on the levels.
    ensemble = LSTMRegressor(n_networks=3, **SMALL).fit(X, y)
    assert ensemble.linear_skip_ == "alternate"
    networks = ensemble.net_.module_.networks
    # The first network is the one-network model of the same random_state.
    for name, value in single.net_.module_.state_dict().items():
        torch.testing.assert_close(networks[0].state_dict()[name], value, rtol=0, atol=0)
    first, second = (dict(n.named_parameters()) for n in networks[:2])
    assert any(not torch.equal(first[name], second[name]) for name in first)
    # The ensemble predicts the mean of its networks' forecasts, each made by a
    # one-network model holding that network.
    each = single
    forecasts = []
    for network in networks:
        each.net_.module_.load_state_dict(network.state_dict())
        forecasts.append(each.predict(X[-10:]))
    np.testing.assert_allclose(ensemble.predict(X[-10:]), np.mean(forecasts, axis=0), rtol=1e-5)
    assert ensemble.n_iter_ == single.n_iter_


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"decoder": "rnn"},
        {"decoder": "attention", "loss": "gaussian"},
        {"loss": "quantile"},
        {"linear_skip": False},
    ],
    ids=["direct", "decoder", "attention-gaussian", "quantile", "no-linear-part"],
)
@pytest.mark.cpu_numerics
def test_regressors_with_several_networks(params, tmp_path):
    horizon = 3 if "decoder" in params else None
    X, y = make_windows(_series(), 12, horizon=horizon or 1)
    if horizon is None:
        y = y.ravel()
    reg = GRURegressor(n_networks=2, **SMALL, **params).fit(X, y)
    assert len(reg.net_.module_.networks) == 2
    prediction = reg.predict(X[-10:])
    assert prediction.shape == y[-10:].shape and np.isfinite(prediction).all()
    if "loss" in params:
        low, high = np.moveaxis(reg.predict_interval(X[-10:], coverage=0.8), -1, 0)
        assert (low <= prediction + 1e-9).all() and (prediction <= high + 1e-9).all()
    if params.get("decoder") == "attention":
        np.testing.assert_allclose(reg.attention_weights(X[-4:]).sum(axis=-1), 1, rtol=1e-5)
    reg.save(tmp_path / "model")
    np.testing.assert_array_equal(type(reg).load(tmp_path / "model").predict(X[-10:]), prediction)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X[-10:]), prediction)


def test_partial_fit_and_warm_start_continue_every_network():
    X, y = make_windows(_series(), 12)
    y = y.ravel()
    reg = GRURegressor(n_networks=2, **SMALL).fit(X, y)
    before = [{k: v.clone() for k, v in n.state_dict().items()} for n in reg.net_.module_.networks]
    reg.partial_fit(X, y)
    after = [n.state_dict() for n in reg.net_.module_.networks]
    for old, new in zip(before, after):
        assert any(not torch.equal(old[k], new[k]) for k in old if "weight_ih" in k)
    warm = GRURegressor(n_networks=2, warm_start=True, **SMALL).fit(X, y)
    warm.set_params(max_epochs=2).fit(X, y)
    assert len(warm.net_.module_.networks) == 2
    with pytest.raises(ValueError, match="n_networks"):
        warm.set_params(n_networks=3).fit(X, y)
    with pytest.raises(ValueError, match="n_networks"):
        warm.set_params(n_networks=1).fit(X, y)


def test_continued_training_moves_each_network_as_it_moves_alone():
    # One batch per epoch, so the batch order plays no part: after a fit and a
    # partial_fit, the first network is the one-network model, gradient clipping,
    # loss and optimizer state included.
    X, y = make_windows(_series(), 12)
    y = y.ravel()
    params = dict(SMALL, batch_size=512, lr=0.05, clip_grad_norm=0.05, max_epochs=3)
    single = GRURegressor(n_networks=1, **params).fit(X, y)
    ensemble = GRURegressor(n_networks=2, **params).fit(X, y)
    single.partial_fit(X, y)
    ensemble.partial_fit(X, y)
    first = ensemble.net_.module_.networks[0].state_dict()
    for name, value in single.net_.module_.state_dict().items():
        torch.testing.assert_close(first[name], value, rtol=1e-5, atol=1e-6)


def test_a_checkpointed_ensemble_fits_as_without_checkpoints(tmp_path):
    X, y = make_windows(_series(), 12)
    y = y.ravel()
    plain = GRURegressor(n_networks=2, **SMALL).fit(X, y).predict(X[-5:])
    checkpointed = GRURegressor(n_networks=2, checkpoint_dir=tmp_path, checkpoint_every=2, **SMALL)
    np.testing.assert_array_equal(checkpointed.fit(X, y).predict(X[-5:]), plain)


def test_one_network_keeps_the_one_network_model():
    X, y = make_windows(_series(), 12)
    reg = LSTMRegressor(n_networks=1, **SMALL).fit(X, y.ravel())
    assert "n_networks" not in reg.net_.get_params_for("module")
    assert not any(key.startswith("networks.") for key in reg.net_.module_.state_dict())


def test_averaging_networks_narrows_the_spread_over_seeds():
    # Five seeds of one network against five seeds of an average of four, on a
    # nonlinear series the linear part cannot forecast.
    torch.set_num_threads(1)
    rng = np.random.RandomState(0)
    x = np.zeros(400)
    for t in range(2, 400):
        x[t] = 0.9 * np.tanh(2 * x[t - 1]) - 0.5 * x[t - 2] * abs(x[t - 1]) + 0.3 * rng.normal()
    X, y = make_windows(x, 8)
    y = y.ravel()
    X_train, y_train, X_test = X[:300], y[:300], X[300:]

    def spread(n_networks):
        forecasts = [
            RNNRegressor(hidden_size=8, max_epochs=15, n_networks=n_networks, random_state=seed)
            .fit(X_train, y_train)
            .predict(X_test)
            for seed in range(5)
        ]
        return np.std(forecasts, axis=0).mean()

    assert spread(4) < 0.7 * spread(1)


def test_an_interrupted_ensemble_resumes_from_its_checkpoints(tmp_path):
    from skorch.callbacks import Callback

    class InterruptSecondNetwork(Callback):
        fits = 0

        def on_train_begin(self, net, **kwargs):
            type(self).fits += 1

        def on_batch_begin(self, net, training=False, **kwargs):
            if type(self).fits == 2 and len(net.history) == 3 and training:
                raise KeyboardInterrupt  # Ctrl-C in the second network's fourth epoch

    X, y = make_windows(_series(), 12)
    y = y.ravel()
    params = dict(SMALL, n_networks=3, checkpoint_dir=tmp_path, checkpoint_every=1)
    reg = GRURegressor(callbacks=[InterruptSecondNetwork()], **params)
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, y)
    assert not hasattr(reg, "net_")
    assert len(list(tmp_path.glob("checkpoint-*.pt"))) == 2  # one per network begun
    resumed = GRURegressor(**params).fit(X, y)
    assert len(list(tmp_path.glob("checkpoint-*.pt"))) == 3
    params.pop("checkpoint_dir")
    uninterrupted = GRURegressor(**params).fit(X, y)
    np.testing.assert_array_equal(resumed.predict(X[-5:]), uninterrupted.predict(X[-5:]))


def test_partial_fit_continues_each_network_from_its_optimizer_state(monkeypatch):
    import sklearn_rnn._base as base

    fitted = []
    merge = base._merge_optimizer_states
    monkeypatch.setattr(
        base, "_merge_optimizer_states", lambda net, nets: (fitted.extend(nets), merge(net, nets))
    )
    X, y = make_windows(_series(), 12)
    y = y.ravel()
    reg = GRURegressor(n_networks=2, **SMALL).fit(X, y)
    optimizer = reg.net_.optimizer_
    networks = reg.net_.module_.networks
    parameters = [p for n in networks for p in n.parameters()]
    assert [id(p) for p in optimizer.param_groups[0]["params"]] == [id(p) for p in parameters]
    for network, alone in zip(networks, fitted):
        pairs = list(zip(network.parameters(), alone.module_.parameters()))
        assert any(alone.optimizer_.state[own] for _, own in pairs)
        for mine, own in pairs:
            for key, value in alone.optimizer_.state[own].items():
                torch.testing.assert_close(optimizer.state[mine][key], value)
    assert optimizer.param_groups[0]["lr"] == fitted[0].optimizer_.param_groups[0]["lr"]


@pytest.mark.parametrize("distribution", ["quantile", "gaussian"])
def test_an_ensembles_intervals_are_calibrated_as_combined_not_network_by_network(distribution):
    from types import SimpleNamespace

    from sklearn_rnn._callbacks import calibrate_ensemble

    module = _ensemble(distribution).eval()
    X = torch.randn(40, 6, 3)
    with torch.no_grad():
        each = torch.stack([network(X) for network in module.networks]).double().numpy()
        combined = module(X).double().numpy()
    # Outcomes the uncalibrated combination covers too narrowly on output 0, too widely on 1.
    center = combined[..., 0] if distribution == "gaussian" else combined[..., 1]
    width = combined[..., 1] if distribution == "gaussian" else combined[..., 2] - center
    noise = np.random.RandomState(0).normal(size=center.shape) * width * np.array([3.0, 0.7])
    outcome = center + noise
    nets = [
        SimpleNamespace(
            callbacks_=[
                (
                    "interval_calibration",
                    SimpleNamespace(validation_=(forecast, outcome), min_samples=10),
                )
            ]
        )
        for forecast in each
    ]
    calibrate_ensemble(module, nets)
    factors = [network.calibration.numpy() for network in module.networks]
    assert all(np.array_equal(f, factors[0]) for f in factors)  # one set for every network
    with torch.no_grad():
        calibrated = module(X).double().numpy()
    if distribution == "gaussian":
        z = (outcome - calibrated[..., 0]) / calibrated[..., 1]
        # The finite-sample rule: a mean square of (n - 2) / n over the 40 outcomes.
        np.testing.assert_allclose((z**2).mean(axis=0), 38 / 40, rtol=2e-4)
        # Each network calibrated alone would be wider than the mixture needs: the
        # mixture adds the networks' disagreement.
        alone = np.sqrt((((outcome - each[..., 0]) / each[..., 1]) ** 2).sum(axis=1) / 38)
        assert (factors[0][:, 1] < alone.mean(axis=0)).all()
    else:
        rank = int(np.ceil(41 * 0.9))  # the conformal rule's rank for 40 outcomes
        for output in range(2):
            low, high = calibrated[:, output, 0], calibrated[:, output, 2]
            slack = 1e-5 * np.abs(outcome).max()  # the module computes in float32
            assert rank <= (outcome[:, output] <= high + slack).sum() <= rank + 1
            assert rank <= (outcome[:, output] >= low - slack).sum() <= rank + 1


def test_a_mixtures_std_factor_counts_the_networks_disagreement():
    from sklearn_rnn._callbacks import _mixture_std_factor

    n = 1000
    rng = np.random.RandomState(0)
    errors = rng.normal(size=n)
    errors *= 2.0 / np.sqrt((errors**2).mean())  # root mean square error exactly 2
    # Two networks 1.2 either side of the outcome's mean forecast, each with std 0.5:
    # the mixture's variance f**2 * 0.25 + 1.44 must be 4, times n / (n - 2) (the
    # finite-sample rule of the calibration).
    means = np.stack([np.full(n, -1.2), np.full(n, 1.2)])
    forecasts = np.stack([means, np.full((2, n), 0.5)], axis=-1)
    factor = _mixture_std_factor(forecasts, errors)
    np.testing.assert_allclose(factor, np.sqrt(4 * n / (n - 2) - 1.44) / 0.5, rtol=1e-6)
    # Networks that disagree more than the errors: no factor fits (each keeps its own).
    assert _mixture_std_factor(forecasts * np.array([3.0, 1.0]), errors * 0.1) is None


@pytest.mark.parametrize("loss", ["quantile", "gaussian"])
def test_a_fitted_ensemble_shares_one_calibration(loss):
    noise = np.random.RandomState(0).normal(size=300)
    X, y = make_windows(np.sin(np.arange(300) / 5) + noise / 5, 10)
    reg = LSTMRegressor(loss=loss, n_networks=2, hidden_size=4, max_epochs=3, random_state=0)
    networks = reg.fit(X, y).net_.module_.networks
    first, second = (network.calibration for network in networks)
    torch.testing.assert_close(first, second)  # the combined forecast's factors
    assert not torch.equal(first, torch.ones_like(first))
