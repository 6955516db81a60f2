// Module init: the pybind11 `_C` module carries build information only (no tensors cross pybind11).
// Loading the shared library runs the TORCH_LIBRARY registrations of every op file.
#include <pybind11/pybind11.h>
#include <torch/library.h>
#include <torch/version.h>

#include <ATen/Parallel.h>

#ifndef RANKCORE_VERSION
#define RANKCORE_VERSION "0.0.0"
#endif

// The library itself; op files add their schemas with TORCH_LIBRARY_FRAGMENT.
TORCH_LIBRARY(rankcore, m) {}

namespace {

bool cuda_built() {
#ifdef RANKCORE_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "rankcore native library (ops are registered under torch.ops.rankcore)";
  m.def("version", [] { return std::string(RANKCORE_VERSION); });
  m.def("cuda_built", &cuda_built, "True when the CUDA kernels were compiled in");
  m.def(
      "openmp_threads", [] { return at::get_num_threads(); },
      "Threads at::parallel_for uses (torch.get_num_threads())");
  m.def("parallel_backend", [] { return at::get_parallel_info(); });
  // The torch this copy was compiled against (major.minor): the op schemas and the C++ ABI are tied to it.
  m.def("built_with_torch",
        [] { return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR); });
}
