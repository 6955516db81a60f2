"""rankcore.cp_eval (fused CP evaluation and its backward) against the plain-PyTorch reference."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import rankcore
from rankcore.reference import cp as ref

# (dims per mode, R, B): N = 1, R = 1, d = 1, unequal dims, large N (underflow-free with mean-1 init).
SHAPES = [
    ([3], 4, 5),
    ([1, 1, 1], 1, 3),
    ([2, 5, 3], 1, 17),
    ([4, 7, 2, 5], 33, 64),
    ([10] * 4, 1000, 300),
    ([2] * 64, 15, 200),
    ([3] * 300, 5, 40),
]


def _inputs(dims, rank, batch, dtype, device, gen, mean=0.0):
    factors = [(mean + torch.randn(d, rank, generator=gen, dtype=dtype)).to(device) for d in dims]
    indices = torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in dims], dim=1).to(device)
    return factors, indices


def _check_against_reference(factors, indices, rtol, atol):
    leaves = [f.detach().clone().requires_grad_() for f in factors]
    leaves_ref = [f.detach().clone().requires_grad_() for f in factors]
    out = rankcore.cp_eval(leaves, indices)
    expected = ref.cp_eval(leaves_ref, indices)
    torch.testing.assert_close(out, expected, rtol=rtol, atol=atol)
    g = torch.randn(out.shape, dtype=out.dtype, device=out.device)
    grads = torch.autograd.grad(out, leaves, g)
    grads_ref = torch.autograd.grad(expected, leaves_ref, g)
    for n, (a, b) in enumerate(zip(grads, grads_ref)):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=lambda m: f"mode {n}: {m}")


@pytest.mark.parametrize("dims,rank,batch", SHAPES, ids=lambda v: str(v)[:20])
def test_matches_reference_float64(device, dims, rank, batch):
    gen = torch.Generator().manual_seed(len(dims) * 1000 + rank)
    # Long products: mean-1 factors keep the values away from underflow so the comparison means something.
    mean = 1.0 if len(dims) > 10 else 0.0
    factors, indices = _inputs(dims, rank, batch, torch.float64, device, gen, mean)
    if mean:
        factors = [1.0 + 0.01 * (f - 1.0) for f in factors]
    _check_against_reference(factors, indices, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dims,rank,batch", SHAPES[:5], ids=lambda v: str(v)[:20])
def test_matches_reference_float32(device, dims, rank, batch):
    gen = torch.Generator().manual_seed(7 + rank)
    factors, indices = _inputs(dims, rank, batch, torch.float32, device, gen)
    _check_against_reference(factors, indices, rtol=1e-4, atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(dims=st.lists(st.integers(1, 6), min_size=1, max_size=7), rank=st.integers(1, 40),
       batch=st.integers(0, 50), seed=st.integers(0, 2**31 - 1))
def test_random_shapes_cpu(dims, rank, batch, seed):
    gen = torch.Generator().manual_seed(seed)
    factors, indices = _inputs(dims, rank, batch, torch.float64, "cpu", gen)
    _check_against_reference(factors, indices, rtol=1e-10, atol=1e-12)


# Shapes that reach every lane layout of the CUDA kernels (csrc/kernels/cp_eval.h, cp_tiling): one
# mode group (N = 1), many strips (R = 1000 > 32 * 16 columns), N = 784 and N = 1024 (32 mode groups of
# 25 / 32 rounds), R not a power of two, hot rows (d = 1 and 2 with a large batch: every item hits the
# same rows), and tables too large for the shared-memory accumulation (global atomics).
KERNEL_SHAPES = [
    ([7], 1000, 50),
    ([2, 3], 513, 70),
    ([2] * 784, 15, 300),
    ([2] * 1024, 3, 100),
    ([1] * 9, 17, 5000),
    ([2] * 64, 15, 5000),
    ([40000, 3, 20000], 64, 4000),
    ([5] * 33, 100, 257),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("dims,rank,batch", KERNEL_SHAPES, ids=lambda v: str(v)[:20])
def test_kernel_layouts(device, dims, rank, batch, dtype):
    gen = torch.Generator().manual_seed(len(dims) + 7 * rank + batch)
    factors, indices = _inputs(dims, rank, batch, dtype, device, gen, mean=1.0)
    factors = [1.0 + 0.01 * (f - 1.0) for f in factors]
    tol = 1e-9 if dtype == torch.float64 else 2e-3
    _check_against_reference(factors, indices, rtol=tol, atol=tol)


def test_bad_index_in_a_late_mode_group(device):
    # The kernels check the indices per mode group; the forward reports the smallest flat position, the
    # backward one of the bad indices (the CPU backward finds them per mode, not in flat order).
    f = [torch.ones(2, 3, dtype=torch.float64, device=device) for _ in range(100)]
    idx = torch.zeros(4, 100, dtype=torch.int64, device=device)
    idx[2, 97] = 2
    idx[2, 61] = -1
    idx[3, 5] = 9
    with pytest.raises(IndexError, match=r"indices\[2, 61\] = -1"):
        rankcore.cp_eval(f, idx)
    with pytest.raises(IndexError, match=r"indices\[(2, 61\] = -1|2, 97\] = 2|3, 5\] = 9)"):
        torch.ops.rankcore.cp_eval_backward(torch.ones(4, dtype=torch.float64, device=device), f, idx)


def test_large_batch_uses_parallel_slices_cpu():
    # Enough work for several slices/strips on any thread count; repeated rows stress the reduction.
    gen = torch.Generator().manual_seed(3)
    factors, indices = _inputs([2] * 16, 64, 20000, torch.float64, "cpu", gen, mean=1.0)
    factors = [1.0 + 0.05 * (f - 1.0) for f in factors]
    _check_against_reference(factors, indices, rtol=1e-9, atol=1e-9)


def test_gradcheck(device):
    gen = torch.Generator().manual_seed(0)
    factors, indices = _inputs([3, 4, 2], 5, 11, torch.float64, device, gen)
    leaves = [f.requires_grad_() for f in factors]
    assert torch.autograd.gradcheck(lambda *fs: rankcore.cp_eval(list(fs), indices), leaves)


def test_opcheck(device):
    gen = torch.Generator().manual_seed(1)
    for dtype in (torch.float32, torch.float64):
        factors, indices = _inputs([3, 4, 2], 6, 9, dtype, device, gen)
        leaves = [f.requires_grad_() for f in factors]
        torch.library.opcheck(torch.ops.rankcore.cp_eval.default, (leaves, indices))
        grad = torch.randn(9, dtype=dtype, generator=gen).to(device)
        plain = [f.detach() for f in factors]
        torch.library.opcheck(torch.ops.rankcore.cp_eval_backward.default, (grad, plain, indices))


def test_double_backward_raises():
    f = [torch.ones(2, 3, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    out = rankcore.cp_eval(f, torch.zeros(4, 2, dtype=torch.int64)).sum()
    (g0, _) = torch.autograd.grad(out, f, create_graph=True)
    with pytest.raises(NotImplementedError, match="no double backward"):
        g0.sum().backward()


def test_zeros_give_exact_gradients_without_nan(device):
    # One zero in a used row: the zeroed mode's gradient is the product of the others (a quotient
    # rule would give 0/0); two zeros in one column: that column contributes nothing anywhere.
    a = torch.tensor([[0.0, 2.0]], dtype=torch.float64, device=device, requires_grad=True)
    b = torch.tensor([[3.0, 0.0]], dtype=torch.float64, device=device, requires_grad=True)
    c = torch.tensor([[5.0, 0.0]], dtype=torch.float64, device=device, requires_grad=True)
    idx = torch.zeros(1, 3, dtype=torch.int64, device=device)
    out = rankcore.cp_eval([a, b, c], idx)
    assert out.item() == 0.0
    ga, gb, gc = torch.autograd.grad(out.sum(), [a, b, c])
    assert ga.tolist() == [[15.0, 0.0]]  # column 0: 3 * 5; column 1: 0 * 0
    assert gb.tolist() == [[0.0, 0.0]]  # column 0: 0 * 5; column 1: 2 * 0
    assert gc.tolist() == [[0.0, 0.0]]


def test_all_zero_factors_and_empty_batch(device):
    f = [torch.zeros(3, 4, dtype=torch.float32, device=device, requires_grad=True) for _ in range(5)]
    idx = torch.randint(0, 3, (10, 5), device=device)
    out = rankcore.cp_eval(f, idx)
    grads = torch.autograd.grad(out.sum(), f)
    assert out.abs().sum().item() == 0 and all(g.abs().sum().item() == 0 for g in grads)
    empty = rankcore.cp_eval(f, idx[:0])
    assert empty.shape == (0,) and empty.dtype == torch.float32
    grads = torch.autograd.grad(empty.sum(), f)
    assert all(g.shape == (3, 4) and g.abs().sum().item() == 0 for g in grads)


def test_non_contiguous_factors(device):
    gen = torch.Generator().manual_seed(5)
    factors = [torch.randn(6, d, generator=gen, dtype=torch.float64).to(device).t() for d in (3, 4, 5)]
    indices = torch.stack([torch.randint(0, d, (20,), generator=gen) for d in (3, 4, 5)], 1).to(device)
    assert not factors[0].is_contiguous()
    _check_against_reference(factors, indices, rtol=1e-10, atol=1e-12)


def _good(device, dtype=torch.float64):
    return [torch.ones(3, 2, dtype=dtype, device=device), torch.ones(4, 2, dtype=dtype, device=device)]


@pytest.mark.parametrize("value,pos", [(3, (1, 0)), (-1, (2, 1)), (4, (0, 1))])
def test_out_of_range_index(device, value, pos):
    idx = torch.zeros(3, 2, dtype=torch.int64, device=device)
    idx[pos] = value
    rows = 3 if pos[1] == 0 else 4
    expected = rf"indices\[{pos[0]}, {pos[1]}\] = {value} is out of range for factors\[{pos[1]}\], which has {rows} rows"
    with pytest.raises(IndexError, match=expected):
        rankcore.cp_eval(_good(device), idx)
    with pytest.raises(IndexError, match=expected):
        torch.ops.rankcore.cp_eval_backward(torch.ones(3, dtype=torch.float64, device=device), _good(device), idx)


def test_bad_arguments(device):
    idx = torch.zeros(2, 2, dtype=torch.int64, device=device)
    f = _good(device)
    with pytest.raises(ValueError, match="all factors must have R = 2"):
        rankcore.cp_eval([f[0], torch.ones(4, 3, dtype=torch.float64, device=device)], idx)
    with pytest.raises(TypeError, match="float32 or float64"):
        rankcore.cp_eval([x.half() for x in f], idx)
    with pytest.raises(TypeError, match="one dtype"):
        rankcore.cp_eval([f[0], f[1].float()], idx)
    with pytest.raises(TypeError, match="indices must be int64"):
        rankcore.cp_eval(f, idx.int())
    with pytest.raises(ValueError, match=r"indices must be \[B, N\] with N = 2"):
        rankcore.cp_eval(f, torch.zeros(2, 3, dtype=torch.int64, device=device))
    with pytest.raises(ValueError, match=r"indices must be \[B, N\]"):
        rankcore.cp_eval(f, torch.zeros(4, dtype=torch.int64, device=device))
    with pytest.raises(ValueError, match="2-D"):
        rankcore.cp_eval([f[0], torch.ones(4, 2, 1, dtype=torch.float64, device=device)], idx)
    with pytest.raises(ValueError, match="expected 1 to 1024 factors, got 0"):
        rankcore.cp_eval([], idx[:, :0])
    with pytest.raises(ValueError, match="no rows"):
        rankcore.cp_eval([f[0], torch.ones(0, 2, dtype=torch.float64, device=device)], idx)
    with pytest.raises(ValueError, match=r"rank R must be in \[1, 4096\]"):
        rankcore.cp_eval([torch.ones(3, 0, dtype=torch.float64, device=device)] * 2, idx)
    with pytest.raises(TypeError, match="list of tensors"):
        rankcore.cp_eval(torch.ones(2, 3, 2), idx)
    with pytest.raises(ValueError, match=r"grad must be \[B\] with B = 2"):
        torch.ops.rankcore.cp_eval_backward(torch.ones(3, dtype=torch.float64, device=device), f, idx)
    with pytest.raises(TypeError, match="grad must have the factors' dtype"):
        torch.ops.rankcore.cp_eval_backward(torch.ones(2, dtype=torch.float32, device=device), f, idx)


def test_mixed_devices_rejected():
    if not torch.cuda.is_available():
        pytest.skip("needs a GPU")
    f = _good("cpu")
    with pytest.raises(ValueError, match="one device|indices are on"):
        rankcore.cp_eval(f, torch.zeros(2, 2, dtype=torch.int64, device="cuda"))


def test_torch_compile_fullgraph():
    gen = torch.Generator().manual_seed(2)
    factors, indices = _inputs([3, 4], 5, 6, torch.float64, "cpu", gen)
    compiled = torch.compile(lambda fs, i: rankcore.cp_eval(fs, i), fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(factors, indices), ref.cp_eval(factors, indices))
