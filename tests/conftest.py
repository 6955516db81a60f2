import pytest
import torch

import rankcore


def _cuda_usable() -> bool:
    return rankcore.build_info()["cuda_built"] and torch.cuda.is_available()


@pytest.fixture(scope="session", params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    """Runs a test on the CPU and, where rankcore was built with CUDA and a GPU is present, on CUDA."""
    if request.param == "cuda" and not _cuda_usable():
        pytest.skip("rankcore was built without CUDA or no GPU is present")
    return torch.device(request.param)
