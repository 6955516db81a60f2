// rankcore::read_edge_list — parse an edge-list text file (SNAP style).
//
//   read_edge_list(path, progress, begin=0, end=-1) -> edge_index [2, m] int64
//
// One edge "u v" per line (whitespace and/or commas; further fields ignored); '#' starts a comment
// anywhere; the first data line of the file may be a non-numeric header. Malformed lines raise
// ValueError "path:line: ..." (the file's line number, also for a byte range). progress[0] is
// overwritten with the bytes parsed so far (polled by another thread; the op runs without the GIL);
// progress[1], when present, is a cancel flag.
//
// Byte range [begin, end) (end -1: the file size; both clamped to it): only the lines whose FIRST byte
// lies in the range are parsed, so the ranges [size*r/W, size*(r+1)/W) of r = 0..W-1 read every line
// exactly once and their results, concatenated in rank order, are the whole file's edges in file order.
#include "ops/read_edge_list.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_read_edge_list_args(const at::Tensor& progress, int64_t begin, int64_t end) {
  TORCH_CHECK_VALUE(progress.scalar_type() == at::kLong && (progress.numel() == 1 || progress.numel() == 2) &&
                        progress.is_contiguous() && progress.device().is_cpu(),
                    "read_edge_list: progress must be a contiguous int64 CPU tensor of 1 or 2 elements");
  TORCH_CHECK_VALUE(begin >= 0 && (end == -1 || end >= begin), "read_edge_list: the byte range must have ",
                    "0 <= begin <= end (end -1: the end of the file), got begin=", begin, ", end=", end);
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("read_edge_list(str path, Tensor(a!) progress, int begin=0, int end=-1) -> Tensor");
}

}  // namespace rankcore::ops
