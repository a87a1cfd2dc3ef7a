#pragma once
// What SIGINT, SIGTERM, SIGHUP and SIGPIPE do to attn. Every subcommand: the signal ends the process as
// it would by default, after removing the temporary file of any output not yet committed (so
// Ctrl-C leaves neither a half-written output nor a stray "*.tmp-*" file; the old output, if
// any, is untouched). Training (graceful_stop): the first SIGINT/SIGTERM asks the loop to stop
// at the next step boundary and save; a second one ends the process at once the same way,
// leaving the last good checkpoint as it was. SIGINT and SIGHUP that the parent ignored (a
// script's background job, nohup) stay ignored, as for any Unix tool; SIGTERM is always honoured.
#include <csignal>

namespace attn::cli {

// Called once by main(), before any subcommand runs.
void install_signal_handlers();

// For the scope of a training loop: SIGINT/SIGTERM become stop requests.
class graceful_stop {
 public:
  graceful_stop();
  ~graceful_stop();  // back to install_signal_handlers()' behaviour
  graceful_stop(const graceful_stop&) = delete;
  graceful_stop& operator=(const graceful_stop&) = delete;

  static bool requested();  // a first signal arrived
  static int signal();      // which one (SIGINT or SIGTERM), 0 if none
};

}  // namespace attn::cli
