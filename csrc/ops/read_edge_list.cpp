// rankcore::read_edge_list — parse an edge-list text file (SNAP style).
//
//   read_edge_list(path, progress) -> edge_index [2, m] int64
//
// One edge "u v" per line (whitespace and/or commas; further fields ignored); '#' starts a comment
// anywhere; the first data line may be a non-numeric header. Malformed lines raise ValueError
// "path:line: ...". progress[0] is overwritten with the bytes parsed so far (polled by another thread;
// the op runs without the GIL); progress[1], when present, is a cancel flag.
#include "ops/read_edge_list.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_read_edge_list_args(const at::Tensor& progress) {
  TORCH_CHECK_VALUE(progress.scalar_type() == at::kLong && (progress.numel() == 1 || progress.numel() == 2) &&
                        progress.is_contiguous() && progress.device().is_cpu(),
                    "read_edge_list: progress must be a contiguous int64 CPU tensor of 1 or 2 elements");
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("read_edge_list(str path, Tensor(a!) progress) -> Tensor");
}

}  // namespace rankcore::ops
