import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_single_thread():
    """Fixed seeds and one torch thread: fast, repeatable tests on small CI machines."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
