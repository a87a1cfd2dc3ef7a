#include "nn/linear.h"

#include "core/init.h"

namespace attn::nn {

linear::linear(parameter_store& store, const std::string& prefix, std::size_t in, std::size_t out, rng& gen,
               bool bias)
    : in_(in), out_(out) {
  weight_ = &store.add(prefix + ".weight", in, out);
  init_xavier_uniform(weight_->value, gen);
  if (bias) bias_ = &store.add(prefix + ".bias", 1, out, /*decay=*/false);
}

// x [N, in] -> [N, out]
var linear::forward(var x) const {
  tape& t = *x.t;
  return attn::linear(x, t.param(*weight_), bias_ ? t.param(*bias_) : var{});
}

}  // namespace attn::nn
