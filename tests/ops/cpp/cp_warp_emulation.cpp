// Host replay of the CUDA cp_eval kernels' lane arithmetic (csrc/ops/cuda/cp_eval_kernel.cu), built
// and run by tests/test_cp_kernel_layout.py with the system C++ compiler: no GPU needed.
//
// The 32 lanes of a warp are emulated as arrays; a shuffle reads the array at the source lane. The
// layout (kernels::cp_tiling), the rounds, the butterflies (kernels::cp_excl_step), the suffix scan and
// the accumulation follow the kernels step by step, so a wrong index or a missing factor shows up as
// a mismatch against the direct sums below. Prints "ok <cases>" and exits 0 on success.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/cp_eval.h"

using rankcore::kernels::cp_excl_step;
using rankcore::kernels::cp_tiling;
using rankcore::kernels::CpTiling;

constexpr int W = 32;

struct Problem {
  int64_t N, R;
  std::vector<int64_t> dims;
  std::vector<std::vector<double>> f;  // f[n][i * R + r]
  std::vector<int64_t> idx;            // one item: idx[n]
};

// load_row of the kernels for every lane: a[lane][j]
static void load_rows(const Problem& p, const CpTiling& tl, int t, int rpl, int64_t r0,
                      std::vector<std::vector<double>>& a) {
  for (int lane = 0; lane < W; ++lane) {
    const int c = lane % tl.C, g = lane / tl.C, n = t * tl.G + g;
    for (int j = 0; j < rpl; ++j) {
      const int64_t r = r0 + c + static_cast<int64_t>(tl.C) * j;
      a[lane][j] = (n < p.N && r < p.R) ? p.f[n][p.idx[n] * p.R + r] : 1.0;
    }
  }
}

// out and grads (grads[n][r] for the item's row) as the kernels compute them
static void emulate(const Problem& p, int rpl_max, double& out, std::vector<std::vector<double>>& grads) {
  const CpTiling tl = cp_tiling(p.N, p.R, rpl_max);
  const int rpl = tl.rpl;
  if (tl.G * tl.C != W || tl.M > tl.G || tl.M * tl.G < p.N) {
    std::printf("bad tiling\n");
    std::exit(1);
  }
  using Lanes = std::vector<std::vector<double>>;
  auto shfl_xor_all = [&](Lanes& v, int off, bool excl_mode, Lanes* excl) {
    const Lanes old = v;
    for (int lane = 0; lane < W; ++lane)
      for (int j = 0; j < rpl; ++j) {
        const double o = old[lane ^ off][j];
        if (excl_mode)
          cp_excl_step((*excl)[lane][j], v[lane][j], o);
        else
          v[lane][j] *= o;
      }
  };
  // forward
  std::vector<double> sum(W, 0.0);
  for (int64_t r0 = 0; r0 < p.R; r0 += tl.strip) {
    Lanes acc(W, std::vector<double>(rpl, 1.0)), a(W, std::vector<double>(rpl));
    for (int t = 0; t < tl.M; ++t) {
      load_rows(p, tl, t, rpl, r0, a);
      for (int l = 0; l < W; ++l)
        for (int j = 0; j < rpl; ++j) acc[l][j] *= a[l][j];
    }
    for (int off = tl.C; off < W; off *= 2) shfl_xor_all(acc, off, false, nullptr);
    for (int l = 0; l < W; ++l)
      for (int j = 0; j < rpl; ++j)
        if (r0 + l % tl.C + static_cast<int64_t>(tl.C) * j < p.R) sum[l] += acc[l][j];
  }
  for (int off = tl.C / 2; off > 0; off /= 2) {
    const std::vector<double> old = sum;
    for (int l = 0; l < W; ++l) sum[l] += old[l ^ off];
  }
  out = sum[0];
  // backward (grad[b] = 1)
  for (int64_t r0 = 0; r0 < p.R; r0 += tl.strip) {
    Lanes suf(W, std::vector<double>(rpl, 1.0)), a(W, std::vector<double>(rpl));
    for (int t = 0; t < tl.M; ++t) {
      load_rows(p, tl, t, rpl, r0, a);
      for (int off = tl.C; off < W; off *= 2) shfl_xor_all(a, off, false, nullptr);
      for (int l = 0; l < W; ++l)
        if (l / tl.C == t) suf[l] = a[l];
    }
    for (int d = 1; d < tl.G; d *= 2) {
      const Lanes old = suf;
      for (int l = 0; l < W; ++l)
        for (int j = 0; j < rpl; ++j) {
          const double v = (l + d * tl.C < W) ? old[l + d * tl.C][j] : old[l][j];  // shfl_down
          if (l / tl.C + d < tl.G) suf[l][j] *= v;
        }
    }
    {
      const Lanes old = suf;
      for (int l = 0; l < W; ++l)
        for (int j = 0; j < rpl; ++j) {
          const double v = (l + tl.C < W) ? old[l + tl.C][j] : old[l][j];
          suf[l][j] = (l / tl.C + 1 < tl.G) ? v : 1.0;
        }
    }
    Lanes pre(W, std::vector<double>(rpl, 1.0));
    for (int t = 0; t < tl.M; ++t) {
      Lanes incl(W, std::vector<double>(rpl)), excl(W, std::vector<double>(rpl, 1.0));
      load_rows(p, tl, t, rpl, r0, incl);
      for (int off = tl.C; off < W; off *= 2) shfl_xor_all(incl, off, true, &excl);
      for (int l = 0; l < W; ++l) {
        const int c = l % tl.C, g = l / tl.C, n = t * tl.G + g;
        for (int j = 0; j < rpl; ++j) {
          const double s = suf[t * tl.C + c][j];
          const int64_t r = r0 + c + static_cast<int64_t>(tl.C) * j;
          if (n < p.N && r < p.R) grads[n][r] += pre[l][j] * excl[l][j] * s;
          pre[l][j] *= incl[l][j];
        }
      }
    }
  }
}

