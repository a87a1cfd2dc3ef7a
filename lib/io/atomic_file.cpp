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

int standard_stream_of(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  if (path == "/dev/stdin") return 0;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const std::size_t n = std::strlen(prefix);
    if (path.compare(0, n, prefix) != 0 || path.size() == n || path.size() > n + 6) continue;
    if (path.find_first_not_of("0123456789", n) != std::string::npos) continue;
    return std::atoi(path.c_str() + n);
  }
  return -1;
}

std::string link_target(const std::string& path) {
  std::string p = path;
  for (int hop = 0; hop < 40; ++hop) {  // as the kernel, at most 40 links in a row
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string to(4096, '\0');
    const ssize_t n = ::readlink(p.c_str(), to.data(), to.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= to.size()) throw error(sys_error("cannot resolve", path));
    to.resize(static_cast<std::size_t>(n));
    p = to[0] == '/' ? to : directory_of(p) + "/" + to;
  }
  throw error("cannot write '" + path + "': too many levels of symbolic links");
}

namespace {

}  // namespace

atomic_file::atomic_file(std::string path) : path_(std::move(path)), target_(path_) {
  if (path_.empty()) throw error("cannot write a file with an empty name");
  // /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: the descriptor the shell opened,
  // shared (dup), so that `> f`, `>> f` and pipes behave as they were set up; never reopened by
  // name or renamed over.
  if (const int fd = standard_stream_of(path_); fd >= 0) {
    fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (fd_ < 0) throw error(sys_error("cannot write", path_));
    return;
  }
  struct stat st;
  const bool exists = ::stat(path_.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw error("cannot write '" + path_ + "': it is a directory");
  // A device, FIFO or socket, or anything under /dev or /proc: written where it is.
  if ((exists && !S_ISREG(st.st_mode)) || path_.rfind("/dev/", 0) == 0 || path_.rfind("/proc/", 0) == 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd_ < 0) throw error(sys_error("cannot write", path_));
    return;
  }
  target_ = link_target(path_);  // a link (even a dangling one): the file it names is written
  // An existing file we may not write stays as it is, as with `>` or cp (root may, as there).
  if (exists && ::access(target_.c_str(), W_OK) != 0) throw error(sys_error("cannot write", path_));
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
