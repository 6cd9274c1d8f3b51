"""skorch callbacks the estimators add to every net. Imported lazily (skorch, torch)."""

import copy

import numpy as np
import torch
from skorch.callbacks import Callback

from ._batches import BatchIterator
from ._modules import batch_weights, unwrapped


class StopOnNonFiniteLoss(Callback):
    """Fail the fit as soon as an epoch's loss is NaN or infinite.

    A diverged network would otherwise be returned as fitted and predict NaN.
    """

    def on_epoch_end(self, net, **kwargs):
        for key in ("train_loss", "valid_loss"):
            if key in net.history[-1] and not np.isfinite(net.history[-1, key]):
                raise ValueError(
                    f"Training diverged: {key} became {net.history[-1, key]} in epoch "
                    f"{len(net.history)}. Lower lr, keep clip_grad_norm set, or keep "
                    "scale_inputs at its default."
                )


class PlateauSchedule(Callback):
    """Lower the learning rate on a plateau of the monitored loss, then stop.

    A plateau is ``patience`` epochs in which the loss never got ``tol`` below
    the best loss since the last change of rate. At each of the first
    ``max_reductions`` plateaus the learning rate of every parameter group is
    multiplied by ``factor``; the next plateau ends training (after every
    callback has seen that epoch: the stop happens as the next epoch would
    begin). Lowering the rate
    first, and measuring progress from the new rate's first epoch, keeps a
    lucky early dip of a noisy loss from ending training before the network
    has converged.

    Parameters
    ----------
    monitor : str
        History key, ``"train_loss"`` or ``"valid_loss"``.
    patience : int
    tol : float
    max_reductions : int
    factor : float
    restore_best : bool
        Whether to load the weights of the best epoch when training ends.
    resume_state : dict or None
        State from ``get_state`` of an interrupted fit, to continue from.
    """

    once_per_fit = True  # not run again by partial_fit's later epochs

    _STATE = (
        "best_loss_",
        "best_epoch_",
        "reference_loss_",
        "epochs_without_improvement_",
        "reductions_",
        "best_state_",
        "stopped_",
    )

    def __init__(
        self,
        monitor,
        patience,
        tol,
        max_reductions,
        factor=0.1,
        restore_best=False,
        resume_state=None,
        score_initial=False,
    ):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.max_reductions = max_reductions
        self.factor = factor
        self.restore_best = restore_best
        self.resume_state = resume_state
        self.score_initial = score_initial

    def get_state(self):
        """The schedule's progress, for a checkpoint (plain Python values and tensors)."""
        state = {name: getattr(self, name) for name in self._STATE}
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in state.items()}

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.best_loss_ = np.inf
        self.best_epoch_ = 0
        self.reference_loss_ = np.inf
        self.epochs_without_improvement_ = 0
        self.reductions_ = 0
        self.best_state_ = None
        self.stopped_ = False
        for name, value in (self.resume_state or {}).items():
            setattr(self, name, value)
        if (
            self.score_initial
            and self.restore_best
            and self.resume_state is None
            and net.train_split is not None
        ):
            # The untrained network is a candidate too (a ForecastNetwork's is its
            # linear part): training must beat it on the validation samples to be kept.
            self.best_loss_ = _agreed(net, _mean_loss(net, net.get_split_datasets(X, y)[1]))
            self.best_state_ = copy.deepcopy(unwrapped(net.module_).state_dict())

    def on_epoch_begin(self, net, **kwargs):
        if self.stopped_:
            # The net has opened this epoch's history row already; the epoch never runs.
            net.history.pop()
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        loss = _agreed(net, net.history[-1, self.monitor])
        if loss < self.reference_loss_ - self.tol:
            self.epochs_without_improvement_ = 0
        else:
            self.epochs_without_improvement_ += 1
        self.reference_loss_ = min(self.reference_loss_, loss)
        if loss < self.best_loss_:
            self.best_loss_ = loss
            self.best_epoch_ = len(net.history)
            if self.restore_best:
                self.best_state_ = copy.deepcopy(unwrapped(net.module_).state_dict())
        if self.epochs_without_improvement_ < self.patience:
            return
        self.epochs_without_improvement_ = 0
        if self.reductions_ < self.max_reductions:
            self.reductions_ += 1
            self.reference_loss_ = np.inf
            for group in net.optimizer_.param_groups:
                group["lr"] *= self.factor
            return
        self.stopped_ = True
        if net.verbose:
            print(
                f"Stopping: {self.monitor} has not improved by {self.tol} for "
                f"{self.patience} epochs (best {self.best_loss_:.4g} in epoch "
                f"{self.best_epoch_})."
            )

    def on_train_end(self, net, **kwargs):
        if self.restore_best and self.best_state_ is not None:
            unwrapped(net.module_).load_state_dict(self.best_state_)
        # Device tensors must not stay in the callback: skorch maps only the module,
        # optimizer and criterion to the CPU when a GPU-trained net is unpickled.
        self.best_state_ = None


