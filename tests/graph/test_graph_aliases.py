"""Graph ops answer for the edge_index as it is at the call, whatever aliases wrote to it since an earlier
call (numpy views, .data, DLPack, storage copies): the old build cache keyed by the version counter missed
those writes and answered for the old graph. And tensors made under torch.inference_mode work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rankcore
from rankcore.reference.walks import boundary_reference, count_walks_reference, walk_index_reference
from rankcore.reference.wis import wis_reference


def _path_graph(n):
    u = torch.arange(n - 1)
    return torch.stack([torch.cat([u, u + 1]), torch.cat([u + 1, u])])


def _writers():
    """Ways to write into an edge_index without bumping its version counter."""
    def via_numpy(ei, new):
        ei.numpy()[:] = new.numpy()

    def via_from_numpy(ei, new):  # the caller made ei with torch.from_numpy and writes the array
        np.copyto(ei._base_array, new.numpy())

    def via_data(ei, new):
        ei.data.copy_(new)

    def via_dlpack(ei, new):
        torch.from_dlpack(torch.utils.dlpack.to_dlpack(ei)).copy_(new)

    def via_storage(ei, new):
        alias = torch.empty(0, dtype=ei.dtype).set_(ei.untyped_storage(), 0, ei.shape, ei.stride())
        alias.copy_(new)
    return {"numpy": via_numpy, "from_numpy": via_from_numpy, "data": via_data, "dlpack": via_dlpack,
            "storage": via_storage}


@pytest.mark.parametrize("how", sorted(_writers()))
def test_every_op_sees_writes_through_aliases(how):
    n = 6
    before = _path_graph(n)
    after = before.clone()
    after[:, :2] = torch.tensor([[0, 5], [5, 0]])  # edge 0-1 becomes 0-5 (a cycle-ish graph)
    after[:, n - 1:n + 1] = torch.tensor([[5, 0], [0, 5]])
    arr = before.numpy().copy()
    ei = torch.from_numpy(arr) if how == "from_numpy" else before.clone()
    if how == "from_numpy":
        ei._base_array = arr
    held = rankcore.Graph.from_input(ei, n)  # a live Graph of the tensor: what made the old cache answer
    first = rankcore.count_walks(ei, n, 3)
    assert torch.equal(first, count_walks_reference(before, n, 3))
    _writers()[how](ei, after)
    assert torch.equal(ei, after)
    assert torch.equal(rankcore.count_walks(ei, n, 3), count_walks_reference(after, n, 3))
    mask = torch.tensor([1, 1, 1, 0, 0, 0], dtype=torch.bool)
    assert torch.equal(rankcore.boundary(ei, n, mask), boundary_reference(after, n, mask))
    assert int(rankcore.walk_index(ei, n, mask, 3)) == int(walk_index_reference(after, n, mask, 3))
    assert torch.equal(rankcore.wis(ei, n, 2).removed, wis_reference(after, n, 2))
    del held


def test_inference_mode_tensors():
    with torch.inference_mode():
        ei = _path_graph(5)
        mask = torch.tensor([1, 1, 0, 0, 0], dtype=torch.bool)
        walks = rankcore.count_walks(ei, 5, 3)
        b = rankcore.boundary(ei, 5, mask)
        wi = rankcore.walk_index(ei, 5, mask, 2)
        res = rankcore.sparsify(ei, 5, "wis", num_remove=1)
        rnd = rankcore.sparsify(ei, 5, "random", num_remove=2)
        g = rankcore.Graph.from_input(ei, 5)
    plain = _path_graph(5)
    assert torch.equal(walks, count_walks_reference(plain, 5, 3))
    assert torch.equal(b, boundary_reference(plain, 5, mask))
    assert int(wi) == int(walk_index_reference(plain, 5, mask, 2))
    assert torch.equal(res.removed, wis_reference(plain, 5, 1))
    assert torch.equal(rnd.keep_mask, rankcore.sparsify(plain, 5, "random", num_remove=2).keep_mask)
    assert g.num_edges == 8
