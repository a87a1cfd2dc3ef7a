#pragma once
// Settings that glibc reads from the environment only as a process starts: attn puts them into
// its environment and executes itself again (execv of /proc/self/exe: the same PID,
// descriptors and arguments), once, before anything else happens. Settings the user gave are kept.
//
// - malloc's policy and huge pages: GLIBC_TUNABLES (allocator.h).
// (OpenBLAS's idle threads used to be set here too, OPENBLAS_THREAD_TIMEOUT: attn no longer runs
// OpenBLAS threaded, its own pool splits the products (lib/core/threads.h), so nothing polls.)
#include <string>

namespace attn::cli {

struct environment_setting {
  std::string name, value;
};

// Called once by main(), first, with main's argv: may not return (the re-execution). When the
// environment already holds every setting, or the re-execution fails (its settings are then
// undone), it returns and attn runs on; malloc then gets its policy through mallopt().
void prepare_process(char** argv);

}  // namespace attn::cli
