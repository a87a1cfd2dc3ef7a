// The `attn` binary: hands argv to the subcommand table and nothing else.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "signals.h"

int main(int argc, char** argv) {
  std::signal(SIGXFSZ, SIG_IGN);  // past `ulimit -f` a write fails with EFBIG and is reported, not a kill
  std::ios::sync_with_stdio(false);
  attn::cli::install_signal_handlers();
  std::vector<std::string> args(argv + 1, argv + argc);
  int code = attn::cli::dispatch(args);
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "attn: error writing to standard output\n";
    return 1;
  }
  return code;
}
