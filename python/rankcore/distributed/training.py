"""Data-parallel training of tensor factorizations on torch.distributed (DDP over shards of the entries).

Each rank holds one shard of the observed entries ``(indices, values)`` and the whole model
(:class:`~rankcore.tensor.CPFactorization`, :class:`~rankcore.tensor.HTFactorization` or any module
mapping ``[B, N]`` int64 indices to ``[B]`` entries). The model is wrapped in
:class:`torch.nn.parallel.DistributedDataParallel`, whose hooks on the parameters all-reduce the
gradients during ``backward`` — the fused ops (:func:`rankcore.ops.cp_eval`, the HT pooling ops) are
ordinary autograd functions, so the hooks fire on their factor gradients like on any other.

**Gradient scaling.** The single-process loss is the mean over the M observed entries,
L = (1/M) Σ_b (ŷ_b − y_b)². DDP *averages* the ranks' gradients (sums them and divides by the world
size P), so rank p minimises the local loss

    L_p = (P / M) · Σ_{b in shard p} (ŷ_b − y_b)²,

with M = Σ_p M_p obtained once by an ``all_reduce`` of the shard sizes. Then
(1/P) Σ_p ∇L_p = (1/M) Σ_b ∇(ŷ_b − y_b)² = ∇L: the averaged gradient is exactly (up to rounding) the
gradient of the mean loss over the global batch, whatever the shard sizes (a plain local *mean* would
weight entries of small shards more). A rank with an empty shard still runs the forward and backward
(an empty batch gives zero gradients for every parameter), so every rank takes part in every
all-reduce. The optimizer then sees identical gradients on every rank, and the ranks' parameters stay
identical (DDP broadcasts rank 0's parameters when it wraps the model: rank 0's initialisation wins).

:func:`distributed_train` mirrors :func:`rankcore.tensor.train` (same loss, optimizers and defaults,
the same iterations logged, the same early stop): after k steps its parameters equal single-process
training on the union of the shards. The loss it logs is the global MSE (one extra scalar
``all_reduce`` per step, overlapped with the backward; it also makes the finite-loss check and
``stop_loss`` agree on all ranks, so no rank stops or raises alone while the others wait).
"""

from __future__ import annotations

import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..graph.arguments import check_int
from ..tensor.training import History, check_loop_arguments, descent_loop, make_optimizer
from .graph import _try, agree

__all__ = ["shard_range", "shard_entries", "global_count", "wrap_ddp", "ddp_gradients", "distributed_train"]


def shard_range(count: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of rank ``rank``'s contiguous shard of ``count`` items.

    The first ``count % world_size`` ranks get one item more than the others; when
    ``count < world_size`` the last ranks get empty ranges. The shards cover ``0..count`` in rank order.
    """
    count, rank, world_size = int(count), int(rank), int(world_size)
    if world_size < 1:
        raise ValueError(f"shard_range: world_size must be >= 1, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"shard_range: rank must be in [0, {world_size}), got {rank}")
    if count < 0:
        raise ValueError(f"shard_range: count must be >= 0, got {count}")
    base, extra = divmod(count, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def shard_entries(indices: torch.Tensor, values: torch.Tensor, rank: int | None = None,
                  world_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank ``rank``'s contiguous shard of the entries: ``(indices[start:stop], values[start:stop])``.

    Deterministic (see :func:`shard_range`; a shard may be empty, with shapes ``[0, N]`` and ``[0]``).
    ``rank`` and ``world_size`` default to the default process group's. The shards are views.
    """
    if not isinstance(indices, torch.Tensor) or not isinstance(values, torch.Tensor):
        raise TypeError("shard_entries: indices and values must be tensors")
    if indices.dim() != 2:
        raise ValueError(f"shard_entries: indices must be [M, N], got shape {tuple(indices.shape)}")
    if values.dim() != 1 or values.shape[0] != indices.shape[0]:
        raise ValueError(f"shard_entries: values must be [M] with M = {indices.shape[0]} (the rows of indices), "
                         f"got shape {tuple(values.shape)}")
    if rank is None or world_size is None:
        _require_process_group("shard_entries")
        rank = dist.get_rank() if rank is None else rank
        world_size = dist.get_world_size() if world_size is None else world_size
    start, stop = shard_range(indices.shape[0], rank, world_size)
    return indices[start:stop], values[start:stop]


def global_count(local_count: int, *, device=None, group=None) -> int:
    """Σ over the ranks of ``local_count`` (an ``all_reduce``; every rank must call it)."""
    _require_process_group("global_count")
    t = torch.tensor([int(local_count)], dtype=torch.int64, device=device)
    dist.all_reduce(t, group=group)
    return int(t.item())


def wrap_ddp(model: torch.nn.Module, group=None) -> DistributedDataParallel:
    """``model`` in :class:`DistributedDataParallel` (rank 0's parameters are broadcast to the others).

    A model already wrapped is returned as is. On CUDA the model's device is the DDP device.
    """
    _require_process_group("wrap_ddp")
    if isinstance(model, DistributedDataParallel):
        return model
    device = _param_device(model)
    device_ids = [device] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids, process_group=group)


