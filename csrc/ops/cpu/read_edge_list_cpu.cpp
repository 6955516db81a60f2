// CPU implementation of rankcore::read_edge_list (schema and contract in ops/read_edge_list.cpp).
//
// The file is read with pread in blocks, not memory-mapped: a file truncated while mapped kills the
// process with SIGBUS, while a short pread is an error we can report ("file changed while being
// read"). The byte range is split into chunks at line starts; chunks are parsed in parallel, each
// through its own small block buffer, into per-chunk id vectors, then copied into the [2, m] result.
//
// Lines end at '\n' or '\r' (so LF, CRLF and old-Mac CR files all read; a CRLF is a line and an empty
// line, and empty lines are skipped). Line NUMBERS in messages count '\n', '\r\n' and a lone '\r' as
// one line end each; they are computed on the error path only.
//
// Header: the file's first data line (after comments and blank lines) is skipped when it has no
// number-like field and is plain text (see is_header_line); any other malformed line, the first one
// included, is a "path:line: ..." error. A UTF-8 byte-order mark at the start of the file is skipped.
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ops/cpu/progress_slot.h"
#include "ops/read_edge_list.h"

namespace rankcore::ops {
namespace {

constexpr int64_t kBlock = 256 << 10;     // pread size: the parser reads the block while it is in cache
constexpr int64_t kMaxPending = 1 << 20;  // a line whose two ids are not found within 1 MiB is an error
constexpr size_t kShownBytes = 80;        // a bad line is echoed cut to this many bytes, escaped

inline bool is_sep(char ch) { return ch == ' ' || ch == '\t' || ch == ',' || ch == '\v' || ch == '\f'; }
inline bool is_eol(char ch) { return ch == '\n' || ch == '\r'; }
inline bool ends_token(char ch) { return is_sep(ch) || is_eol(ch) || ch == '#'; }

enum LineKind { kEmpty = 0, kEdge, kTooFew, kNotInt, kNegative, kAboveMax, kTooLong };

// The outcome of parsing one line that starts at p in a buffer ending at end.
struct Parsed {
  const char* next = nullptr;  // first byte after the line end; nullptr: the line end is past the buffer
  LineKind kind = kEmpty;
  bool known = false;  // kind is final even though the line end was not seen (the rest is skipped)
  int64_t u = 0, v = 0;
};

inline const char* find_eol(const char* p, const char* end) {
  while (p < end && !is_eol(*p)) ++p;
  return p;
}

// One token as an int64 (optional sign, decimal digits). Sets *p past the token; kind stays kEdge or
// becomes kNotInt. `complete` is false when the token runs into the end of the buffer (it may go on).
inline int64_t parse_token(const char*& p, const char* end, LineKind& kind, bool& complete) {
  bool neg = false;
  if (p < end && (*p == '-' || *p == '+')) neg = *p++ == '-';
  const uint64_t limit = neg ? uint64_t(1) << 63 : uint64_t(INT64_MAX);
  uint64_t x = 0;
  bool digits = false, ok = true;
  for (; p < end && !ends_token(*p); ++p) {
    const unsigned d = static_cast<unsigned char>(*p) - '0';
    if (d > 9 || x > (limit - d) / 10) {
      ok = false;
    } else {
      x = x * 10 + d;
      digits = true;
    }
  }
  complete = p < end;
  if (!ok || !digits) kind = kNotInt;
  return neg ? static_cast<int64_t>(0 - x) : static_cast<int64_t>(x);
}

// Parses the line at p: its first two fields as ids (further fields ignored). `final`: end is the end
// of the chunk, so a line without a line end ends there.
inline Parsed parse_line(const char* p, const char* end, bool final, int64_t max_id) {
  Parsed r;
  int64_t id[2];
  int k = 0;
  LineKind kind = kEdge;
  while (true) {
    while (p < end && is_sep(*p)) ++p;
    if (p == end) {
      if (!final) return r;  // line end not seen; kind unknown unless two ids were parsed
      r.next = end;
      break;
    }
    if (is_eol(*p)) {
      r.next = p + 1;
      break;
    }
    if (*p == '#' || k == 2) {  // a comment, or the ignored fields after the two ids: skip to the line end
      r.known = true;
      const char* e = find_eol(p, end);
      r.next = e < end ? e + 1 : (final ? end : nullptr);
      break;
    }
    bool complete = true;
    id[k] = parse_token(p, end, kind, complete);
    if (!complete && !final) {          // the token may go on in the next block
      if (kind == kNotInt && k == 1) {  // ...but a bad second field decides the line already
        r.kind = kNotInt;
        r.known = true;
      }
      return r;
    }
    ++k;
  }
  if (k == 0) {
    r.kind = kEmpty;
  } else if (k < 2) {
    r.kind = kTooFew;
  } else if (kind == kNotInt) {
    r.kind = kNotInt;
  } else if (max_id >= 0 && (id[0] < 0 || id[1] < 0)) {
    r.kind = kNegative;
  } else if (max_id >= 0 && (id[0] > max_id || id[1] > max_id)) {
    r.kind = kAboveMax;
  } else {
    r.kind = kEdge;
    r.u = id[0];
    r.v = id[1];
  }
  r.known = true;
  return r;
}

// The open file: pread with a check that the file did not shrink under us.
struct File {
  std::string path;
  int fd = -1;
  int64_t size = 0;
  struct stat st{};

