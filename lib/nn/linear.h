#pragma once
// Affine layer y = x·W + b.
// Parameters: <prefix>.weight [in, out] (Xavier uniform), <prefix>.bias [1, out] (zeros, no decay).
// The weight is adaptable: with a LoRA adapter attached (models/lora.h) the forward pass is
// y = x·W + b + scale·(x·A)·B.
#include <cstddef>
#include <string>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"

namespace attn::nn {

class linear {
 public:
  linear() = default;
  linear(parameter_store& store, const std::string& prefix, std::size_t in, std::size_t out, rng& gen,
         bool bias = true);

  // x [N, in] -> [N, out]
  var forward(var x) const;

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
