// CPU implementation of rankcore::walk_count.
//
// Columns of the [n, k] start matrix are independent walk-count vectors, so they are processed in
// column blocks of at most kBlock = 16 (two adjacent 64-byte cache lines of int64/float64 per vertex):
// a block is packed into a contiguous [n, W] buffer and run through all `length` steps before the
// next block. Each edge then costs one gather of adjacent lines, the working set of a pass is
// n * 128 bytes whatever k is, and peak memory is start + output + two [n, W] step buffers.
// (Measured on a 1M-vertex power-law graph, 2-core EPYC: W = 16 beat 4, 8 and 32.)
//
// Layouts: a row-major start whose k is a block width runs in place (no packing: start + output + one
// step buffer). A column-major start (the transpose of a contiguous [k, n]: count_walks' [k, n] masks) is
// packed and unpacked by strided loops fused with the int32 narrowing / widening, and the result is
// column-major too, so count_walks transposes nothing itself; one such block uses the output's own storage
// as its packed buffer (start + output + one step buffer again). 10M random-id edges, k = 16: the two
// transposing copies count_walks made were a quarter of its time (bench_walks.py, user path).
//
// A step is a pull over the in-neighbour CSR: each output row is written by exactly one thread (no
// atomics). Rows are split into chunks of equal (edges + rows) work because power-law graphs put most
// edges on few rows.
//
// Exactness: counts are non-negative, so a row's sum is at most (deg + 1) * max(x). Rows for which
// that bound is below 2^63 take a plain int64 add loop (vectorises like the float64 one); the rest
// take the saturating loop of kernels::ExactCount, which detects any overflow without wrapping.
//
// The step's row loop exists in three instruction-set variants (baseline x86-64, AVX2, AVX-512 via
// function target attributes), picked once at run time; the module itself targets baseline x86-64.
// 10M columns, k = 16, 2-core EPYC: AVX-512 halves the step time against the baseline (bench/RESULTS.md).
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/walk_count.h"
#include "ops/cpu/row_chunks.h"
#include "ops/csr_checks.h"
#include "ops/walk_count.h"

