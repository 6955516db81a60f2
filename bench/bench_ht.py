"""HT factorization forward + backward against the paths a user would otherwise take, in the same run.

    python -m pytest bench/bench_ht.py --benchmark-json=ht.json && python bench/report.py ht.json

Shape (issue 6): order 16, dims 8, widths (64, 64, 64, 64) (pool size 2: 8, 4, 2, 1 nodes), B = 4096,
float32, loss = out.sum(), fwd + bwd through autograd.
* rankcore: HTFactorization.forward — level-1 outputs tabulated for every index combination (8 x 8 = 64
  rows per node), level 2 evaluated on the distinct combinations in the batch (CPU), a two-child root
  as one bilinear form; fused gather + pooling ops between the per-level bmm's.
* rankcore per-item: the same model without the tables and the distinct rows (fused leaf gather +
  pooling, bmm per level, fused pooling, bilinear root).
* gather: plain PyTorch from the definition with the same node-major layout: U_n[idx[:, n]] stacked,
  prod over each window, bmm, prod, ... (autograd).
* einsum one-hot: the published code's form — one-hot inputs contracted with the stacked leaves by
  einsum, then the same pooling / per-node einsum contractions.
"""

import pytest
import torch

from rankcore.tensor import HTFactorization

ORDER, DIM, RANKS, BATCH = 16, 8, (64, 64, 64, 64), 4096
IMPLS = ["rankcore", "rankcore per-item", "gather", "einsum one-hot"]


def make_inputs(device, seed=0):
    gen = torch.Generator().manual_seed(seed)
    model = HTFactorization([DIM] * ORDER, RANKS, pool_size=2, init_std=0.5, generator=gen).to(device)
    indices = torch.randint(0, DIM, (BATCH, ORDER), generator=gen).to(device)
    return model, indices


def forward_fn(impl, model, indices):
    if impl == "rankcore":
        return lambda: model(indices)
    if impl == "rankcore per-item":
        return lambda: model._forward(indices, level1_tables=False)
    leaves, maps, root = list(model.leaves), list(model.maps), model.root
    if impl == "gather":
        def fwd():
            h = torch.stack([u[indices[:, n]] for n, u in enumerate(leaves)])  # [N, B, R]
            h = h.reshape(h.shape[0] // 2, 2, *h.shape[1:]).prod(1)
            for w in maps:
                a = torch.bmm(h, w)
                h = a.reshape(a.shape[0] // 2, 2, *a.shape[1:]).prod(1)
            return h[0] @ root
        return fwd
    one_hot = torch.nn.functional.one_hot(indices, DIM).to(leaves[0].dtype)  # built once, like the data loader

    def fwd():
        a = torch.einsum("bnd,ndr->bnr", one_hot, torch.stack(leaves))  # [B, N, R]
        h = a.reshape(a.shape[0], a.shape[1] // 2, 2, a.shape[2]).prod(2)
        for w in maps:
            a = torch.einsum("bkr,krs->bks", h, w)
            h = a.reshape(a.shape[0], a.shape[1] // 2, 2, a.shape[2]).prod(2)
        return h[:, 0] @ root
    return fwd


def step(fwd, model, device):
    model.zero_grad(set_to_none=True)
    fwd().sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()


@pytest.mark.parametrize("impl", IMPLS)
def test_ht_fwd_bwd(benchmark, device, impl):
    model, indices = make_inputs(device)
    fwd = forward_fn(impl, model, indices)
    benchmark.group = f"ht fwd+bwd N16-d8-R64x4-B4096 {device.type}"
    benchmark.extra_info.update(impl=impl, dtype="float32")
    benchmark.pedantic(step, args=(fwd, model, device), rounds=7, iterations=1, warmup_rounds=1)
    # The implementations agree (checked on the benchmarked inputs).
    expected = forward_fn("gather", model, indices)().detach().double()
    torch.testing.assert_close(fwd().detach().double(), expected, rtol=1e-3, atol=1e-3 * expected.abs().max().item())
