// attn eval: not built yet.
#include "commands.h"

namespace attn::cli {

int cmd_eval(const args& a) { return not_implemented("eval", a); }

}  // namespace attn::cli
