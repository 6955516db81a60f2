"""Shared fixtures for the benchmarks: seeded power-law graphs, built once per session.

Sizes are chosen with RANKCORE_BENCH_SIZES (comma-separated, default "100k,1M,10M"): the number of
directed edge columns of a Chung-Lu power-law graph with 10 edges per vertex on average.
"""

import os

import pytest
import torch

import rankcore
from rankcore.datasets import power_law_graph

SIZES = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}


def selected(variable: str, default: str, known) -> list[str]:
    """The comma-separated names in $variable (default ``default``), each one of ``known``."""
    names = os.environ.get(variable, default).split(",")
    unknown = [s for s in names if s not in known]
    if unknown:
        raise ValueError(f"{variable}: unknown {unknown}; choose from {list(known)}")
    return names


def selected_sizes() -> list[str]:
    return selected("RANKCORE_BENCH_SIZES", "100k,1M,10M", SIZES)


_cache: dict = {}


def power_law(size: str) -> rankcore.Graph:
    """The normalised CPU Graph of the named size (10 edge columns per vertex, exponent 2.5, seed 0)."""
    if size not in _cache:
        columns = SIZES[size]
        n = columns // 10
        _cache[size] = rankcore.Graph.from_input(power_law_graph(n, columns // 2, seed=0), n)
    return _cache[size]


@pytest.fixture(scope="session", params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request):
    if request.param == "cuda" and not (rankcore.build_info()["cuda_built"] and torch.cuda.is_available()):
        pytest.skip("rankcore was built without CUDA or no GPU is present")
    return torch.device(request.param)
