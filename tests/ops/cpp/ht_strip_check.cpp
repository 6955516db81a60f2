// Host check of kernels::ht_backward_strip and the strip / column arithmetic of the CUDA ht_leaf_pool
// backward (csrc/ops/cuda/ht_pool_kernel.cu: strip blockIdx.z covers columns [z * strip, + width), its
// shared buffer holds rows x width elements, element e of a leaf's block maps to row e / width, column
// r0 + e % width). Built and run by tests/test_ht_kernel_layout.py; prints "ok <cases>".
#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/ht_pool.h"

int main() {
  int cases = 0;
  for (int64_t max_rows : {1, 2, 8, 16, 64, 100, 1000, 5000, 40000}) {
    for (int64_t R : {1, 3, 31, 32, 33, 64, 100, 256, 1000}) {
      for (int64_t budget : {0, 1, 7, 512, 4096, 28672, 14336}) {
        const int64_t strip = rankcore::kernels::ht_backward_strip(max_rows, R, budget);
        ++cases;
        if (strip == 0) {  // global atomics: allowed only when not one column fits
          if (max_rows <= budget) {
            std::printf("strip 0 although a column fits\n");
            return 1;
          }
          continue;
        }
        if (strip < 1 || (strip < R && max_rows * strip > budget) || (strip >= R && max_rows * R > budget)) {
          std::printf("bad strip %lld (rows %lld, R %lld, budget %lld)\n", (long long)strip, (long long)max_rows,
                      (long long)R, (long long)budget);
          return 1;
        }
        if (strip < R && strip >= 32 && strip % 32 != 0) {
          std::printf("strip not a warp multiple\n");
          return 1;
        }
        // every (row, column) of a node's table written by exactly one strip element
        const int64_t rows = max_rows < 50 ? max_rows : 50;
        std::vector<int> hit(rows * R, 0);
        const int64_t strips = (R + strip - 1) / strip;
        for (int64_t z = 0; z < strips; ++z) {
          const int64_t r0 = z * strip, width = R - r0 < strip ? R - r0 : strip;
          if (rows * width > (strip >= R ? max_rows * R : max_rows * strip)) {
            std::printf("buffer\n");
            return 1;
          }
          for (int64_t e = 0; e < rows * width; ++e) ++hit[(e / width) * R + r0 + e % width];
        }
        for (int h : hit)
          if (h != 1) {
            std::printf("column covered %d times\n", h);
            return 1;
          }
      }
    }
  }
  std::printf("ok %d\n", cases);
  return 0;
}