  explicit File(std::string p) : path(std::move(p)) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    TORCH_CHECK_VALUE(fd >= 0, path, ": cannot open: ", std::strerror(errno));
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      TORCH_CHECK_VALUE(false, path, ": cannot stat: ", std::strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      TORCH_CHECK_VALUE(!S_ISDIR(st.st_mode), path, ": is a directory, not an edge-list file");
      TORCH_CHECK_VALUE(false, path,
                        ": not a regular file (a FIFO, socket or device); rankcore reads edge "
                        "lists from regular files");
    }
    size = static_cast<int64_t>(st.st_size);
  }
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  [[noreturn]] void changed() const {
    TORCH_CHECK_VALUE(false, path,
                      ": file changed while being read (its size or contents changed); "
                      "read it again once it is complete");
  }

  // Reads exactly [off, off + len) into dst (len <= what is left of the size seen at open).
  void read(char* dst, int64_t off, int64_t len) const {
    while (len > 0) {
      const ssize_t got = ::pread(fd, dst, static_cast<size_t>(len), off);
      if (got < 0) {
        if (errno == EINTR) continue;
        TORCH_CHECK_VALUE(false, path, ": read error: ", std::strerror(errno));
      }
      if (got == 0) changed();  // the file is shorter than when it was opened
      dst += got;
      off += got;
      len -= got;
    }
  }

  // Up to max bytes from off (fewer at the end of the file).
  std::string read_some(int64_t off, int64_t max) const {
    std::string s(static_cast<size_t>(std::clamp<int64_t>(size - off, 0, max)), '\0');
    read(s.data(), off, static_cast<int64_t>(s.size()));
    return s;
  }

