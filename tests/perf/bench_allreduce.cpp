// The gradient exchange of data-parallel training alone: MPI_Allreduce (through attn's
// process_group, as the training loop calls it) of a model's worth of floats, timed.
//
//   mpirun -np 2 <build>/tests/perf/attn_bench_allreduce [floats] [repeats]
//
// Prints, on rank 0, the mean time per sum and the bus bandwidth it implies for a ring
// allreduce (2 (P-1)/P × bytes / time), the figure docs/distributed.md's model predicts from.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dist/mpi_session.h"

int main(int argc, char** argv) {
  const std::size_t floats = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 4800000;  // LM-small
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 20;
  attn::mpi_session mpi;
  attn::process_group& group = mpi.group();
  std::vector<float> data(floats, 1.0f);
  auto sum_once = [&] { group.sum(data.data(), data.size()); };
  sum_once();  // warm-up: connections and buffers
  double tiny = 0;
  group.sum(&tiny, 1);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) sum_once();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
  if (group.rank() == 0) {
    const double bytes = static_cast<double>(floats) * sizeof(float);
    const double p = group.size();
    std::printf("allreduce of %zu floats (%.1f MB) over %d ranks: %.2f ms; bus bandwidth %.2f GB/s\n", floats,
                bytes / 1e6, group.size(), 1e3 * seconds, 2 * (p - 1) / p * bytes / seconds / 1e9);
  }
  return 0;
}
