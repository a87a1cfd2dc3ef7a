#include "nn/linear.h"

#include "core/init.h"

namespace attn::nn {

linear::linear(parameter_store& store, const std::string& prefix, std::size_t in, std::size_t out, rng& gen,
               bool bias)
    : in_(in), out_(out) {
  weight_ = &store.add(prefix + ".weight", in, out);
  init_xavier_uniform(weight_->value, gen);
  weight_->adaptable = true;
  if (bias) bias_ = &store.add(prefix + ".bias", 1, out, /*decay=*/false);
}

// x [N, in] -> [N, out]
var linear::forward(var x) const {
  tape& t = *x.t;
  var y = attn::linear(x, t.param(*weight_), bias_ ? t.param(*bias_) : var{});
  if (!weight_->lora_a) return y;
  // LoRA: + scale·(x·A)·B, two thin GEMMs. x [N, in] · A [in, R] -> [N, R] · B [R, out] -> [N, out]
  var low = matmul(x, t.param(*weight_->lora_a));
  return add(y, scale(matmul(low, t.param(*weight_->lora_b)), weight_->lora_scale));
}

}  // namespace attn::nn
