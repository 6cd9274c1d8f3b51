"""Ridge regression from data seen in batches, with a leave-one-out choice of alpha.

Fits ``y = b + x . w`` with the penalty ``alpha * |w|^2`` (the intercept is not
penalised) from sums accumulated batch by batch, so a million windows never
become one matrix. Memory is ``O(n_features^2)``. The leave-one-out error of
every candidate alpha is exact: for penalised least squares it is
``e_i / (1 - h_i)``, with ``h_i`` the diagonal of the hat matrix
``1/n + x~_i (X~'X~ + alpha I)^-1 x~_i'`` (``~``: centred), computed in a second
pass over the batches from one eigendecomposition. This is scikit-learn's
``RidgeCV`` (efficient leave-one-out), streamed. With sample weights ``w``,
the sums are weighted, ``n`` is the sum of the weights, the leverage is
``w_i`` times the above and the leave-one-out errors are averaged with the
weights. No torch here.
"""

import numpy as np

DEFAULT_ALPHAS = np.logspace(-3, 3, 13)


class StreamingRidge:
    """Ridge regression with alpha chosen by leave-one-out error, from batches.

    Call ``add`` on every batch, ``solve``, then ``add_loo`` on every batch
    again, and read ``alpha_``, ``coef_``, ``intercept_`` and ``loo_rmse_``.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,), default=DEFAULT_ALPHAS
        Candidate penalties.
    standardize : bool, default=False
        Penalise the coefficients of the standardised features.
    """

    def __init__(self, alphas=DEFAULT_ALPHAS, standardize=False):
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.standardize = standardize
        self.n_ = 0

    def add(self, X, Y, w=None):
        """Accumulate a batch: X of shape (n, n_features), Y of shape (n, n_outputs),
        sample weights w of shape (n,) or None."""
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if not hasattr(self, "xx_"):
            p, q = X.shape[1], Y.shape[1]
            self.sum_x_, self.sum_y_ = np.zeros(p), np.zeros(q)
            self.xx_, self.xy_ = np.zeros((p, p)), np.zeros((p, q))
        if w is None:
            self.n_ += X.shape[0]
            self.sum_x_ += X.sum(axis=0)
            self.sum_y_ += Y.sum(axis=0)
            self.xx_ += X.T @ X
            self.xy_ += X.T @ Y
            return
        w = np.asarray(w, dtype=np.float64)
        self.n_ += w.sum()
        self.sum_x_ += w @ X
        self.sum_y_ += w @ Y
        self.xx_ += X.T @ (w[:, np.newaxis] * X)
        self.xy_ += X.T @ (w[:, np.newaxis] * Y)

    def solve(self):
        """Centre the sums and eigendecompose X~'X~ (after every ``add``)."""
        n = self.n_
        self.mean_x_ = self.sum_x_ / n
        self.mean_y_ = self.sum_y_ / n
        centred_xx = self.xx_ - n * np.outer(self.mean_x_, self.mean_x_)
        centred_xy = self.xy_ - n * np.outer(self.mean_x_, self.mean_y_)
        self.scale_x_ = np.ones(len(self.mean_x_))
        if self.standardize:
            scale = np.sqrt(np.clip(np.diag(centred_xx), 0.0, None) / n)
            self.scale_x_ = np.where(scale > 1e-12 * max(1.0, scale.max(initial=0.0)), scale, 1.0)
            centred_xx = centred_xx / np.outer(self.scale_x_, self.scale_x_)
            centred_xy = centred_xy / self.scale_x_[:, np.newaxis]
        eigenvalues, self.vectors_ = np.linalg.eigh((centred_xx + centred_xx.T) / 2)
        self.eigenvalues_ = np.clip(eigenvalues, 0.0, None)
        # The solution in the eigenbasis, for every alpha: (n_alphas, p, q).
        self.projected_xy_ = self.vectors_.T @ centred_xy
        self.loo_sum_ = np.zeros((len(self.alphas), centred_xy.shape[1]))
        return self

    def _shrinkage(self):
        return 1.0 / (self.eigenvalues_[np.newaxis, :] + self.alphas[:, np.newaxis])

    def add_loo(self, X, Y, w=None):
        """Accumulate a batch's leave-one-out squared errors for every alpha."""
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        projected = ((X - self.mean_x_) / self.scale_x_) @ self.vectors_  # (n, p)
        shrinkage = self._shrinkage()  # (n_alphas, p)
        leverage = 1.0 / self.n_ + (projected**2) @ shrinkage.T  # (n, n_alphas)
        if w is not None:
            w = np.asarray(w, dtype=np.float64)
            leverage = leverage * w[:, np.newaxis]
        # Fitted values for every alpha: (n_alphas, n, q).
        fitted = self.mean_y_ + np.einsum(
            "np,ap,pq->anq", projected, shrinkage, self.projected_xy_
        )
        errors = (Y[np.newaxis] - fitted) / (1.0 - leverage.T[:, :, np.newaxis])
        if w is None:
            self.loo_sum_ += (errors**2).sum(axis=1)
        else:
            self.loo_sum_ += np.einsum("n,anq->aq", w, errors**2)

    def finish(self):
        """Choose alpha (lowest mean leave-one-out error over outputs) and set the fit."""
        loo_mse = self.loo_sum_ / self.n_
        best = int(np.argmin(loo_mse.mean(axis=1)))
        self.alpha_ = float(self.alphas[best])
        self.loo_rmse_ = np.sqrt(loo_mse[best])
        self.coef_, self.intercept_ = self._solution(self.alpha_)
        return self

    def _solution(self, alpha):
        """coef (n_outputs, n_features) and intercept (n_outputs,) for ``alpha``."""
        weights = self.vectors_ @ (self.projected_xy_ / (self.eigenvalues_ + alpha)[:, np.newaxis])
        weights = weights / self.scale_x_[:, np.newaxis]
        return weights.T, self.mean_y_ - self.mean_x_ @ weights


