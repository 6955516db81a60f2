"""Rank measures: effective rank, matricization ranks, and a CP-rank estimate by CP-ALS."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

from ..graph.arguments import check_int


def effective_rank(matrix: torch.Tensor) -> float:
    """exp(H(p)) with p = sigma / sum(sigma) (Roy & Vetterli); 0 for the zero matrix."""
    if matrix.dim() != 2:
        raise ValueError(f"effective_rank: expected a matrix, got shape {tuple(matrix.shape)}")
    if not bool(torch.isfinite(matrix).all()):  # an inf entry gave 1.0 (one infinite singular value)
        raise ValueError("effective_rank: the matrix has NaN or infinite entries")
    return _effective_from_singular_values(torch.linalg.svdvals(matrix.detach().double()))


def matricize(tensor: torch.Tensor, modes: Sequence[int]) -> torch.Tensor:
    """[[W]]_I: rows indexed by the modes in ``modes``, columns by the rest (row-major)."""
    modes = list(modes)
    if any(isinstance(m, bool) or not isinstance(m, numbers.Integral) for m in modes):  # True read as mode 1
        raise TypeError(f"matricize: modes must be ints, got {modes!r}")
    bad = [int(m) for m in modes if not -tensor.dim() <= int(m) < tensor.dim()]
    if bad:  # m % dim would read mode 5 of an order-3 tensor as mode 2
        raise ValueError(f"matricize: modes {bad} out of range for an order-{tensor.dim()} tensor")
    modes = [int(m) % tensor.dim() for m in modes]
    if len(set(modes)) != len(modes):
        raise ValueError(f"matricize: repeated modes {modes}")
    rest = [m for m in range(tensor.dim()) if m not in modes]
    rows = 1
    for m in modes:
        rows *= tensor.shape[m]
    return tensor.permute(*modes, *rest).reshape(rows, -1)


def _require_finite(tensor: torch.Tensor, name: str) -> None:
    # svdvals of a matrix with an inf entry returns NaNs, not an error: the ranks read 0 and the effective
    # ranks 1.0, silently (NaN gives a LinAlgError that does not say why)
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name}: the tensor has NaN or infinite entries")


def _cp_input(tensor, name: str) -> torch.Tensor:
    """The tensor a CP fit reads, in float64: a real tensor with at least one mode, no empty mode, finite
    (a 0-dim tensor was an IndexError, an empty one a NaN fit, NaN a LinAlgError that did not say why)."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_complex():
        raise TypeError(f"{name}: expected a real tensor, got {tensor.dtype}")
    if tensor.dim() == 0 or tensor.numel() == 0:
        raise ValueError(f"{name}: the tensor needs at least one mode and no empty mode, got shape "
                         f"{list(tensor.shape)}")
    _require_finite(tensor, name)
    return tensor.detach().double()


def _check_rtol(rtol, name: str) -> None:
    # NaN compared False with every singular value (rank 0); a negative rtol counted the zero ones too
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 <= rtol < float("inf"):
        raise ValueError(f"{name}: rtol must be a finite number >= 0, got {rtol!r}")


def matricization_rank(tensor: torch.Tensor, modes: Sequence[int], rtol: float = 1e-6) -> int:
    """Rank of [[W]]_modes: singular values above rtol * the largest."""
    _check_rtol(rtol, "matricization_rank")
    _require_finite(tensor, "matricization_rank")
    return int(torch.linalg.matrix_rank(matricize(tensor.detach().double(), modes), rtol=rtol))


def matricization_ranks(tensor: torch.Tensor, rtol: float = 1e-6) -> list[int]:
    """Ranks of the N mode-n unfoldings (each mode against the rest)."""
    return [matricization_rank(tensor, [n], rtol) for n in range(tensor.dim())]


