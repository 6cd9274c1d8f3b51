"""sample_weight: through windows, batches, losses, the validation loss, class weights,
the linear part's ridge and the scaling; and through scikit-learn's metadata routing."""

import numpy as np
import pytest
import sklearn
import torch

from sklearn_rnn import (
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNSequenceTransformer,
    make_windows,
)
from sklearn_rnn._modules import PerStepCrossEntropyLoss, RegressionLoss, WeightedCrossEntropyLoss
from sklearn_rnn._ridge import StreamingRidge


def noisy_windows(rng, n=200, window=8):
    series = np.sin(np.arange(n) / 4.0) + 0.2 * rng.normal(size=n)
    return make_windows(series, window)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LSTMClassifier(hidden_size=6, max_epochs=3, random_state=0),
        lambda: RNNSequenceTransformer(hidden_size=6, max_epochs=3, random_state=0),
        lambda: GRURegressor(hidden_size=6, max_epochs=3, linear_skip=False, random_state=0),
    ],
)
def test_a_weight_of_k_is_the_loss_of_k_copies(rng, make):
    X = rng.normal(size=(12, 10, 2))
    y = rng.randint(0, 3, 12)
    if isinstance(make(), GRURegressor):
        y = y + rng.normal(size=12)
    weights = np.array([0, 1, 2, 3] * 3)
    repeated = make().fit(X.repeat(weights, axis=0), y.repeat(weights))
    weighted = make().fit(X, y, sample_weight=weights)
    # One batch each (at most 32 rows): the same full-batch gradient, to float rounding.
    method = "predict_proba" if hasattr(repeated, "predict_proba") else (
        "transform" if hasattr(repeated, "transform") else "predict"
    )
    np.testing.assert_allclose(
        getattr(weighted, method)(X), getattr(repeated, method)(X), rtol=1e-4, atol=1e-5
    )


def test_equal_weights_are_no_weights(rng):
    X, y = noisy_windows(rng)
    plain = LSTMRegressor(hidden_size=6, max_epochs=5, random_state=0).fit(X, y)
    equal = LSTMRegressor(hidden_size=6, max_epochs=5, random_state=0).fit(
        X, y, sample_weight=np.full(len(y), 2.5)
    )
    np.testing.assert_array_equal(plain.predict(X), equal.predict(X))


def test_weights_reach_the_validation_loss_and_nothing_else_there(rng):
    X, y = noisy_windows(rng)
    params = dict(
        hidden_size=6, max_epochs=4, early_stopping=True, scale_inputs=False,
        scale_targets=False, linear_skip=False, lr_schedule="constant", random_state=0,
    )
    n_valid = int(np.ceil(0.2 * len(y)))
    base = np.ones(len(y))
    base[0] = 2.0  # not all equal, so the weights are used
    other = base.copy()
    other[-n_valid:] = rng.uniform(0.1, 3.0, n_valid)  # only the held-out windows differ
    first = LSTMRegressor(**params).fit(X, y, sample_weight=base)
    second = LSTMRegressor(**params).fit(X, y, sample_weight=other)
    # The same training (each part's weights are scaled to a mean of 1 among them)...
    np.testing.assert_allclose(first.loss_curve_, second.loss_curve_, rtol=1e-6)
    # ...judged by another validation loss.
    assert not np.allclose(first.validation_loss_curve_, second.validation_loss_curve_, rtol=1e-3)


def test_the_scaling_is_weighted(rng):
    X = rng.normal(size=(40, 6, 1))
    y = rng.normal(size=40)
    weights = np.r_[np.zeros(20), np.ones(20)]
    reg = LSTMRegressor(hidden_size=4, max_epochs=1, random_state=0).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(reg.input_mean_, X[20:].mean(axis=(0, 1)))
    np.testing.assert_allclose(reg.target_mean_, [y[20:].mean()])
    np.testing.assert_allclose(reg.target_scale_, [y[20:].std()])


