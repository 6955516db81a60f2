"""Every graph entry point rejects bad input with a clear ValueError / TypeError / OverflowError."""

import pytest
import torch

import rankcore

PATH = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
PART = torch.tensor([True, False, False])


@pytest.mark.parametrize("edge_index, num_nodes, error, match", [
    (PATH.float(), 3, TypeError, "integer dtype"),
    (PATH.bool(), 3, TypeError, "integer dtype"),
    (PATH.t(), 3, ValueError, r"shape \[2, m\]"),
    (PATH[0], 3, ValueError, r"shape \[2, m\]"),
    ("0 1", 3, TypeError, "edge_index"),
    (torch.tensor([[0, 1], [1, 3]]), 3, ValueError, r"column 1 \(1 -> 3\).*outside \[0, 3\)"),
    (torch.tensor([[0, -1], [1, 0]]), 3, ValueError, r"column 1 \(-1 -> 0\)"),
    # inferred num_nodes from ids that are all negative: the bad column is named, not "num_nodes must be >= 0"
    (torch.tensor([[-5], [-3]]), None, ValueError, r"column 0 \(-5 -> -3\).*outside"),
    (PATH, -1, ValueError, "num_nodes must be >= 0"),
    (PATH, 3.0, TypeError, "num_nodes must be an int"),
    (PATH, True, TypeError, "num_nodes must be an int"),
    (PATH, 2**31, ValueError, "at most 2\\^31 - 1"),
])
def test_bad_graphs(edge_index, num_nodes, error, match):
    with pytest.raises(error, match=match):
        rankcore.count_walks(edge_index, num_nodes, 2)
    with pytest.raises(error, match=match):
        rankcore.walk_index(edge_index, num_nodes, PART, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"length": -1}, ValueError, "length must be >= 0"),
    ({"length": 2.5}, TypeError, "length must be an int"),
    ({"length": 2, "sources": torch.tensor([1, 0, 0])}, TypeError, "bool mask"),
    ({"length": 2, "sources": torch.ones(4, dtype=torch.bool)}, ValueError, r"shape \[3\] or \[k, 3\]"),
    ({"length": 2, "sources": torch.ones(2, 2, 3, dtype=torch.bool)}, ValueError, "shape"),
    ({"length": 2, "sources": [True, False, True]}, TypeError, "bool tensor"),
    ({"length": 2, "dtype": torch.float32}, ValueError, "dtype must be torch.int64"),
])
def test_bad_count_walks_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        rankcore.count_walks(PATH, 3, **kwargs)


def test_directed_input_where_undirected_is_required():
    directed = torch.tensor([[0, 1, 1], [1, 0, 2]])
    with pytest.raises(ValueError, match=r"column 2 \(1 -> 2\) has no reverse edge \(2 -> 1\).*symmetrize=True"):
        rankcore.walk_index(directed, 3, PART, 2)
    with pytest.raises(ValueError, match="symmetrize=True"):
        rankcore.boundary(directed, 3, PART)
    # symmetrize=True adds the missing direction and agrees with the explicitly symmetric input.
    assert torch.equal(rankcore.walk_index(directed, 3, PART, 3, symmetrize=True),
                       rankcore.walk_index(PATH, 3, PART, 3))
    # A directed Graph object is rejected too.
    graph = rankcore.Graph.from_input(directed, 3)
    assert not graph.undirected
    with pytest.raises(ValueError, match="undirected"):
        rankcore.boundary(graph, 3, PART)
    # Walk counting accepts directed graphs.
    rankcore.count_walks(directed, 3, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"depth": 0}, ValueError, "depth must be >= 1"),
    ({"depth": "2"}, TypeError, "depth must be an int"),
    ({"depth": 2, "target": 3}, ValueError, r"target must be a vertex in \[0, 3\)"),
    ({"depth": 2, "target": -1}, ValueError, "target must be >= 0"),
    ({"depth": 2, "target": 1.0}, TypeError, "target must be an int"),
])
def test_bad_walk_index_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        rankcore.walk_index(PATH, 3, PART, **kwargs)


def test_bad_partitions():
    with pytest.raises(TypeError, match="bool mask"):
        rankcore.walk_index(PATH, 3, torch.tensor([1, 0, 0]), 2)
    with pytest.raises(ValueError, match=r"shape \[3\]"):
        rankcore.boundary(PATH, 3, torch.ones(5, dtype=torch.bool))


def test_num_nodes_mismatch_with_graph_object():
    graph = rankcore.Graph.from_input(PATH, 3)
    with pytest.raises(ValueError, match="num_nodes=4 but the Graph has 3"):
        rankcore.count_walks(graph, 4, 2)


def test_native_op_rejects_bad_csr():
    op = torch.ops.rankcore.walk_count.default
    start = torch.ones(3, 1, dtype=torch.int64)
    with pytest.raises(IndexError, match="out of range"):
        op(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 7], dtype=torch.int32), start, 1)
    with pytest.raises(ValueError, match="non-decreasing"):
        op(torch.tensor([0, 2, 1, 2]), torch.tensor([0, 1], dtype=torch.int32), start, 1)
    with pytest.raises(ValueError, match="rowptr must start at 0"):
        op(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1], dtype=torch.int32), start, 1)
    with pytest.raises(ValueError, match="non-negative"):
        op(torch.tensor([0, 0, 0, 0]), torch.zeros(0, dtype=torch.int32), -start, 1)
    with pytest.raises(TypeError, match="int64 \\(exact\\) or float64"):
        op(torch.tensor([0, 0, 0, 0]), torch.zeros(0, dtype=torch.int32), start.float(), 1)
    with pytest.raises(ValueError, match="length must be >= 0"):
        op(torch.tensor([0, 0, 0, 0]), torch.zeros(0, dtype=torch.int32), start, -2)
    with pytest.raises(ValueError, match="start has 2 rows"):
        op(torch.tensor([0, 0, 0, 0]), torch.zeros(0, dtype=torch.int32), start[:2], 1)
