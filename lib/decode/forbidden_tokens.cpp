#include "decode/forbidden_tokens.h"

#include <limits>

#include "text/special_tokens.h"

namespace attn {

void forbid_unproducible(matrix& log_probs) {
  const std::size_t rows = log_probs.shape()[0], V = log_probs.shape()[1];
  constexpr float never = -std::numeric_limits<float>::infinity();
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = log_probs.data() + r * V;  // [V]
    for (const std::int32_t id : {pad_id, bos_id})
      if (static_cast<std::size_t>(id) < V) row[id] = never;
  }
}

}  // namespace attn
