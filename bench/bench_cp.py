"""cp_eval forward + backward against the paths a user would otherwise take, in the same run.

    python -m pytest bench/bench_cp.py --benchmark-json=cp.json
    python bench/report.py cp.json                 # ratios as a markdown table
    python bench/bench_cp.py --memory              # peak extra memory, each implementation in a fresh process

Implementations (float32, fwd + bwd through autograd, loss = out.sum()):
* rankcore: the fused op (no B x N x R intermediate).
* gather: plain PyTorch from the definition, A_n[idx[:, n]] stacked to [B, N, R], prod over N, sum over R.
* einsum one-hot: the published code's form, einsum('bnd,ndr->bnr', one_hot, stacked).prod(1).sum(1)
  (needs equal d_n).
"""

import json
import subprocess
import sys

import pytest
import torch

import rankcore
import rankcore.reference.cp

SHAPES = {"N4-d10-R1000-B2000": (4, 10, 1000, 2000), "N64-d2-R15-B5000": (64, 2, 15, 5000),
          "N784-d2-R15-B5000": (784, 2, 15, 5000)}
IMPLS = ["rankcore", "gather", "einsum one-hot"]


def make_inputs(shape, device, seed=0):
    n, d, r, b = shape
    gen = torch.Generator().manual_seed(seed)
    # Mean-1 factors keep a product over 784 modes finite, as in the papers' natural-data setup.
    factors = [(1.0 + 1e-3 * torch.randn(d, r, generator=gen)).to(device).requires_grad_() for _ in range(n)]
    indices = torch.randint(0, d, (b, n), generator=gen).to(device)
    return factors, indices


def forward_fn(impl, factors, indices):
    if impl == "rankcore":
        return lambda: rankcore.cp_eval(factors, indices)
    if impl == "gather":
        return lambda: torch.stack([a[indices[:, n]] for n, a in enumerate(factors)], dim=1).prod(1).sum(1)
    d = factors[0].shape[0]
    one_hot = torch.nn.functional.one_hot(indices, d).to(factors[0].dtype)  # built once, like the data loader
    return lambda: torch.einsum("bnd,ndr->bnr", one_hot, torch.stack(list(factors))).prod(1).sum(1)


def step(fwd, factors, device):
    for f in factors:
        f.grad = None
    fwd().sum().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", list(SHAPES))
def test_cp_fwd_bwd(benchmark, device, name, impl):
    factors, indices = make_inputs(SHAPES[name], device)
    fwd = forward_fn(impl, factors, indices)
    benchmark.group = f"cp fwd+bwd {name} {device.type}"
    benchmark.extra_info.update(impl=impl, dtype="float32")
    rounds = 3 if SHAPES[name][0] == 784 and impl != "rankcore" else 7
    benchmark.pedantic(step, args=(fwd, factors, device), rounds=rounds, iterations=1, warmup_rounds=1)
    # The three implementations agree (checked on the benchmarked inputs).
    expected = rankcore.reference.cp.cp_eval([f.detach().double() for f in factors], indices)
    out = fwd().detach().double()
    torch.testing.assert_close(out, expected, rtol=1e-3, atol=1e-3)


# ---------------------------------------------------------------------------------------------------
# peak memory (CPU): one implementation per fresh process, VmHWM reset after the inputs exist


def _status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def child(impl, name):
    import rankcore.reference.cp  # noqa: F401

    factors, indices = make_inputs(SHAPES[name], torch.device("cpu"))
    fwd = forward_fn(impl, factors, indices)
    before = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    step(fwd, factors, torch.device("cpu"))
    peak = _status("VmHWM")
    return {"impl": impl, "shape": name, "peak_extra_mib": (peak - before) / 2**20}


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
        return
    print("| shape | implementation | peak extra MiB (fwd+bwd, CPU) |")
    print("|---|---|---|")
    for name in SHAPES:
        for impl in IMPLS:
            out = subprocess.run([sys.executable, __file__, "--child", impl, name], capture_output=True, text=True,
                                 check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {name} | {impl} | {r['peak_extra_mib']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