def test_windows_views_are_weighted_without_copies(rng):
    series = np.cumsum(rng.normal(size=300))
    X, y = make_windows(series, 12)
    weights = rng.uniform(0.0, 2.0, len(y))
    view = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y, sample_weight=weights)
    copy = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(
        np.ascontiguousarray(X), y, sample_weight=weights
    )
    np.testing.assert_allclose(view.input_mean_, copy.input_mean_, rtol=1e-10)
    np.testing.assert_allclose(view.input_scale_, copy.input_scale_, rtol=1e-10)
    np.testing.assert_allclose(view.predict(X), copy.predict(X), rtol=1e-4, atol=1e-4)


def test_the_weighted_ridge_and_its_leave_one_out_errors(rng):
    X, Y = rng.normal(size=(25, 3)), rng.normal(size=(25, 2))
    w = rng.uniform(0.2, 3.0, 25)
    alpha = 0.7
    ridge = StreamingRidge([alpha])
    ridge.add(X[:10], Y[:10], w[:10])
    ridge.add(X[10:], Y[10:], w[10:])
    ridge.solve()
    ridge.add_loo(X, Y, w)
    ridge.finish()
    reference = sklearn.linear_model.Ridge(alpha=alpha).fit(X, Y, sample_weight=w)
    np.testing.assert_allclose(ridge.coef_, reference.coef_, rtol=1e-10)
    np.testing.assert_allclose(ridge.intercept_, reference.intercept_, rtol=1e-10)
    errors = []
    for i in range(25):
        keep = np.arange(25) != i
        fit = sklearn.linear_model.Ridge(alpha=alpha).fit(X[keep], Y[keep], sample_weight=w[keep])
        errors.append(Y[i] - fit.predict(X[i : i + 1])[0])
    loo_mse = np.average(np.square(errors), axis=0, weights=w)
    np.testing.assert_allclose(ridge.loo_rmse_, np.sqrt(loo_mse), rtol=1e-8)


def test_sample_and_class_weights_multiply_in_the_loss():
    torch.manual_seed(0)
    logits, target = torch.randn(6, 3), torch.tensor([0, 1, 2, 1, 0, 2])
    class_weight, sample_weight = torch.tensor([1.0, 2.0, 0.5]), torch.rand(6)
    loss = WeightedCrossEntropyLoss(weight=class_weight)(logits, target, sample_weight)
    each = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    combined = sample_weight * class_weight[target]
    torch.testing.assert_close(loss, (combined * each).sum() / class_weight[target].sum())
    # Per step: a sequence's weight, or a step's; padded steps (-100) never count.
    steps = torch.tensor([[0, 1, -100], [2, 2, 1]])
    per_step = PerStepCrossEntropyLoss()(torch.randn(2, 3, 3), steps, torch.tensor([1.0, 3.0]))
    assert torch.isfinite(per_step)
    pred, true = torch.randn(4, 2), torch.randn(4, 2)
    # Weights (scaled to a mean of 1) count as copies: [2, 0, 0, 2] is rows 0, 0, 3, 3.
    torch.testing.assert_close(
        RegressionLoss()(pred, true, torch.tensor([2.0, 0.0, 0.0, 2.0])),
        ((pred - true) ** 2)[[0, 0, 3, 3]].mean(),
    )


def test_per_step_weights_with_return_sequences(rng, ragged_sequences):
    sequences = ragged_sequences(30, 12)
    running = [np.cumsum(s[:, 0]) for s in sequences]
    params = dict(hidden_size=6, max_epochs=2, return_sequences=True, random_state=0)
    per_step = [rng.uniform(0, 1, len(s)) for s in sequences]
    GRURegressor(**params).fit(sequences, running, sample_weight=per_step)
    with pytest.raises(ValueError, match="a weight for every step of every sequence"):
        GRURegressor(**params).fit(sequences, running, sample_weight=[w[:-1] for w in per_step])
    X = rng.normal(size=(20, 7, 1))
    labels = (X[:, :, 0] > 0).astype(int)
    LSTMClassifier(**params).fit(X, labels, sample_weight=rng.uniform(0, 1, (20, 7)))
    with pytest.raises(ValueError, match=r"must have shape \(20, 7\)"):
        LSTMClassifier(**params).fit(X, labels, sample_weight=np.ones((20, 6)))


