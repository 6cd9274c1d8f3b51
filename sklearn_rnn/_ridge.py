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
    """

    def __init__(self, alphas=DEFAULT_ALPHAS):
        self.alphas = np.asarray(alphas, dtype=np.float64)
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
        projected = (X - self.mean_x_) @ self.vectors_  # (n, p)
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
        return weights.T, self.mean_y_ - self.mean_x_ @ weights


def ridge_fit(batches, alpha):
    """Ridge regression with a fixed ``alpha`` from ``(X, Y, w)`` batches (``w``:
    sample weights or None): (coef, intercept)."""
    ridge = StreamingRidge(alphas=[alpha])
    for X, Y, w in batches:
        ridge.add(X, Y, w)
    return ridge.solve()._solution(alpha)
