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


@pytest.mark.slow
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


@pytest.mark.parametrize("depth", [2, 3])
def test_gradient_flow_integrator_keeps_det_and_tracks_gd(depth):
    # The flow in singular-value coordinates: det W keeps its sign (where depth-2 GD crosses it), the loss
    # falls monotonically while the norm keeps growing, and before GD's crossing the two agree.
    cfg = dict(dmf_norms.config(quick=True), iterations=4000, flow_iterations=30_000)
    flow = dmf_norms.run_depth_flow(depth, cfg, seed=0)
    assert all(d > 0 for d in flow["det"]) and all(sign > 0 for sign in flow["det_sign"])
    loss, fro = flow["loss"], flow["frobenius"]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(loss, loss[1:]))
    late = len(loss) // 2
    assert fro[-1] > 1.2 * fro[late] and loss[-1] < loss[late]
    assert flow["sigma_ratio"][-1] < 1e-5 and flow["iterations"][-1] == 30_000
    # the same time t = 3000 lr: GD at lr 3e-3 is within 1% of the flow (it converges to it as lr -> 0)
    short = dmf_norms.run_depth_flow(depth, dict(cfg, flow_iterations=3000), seed=0)
    gd = dmf_norms.run_depth(depth, dict(cfg, iterations=3000), seed=0)
    assert short["iterations"][-1] == 3000
    assert abs(short["w11"][-1] - gd["w11"][-1]) < 0.02 * abs(gd["w11"][-1])
    assert abs(short["loss"][-1] - gd["loss"][-1]) < 0.02 * gd["loss"][-1]
