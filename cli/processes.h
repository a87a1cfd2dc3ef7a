#pragma once
// The processes of this attn invocation: this one alone, or the ranks mpirun started
// (lib/dist/mpi_session.h). main() starts and stops them; train and finetune hand processes()
// to the training loop; the dispatcher prefixes the errors of ranks other than 0 with their
// rank and, when there is more than one process, ends them all after an error.
#include <string>

#include "core/process_group.h"

namespace attn::cli {

void start_processes();  // in main(): MPI_Init when launched by mpirun; throws attn::error
void stop_processes();   // in main(), at a normal end: MPI_Finalize

process_group& processes();
int process_rank();     // 0 outside mpirun
int process_count();    // 1 outside mpirun
int local_processes();  // ranks on this machine (the cores are shared among them)

// "rank 2: " on ranks other than 0, "" on rank 0 and outside mpirun.
std::string rank_prefix();

// After this process failed with `code`: when it is one of several, ends them all (MPI_Abort,
// so no other rank waits forever in a collective). Returns when this process is alone.
void end_all_after_error(int code);

}  // namespace attn::cli
