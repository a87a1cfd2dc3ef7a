#include "signals.h"

#include <unistd.h>

#include "io/exit_cleanup.h"

namespace attn::cli {

namespace {

volatile std::sig_atomic_t stop_signal = 0;
bool sigint_ignored = false;  // by whoever started us: a background job of a script, nohup

// Ends the process as the signal's default action would (so the parent sees "killed by
// SIGINT", and the exit status is 128 + n), minus the temporary files.
extern "C" void end_by_signal(int sig) {
  remove_registered_files();
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, sig);
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  raise(sig);
  _exit(128 + sig);  // not reached unless the signal is ignored by default
}

extern "C" void request_stop(int sig) {
  if (stop_signal != 0) end_by_signal(sig);  // the second one: now
  stop_signal = sig;
}

void handle(int sig, void (*fn)(int)) {
  struct sigaction sa = {};
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, nullptr);
}

bool ignored_at_start(int sig) {
  struct sigaction old;
  return sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN;
}

}  // namespace

void install_signal_handlers() {
  // SIGINT and SIGHUP ignored by whoever started us (a script's `cmd &`, nohup) stay ignored,
  // as for any Unix tool; SIGTERM is always honoured.
  sigint_ignored = ignored_at_start(SIGINT);
  if (!sigint_ignored) handle(SIGINT, end_by_signal);
  if (!ignored_at_start(SIGHUP)) handle(SIGHUP, end_by_signal);
  handle(SIGTERM, end_by_signal);
  // `attn … | head`: the reader left; end as SIGPIPE would, minus the temporary and lock files.
  if (!ignored_at_start(SIGPIPE)) handle(SIGPIPE, end_by_signal);
}

graceful_stop::graceful_stop() {
  stop_signal = 0;
  if (!sigint_ignored) handle(SIGINT, request_stop);
  handle(SIGTERM, request_stop);
}

graceful_stop::~graceful_stop() {
  if (!sigint_ignored) handle(SIGINT, end_by_signal);
  handle(SIGTERM, end_by_signal);
}

bool graceful_stop::requested() { return stop_signal != 0; }
int graceful_stop::signal() { return static_cast<int>(stop_signal); }

}  // namespace attn::cli
