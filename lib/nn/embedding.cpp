#include "nn/embedding.h"

#include <cmath>

#include "core/error.h"
#include "core/init.h"

namespace attn::nn {

embedding::embedding(parameter_store& store, const std::string& prefix, std::size_t vocab, std::size_t d,
                     rng& gen)
    : vocab_(vocab), d_(d) {
  weight_ = &store.add(prefix + ".weight", vocab, d);
  init_normal(weight_->value, gen, 1.0f / std::sqrt(static_cast<float>(d)));
}

// ids (N) -> [N, d]
var embedding::forward(tape& t, const std::vector<std::int32_t>& ids, bool scale_sqrt_d) const {
  for (std::int32_t id : ids)
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_)
      throw error("token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(vocab_) +
                  " (" + weight_->name + ")");
  var e = attn::embedding(t.param(*weight_), ids);
  return scale_sqrt_d ? scale(e, std::sqrt(static_cast<float>(d_))) : e;
}

}  // namespace attn::nn
