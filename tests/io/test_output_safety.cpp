// What protects a user's files: overwrite_problem (an output that is an input), file_lock (one
// writer per output), atomic_file's handling of symbolic links, devices and permissions, and
// the exit-cleanup table a signal handler uses.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/exit_cleanup.h"
#include "io/file_lock.h"
#include "io/same_file.h"
#include "test_helpers.h"

using namespace attn;
using attn::testing::temp_dir;
namespace fs = std::filesystem;

TEST_CASE("overwrite_problem: an output that is an input, under any name") {
  temp_dir d;
  const std::string in = d.write("in.txt", "data\n");
  const std::string other = d.write("other.txt", "x\n");
  fs::create_symlink(in, d.path("link.txt"));
  fs::create_hard_link(in, d.path("hard.txt"));
  const std::string dotted = d.path("sub/../in.txt");
  fs::create_directory(d.path("sub"));

  CHECK(overwrite_problem({{"", in}}, {{"-o", other}}).empty());
  CHECK(overwrite_problem({{"", in}}, {{"-o", d.path("new.txt")}}).empty());
  for (const std::string& alias : {in, d.path("link.txt"), d.path("hard.txt"), dotted}) {
    const std::string p = overwrite_problem({{"--train", in}}, {{"-o", alias}});
    CHECK(p.find("-o '" + alias + "' is the same file as the input --train '" + in + "'") == 0);
  }
  // Outputs against each other, existing or not yet.
  CHECK(!overwrite_problem({}, {{"-o", d.path("a.ckpt")}, {"--log", d.path("a.ckpt")}}).empty());
  CHECK(!overwrite_problem({}, {{"-o", d.path("a.ckpt")}, {"--log", d.path("sub/../a.ckpt")}}).empty());
  CHECK(overwrite_problem({}, {{"-o", d.path("a.ckpt")}, {"--log", d.path("a.csv")}}).empty());
  // Options not given, and non-regular files, clash with nothing.
  CHECK(overwrite_problem({{"--valid", ""}}, {{"-o", ""}, {"--log", ""}}).empty());
  CHECK(overwrite_problem({{"", "/dev/null"}}, {{"-o", "/dev/null"}}).empty());
}

TEST_CASE("overwrite_problem: stdout redirected onto an input file") {
  temp_dir d;
  const std::string in = d.write("in.txt", "data\n");
  const int saved = ::dup(1);
  const int fd = ::open(in.c_str(), O_WRONLY | O_APPEND);
  REQUIRE(fd >= 0);
  ::dup2(fd, 1);  // attn tokenize in.txt >> in.txt
  const std::string p = overwrite_problem({{"", in}}, {{"-o", "-"}});
  ::dup2(saved, 1);
  ::close(fd);
  ::close(saved);
  CHECK(p.find("standard output is the same file as the input") == 0);
}

