#pragma once
// The one exception type the library throws: its message is meant for the user
// ("cannot open 'x.txt': No such file or directory"), so it never needs a stack trace.
#include <stdexcept>
#include <string>

namespace attn {

// `message` with each NUL byte shown as \x00. An exception's what() is a C string, so a NUL would
// end the message there; and messages quote data and config files, which can hold one ("loss
// '3\0,…' is not a number" lost everything after the 3). Other control bytes are escaped where the
// message is printed (cli dispatch); a NUL cannot wait that long.
inline std::string without_nul(std::string message) {
  for (std::size_t at = message.find('\0'); at != std::string::npos; at = message.find('\0', at))
    message.replace(at, 1, "\\x00");
  return message;
}

struct error : std::runtime_error {
  explicit error(const std::string& message) : std::runtime_error(without_nul(message)) {}
  explicit error(const char* message) : std::runtime_error(message) {}  // a C string holds no NUL
};

// The error for a stream that failed while reading `name` (its badbit): an I/O error, or a line
// longer than the memory left, since std::getline turns a failed allocation into badbit.
inline error read_error(const std::string& name) {
  return error("error reading '" + name + "': an I/O error, or a line too long for the memory available");
}

}  // namespace attn
