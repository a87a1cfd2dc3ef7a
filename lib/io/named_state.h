#pragma once
// What a stateful component hands a checkpoint to keep: named tensors and named scalars. The
// checkpoint (io/checkpoint.h) stores it without knowing whose state it is; the optimizer
// (train/optimizer.h) produces and consumes it, and documents its key scheme.
#include <map>
#include <string>

#include "core/tensor.h"

namespace attn {

struct named_state {
  std::map<std::string, matrix> tensors;  // each [rows, cols], saved bit for bit
  std::map<std::string, double> scalars;
};

}  // namespace attn
