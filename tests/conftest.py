import os

import pytest
import torch
from hypothesis import settings

# Strict settings: deterministic kernels; warnings are errors (pyproject).
torch.use_deterministic_algorithms(True)
settings.register_profile("default", deadline=None, max_examples=30, derandomize=True)
settings.register_profile("thorough", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    # The tests run tiny models: one thread is fastest, and on a busy 2-core machine two threads per process
    # spin against each other (fits measured 7-100x slower).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
