#include "io/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/exit_cleanup.h"

namespace attn {

namespace {

std::string owner_of(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.find_first_not_of("0123456789") == std::string::npos && !pid.empty() ? " (pid " + pid + ")" : "";
}

}  // namespace

file_lock::file_lock(std::string path) : path_(std::move(path)), lock_path_(link_target(path_) + ".lock") {
  // Retried when the file we locked was removed or replaced meanwhile by an owner releasing
  // it: the lock is only ours if the name still leads to the inode we hold.
  for (int attempt = 0; attempt < 100; ++attempt) {
    fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ < 0)
      throw error("cannot lock '" + path_ + "': cannot create '" + lock_path_ + "': " + std::strerror(errno));
    // A file of that name that is no lock file (someone's data) is neither emptied nor removed.
    struct stat existing;
    if (::fstat(fd_, &existing) == 0 && (!S_ISREG(existing.st_mode) || (existing.st_size > 0 && owner_of(fd_).empty()))) {
      ::close(fd_);
      fd_ = -1;
      throw error("cannot lock '" + path_ + "': '" + lock_path_ +
                  "' exists and is not an attn lock file; move it away or choose another output");
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      const std::string owner = owner_of(fd_);
      ::close(fd_);
      fd_ = -1;
      if (e == EWOULDBLOCK)
        throw error("'" + path_ + "' is being written by another attn run" + owner +
                    "; wait for it to finish or choose another output (lock: '" + lock_path_ + "')");
      throw error("cannot lock '" + lock_path_ + "': " + std::strerror(e));
    }
    struct stat held, named;
    if (::fstat(fd_, &held) == 0 && ::stat(lock_path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      const std::string pid = std::to_string(::getpid()) + "\n";
      if (::ftruncate(fd_, 0) == 0) (void)::pwrite(fd_, pid.data(), pid.size(), 0);
      slot_ = remove_on_exit(lock_path_);
      return;
    }
    ::close(fd_);
    fd_ = -1;
  }
  throw error("cannot lock '" + path_ + "': '" + lock_path_ + "' keeps changing");
}

file_lock::~file_lock() {
  if (fd_ < 0) return;
  forget_on_exit(slot_);
  ::unlink(lock_path_.c_str());  // while still holding it: a waiter re-checks the name
  ::close(fd_);
}

}  // namespace attn
