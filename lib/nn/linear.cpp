#include "nn/linear.h"

#include "core/error.h"
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
var linear::forward(var x, rng* gen) const {
  tape& t = *x.t;
  const var b = bias_ ? t.param(*bias_) : var{};
  if (!weight_->lora_a) return attn::linear(x, t.param(*weight_), b);
  // LoRA: x·W + b + scale·(drop(x)·A)·B. drop(x) [N, in] · A [in, R] -> low [N, R], with the
  // dropout mask drawn inside dropout_matmul (none when p == 0 or not training: then a plain
  // matmul); low · B [R, out] is added in linear_low_rank's own output, so the adapter keeps
  // [N, R] activations, not another [N, out].
  const float p = weight_->lora_dropout;
  var low;
  if (p > 0.0f && t.recording()) {
    if (!gen) throw error("linear " + weight_->name + ": LoRA dropout needs the forward pass's random generator");
    low = dropout_matmul(x, t.param(*weight_->lora_a), p, gen->next_u64());
  } else {
    low = matmul(x, t.param(*weight_->lora_a));
  }
  return linear_low_rank(x, t.param(*weight_), b, low, t.param(*weight_->lora_b), weight_->lora_scale);
}

// p [in, out] -> p, or p + scale·A·B
var adapted_weight(tape& t, parameter& p) {
  if (!p.lora_a) return t.param(p);
  return add_low_rank(t.param(p), t.param(*p.lora_a), t.param(*p.lora_b), p.lora_scale);
}

}  // namespace attn::nn
