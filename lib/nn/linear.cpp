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
  const var b = bias_ ? t.param(*bias_) : var{};
  if (!weight_->lora_a) return attn::linear(x, t.param(*weight_), b);
  // LoRA: x·W + b + scale·(x·A)·B. x [N, in] · A [in, R] -> low [N, R]; low · B [R, out] is added in
  // linear_low_rank's own output, so the adapter keeps [N, R] activations, not another [N, out].
  var low = matmul(x, t.param(*weight_->lora_a));
  return linear_low_rank(x, t.param(*weight_), b, low, t.param(*weight_->lora_b), weight_->lora_scale);
}

}  // namespace attn::nn
