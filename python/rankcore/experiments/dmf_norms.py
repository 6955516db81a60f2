"""Deep matrix factorization can drive every norm to infinity while minimising rank (Razin & Cohen 2020).

The 2x2 completion problem: w12 = 1, w21 = 1, w22 = 0 observed, w11 not; every solution has det = -1.
Balanced init (init_std times random orthogonal layers) with det W > 0, depth 2 and 3, full-batch
gradient descent on 1/2 SSE. Gradient flow keeps sign(det W), so the loss can fall only as |w11|
and every norm grow while sigma_min / sigma_max -> 0.

Fixed-step GD only approximates the flow: it drifts off the balanced manifold (|det W_1| = |det W_2|
for depth 2 under the flow), and once sigma_min is tiny a step can move one layer's determinant
across 0 — depth 2 at lr 3e-3 does so at loss ~0.046 (iteration 4228), then converges to a finite
det = -1 solution; lr 1e-3 only delays it to loss ~0.040. The run records that step
(``det_crossed_at``). det W is taken from the layers (sign and log |det| of each W_j): the
product's own det is rounding noise once sigma_min / sigma_max < 1e-16, which depth 2 reaches
before the crossing. A step-size control that rejects steps flipping a layer's sign does not help
(the step collapses to 0 at the same iteration), nor does re-balancing the layers after each step.

So depth 2 is also run as the gradient flow itself (``run_depth_flow``): GD on the layers until the
two singular values separate, then the end-to-end flow of balanced layers integrated by adaptive RK4
in singular-value coordinates (log sigma, two angles), where det W cannot change sign and sigma_min is
exact far below float resolution. It agrees with GD as lr -> 0 (tests) and shows the phenomenon to
the end: loss -> 0, |w11| and the norms -> infinity, sigma_min / sigma_max -> 0, det W > 0.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ..tensor.dmf import DeepMatrixFactorization, MatrixCompletion, matrix_norms, positive_determinant_
from ._io import pyplot, save_figure, write_json


def config(quick: bool) -> dict:
    return dict(init_std=0.1, lr=3e-3, iterations=8000 if quick else 150_000, log_every=100 if quick else 500,
                stop_loss=1e-4, flow_iterations=10 ** 5 if quick else 10 ** 8,
                flow_max_steps=20_000 if quick else 1_000_000)


def end_to_end_det(model) -> float:
    """det W = prod_j det W_j, from the layers' sign and log |det| (the product's own det is rounding
    noise once sigma_min / sigma_max < 1e-16, which the depth-2 run reaches at loss ~ 0.05)."""
    sign, logabs = 1.0, 0.0
    for w in model.layers:
        s, l = torch.linalg.slogdet(w.detach())
        sign, logabs = sign * float(s), logabs + float(l)
    # copysign keeps the sign when exp underflows (a negative det far below 1e-308 stays -0.0)
    return math.copysign(math.exp(logabs), sign) if sign != 0 else 0.0


def run_depth(depth: int, cfg: dict, seed: int) -> dict:
    model = positive_determinant_(DeepMatrixFactorization((2, 2), depth, cfg["init_std"], init="balanced",
                                                          generator=torch.Generator().manual_seed(seed)))
    problem = MatrixCompletion.counterexample()
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    rec = {k: [] for k in ("iterations", "loss", "w11", "frobenius", "nuclear", "spectral", "sigma_ratio", "det")}
    crossed = None
    for it in range(cfg["iterations"] + 1):
        opt.zero_grad(set_to_none=True)
        loss = problem.loss(model)
        w = model.matrix().detach()
        det = end_to_end_det(model)
        if crossed is None and math.copysign(1.0, det) < 0:
            crossed = it
        done = float(loss.detach()) < cfg["stop_loss"]
        if it % cfg["log_every"] == 0 or done or it == cfg["iterations"]:
            rec["iterations"].append(it)
            rec["loss"].append(float(loss.detach()))
            rec["w11"].append(float(w[0, 0]))
            rec["det"].append(det)
            for k, v in matrix_norms(w).items():
                rec[k].append(v)
        if done or it == cfg["iterations"]:
            break
        loss.backward()
        opt.step()
    return {"depth": depth, **rec, "det_crossed_at": crossed}


# --- gradient flow of the end-to-end matrix, in singular-value coordinates (2 x 2) ----------------------
# Balanced layers follow dW/dt = -sum_{j=1..N} (W W^T)^{(j-1)/N} G (W^T W)^{(N-j)/N}, G = grad loss(W)
# (Arora, Cohen & Hazan 2018). With W = U diag(s) V^T, U = R(alpha) D_u, V = R(beta) D_v (R a rotation, D
# a fixed reflection) and Gamma = U^T G V:
#   d log s_r / dt = -N s_r^{1 - 2/N} Gamma_rr                      (Arora et al. 2019)
#   U^T dW/dt V = Omega_U S + dS/dt - S Omega_V,  Omega = U^T dU/dt = [[0, -a], [a, 0]] (same for V, b)
# whose off-diagonal entries give a and b. log s keeps sigma_min exact far below float resolution, and
# det W = det(D_u) det(D_v) s_1 s_2 cannot change sign: the flow the theory is about, without the
# discretisation drift that lets fixed-step GD cross det W = 0 at depth 2.


def _rotation(angle: float) -> list[list[float]]:
    c, s = math.cos(angle), math.sin(angle)
    return [[c, -s], [s, c]]


def _matmul(a, b):
    return [[a[i][0] * b[0][j] + a[i][1] * b[1][j] for j in range(2)] for i in range(2)]


def _transpose(a):
    return [[a[0][0], a[1][0]], [a[0][1], a[1][1]]]


class _FlowState:
    """(log s_1, log s_2, alpha, beta) with reflections d_u, d_v: W = R(alpha) D_u S D_v R(beta)^T."""

    def __init__(self, w: torch.Tensor):
        u, s, vh = torch.linalg.svd(w.double())
        u, v = u.tolist(), vh.T.tolist()
        self.d_u = 1.0 if u[0][0] * u[1][1] - u[0][1] * u[1][0] > 0 else -1.0
        self.d_v = 1.0 if v[0][0] * v[1][1] - v[0][1] * v[1][0] > 0 else -1.0
        # U = R(alpha) diag(1, d_u): the first column of U is (cos alpha, sin alpha)
        self.y = [math.log(float(s[0])), math.log(float(s[1])), math.atan2(u[1][0], u[0][0]),
                  math.atan2(v[1][0], v[0][0])]

    def factors(self, y):
        u = _matmul(_rotation(y[2]), [[1.0, 0.0], [0.0, self.d_u]])
        v = _matmul(_rotation(y[3]), [[1.0, 0.0], [0.0, self.d_v]])
        return u, [math.exp(y[0]), math.exp(y[1])], v

    def matrix(self, y=None):
        return _compose(*self.factors(self.y if y is None else y))


def _compose(u, s, v):
    """U diag(s) V^T."""
    return _matmul(_matmul(u, [[s[0], 0.0], [0.0, s[1]]]), _transpose(v))


def _flow_derivative(state: _FlowState, y, depth: int, observed) -> list[float]:
    u, s, v = state.factors(y)
    w = _compose(u, s, v)
    g = [[0.0, 0.0], [0.0, 0.0]]
    for (i, j), b in observed:
        g[i][j] = w[i][j] - b
    gamma = _matmul(_matmul(_transpose(u), g), v)
    n = depth
    dlog = [-n * s[r] ** (1 - 2 / n) * gamma[r][r] for r in range(2)]
    c12 = sum(s[0] ** (2 * (j - 1) / n) * s[1] ** (2 * (n - j) / n) for j in range(1, n + 1))
    c21 = sum(s[1] ** (2 * (j - 1) / n) * s[0] ** (2 * (n - j) / n) for j in range(1, n + 1))
    m12, m21 = -gamma[0][1] * c12, -gamma[1][0] * c21
    gap = s[0] ** 2 - s[1] ** 2
    a = (s[0] * m21 + s[1] * m12) / gap
    b = (s[1] * m21 + s[0] * m12) / gap
    return [dlog[0], dlog[1], a * state.d_u, b * state.d_v]


def run_depth_flow(depth: int, cfg: dict, seed: int, separate: float = 0.5) -> dict:
    """The same problem and init under gradient flow: GD steps on the layers (lr) until sigma_2 / sigma_1 <
    ``separate`` (the singular vectors are then defined), then adaptive RK4 in singular-value coordinates up
    to ``flow_iterations`` GD-equivalents (t / lr, the ``iterations`` on the record), ``stop_loss`` or
    ``flow_max_steps`` RK4 steps."""
    model = positive_determinant_(DeepMatrixFactorization((2, 2), depth, cfg["init_std"], init="balanced",
                                                          generator=torch.Generator().manual_seed(seed)))
    problem = MatrixCompletion.counterexample()
    observed = [((int(i), int(j)), float(b)) for (i, j), b in zip(problem.indices.tolist(), problem.values.tolist())]
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    rec = {k: [] for k in ("iterations", "loss", "w11", "frobenius", "nuclear", "spectral", "sigma_ratio",
                           "log10_sigma_ratio", "det", "det_sign")}

    def record(it, w, log_s, sign):
        loss = 0.5 * sum((w[i][j] - b) ** 2 for (i, j), b in observed)
        s1, s2 = math.exp(log_s[0]), math.exp(log_s[1])
        rec["iterations"].append(it)
        rec["loss"].append(loss)
        rec["w11"].append(w[0][0])
        rec["frobenius"].append(math.hypot(s1, s2))
        rec["nuclear"].append(s1 + s2)
        rec["spectral"].append(s1)
        rec["sigma_ratio"].append(math.exp(log_s[1] - log_s[0]))
        rec["log10_sigma_ratio"].append((log_s[1] - log_s[0]) / math.log(10))
        rec["det"].append(sign * s1 * s2)  # may underflow to +-0; det_sign keeps the sign
        rec["det_sign"].append(sign)
        return loss

    it = 0
    while True:  # GD on the layers while the singular values are (nearly) equal
        w = model.matrix().detach()
        sv = torch.linalg.svdvals(w)
        if float(sv[1] / sv[0]) < separate:
            break
        if it % cfg["log_every"] == 0:
            record(it, w.tolist(), [math.log(float(sv[0])), math.log(float(sv[1]))], math.copysign(1.0, end_to_end_det(model)))
        opt.zero_grad(set_to_none=True)
        problem.loss(model).backward()
        opt.step()
        it += 1
        if it > cfg["iterations"]:
            raise RuntimeError("dmf-norms flow: the singular values never separated")
    switched_at = it
    state = _FlowState(model.matrix().detach())
    sign = state.d_u * state.d_v
    t, t_end = it * cfg["lr"], cfg["flow_iterations"] * cfg["lr"]
    next_record = float(it)
    dt, steps = cfg["lr"], 0

    def rk4(y, h):
        k1 = _flow_derivative(state, y, depth, observed)
        k2 = _flow_derivative(state, [a + 0.5 * h * b for a, b in zip(y, k1)], depth, observed)
        k3 = _flow_derivative(state, [a + 0.5 * h * b for a, b in zip(y, k2)], depth, observed)
        k4 = _flow_derivative(state, [a + h * b for a, b in zip(y, k3)], depth, observed)
        return [a + h / 6 * (p + 2 * q + 2 * r + w) for a, p, q, r, w in zip(y, k1, k2, k3, k4)]

    while True:
        iteration = t / cfg["lr"]
        if iteration >= next_record or t >= t_end or steps >= cfg["flow_max_steps"]:
            loss = record(round(iteration), state.matrix(), state.y[:2], sign)
            next_record = iteration * 10 ** (1 / 40)  # 40 records per decade
            if loss < cfg["stop_loss"] or t >= t_end or steps >= cfg["flow_max_steps"]:
                break
        # RK4 with step doubling: the flow gets stiff as sigma_max grows (the angles relax on a time
        # scale ~ 1 / sigma_max^2) while w11 grows ever more slowly, so the step adapts both ways.
        h = min(dt, t_end - t)
        full = rk4(state.y, h)
        half = rk4(rk4(state.y, h / 2), h / 2)
        err = max(abs(x - z) for x, z in zip(full, half))
        factor = 0.9 * (1e-10 / max(err, 1e-300)) ** 0.2
        if err <= 1e-10:
            state.y, t = half, t + h
            dt = h * min(2.0, factor)
        else:
            dt = h * max(0.1, factor)
        steps += 1
    return {"depth": depth, "integrator": "gradient flow: GD on the layers, then RK4 in singular-value coordinates",
            "flow_from_iteration": switched_at, **rec, "det_crossed_at": None}


def run(out_dir: str | Path = "rankcore_results", quick: bool = False, seed: int = 0) -> dict:
    cfg = config(quick)
    runs = [run_depth(2, cfg, seed), run_depth(3, cfg, seed), run_depth_flow(2, cfg, seed)]
    for r in runs:
        how = "gradient flow" if "integrator" in r else "GD"
        print(f"depth {r['depth']} ({how}): loss {r['loss'][0]:.3g} -> {r['loss'][-1]:.3g} at iteration "
              f"{r['iterations'][-1]}, |w11| {abs(r['w11'][-1]):.3g}, Frobenius {r['frobenius'][0]:.3g} -> "
              f"{r['frobenius'][-1]:.3g}, sigma_min/sigma_max {r['sigma_ratio'][-1]:.3g}, "
              f"det crossed 0 at {r['det_crossed_at']}", flush=True)
    result = {"experiment": "dmf-norms", "quick": quick, "seed": seed, **cfg, "runs": runs}
    out = Path(out_dir)
    write_json(out / "dmf_norms.json", result)
    plot(result, out / "dmf_norms.png")
    return result


def plot(result: dict, path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for r in result["runs"]:
        name = f"depth {r['depth']}, {'gradient flow' if 'integrator' in r else 'GD'}"
        line, = axes[0].plot(r["loss"], [abs(x) for x in r["w11"]], label=name)
        color = line.get_color()
        for k, style in (("frobenius", "-"), ("nuclear", "--"), ("spectral", ":")):
            axes[1].plot(r["loss"], r[k], ls=style, color=color, lw=1, label=f"{k}, {name}")
        log_ratio = r.get("log10_sigma_ratio") or [math.log10(max(x, 1e-300)) for x in r["sigma_ratio"]]
        axes[2].plot([i + 1 for i in r["iterations"]], log_ratio, color=color, label=name)
        if r.get("det_crossed_at") is not None:  # GD (not the flow) stepped across det W = 0 here
            axes[2].axvline(r["det_crossed_at"] + 1, ls=":", color=color, label=f"{name}: a step crossed det W = 0")
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("loss (decreasing ->)")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=5, ncol=1)
    axes[0].set_title("unobserved entry |w11|")
    axes[1].set_title("norms (Frobenius -, nuclear --, spectral :)")
    axes[2].set_xscale("log")
    axes[2].set_title("log10(sigma_min / sigma_max)")
    axes[2].set_xlabel("iteration (GD-equivalent for the flow) + 1")
    axes[2].legend(fontsize=7)
    save_figure(fig, path)
