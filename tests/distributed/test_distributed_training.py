"""rankcore.distributed.training: DDP over shards of the entries equals single-process training.

Every check runs in the session's shared 2- and 3-process groups (shared_group.py: one spawn per world
size for all of tests/distributed); the worker is a module-level function of this module
(multiprocessing's spawn hands the parent's sys.path to the children, so they import it).
"""

import pytest
import torch
import torch.distributed as dist
from shared_group import register

from rankcore.distributed.training import (
    ddp_gradients,
    distributed_train,
    shard_entries,
    shard_range,
    wrap_ddp,
)
from rankcore.tensor import CompletionProblem, CPFactorization, GlobalAdaptiveGD, HTFactorization, train

TOL = dict(rtol=0, atol=1e-10)
STEPS = 6

# name -> (kind, shape, model rank(s), number of observed entries). The "few" cases leave a rank empty
# (2 entries on 3 ranks); "ht" is large enough for HT's level-1 tables on the global batch (40 >= 2 x 12
# combinations) but not on a shard of 2 or 3 ranks (20, 14), so the two sides even run different code
# paths.
CASES = {
    "cp": ("cp", (4, 5, 3, 6), 3, 70),
    "ht": ("ht", (4, 3, 5, 2, 3), 3, 40),
    "cp_few": ("cp", (3, 4, 2), 2, 2),
    "ht_few": ("ht", (3, 2, 4, 2), 2, 2),
}
WORLD_SIZES = [2, 3]


def _problem(name):
    kind, shape, _, m = CASES[name]
    return CompletionProblem.random(shape, 2, m, seed=7, dtype=torch.float64)


def _model(name, seed):
    kind, shape, ranks, _ = CASES[name]
    gen = torch.Generator().manual_seed(seed)
    if kind == "cp":
        return CPFactorization(shape, ranks, init_std=0.5, init_mean=0.3, dtype=torch.float64, generator=gen)
    return HTFactorization(shape, ranks, init_std=0.5, dtype=torch.float64, generator=gen)


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def _worker(names, steps):
    """Every check on one rank: per-step DDP gradients (manual loop) and distributed_train's result."""
    rank = dist.get_rank()
    out = {}
    for name in names:
        problem = _problem(name)
        idx, vals = shard_entries(problem.indices, problem.values)
        # Ranks other than 0 start elsewhere: DDP's broadcast makes rank 0's initialisation win.
        ddp = wrap_ddp(_model(name, seed=1 if rank == 0 else 100 + rank))
        opt = GlobalAdaptiveGD(ddp.parameters(), lr=0.05)
        losses, grads = [], []
        for _ in range(steps):
            loss, g = ddp_gradients(ddp, idx, vals)
            losses.append(loss)
            grads.append(g)
            opt.step()
        model = _model(name, seed=1 if rank == 0 else 200 + rank)
        hist = distributed_train(model, idx, vals, lr=0.05, max_iterations=steps, log_every=2,
                                 target=problem.target)
        out[name] = dict(shard=idx.shape[0], losses=losses, grads=grads, manual_params=_params(ddp.module),
                         params=_params(model), history=hist.to_dict())
    return out


def _reference(name, steps):
    """Single-process: per-step gradients of the global mean loss, then train() from the same start."""
    problem = _problem(name)
    model = _model(name, seed=1)
    opt = GlobalAdaptiveGD(model.parameters(), lr=0.05)
    losses, grads = [], []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = problem.loss(model)
        loss.backward()
        losses.append(float(loss.detach()))
        grads.append([p.grad.clone() for p in model.parameters()])
        opt.step()
    manual = _params(model)
    model = _model(name, seed=1)
    hist = train(model, problem, lr=0.05, max_iterations=steps, log_every=2)
    return dict(losses=losses, grads=grads, manual_params=manual, params=_params(model), history=hist.to_dict())


@pytest.fixture(scope="module")
def references():
    return {name: _reference(name, STEPS) for name in CASES}


for _world in WORLD_SIZES:
    register(_world, "training: DDP steps and distributed_train", _worker, list(CASES), STEPS)