namespace rankcore::ops {
namespace {

constexpr int kBlock = 16;                 // columns per block (see above)
constexpr int64_t kPrefetchDistance = 32;  // edges ahead whose source rows are prefetched

// Step buffers are gathered at random: back them with transparent huge pages where the kernel allows
// it (fewer TLB misses). Advisory only; failure is harmless.
at::Tensor step_buffer(int64_t n, int64_t w, const at::TensorOptions& options) {
  at::Tensor buf = at::empty({n, w}, options);
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const auto begin = reinterpret_cast<uintptr_t>(buf.data_ptr());
  const uintptr_t end = begin + static_cast<uintptr_t>(buf.nbytes());
  const uintptr_t aligned = (begin + kHuge - 1) & ~(kHuge - 1);
  if (end > aligned + kHuge) {
    madvise(reinterpret_cast<void*>(aligned), (end - aligned) & ~(kHuge - 1), MADV_HUGEPAGE);
  }
  return buf;
}

struct StepState {
  std::atomic<bool> overflow{false};
  std::atomic<int64_t> bad_col{-1};  // position in col of an out-of-range index
};

template <typename value_t>
struct RowBound {
  // Rows with deg + 1 <= max_safe_terms cannot overflow when every term is <= max(x).
  static int64_t max_safe_terms(value_t xmax) {
    if constexpr (std::is_same_v<value_t, int64_t>) {
      return xmax <= 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::max() / xmax;
    } else {
      return std::numeric_limits<int64_t>::max();  // float64 never overflows to an error
    }
  }
};

// Exact counts held in int32 for the steps whose every row sum provably fits (narrow_fits): the same
// loop with half the bytes per gathered row (one 64-byte line for 16 columns instead of two). Never
// takes the saturating branch: the caller passes safe_terms = INT64_MAX only when no row can overflow.
struct NarrowCount {
  using value_t = int32_t;
  using acc_t = int32_t;
  static acc_t load(value_t v) { return v; }
  static acc_t add(acc_t a, acc_t b) { return a + b; }
  static bool overflowed(acc_t) { return false; }
  static value_t store(acc_t a) { return a; }
};

// A step's row sums are at most (max row length + 1) * max(x): they fit int32 when that does.
inline bool narrow_fits(int64_t xmax, int64_t max_row) {
  return xmax <= std::numeric_limits<int32_t>::max() / (max_row + 1);
}

// GCC/Clang vector types of VB bytes (VB / 8 lanes of int64 or double). Lane-wise + is the scalar +
// per lane (no reassociation), so every width gives bit-identical results.
template <typename T, int VB>
struct Vec {
  typedef T type __attribute__((vector_size(VB)));
};

// The rows [j0, j1) of one step: y[j] = x[j] + sum_{e in row j} x[col[e]]; lane_max[w] = max over the
// rows of y[j][w]. Rows whose sum cannot overflow (deg + 1 <= safe_terms) add in VB-byte vectors (the
// accumulators stay in registers; written with vector types because GCC kept the float64 accumulators
// scalar, 16 addsd per edge where int64 got 8 paddq: the float64 mode ran 1.5x slower); the others take
// the saturating loop of kernels::ExactCount. Returns whether a row overflowed.
template <typename Policy, typename index_t, int W, int VB>
[[gnu::always_inline]] inline bool step_rows(const int64_t* rowptr, const index_t* col,
                                             const typename Policy::value_t* x, typename Policy::value_t* y, int64_t n,
                                             int64_t j0, int64_t j1, int64_t safe_terms, bool check_cols,
                                             StepState& state, typename Policy::value_t* lane_max) {
  using value_t = typename Policy::value_t;
  using acc_t = typename Policy::acc_t;
  constexpr int VBe = (W * int(sizeof(value_t)) < VB) ? W * int(sizeof(value_t)) : VB;  // bytes per vector
  constexpr bool kVector = VBe >= 16;
  constexpr int L = kVector ? VBe / int(sizeof(value_t)) : 1;  // lanes per vector
  constexpr int NV = W / L;                                    // vectors per row
  // max(y) bounds the next step's integer sums (RowBound, narrow_fits); float64 never needs it.
  constexpr bool kNeedMax = std::is_integral_v<value_t>;
  bool overflow = false;
  for (int64_t j = j0; j < j1; ++j) {
    const int64_t e0 = rowptr[j], e1 = rowptr[j + 1];
    const value_t* xj = x + j * W;
    value_t* yj = y + j * W;
    if (check_cols) {
      for (int64_t e = e0; e < e1; ++e) {
        if (col[e] < 0 || static_cast<int64_t>(col[e]) >= n) {
          int64_t none = -1;
          state.bad_col.compare_exchange_strong(none, e);
        }
      }
      if (state.bad_col.load(std::memory_order_relaxed) >= 0) continue;
    }
    if (e1 - e0 + 1 <= safe_terms) {
      if constexpr (kVector) {
        using V = typename Vec<value_t, VBe>::type;
        V acc[NV];
        for (int v = 0; v < NV; ++v) std::memcpy(&acc[v], xj + v * L, sizeof(V));
        for (int64_t e = e0; e < e1; ++e) {
          if (e + kPrefetchDistance < e1) {
            const value_t* ahead = x + static_cast<int64_t>(col[e + kPrefetchDistance]) * W;
            __builtin_prefetch(ahead);
            if constexpr (W * sizeof(value_t) > 64) __builtin_prefetch(ahead + 64 / sizeof(value_t));
          }
          const value_t* xi = x + static_cast<int64_t>(col[e]) * W;
          for (int v = 0; v < NV; ++v) {
            V t;
            std::memcpy(&t, xi + v * L, sizeof(V));
            acc[v] += t;
          }
        }
        for (int v = 0; v < NV; ++v) {
          std::memcpy(yj + v * L, &acc[v], sizeof(V));
          if constexpr (kNeedMax) {
            for (int l = 0; l < L; ++l) {
              lane_max[v * L + l] = lane_max[v * L + l] < acc[v][l] ? acc[v][l] : lane_max[v * L + l];
            }
          }
        }
      } else {
        value_t acc[W];
        for (int w = 0; w < W; ++w) acc[w] = xj[w];
        for (int64_t e = e0; e < e1; ++e) {
          if (e + kPrefetchDistance < e1) __builtin_prefetch(x + static_cast<int64_t>(col[e + kPrefetchDistance]) * W);
          const value_t* xi = x + static_cast<int64_t>(col[e]) * W;
          for (int w = 0; w < W; ++w) acc[w] += xi[w];
        }
        for (int w = 0; w < W; ++w) {
          yj[w] = acc[w];
          if constexpr (kNeedMax) lane_max[w] = lane_max[w] < acc[w] ? acc[w] : lane_max[w];
        }
      }
    } else {
      acc_t acc[W];
      for (int w = 0; w < W; ++w) acc[w] = Policy::load(xj[w]);
      for (int64_t e = e0; e < e1; ++e) {
        const value_t* xi = x + static_cast<int64_t>(col[e]) * W;
        for (int w = 0; w < W; ++w) acc[w] = Policy::add(acc[w], Policy::load(xi[w]));
      }
      for (int w = 0; w < W; ++w) {
        overflow |= Policy::overflowed(acc[w]);
        yj[w] = Policy::store(acc[w]);
        if constexpr (kNeedMax) lane_max[w] = lane_max[w] < yj[w] ? yj[w] : lane_max[w];
      }
    }
  }
  return overflow;
}

// Instruction-set variants of step_rows, picked once at run time (the build itself targets baseline
// x86-64, so the module runs on any x86-64). RANKCORE_CPU_ISA=baseline|avx2|avx512 forces a lower one.
enum class Isa { kBaseline, kAvx2, kAvx512 };

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RANKCORE_ISA_DISPATCH 1
template <typename Policy, typename index_t, int W>
__attribute__((target("avx2"))) bool step_rows_avx2(const int64_t* rowptr, const index_t* col,
                                                    const typename Policy::value_t* x, typename Policy::value_t* y,
                                                    int64_t n, int64_t j0, int64_t j1, int64_t safe_terms,
                                                    bool check_cols, StepState& state,
                                                    typename Policy::value_t* lane_max) {
  return step_rows<Policy, index_t, W, 32>(rowptr, col, x, y, n, j0, j1, safe_terms, check_cols, state, lane_max);
}
template <typename Policy, typename index_t, int W>
__attribute__((target("avx512f,avx512vl,avx512dq"))) bool step_rows_avx512(const int64_t* rowptr, const index_t* col,
                                                                           const typename Policy::value_t* x,
                                                                           typename Policy::value_t* y, int64_t n,
                                                                           int64_t j0, int64_t j1, int64_t safe_terms,
                                                                           bool check_cols, StepState& state,
                                                                           typename Policy::value_t* lane_max) {
  return step_rows<Policy, index_t, W, 64>(rowptr, col, x, y, n, j0, j1, safe_terms, check_cols, state, lane_max);
}
#endif

Isa detect_isa() {
  Isa best = Isa::kBaseline;
#ifdef RANKCORE_ISA_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) best = Isa::kAvx2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    best = Isa::kAvx512;
  }
#endif
  if (const char* forced = std::getenv("RANKCORE_CPU_ISA")) {
    const std::string f(forced);
    const Isa want = f == "avx512" ? Isa::kAvx512 : f == "avx2" ? Isa::kAvx2 : Isa::kBaseline;
    if (want < best) best = want;
  }
  return best;
}

Isa current_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

// One step on a packed [n, W] block: y[j] = x[j] + sum_{e in row j} x[col[e]]. Returns max(y).
template <typename Policy, typename index_t, int W>
typename Policy::value_t step_block(const int64_t* rowptr, const index_t* col, const typename Policy::value_t* x,
                                    typename Policy::value_t* y, int64_t n, typename Policy::value_t xmax,
                                    bool check_cols, const std::vector<int64_t>& bounds, StepState& state) {
  using value_t = typename Policy::value_t;
  const int64_t safe_terms = RowBound<value_t>::max_safe_terms(xmax);
  const int64_t num_chunks = static_cast<int64_t>(bounds.size()) - 1;
  std::vector<value_t> chunk_max(num_chunks, value_t(0));
  [[maybe_unused]] const Isa isa = current_isa();

  at::parallel_for(0, num_chunks, 1, [&](int64_t c0, int64_t c1) {
    bool overflow = false;
    for (int64_t chunk = c0; chunk < c1; ++chunk) {
      value_t lane_max[W];
      for (int w = 0; w < W; ++w) lane_max[w] = value_t(0);
      const int64_t j0 = bounds[chunk], j1 = bounds[chunk + 1];
#ifdef RANKCORE_ISA_DISPATCH
      if (isa == Isa::kAvx512) {
        overflow |=
            step_rows_avx512<Policy, index_t, W>(rowptr, col, x, y, n, j0, j1, safe_terms, check_cols, state, lane_max);
      } else if (isa == Isa::kAvx2) {
        overflow |=
            step_rows_avx2<Policy, index_t, W>(rowptr, col, x, y, n, j0, j1, safe_terms, check_cols, state, lane_max);
      } else
#endif
      {
        overflow |=
            step_rows<Policy, index_t, W, 16>(rowptr, col, x, y, n, j0, j1, safe_terms, check_cols, state, lane_max);
      }
      value_t local_max = value_t(0);
      for (int w = 0; w < W; ++w) local_max = std::max(local_max, lane_max[w]);
      chunk_max[chunk] = local_max;
    }
    if (overflow) state.overflow.store(true, std::memory_order_relaxed);
  });
  return *std::max_element(chunk_max.begin(), chunk_max.end());
}

// Checks that int64 counts are non-negative (the saturating add and the row bound assume it) and
// returns max(x) over an [n, W] block.
template <typename value_t>
value_t checked_max(const value_t* x, int64_t count) {
  if constexpr (!std::is_same_v<value_t, int64_t>) {
    return value_t(0);  // float64: no sign rule, and RowBound ignores the maximum
  }
  std::vector<value_t> partial(std::max<int64_t>(1, at::get_num_threads()), value_t(0));
  std::atomic<bool> negative{false};
  at::parallel_for(0, count, 1 << 16, [&](int64_t i0, int64_t i1) {
    value_t m = value_t(0);
    bool neg = false;
    for (int64_t i = i0; i < i1; ++i) {
      m = std::max(m, x[i]);
      neg |= x[i] < 0;
    }
    auto& slot = partial[at::get_thread_num()];
    slot = std::max(slot, m);
    if (neg) negative.store(true);
  });
  TORCH_CHECK_VALUE(!(std::is_same_v<value_t, int64_t> && negative.load()),
                    "walk_count: int64 start counts must be non-negative");
  return *std::max_element(partial.begin(), partial.end());
}

// Raises for an out-of-range column a step recorded (step 1 checks them); returns `step` when the step overflowed
// int64, 0 when not (run_block collects it, to name the first length that overflowed in ANY column block).
template <typename index_t>
int64_t overflow_step(const StepState& state, const index_t* col, int64_t n, int64_t step) {
  const int64_t bad = state.bad_col.load();
  TORCH_CHECK_INDEX(bad < 0, "walk_count: col[", bad, "] = ", static_cast<int64_t>(col[bad]), " is out of range for ",
                    n, " vertices");
  return state.overflow.load() ? step : 0;
}

// The overflow error of the first overflowing length (0: none).
inline void check_no_overflow(int64_t overflowed_at) {
  TORCH_CHECK(overflowed_at == 0, kOverflowPrefix, " walk counts of length ", overflowed_at,
              " exceed the int64 range (2^63 - 1)");
}

// Raises the error a step recorded: an out-of-range column or an int64 overflow.
template <typename index_t>
void check_step(const StepState& state, const index_t* col, int64_t n, int64_t step) {
  check_no_overflow(overflow_step(state, col, n, step));
}

// How many of the first `length` steps provably fit int32 when every start count is <= xmax: a row sum
// is at most (longest row + 1) * max(x) (narrow_fits).
inline int64_t narrow_step_count(int64_t xmax, int64_t max_row, int64_t length) {
  int64_t steps = 0;
  for (int64_t bound = xmax; steps < length && narrow_fits(bound, max_row); ++steps) bound *= max_row + 1;
  return steps;
}

// dst[i] = src[i] for i < count, converted (int64 -> int32 when the caller has proven that every value fits, or
// int32 -> int64).
template <typename S, typename D>
void copy_converted(const S* src, D* dst, int64_t count) {
  at::parallel_for(0, count, 1 << 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dst[i] = static_cast<D>(src[i]);
  });
}