def ddp_gradients(model: torch.nn.Module, indices: torch.Tensor, values: torch.Tensor, *,
                  count: int | None = None, group=None) -> tuple[float, list[torch.Tensor]]:
    """One DDP step's gradient, without the update: ``(global MSE, [grad of each parameter])``.

    ``model`` (wrapped with :func:`wrap_ddp` if it is not a DDP module yet — note that wrapping
    broadcasts rank 0's parameters) is evaluated on this rank's shard; the gradients returned, in
    ``model.parameters()`` order, are the all-reduced ones: on every rank they equal the
    single-process gradient of the mean squared error over the union of the shards. ``count``: the
    global number of entries, when known (otherwise one ``all_reduce`` finds it).
    """
    _require_process_group("ddp_gradients")

    def check():
        _check_shard(_unwrapped(model), indices, values)
        # the gradients are scaled by world_size / count: a negative count flipped their sign, 0 divided by zero;
        # check_int's rule: a float or bool count is a TypeError, as everywhere else
        return None if count is None else check_int("ddp_gradients: count", count, 1)
    checked_count, err = _try(check)
    agree(err, group, {"count": count, "the dtype of values": getattr(values, "dtype", None)})
    count = checked_count  # a numpy or one-element tensor count as a Python int
    ddp = wrap_ddp(model, group)
    if count is None:
        count = global_count(indices.shape[0], device=values.device, group=group)
        if count == 0:  # the same on every rank
            raise ValueError("ddp_gradients: no rank holds any entry (the global batch is empty)")
    ddp.zero_grad(set_to_none=True)
    loss = _backward(ddp, indices, values, count, group)
    return loss, [p.grad.detach().clone() for p in ddp.module.parameters()]


