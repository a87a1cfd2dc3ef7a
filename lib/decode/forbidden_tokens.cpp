#include "decode/forbidden_tokens.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/kernels.h"
#include "core/threads.h"
#include "text/special_tokens.h"

namespace attn {

bool is_unproducible(std::int32_t id) { return id == pad_id || id == bos_id; }

void forbid_unproducible(matrix& log_probs) {
  const std::size_t rows = log_probs.shape()[0], V = log_probs.shape()[1];
  constexpr float never = -std::numeric_limits<float>::infinity();
  for (std::size_t r = 0; r < rows; ++r) {
    float* row = log_probs.data() + r * V;  // [V]
    for (const std::int32_t id : {pad_id, bos_id})
      if (static_cast<std::size_t>(id) < V) row[id] = never;
  }
}

// log_probs [V]
std::int32_t best_producible(const float* log_probs, std::size_t V) {
  if (V <= static_cast<std::size_t>(bos_id)) throw error("decoding: a vocabulary of " + std::to_string(V) +
                                                         " tokens has nothing to produce beyond <pad> and <bos>");
  // the first maximum of the row, when producible (a search's usual case: one vector pass)
  const auto top = static_cast<std::int32_t>(kernels::argmax(V, log_probs));
  if (!is_unproducible(top) && !std::isnan(log_probs[top])) return top;
  std::int32_t best = -1;
  for (std::size_t v = 0; v < V; ++v) {
    const std::int32_t id = static_cast<std::int32_t>(v);
    if (is_unproducible(id)) continue;
    if (best < 0 || log_probs[v] > log_probs[best]) best = id;
  }
  return best;
}

// scores [rows, V] -> best [rows]
void best_producible_rows(const matrix& scores, std::vector<std::int32_t>& best) {
  const std::size_t rows = scores.shape()[0], V = scores.shape()[1];
  best.resize(rows);
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(V, 1));
  parallel_for(rows, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t r = begin; r < end; ++r) best[r] = best_producible(scores.data() + r * V, V);
  });
}

}  // namespace attn