def cp_als(tensor: torch.Tensor, rank: int, *, iterations: int = 500, tol: float = 1e-12,
           generator: torch.Generator | None = None) -> tuple[list[torch.Tensor], float]:
    """CP-ALS in float64: factors [d_n, rank] and the fit's mean squared error.

    Each sweep solves for one factor with the others fixed: A_n = X_(n) KR_n (Hadamard_m G_m)^+, where
    X_(n) is the mode-n unfolding, KR_n the Khatri-Rao product of the other factors in the unfolding's
    (row-major) order and G_m = A_m^T A_m. Stops when the MSE changes by less than tol (relative).
    """
    x = _cp_input(tensor, "cp_als")
    # a rank of 0 failed in a reshape, 0 iterations returned the random start with MSE inf, a NaN tol stopped at once
    rank = check_int("cp_als: rank", rank, 1)
    iterations = check_int("cp_als: iterations", iterations, 1)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 <= tol < float("inf"):
        raise ValueError(f"cp_als: tol must be a finite number >= 0, got {tol!r}")
    shape, n_modes = x.shape, x.dim()
    factors = [torch.randn(d, rank, generator=generator, dtype=torch.float64) for d in shape]
    prev = float("inf")
    mse = prev
    for _ in range(iterations):
        for n in range(n_modes):
            others = [m for m in range(n_modes) if m != n]
            kr = torch.ones(1, rank, dtype=torch.float64)
            gram = torch.ones(rank, rank, dtype=torch.float64)
            for m in others:
                kr = (kr.unsqueeze(1) * factors[m].unsqueeze(0)).reshape(-1, rank)
                gram = gram * (factors[m].T @ factors[m])
            unfold = x.movedim(n, 0).reshape(shape[n], -1)
            factors[n] = unfold @ kr @ torch.linalg.pinv(gram)
        full = factors[0]
        for a in factors[1:]:
            full = (full.unsqueeze(-2) * a).reshape(-1, rank)
        mse = float(((full.sum(-1).reshape(shape) - x) ** 2).mean())
        if mse == 0.0 or (prev < float("inf") and abs(prev - mse) <= tol * prev):
            break
        prev = mse
    return factors, mse


def cp_rank_estimate(tensor: torch.Tensor, *, max_rank: int | None = None, tol: float = 1e-6,
                     restarts: int = 3, iterations: int = 500, seed: int = 0) -> int:
    """Smallest R whose CP-ALS fit reaches MSE < tol (binary search over 1..max_rank; 0 for W = 0).

    ``tol`` is absolute (mean squared error, as in the papers); scale the tensor first if needed.
    ALS can miss the best fit, so each R takes the best of ``restarts`` random starts. The search
    assumes the fit improves with R. ``max_rank`` defaults to the product of all dims but the largest
    (an upper bound on the CP rank); raises ValueError if even max_rank does not reach tol.
    """
    x = _cp_input(tensor, "cp_rank_estimate")
    # 0 or fewer ended in "no CP-ALS fit ... reached MSE < tol" (or a reshape error), as if the tensor were hard;
    # check_int: a float or bool is a TypeError (it was a ValueError here), as for every other integer argument
    max_rank = None if max_rank is None else check_int("cp_rank_estimate: max_rank", max_rank, 1)
    restarts = check_int("cp_rank_estimate: restarts", restarts, 1)
    iterations = check_int("cp_rank_estimate: iterations", iterations, 1)
    if float((x ** 2).mean()) < tol:
        return 0
    if max_rank is None:
        dims = sorted(x.shape)
        max_rank = 1
        for d in dims[:-1]:
            max_rank *= d
    gen = torch.Generator().manual_seed(seed)

    def fits(r: int) -> bool:
        return any(cp_als(x, r, iterations=iterations, generator=gen)[1] < tol for _ in range(restarts))

    if not fits(max_rank):
        raise ValueError(f"cp_rank_estimate: no CP-ALS fit with R <= {max_rank} reached MSE < {tol}")
    lo, hi = 1, max_rank  # hi fits
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


# ---------------------------------------------------------------------------------------------------
# Hierarchical tensor rank: matricization ranks at the nodes of a mode tree


def _tree_nodes(tree):
    from .ht import ModeTree, node_modes

    if not isinstance(tree, ModeTree):
        raise TypeError(f"expected a mode tree (nested tuples or ModeTree), got {type(tree).__name__}")
    return [node_modes(n) if not isinstance(n, int) else (n,) for n in tree.nodes()]


def _as_mode_tree(tree, order: int):
    from .ht import ModeTree

    return tree if isinstance(tree, ModeTree) else ModeTree(tree, order)


def _rank_from_singular_values(s: torch.Tensor, rtol: float) -> int:
    if s.numel() == 0 or float(s.max()) <= 0:
        return 0
    return int((s > rtol * s.max()).sum())


def _effective_from_singular_values(s: torch.Tensor) -> float:
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def hierarchical_singular_values(tensor: torch.Tensor, tree) -> dict:
    """{node modes (sorted tuple): singular values of [[W]]_node} for every non-root tree node, from the
    full tensor (bottom-up: the leaves, then each level)."""
    x = tensor.detach().double()
    _require_finite(x, "hierarchical ranks")
    t = _as_mode_tree(tree, x.dim())
    return {modes: torch.linalg.svdvals(matricize(x, modes)) for modes in _tree_nodes(t)}


def hierarchical_ranks(tensor: torch.Tensor, tree, rtol: float = 1e-6) -> dict:
    """Hierarchical tensor rank from the full tensor: {node modes: rank of [[W]]_node} (non-root nodes)."""
    _check_rtol(rtol, "hierarchical_ranks")
    return {k: _rank_from_singular_values(s, rtol) for k, s in hierarchical_singular_values(tensor, tree).items()}


