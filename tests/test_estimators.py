"""Behaviour of the recurrent estimators: learning, shapes, sklearn integration."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNClassifier,
    RNNRegressor,
)

REGRESSORS = [RNNRegressor, LSTMRegressor, GRURegressor]
CLASSIFIERS = [RNNClassifier, LSTMClassifier, GRUClassifier]
FAST = dict(hidden_size=16, max_epochs=30, random_state=0)


@pytest.mark.parametrize("Regressor", REGRESSORS)
def test_each_cell_learns_sine_window_regression(Regressor, sine_windows):
    X, y = sine_windows()
    X_train, X_test, y_train, y_test = X[:240], X[240:], y[:240], y[240:]
    reg = Regressor(hidden_size=16, random_state=0).fit(X_train, y_train)
    assert reg.score(X_test, y_test) > 0.9
    assert reg.n_iter_ < reg.max_epochs  # the plateau schedule ended training


@pytest.mark.parametrize("Classifier", CLASSIFIERS)
def test_each_cell_learns_two_class_sequences(Classifier, two_class_sequences):
    X, y = two_class_sequences()
    X_test, y_test = two_class_sequences(seed=1)
    clf = Classifier(hidden_size=16, random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) > 0.85  # chance is 0.5


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_and_bidirectional_networks_have_right_shapes(cell, num_layers, bidirectional):
    Regressor = {"rnn": RNNRegressor, "lstm": LSTMRegressor, "gru": GRURegressor}[cell]
    X = np.random.RandomState(0).normal(size=(20, 7, 3))
    y = np.random.RandomState(1).normal(size=(20, 2))
    reg = Regressor(
        hidden_size=8, num_layers=num_layers, bidirectional=bidirectional, max_epochs=2
    )
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    rnn = reg.net_.module_.rnn
    assert (rnn.num_layers, rnn.bidirectional, rnn.input_size) == (num_layers, bidirectional, 3)
    outputs, _ = rnn(torch.zeros(5, 7, 3, device=reg.device_))
    assert outputs.shape == (5, 7, 8 * (2 if bidirectional else 1))
    # The recurrent part (inside a ForecastNetwork with the default linear skip).
    recurrent = getattr(reg.net_.module_, "inner", reg.net_.module_)
    assert recurrent.head.in_features == 8 * (2 if bidirectional else 1)
    assert reg.predict(X).shape == (20, 2)
    # Sequences of another length are fine for a recurrent network.
    assert reg.predict(X[:, :4]).shape == (20, 2)


def test_bidirectional_last_pooling_reads_each_direction_at_its_end():
    from sklearn_rnn._modules import RecurrentNetwork

    torch.manual_seed(0)
    net = RecurrentNetwork(input_size=2, output_size=1, hidden_size=5, bidirectional=True)
    X = torch.randn(4, 6, 2)
    pooled, _ = net.encode(X)
    _, (h_n, _) = net.rnn(X)
    # h_n holds the final state of each direction: forward after step 6, backward after step 1.
    torch.testing.assert_close(pooled, torch.cat([h_n[0], h_n[1]], dim=1))


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
def test_every_pooling_trains_and_predicts(pooling, two_class_sequences):
    X, y = two_class_sequences(n_samples=60)
    clf = LSTMClassifier(pooling=pooling, hidden_size=8, max_epochs=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_clone_and_set_params(sine_windows):
    reg = LSTMRegressor(hidden_size=12, dropout=0.2, num_layers=2, n_networks=1)
    reg.set_params(hidden_size=24, lr=0.005)
    copy = clone(reg)
    assert copy.get_params() == reg.get_params()
    assert copy.hidden_size == 24 and copy.lr == 0.005
    X, y = sine_windows(n_points=80)
    copy.set_params(max_epochs=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        copy.fit(X, y)
    assert copy.net_.module_.rnn.hidden_size == 24
    assert not hasattr(reg, "net_")


def test_grid_search_over_hidden_size(sine_windows):
    X, y = sine_windows(n_points=120)
    search = GridSearchCV(
        GRURegressor(max_epochs=20, random_state=0),
        {"hidden_size": [4, 16]},
        cv=KFold(2),
    )
    search.fit(X, y)
    assert search.best_params_["hidden_size"] in (4, 16)
    assert set(search.cv_results_["param_hidden_size"]) == {4, 16}
    assert search.predict(X).shape == y.shape


def test_grid_search_over_the_cell_by_swapping_pipeline_steps(two_class_sequences):
    X, y = two_class_sequences(n_samples=80)
    X2d = X[:, :, 0]  # univariate sequences, so a StandardScaler can sit in front
    pipe = Pipeline([("scale", StandardScaler()), ("rnn", LSTMClassifier())])
    grid = {
        "rnn": [
            RNNClassifier(**FAST),
            LSTMClassifier(**FAST),
            GRUClassifier(**FAST),
        ]
    }
    search = GridSearchCV(pipe, grid, cv=2).fit(X2d, y)
    cells = {type(p).__name__ for p in search.cv_results_["param_rnn"]}
    assert cells == {"RNNClassifier", "LSTMClassifier", "GRUClassifier"}
    assert search.best_score_ > 0.8


@pytest.mark.parametrize("Estimator", REGRESSORS + CLASSIFIERS)
def test_pickle_round_trip_gives_identical_predictions(Estimator, two_class_sequences):
    X, y = two_class_sequences(n_samples=40)
    est = Estimator(hidden_size=8, max_epochs=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X), est.predict(X))
    assert restored.get_params() == est.get_params()


@pytest.mark.cpu_numerics
@pytest.mark.parametrize("Estimator", [LSTMRegressor, GRUClassifier])
def test_same_random_state_gives_identical_predictions(Estimator, two_class_sequences):
    X, y = two_class_sequences(n_samples=60)
    params = dict(hidden_size=8, dropout=0.3, num_layers=2, max_epochs=15)
    first = Estimator(random_state=7, **params).fit(X, y)
    second = Estimator(random_state=7, **params).fit(X, y)
    other = Estimator(random_state=8, **params).fit(X, y)
    np.testing.assert_array_equal(first._forward(X), second._forward(X))
    assert first.loss_curve_ == second.loss_curve_
    assert not np.array_equal(first._forward(X), other._forward(X))


def test_fitting_leaves_the_global_torch_random_state_alone(sine_windows):
    X, y = sine_windows(n_points=60)
    before = torch.random.get_rng_state()
    LSTMRegressor(hidden_size=4, max_epochs=5, random_state=0).fit(X, y)
    assert torch.equal(before, torch.random.get_rng_state())


def test_string_labels_round_trip(two_class_sequences):
    X, y = two_class_sequences()
    labels = np.array(["falling", "rising"])[y]
    clf = GRUClassifier(hidden_size=16, random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["falling", "rising"]
    predicted = clf.predict(X)
    assert predicted.dtype == labels.dtype
    assert set(predicted) <= {"falling", "rising"}
    assert np.mean(predicted == labels) > 0.85


def test_three_classes_with_any_hashable_labels(two_class_sequences):
    X, y = two_class_sequences(n_samples=150)
    y = y + (X[:, -1, 1] > 1)  # a third class
    labels = np.array([10, 20, 30])[y]
    clf = LSTMClassifier(**FAST).fit(X, labels)
    assert list(clf.classes_) == [10, 20, 30]
    assert clf.predict_proba(X).shape == (150, 3)
    assert set(clf.predict(X)) <= {10, 20, 30}


def test_three_dimensional_input_and_feature_count_checks(two_class_sequences):
    X, y = two_class_sequences(n_samples=40)
    clf = LSTMClassifier(hidden_size=8, max_epochs=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert clf.n_features_in_ == 2 and clf.input_size_ == 2 and clf.input_ndim_ == 3
    with pytest.raises(ValueError, match="X has 3 features per time step, but LSTMClassifier"):
        clf.predict(np.zeros((4, 12, 3)))
    with pytest.raises(ValueError, match="X is 2D, which means univariate sequences"):
        clf.predict(np.zeros((4, 12)))


def test_univariate_sequences_as_2d_and_3d_input(sine_windows):
    X, y = sine_windows(n_points=100)
    X2d = X[:, :, 0]
    reg2d = LSTMRegressor(**FAST).fit(X2d, y)
    reg3d = LSTMRegressor(**FAST).fit(X, y)
    np.testing.assert_array_equal(reg2d.predict(X2d), reg3d.predict(X))
    assert reg2d.n_features_in_ == 10 and reg2d.input_size_ == 1
    # A model fitted on 3D univariate data reads 2D data of any length ...
    assert reg3d.predict(X2d[:, :6]).shape == y.shape
    # ... and one fitted on 2D data checks the columns as every sklearn estimator does,
    # while reading 3D univariate sequences of any length.
    with pytest.raises(ValueError, match="X has 6 features, but LSTMRegressor is expecting 10"):
        reg2d.predict(X2d[:, :6])
    assert reg2d.predict(X[:, :6]).shape == y.shape


def test_pandas_input_keeps_feature_names(sine_windows):
    X, y = sine_windows(n_points=100)
    columns = [f"lag_{k}" for k in range(10, 0, -1)]
    frame = pd.DataFrame(X[:, :, 0], columns=columns)
    reg = GRURegressor(**FAST).fit(frame, pd.Series(y))
    assert list(reg.feature_names_in_) == columns
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_allclose(reg.predict(frame), reg.predict(X[:, :, 0]))
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(frame[columns[::-1]])


def test_multi_output_regression(sine_windows):
    X, y = sine_windows(n_points=150)
    Y = np.column_stack([y, 10 * y + 3])
    reg = LSTMRegressor(**FAST).fit(X, Y)
    assert reg.n_outputs_ == 2
    pred = reg.predict(X)
    assert pred.shape == (len(X), 2)
    # Internal target scaling handles targets of very different scales.
    assert np.corrcoef(pred[:, 1], Y[:, 1])[0, 1] > 0.9


def test_default_settings_fit_raw_unscaled_data(sine_windows):
    X, y = sine_windows(n_points=200)
    reg = LSTMRegressor(random_state=0).fit(1000 * X + 5000, 50 * y - 7)
    assert reg.score(1000 * X + 5000, 50 * y - 7) > 0.9


def test_early_stopping_records_validation_loss_and_restores_best_weights(sine_windows):
    X, y = sine_windows()
    # The recurrent network alone: its loss is the scaled targets' squared error.
    reg = LSTMRegressor(early_stopping=True, n_iter_no_change=3, linear_skip=False, **FAST)
    reg.fit(X, y)
    assert len(reg.validation_loss_curve_) == reg.n_iter_ == len(reg.loss_curve_)
    # The restored weights are those of the best validation epoch.
    best = min(reg.validation_loss_curve_)
    n_valid = int(np.ceil(reg.validation_fraction * len(X)))
    scaled_y = (y[-n_valid:] - reg.target_mean_) / reg.target_scale_
    valid_mse = np.mean((reg._forward(X[-n_valid:])[:, 0] - scaled_y) ** 2)
    np.testing.assert_allclose(valid_mse, best, rtol=1e-4)
    without = LSTMRegressor(early_stopping=False, **FAST).fit(X, y)
    assert without.validation_loss_curve_ is None


def test_warm_start_continues_from_the_fitted_weights(sine_windows):
    X, y = sine_windows(n_points=120)
    reg = LSTMRegressor(
        hidden_size=8, max_epochs=3, warm_start=True, linear_skip=False, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    first_losses = reg.loss_curve_
    weights = reg.net_.module_.head.weight.detach().clone()
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    assert reg.loss_curve_[0] < first_losses[0]
    assert not torch.equal(weights, reg.net_.module_.head.weight)
    reg.set_params(hidden_size=9)
    with pytest.raises(ValueError, match="architecture cannot change"):
        reg.fit(X, y)


def test_class_weight_shifts_predictions_towards_the_heavy_class(two_class_sequences):
    X, y = two_class_sequences(n_samples=120)
    X[:, :, 0] += np.random.RandomState(3).normal(scale=2.0, size=X.shape[:2])  # overlap
    plain = GRUClassifier(**FAST).fit(X, y)
    weighted = GRUClassifier(class_weight={0: 1.0, 1: 20.0}, **FAST).fit(X, y)
    balanced = GRUClassifier(class_weight="balanced", **FAST).fit(X, y)
    assert np.mean(weighted.predict(X) == 1) > np.mean(plain.predict(X) == 1)
    assert balanced.predict(X).shape == y.shape


def test_verbose_prints_a_row_per_epoch(capsys, sine_windows):
    X, y = sine_windows(n_points=60)
    with pytest.warns(ConvergenceWarning):
        LSTMRegressor(hidden_size=4, max_epochs=3, verbose=1, n_networks=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("1", "2", "3"))]) == 3


def test_silent_by_default(capsys, sine_windows):
    X, y = sine_windows(n_points=60)
    with pytest.warns(ConvergenceWarning):
        LSTMRegressor(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_extra_callbacks_are_copied_and_run(sine_windows):
    from skorch.callbacks import Callback

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    counter = CountEpochs()
    X, y = sine_windows(n_points=60)
    reg = LSTMRegressor(
        hidden_size=4, max_epochs=4, callbacks=[counter], n_networks=1, random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    assert dict(reg.net_.callbacks_)["CountEpochs"].epochs_ == 4
    assert not hasattr(counter, "epochs_")  # the user's instance is left untouched


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop", torch.optim.Adagrad])
def test_optimizers_by_name_or_class(optimizer, sine_windows):
    X, y = sine_windows(n_points=60)
    reg = LSTMRegressor(optimizer=optimizer, weight_decay=1e-4, hidden_size=4, max_epochs=2)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    expected = optimizer if isinstance(optimizer, type) else None
    if expected is not None:
        assert isinstance(reg.net_.optimizer_, expected)
    assert reg.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-4


def test_gradient_clipping_is_on_by_default(sine_windows):
    X, y = sine_windows(n_points=60)
    with pytest.warns(ConvergenceWarning):
        on = LSTMRegressor(hidden_size=4, max_epochs=1).fit(X, y)
        off = LSTMRegressor(hidden_size=4, max_epochs=1, clip_grad_norm=None).fit(X, y)
    assert dict(on.net_.callbacks_)["gradient_clipping"].gradient_clip_value == 1.0
    assert "gradient_clipping" not in dict(off.net_.callbacks_)


def test_divergence_is_an_error_not_a_model_that_predicts_nan(sine_windows):
    X, y = sine_windows(n_points=60)
    reg = LSTMRegressor(hidden_size=4, lr=1e30, clip_grad_norm=None, optimizer="sgd")
    with pytest.raises(ValueError, match="Training diverged"):
        reg.fit(X, 1e20 * y)


def test_device_validation(sine_windows):
    X, y = sine_windows(n_points=40)
    with pytest.raises(ValueError, match="not a known device"):
        LSTMRegressor(device="tpu").fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            LSTMRegressor(device="cuda").fit(X, y)
    reg = LSTMRegressor(device="cpu", hidden_size=4, max_epochs=1)
    with pytest.warns(ConvergenceWarning):
        reg.fit(X, y)
    assert reg.device_ == "cpu"


def test_dropout_on_a_single_layer_warns(sine_windows):
    X, y = sine_windows(n_points=40)
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        LSTMRegressor(dropout=0.5, hidden_size=4, max_epochs=1).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a machine without CUDA")
def test_a_model_pickled_on_a_gpu_machine_unpickles_and_predicts_on_the_cpu(sine_windows):
    X, y = sine_windows(n_points=60)
    reg = LSTMRegressor(hidden_size=4, max_epochs=2, random_state=0, device="cpu").fit(X, y)
    expected = reg.predict(X)
    # What a CUDA-trained model carries in its pickle: the net's device says "cuda".
    reg.net_.device = "cuda"
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        restored = pickle.loads(pickle.dumps(reg))
    assert str(restored.net_.device) == "cpu"
    np.testing.assert_array_equal(restored.predict(X), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_on_cuda_and_predicts_after_moving_to_cpu(two_class_sequences):
    X, y = two_class_sequences(n_samples=64)
    clf = LSTMClassifier(hidden_size=8, max_epochs=5, device="cuda", random_state=0).fit(X, y)
    assert clf.device_.startswith("cuda")
    assert next(clf.net_.module_.parameters()).is_cuda
    proba = clf.predict_proba(X)
    assert proba.shape == (64, 2)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), proba, rtol=1e-5)


def test_readme_usage_runs():
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    usage = readme.split("## Usage", 1)[1]
    code = re.search(r"```python\n(.*?)```", usage, re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})


class _ScriptedNet:
    """Just enough of a skorch net to drive PlateauSchedule with a given loss sequence."""

    def __init__(self):
        from skorch.history import History

        self.history = History()
        self.verbose = 0
        self.optimizer_ = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)


def _run_schedule(losses, **params):
    from sklearn_rnn._callbacks import PlateauSchedule

    schedule = PlateauSchedule(monitor="train_loss", **params)
    net = _ScriptedNet()
    schedule.on_train_begin(net)
    rates = []
    for loss in losses:
        net.history.new_epoch()
        try:
            schedule.on_epoch_begin(net)
        except KeyboardInterrupt:
            break
        net.history.record("train_loss", loss)
        schedule.on_epoch_end(net)
        rates.append(net.optimizer_.param_groups[0]["lr"])
    return schedule, net, rates


def test_plateau_schedule_halves_the_rate_then_stops():
    # Improves for 3 epochs, then is flat: 2 epochs without progress lower the rate,
    # twice; progress is then measured from the first epoch at the new rate, and the
    # third plateau ends training.
    losses = [1.0, 0.5, 0.25] + [0.25] * 20
    schedule, net, rates = _run_schedule(losses, patience=2, tol=1e-3, max_reductions=2, factor=0.5)
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert schedule.stopped_ and schedule.reductions_ == 2
    assert len(net.history) == 11  # the epoch that would have followed is not recorded
    assert schedule.best_loss_ == 0.25 and schedule.best_epoch_ == 3


def test_plateau_schedule_measures_progress_from_each_new_rate():
    # A lucky dip (0.1) early on must not end training while the loss, after a rate
    # change, keeps improving from where it is.
    losses = [1.0, 0.1, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.12]
    schedule, _, rates = _run_schedule(losses, patience=2, tol=1e-3, max_reductions=1, factor=0.5)
    assert not schedule.stopped_
    assert rates[-1] == 0.5 and len(rates) == len(losses)


def test_callbacks_see_the_epoch_on_which_training_stops(sine_windows):
    from skorch.callbacks import Callback

    class Recorder(Callback):
        def initialize(self):
            self.epochs_ = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_.append(len(net.history))

    X, y = sine_windows(n_points=80)
    reg = LSTMRegressor(
        hidden_size=4,
        n_iter_no_change=2,
        lr_schedule="constant",
        callbacks=[Recorder()],
        n_networks=1,
    ).fit(X, y)
    assert reg.n_iter_ < reg.max_epochs
    assert dict(reg.net_.callbacks_)["Recorder"].epochs_ == list(range(1, reg.n_iter_ + 1))
    assert reg.loss_curve_ == list(reg.net_.history[:, "train_loss"])


def test_prediction_does_not_depend_on_batch_composition(sine_windows):
    X, y = sine_windows(n_points=200)
    reg = GRURegressor(hidden_size=8, max_epochs=3, batch_size=20, random_state=0).fit(X, y)
    together = reg.predict(X)
    one_by_one = np.concatenate([reg.predict(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(reg.predict(X[::-1])[::-1], together)


@pytest.mark.parametrize(
    "name, expected",
    [("adam", "Adam"), ("adamw", "AdamW"), ("sgd", "SGD"), ("rmsprop", "RMSprop")],
)
def test_optimizer_names_choose_the_torch_optimizer(name, expected, sine_windows):
    X, y = sine_windows(n_points=40)
    reg = LSTMRegressor(optimizer=name, hidden_size=4, max_epochs=1).fit(X, y)
    assert type(reg.net_.optimizer_).__name__ == expected


def test_classifier_validation_split_is_stratified():
    from sklearn_rnn._batches import SequenceDataset, ValidationSplit

    labels = torch.tensor([0] * 80 + [1] * 20)
    dataset = SequenceDataset(torch.zeros(100, 3, 1), labels)
    train, valid = ValidationSplit(0.2, stratify=True, random_state=0)(dataset)
    assert len(valid) == 20 and int(valid.y.sum()) == 4 and int(train.y.sum()) == 16
    # Too few samples per class to stratify: a plain random split, not an error.
    tiny = SequenceDataset(torch.zeros(6, 3, 1), torch.tensor([0, 1, 2, 0, 1, 2]))
    train, valid = ValidationSplit(0.5, stratify=True, random_state=0)(tiny)
    assert len(train) == len(valid) == 3
    with pytest.raises(ValueError, match="leaves none to train on"):
        ValidationSplit(0.9, stratify=False, random_state=0)(SequenceDataset(torch.zeros(5, 3, 1)))


def test_regressor_validation_split_holds_out_the_last_samples():
    from sklearn_rnn._batches import SequenceDataset, ValidationSplit

    dataset = SequenceDataset(torch.arange(10.0).reshape(10, 1, 1), torch.arange(10.0))
    train, valid = ValidationSplit(0.3, stratify=False, random_state=0)(dataset)
    assert train.y.tolist() == list(range(7)) and valid.y.tolist() == [7.0, 8.0, 9.0]


def test_a_rejected_refit_leaves_the_fitted_model_usable(two_class_sequences):
    X, y = two_class_sequences(n_samples=40)
    clf = LSTMClassifier(hidden_size=4, max_epochs=2, warm_start=True, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    with pytest.raises(ValueError, match="features per time step"):
        clf.fit(X[:, :, :1], y)
    with pytest.raises(ValueError, match="only one class"):
        clf.set_params(warm_start=False).fit(X[:, :, :1], np.zeros(40))
    clf.set_params(hidden_size=5, warm_start=True)
    with pytest.raises(ValueError, match="architecture cannot change"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    assert clf.n_features_in_ == 2


def test_early_stopping_that_runs_out_of_epochs_warns(sine_windows):
    X, y = sine_windows(n_points=80)
    with pytest.warns(ConvergenceWarning, match="Maximum number of epochs"):
        LSTMRegressor(hidden_size=4, max_epochs=2, early_stopping=True).fit(X, y)


def test_no_device_tensors_are_left_in_callbacks_after_early_stopping(sine_windows):
    X, y = sine_windows(n_points=80)
    reg = LSTMRegressor(hidden_size=4, max_epochs=5, early_stopping=True, n_networks=1).fit(X, y)
    assert dict(reg.net_.callbacks_)["plateau_schedule"].best_state_ is None


def test_balanced_class_weight_is_passed_to_the_loss(two_class_sequences):
    from sklearn.utils.class_weight import compute_class_weight

    X, y = two_class_sequences(n_samples=50)
    y[:40] = 0
    clf = GRUClassifier(class_weight="balanced", hidden_size=4, max_epochs=1).fit(X, y)
    expected = compute_class_weight("balanced", classes=np.array([0, 1]), y=y)
    np.testing.assert_allclose(clf.net_.criterion_.weight.cpu().numpy(), expected, rtol=1e-6)


def test_unusable_values_are_errors_not_silent_garbage(sine_windows):
    X, y = sine_windows(n_points=40)
    with pytest.raises(ValueError, match="too large to standardise"):
        LSTMRegressor(max_epochs=1).fit(X * 1e200, y)
    with pytest.raises(ValueError, match="y holds values too large"):
        LSTMRegressor(max_epochs=1).fit(X, y * 1e200)
    with pytest.raises(TypeError, match="callbacks must be a list of skorch callbacks"):
        LSTMRegressor(max_epochs=1, callbacks=[1]).fit(X, y)
    # A long (instance, time) frame holds one sample per instance, not per row.
    frame = pd.DataFrame(
        {"value": np.arange(6.0)},
        index=pd.MultiIndex.from_product([[0, 1], [0, 1, 2]], names=["instance", "time"]),
    )
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LSTMRegressor(max_epochs=1).fit(frame, np.arange(6.0))


def test_importing_the_package_is_cheap():
    import subprocess
    import sys

    # torch and skorch load when a model is first fitted or loaded, not on import.
    code = (
        "import sys, sklearn_rnn; "
        "print(sorted(m for m in ('torch', 'skorch', 'safetensors') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
