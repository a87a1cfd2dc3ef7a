#pragma once
// One writer per output: an advisory lock (flock) held for as long as a run may write a file.
// The lock lives in "<file>.lock" beside the file (a symbolic link's target, so that two
// spellings of one file share one lock), not on the file itself, because the file
// is replaced by rename (atomic_file) and a lock on a replaced inode protects nothing. The
// lock file holds the owner's pid for the message; it is removed when the lock is released.
// A process ended by a signal removes it (io/exit_cleanup.h); one killed with -9 releases the
// lock with its file descriptor, so a stale ".lock" file never blocks anyone.
#include <string>

namespace attn {

class file_lock {
 public:
  // Takes the lock on `path` without waiting. Throws attn::error when another process holds
  // it ("'model.ckpt' is being written by another attn run (pid 1234); …"), when the lock
  // file cannot be created, or when a file of that name exists that is not a lock file (it is
  // left as it was).
  explicit file_lock(std::string path);
  ~file_lock();  // removes the lock file and releases the lock
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_, lock_path_;
  int fd_ = -1;
  int slot_ = -1;  // handle of remove_on_exit(lock_path_)
};

}  // namespace attn
