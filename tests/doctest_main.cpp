// doctest's main for every unit-test binary, with one process-wide setting first: one thread for
// OpenBLAS and attn's own loops. Results then never depend on how a multi-threaded BLAS splits its
// sums (its last bits vary with the thread count and the CPU), so a test that compares against a
// trained figure gives the same answer on every machine. Tests of threading set their own count
// (tests/core/test_threads.cpp) and restore it.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "core/threads.h"

int main(int argc, char** argv) {
  attn::set_threads(1);
  doctest::Context context(argc, argv);
  return context.run();
}