class ChangeBasis:
    """The linear part's regression written in changes from the targets' last values.

    The linear part reads rows ``F`` of shape (n, n_steps * n_features +
    n_known): the window's last ``n_steps`` steps, step by step, then the
    known-future values. Output ``k`` continues feature ``columns[k]``: in the
    scaled units of the outputs, that feature's value at the window's last step
    is ``F[:, last] * ratio[k] + shift[k]``. The change regression reads every
    feature's earlier steps less its last step (and the known future), and
    forecasts each output less its feature's last value, so that its penalty
    shrinks towards "no change" where a regression on the levels shrinks towards
    the training mean.

    Parameters
    ----------
    n_steps, n_features, n_known : int
    columns : sequence of int, one per output
    ratio, shift : array-like of shape (n_outputs,)
    """

    def __init__(self, n_steps, n_features, n_known, columns, ratio, shift):
        self.n_steps, self.n_features, self.n_known = n_steps, n_features, n_known
        self.columns = np.asarray(columns, dtype=int)
        self.ratio = np.asarray(ratio, dtype=np.float64)
        self.shift = np.asarray(shift, dtype=np.float64)

    def _last(self, F):
        start = (self.n_steps - 1) * self.n_features
        return F[:, start : start + self.n_features]

    def rows(self, F, T):
        """The change regression's (inputs, targets) from the linear part's rows."""
        last = self._last(F)
        n_earlier = (self.n_steps - 1) * self.n_features
        changes = F[:, :n_earlier] - np.tile(last, self.n_steps - 1)
        inputs = np.concatenate([changes, F[:, self.n_steps * self.n_features :]], axis=1)
        return inputs, T - (last[:, self.columns] * self.ratio + self.shift)

    def to_levels(self, coef, intercept):
        """The change regression's (coef, intercept) as a map of ``F`` to the outputs."""
        n_outputs = coef.shape[0]
        n_earlier = (self.n_steps - 1) * self.n_features
        earlier = coef[:, :n_earlier]
        last = -earlier.reshape(n_outputs, self.n_steps - 1, self.n_features).sum(axis=1)
        last[np.arange(n_outputs), self.columns] += self.ratio
        levels = np.concatenate([earlier, last, coef[:, n_earlier:]], axis=1)
        return levels, intercept + self.shift