def _agreed(net, loss):
    """``loss`` averaged over the processes of data-parallel training, so that every
    process (each holding a share of the validation data) takes the same decisions."""
    accelerator = getattr(net, "accelerator", None)
    if accelerator is None or accelerator.num_processes == 1:
        return loss
    value = torch.tensor([float(loss)], device=accelerator.device)
    return float(accelerator.reduce(value, reduction="mean")[0])


def _mean_loss(net, dataset):
    """The loss over ``dataset``, averaged over samples as skorch averages valid_loss."""
    total, count = 0.0, 0
    for batch in net.get_iterator(dataset, training=False):
        with torch.no_grad():
            loss = net.validation_step(batch)["loss"]
        n_samples = len(batch[1])
        total += float(loss) * n_samples
        count += n_samples
    return total / max(count, 1)


def _module_inputs(batch, device):
    """A batch's inputs as the module's keyword arguments, on ``device`` (its
    sample weights left out)."""
    inputs = batch if isinstance(batch, dict) else {"X": batch}
    return {name: value.to(device) for name, value in inputs.items() if name != "sample_weight"}


def _skip_rows(net, dataset, corrected=False):
    """(features of the linear part, targets, weights) of every sample of
    ``dataset``, by batch; the weights are the samples' (or steps') weights, or None.

    Rows are samples (time steps with per-step outputs); targets of padded steps
    (NaN) are left out. With ``corrected``, the targets less the recurrent part's
    correction, in the targets' units.
    """
    module = unwrapped(net.module_)
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()
    # Every sample, in every process: not the net's iterator, which data-parallel
    # training shards across processes.
    batches = BatchIterator(dataset, net.batch_size)
    try:
        with torch.no_grad():
            for Xi, yi in batches:
                inputs = _module_inputs(Xi, device)
                features = module.skip_features(**inputs)
                n_sequences = features.shape[0]
                n_rows = n_sequences * (features.shape[1] if features.dim() == 3 else 1)
                features = features.reshape(n_rows, -1)
                targets = yi.to(device).reshape(n_rows, -1)
                if corrected:
                    forecast = module.point_forecast(**inputs).reshape(n_rows, -1)
                    targets = targets - (forecast - module.skip(features))
                keep = ~torch.isnan(targets).any(dim=1)
                weights = batch_weights(Xi)
                if weights is not None:
                    shape = (n_sequences, n_rows // n_sequences)
                    weights = weights.to(device).reshape(n_sequences, -1).expand(shape)
                    weights = weights.reshape(n_rows)[keep].double().cpu().numpy()
                yield (
                    features[keep].double().cpu().numpy(),
                    targets[keep].double().cpu().numpy(),
                    weights,
                )
    finally:
        module.train(was_training)


class LinearSkipFit(Callback):
    """Set a :class:`ForecastNetwork`'s linear part by ridge regression before training.

    The linear part's inputs of the training samples (the validation ones of
    early stopping left out) are regressed on the scaled targets, alpha chosen
    by leave-one-out error (``_ridge.LinearPart``, batch by batch): on the
    window's values ("levels"), on its changes from the targets' last values
    ("changes", which needs ``basis``), or the average of the two ("both"). The
    leave-one-out residual spread per output becomes the module's ``spread``.
    With fewer than 3 samples the linear part stays at zero.

    Parameters
    ----------
    alphas : array-like or None, default=None
        Candidate penalties; None: ``_ridge.DEFAULT_ALPHAS``.
    kind : {"levels", "changes", "both"}, default="levels"
    basis : _ridge.ChangeBasis or None, default=None
    """

    once_per_fit = True  # not run again by partial_fit's later epochs

    def __init__(self, alphas=None, kind="levels", basis=None):
        self.alphas = alphas
        self.kind = kind
        self.basis = basis

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from ._ridge import DEFAULT_ALPHAS, LinearPart

        module = unwrapped(net.module_)
        dataset = net.get_split_datasets(X, y)[0] if net.train_split is not None else X
        alphas = DEFAULT_ALPHAS if self.alphas is None else self.alphas
        linear = LinearPart(self.kind, self.basis, alphas)
        for features, targets, weights in _skip_rows(net, dataset):
            linear.add(features, targets, weights)
        self.linear_ = None  # the fitted LinearPart (its alphas_), for the refit
        if linear.n_ < 3:
            return
        linear.solve()
        for features, targets, weights in _skip_rows(net, dataset):
            linear.add_loo(features, targets, weights)
        linear.finish()
        self.linear_ = linear
        _set_linear_part(module, linear.coef_, linear.intercept_)
        spread = np.maximum(linear.loo_rmse_, 1e-4)
        with torch.no_grad():
            module.spread.copy_(torch.as_tensor(spread).view_as(module.spread))


class IntervalCalibration(Callback):
    """Calibrate a distribution's spread on the held-out samples (split conformal).

    When training ends (after the best weights' return, before the linear part
    sees the validation samples in its refit), the validation samples' forecasts
    set the module's ``calibration``, per output:

    - quantiles: each quantile's distance from the median is multiplied by the
      smallest factor with which the quantile holds at least its level of the
      validation outcomes, with the finite-sample rule of conformal prediction
      (the ``ceil((n + 1) * level)``-th smallest ratio); factors are made
      non-decreasing away from the median, so quantiles still never cross
      (Romano et al. 2019's conformalized quantile regression, one quantile at
      a time);
    - a Gaussian's standard deviation is multiplied by ``sqrt(sum(z**2) / (n - 2))``
      over the ``n`` validation outcomes' z-scores ``z``: their root mean square,
      widened by ``sqrt(n / (n - 2))``. A spread estimated from ``n`` outcomes makes
      the next z-score a Student t with ``n`` degrees of freedom, whose variance is
      ``n / (n - 2)``; the Gaussian takes that variance, so its 80% and 90%
      intervals do not fall short for being calibrated on few outcomes. On 10, the
      root mean square alone gives an 80% interval that holds 77% of the next
      outcomes and a 90% one 87%; this rule, 82% and 90%. Further out the t's tails
      are heavier than the Gaussian's: a 99% interval holds 98% of them.

    With early stopping off (no held-out samples) or fewer than ``min_samples``
    of them (and, for a Gaussian, fewer than 3), forecasts are left as trained.

    Parameters
    ----------
    min_samples : int, default=10
    keep_validation : bool, default=False
        Keep the validation forecasts and outcomes in ``validation_``, for
        :func:`calibrate_ensemble` (a network of an ensemble); a single network's
        would only weigh on its pickle.
    """

    once_per_fit = True  # not run again by partial_fit's later epochs

    def __init__(self, min_samples=10, keep_validation=False):
        self.min_samples = min_samples
        self.keep_validation = keep_validation

    def on_train_end(self, net, X=None, y=None, **kwargs):
        from ._modules import DistributionHead

        module = unwrapped(net.module_)
        head = getattr(module, "head", None)
        if net.train_split is None or not isinstance(head, DistributionHead):
            return
        if head.kind == "point":
            return
        valid = net.get_split_datasets(X, y)[1]
        device = next(module.parameters()).device
        shape = tuple(module.calibration.shape[:-1])
        forecasts, targets = [], []
        with torch.no_grad():
            module.calibration.fill_(1.0)  # factors are set afresh, not on top of a warm start's
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad():
                for Xi, yi in BatchIterator(valid, net.batch_size):
                    forecasts.append(module(**_module_inputs(Xi, device)).reshape(-1, *shape, head.n_params))
                    targets.append(yi.to(device).reshape(-1, *shape))
        finally:
            module.train(was_training)
        if not forecasts:
            return
        forecast = torch.cat(forecasts).double().cpu().numpy()
        target = torch.cat(targets).double().cpu().numpy()
        if self.keep_validation:
            self.validation_ = (forecast, target)
        factors = _factors_by_output(head, forecast[np.newaxis], target, self.min_samples)
        factors = np.nan_to_num(factors, nan=1.0)  # left as trained
        with torch.no_grad():
            module.calibration.copy_(torch.as_tensor(factors, dtype=module.calibration.dtype))


def calibrate_ensemble(ensemble, nets):
    """Calibrate the combined forecast of an ensemble's networks, not each network's.

    Each network's :class:`IntervalCalibration` made its own intervals hold on
    the validation samples, which is not the combination's calibration: the
    averaged forecast errs less than each network, and a Gaussian mixture adds
    the networks' disagreement to variances that already cover each one's
    errors. (On the calibration benchmark the difference was 1-3 points of
    coverage.)
    Here the networks' uncalibrated validation forecasts (the same samples for
    every network) are combined and the factors are chosen for the combination;
    every network gets the same factors, with the ``min_samples`` of the
    networks' :class:`IntervalCalibration`:

    - quantiles: the conformal factors of the averaged quantiles; scaling every
      network's distances from its median by one factor scales the average's
      distances from its median by the same factor;
    - Gaussian: the factor ``f`` on every network's standard deviation for
      which the mixture's z-scores have a mean square of ``(n - 2) / n`` (the
      mixture's variance is ``f**2 * mean(std**2) + spread of the means``), the
      finite-sample rule of :class:`IntervalCalibration`.

    Networks with no stored validation forecasts (early stopping off, a point
    loss) keep their factors; so do a Gaussian's outputs whose networks disagree
    more on the validation samples than the combination errs (no factor fits).
    """
    head = getattr(ensemble, "head", None)
    callbacks = [dict(net.callbacks_).get("interval_calibration") for net in nets]
    stored = [getattr(callback, "validation_", None) for callback in callbacks]
    if head is None or any(entry is None for entry in stored):
        return
    target = stored[0][1]
    if any(entry[1].shape != target.shape or not np.array_equal(
        entry[1], target, equal_nan=True
    ) for entry in stored):
        return  # not the same validation samples: each network keeps its own factors
    members = np.stack([entry[0] for entry in stored])  # (n_networks, n, *shape, n_params)
    factors = _factors_by_output(head, members, target, callbacks[0].min_samples)
    with torch.no_grad():
        for network in ensemble.networks:
            own = network.calibration.double().cpu().numpy()
            combined = np.where(np.isnan(factors), own, factors)
            network.calibration.copy_(torch.as_tensor(combined, dtype=network.calibration.dtype))
    for callback in callbacks:
        del callback.validation_


# A Gaussian's spread estimated from n outcomes makes the next z-score a Student t of
# variance n / (n - 2): its calibration divides the squared z-scores by n - 2.
_STUDENT_T_LOST_DEGREES = 2


def _factors_by_output(head, members, target, min_samples):
    """Calibration factors (*shape, n_params) of the combined forecast of
    ``members`` (n_networks, n, *shape, n_params; one network or several) for the
    outcomes ``target`` (n, *shape); NaN for an output with fewer than
    ``min_samples`` real outcomes (a Gaussian's finite-sample rule needs 3), or
    with no factor that fits."""
    shape = target.shape[1:]
    factors = np.full(shape + (head.n_params,), np.nan)
    for index in np.ndindex(*shape):
        outcome = target[(slice(None),) + index]
        keep = ~np.isnan(outcome)
        least = min_samples
        if head.kind == "gaussian":
            least = max(least, _STUDENT_T_LOST_DEGREES + 1)
        if keep.sum() < least:
            continue
        forecasts = members[(slice(None), slice(None)) + index][:, keep]
        if head.kind == "gaussian" and len(members) > 1:
            factor = _mixture_std_factor(forecasts, outcome[keep])
            if factor is not None:
                factors[index] = (1.0, factor)
        else:
            factors[index] = _calibration_factors(head, forecasts.mean(axis=0), outcome[keep])
    return factors


def _mixture_std_factor(forecasts, outcome, low=1e-3, high=1e3):
    """The factor on each Gaussian's std (forecasts: (n_networks, n, 2)) for which
    the equal mixture's z-scores have a mean square of ``(n - 2) / n``, within
    [low, high]; None when the networks' disagreement alone is that wide (with
    the factor at ``low``, the mean square is already that small)."""
    means, stds = forecasts[..., 0], forecasts[..., 1]
    mean = means.mean(axis=0)
    spread = ((means - mean) ** 2).mean(axis=0)
    variance = (stds**2).mean(axis=0)
    squared_error = (outcome - mean) ** 2
    degrees = len(outcome) - _STUDENT_T_LOST_DEGREES

    def relative_square_z(factor):  # the z-scores' mean square over (n - 2) / n
        return np.sum(squared_error / (factor**2 * variance + spread)) / degrees

    if relative_square_z(low) <= 1:
        return None
    if relative_square_z(high) >= 1:
        return high
    for _ in range(100):  # bisection on a log scale; the mean square falls as f grows
        middle = np.sqrt(low * high)
        low, high = (middle, high) if relative_square_z(middle) > 1 else (low, middle)
    return float(np.sqrt(low * high))


def _calibration_factors(head, forecast, outcome):
    """Factors (n_params,) for one output, from forecasts (n, n_params) and outcomes (n,)."""
    factors = np.ones(head.n_params)
    if head.kind == "gaussian":
        z = (outcome - forecast[:, 0]) / forecast[:, 1]
        factors[1] = np.sqrt(np.sum(z**2) / (len(z) - _STUDENT_T_LOST_DEGREES))
        return factors
    n = len(outcome)
    median = forecast[:, head.center]
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, level in enumerate(head.quantiles):
            if k == head.center:
                continue
            if k > head.center:  # P(outcome <= quantile) should reach the level
                ratio = (outcome - median) / (forecast[:, k] - median)
                above = outcome > median
            else:  # P(outcome >= quantile) should reach 1 - level
                ratio = (median - outcome) / (median - forecast[:, k])
                above = outcome < median
                level = 1 - level
            # Outcomes on the median's other side are held at any factor.
            ratio = np.where(above, np.nan_to_num(ratio, nan=np.inf, posinf=np.inf), -np.inf)
            rank = min(int(np.ceil((n + 1) * level)), n)
            factors[k] = max(float(np.sort(ratio)[rank - 1]), 0.0)
            if not np.isfinite(factors[k]):  # no finite factor holds them: keep the forecast
                factors[k] = 1.0
    # Non-decreasing away from the median: the quantiles keep their order.
    factors[head.center + 1 :] = np.maximum.accumulate(factors[head.center + 1 :])
    factors[: head.center] = np.maximum.accumulate(factors[: head.center][::-1])[::-1]
    return factors


class LinearSkipRefit(Callback):
    """After training (and the best weights' return), refit the linear part on all samples.

    With early stopping the linear part was fitted without the validation
    samples, the most recent ones. It is fitted again, with the alpha
    :class:`LinearSkipFit` chose, on every sample, to the targets less the
    trained correction (one backfitting step). Must come after the schedule
    that restores the best weights.
    """

    once_per_fit = True  # not run again by partial_fit's later epochs

    def on_train_end(self, net, X=None, y=None, **kwargs):
        first_fit = dict(net.callbacks_).get("linear_skip_fit")
        if net.train_split is None or first_fit is None or first_fit.linear_ is None:
            return
        coef, intercept = first_fit.linear_.refit(_skip_rows(net, X, corrected=True))
        _set_linear_part(unwrapped(net.module_), coef, intercept)


def _set_linear_part(module, coef, intercept):
    with torch.no_grad():
        module.skip.weight.copy_(torch.as_tensor(coef, dtype=module.skip.weight.dtype))
        module.skip.bias.copy_(torch.as_tensor(intercept, dtype=module.skip.bias.dtype))
