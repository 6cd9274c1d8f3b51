"""The forecasting networks' linear part: a ridge regression on the window's
levels, on its changes from the targets' last values, or the average of both."""

import pickle

import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import (
    GRURegressor,
    LSTMRegressor,
    RNNRegressor,
    SlidingWindowTransformer,
    make_windows,
)
from sklearn_rnn._data import DenseSequences
from sklearn_rnn._ridge import DEFAULT_ALPHAS, ChangeBasis, LinearPart, StreamingRidge
from sklearn_rnn._scaling import continued_features


pytestmark = [pytest.mark.usefixtures("quiet_convergence"), pytest.mark.cpu_numerics]


def trend(n=160, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    return 50 + 1.5 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(scale=0.5, size=n)


def fit_parts(part, F, T):
    part.add(F, T)
    part.solve()
    part.add_loo(F, T)
    return part.finish()


def test_a_standardised_ridge_is_scikit_learns_ridge_after_a_standard_scaler(rng):
    X = rng.normal(size=(40, 4)) * [1.0, 20.0, 0.05, 3.0] + [0.0, 7.0, 1.0, -2.0]
    Y = rng.normal(size=(40, 2))
    ridge = fit_parts(StreamingRidge(DEFAULT_ALPHAS, standardize=True), X, Y)
    reference = make_pipeline(StandardScaler(), RidgeCV(alphas=DEFAULT_ALPHAS)).fit(X, Y)
    assert ridge.alpha_ == reference[-1].alpha_
    np.testing.assert_allclose(ridge.coef_ @ X.T + ridge.intercept_[:, None], reference.predict(X).T)


def test_the_change_regression_is_a_ridge_on_standardised_changes_in_the_levels_form(rng):
    n_steps, n_features, n_known = 5, 2, 3
    F = rng.normal(size=(60, n_steps * n_features + n_known))
    T = rng.normal(size=(60, 4))
    ratio, shift = rng.uniform(0.5, 2.0, 4), rng.normal(size=4)
    columns = [1, 0, 1, 0]  # two targets (features 1 and 0), two steps ahead
    basis = ChangeBasis(n_steps, n_features, n_known, columns, ratio, shift)
    part = fit_parts(LinearPart("changes", basis), F, T)
    # By hand: each feature's earlier steps less its last, and the known future.
    last = F[:, (n_steps - 1) * n_features : n_steps * n_features]
    changes = F[:, : (n_steps - 1) * n_features] - np.tile(last, n_steps - 1)
    inputs = np.hstack([changes, F[:, n_steps * n_features :]])
    anchors = last[:, columns] * ratio + shift
    reference = make_pipeline(StandardScaler(), RidgeCV(alphas=DEFAULT_ALPHAS)).fit(inputs, T - anchors)
    assert part.alphas_ == (reference[-1].alpha_,)
    expected = reference.predict(inputs) + anchors
    np.testing.assert_allclose(F @ part.coef_.T + part.intercept_, expected, rtol=1e-8, atol=1e-10)


def test_both_averages_the_levels_and_the_changes_forecasts(rng):
    F, T = rng.normal(size=(50, 6)), rng.normal(size=(50, 2))
    basis = ChangeBasis(6, 1, 0, [0, 0], [1.0, 1.0], [0.0, 0.0])
    levels = fit_parts(LinearPart("levels"), F, T)
    changes = fit_parts(LinearPart("changes", basis), F, T)
    both = fit_parts(LinearPart("both", basis), F, T)
    assert both.alphas_ == levels.alphas_ + changes.alphas_
    np.testing.assert_allclose(both.coef_, (levels.coef_ + changes.coef_) / 2)
    np.testing.assert_allclose(both.intercept_, (levels.intercept_ + changes.intercept_) / 2)
    np.testing.assert_allclose(both.loo_rmse_**2, (levels.loo_rmse_**2 + changes.loo_rmse_**2) / 2)
    # refit with the alphas chosen, on other rows, is the fixed-alpha ridge
    F2, T2 = rng.normal(size=(30, 6)), rng.normal(size=(30, 2))
    coef, intercept = both.refit([(F2[:15], T2[:15], None), (F2[15:], T2[15:], None)])
    plain = Ridge(alpha=levels.alphas_[0]).fit(F2, T2)
    assert not np.allclose(coef, plain.coef_)  # the change half differs
    levels_refit = LinearPart("levels")
    levels_refit.alphas_ = levels.alphas_
    coef, intercept = levels_refit.refit([(F2, T2, None)])
    np.testing.assert_allclose(coef, plain.coef_, rtol=1e-8)
    np.testing.assert_allclose(intercept, plain.intercept_, rtol=1e-8)


def test_continued_features_are_found_in_make_windows_and_not_in_scaled_windows(rng):
    series = np.column_stack([trend(), rng.normal(size=160)])
    X, y = make_windows(series, 10, horizon=4, targets=[1, 0])
    same_units = ((1.0, 0.0), (1.0, 0.0))
    assert continued_features(_sequences(X), y) == ((1, 0), 4, same_units)
    dense = DenseSequences(np.ascontiguousarray(X))
    assert continued_features(dense, y) == ((1, 0), 4, same_units)
    X1, y1 = make_windows(series[:, 0], 10, horizon=3)
    assert continued_features(_sequences(X1), y1) == ((0,), 3, ((1.0, 0.0),))
    # Targets close to the next values, but not a map of them, continue nothing.
    assert continued_features(_sequences(X1), y1 + 1e-3 * rng.normal(size=y1.shape)) is None
    # The same map at every step ahead: y in other units than the windows.
    columns, n_steps, ((slope, intercept),) = continued_features(_sequences(X1), y1 * 2.0 - 3.0)
    assert (columns, n_steps) == ((0,), 3)
    np.testing.assert_allclose([slope, intercept], [2.0, -3.0], rtol=1e-9)
    y_mixed = np.column_stack([y1[:, :2], y1[:, 2] * 2.0])  # a map for one step only
    assert continued_features(_sequences(X1), y_mixed) is None
    # Windows a few steps apart (make_windows' step): a copy shows what the view does.
    X3, y3 = make_windows(series[:, 0], 10, horizon=4, step=3)
    found = continued_features(_sequences(X3), y3)
    assert found == ((0,), 4, ((1.0, 0.0),))
    assert continued_features(DenseSequences(np.ascontiguousarray(X3)), y3) == found
    mean, std = X1.mean(), X1.std()
    scaled = np.ascontiguousarray((X1 - mean) / std, dtype=np.float32)  # float32, as fitted
    columns, n_steps, ((slope, intercept),) = continued_features(DenseSequences(scaled), y1)
    assert (columns, n_steps) == ((0,), 3)
    np.testing.assert_allclose([slope, intercept], [std, mean], rtol=1e-5)


def _sequences(X):
    from sklearn_rnn._data import as_sequences

    return as_sequences(X)


def test_auto_averages_levels_and_changes_for_a_direct_head_several_steps_ahead():
    X, y = make_windows(trend(), 12, horizon=6)
    small = dict(hidden_size=4, max_epochs=2, random_state=0)
    assert LSTMRegressor(**small).fit(X, y).linear_skip_ == "both"
    assert LSTMRegressor(linear_skip=True, **small).fit(X, y).linear_skip_ == "both"
    assert LSTMRegressor(linear_skip="levels", **small).fit(X, y).linear_skip_ == "levels"
    assert LSTMRegressor(linear_skip=False, **small).fit(X, y).linear_skip_ is None
    assert LSTMRegressor(decoder="rnn", **small).fit(X, y).linear_skip_ == "levels"
    assert LSTMRegressor(decoder="rnn", linear_skip="both", **small).fit(X, y).linear_skip_ == "both"
    assert LSTMRegressor(**small).fit(X, y).n_networks_ == 1


def test_auto_one_step_ahead_averages_two_networks_on_each_linear_part():
    small = dict(hidden_size=4, max_epochs=2, random_state=0)
    X, y = make_windows(trend(), 12)
    quartet = LSTMRegressor(**small).fit(X, y)
    assert (quartet.linear_skip_, quartet.n_networks_, quartet.target_features_) == (
        "alternate",
        4,
        (0,),
    )
    # The first network is the one-network fit on the levels regression.
    levels = LSTMRegressor(n_networks=1, **small).fit(X, y)
    assert (levels.linear_skip_, levels.n_networks_) == ("levels", 1)
    first, second = quartet.net_.module_.networks[:2]
    for name, value in levels.net_.module_.state_dict().items():
        np.testing.assert_array_equal(first.state_dict()[name], value)
    # The second is on the average of the levels and changes regressions.
    both = LSTMRegressor(linear_skip="both", n_networks=1, **small).fit(X, y)
    assert not np.allclose(second.skip.weight.detach(), first.skip.weight.detach())
    np.testing.assert_allclose(
        second.skip.weight.detach().sum(), both.net_.module_.skip.weight.detach().sum(), rtol=0.2
    )
    # Every cell's "auto" fits two networks on each, alternating.
    assert GRURegressor(**small).fit(X, y).n_networks_ == 4
    assert RNNRegressor(**small).fit(X, y).n_networks_ == 4
    skips = [network.skip.weight.detach().numpy() for network in quartet.net_.module_.networks]
    # The same regression, refitted after each network's own correction:
    np.testing.assert_allclose(skips[2], skips[0], rtol=0.05, atol=1e-3)
    np.testing.assert_allclose(skips[3], skips[1], rtol=0.05, atol=1e-3)
    assert not np.allclose(skips[1], skips[0], rtol=0.05, atol=1e-3)
    # Several networks alternate; several steps ahead, or shuffled, they all share one.
    assert LSTMRegressor(n_networks=3, **small).fit(X, y).linear_skip_ == "alternate"
    order = np.random.RandomState(0).permutation(len(X))
    shuffled = LSTMRegressor(**small).fit(X[order], y[order])
    assert (shuffled.linear_skip_, shuffled.n_networks_) == ("levels", 1)
    # The README's pipeline: y continues the scaled rows, in its own units.
    rows = trend()[:, None]
    pipeline = make_pipeline(StandardScaler(), SlidingWindowTransformer(12), LSTMRegressor(**small))
    pipeline.fit(rows[:-1], rows[1:, 0])
    assert pipeline[-1].linear_skip_ == "alternate" and pipeline[-1].target_features_ == (0,)


@pytest.mark.parametrize("kind", ["changes", "both"])
def test_changes_need_targets_that_continue_the_windows(kind):
    X, y = make_windows(trend(), 12, horizon=3)
    noise = 1e-3 * np.random.default_rng(0).normal(size=y.shape)
    with pytest.raises(ValueError, match="not found to continue features"):
        LSTMRegressor(linear_skip=kind, max_epochs=2).fit(X, y + noise)
    X1, y1 = make_windows(trend(), 12)
    with pytest.raises(ValueError, match="return_sequences"):
        LSTMRegressor(linear_skip=kind, return_sequences=True, max_epochs=2).fit(X1, X1[:, :, 0])


def _linear_forecast(reg, X):
    """The forecast of the linear part alone, in y's units."""
    import torch

    module = reg.net_.module_
    F = (X - reg.input_mean_) / reg.input_scale_
    with torch.no_grad():
        features = module.skip_features(torch.as_tensor(F, dtype=torch.float32))
        scaled = module.skip(features).numpy()
    return scaled * reg.target_scale_ + reg.target_mean_


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_changes_follow_a_wandering_level_that_levels_pull_back_to_the_mean(seed):
    rng = np.random.RandomState(seed)
    t = np.arange(300)
    series = 100 + np.cumsum(0.5 + rng.normal(size=300)) + 5 * np.sin(2 * np.pi * t / 12)
    X, y = make_windows(series, 12, horizon=12)
    train, test = slice(0, len(X) // 2), slice(len(X) - 40, None)  # the level has moved on
    errors = {}
    for kind in ("levels", "changes", "both"):
        reg = GRURegressor(linear_skip=kind, hidden_size=4, max_epochs=1, random_state=0)
        reg.fit(X[train], y[train])
        errors[kind] = np.mean(np.abs(_linear_forecast(reg, X[test]) - y[test]))
    assert errors["changes"] < 0.9 * errors["levels"]
    # the average of the two forecasts errs by at most their mean error
    assert errors["both"] <= (errors["levels"] + errors["changes"]) / 2 + 1e-4


def test_the_linear_part_with_a_known_future_a_panel_and_a_decoder(rng):
    import pandas as pd

    t = np.arange(120)
    frame = pd.DataFrame({"y": trend(120), "promo": rng.binomial(1, 0.3, 120).astype(float)})
    frame["y"] += 5 * frame["promo"]
    X, y = make_windows(frame, 12, horizon=4, targets="y", features=["y"], future=["promo"])
    for decoder in (None, "rnn"):
        reg = LSTMRegressor(decoder=decoder, linear_skip="both", hidden_size=4, max_epochs=3, random_state=0)
        reg.fit(X, y)
        assert reg.linear_skip_ == "both" and reg.target_features_ == (0,)
        assert reg.predict(X).shape == (len(y), 4)
    panel = pd.concat(
        {name: pd.DataFrame({"y": trend(80, seed)}, index=pd.RangeIndex(80, name="t")) for seed, name in enumerate("ab")},
        names=["series"],
    )
    Xp, yp = make_windows(panel, 12, horizon=3, targets="y")
    auto = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(Xp, yp)
    assert auto.linear_skip_ == "levels"  # windows scaled by window are relative to their end
    both = LSTMRegressor(linear_skip="both", hidden_size=4, max_epochs=2, random_state=0).fit(Xp, yp)
    assert both.linear_skip_ == "both" and np.isfinite(both.predict(Xp)).all()
    del t


def test_a_fitted_change_part_survives_pickling_saving_and_an_ensemble(tmp_path):
    X, y = make_windows(trend(), 12, horizon=5)
    reg = GRURegressor(hidden_size=4, max_epochs=3, n_networks=2, random_state=0).fit(X, y)
    assert reg.linear_skip_ == "both"
    expected = reg.predict(X[-10:])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X[-10:]), expected)
    reg.save(tmp_path / "model")
    loaded = GRURegressor.load(tmp_path / "model")
    assert loaded.linear_skip_ == "both"
    np.testing.assert_allclose(loaded.predict(X[-10:]), expected, rtol=1e-6)