  // A size or modification-time change since open means the parse may mix two versions of the file.
  void check_unchanged() const {
    struct stat now{};
    TORCH_CHECK_VALUE(::fstat(fd, &now) == 0, path, ": cannot stat: ", std::strerror(errno));
    if (now.st_size != st.st_size || now.st_mtim.tv_sec != st.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != st.st_mtim.tv_nsec) {
      changed();
    }
  }
};

// Bytes of a UTF-8 byte-order mark at offset 0 (0 or 3).
int64_t bom_length(const File& f) {
  const std::string head = f.read_some(0, 3);
  return head == "\xEF\xBB\xBF" ? 3 : 0;
}

// The first line start at or after x (x itself when x is one): a line starts after '\n' or '\r'.
int64_t line_start(const File& f, int64_t x) {
  if (x <= 0) return 0;
  if (x >= f.size) return f.size;
  std::vector<char> buf(static_cast<size_t>(kBlock));
  for (int64_t pos = x - 1; pos < f.size; pos += kBlock) {
    const int64_t len = std::min(kBlock, f.size - pos);
    f.read(buf.data(), pos, len);
    const char* e = find_eol(buf.data(), buf.data() + len);
    if (e < buf.data() + len) return pos + (e - buf.data()) + 1;
  }
  return f.size;
}

// The 1-based line number of the line starting at offset p ('\n', "\r\n" and a lone '\r' end a line).
int64_t line_number(const File& f, int64_t p) {
  std::vector<char> buf(static_cast<size_t>(kBlock));
  int64_t lines = 1;
  bool cr = false;
  for (int64_t pos = 0; pos < p; pos += kBlock) {
    const int64_t len = std::min(kBlock, p - pos);
    f.read(buf.data(), pos, len);
    for (int64_t i = 0; i < len; ++i) {
      const char c = buf[static_cast<size_t>(i)];
      lines += (c == '\n') + (cr && c != '\n');
      cr = c == '\r';
    }
  }
  return lines + cr;  // a '\r' just before p ends a line (p starts a line, so it is not "\r\n")
}

// The line at offset p as shown in a message: up to the line end or '#', commas as spaces, trimmed,
// cut to kShownBytes and escaped (control and non-ASCII bytes as \xNN: no raw bytes reach a terminal,
// and the message is valid UTF-8).
std::string shown_line(const File& f, int64_t p) {
  std::string raw = f.read_some(p, 4 * kShownBytes);
  raw = raw.substr(0, std::min(raw.find_first_of("\n\r"), raw.find('#')));
  std::replace(raw.begin(), raw.end(), ',', ' ');
  const size_t first = raw.find_first_not_of(" \t\v\f");
  raw = first == std::string::npos ? std::string() : raw.substr(first, raw.find_last_not_of(" \t\v\f") - first + 1);
  const bool cut = raw.size() > kShownBytes;
  if (cut) raw.resize(kShownBytes);
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return cut ? out + "..." : out;
}

// A header line: plain text (no control bytes, valid UTF-8) with no number-like field, where a field is
// number-like when it starts, after an optional sign, with a digit or with '.' and a digit. So "src dst",
// "FromNodeId ToNodeId" and "edges" are headers; "1.5 2", "9223372036854775808 1" and binary data are not.
bool is_header_line(const File& f, int64_t p) {
  std::string line = f.read_some(p, kMaxPending);
  const size_t e = line.find_first_of("\n\r");
  if (e == std::string::npos && p + static_cast<int64_t>(line.size()) < f.size) return false;  // too long
  line = line.substr(0, std::min(e, line.find('#')));
  for (size_t i = 0; i < line.size();) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x80) {
      if ((c < 0x20 && !is_sep(line[i])) || c == 0x7f) return false;
      ++i;
      continue;
    }
    // a UTF-8 sequence: a lead byte and 1-3 continuation bytes (overlong forms are not checked)
    const int n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= line.size()) return false;
    for (int j = 1; j <= n; ++j) {
      if ((static_cast<unsigned char>(line[i + j]) & 0xc0) != 0x80) return false;
    }
    i += n + 1;
  }
  bool field_start = true;
  for (size_t i = 0; i < line.size(); ++i) {
    if (is_sep(line[i])) {
      field_start = true;
      continue;
    }
    if (field_start) {
      size_t j = i + (line[i] == '-' || line[i] == '+');
      const auto digit = [&](size_t at) { return at < line.size() && line[at] >= '0' && line[at] <= '9'; };
      if (digit(j) || (j < line.size() && line[j] == '.' && digit(j + 1))) return false;
    }
    field_start = false;
  }
  return true;
}

// Walks the lines that start in [lo, hi) (both line starts) through a block buffer, calling
// on_line(offset, parsed) for each one (kind kTooLong: no two ids within kMaxPending bytes) until it
// returns false; advanced(bytes) after each block read.
template <class OnLine, class Advanced>
void scan_lines(const File& f, int64_t lo, int64_t hi, int64_t max_id, OnLine&& on_line, Advanced&& advanced) {
  std::vector<char> buf(static_cast<size_t>(std::min(kBlock, hi - lo)));
  int64_t base = lo;      // file offset of buf[0]
  int64_t have = 0;       // bytes in buf
  bool skipping = false;  // the current line was handled; its rest runs past the buffer
  while (base + have < hi) {
    const int64_t add = std::min(kBlock, hi - (base + have));
    if (have + add > static_cast<int64_t>(buf.size())) buf.resize(static_cast<size_t>(have + add));
    f.read(buf.data() + have, base + have, add);
    have += add;
    advanced(add);
    const bool final = base + have == hi;
    const char* const start = buf.data();
    const char* const end = start + have;
    const char* p = start;
    if (skipping) {
      p = find_eol(p, end);
      skipping = p == end && !final;
      p = std::min(p + 1, end);
    }
    while (p < end && !skipping) {
      const Parsed r = parse_line(p, end, final, max_id);
      if (r.next == nullptr && !r.known) {
        if (end - p < kMaxPending) break;  // carry the partial line to the next block
        Parsed too_long;
        too_long.kind = kTooLong;
        on_line(base + (p - start), too_long);
        return;
      }
      if (!on_line(base + (p - start), r)) return;
      skipping = r.next == nullptr;  // handled; the rest of the line is in the next block(s)
      p = skipping ? end : r.next;
    }
    const int64_t used = p - start;
    std::memmove(buf.data(), buf.data() + used, static_cast<size_t>(have - used));
    base += used;
    have -= used;
  }
}

struct ChunkOut {
  std::vector<int64_t> u, v;
  int64_t bad_at = -1;  // file offset of the first malformed line
  LineKind bad_kind = kEmpty;
};

