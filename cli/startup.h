#pragma once
// Settings that glibc and OpenBLAS read from the environment only as a process starts: attn puts
// them into its environment and executes itself again (execv of /proc/self/exe: the same PID,
// descriptors and arguments), once, before anything else happens. Settings the user gave are kept.
//
// - malloc's policy and huge pages: GLIBC_TUNABLES (allocator.h).
// - OpenBLAS's idle threads: after a BLAS call its worker threads keep polling for the next one,
//   calling sched_yield, for 2^28 CPU cycles (about 0.1 s) before they sleep. attn's own parallel
//   loops (attention, element-wise kernels, its thread pool) run between BLAS calls on the same
//   cores, so a polling BLAS thread competes with them, and on a virtual machine each
//   sched_yield is a costly exit to the hypervisor (measured: a quarter of all CPU samples while
//   decoding, and 15 s of system time in a 37 s beam search). OPENBLAS_THREAD_TIMEOUT=20 makes
//   them poll for 2^20 cycles (~0.3 ms: over the gaps between the GEMMs of a layer) and then
//   sleep. Measured (2 threads): beam-5 decoding of 256-token outputs 36.9 -> 32.2 s, an
//   enc-dec training run 22.8 -> 21.5 s; values from 4 to 20 measure alike there, but at 16 and
//   below a short greedy decode (0.74 s) took 0.09 s longer, its workers asleep at every GEMM.
//   Set OPENBLAS_THREAD_TIMEOUT yourself (28 is OpenBLAS's default) to choose otherwise.
#include <string>

namespace attn::cli {

// The OPENBLAS_THREAD_TIMEOUT attn sets (above).
inline constexpr const char* openblas_thread_timeout = "20";

struct environment_setting {
  std::string name, value;
};

// Called once by main(), first, with main's argv: may not return (the re-execution). When the
// environment already holds every setting, or the re-execution fails (its settings are then
// undone), it returns and attn runs on; malloc then gets its policy through mallopt().
void prepare_process(char** argv);

}  // namespace attn::cli
