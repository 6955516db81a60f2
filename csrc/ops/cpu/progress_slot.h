// The progress / cancel slot of a long native loop (wis_greedy).
//
// The caller passes a contiguous int64 CPU tensor: element 0 is overwritten with the number of steps
// done (polled by another Python thread while the op runs without the GIL); element 1, when present,
// is a cancel flag the caller sets to non-zero (on Ctrl-C, or when its progress callback raised). The
// loop checks the flag each time it reports progress and then stops with an error whose message
// starts with kCancelledPrefix, so the worker thread finishes promptly and can be joined.
#pragma once

#include <c10/util/Exception.h>

#include <atomic>
#include <cstdint>

namespace rankcore::ops::cpu {

inline constexpr const char* kCancelledPrefix = "rankcore cancelled:";

class ProgressSlot {
 public:
  ProgressSlot(int64_t* data, int64_t numel) : done_(data[0]), cancel_(numel > 1 ? data + 1 : nullptr) {}

  void store(int64_t steps, std::memory_order order = std::memory_order_relaxed) {
    done_.store(steps, order);
    if (cancel_ != nullptr && std::atomic_ref<int64_t>(*cancel_).load(std::memory_order_relaxed) != 0) {
      TORCH_CHECK(false, kCancelledPrefix, " stopped after ", steps, " steps at the caller's request");
    }
  }

 private:
  std::atomic_ref<int64_t> done_;
  int64_t* cancel_;
};

}  // namespace rankcore::ops::cpu
