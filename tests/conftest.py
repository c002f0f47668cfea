import os

import pytest
import torch
from hypothesis import settings

# Strict settings: deterministic kernels; warnings are errors (pyproject).
torch.use_deterministic_algorithms(True)
settings.register_profile("default", deadline=None, max_examples=30, derandomize=True)
settings.register_profile("thorough", deadline=None, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser):
    # Tests on trained models (@pytest.mark.trained) must hold on any CPU: CI runs them again with another
    # thread count and without oneDNN, whose kernels (and so whose rounding) differ from machine to machine.
    group = parser.getgroup("rnnkit")
    group.addoption("--torch-threads", type=int, default=1, metavar="N",
                    help="PyTorch intra-op threads for the tests (default: 1)")
    group.addoption("--no-onednn", action="store_true", help="run with torch.backends.mkldnn disabled")


@pytest.fixture(autouse=True, scope="session")
def _one_thread(request):
    # The tests run tiny models: one thread is fastest, and on a busy 2-core machine two threads per process
    # spin against each other (fits measured 7-100x slower).
    threads, onednn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(request.config.getoption("--torch-threads"))
    torch.backends.mkldnn.enabled = not request.config.getoption("--no-onednn")
    yield
    torch.set_num_threads(threads)
    torch.backends.mkldnn.enabled = onednn


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
