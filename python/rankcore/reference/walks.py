"""Dense references for walk counting, boundaries and the walk index (definitions §2).

Counts are Python integers (numpy object arrays), so they are exact at any size and an int64
overflow is detected by comparison, never by wrapping.
"""

from __future__ import annotations

import numpy as np
import torch

INT64_MAX = 2**63 - 1


def _as_rows(mask) -> torch.Tensor:
    """A mask [n] as [1, n]; a batch [k, n] unchanged."""
    mask = torch.as_tensor(mask)
    return mask.unsqueeze(0) if mask.dim() == 1 else mask


def edge_pairs(edge_index) -> list[tuple[int, int]]:
    ei = torch.as_tensor(edge_index).cpu().tolist()
    return list(zip(ei[0], ei[1])) if ei else []


def closed_adjacency_hat(edge_index, num_nodes: int) -> np.ndarray:
    """Â = A + I as an object array of Python ints: A[i, j] = 1 iff some input edge is i -> j, i != j."""
    a_hat = np.zeros((num_nodes, num_nodes), dtype=object)
    for i, j in edge_pairs(edge_index):
        if i != j:
            a_hat[i, j] = 1  # duplicates merge: an entry is 0 or 1
    for i in range(num_nodes):
        a_hat[i, i] = 1
    return a_hat


def _row_times_matrix_power(rows: np.ndarray, a_hat: np.ndarray, length: int) -> np.ndarray:
    """rows @ Â^length with Python ints, raising OverflowError at the first length above int64."""
    out = rows.copy()
    for step in range(1, length + 1):
        out = out.dot(a_hat)
        if out.size and max(int(v) for v in out.flat) > INT64_MAX:
            raise OverflowError(f"walk counts of length {step} exceed int64")
    return out


def count_walks_reference(edge_index, num_nodes: int, length: int, sources=None) -> torch.Tensor:
    """out[..., j] = ρ_length(S, {j}) = Σ_{i ∈ S} (Â^length)[i, j] (walks follow source -> target)."""
    a_hat = closed_adjacency_hat(edge_index, num_nodes)
    if sources is None:
        masks = np.ones((1, num_nodes), dtype=object)
    else:
        rows = _as_rows(sources)
        masks = np.array(rows.to(torch.int64).tolist(), dtype=object).reshape(rows.shape)
    out = _row_times_matrix_power(masks, a_hat, length)
    result = torch.tensor(out.astype(np.int64) if out.size else np.zeros(out.shape, np.int64))
    if sources is None or torch.as_tensor(sources).dim() == 1:
        return result[0]
    return result


def _neighbours(edge_index, num_nodes: int) -> list[set[int]]:
    nbrs = [set() for _ in range(num_nodes)]
    for i, j in edge_pairs(edge_index):
        if i != j:
            nbrs[i].add(j)
    return nbrs


def boundary_reference(edge_index, num_nodes: int, partition) -> torch.Tensor:
    """C_I = {i ∈ I : N(i) ∩ I^c ≠ ∅} ∪ {j ∈ I^c : N(j) ∩ I ≠ ∅} for each mask of I."""
    part = torch.as_tensor(partition)
    masks = _as_rows(part).tolist()
    nbrs = _neighbours(edge_index, num_nodes)
    out = []
    for mask in masks:
        inside = {i for i in range(num_nodes) if mask[i]}
        out.append([any((j in inside) != (i in inside) for j in nbrs[i]) for i in range(num_nodes)])
    result = torch.tensor(out, dtype=torch.bool).reshape(len(masks), num_nodes)
    return result[0] if part.dim() == 1 else result


def walk_index_reference(edge_index, num_nodes: int, partition, depth: int, target=None) -> torch.Tensor:
    """WI_{L-1}(I) = ρ_{L-1}(C_I, V), or WI_{L-1,t}(I) = ρ_{L-1}(C_I, {t}), with Python ints."""
    part = torch.as_tensor(partition)
    bnd = _as_rows(boundary_reference(edge_index, num_nodes, part))
    a_hat = closed_adjacency_hat(edge_index, num_nodes)
    power = np.identity(num_nodes, dtype=object)
    for _ in range(depth - 1):
        power = power.dot(a_hat)
    values = []
    for row in bnd.tolist():
        c = [i for i in range(num_nodes) if row[i]]
        if target is None:
            total = sum(int(power[i, j]) for i in c for j in range(num_nodes))
        else:
            total = sum(int(power[i, target]) for i in c)
        if total > INT64_MAX:
            raise OverflowError("walk index exceeds int64")
        values.append(total)
    result = torch.tensor(values, dtype=torch.int64)
    return result[0] if part.dim() == 1 else result
