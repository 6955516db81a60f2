// rankcore::read_edge_list — parse an edge-list text file (SNAP style).
//
//   read_edge_list(path, progress, begin=0, end=-1, max_id=-1) -> edge_index [2, m] int64
//
// One edge "u v" per line (whitespace and/or commas; further fields ignored); lines end at LF, CRLF or
// CR; '#' starts a comment anywhere; a UTF-8 byte-order mark at the start is skipped; the first data
// line of the file may be a header: plain text with no number-like field ("src dst", "edges"). Every
// other malformed line raises ValueError "path:line: ..." (the file's line number, also for a byte
// range; the line echoed cut and escaped). max_id >= 0: every id must lie in [0, max_id], checked per
// line so the error names the line (-1: any int64). Only regular files are read (a FIFO would block);
// a file that shrinks or changes while it is read is an error, never a crash. progress[0] is
// overwritten with the bytes parsed so far (polled by another thread; the op runs without the GIL);
// progress[1], when present, is a cancel flag.
//
// Byte range [begin, end) (end -1: the file size; both clamped to it): only the lines whose FIRST byte
// lies in the range are parsed, so the ranges [size*r/W, size*(r+1)/W) of r = 0..W-1 read every line
// exactly once and their results, concatenated in rank order, are the whole file's edges in file order.
#include "ops/read_edge_list.h"

#include <torch/library.h>

namespace rankcore::ops {

void check_read_edge_list_args(const at::Tensor& progress, int64_t begin, int64_t end, int64_t max_id) {
  TORCH_CHECK_VALUE(progress.scalar_type() == at::kLong && (progress.numel() == 1 || progress.numel() == 2) &&
                        progress.is_contiguous() && progress.device().is_cpu(),
                    "read_edge_list: progress must be a contiguous int64 CPU tensor of 1 or 2 elements");
  TORCH_CHECK_VALUE(begin >= 0 && (end == -1 || end >= begin), "read_edge_list: the byte range must have ",
                    "0 <= begin <= end (end -1: the end of the file), got begin=", begin, ", end=", end);
  TORCH_CHECK_VALUE(max_id >= -1, "read_edge_list: max_id must be >= 0 (or -1: no limit), got ", max_id);
}

TORCH_LIBRARY_FRAGMENT(rankcore, m) {
  m.def("read_edge_list(str path, Tensor(a!) progress, int begin=0, int end=-1, int max_id=-1) -> Tensor");
}

}  // namespace rankcore::ops