TEST_CASE("file_lock: a second writer is refused at once, and the lock goes with its owner") {
  temp_dir d;
  const std::string out = d.path("model.ckpt");
  {
    file_lock first(out);
    CHECK(fs::exists(out + ".lock"));
    // Another process (flock locks belong to open file descriptions, so fork to be honest).
    const pid_t child = ::fork();
    if (child == 0) {
      try {
        file_lock second(out);
        ::_exit(0);  // must not get here
      } catch (const attn::error& e) {
        const std::string m = e.what();
        ::_exit(m.find("is being written by another attn run (pid " + std::to_string(::getppid()) + ")") !=
                        std::string::npos
                    ? 3
                    : 4);
      }
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
  }
  CHECK(!fs::exists(out + ".lock"));
  file_lock again(out);  // released: free to take
  // A stale lock file (its owner was killed with -9) does not block.
  temp_dir d2;
  const std::string stale = d2.write("m.ckpt.lock", "999999\n");
  file_lock taken(d2.path("m.ckpt"));
}

TEST_CASE("atomic_file: a symbolic link is followed to the file it names, which keeps its mode") {
  temp_dir d;
  const std::string real = d.write("real.txt", "old\n");
  ::chmod(real.c_str(), 0640);
  fs::create_symlink("real.txt", d.path("link.txt"));
  write_file_atomic(d.path("link.txt"), "new\n");
  CHECK(fs::is_symlink(d.path("link.txt")));
  CHECK(read_file(real) == "new\n");
  struct stat st;
  REQUIRE(::stat(real.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  CHECK(d.names() == std::vector<std::string>{"link.txt", "real.txt"});
}

TEST_CASE("atomic_file: a planted link under a temporary name is never written through") {
  temp_dir d;
  const std::string victim = d.write("victim.txt", "keep me\n");
  // Every name this process could pick for its next temporary files (the counter is per
  // process; 2,000 is far above what the tests before this one use).
  for (int n = 0; n < 2000; ++n)
    fs::create_symlink(victim, d.path("out.txt.tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n)));
  write_file_atomic(d.path("out.txt"), "fresh\n");
  CHECK(read_file(victim) == "keep me\n");
  CHECK(read_file(d.path("out.txt")) == "fresh\n");
}

TEST_CASE("atomic_file: devices are written in place, never replaced") {
  {
    atomic_file f("/dev/null");
    CHECK(f.in_place());
    f.write("discarded");
    f.commit();
  }
  struct stat st;
  REQUIRE(::stat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  if (::access("/dev/full", W_OK) == 0) {
    atomic_file f("/dev/full");
    CHECK_THROWS_WITH_AS(
        {
          f.write(std::string(1 << 16, 'x'));
          f.commit();
        },
        doctest::Contains("No space left on device"), attn::error);
    REQUIRE(::stat("/dev/full", &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
  }
  temp_dir d;
  REQUIRE(::mkfifo(d.path("fifo").c_str(), 0600) == 0);
  const pid_t reader = ::fork();
  if (reader == 0) {
    const int fd = ::open(d.path("fifo").c_str(), O_RDONLY);
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    ::_exit(n == 5 && std::string(buf, 5) == "hello" ? 0 : 1);
  }
  write_file_atomic(d.path("fifo"), "hello");
  int status = 0;
  ::waitpid(reader, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(::stat(d.path("fifo").c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
}

TEST_CASE("atomic_file: a directory is refused by name") {
  temp_dir d;
  CHECK_THROWS_WITH_AS(atomic_file(d.dir().string()), doctest::Contains("it is a directory"), attn::error);
}

TEST_CASE("exit cleanup: what a signal handler removes") {
  temp_dir d;
  atomic_file f(d.path("out.txt"));
  f.write("half");
  const std::string temp = f.temp_path();
  CHECK(fs::exists(temp));
  remove_registered_files();  // as the SIGINT handler does before the process ends
  CHECK(!fs::exists(temp));
  CHECK(!fs::exists(d.path("out.txt")));
  int handle = remove_on_exit(d.write("kept.txt", "x"));
  forget_on_exit(handle);
  CHECK(handle == -1);
  remove_registered_files();
  CHECK(fs::exists(d.path("kept.txt")));
}

TEST_CASE("atomic_file: /dev/stdout and /dev/fd/N write to the descriptor as the shell opened it") {
  CHECK(standard_stream_of("/dev/stdout") == 1);
  CHECK(standard_stream_of("/dev/stderr") == 2);
  CHECK(standard_stream_of("/dev/fd/7") == 7);
  CHECK(standard_stream_of("/proc/self/fd/12") == 12);
  CHECK(standard_stream_of("/dev/fd/") == -1);
  CHECK(standard_stream_of("/dev/fd/1x") == -1);
  CHECK(standard_stream_of("out.txt") == -1);
  temp_dir d;
  const std::string log = d.write("log.txt", "kept\n");
  const int fd = ::open(log.c_str(), O_WRONLY | O_APPEND);  // as `>> log.txt`
  REQUIRE(fd >= 0);
  write_file_atomic("/dev/fd/" + std::to_string(fd), "added\n");
  ::close(fd);
  CHECK(read_file(log) == "kept\nadded\n");  // appended, not replaced
  CHECK(d.names() == std::vector<std::string>{"log.txt"});
}

TEST_CASE("atomic_file: a dangling link creates the file it names; a read-only file is refused") {
  temp_dir d;
  fs::create_symlink("missing.txt", d.path("dangling.txt"));
  write_file_atomic(d.path("dangling.txt"), "x\n");
  CHECK(fs::is_symlink(d.path("dangling.txt")));
  CHECK(read_file(d.path("missing.txt")) == "x\n");
  CHECK(link_target(d.path("dangling.txt")) == d.path("missing.txt"));
  if (::geteuid() != 0) {  // root may write anything, as with `>`
    const std::string ro = d.write("ro.txt", "old\n");
    ::chmod(ro.c_str(), 0444);
    CHECK_THROWS_WITH_AS(write_file_atomic(ro, "new\n"), doctest::Contains("Permission denied"), attn::error);
    CHECK(read_file(ro) == "old\n");
  }
}

TEST_CASE("file_lock: someone's file under the lock's name is left alone; links share one lock") {
  temp_dir d;
  const std::string data = d.write("corpus.lock", "precious data\n");
  CHECK_THROWS_WITH_AS(file_lock(d.path("corpus")), doctest::Contains("is not an attn lock file"), attn::error);
  CHECK(read_file(data) == "precious data\n");
  // Two spellings of one file: the second is refused while the first holds the lock.
  const std::string real = d.write("run.ckpt", "");
  fs::create_symlink("run.ckpt", d.path("link.ckpt"));
  file_lock first(real);
  const pid_t child = ::fork();
  if (child == 0) {
    try {
      file_lock second(d.path("link.ckpt"));
      ::_exit(0);
    } catch (const attn::error&) {
      ::_exit(3);
    }
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
}
