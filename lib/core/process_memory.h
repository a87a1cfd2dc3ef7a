#pragma once
// This process's resident memory, as Linux reports it in /proc/self/status: what GNU time's %M
// (the peak) measures. For the training plan (train/plan.h), which predicts a run's peak from the
// process as it stands before the first update plus what the update adds.
#include <cstddef>

namespace attn {

// VmRSS and VmHWM (the peak so far) in bytes; 0 where /proc is not readable.
double resident_bytes();
double peak_resident_bytes();

// Lowers the peak (VmHWM) to the current resident size (writes 5 to /proc/self/clear_refs, Linux
// 4.0 and later), so peak_resident_bytes() afterwards measures what follows. Returns false when
// the kernel does not allow it (the peak then stays the process's peak so far).
bool reset_peak_resident();

}  // namespace attn
