#pragma once
// Affine layer y = x·W + b.
// Parameters: <prefix>.weight [in, out] (Xavier uniform), <prefix>.bias [1, out] (zeros, no decay).
// The weight is adaptable: with a LoRA adapter attached (models/lora.h) the forward pass is
// y = x·W + b + scale·(drop(x)·A)·B, drop = dropout with the adapter's lora_dropout while the tape
// records (training), the identity otherwise.
#include <cstddef>
#include <string>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"

namespace attn::nn {

// The weight a fused op should use for p: p itself, or with a LoRA adapter attached,
// W + scale·A·B formed once on the tape (ops add_low_rank). p [in, out] -> [in, out]
var adapted_weight(tape& t, parameter& p);

class linear {
 public:
  linear() = default;
  linear(parameter_store& store, const std::string& prefix, std::size_t in, std::size_t out, rng& gen,
         bool bias = true);

  // x [N, in] -> [N, out]. gen draws the mask of an adapter's dropout; needed only while
  // training an adapter with lora_dropout > 0 (throws attn::error when it is missing then).
  var forward(var x, rng* gen = nullptr) const;

  std::size_t in() const { return in_; }
  std::size_t out() const { return out_; }
  parameter& weight() const { return *weight_; }
  parameter* bias() const { return bias_; }  // nullptr when built without bias
  bool has_adapter() const { return weight_ && weight_->lora_a; }

 private:
  parameter* weight_ = nullptr;
  parameter* bias_ = nullptr;
  std::size_t in_ = 0, out_ = 0;
};

}  // namespace attn::nn
