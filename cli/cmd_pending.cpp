// The answer of subcommands registered in the table but not built yet: they say so and exit 2.
// Each moves to its own cmd_<name>.cpp when it is implemented (none is pending now).
#include <iostream>

#include "commands.h"

namespace attn::cli {

int not_implemented(const char* name, const args& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") {
      std::cout << "usage: attn " << name << " ...\n\n'" << name << "' is not implemented yet.\n";
      return 0;
    }
  std::cerr << "attn " << name << ": not implemented yet\n";
  return 2;
}

}  // namespace attn::cli