// All `length` steps on one [n, W] block. Step s reads the block written by step s - 1 (`first` for
// s = 1) and writes into `last` or `spare`, alternating so that the final step lands in `last`.
//
// int64 counts start narrow: the first steps whose every row sum provably fits int32 run on int32
// copies (half the bytes per gathered row), then the block is widened into `last`. A row sum is at most
// (longest row + 1) * max(x), so from max(start) the number of such steps is known before the first one
// (narrow_fits); it is made even-short of `length` so the widened block is in `last` and the int64 steps
// that follow still end there. Flat-degree graphs (random ids: the memory-bound case) stay narrow for
// several steps; hub graphs widen after one or two. The two int32 blocks live in `spare` (n * W int64),
// free until the int64 steps need it.
template <typename Policy, typename index_t, int W>
void run_steps(const int64_t* rowptr, const index_t* col, int64_t n, const typename Policy::value_t* first,
               typename Policy::value_t* last, typename Policy::value_t* spare, int64_t length,
               const std::vector<int64_t>& bounds, int64_t max_row) {
  using value_t = typename Policy::value_t;
  value_t xmax = checked_max(first, n * W);
  const value_t* x = first;
  int64_t step = 1;
  if constexpr (std::is_same_v<value_t, int64_t>) {
    int64_t narrow_steps = narrow_step_count(xmax, max_row, length);
    if ((length - narrow_steps) % 2 != 0) --narrow_steps;
    if (narrow_steps > 0 && spare != nullptr) {
      int32_t* nx = reinterpret_cast<int32_t*>(spare);
      int32_t* ny = nx + n * W;
      copy_converted(first, nx, n * W);
      for (; step <= narrow_steps; ++step) {
        StepState state;
        xmax = step_block<NarrowCount, index_t, W>(rowptr, col, nx, ny, n, 0, step == 1, bounds, state);
        check_step(state, col, n, step);
        std::swap(nx, ny);
      }
      copy_converted(nx, last, n * W);
      x = last;
    }
  }
  for (; step <= length; ++step) {
    value_t* y = ((length - step) % 2 == 0) ? last : spare;
    StepState state;
    xmax = step_block<Policy, index_t, W>(rowptr, col, x, y, n, xmax, /*check_cols=*/step == 1, bounds, state);
    check_step(state, col, n, step);
    x = y;
  }
}