LINEAR_KINDS = ("levels", "changes", "both")


class LinearPart:
    """The linear part's ridge regressions, fitted from batches, and their average.

    ``kind`` "levels" regresses the outputs on the window's values (alpha by
    leave-one-out error, as ``StreamingRidge``); "changes" regresses them in
    ``basis``'s changes from their last values, on standardised changes;
    "both" averages the two forecasts. Call ``add`` on every batch, ``solve``,
    ``add_loo`` on every batch again, ``finish``; then read ``coef_``,
    ``intercept_``, ``alphas_`` and ``loo_rmse_`` (for "both", the root of the
    two regressions' mean leave-one-out squared error, a bound on their
    average's). ``refit`` fits again with the chosen alphas.

    Parameters
    ----------
    kind : {"levels", "changes", "both"}
    basis : ChangeBasis or None
        Needed unless ``kind`` is "levels".
    alphas : array-like, default=DEFAULT_ALPHAS
    """

    def __init__(self, kind="levels", basis=None, alphas=DEFAULT_ALPHAS):
        if kind not in LINEAR_KINDS:
            raise ValueError(f"kind must be one of {LINEAR_KINDS}, got {kind!r}.")
        if kind != "levels" and basis is None:
            raise ValueError(f"kind={kind!r} needs a ChangeBasis.")
        self.kind = kind
        self.basis = basis
        self.alphas = alphas
        self._regressions = []
        if kind in ("levels", "both"):
            self._regressions.append((None, StreamingRidge(alphas)))
        if kind in ("changes", "both"):
            self._regressions.append((basis, StreamingRidge(alphas, standardize=True)))

    @property
    def n_(self):
        return self._regressions[0][1].n_

    @staticmethod
    def _rows(basis, F, T):
        return (F, T) if basis is None else basis.rows(F, T)

    def _feed(self, method, F, T, w):
        for basis, ridge in self._regressions:
            getattr(ridge, method)(*self._rows(basis, F, T), w)

    def add(self, F, T, w=None):
        self._feed("add", F, T, w)

    def solve(self):
        for _, ridge in self._regressions:
            ridge.solve()
        return self

    def add_loo(self, F, T, w=None):
        self._feed("add_loo", F, T, w)

    def finish(self):
        for _, ridge in self._regressions:
            ridge.finish()
        self.alphas_ = tuple(ridge.alpha_ for _, ridge in self._regressions)
        self.loo_rmse_ = self._regressions[0][1].loo_rmse_
        if len(self._regressions) > 1:
            self.loo_rmse_ = np.sqrt(np.mean([r.loo_rmse_**2 for _, r in self._regressions], axis=0))
        self.coef_, self.intercept_ = self._average(
            [ridge._solution(ridge.alpha_) for _, ridge in self._regressions]
        )
        # The sums (n_features^2 each) are not kept: refit starts anew.
        self._regressions = [(basis, None) for basis, _ in self._regressions]
        return self

    def _average(self, solutions):
        in_levels = [
            solution if basis is None else basis.to_levels(*solution)
            for (basis, _), solution in zip(self._regressions, solutions)
        ]
        coef = np.mean([c for c, _ in in_levels], axis=0)
        intercept = np.mean([i for _, i in in_levels], axis=0)
        return coef, intercept

    def refit(self, batches):
        """(coef, intercept) fitted again on ``batches`` of ``(F, T, w)`` with ``alphas_``."""
        ridges = [
            StreamingRidge([alpha], standardize=basis is not None)
            for (basis, _), alpha in zip(self._regressions, self.alphas_)
        ]
        for F, T, w in batches:
            for (basis, _), ridge in zip(self._regressions, ridges):
                ridge.add(*self._rows(basis, F, T), w)
        return self._average(
            [ridge.solve()._solution(alpha) for ridge, alpha in zip(ridges, self.alphas_)]
        )
