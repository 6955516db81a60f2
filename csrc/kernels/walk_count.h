// Per-element arithmetic of walk counting, shared by the CPU and CUDA kernels.
//
// One step of walk counting is y[j] = x[j] + sum_{i -> j} x[i] (the implicit self-loop of Â = A + I
// plus the in-neighbours). The only operation is addition, so two policies cover every dtype:
//   * ExactCount (int64): counts are non-negative, so we add them as uint64 and saturate at 2^63.
//     A saturated accumulator means the true count exceeds INT64_MAX. Saturation never wraps, so the
//     check is one compare per row at the end, and the inner loop stays branch-free (vectorisable).
//   * FloatCount (float64): plain IEEE addition, the approximate mode.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace rankcore::kernels {

struct ExactCount {
  using value_t = int64_t;
  using acc_t = uint64_t;
  static constexpr acc_t kSaturated = acc_t(1) << 63;  // INT64_MAX + 1

  HOST_DEVICE_INLINE static acc_t load(value_t v) { return static_cast<acc_t>(v); }
  // Saturating add of two values <= kSaturated; a + b <= 2^64 - ... can reach 2^64 only when both are
  // saturated, which the (s < a) test catches as a wrap.
  HOST_DEVICE_INLINE static acc_t add(acc_t a, acc_t b) {
    const acc_t s = a + b;
    return (s < a || s > kSaturated) ? kSaturated : s;
  }
  HOST_DEVICE_INLINE static bool overflowed(acc_t a) { return a >= kSaturated; }
  HOST_DEVICE_INLINE static value_t store(acc_t a) {
    return static_cast<value_t>(a >= kSaturated ? kSaturated - 1 : a);
  }
};

struct FloatCount {
  using value_t = double;
  using acc_t = double;
  HOST_DEVICE_INLINE static acc_t load(value_t v) { return v; }
  HOST_DEVICE_INLINE static acc_t add(acc_t a, acc_t b) { return a + b; }
  HOST_DEVICE_INLINE static bool overflowed(acc_t) { return false; }
  HOST_DEVICE_INLINE static value_t store(acc_t a) { return a; }
};

template <typename T>
struct CountPolicy;
template <>
struct CountPolicy<int64_t> {
  using type = ExactCount;
};
template <>
struct CountPolicy<double> {
  using type = FloatCount;
};

}  // namespace rankcore::kernels
