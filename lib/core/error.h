#pragma once
// The one exception type the library throws: its message is meant for the user
// ("cannot open 'x.txt': No such file or directory"), so it never needs a stack trace.
#include <stdexcept>
#include <string>

namespace attn {

struct error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace attn
