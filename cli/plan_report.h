#pragma once
// `attn train|finetune ... --plan`: the plan lib/train/plan.h computes, printed on stdout as
// text or (--json) one JSON object with the same content.
#include <iosfwd>
#include <string>

#include "train/plan.h"

namespace attn::cli {

// `command` is "train" or "finetune".
void print_plan(std::ostream& out, const training_plan& p, const std::string& command, bool json);

}  // namespace attn::cli
