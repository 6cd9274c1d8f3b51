import os

# scikit-learn's array API check only runs with SciPy's array API support on, and
# SciPy reads this once, when it is first imported: set it before anything imports it.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _deterministic_single_thread():
    """Fixed seeds and one torch thread: fast, repeatable tests on small CI machines."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    yield