int main() {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  const int64_t Ns[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 63, 64, 65, 100, 255, 256, 257, 784, 1000, 1024};
  const int64_t Rs[] = {1, 2, 3, 5, 15, 16, 17, 33, 100, 257, 1000};
  int cases = 0;
  for (const int64_t N : Ns)
    for (const int64_t R : Rs)
      for (const int rpl_max : {16, 8}) {
        if (N * R > 300000) continue;
        Problem p{N, R, {}, {}, {}};
        for (int64_t n = 0; n < N; ++n) {
          const int64_t d = 1 + static_cast<int64_t>(rng() % 3);
          p.dims.push_back(d);
          std::vector<double> f(d * R);
          for (auto& v : f) v = u(rng);
          p.idx.push_back(static_cast<int64_t>(rng() % d));
          p.f.push_back(f);
        }
        if (N > 2 && (cases % 3 == 0)) p.f[N / 2][p.idx[N / 2] * R + 0] = 0.0;  // an exact zero
        double out = 0;
        std::vector<std::vector<double>> g(N, std::vector<double>(R, 0.0));
        emulate(p, rpl_max, out, g);
        // direct: out = sum_r prod_n; grads by explicit products over m != n
        double ref = 0;
        for (int64_t r = 0; r < R; ++r) {
          double pr = 1;
          for (int64_t n = 0; n < N; ++n) pr *= p.f[n][p.idx[n] * R + r];
          ref += pr;
        }
        auto close = [](double a, double b) { return std::fabs(a - b) <= 1e-9 * (1 + std::fabs(b)); };
        if (!close(out, ref)) {
          std::printf("forward mismatch N=%ld R=%ld: %g vs %g\n", (long)N, (long)R, out, ref);
          return 1;
        }
        for (int64_t n = 0; n < N; n += (N > 64 ? 7 : 1))
          for (int64_t r = 0; r < R; r += (R > 64 ? 5 : 1)) {
            double e = 1;
            for (int64_t m = 0; m < N; ++m)
              if (m != n) e *= p.f[m][p.idx[m] * R + r];
            if (!close(g[n][r], e) || std::isnan(g[n][r])) {
              std::printf("backward mismatch N=%ld R=%ld n=%ld r=%ld: %g vs %g\n", (long)N, (long)R, (long)n, (long)r,
                          g[n][r], e);
              return 1;
            }
          }
        ++cases;
      }
  std::printf("ok %d\n", cases);
  return 0;
}
