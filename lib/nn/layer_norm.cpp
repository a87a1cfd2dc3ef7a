#include "nn/layer_norm.h"

#include "core/init.h"

namespace attn::nn {

layer_norm::layer_norm(parameter_store& store, const std::string& prefix, std::size_t d, float eps) : eps_(eps) {
  gain_ = &store.add(prefix + ".gain", 1, d, /*decay=*/false);
  init_ones(gain_->value);
  bias_ = &store.add(prefix + ".bias", 1, d, /*decay=*/false);
}

// x [N, d] -> [N, d]
var layer_norm::forward(var x) const {
  tape& t = *x.t;
  return attn::layer_norm(x, t.param(*gain_), t.param(*bias_), eps_);
}

}  // namespace attn::nn
