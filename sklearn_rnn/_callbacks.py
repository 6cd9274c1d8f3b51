"""skorch callbacks the estimators add to every net. Imported lazily (skorch, torch)."""

import copy

import numpy as np
from skorch.callbacks import Callback


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
                    "scale_inputs=True."
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
    ):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.max_reductions = max_reductions
        self.factor = factor
        self.restore_best = restore_best
        self.resume_state = resume_state

    def get_state(self):
        """The schedule's progress, for a checkpoint (plain Python values and tensors)."""
        state = {name: getattr(self, name) for name in self._STATE}
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in state.items()}

    def on_train_begin(self, net, **kwargs):
        self.best_loss_ = np.inf
        self.best_epoch_ = 0
        self.reference_loss_ = np.inf
        self.epochs_without_improvement_ = 0
        self.reductions_ = 0
        self.best_state_ = None
        self.stopped_ = False
        for name, value in (self.resume_state or {}).items():
            setattr(self, name, value)

    def on_epoch_begin(self, net, **kwargs):
        if self.stopped_:
            # The net has opened this epoch's history row already; the epoch never runs.
            net.history.pop()
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1, self.monitor]
        if loss < self.reference_loss_ - self.tol:
            self.epochs_without_improvement_ = 0
        else:
            self.epochs_without_improvement_ += 1
        self.reference_loss_ = min(self.reference_loss_, loss)
        if loss < self.best_loss_:
            self.best_loss_ = loss
            self.best_epoch_ = len(net.history)
            if self.restore_best:
                self.best_state_ = copy.deepcopy(net.module_.state_dict())
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
            net.module_.load_state_dict(self.best_state_)
        # Device tensors must not stay in the callback: skorch maps only the module,
        # optimizer and criterion to the CPU when a GPU-trained net is unpickled.
        self.best_state_ = None
