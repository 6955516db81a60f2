"""The greedies' queues against the standard library, as standalone C++ checks compiled with g++ under
AddressSanitizer / UBSan and run (each prints "ok ..." on success):

* tests/ops/cpp/radix_heap_check.cpp: the lazy greedies' monotone queues, cpu::RadixHeap (csrc/ops/cpu/radix_heap.h:
  the distributed rounds) and cpu::DegreeClassQueue (csrc/ops/cpu/class_queue.h: exact 1-WIS), against
  std::priority_queue: popped keys follow the reference and every item comes out exactly once; it reaches their
  chunk recycling and side heaps directly. Without ASan a bucket index out of range reads another bucket silently.
* tests/ops/cpp/indexed_heap_check.cpp: the 2-WIS subgroups' addressable 4-ary heap, cpu::IndexedHeap
  (csrc/ops/cpu/indexed_heap.h), against std::set: over random sequences of push / pop / erase of present and absent
  ids / replace_top with a better or worse key / assign of a random batch on two heaps sharing one positions vector,
  every top(), size() and contains(id) follows the reference and replace_top's bool says whether the new entry goes
  first; it reaches sizes 0 to 5 and shared positions directly. Without ASan a child index past the heap's end
  (the last group of fewer than 4) reads on silently.

The WIS tests check both through the greedy's output."""
import host_programs
import pytest

CHECKS = ["radix_heap_check", "indexed_heap_check"]
host_programs.register("ops: queue check", CHECKS, "test_queue_matches_the_standard_library", host_programs.SANITIZE)


@pytest.mark.skipif(not host_programs.HAVE_GXX, reason="needs a host C++ compiler (g++)")
@pytest.mark.parametrize("check", CHECKS)
def test_queue_matches_the_standard_library(background_result, check):
    host_programs.check_output(background_result(f"ops: queue check {check}"))
