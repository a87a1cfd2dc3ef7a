#include "processes.h"

#include <memory>

#include "dist/mpi_session.h"

namespace attn::cli {

namespace {

std::unique_ptr<mpi_session>& session() {
  static std::unique_ptr<mpi_session> s;
  return s;
}

single_process& alone() {
  static single_process p;
  return p;
}

}  // namespace

void start_processes() {
  if (!session()) session() = std::make_unique<mpi_session>();
}

void stop_processes() { session().reset(); }

process_group& processes() { return session() ? session()->group() : alone(); }

int process_rank() { return processes().rank(); }

int process_count() { return processes().size(); }

int local_processes() { return session() ? session()->local_ranks() : 1; }

std::string rank_prefix() { return process_rank() == 0 ? "" : "rank " + std::to_string(process_rank()) + ": "; }

void end_all_after_error(int code) {
  if (session() && session()->active() && process_count() > 1) session()->abort_all(code == 0 ? 1 : code);
}

}  // namespace attn::cli