// An [n, k] matrix as (data, row stride, column stride): row-major, or column-major (the transpose of a
// contiguous [k, n], the layout count_walks' [k, n] source masks and result have).
template <typename T>
struct StridedMatrix {
  T* data;
  int64_t row_stride, col_stride;
  T& operator()(int64_t i, int64_t c) const { return data[i * row_stride + c * col_stride]; }
};

// dst[i * W + w] = src(i, c0 + w) for every row i, converted to D (the int64 -> int32 narrowing included:
// the caller has proven that every value fits).
template <int W, typename S, typename D>
void pack_columns(StridedMatrix<const S> src, D* dst, int64_t n, int64_t c0) {
  at::parallel_for(0, n, 16384, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      for (int w = 0; w < W; ++w) dst[i * W + w] = static_cast<D>(src(i, c0 + w));
    }
  });
}

// dst(i, c0 + w) = src[i * W + w] for every row i, converted to D (int32 -> int64 widening included).
template <int W, typename S, typename D>
void unpack_columns(const S* src, StridedMatrix<D> dst, int64_t n, int64_t c0) {
  at::parallel_for(0, n, 16384, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      for (int w = 0; w < W; ++w) dst(i, c0 + w) = static_cast<D>(src[i * W + w]);
    }
  });
}

// The columns [c0, c0 + W) of start run through all `length` steps in the packed [n, W] buffers
// `packed` and `spare`, and are written into the same columns of out. Every start count is <= xmax.
// The packing is fused with the int32 narrowing of run_steps, and the unpacking with the widening when
// every step stayed narrow: a column-major start and result (count_walks' [k, n] layout) then cost no
// transposing pass of their own.
//
// `packed_is_out`: `packed` is out's own storage (one block of a column-major out), so the last step
// must land in `spare`, to be unpacked from there: the first int64 buffer is chosen by the parity of
// the int64 steps, and one narrow step is given up when that parity cannot be chosen otherwise.
//
// Returns 0, or the first step whose counts overflow int64 (out is then not written). Steps beyond `limit` are not
// run: an earlier block overflowed at limit + 1, and only an earlier overflow changes the length the error names
// (the blocks run one after another, so the first block to overflow is not the first length to).
template <typename Policy, typename index_t, int W>
int64_t run_block(const int64_t* rowptr, const index_t* col, StridedMatrix<const typename Policy::value_t> start,
                  StridedMatrix<typename Policy::value_t> out, int64_t n, int64_t c0, int64_t length, int64_t limit,
                  typename Policy::value_t xmax, const std::vector<int64_t>& bounds, int64_t max_row,
                  typename Policy::value_t* packed, typename Policy::value_t* spare, bool packed_is_out) {
  using value_t = typename Policy::value_t;
  int64_t narrow_steps = 0;
  if constexpr (std::is_same_v<value_t, int64_t>) narrow_steps = narrow_step_count(xmax, max_row, length);
  // The int64 steps start in `packed` after a widening (the int32 blocks occupy `spare`), otherwise in
  // either buffer; with packed_is_out an odd number of them must start in `packed`, an even one in `spare`.
  if (packed_is_out && narrow_steps > 0 && narrow_steps < length && (length - narrow_steps) % 2 == 0) --narrow_steps;
  value_t* x = (packed_is_out && narrow_steps == 0 && length % 2 == 0) ? spare : packed;
  value_t* y = x == packed ? spare : packed;
  int64_t step = 1;
  if (narrow_steps > 0) {  // the two int32 blocks live in `spare` (n * W int64) until the int64 steps
    int32_t* nx = reinterpret_cast<int32_t*>(spare);
    int32_t* ny = nx + n * W;
    pack_columns<W>(start, nx, n, c0);
    for (; step <= narrow_steps; ++step) {
      if (step > limit) return 0;
      StepState state;
      xmax = step_block<NarrowCount, index_t, W>(rowptr, col, nx, ny, n, 0, step == 1, bounds, state);
      if (overflow_step(state, col, n, step) != 0) return step;
      std::swap(nx, ny);
    }
    if (narrow_steps == length) {
      unpack_columns<W>(nx, out, n, c0);
      return 0;
    }
    copy_converted(nx, x, n * W);
  } else {
    pack_columns<W>(start, x, n, c0);
  }
  for (; step <= length; ++step) {
    if (step > limit) return 0;
    StepState state;
    xmax = step_block<Policy, index_t, W>(rowptr, col, x, y, n, xmax, /*check_cols=*/step == 1, bounds, state);
    if (overflow_step(state, col, n, step) != 0) return step;
    std::swap(x, y);
  }
  TORCH_INTERNAL_ASSERT(!packed_is_out || x == spare, "walk_count: the last step must not land in out's storage");
  unpack_columns<W>(x, out, n, c0);
  return 0;
}

