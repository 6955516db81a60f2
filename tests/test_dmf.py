"""Deep matrix factorization: the 2x2 counterexample's norms grow while the loss falls."""

import pytest
import torch

from rankcore.experiments import dmf_norms
from rankcore.tensor import DeepMatrixFactorization, MatrixCompletion, matrix_norms


def test_matrix_is_the_product():
    m = DeepMatrixFactorization((3, 4), 3, 1.0, width=2)
    w = m.layers[0] @ m.layers[1] @ m.layers[2]
    torch.testing.assert_close(m.matrix(), w)
    idx = torch.tensor([[0, 3], [2, 1]])
    torch.testing.assert_close(m(idx), w[idx[:, 0], idx[:, 1]])


def test_balanced_init_is_balanced():
    m = DeepMatrixFactorization((2, 2), 3, 0.3, init="balanced")
    for a, b in zip(m.layers[:-1], m.layers[1:]):
        torch.testing.assert_close(b.T @ b, a @ a.T)


def test_norms_of_known_matrix():
    n = matrix_norms(torch.diag(torch.tensor([3.0, 4.0])))
    assert abs(n["frobenius"] - 5) < 1e-9 and abs(n["nuclear"] - 7) < 1e-9 and abs(n["spectral"] - 4) < 1e-9
    assert abs(n["sigma_ratio"] - 0.75) < 1e-9


def test_counterexample_norm_grows_while_loss_falls():
    cfg = dict(dmf_norms.config(quick=True), iterations=8000)
    r = dmf_norms.run_depth(3, cfg, seed=0)
    assert r["det_crossed_at"] is None  # still on the det > 0 side: no finite solution is reachable
    loss, fro, ratio = r["loss"], r["frobenius"], r["sigma_ratio"]
    assert loss[-1] < 0.1 * loss[0]
    # Late in the run the loss keeps falling only because the norm keeps growing.
    half = len(loss) // 2
    assert loss[-1] < loss[half] and fro[-1] > 1.2 * fro[half] > 1.0
    assert abs(r["w11"][-1]) > 2 and ratio[-1] < 0.05


def test_bad_inputs():
    with pytest.raises(ValueError, match="depth"):
        DeepMatrixFactorization((2, 2), 0, 0.1)
    with pytest.raises(ValueError, match="shape"):
        DeepMatrixFactorization((2, 2, 2), 2, 0.1)
    with pytest.raises(ValueError, match="init"):
        DeepMatrixFactorization((2, 2), 2, 0.1, init="xavier")
    with pytest.raises(ValueError, match=r"\[B, 2\]"):
        DeepMatrixFactorization((2, 2), 2, 0.1)(torch.zeros(3, 3, dtype=torch.long))
    assert MatrixCompletion.counterexample().values.tolist() == [1.0, 1.0, 0.0]