def _panel(n=80):
    import pandas as pd

    return pd.concat(
        {
            name: pd.DataFrame({"y": trend(n, seed) + 100 * seed}, index=pd.RangeIndex(n, name="t"))
            for seed, name in enumerate("ab")
        },
        names=["series"],
    )


@pytest.mark.parametrize("scaling", [True, False, "series", "window"])
def test_the_changes_start_from_each_targets_last_value_in_its_scaled_units(scaling, monkeypatch):
    from sklearn_rnn import _ridge
    from sklearn_rnn._data import validate_predict_data

    seen = []
    rows = _ridge.ChangeBasis.rows

    def spy(self, F, T):
        inputs, changes = rows(self, F, T)
        seen.append(T - changes)  # the anchor the change regression subtracted
        return inputs, changes

    monkeypatch.setattr(_ridge.ChangeBasis, "rows", spy)
    X, y = make_windows(_panel(), 12, horizon=3, targets="y")
    y = np.asarray(y)
    reg = LSTMRegressor(
        linear_skip="changes", scale_inputs=scaling, scale_targets=scaling,
        early_stopping=False, hidden_size=4, max_epochs=1, random_state=0,
    ).fit(X, y)
    used = np.concatenate(seen[: len(seen) // 2])  # the first pass over the batches
    by_series = reg._window_target_scaling(validate_predict_data(reg, X), 3)
    offset, scale = (0.0, 1.0) if by_series is None else by_series
    last = np.asarray(X)[:, -1, :1]
    expected = ((last - offset) / scale - reg.target_mean_) / reg.target_scale_
    np.testing.assert_allclose(used, expected, atol=1e-5)


def test_targets_in_other_units_continue_through_their_map_and_others_keep_the_levels(rng):
    import pandas as pd

    frame = pd.DataFrame({"y": trend(120), "promo": rng.binomial(1, 0.3, 120).astype(float)})
    X, y = make_windows(frame, 12, horizon=4, targets="y", features=["y"], future=["promo"])
    small = dict(hidden_size=4, max_epochs=2, random_state=0)
    assert LSTMRegressor(**small).fit(X, y).linear_skip_ == "both"
    assert LSTMRegressor(**small).fit(X, np.asarray(y) / 1000).linear_skip_ == "both"
    with pytest.raises(ValueError, match="other units than the features they continue"):
        by_window = dict(scale_inputs="window", scale_targets="window", linear_skip="changes")
        LSTMRegressor(**by_window, **small).fit(X, np.asarray(y) / 1000)
    # In thousands: the same change regression, its forecasts in thousands.
    X1, y1 = make_windows(trend(), 12, horizon=4)
    fixed = dict(small, linear_skip="changes", early_stopping=False)
    units = LSTMRegressor(**fixed).fit(X1, y1)
    thousands = LSTMRegressor(**fixed).fit(X1, y1 / 1000)
    assert thousands.linear_skip_ == "changes" and thousands.target_features_ == (0,)
    np.testing.assert_allclose(
        _linear_forecast(thousands, X1) * 1000, _linear_forecast(units, X1), rtol=1e-4
    )
    with pytest.raises(ValueError, match="not found to continue"):
        LSTMRegressor(linear_skip="changes", **small).fit(X, np.log(np.asarray(y)))


def test_the_change_regression_works_behind_a_standard_scaler():
    # The README's pipeline: y stays in its units while the rows are standardised.
    rows = trend()[:, None]
    h = 3
    targets = np.lib.stride_tricks.sliding_window_view(rows[1:, 0], h)
    inputs = rows[: len(targets)]
    fixed = dict(
        linear_skip="changes", early_stopping=False, hidden_size=4, max_epochs=1, random_state=0
    )
    scaled = make_pipeline(StandardScaler(), SlidingWindowTransformer(12), LSTMRegressor(**fixed))
    raw = make_pipeline(SlidingWindowTransformer(12), LSTMRegressor(**fixed))
    scaled.fit(inputs, targets)
    raw.fit(inputs, targets)
    assert scaled[-1].linear_skip_ == "changes" and scaled[-1].target_features_ == (0,)
    np.testing.assert_allclose(
        _linear_forecast(scaled[-1], np.asarray(scaled[:-1].transform(inputs))),
        _linear_forecast(raw[-1], np.asarray(raw[:-1].transform(inputs))),
        rtol=1e-4,
    )


def test_a_numpy_bool_is_a_bool_and_a_warm_start_keeps_the_linear_part():
    X, y = make_windows(trend(), 12, horizon=4)
    assert LSTMRegressor(linear_skip=np.True_, hidden_size=4, max_epochs=2).fit(X, y).linear_skip_ == "both"
    reg = LSTMRegressor(linear_skip="levels", hidden_size=4, max_epochs=2, warm_start=True).fit(X, y)
    skip = reg.net_.module_.skip.weight.detach().clone()
    reg.set_params(linear_skip="changes").fit(X, y)
    assert reg.linear_skip_ == "levels"  # the fitted linear part, kept by the warm start
    np.testing.assert_array_equal(reg.net_.module_.skip.weight.detach(), skip)


def test_folds_with_gaps_still_show_the_continuation_and_shuffled_windows_do_not():
    from sklearn.model_selection import KFold

    X, y = make_windows(trend(), 12, horizon=4)
    small = dict(hidden_size=4, max_epochs=1, random_state=0)
    for train, _ in KFold(4).split(X):
        assert LSTMRegressor(**small).fit(X[train], y[train]).linear_skip_ == "both"
    order = np.random.RandomState(0).permutation(len(X))
    assert LSTMRegressor(**small).fit(X[order], y[order]).linear_skip_ == "levels"


def test_a_level_far_above_its_spread_is_no_affine_map_of_unrelated_features(rng):
    series = rng.normal(size=(207, 2)).astype(np.float32)
    X = np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(series, 8, axis=0)[:-1])
    X = np.ascontiguousarray(X.transpose(0, 2, 1))
    y = 1e6 + rng.uniform(size=len(X))
    assert continued_features(DenseSequences(X), y[:, None]) is None
    # float32 targets at that level still continue a feature through their map
    level = (1e6 + 100 * series[8:, 0]).astype(np.float32)
    found = continued_features(DenseSequences(X), level[:, None].astype(np.float64))
    assert found is not None and found[0] == (0,)


def test_the_pair_is_a_levels_network_and_a_both_network_and_one_stays_one():
    X, y = make_windows(trend(), 12)
    fixed = dict(hidden_size=4, max_epochs=2, early_stopping=False, random_state=0)
    # Without early stopping "auto" fits one network; two asked for alternate.
    assert LSTMRegressor(**fixed).fit(X, y).n_networks_ == 1
    assert LSTMRegressor(max_epochs=2).fit(X[:15], y[:15]).n_networks_ == 1  # too few to hold out
    pair = LSTMRegressor(n_networks=2, **fixed).fit(X, y)
    assert pair.linear_skip_ == "alternate"
    for network, kind in zip(pair.net_.module_.networks, ["levels", "both"]):
        alone = LSTMRegressor(n_networks=1, linear_skip=kind, **fixed).fit(X, y)
        # No early stopping, no refit: each linear part is its ridge, exactly.
        np.testing.assert_array_equal(network.skip.weight.detach(), alone.net_.module_.skip.weight.detach())


def test_a_fitted_ensemble_predicts_and_loads_after_set_params(tmp_path):
    X, y = make_windows(trend(), 12)
    reg = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    expected = reg.predict(X)
    reg.set_params(n_networks=1)
    np.testing.assert_array_equal(reg.predict(X), expected)
    reg.save(tmp_path / "pair")
    np.testing.assert_array_equal(LSTMRegressor.load(tmp_path / "pair").predict(X), expected)
    with pytest.raises(ValueError, match="n_networks"):
        reg.set_params(warm_start=True).fit(X, y)
