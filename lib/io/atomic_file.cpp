#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "io/exit_cleanup.h"

namespace attn {

namespace {

std::string sys_error(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

std::string directory_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::atomic<unsigned> temp_counter{0};

}  // namespace

atomic_file::atomic_file(std::string path) : path_(std::move(path)), target_(path_) {
  if (path_.empty()) throw error("cannot write a file with an empty name");
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw error("cannot write '" + path_ + "': it is a directory");
    if (!S_ISREG(st.st_mode)) {  // a device, FIFO or socket: written where it is
      fd_ = ::open(path_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
      if (fd_ < 0) throw error(sys_error("cannot write", path_));
      return;
    }
    struct stat link;
    if (::lstat(path_.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      char* real = ::realpath(path_.c_str(), nullptr);
      if (!real) throw error(sys_error("cannot resolve", path_));
      target_ = real;
      std::free(real);
    }
  }
  // O_EXCL + O_NOFOLLOW + a name unique to this process and call: never clobbers someone
  // else's file and never writes through a link planted under the temporary name.
  for (int attempt = 0; fd_ < 0; ++attempt) {
    temp_ = target_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(temp_counter++);
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd_ < 0 && (errno != EEXIST || attempt > 10000)) throw error(sys_error("cannot write", path_));
  }
  slot_ = remove_on_exit(temp_);
  // Replacing a file keeps its permissions (a new file follows the umask).
  if (::stat(target_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) (void)::fchmod(fd_, st.st_mode & 07777);
}

atomic_file::~atomic_file() { discard(); }

void atomic_file::discard() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  forget_on_exit(slot_);
}

void atomic_file::write(const void* data, std::size_t n) {
  if (fd_ < 0) throw error("cannot write '" + path_ + "': file already committed or abandoned");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t k = ::write(fd_, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      std::string msg = sys_error("cannot write", path_);
      discard();
      throw error(msg);
    }
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}

void atomic_file::commit() {
  if (fd_ < 0) throw error("cannot write '" + path_ + "': file already committed or abandoned");
  if (in_place()) {  // devices and pipes: nothing to sync or rename
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw error(sys_error("cannot write", path_));
    return;
  }
  if (::fsync(fd_) != 0) {
    std::string msg = sys_error("cannot write", path_);
    discard();
    throw error(msg);
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 || ::rename(temp_.c_str(), target_.c_str()) != 0) {
    std::string msg = sys_error("cannot write", path_);
    ::unlink(temp_.c_str());
    forget_on_exit(slot_);
    throw error(msg);
  }
  forget_on_exit(slot_);
  // The rename is durable only once the directory entry is on disk. Some filesystems cannot
  // fsync a directory (EINVAL); the file itself is in place by now either way.
  int dir = ::open(directory_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    int rc = ::fsync(dir);
    int saved = errno;
    ::close(dir);
    errno = saved;
    if (rc != 0 && errno != EINVAL) throw error(sys_error("wrote but could not sync the directory of", path_));
  }
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  atomic_file f(path);
  f.write(bytes);
  f.commit();
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw error(sys_error("cannot open", path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string msg = sys_error("cannot read", path);
    ::close(fd);
    throw error(msg);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw error("cannot read '" + path + "': it is a directory");
  }
  std::string out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t k = ::read(fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      std::string msg = sys_error("cannot read", path);
      ::close(fd);
      throw error(msg);
    }
    if (k == 0) break;
    out.append(buf, static_cast<std::size_t>(k));
  }
  ::close(fd);
  return out;
}

}  // namespace attn
