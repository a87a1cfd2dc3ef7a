#pragma once
// Files to unlink if the process is ended by a signal: the temporary files of outputs not yet
// committed (atomic_file) and the lock files of runs (file_lock). A fixed table that a signal
// handler can read without locks or allocation.
#include <string>

namespace attn {

// Registers `path`; returns a handle for forget_on_exit, or -1 when the table is full (then the
// file is only not removed by a signal) or the path is too long.
int remove_on_exit(const std::string& path);
// The file was committed, renamed or removed the normal way: no longer ours to remove.
void forget_on_exit(int& handle);

// Unlinks every registered file. Async-signal-safe: for handlers that end the process.
void remove_registered_files() noexcept;

}  // namespace attn
