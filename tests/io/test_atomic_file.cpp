#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>

#include "core/error.h"
#include "io/atomic_file.h"
#include "test_helpers.h"

using namespace attn;
namespace fs = std::filesystem;

using attn::testing::temp_dir;

TEST_CASE("write_file_atomic creates and replaces files") {
  temp_dir d;
  std::string path = d.path("out.txt");
  write_file_atomic(path, "first");
  CHECK(read_file(path) == "first");
  write_file_atomic(path, std::string("second\0with nul", 15));
  CHECK(read_file(path) == std::string("second\0with nul", 15));
  write_file_atomic(path, "");
  CHECK(read_file(path).empty());
  CHECK(d.names().size() == 1);
  // Permissions follow the umask like any new file (mkstemp's 0600 would surprise).
  mode_t mask = umask(022);
  umask(mask);
  write_file_atomic(path, "x");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0666 & ~mask));
}

TEST_CASE("an abandoned atomic_file removes its temp file and leaves the target alone") {
  temp_dir d;
  std::string path = d.path("out.txt");
  write_file_atomic(path, "old");
  try {
    atomic_file f(path);
    f.write("new content, half written");
    CHECK(fs::exists(f.temp_path()));
    CHECK(fs::path(f.temp_path()).parent_path() == d.dir());
    throw std::runtime_error("interrupted");
  } catch (const std::runtime_error&) {
  }
  CHECK(read_file(path) == "old");
  CHECK(d.names().size() == 1);

  atomic_file f(path);
  f.write("new");
  f.commit();
  CHECK(read_file(path) == "new");
  CHECK_THROWS_AS(f.write("more"), error);
  CHECK_THROWS_AS(f.commit(), error);
  CHECK(d.names().size() == 1);
}

TEST_CASE("two atomic writers of one file never share a temp file") {
  temp_dir d;
  std::string path = d.path("out.txt");
  atomic_file a(path), b(path);
  CHECK(a.temp_path() != b.temp_path());
  a.write("a");
  b.write("b");
  b.commit();
  a.commit();
  CHECK(read_file(path) == "a");
}