def hierarchical_effective_ranks(tensor: torch.Tensor, tree) -> dict:
    """{node modes: effective rank exp(H(sigma / sum sigma)) of [[W]]_node}, from the full tensor."""
    return {k: _effective_from_singular_values(s) for k, s in hierarchical_singular_values(tensor, tree).items()}


def _gram_factor(gram: torch.Tensor) -> torch.Tensor:
    """F with F F^T = gram (symmetric PSD up to rounding): eigenvectors times sqrt(clipped eigenvalues)."""
    if not bool(torch.isfinite(gram).all()):
        # eigh would fail with "ill-conditioned or has too many repeated eigenvalues", which hides why
        raise ValueError("ht_singular_values: the subtree Gram matrices overflow float64; rescale the factors")
    evals, evecs = torch.linalg.eigh((gram + gram.T) / 2)
    return evecs * evals.clamp_min(0).sqrt()


def ht_singular_values(model) -> dict:
    """Singular values of [[W]]_node at every non-root node of an HTFactorization, without the full tensor.

    [[W]]_node = A C^T, where the columns of A are the subtree tensors a_node[:, r] (the node's
    output) and those of C the matching complement tensors. Only their R x R Gram matrices are needed:
    bottom-up, G(leaf n) = U_n^T U_n and G(node) = W^T (Hadamard product of the children's G) W;
    top-down, the complement Gram of a child c of p is (Hadamard product of c's siblings' G) * E_p,
    with E_root = w w^T and E_node = W (complement Gram of node) W^T. With G = F F^T for each side,
    the singular values of A C^T are those of F_A^T F_C (an R x R matrix). Cost: O(#nodes R^3).
    """
    t = model.mode_tree
    with torch.no_grad():
        leaves = [u.detach().double() for u in model.leaves]
        maps = [w.detach().double() for w in model.maps]
        root = model.root.detach().double()
        for p in (*leaves, *maps, root):
            _require_finite(p, "ht_singular_values (parameters)")
        # Bottom-up Grams of every node's output, level by level in tree order.
        grams = [[leaves[m].T @ leaves[m] for m in t.leaf_modes]]
        for l, nodes in enumerate(t.levels[:-1]):
            below, off = grams[-1], t.offsets[l]
            level = []
            for k in range(len(nodes)):
                h = below[off[k]]
                for c in range(off[k] + 1, off[k + 1]):
                    h = h * below[c]
                level.append(maps[l][k].T @ h @ maps[l][k])
            grams.append(level)
        # Top-down complement Grams; level index i: 0 = leaves, i = l for level-l nodes.
        out = {}
        outer = [torch.outer(root, root)]  # E of the nodes of the current parent level (root first)
        for i in range(t.depth - 1, -1, -1):  # parents at level i + 1, children at level i
            off = t.offsets[i]
            children = t.leaf_modes if i == 0 else t.levels[i - 1]
            comps = []
            for k in range(len(outer)):
                for c in range(off[k], off[k + 1]):
                    comp = outer[k].clone()
                    for s in range(off[k], off[k + 1]):
                        if s != c:
                            comp = comp * grams[i][s]
                    comps.append(comp)
            for c, node in enumerate(children):
                key = (node,) if isinstance(node, int) else _modes(node)
                s = torch.linalg.svdvals(_gram_factor(grams[i][c]).T @ _gram_factor(comps[c]))
                out[key] = s
            if i > 0:
                outer = [maps[i - 1][c] @ comps[c] @ maps[i - 1][c].T for c in range(len(children))]
        order = {}
        for n, k in enumerate(_tree_nodes(t)):
            order.setdefault(k, n)  # a one-child node has its child's modes: the same matricization
        return dict(sorted(out.items(), key=lambda kv: order[kv[0]]))


def _modes(node):
    from .ht import node_modes

    return node_modes(node)


def ht_hierarchical_ranks(model, rtol: float = 1e-6) -> dict:
    """Hierarchical tensor rank of an HTFactorization from its factors (subtree Gram matrices, never the
    full tensor): {node modes: rank of [[W]]_node}. Usable at any order. rtol: relative to the largest
    singular value; the Gram route resolves singular values down to about 1e-7 of the largest."""
    _check_rtol(rtol, "ht_hierarchical_ranks")
    return {k: _rank_from_singular_values(s, rtol) for k, s in ht_singular_values(model).items()}


def ht_effective_ranks(model) -> dict:
    """{node modes: effective rank of [[W]]_node} of an HTFactorization, from its factors."""
    return {k: _effective_from_singular_values(s) for k, s in ht_singular_values(model).items()}
