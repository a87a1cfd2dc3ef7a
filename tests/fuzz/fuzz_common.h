#pragma once
// Shared by the libFuzzer targets. Every input is `mode byte` + payload: the first byte picks
// options (which tokenizer, which data format...), the rest is what the reader under test sees,
// so a seed file is `printf '\x00...'` away and a crash input tells which path it took.
//
// A target returns normally for every input the library accepts or rejects with its documented
// exception; anything else — another exception type, a broken property — calls finding(), which
// prints why and aborts, so libFuzzer saves the input as a crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

namespace attn::fuzz {

[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "attn fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Aborts unless cond holds.
inline void require(bool cond, const char* what) {
  if (!cond) finding(what);
}

struct input {
  std::uint8_t mode = 0;
  std::string_view payload;
};

inline input split_input(const std::uint8_t* data, std::size_t size) {
  input in;
  if (size == 0) return in;
  in.mode = data[0];
  in.payload = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  return in;
}

// A per-process file under $TMPDIR (run.sh points it into the build directory and empties it
// after each target, since a crash or timeout skips this destructor) for readers taking a path.
struct temp_file {
  std::string path;
  explicit temp_file(const std::string& tag) : path(dir() + "/attn-fuzz-" + tag + "-" + std::to_string(::getpid())) {}
  static std::string dir() {
    const char* d = std::getenv("TMPDIR");
    return d && *d ? d : "/tmp";
  }
  ~temp_file() { ::unlink(path.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
};

// The message of an exception the reader was not supposed to throw.
inline std::string unexpected(const char* where, const std::exception& e) {
  return std::string(where) + " threw a non-attn exception: " + e.what();
}

}  // namespace attn::fuzz