@pytest.mark.distributed
@pytest.mark.slow
@pytest.mark.parametrize("world_size", WORLD_SIZES)
def test_ddp_training_equals_single_process(world_size, references, rank_results):
    results = rank_results(world_size, "training: DDP steps and distributed_train")
    assert len(results) == world_size
    for name in CASES:
        ref = references[name]
        m = CASES[name][3]
        shards = [r[name]["shard"] for r in results]
        assert shards == [b - a for a, b in (shard_range(m, p, world_size) for p in range(world_size))]
        if name.endswith("_few") and world_size == 3:
            assert 0 in shards  # the case where a rank holds no entry
        for rank, res in enumerate(results):
            res = res[name]
            where = f"{name}, world size {world_size}, rank {rank}"
            assert res["losses"] == pytest.approx(ref["losses"], rel=1e-12, abs=0), where
            for step, (g, g_ref) in enumerate(zip(res["grads"], ref["grads"])):
                for a, b in zip(g, g_ref):
                    torch.testing.assert_close(a, b, **TOL, msg=lambda s: f"{where}, step {step}: {s}")
            for a, b in zip(res["manual_params"], ref["manual_params"]):
                torch.testing.assert_close(a, b, **TOL)
            for a, b in zip(res["params"], ref["params"]):
                torch.testing.assert_close(a, b, **TOL, msg=lambda s: f"{where}, distributed_train: {s}")
            hist, hist_ref = res["history"], ref["history"]
            assert hist["iterations"] == hist_ref["iterations"] == [0, 2, 4, 6]
            assert hist["loss"] == pytest.approx(hist_ref["loss"], rel=1e-12, abs=0)
            assert hist["reconstruction_error"] == pytest.approx(hist_ref["reconstruction_error"], rel=1e-10)
            for a, b in zip(hist["component_norms"], hist_ref["component_norms"]):
                assert a == pytest.approx(b, rel=1e-10)


def test_shard_range_covers_in_order():
    for m in (0, 1, 3, 7, 70):
        for p in (1, 2, 3, 4, 9):
            ranges = [shard_range(m, r, p) for r in range(p)]
            assert ranges[0][0] == 0 and ranges[-1][1] == m
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
            sizes = [b - a for a, b in ranges]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    assert shard_range(3, 3, 4) == (3, 3)


def test_shard_entries_slices_and_empty_shards():
    idx = torch.arange(10).reshape(5, 2)
    vals = torch.arange(5.0)
    i, v = shard_entries(idx, vals, 1, 2)
    assert torch.equal(i, idx[3:]) and torch.equal(v, vals[3:])
    i, v = shard_entries(idx[:1], vals[:1], 1, 2)
    assert i.shape == (0, 2) and v.shape == (0,)


def test_bad_arguments():
    idx = torch.zeros(4, 2, dtype=torch.int64)
    with pytest.raises(ValueError, match="rank"):
        shard_range(4, 2, 2)
    with pytest.raises(ValueError, match="world_size"):
        shard_range(4, 0, 0)
    with pytest.raises(ValueError, match="values"):
        shard_entries(idx, torch.zeros(3), 0, 2)
    with pytest.raises(ValueError, match=r"\[M, N\]"):
        shard_entries(torch.zeros(4, dtype=torch.int64), torch.zeros(4), 0, 2)
    if not dist.is_initialized():
        with pytest.raises(RuntimeError, match="not initialised"):
            shard_entries(idx, torch.zeros(4))
        with pytest.raises(RuntimeError, match="not initialised"):
            distributed_train(_model("cp_few", 0), idx, torch.zeros(4))


def test_ddp_gradients_rejects_a_count_below_one():
    """The gradients are scaled by world_size / count: count=-2 returned the negated loss and gradients, count=0
    (given, or an empty global batch) raised ZeroDivisionError."""
    if dist.is_initialized():
        pytest.skip("needs its own one-process group")
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        model = _model("cp_few", 0)
        idx, vals = torch.tensor([[0, 1, 1], [2, 3, 0]]), torch.tensor([1.0, 2.0], dtype=torch.float64)
        loss, grads = ddp_gradients(model, idx, vals)
        assert loss == pytest.approx(float(((model(idx) - vals) ** 2).mean()))
        for count in (-2, 0):
            with pytest.raises(ValueError, match="count must be"):
                ddp_gradients(model, idx, vals, count=count)
        for count in (1.5, True):  # check_int's rule: a float or bool is a TypeError (was a ValueError)
            with pytest.raises(TypeError, match="count must be an int"):
                ddp_gradients(model, idx, vals, count=count)
        # a one-element int tensor is an int (check_int); the loss is the one of the count all_reduce finds
        assert ddp_gradients(model, idx, vals, count=torch.tensor(2))[0] == pytest.approx(loss)
        # distributed_train checks its integers like train(): top_k -1 silently dropped the last norm
        for kw, kind in (({"top_k": -1}, ValueError), ({"top_k": 2.5}, TypeError), ({"log_every": 1.5}, TypeError)):
            with pytest.raises(kind, match=f"{next(iter(kw))} must be"):
                distributed_train(model, idx, vals, max_iterations=1, **kw)
        with pytest.raises(ValueError, match="no rank holds any entry"):
            ddp_gradients(model, idx[:0], vals[:0])
    finally:
        dist.destroy_process_group()
