// Argument checks shared by every op that takes a CSR (rowptr, col) on the host.
#pragma once

#include <c10/util/Exception.h>

#include <cstdint>

namespace rankcore::ops {

// rowptr must run from 0 to nnz without decreasing; `op` prefixes the message.
inline void check_host_rowptr(const int64_t* rowptr, int64_t n, int64_t nnz, const char* op) {
  TORCH_CHECK_VALUE(rowptr[0] == 0 && rowptr[n] == nnz, op, ": rowptr must start at 0 and end at col.numel() = ",
                    nnz, ", got rowptr[0] = ", rowptr[0], " and rowptr[-1] = ", rowptr[n]);
  for (int64_t j = 0; j < n; ++j) {
    TORCH_CHECK_VALUE(rowptr[j] <= rowptr[j + 1], op, ": rowptr must be non-decreasing, but rowptr[", j,
                      "] = ", rowptr[j], " > rowptr[", j + 1, "] = ", rowptr[j + 1]);
  }
}

}  // namespace rankcore::ops
