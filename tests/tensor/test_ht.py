"""HT factorization: fused pooling ops, the model against the definition, hierarchical rank measures."""

import pytest
import torch

import rankcore  # noqa: F401
from rankcore.ops import ht_leaf_pool, ht_pool
from rankcore.reference import ht as ref
from rankcore.tensor import (HTFactorization, default_tree, hierarchical_effective_ranks, hierarchical_ranks,
                             ht_effective_ranks, ht_hierarchical_ranks)

CASES = [  # (shape, ranks, pool_size, tree)
    ((3, 4, 2, 3), (3, 4), 2, None),
    ((3, 4, 2, 3, 2), (3, 4, 2), 2, None),           # ragged: mode 4 pooled alone
    ((2, 3, 4, 2, 3, 2, 2), (3, 2), 3, None),
    ((2, 3, 2, 3), (2, 3), 2, ((0, 3), (1, 2))),     # custom tree: opposite modes
    ((4,), (5,), 2, None),                           # order 1
]


def _model(shape, ranks, pool, tree, device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return HTFactorization(shape, ranks, pool, tree, init_std=1.0, dtype=torch.float64, generator=gen).to(device)


def test_default_tree():
    assert default_tree(4, 2) == ((0, 1), (2, 3))
    assert default_tree(5, 2) == (((0, 1), (2, 3)), ((4,),))
    assert default_tree(7, 3) == ((0, 1, 2), (3, 4, 5), (6,))


def _assert_matches_definition(m, idx, out, gen):
    """out = m's entries at idx: value and every parameter's gradient equal the reference's."""
    leaves = [u.detach().clone().requires_grad_() for u in m.leaves]
    maps = {k: v.detach().clone().requires_grad_() for k, v in m.node_maps().items()}
    root = m.root.detach().clone().requires_grad_()
    expected = ref.ht_eval(m.tree, leaves, maps, root, idx)
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)
    g = torch.randn(out.shape, dtype=out.dtype, generator=gen).to(out.device)
    out.backward(g)
    expected.backward(g)
    for u, v in zip(m.leaves, leaves):
        torch.testing.assert_close(u.grad, v.grad, rtol=1e-9, atol=1e-11)
    for l, nodes in enumerate(m.mode_tree.levels[:-1]):
        for k, node in enumerate(nodes):
            torch.testing.assert_close(m.maps[l].grad[k], maps[node].grad, rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(m.root.grad, root.grad, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape,ranks,pool,tree", CASES, ids=str)
def test_forward_matches_definition(device, shape, ranks, pool, tree):
    m = _model(shape, ranks, pool, tree, device)
    gen = torch.Generator().manual_seed(1)
    idx = torch.stack([torch.randint(0, d, (37,), generator=gen) for d in shape], 1).to(device)
    out = m(idx)
    _assert_matches_definition(m, idx, out, gen)
    # tensor() agrees with entry-wise evaluation and with the reference's full tensor.
    full = m.tensor()
    torch.testing.assert_close(full[tuple(idx.T)], out.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(full, ref.ht_full(m.tree, list(m.leaves), m.node_maps(), m.root),
                               rtol=1e-10, atol=1e-12)


PATH_CASES = CASES[:4] + [
    ((3, 2, 2, 3, 2, 2, 3, 2), (4, 3, 5), 2, None),          # bilinear root after two GEMM levels
    ((2, 3, 2, 2, 3, 2), (3, 4), 3, None),                    # root with two children of three leaves
    ((2, 2, 3, 2, 2), (3, 2, 4, 2), 2, ((((0, 1),), ((2, 3),)), (((4,),),))),  # one-child nodes
    ((2,) * 16, (2, 3, 2, 3), 2, None),                        # distinct level-2 rows feed two more levels
    ((2, 3) * 6, (3, 2, 4, 2), 2, None),                       # ragged levels 3 and 4
]


@pytest.mark.parametrize("path", ["per-item", "level-1 tables", "tables + distinct level 2"])
@pytest.mark.parametrize("shape,ranks,pool,tree", PATH_CASES, ids=str)
def test_forward_paths_match_definition(device, shape, ranks, pool, tree, path):
    # forward() picks level-1 tables / distinct level-2 rows by batch size and device; every path (and
    # the two-child root's bilinear form) must agree with the definition in value and in every gradient.
    m = _model(shape, ranks, pool, tree, device, seed=3)
    if path != "per-item" and not m.maps:
        pytest.skip("a one-level tree has no level-1 map to tabulate")
    if path == "tables + distinct level 2" and not m._distinct_possible():
        pytest.skip("no level-2 map outside the bilinear root")
    gen = torch.Generator().manual_seed(4)
    # 60 items over few combinations: the distinct path really merges repeated rows
    idx = torch.stack([torch.randint(0, d, (60,), generator=gen) for d in shape], 1).to(device)
    out = m._forward(idx, level1_tables=path != "per-item", level2_distinct=path == "tables + distinct level 2")
    _assert_matches_definition(m, idx, out, gen)


def test_forward_uses_tables_only_when_they_pay():
    m = HTFactorization([8] * 16, 4)
    assert m._tables_pay(4096) and m._tables_pay(128) and not m._tables_pay(127)
    assert not HTFactorization([4, 4], 3)._tables_pay(10_000)  # no level-1 map (the root pools the leaves)
    assert not m._tables_pay(4096, "cuda")  # measured slower on an H100
    idx = torch.zeros(4096, 16, dtype=torch.long)
    assert m._distinct_pays(idx) and not m._distinct_pays(idx[:4095])  # level-2 nodes: 8^4 combinations
    assert not HTFactorization([8] * 8, 4)._distinct_possible()  # level 2 feeds the bilinear root


def test_out_of_range_index_on_the_table_path():
    m = HTFactorization([3] * 4, 2)
    idx = torch.zeros(64, 4, dtype=torch.long)
    assert m._tables_pay(idx.shape[0])
    idx[5, 2] = 3  # combined with mode 3 it would still be a valid table row: must be caught first
    with pytest.raises(IndexError, match=r"indices\[5, 2\] = 3 is out of range for leaves\[2\]"):
        m(idx)
    idx[5, 2] = -1
    with pytest.raises(IndexError, match=r"indices\[5, 2\] = -1"):
        m(idx)


def test_float32_large_batch_cpu():
    m = HTFactorization([8] * 16, 16, init_std=0.5, generator=torch.Generator().manual_seed(0))
    idx = torch.randint(0, 8, (3000, 16), generator=torch.Generator().manual_seed(1))
    leaves = [u.detach().double() for u in m.leaves]
    expected = ref.ht_eval(m.tree, leaves, {k: v.detach().double() for k, v in m.node_maps().items()},
                           m.root.detach().double(), idx)
    torch.testing.assert_close(m(idx).double(), expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


def test_gradcheck_ops(device):
    gen = torch.Generator().manual_seed(0)
    leaves = [torch.randn(d, 4, generator=gen, dtype=torch.float64).to(device).requires_grad_() for d in (3, 2, 4, 3, 2)]
    idx = torch.stack([torch.randint(0, u.shape[0], (9,), generator=gen) for u in leaves], 1).to(device)
    modes, offsets = [3, 1, 0, 4, 2], [0, 2, 3, 5]
    assert torch.autograd.gradcheck(lambda *ls: ht_leaf_pool(list(ls), idx, modes, offsets), leaves)
    a = torch.randn(6, 5, 3, generator=gen, dtype=torch.float64).to(device).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: ht_pool(x, [0, 3, 4, 6]), (a,))
    # A zero child must give the exact product of the others, not NaN (no division).
    z = a.detach().clone()
    z[0] = 0
    z.requires_grad_()
    ht_pool(z, [0, 3, 4, 6]).sum().backward()
    torch.testing.assert_close(z.grad[0], (z[1] * z[2]).detach())


def test_gradcheck_model(device):
    m = _model((2, 3, 2, 2, 3), (2, 3, 2), 2, None, device)
    idx = torch.tensor([[0, 1, 1, 0, 2], [1, 2, 0, 1, 0], [1, 0, 1, 1, 1]], device=device)
    names = [n for n, _ in m.named_parameters()]

    def f(*ps):
        return torch.func.functional_call(m, dict(zip(names, ps)), (idx,))

    assert torch.autograd.gradcheck(f, [p.detach().clone().requires_grad_() for p in m.parameters()])


def test_opcheck(device):
    gen = torch.Generator().manual_seed(0)
    leaves = [torch.randn(d, 4, generator=gen).to(device).requires_grad_() for d in (3, 2, 4)]
    idx = torch.stack([torch.randint(0, u.shape[0], (6,), generator=gen) for u in leaves], 1).to(device)
    torch.library.opcheck(torch.ops.rankcore.ht_leaf_pool.default, (leaves, idx, [0, 1, 2], [0, 2, 3]))
    a = torch.randn(4, 6, 3, generator=gen).to(device).requires_grad_()
    torch.library.opcheck(torch.ops.rankcore.ht_pool.default, (a, [0, 2, 4]))


def test_local_component_norms_from_definition():
    m = _model((2, 3, 2, 2), (3, 2), 2, None, "cpu")
    norms = m.local_component_norms()
    assert [tuple(n.shape) for n in norms] == [(2, 3), (1, 2)]
    u, w, root = m.leaves, m.maps[0], m.root
    # Node (0, 1), component r: ||U_0[:, r]|| ||U_1[:, r]|| ||row r of W_(0,1)||.
    for r in range(3):
        want = u[0][:, r].norm() * u[1][:, r].norm() * w[0][r].norm()
        torch.testing.assert_close(norms[0][0, r], want.detach())
    # Root, component r: ||W_(0,1)[:, r]|| ||W_(2,3)[:, r]|| |w[r]|.
    for r in range(2):
        want = w[0][:, r].norm() * w[1][:, r].norm() * root[r].abs()
        torch.testing.assert_close(norms[1][0, r], want.detach())


def _outer(*vs):
    out = vs[0]
    for v in vs[1:]:
        out = out.unsqueeze(-1) * v
    return out


def test_hierarchical_ranks_known_tensors():
    gen = torch.Generator().manual_seed(0)
    tree = ((0, 1), (2, 3))
    # W = A(i0, i1) B(i2, i3), rank A = 3, rank B = 2: [[W]]_{0,1} has rank 1, the leaves rank(A), rank(B).
    a = torch.randn(4, 3, generator=gen, dtype=torch.float64) @ torch.randn(3, 5, generator=gen, dtype=torch.float64)
    b = torch.randn(4, 2, generator=gen, dtype=torch.float64) @ torch.randn(2, 6, generator=gen, dtype=torch.float64)
    w = a[:, :, None, None] * b[None, None]
    assert hierarchical_ranks(w, tree) == {(0,): 3, (1,): 3, (2,): 2, (3,): 2, (0, 1): 1, (2, 3): 1}
    # A sum of 2 generic rank-one tensors: rank 2 at every node.
    w2 = sum(_outer(*[torch.randn(d, generator=gen, dtype=torch.float64) for d in (4, 5, 4, 6)]) for _ in range(2))
    assert set(hierarchical_ranks(w2, tree).values()) == {2}
    eff = hierarchical_effective_ranks(w, tree)
    assert abs(eff[(0, 1)] - 1.0) < 1e-9 and 1.0 < eff[(0,)] <= 3.0


@pytest.mark.parametrize("shape,ranks,pool,tree", CASES[:4], ids=str)
def test_factorized_ranks_match_full_tensor(shape, ranks, pool, tree):
    m = _model(shape, ranks, pool, tree, "cpu", seed=3)
    full = m.tensor()
    assert ht_hierarchical_ranks(m) == hierarchical_ranks(full, m.mode_tree)
    for k, v in ht_effective_ranks(m).items():
        assert abs(v - hierarchical_effective_ranks(full, m.mode_tree)[k]) < 1e-6


def test_factorized_ranks_low_width_and_large_order():
    # Widths (1, 1) bound every matricization rank by 1; zeroing one root entry of width 2 drops the
    # root's children to rank 1 while the leaves keep rank 2.
    m = _model((3, 3, 3, 3), (2, 2), 2, None, "cpu")
    with torch.no_grad():
        m.root[1] = 0
    ranks = ht_hierarchical_ranks(m)
    assert ranks[(0, 1)] == 1 and ranks[(2, 3)] == 1 and ranks[(0,)] == 2
    assert ranks == hierarchical_ranks(m.tensor(), m.mode_tree)
    # Order 64: no full tensor (2^64 entries); every rank is bounded by the widths.
    big = HTFactorization([2] * 64, (2, 3, 3, 3, 3, 3), init_std=1.0, dtype=torch.float64)
    r = ht_hierarchical_ranks(big)
    assert len(r) == 64 + 62 and all(1 <= v <= 3 for v in r.values())
    assert all(r[(n,)] == 2 for n in range(64))


def test_bad_inputs():
    with pytest.raises(ValueError, match="exactly once"):
        HTFactorization((2, 2, 2), 2, tree=((0, 1), (1, 2)))
    with pytest.raises(ValueError, match="same depth"):
        HTFactorization((2, 2, 2), 2, tree=((0, 1), 2))
    with pytest.raises(ValueError, match="ranks must be 2"):
        HTFactorization((2, 2, 2, 2), (2, 2, 2))
    with pytest.raises(ValueError, match="pool_size"):
        HTFactorization((2, 2, 2, 2), 2, pool_size=1)
    with pytest.raises(TypeError):
        HTFactorization((2, 2), 2, tree=((0, "a"),))
    m = HTFactorization((2, 3), 2)
    with pytest.raises(ValueError, match=r"\[B, 2\]"):
        m(torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(TypeError):
        m(torch.zeros(3, 2))
    with pytest.raises(IndexError, match=r"indices\[1, 1\] = 3 is out of range for leaves\[1\]"):
        m(torch.tensor([[0, 0], [1, 3]]))
    leaves = [torch.randn(2, 3), torch.randn(2, 3)]
    idx = torch.zeros(4, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="appears twice"):
        ht_leaf_pool(leaves, idx, [0, 0], [0, 2])
    with pytest.raises(ValueError, match="strictly increasing"):
        ht_leaf_pool(leaves, idx, [0, 1], [0, 0, 2])
    with pytest.raises(ValueError, match="offsets\\[-1\\]"):
        ht_pool(torch.randn(3, 4, 2), [0, 2])
    with pytest.raises(ValueError, match="R = 3"):
        ht_leaf_pool([torch.randn(2, 3), torch.randn(2, 4)], idx, [0, 1], [0, 2])
    with pytest.raises(TypeError, match="float32 or float64"):
        ht_pool(torch.ones(2, 2, 2, dtype=torch.long), [0, 2])
    with pytest.raises(TypeError):
        ht_leaf_pool(torch.randn(2, 3), idx, [0, 1], [0, 2])


def test_torch_compile_fullgraph_matches_eager():
    # The data-dependent shortcuts step aside while torch.compile traces; the fused ops have fake kernels.
    m = HTFactorization([4] * 8, 4, init_std=0.5, generator=torch.Generator().manual_seed(0))
    idx = torch.randint(0, 4, (256, 8), generator=torch.Generator().manual_seed(1))
    assert m._tables_pay(idx.shape[0])  # eager takes the table path, the compiled graph the per-item one
    compiled = torch.compile(m, fullgraph=True)
    out = compiled(idx)
    torch.testing.assert_close(out, m(idx), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_leaf_backward_column_strips(device, dtype):
    # Leaf tables too large for one block's shared memory with all R columns (2 x 3000 rows x 96), small
    # enough for a strip of columns: the CUDA backward accumulates strip by strip (kernels::ht_backward_strip),
    # no global atomic per item; plus a node of small hot tables (d = 2, every item on two rows). Against the
    # CPU op on the same inputs.
    gen = torch.Generator().manual_seed(11)
    dims, R, B = (3000, 3000, 2, 2, 5), 96, 700
    leaves = [torch.randn(d, R, generator=gen, dtype=torch.float64).to(dtype) for d in dims]
    idx = torch.stack([torch.randint(0, d, (B,), generator=gen) for d in dims], 1)
    modes, offsets = [0, 1, 2, 3, 4], [0, 2, 4, 5]
    grad = torch.randn(3, B, R, generator=gen, dtype=torch.float64).to(dtype)
    expected = torch.ops.rankcore.ht_leaf_pool_backward.default(grad, leaves, idx, modes, offsets)
    got = torch.ops.rankcore.ht_leaf_pool_backward.default(grad.to(device), [u.to(device) for u in leaves],
                                                           idx.to(device), modes, offsets)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    for g_got, g_exp in zip(got, expected):
        torch.testing.assert_close(g_got.cpu(), g_exp, **tol)


def test_node_maps_respect_allow_tf32(device):
    # The per-node maps are torch.bmm (cuBLAS on a GPU): float32 stays float32-accurate unless the user
    # allows TF32. Against the float64 model on the same parameters.
    m64 = _model((8,) * 16, (64, 64, 64, 64), 2, None, device, seed=5)
    m32 = _model((8,) * 16, (64, 64, 64, 64), 2, None, device, seed=5).float()
    gen = torch.Generator().manual_seed(6)
    idx = torch.randint(0, 8, (512, 16), generator=gen).to(device)
    saved = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        ref = m64(idx)
        out = m32(idx).double()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved
    assert torch.linalg.vector_norm(out - ref) / torch.linalg.vector_norm(ref) < 1e-4
