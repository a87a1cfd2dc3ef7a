#pragma once
// Helpers shared by the unit tests (one header, so no test grows its own copy):
//   temp_dir        a fresh directory for a test's files, removed afterwards
//   read_file       a whole file's bytes
//   capture_stdout  std::cout redirected into a string while in scope (in-process CLI tests)
//
// temp_dir: a fresh directory for a unit test's files: created under $TMPDIR (or /tmp) with mkdtemp, so
// parallel test binaries and repeated runs never share a name, and removed with everything in it
// when the fixture goes out of scope. Unit tests write files only here, never into the working
// directory.
//
//   attn::testing::temp_dir d;
//   save_checkpoint(d.path("model.ckpt"), c);
//   const std::string in = d.write("in.txt", "a b c\n");
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace attn::testing {

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "attn-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("cannot create a temporary directory '" + tmpl + "': " + std::strerror(errno));
    dir_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  // The path of `name` inside the directory (nothing is created).
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Writes `content` (bytes as given) to `name` inside the directory; returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path(name);
    std::ofstream out(p, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write '" + p + "'");
    return p;
  }
  // The names of the directory's entries, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path dir_;
};

// The bytes of the file at `path` ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Redirects std::cout into `text()` until destroyed. doctest reports to stdout too: end the
// capture (leave its scope) before checking what it holds.
class capture_stdout {
 public:
  capture_stdout() : old_(std::cout.rdbuf(buf_.rdbuf())) {}
  ~capture_stdout() { std::cout.rdbuf(old_); }
  capture_stdout(const capture_stdout&) = delete;
  capture_stdout& operator=(const capture_stdout&) = delete;
  std::string text() const { return buf_.str(); }

 private:
  std::ostringstream buf_;
  std::streambuf* old_;
};

}  // namespace attn::testing
