// Subcommands registered in the table but not built yet: they say so and exit 2.
// Each moves to its own cmd_<name>.cpp when it is implemented.
#include <iostream>

#include "commands.h"

namespace attn::cli {

namespace {
int not_yet(const char* name, const args& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") {
      std::cout << "usage: attn " << name << " ...\n\n'" << name << "' is not implemented yet.\n";
      return 0;
    }
  std::cerr << "attn " << name << ": not implemented yet\n";
  return 2;
}
}  // namespace

int cmd_finetune(const args& a) { return not_yet("finetune", a); }
int cmd_attention(const args& a) { return not_yet("attention", a); }
int cmd_eval(const args& a) { return not_yet("eval", a); }

}  // namespace attn::cli
