// The `attn` binary: hands argv to the subcommand table and nothing else.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "processes.h"
#include "signals.h"
#include "startup.h"

int main(int argc, char** argv) {
  // A standard descriptor the caller closed (`attn … >&-`) is opened on /dev/null, so that the
  // next file attn opens can never take its number and be written as "stdout".
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) return 1;
  attn::cli::prepare_process(argv);  // before anything else (startup.h); may re-execute
  std::signal(SIGXFSZ, SIG_IGN);  // past `ulimit -f` a write fails with EFBIG and is reported, not a kill
  std::ios::sync_with_stdio(false);
  attn::cli::install_signal_handlers();
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    attn::cli::start_processes();  // MPI, when mpirun started this process
  } catch (const attn::error& e) {
    std::cerr << "attn: " << attn::cli::one_line(e.what()) << "\n";
    return 1;
  }
  int code = attn::cli::dispatch(args);
  std::cout.flush();
  attn::cli::stop_processes();
  if (!std::cout && code == 0) {  // a failed write the subcommand did not already report
    std::cerr << "attn: error writing to standard output\n";
    return 1;
  }
  return code;
}
