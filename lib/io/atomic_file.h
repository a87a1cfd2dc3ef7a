#pragma once
// Replacing a file so that it is always either the old content or the new, never a mix:
// the bytes go to a temporary file next to the target ("<name>.tmp-<pid>-<n>", created with
// O_CREAT|O_EXCL|O_NOFOLLOW in the same directory, hence the same filesystem, never following
// or clobbering anything planted there), which is fsync'ed, then renamed over the target; the
// directory is fsync'ed last so that the rename itself survives a power cut. An interrupted
// write (error, exception, disk full) removes the temporary file and leaves the old file
// untouched; a signal handler can remove it too (io/exit_cleanup.h), so only a
// hard kill between creation and rename can leave a "*.tmp-*" file behind.
//
// Where the target is:
//   - missing or a regular file: replaced as above; an existing file keeps its permissions;
//   - a symbolic link (even a dangling one): the file it names is replaced (the link stays);
//   - /dev/stdout, /dev/stderr, /dev/fd/N: the descriptor itself (so `>>` still appends);
//   - not a regular file (a terminal, /dev/null, a FIFO), or anything under /dev or /proc:
//     written in place, never renamed over (a device node must stay a device node);
//   - an existing file this process may not write: refused (EACCES), as `>` would.
#include <cstddef>
#include <string>
#include <string_view>

namespace attn {

class atomic_file {
 public:
  // Creates the temporary file (or opens a non-regular target). Throws attn::error naming `path`.
  explicit atomic_file(std::string path);
  ~atomic_file();  // without commit(): closes and removes the temporary file
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  // Appends bytes; throws attn::error (e.g. "No space left on device") naming `path`.
  void write(const void* data, std::size_t n);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // fsync, close, rename over the target, fsync the directory. Throws attn::error on failure,
  // in which case the target is untouched (unless only the final directory sync failed).
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }  // empty when written in place
  bool in_place() const { return temp_.empty(); }

 private:
  void discard() noexcept;
  std::string path_;    // as given, for messages
  std::string target_;  // the file renamed over: path_, or what its symbolic link names
  std::string temp_;
  int fd_ = -1;
  int slot_ = -1;  // handle of remove_on_exit(temp_)
};

// 0, 1 or 2 for /dev/stdin, /dev/stdout, /dev/stderr, N for /dev/fd/N and /proc/self/fd/N;
// -1 for any other path. Such paths name a descriptor the shell set up, not a file to replace.
int standard_stream_of(const std::string& path);

// The file a path leads to through symbolic links (relative links resolved against their
// directory; a dangling link gives the missing file it names); the path itself if it is no link.
std::string link_target(const std::string& path);

// Whole-file convenience: atomic_file f(path); f.write(bytes); f.commit().
void write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file; throws attn::error ("cannot open 'x': No such file or directory").
std::string read_file(const std::string& path);

}  // namespace attn
