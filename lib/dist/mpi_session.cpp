#include "dist/mpi_session.h"

#include <mpi.h>

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace attn {

namespace {

// MPI_COMM_WORLD behind process_group: sums are MPI_Allreduce in place.
class world_group final : public process_group {
 public:
  world_group() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void sum(double* data, std::size_t n) override {
    for (std::size_t done = 0; done < n;) {
      const int count = chunk(n - done);
      MPI_Allreduce(MPI_IN_PLACE, data + done, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      done += static_cast<std::size_t>(count);
    }
  }
  void sum(float* data, std::size_t n) override {
    for (std::size_t done = 0; done < n;) {
      const int count = chunk(n - done);
      MPI_Allreduce(MPI_IN_PLACE, data + done, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      done += static_cast<std::size_t>(count);
    }
  }
  void broadcast(float* data, std::size_t n, int root) override {
    for (std::size_t done = 0; done < n;) {
      const int count = chunk(n - done);
      MPI_Bcast(data + done, count, MPI_FLOAT, root, MPI_COMM_WORLD);
      done += static_cast<std::size_t>(count);
    }
  }
  std::vector<std::uint64_t> gather_all(std::uint64_t value) override {
    std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
    MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD);
    return all;
  }

 private:
  // MPI counts are ints: larger arrays go in pieces of at most 2^30 elements.
  static int chunk(std::size_t left) { return static_cast<int>(std::min<std::size_t>(left, std::size_t{1} << 30)); }

  int rank_ = 0, size_ = 1;
};

bool env_set(const char* name) { return std::getenv(name) != nullptr; }

}  // namespace

bool launched_by_mpi() {
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK") || env_set("PMI_SIZE");
}

mpi_session::mpi_session() {
  if (!launched_by_mpi()) {
    group_ = std::make_unique<single_process>();
    return;
  }
  int provided = 0;
  // The loop calls MPI from its own thread only; attn's worker threads never do.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw error("MPI could not start (MPI_Init_thread failed)");
  active_ = true;
  group_ = std::make_unique<world_group>();
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &local_ranks_);
  MPI_Comm_free(&local);
}

mpi_session::~mpi_session() {
  if (!active_) return;
  group_.reset();
  MPI_Finalize();
}

void mpi_session::abort_all(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // not reached: MPI_Abort does not return
}

}  // namespace attn
