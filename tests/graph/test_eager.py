"""rankcore.graph.eager.eager_only: the graph entry points run eagerly under torch.compile, and importing rankcore
does not import torch._dynamo (0.9 s)."""

import subprocess
import sys

import pytest
import torch

import rankcore


def test_import_does_not_load_dynamo():
    code = "import sys, rankcore; print('torch._dynamo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_entry_points_run_eagerly_under_compile():
    ei = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])

    def f(x):
        walks = rankcore.count_walks(ei, 3, 3)
        closed = rankcore.closed_walk_counts(ei, 3, 3)
        removed = rankcore.wis(ei, 3, 1, depth=3).removed
        return x * walks.sum() + closed.sum() + removed.sum()

    x = torch.ones(2, dtype=torch.int64)
    assert torch.equal(torch.compile(f, backend="eager")(x), f(x))


@pytest.mark.slow
def test_overflow_stays_an_overflow_error_when_dynamo_is_loaded_first():
    import torch._dynamo  # noqa: F401  (the decorator then disables at the first call)

    ei = torch.tensor([[0, 1], [1, 0]])
    with pytest.raises(OverflowError, match="length 63 "):
        torch.compile(lambda: rankcore.count_walks(ei, 2, 100), backend="eager")()