def distributed_train(model: torch.nn.Module, indices: torch.Tensor, values: torch.Tensor, *, lr: float = 1e-2,
                      max_iterations: int = 10_000, optimizer: str = "adaptive", beta: float = 0.99,
                      log_every: int = 100, stop_loss: float | None = None, target: torch.Tensor | None = None,
                      top_k: int = 10, group=None) -> History:
    """:func:`rankcore.tensor.train` on a completion problem whose entries are sharded over the ranks.

    Every rank calls it with the same model architecture and its own shard ``(indices, values)`` (e.g.
    from :func:`shard_entries`; a shard may be empty). ``model`` is updated in place (it is wrapped in
    DDP: rank 0's initial parameters are used everywhere). The loss minimised is the mean squared
    error over all the ranks' entries, with the gradient scaling described in the module docstring;
    ``lr``, ``max_iterations``, ``optimizer`` (``"adaptive"``, ``"gd"``, ``"adam"``), ``beta``,
    ``log_every``, ``stop_loss`` and ``top_k`` mean what they mean for ``train``, and the returned
    :class:`~rankcore.tensor.History` (identical on every rank) logs the global loss. The
    reconstruction error is recorded when ``target`` (the full ground-truth tensor, on every rank) is
    given.
    """
    _require_process_group("distributed_train")
    module = _unwrapped(model)

    def check():
        check_loop_arguments(max_iterations, log_every, top_k)  # train()'s rule; top_k -1 dropped the last norm
        _check_shard(module, indices, values)
        return make_optimizer([p for p in module.parameters() if p.requires_grad], optimizer, lr, beta)
    opt, err = _try(check)
    # a rank that stopped sooner, or stepped differently, would leave DDP waiting or the models apart
    agree(err, group, {"lr": lr, "max_iterations": max_iterations, "optimizer": optimizer, "beta": beta,
                       "log_every": log_every, "stop_loss": stop_loss,
                       "the dtype of values": getattr(values, "dtype", None)})
    ddp = wrap_ddp(model, group)
    count = global_count(indices.shape[0], device=values.device, group=group)
    if count == 0:
        raise ValueError("distributed_train: no rank holds any entry (the global batch is empty)")

    hist = History()
    start = time.perf_counter()

    def record(it: int, loss_value: float) -> None:
        hist.iterations.append(it)
        hist.loss.append(loss_value)
        if target is not None:
            with torch.no_grad():
                w = module.tensor().to(target.dtype)
                hist.reconstruction_error.append(float((w - target).norm() / target.norm()))
        if hasattr(module, "component_norms"):
            norms = module.component_norms().sort(descending=True).values[:top_k]
            hist.component_norms.append(norms.tolist())

    # The loop of train(); forward and backward go together here (DDP needs every rank's backward each
    # iteration), so the backward of the final iteration, or of an early stop, is computed and discarded.
    descent_loop(opt, lambda: (_backward(ddp, indices, values, count, group), None), record, hist,
                 max_iterations=max_iterations, log_every=log_every, stop_loss=stop_loss)
    hist.seconds = time.perf_counter() - start
    return hist


def _backward(ddp: DistributedDataParallel, indices: torch.Tensor, values: torch.Tensor, count: int,
              group) -> float:
    """Forward + backward of the scaled local loss (gradients all-reduced by DDP); returns the global MSE."""
    world_size = dist.get_world_size(group)
    pred = ddp(indices)
    sse = ((pred - values) ** 2).sum()
    if indices.shape[0] == 0:
        # An empty batch already gives zero gradients through the fused ops; this keeps every parameter
        # in the graph for any model whose forward skips some on an empty batch (DDP would wait for them).
        sse = sse + sum((p * 0).sum() for p in ddp.module.parameters() if p.requires_grad)
    # The loss's all-reduce is started before the backward, so it overlaps with it (every rank issues
    # it, then DDP's gradient buckets, in the same order).
    total = sse.detach().reshape(1).clone()
    work = dist.all_reduce(total, group=group, async_op=True)
    (sse * (world_size / count)).backward()
    work.wait()
    return float(total.item()) / count


def _check_shard(module: torch.nn.Module, indices: torch.Tensor, values: torch.Tensor) -> None:
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.int64 or indices.dim() != 2:
        raise TypeError("indices must be an int64 tensor [M, N]")
    if not isinstance(values, torch.Tensor) or values.dim() != 1 or values.shape[0] != indices.shape[0]:
        raise ValueError(f"values must be a [M] tensor with M = {indices.shape[0]}, got "
                         f"{tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__}")
    order = getattr(module, "order", None)
    if order is not None and indices.shape[1] != order:
        raise ValueError(f"indices must be [M, {order}] for an order-{order} model, got {tuple(indices.shape)}")
    device = _param_device(module)
    if indices.device != device or values.device != device:
        raise ValueError(f"indices ({indices.device}) and values ({values.device}) must be on the model's "
                         f"device ({device})")


def _unwrapped(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def _param_device(module: torch.nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    raise ValueError("the model has no parameters")


def _require_process_group(name: str) -> None:
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(f"{name}: torch.distributed is not initialised (call init_process_group, or run "
                           "under torchrun or rankcore.distributed.launch.run_local)")
