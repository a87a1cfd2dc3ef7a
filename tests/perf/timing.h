#pragma once
// How the op benchmarks (bench_ops, bench_attention) time a call: the fastest of several runs,
// by wall clock or, on a machine shared with other jobs, by the process's CPU time.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>

#include "core/tape.h"

namespace attn::bench {

// Process CPU seconds (all threads): on a busy machine, with 1 thread, a load-independent measure.
inline double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Seconds per call of f after one warm-up: the fastest of at least `min_runs` runs and
// `min_seconds` in all (on a shared machine the fastest is the best estimate of the unloaded
// time); CPU time instead of wall time when `cpu_time`.
template <class F>
double time_call(F f, bool cpu_time, int min_runs = 5, double min_seconds = 1.0) {
  using clk = std::chrono::steady_clock;
  f();
  std::vector<double> s;
  const auto start = clk::now();
  while (static_cast<int>(s.size()) < min_runs ||
         std::chrono::duration<double>(clk::now() - start).count() < min_seconds) {
    const auto t0 = clk::now();
    const double c0 = cpu_now();
    f();
    s.push_back(cpu_time ? cpu_now() - c0 : std::chrono::duration<double>(clk::now() - t0).count());
  }
  return *std::min_element(s.begin(), s.end());
}

// Runs the backward pass of `out` with a fixed upstream gradient R (no loss op in between).
inline void backward_with(tape& t, var out, const matrix& R) {
  var seed = t.make(1, 1, true);
  t.on_backward([out, &R] { std::copy(R.data(), R.data() + R.size(), out.grad().data()); });
  t.backward(seed);
}

}  // namespace attn::bench