[[noreturn]] void report_bad_line(const File& f, int64_t at, LineKind kind, int64_t max_id) {
  const int64_t line = line_number(f, at);
  const std::string text = shown_line(f, at);
  switch (kind) {
    case kTooFew:
      TORCH_CHECK_VALUE(false, f.path, ":", line, ": expected two vertex ids 'u v', got '", text, "'");
    case kNegative:
      TORCH_CHECK_VALUE(false, f.path, ":", line, ": negative vertex id in '", text, "': vertices are numbered ",
                        "0..n-1 (relabel arbitrary ids densely first: the rankcore command's --relabel)");
    case kAboveMax:
      TORCH_CHECK_VALUE(false, f.path, ":", line, ": vertex id in '", text, "' is above ", max_id,
                        ", the largest id rankcore uses as an array position (int32 CSR columns); relabel ",
                        "sparse ids densely first (the rankcore command's --relabel)");
    case kTooLong:
      TORCH_CHECK_VALUE(false, f.path, ":", line, ": no two vertex ids within the first ", kMaxPending,
                        " bytes of the line (binary data?), starting '", text, "'");
    default:
      TORCH_CHECK_VALUE(false, f.path, ":", line,
                        ": vertex ids must be integers (int64), "
                        "got '",
                        text, "'");
  }
}

at::Tensor read_edge_list_cpu(c10::string_view path_view, const at::Tensor& progress, int64_t begin, int64_t end,
                              int64_t max_id) {
  check_read_edge_list_args(progress, begin, end, max_id);
  cpu::ProgressSlot done(progress.data_ptr<int64_t>(), progress.numel());
  done.store(0);
  const File f(std::string(path_view.data(), path_view.size()));
  const int64_t bom = bom_length(f);
  const int64_t hi = end < 0 ? f.size : line_start(f, end);
  const int64_t lo = std::min(hi, std::max(line_start(f, begin), begin <= 0 ? bom : int64_t(0)));

  // Header: the file's first data line (from the start of the file; the scan stops at hi, since a first
  // data line past it is another range's business), skipped when it starts in [lo, hi) and is a header.
  int64_t first_data = -1;
  scan_lines(
      f, std::min(bom, hi), hi, -1,
      [&](int64_t at, const Parsed& r) {
        if (r.kind == kEmpty) return true;
        first_data = at;
        return false;
      },
      [](int64_t) {});
  const bool header = first_data >= lo && first_data < hi && is_header_line(f, first_data);
  const int64_t start = header ? line_start(f, first_data + 1) : lo;

  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t K = std::clamp<int64_t>((hi - start) >> 20, 1, 8 * threads);
  std::vector<int64_t> bounds(K + 1, hi);
  bounds[0] = start;
  for (int64_t k = 1; k < K; ++k) bounds[k] = std::max(bounds[k - 1], line_start(f, start + (hi - start) * k / K));
  std::vector<ChunkOut> out(K);
  std::atomic<int64_t> parsed{0};
  std::atomic<bool> stop{false};
  // Every chunk is parsed (a bad line stops only its own chunk), so the earliest bad line is reported.
  at::parallel_for(0, K, 1, [&](int64_t kb, int64_t ke) {
    for (int64_t k = kb; k < ke && !stop.load(std::memory_order_relaxed); ++k) {
      ChunkOut& o = out[k];
      o.u.reserve(static_cast<size_t>((bounds[k + 1] - bounds[k]) / 10));
      o.v.reserve(static_cast<size_t>((bounds[k + 1] - bounds[k]) / 10));
      try {
        scan_lines(
            f, bounds[k], bounds[k + 1], max_id,
            [&](int64_t at, const Parsed& r) {
              if (r.kind == kEdge) {
                o.u.push_back(r.u);
                o.v.push_back(r.v);
              } else if (r.kind != kEmpty) {
                o.bad_at = at;
                o.bad_kind = r.kind;
                return false;
              }
              return true;
            },
            [&](int64_t bytes) { done.store(parsed.fetch_add(bytes) + bytes); });  // throws on cancel
      } catch (...) {
        stop.store(true);  // the other threads stop at their next chunk
        throw;
      }
    }
  });
  for (const ChunkOut& o : out) {
    if (o.bad_at >= 0) report_bad_line(f, o.bad_at, o.bad_kind, max_id);
  }
  f.check_unchanged();
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

TORCH_LIBRARY_IMPL(rankcore, CPU, m) { m.impl("read_edge_list", &read_edge_list_cpu); }

}  // namespace rankcore::ops
