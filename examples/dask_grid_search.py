"""Grid-search a window Pipeline on a Dask cluster, unchanged sklearn code.

``GridSearchCV`` sends its fits through joblib; joblib's ``dask`` backend sends
them to the cluster's workers. Here the cluster is a ``LocalCluster`` of worker
processes on this machine; to use a real cluster, change the one line marked
below to ``Client("tcp://SCHEDULER-ADDRESS:8786")``. Workers need sklearn-rnn
installed; each trains with one torch thread (Dask sets ``OMP_NUM_THREADS=1``
in its workers), so the cores are shared, not oversubscribed.

Run: ``python examples/dask_grid_search.py`` (``SKLEARN_RNN_FAST=1`` for a
smaller grid).
"""

# %%
import os
import time

import joblib
import numpy as np
from distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_rnn import LSTMRegressor, SlidingWindowTransformer

FAST = os.environ.get("SKLEARN_RNN_FAST") == "1"

# %%
rng = np.random.RandomState(0)
t = np.arange(1200 if not FAST else 400)
series = np.sin(2 * np.pi * t / 50) + 0.5 * np.sin(2 * np.pi * t / 7) + 0.1 * rng.normal(size=len(t))
rows, target = series[:-1].reshape(-1, 1), series[1:]  # row t -> the value at t + 1

# One network per candidate in CI's fast run (the default fits four one step ahead).
networks = 1 if FAST else "auto"
pipeline = make_pipeline(
    StandardScaler(),
    SlidingWindowTransformer(),
    LSTMRegressor(hidden_size=16, n_networks=networks, random_state=0),
)
grid = {
    "slidingwindowtransformer__window_size": [7, 25] if FAST else [7, 25, 50],
    "lstmregressor__hidden_size": [16] if FAST else [16, 32],
}
search = GridSearchCV(
    pipeline, grid, cv=TimeSeriesSplit(3), scoring="neg_mean_absolute_error", verbose=1
)

# %%
if __name__ == "__main__":
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster)  # a real cluster: client = Client("tcp://SCHEDULER-ADDRESS:8786")
    print(f"Dask workers: {len(client.scheduler_info()['workers'])}")
    start = time.perf_counter()
    with joblib.parallel_backend("dask"):
        search.fit(rows, target)
    print(f"Searched {len(search.cv_results_['params'])} settings x 3 folds in "
          f"{time.perf_counter() - start:.1f} s")
    print(f"Best: {search.best_params_}, MAE {-search.best_score_:.4f}")
    client.close()
    cluster.close()