@pytest.mark.parametrize(
    "weights, message",
    [
        (-np.ones(30), "Negative values in data passed to `sample_weight`"),
        (np.zeros(30), "at least one non-zero"),
        (np.ones(29), r"sample_weight.shape == \(29,\), expected \(30,\)"),
    ],
)
def test_bad_weights_are_named(rng, weights, message):
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    with pytest.raises(ValueError, match=message):
        LSTMRegressor(max_epochs=1).fit(X, y, sample_weight=weights)


def test_metadata_routing_carries_weights_through_pipelines_and_searches(rng):
    from sklearn.ensemble import AdaBoostRegressor
    from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = noisy_windows(rng, n=120)
    X = np.asarray(X)[:, :, 0]
    weights = np.linspace(0.2, 2.0, len(y))  # recent windows count more
    params = dict(hidden_size=4, max_epochs=2, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        seen = {}

        class Recording(LSTMRegressor):
            def fit(self, X, y, sample_weight=None):
                seen["weights"] = sample_weight
                return super().fit(X, y, sample_weight=sample_weight)

        pipe = make_pipeline(
            FunctionTransformer(),
            Recording(**params).set_fit_request(sample_weight=True).set_score_request(sample_weight=True),
        )
        pipe.fit(X, y, sample_weight=weights)
        np.testing.assert_array_equal(seen["weights"], weights)
        search = GridSearchCV(pipe, {"recording__hidden_size": [3, 4]}, cv=TimeSeriesSplit(2))
        search.fit(X, y, sample_weight=weights)
        assert search.best_params_["recording__hidden_size"] in (3, 4)
    # AdaBoost needs sample_weight in fit, and reweights the samples every round.
    boost = AdaBoostRegressor(LSTMRegressor(**params), n_estimators=2, random_state=0).fit(X, y)
    assert boost.predict(X).shape == y.shape


def test_a_batchs_weighted_loss_adds_up_like_its_rows():
    # skorch averages batch losses by batch size: a weighted loss must add up the same
    # way, so early stopping's validation loss does not depend on how rows are batched.
    torch.manual_seed(0)
    pred, true, weights = torch.randn(10, 2), torch.randn(10, 2), torch.rand(10) * 2
    loss = RegressionLoss()
    whole = loss(pred, true, weights)
    halves = (4 * loss(pred[:4], true[:4], weights[:4]) + 6 * loss(pred[4:], true[4:], weights[4:])) / 10
    torch.testing.assert_close(whole, halves)
    logits, labels = torch.randn(10, 3), torch.randint(0, 3, (10,))
    cross_entropy = WeightedCrossEntropyLoss()
    whole = cross_entropy(logits, labels, weights)
    halves = (
        4 * cross_entropy(logits[:4], labels[:4], weights[:4])
        + 6 * cross_entropy(logits[4:], labels[4:], weights[4:])
    ) / 10
    torch.testing.assert_close(whole, halves)


def test_weights_are_part_of_a_checkpoints_fingerprint(rng):
    from sklearn_rnn._checkpoint import fit_fingerprint

    reg, X, y = LSTMRegressor(), rng.normal(size=(5, 3, 1)), rng.normal(size=5)
    assert fit_fingerprint(reg, X, y) == fit_fingerprint(reg, X, y, None)
    assert fit_fingerprint(reg, X, y) != fit_fingerprint(reg, X, y, np.arange(5.0))


def test_weighted_training_through_an_accelerator(rng):
    accelerate = pytest.importorskip("accelerate")
    X, y = rng.normal(size=(30, 6, 1)), rng.normal(size=30)
    reg = LSTMRegressor(
        hidden_size=4, max_epochs=2, accelerator=accelerate.Accelerator(cpu=True), random_state=0
    )
    reg.fit(X, y, sample_weight=rng.uniform(0.5, 2.0, 30))
    assert np.isfinite(reg.predict(X)).all()


def test_per_step_weights_score_as_they_fit(rng):
    X = rng.normal(size=(20, 7, 1))
    labels = (X[:, :, 0] > 0).astype(int)
    weights = rng.uniform(0, 1, (20, 7))
    clf = LSTMClassifier(hidden_size=4, max_epochs=2, return_sequences=True, random_state=0)
    clf.fit(X, labels, sample_weight=weights)
    expected = np.average(clf.predict(X) == labels, weights=weights)
    assert clf.score(X, labels, sample_weight=weights) == pytest.approx(expected)
