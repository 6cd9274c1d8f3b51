"""Scale out: Dask and loky grid searches, and Accelerate/DDP training on the CPU."""

import os
import re
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline

from sklearn_rnn import GRUClassifier, LSTMRegressor, SlidingWindowTransformer

series = np.sin(np.arange(300) / 6.0) + 0.05 * np.random.RandomState(0).normal(size=300)
ROWS, TARGET = series[:-1].reshape(-1, 1), series[1:]


def window_search(**kwargs):
    pipe = make_pipeline(
        SlidingWindowTransformer(8),
        LSTMRegressor(hidden_size=8, max_epochs=15, n_networks=1, random_state=0),
    )
    grid = {"slidingwindowtransformer__window_size": [4, 12], "lstmregressor__hidden_size": [4, 8]}
    return GridSearchCV(pipe, grid, cv=TimeSeriesSplit(2), **kwargs)


def torch_threads_scorer(estimator, X, y):
    return torch.get_num_threads()


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_grid_search_on_a_dask_cluster_matches_the_sequential_search(dask_client):
    sequential = window_search(n_jobs=1).fit(ROWS, TARGET)
    with joblib.parallel_backend("dask"):
        on_dask = window_search().fit(ROWS, TARGET)
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    # The fits ran in the workers, not here.
    assert any(dask_client.run(lambda: True).values())


def test_dask_workers_train_with_one_torch_thread_each(dask_client, rng):
    X = rng.normal(size=(40, 6, 1))
    with joblib.parallel_backend("dask"):
        search = GridSearchCV(
            LSTMRegressor(hidden_size=4, max_epochs=1),
            {"lr": [0.01, 0.001]},
            cv=2,
            scoring=torch_threads_scorer,
        ).fit(X, X[:, -1, 0])
    assert set(search.cv_results_["mean_test_score"]) == {1.0}


def test_loky_workers_share_the_cores_instead_of_oversubscribing(rng):
    X = rng.normal(size=(40, 6, 1))
    search = GridSearchCV(
        LSTMRegressor(hidden_size=4, max_epochs=1),
        {"lr": [0.01, 0.001]},
        cv=2,
        scoring=torch_threads_scorer,
        n_jobs=2,
    ).fit(X, X[:, -1, 0])
    per_worker = max(1, (os.cpu_count() or 1) // 2)
    assert set(search.cv_results_["mean_test_score"]) == {float(per_worker)}


def test_accelerate_training_path_in_one_process(rng):
    accelerate = pytest.importorskip("accelerate")
    X = rng.normal(size=(120, 8, 2))
    y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
    params = dict(hidden_size=8, random_state=0)
    first = GRUClassifier(accelerator=accelerate.Accelerator(cpu=True), **params).fit(X, y)
    second = GRUClassifier(accelerator=accelerate.Accelerator(cpu=True), **params).fit(X, y)
    assert type(first.net_).__name__ == "AcceleratedNet"
    assert first.score(X, y) > 0.9
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert first.device_ == "cpu"


DDP_SCRIPT = textwrap.dedent(
    """
    import numpy as np, torch
    from accelerate import Accelerator
    from sklearn_rnn import LSTMRegressor

    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(256, 8, 2))
    y = X[:, -1, 0] + X[:, -3, 1]
    reg = LSTMRegressor(hidden_size=16, max_epochs=20, accelerator=accelerator, random_state=0)
    reg.fit(X, y)
    weights = torch.cat([p.detach().flatten() for p in reg.net_.module_.parameters()])
    print(
        f"rank={accelerator.process_index} world={accelerator.num_processes} "
        f"batches={reg.net_.history[-1, 'train_batch_count']} score={reg.score(X, y):.4f} "
        f"weights={weights.sum().item():.6f}",
        flush=True,
    )
    """
)


def test_data_parallel_training_with_two_processes_on_the_cpu(tmp_path):
    pytest.importorskip("accelerate")
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    result = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
            "--master_addr", "127.0.0.1", "--master_port", "29517", str(script),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # The two processes share stdout, so their reports may run into one line.
    pattern = r"rank=(\d+) world=(\d+) batches=(\d+) score=(\d+\.\d{4}) weights=(-?\d+\.\d{6})"
    reports = sorted(re.findall(pattern, result.stdout))
    assert len(reports) == 2, result.stdout
    keys = ("rank", "world", "batches", "score", "weights")
    fields = [dict(zip(keys, report)) for report in reports]
    assert {f["world"] for f in fields} == {"2"}
    # 256 samples in batches of 32 are 8 batches: each process trains on half of them,
    # and gradients are averaged, so both end with the same weights.
    assert {f["batches"] for f in fields} == {"4"}
    assert fields[0]["weights"] == fields[1]["weights"]
    assert float(fields[0]["score"]) > 0.8


def test_grid_search_on_ray_matches_the_sequential_search():
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        register_ray()
        sequential = window_search(n_jobs=1).fit(ROWS, TARGET)
        with joblib.parallel_backend("ray"):
            on_ray = window_search().fit(ROWS, TARGET)
    finally:
        ray.shutdown()
    assert on_ray.best_params_ == sequential.best_params_
    np.testing.assert_array_equal(
        on_ray.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
