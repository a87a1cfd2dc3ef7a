#pragma once
// The processes of one data-parallel run, as the training loop sees them: its rank, how many
// there are, and the few collectives data parallelism needs (sums, a broadcast, a gather). The
// loop is written against this interface only; lib/dist implements it on MPI, and a run outside
// mpirun uses single_process (every collective is the identity). Every rank must call the same
// collectives in the same order, as in MPI.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn {

class process_group {
 public:
  virtual ~process_group() = default;
  virtual int rank() const = 0;  // in [0, size())
  virtual int size() const = 0;  // >= 1

  // In place: data[i] becomes the sum of data[i] over every rank. Blocking (OpenMPI's blocking
  // allreduce is markedly faster than its non-blocking one for gradient-sized arrays).
  virtual void sum(double* data, std::size_t n) = 0;
  virtual void sum(float* data, std::size_t n) = 0;
  // In place: every rank's data becomes root's.
  virtual void broadcast(float* data, std::size_t n, int root) = 0;
  // Every rank's value, indexed by rank.
  virtual std::vector<std::uint64_t> gather_all(std::uint64_t value) = 0;
};

// One process: rank 0 of 1, every collective leaves the data as it is.
class single_process final : public process_group {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void sum(double*, std::size_t) override {}
  void sum(float*, std::size_t) override {}
  void broadcast(float*, std::size_t, int) override {}
  std::vector<std::uint64_t> gather_all(std::uint64_t value) override { return {value}; }
};

}  // namespace attn
