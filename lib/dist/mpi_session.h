#pragma once
// MPI for one attn process: started when an MPI launcher (mpirun, mpiexec) started the process,
// left alone otherwise, so `attn train` outside mpirun is the single process it always was.
// The ranks are MPI_COMM_WORLD's; their collectives go through process_group (core), which the
// training loop uses. The C API of the MPI library Debian ships (OpenMPI).
#include <memory>

#include "core/process_group.h"

namespace attn {

// True when the environment says an MPI launcher started this process (OpenMPI, PMIx or PMI
// variables), i.e. when MPI must be initialised.
bool launched_by_mpi();

class mpi_session {
 public:
  // MPI_Init_thread when launched_by_mpi(); throws attn::error if MPI cannot start.
  mpi_session();
  ~mpi_session();  // MPI_Finalize, when it was initialised
  mpi_session(const mpi_session&) = delete;
  mpi_session& operator=(const mpi_session&) = delete;

  bool active() const { return active_; }
  process_group& group() { return *group_; }  // MPI_COMM_WORLD, or single_process
  int local_ranks() const { return local_ranks_; }  // ranks on this machine (1 when inactive)

  // Ends every rank of the job with `code` (MPI_Abort); only meaningful when active().
  [[noreturn]] void abort_all(int code);

 private:
  bool active_ = false;
  int local_ranks_ = 1;
  std::unique_ptr<process_group> group_;
};

}  // namespace attn
