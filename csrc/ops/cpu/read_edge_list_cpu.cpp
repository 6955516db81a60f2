// CPU implementation of rankcore::read_edge_list (schema and contract in ops/read_edge_list.cpp).
//
// The file is memory-mapped and split into chunks at newlines; chunks are parsed in parallel into
// per-chunk id vectors, then copied into the [2, m] result. A header is recognised once, before the
// parallel pass: the first line that holds data (after comments and blank lines) is skipped when its
// first field is not an integer. A byte range [begin, end) narrows the parse to the lines that start
// in it: [line_start(begin), line_start(end)), line_start(x) the first line start at or after x; only
// those pages (and the comment lines before the file's first data line) are touched. On a malformed line every chunk stops at its first bad line; the
// earliest one is reported as "path:line: ..." (the line number is counted on this error path only).
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ops/read_edge_list.h"
#include "ops/cpu/progress_slot.h"

namespace rankcore::ops {
namespace {

inline bool is_sep(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == ',' || ch == '\v' || ch == '\f'; }

// A token [b, e) as an int64; false when it is not a (signed, decimal) integer in range.
bool parse_int(const char* b, const char* e, int64_t& out) {
  bool neg = false;
  if (b < e && (*b == '-' || *b == '+')) neg = *b++ == '-';
  if (b == e) return false;
  uint64_t v = 0;
  const uint64_t limit = neg ? uint64_t(1) << 63 : uint64_t(INT64_MAX);
  for (; b < e; ++b) {
    const unsigned d = static_cast<unsigned char>(*b) - '0';
    if (d > 9) return false;
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

enum LineKind { kEmpty = 0, kEdge = 1, kTooFew = 2, kNotInt = 3 };

// Parses the line [b, e) (no newline): comment stripped, first two fields.
inline LineKind parse_line(const char* b, const char* e, int64_t& u, int64_t& v) {
  if (const void* h = std::memchr(b, '#', static_cast<size_t>(e - b))) e = static_cast<const char*>(h);
  const char* tok[2][2];
  int k = 0;
  const char* p = b;
  while (k < 2) {
    while (p < e && is_sep(*p)) ++p;
    if (p == e) break;
    tok[k][0] = p;
    while (p < e && !is_sep(*p)) ++p;
    tok[k][1] = p;
    ++k;
  }
  if (k == 0) return kEmpty;
  if (k < 2) return kTooFew;
  if (!parse_int(tok[0][0], tok[0][1], u) || !parse_int(tok[1][0], tok[1][1], v)) return kNotInt;
  return kEdge;
}

struct Mapped {
  const char* data = nullptr;
  size_t size = 0;
  ~Mapped() {
    if (data != nullptr) munmap(const_cast<char*>(data), size);
  }
};

struct ChunkOut {
  std::vector<int64_t> u, v;
  int64_t bad_at = -1;  // byte offset of the first malformed line
  LineKind bad_kind = kEmpty;
};

at::Tensor read_edge_list_cpu(c10::string_view path_view, const at::Tensor& progress, int64_t begin, int64_t end) {
  check_read_edge_list_args(progress, begin, end);
  const std::string path(path_view.data(), path_view.size());
  cpu::ProgressSlot done(progress.data_ptr<int64_t>(), progress.numel());
  done.store(0);
  const int fd = ::open(path.c_str(), O_RDONLY);
  TORCH_CHECK_VALUE(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    TORCH_CHECK_VALUE(false, path, ": cannot stat: ", std::strerror(err));
  }
  Mapped map;
  map.size = static_cast<size_t>(st.st_size);
  if (map.size) {
    void* p = ::mmap(nullptr, map.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      TORCH_CHECK_VALUE(false, path, ": cannot map: ", std::strerror(err));
    }
    map.data = static_cast<const char*>(p);
    ::madvise(p, map.size, MADV_SEQUENTIAL);
  }
  ::close(fd);
  const char* data = map.data;
  const int64_t size = static_cast<int64_t>(map.size);

  // The lines that start in [begin, end): [lo, hi), both line starts (or the file size).
  const auto line_start = [&](int64_t x) -> int64_t {
    if (x <= 0 || x >= size || data[x - 1] == '\n') return std::clamp<int64_t>(x, 0, size);
    const void* nl = std::memchr(data + x, '\n', static_cast<size_t>(size - x));
    return nl ? static_cast<const char*>(nl) - data + 1 : size;
  };
  const int64_t lo = line_start(begin);
  const int64_t hi = end < 0 ? size : line_start(end);

  // Header: the file's first data line, when its first field is not an integer (skipped when it starts
  // in [lo, hi); the scan stops at hi: a first data line past it is another range's business).
  int64_t body = 0;
  for (int64_t p = 0; p < hi;) {
    const char* nl = static_cast<const char*>(std::memchr(data + p, '\n', static_cast<size_t>(size - p)));
    const int64_t e = nl ? nl - data : size;
    int64_t u = 0, v = 0;
    const LineKind kind = parse_line(data + p, data + e, u, v);
    if (kind != kEmpty) {
      if (kind == kNotInt) {
        const char* q = data + p;
        while (q < data + e && is_sep(*q)) ++q;
        const char* t = q;
        while (t < data + e && !is_sep(*t)) ++t;
        int64_t x = 0;
        if (!parse_int(q, t, x)) body = std::min(size, e + 1);  // a header: skip it
      }
      break;
    }
    p = e + 1;
  }

  const int64_t start = std::min(std::max(lo, body), hi);
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t K = std::clamp<int64_t>((hi - start) >> 20, 1, 8 * threads);
  std::vector<int64_t> bounds(K + 1, hi);
  bounds[0] = start;
  for (int64_t k = 1; k < K; ++k) {
    int64_t b = std::max(bounds[k - 1], start + (hi - start) * k / K);
    if (b > bounds[k - 1] && b < hi && data[b - 1] != '\n') {
      const void* nl = std::memchr(data + b, '\n', static_cast<size_t>(hi - b));
      b = nl ? static_cast<const char*>(nl) - data + 1 : hi;
    }
    bounds[k] = b;
  }
  std::vector<ChunkOut> out(K);
  std::atomic<int64_t> parsed{0};
  std::atomic<bool> stop{false};
  at::parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
    for (int64_t k = kb; k < ke && !stop.load(std::memory_order_relaxed); ++k) {
      ChunkOut& o = out[k];
      const int64_t lo = bounds[k], hi = bounds[k + 1];
      o.u.reserve(static_cast<size_t>((hi - lo) / 10));
      o.v.reserve(static_cast<size_t>((hi - lo) / 10));
      for (int64_t p = lo; p < hi;) {
        const char* nl = static_cast<const char*>(std::memchr(data + p, '\n', static_cast<size_t>(hi - p)));
        const int64_t e = nl ? nl - data : hi;
        int64_t u = 0, v = 0;
        const LineKind kind = parse_line(data + p, data + e, u, v);
        if (kind == kEdge) {
          o.u.push_back(u);
          o.v.push_back(v);
        } else if (kind != kEmpty) {
          o.bad_at = p;
          o.bad_kind = kind;
          break;
        }
        p = e + 1;
      }
      const int64_t total = parsed.fetch_add(hi - lo) + (hi - lo);
      try {
        done.store(total);
      } catch (...) {
        stop.store(true);
        throw;
      }
    }
  });
  for (const ChunkOut& o : out) {
    if (o.bad_at < 0) continue;
    const int64_t p = o.bad_at;
    const int64_t line = 1 + std::count(data, data + p, '\n');
    const char* nl = static_cast<const char*>(std::memchr(data + p, '\n', static_cast<size_t>(size - p)));
    const char* e = nl ? nl : data + size;
    if (const void* h = std::memchr(data + p, '#', static_cast<size_t>(e - (data + p)))) e = static_cast<const char*>(h);
    std::string text(data + p, e);
    std::replace(text.begin(), text.end(), ',', ' ');
    const size_t f = text.find_first_not_of(" \t\r\v\f");
    const size_t l = text.find_last_not_of(" \t\r\v\f");
    text = f == std::string::npos ? std::string() : text.substr(f, l - f + 1);
    if (o.bad_kind == kTooFew) {
      TORCH_CHECK_VALUE(false, path, ":", line, ": expected two vertex ids 'u v', got '", text, "'");
    }
    TORCH_CHECK_VALUE(false, path, ":", line, ": vertex ids must be integers (int64), got '", text, "'");
  }
  std::vector<int64_t> offset(K + 1, 0);
  for (int64_t k = 0; k < K; ++k) offset[k + 1] = offset[k] + static_cast<int64_t>(out[k].u.size());
  const int64_t m = offset[K];
  at::Tensor result = at::empty({2, m}, at::TensorOptions().dtype(at::kLong));
  int64_t* r = result.data_ptr<int64_t>();
  at::parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
    for (int64_t k = kb; k < ke; ++k) {
      std::copy(out[k].u.begin(), out[k].u.end(), r + offset[k]);
      std::copy(out[k].v.begin(), out[k].v.end(), r + m + offset[k]);
      std::vector<int64_t>().swap(out[k].u);
      std::vector<int64_t>().swap(out[k].v);
    }
  });
  done.store(hi - lo);
  return result;
}

}  // namespace

TORCH_LIBRARY_IMPL(rankcore, CPU, m) {
  m.impl("read_edge_list", &read_edge_list_cpu);
}

}  // namespace rankcore::ops