// True for the transpose of a contiguous [k, n] (k, n > 1): count_walks passes its [k, n] source masks
// this way, and gets its result in the same layout.
inline bool is_column_major(const at::Tensor& start) {
  return start.dim() == 2 && start.size(0) > 1 && start.size(1) > 1 && start.stride(0) == 1 &&
         start.stride(1) == start.size(0);
}

// out has start's layout: row-major, or column-major when start is (is_column_major).
template <typename value_t, typename index_t>
at::Tensor walk_count_impl(const at::Tensor& rowptr_t, const at::Tensor& col_t, const at::Tensor& start,
                           int64_t length) {
  using Policy = typename kernels::CountPolicy<value_t>::type;
  const int64_t n = start.size(0), k = start.size(1);
  const int64_t* rowptr = rowptr_t.data_ptr<int64_t>();
  const index_t* col = col_t.data_ptr<index_t>();
  const bool column_major = is_column_major(start);

  check_host_rowptr(rowptr, n, col_t.numel(), "walk_count");
  if (length == 0 || n == 0 || k == 0) {
    checked_max(start.data_ptr<value_t>(), n * k);  // same non-negativity rule as a real run
    return column_major ? start.t().clone(at::MemoryFormat::Contiguous).t() : start.clone(at::MemoryFormat::Contiguous);
  }

  const auto bounds = cpu::balanced_row_chunks(rowptr, n, 4096, 32);
  int64_t max_row = 0;  // the longest row: it bounds how fast counts grow (narrow_fits)
  for (int64_t j = 0; j < n; ++j) max_row = std::max(max_row, rowptr[j + 1] - rowptr[j]);
  const bool width_k = k == 1 || k == 2 || k == 4 || k == 8 || k == kBlock;  // k itself a block width
  // A column-major out is only written by the unpacking (or read as one packed step buffer after the int32
  // steps), so it is not worth the huge-page advice: the kernel may compact memory to honour it.
  at::Tensor out = column_major ? at::empty({k, n}, start.options()).t() : step_buffer(n, k, start.options());
  // Row-major with k a block width: run straight from `start` into `out` with one spare buffer (no packing).
  if (width_k && !column_major) {
    // One step needs no spare buffer in float64; in int64 it holds the int32 copies of the narrow phase, which
    // pays there too (k = 1, 10M random-id edges: a length-1 count 0.16 s wide, about 4x less narrow).
    const bool needs_spare = length > 1 || std::is_same_v<value_t, int64_t>;
    at::Tensor spare = needs_spare ? step_buffer(n, k, start.options()) : at::Tensor();
    value_t* spare_ptr = needs_spare ? spare.data_ptr<value_t>() : nullptr;
    auto direct = [&]<int W>() {
      run_steps<Policy, index_t, W>(rowptr, col, n, start.data_ptr<value_t>(), out.data_ptr<value_t>(), spare_ptr,
                                    length, bounds, max_row);
    };
    switch (k) {
      case 1:
        direct.template operator()<1>();
        break;
      case 2:
        direct.template operator()<2>();
        break;
      case 4:
        direct.template operator()<4>();
        break;
      case 8:
        direct.template operator()<8>();
        break;
      default:
        direct.template operator()<kBlock>();
        break;
    }
    return out;
  }
  // Column blocks. A column-major out of one block (k a block width) is itself the packed buffer (its n * k
  // values are contiguous), so the peak stays start + out + one step buffer, as on the direct path.
  const int64_t w_max = std::min<int64_t>(k, kBlock);
  const bool packed_is_out = width_k;
  // Either layout holds its n * k values contiguously from data_ptr; int64 counts must be non-negative.
  const value_t xmax = checked_max(start.data_ptr<value_t>(), n * k);
  at::Tensor spare = step_buffer(n, w_max, start.options());
  at::Tensor packed = packed_is_out ? out : step_buffer(n, w_max, start.options());
  const StridedMatrix<const value_t> in{start.data_ptr<value_t>(), start.stride(0), start.stride(1)};
  const StridedMatrix<value_t> result{out.data_ptr<value_t>(), out.stride(0), out.stride(1)};
  // Blocks of kBlock columns, then one block each of the remaining 8, 4, 2, 1 (compile-time widths).
  int64_t c0 = 0;
  int64_t first_overflow = 0;  // the smallest length at which some block overflowed (0: none so far)
  auto run = [&]<int W>() {
    const int64_t limit = first_overflow > 0 ? first_overflow - 1 : length;
    const int64_t overflowed =
        run_block<Policy, index_t, W>(rowptr, col, in, result, n, c0, length, limit, xmax, bounds, max_row,
                                      packed.data_ptr<value_t>(), spare.data_ptr<value_t>(), packed_is_out);
    if (overflowed > 0) first_overflow = overflowed;  // <= limit: earlier than any before
    c0 += W;
  };
  while (k - c0 >= kBlock) run.template operator()<kBlock>();
  if (kBlock > 8 && k - c0 >= 8) run.template operator()<8>();
  if (k - c0 >= 4) run.template operator()<4>();
  if (k - c0 >= 2) run.template operator()<2>();
  if (k - c0 >= 1) run.template operator()<1>();
  check_no_overflow(first_overflow);
  return out;
}

at::Tensor walk_count_cpu(const at::Tensor& rowptr, const at::Tensor& col, const at::Tensor& start, int64_t length) {
  check_walk_count_args(rowptr, col, start, length);
  TORCH_CHECK_VALUE(start.device().is_cpu(), "walk_count (CPU): tensors must be on the CPU");
  // A column-major start (count_walks' [k, n] masks, transposed) is read in place: no transposing copy.
  const at::Tensor rowptr_c = rowptr.contiguous(), col_c = col.contiguous();
  const at::Tensor start_c = is_column_major(start) ? start : start.contiguous();
  at::Tensor out;
  AT_DISPATCH_INDEX_TYPES(col_c.scalar_type(), "walk_count_cpu", [&] {
    if (start_c.scalar_type() == at::kLong) {
      out = walk_count_impl<int64_t, index_t>(rowptr_c, col_c, start_c, length);
    } else {
      out = walk_count_impl<double, index_t>(rowptr_c, col_c, start_c, length);
    }
  });
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("walk_count", &walk_count_cpu); }

}  // namespace rankcore::ops
