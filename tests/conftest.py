import sys
from pathlib import Path

import pytest
import torch

# The test folders mirror the package (tests/graph, tests/tensor, ...); their shared helpers (graphs.py) live
# here, beside this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import background  # noqa: E402
import rankcore


def pytest_collection_modifyitems(items):
    """tests/distributed last: its spawns run in the background (background.py) from the end of collection
    on and have the other tests' time to finish."""
    distributed = Path(__file__).resolve().parent / "distributed"
    items.sort(key=lambda item: distributed in Path(str(item.fspath)).resolve().parents)


def pytest_collection_finish(session):
    background.start(session.items)


def pytest_sessionfinish(session):
    background.stop()


@pytest.fixture(scope="session")
def background_result():
    """``background_result(name)``: what the background work registered as ``name`` returned (background.py);
    what it raised is raised again."""
    return background.result


def _cuda_usable() -> bool:
    return rankcore.build_info()["cuda_built"] and torch.cuda.is_available()


@pytest.fixture(scope="session", params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    """Runs a test on the CPU and, where rankcore was built with CUDA and a GPU is present, on CUDA."""
    if request.param == "cuda" and not _cuda_usable():
        pytest.skip("rankcore was built without CUDA or no GPU is present")
    return torch.device(request.param)
