#pragma once
// Layer normalisation over the feature axis: y = (x - mean) / sqrt(var + eps) · gain + bias.
// Parameters: <prefix>.gain [1, d] (ones), <prefix>.bias [1, d] (zeros); neither decays.
#include <cstddef>
#include <string>

#include "core/ops.h"
#include "core/parameter.h"

namespace attn::nn {

class layer_norm {
 public:
  layer_norm() = default;
  layer_norm(parameter_store& store, const std::string& prefix, std::size_t d, float eps = 1e-5f);

  // x [N, d] -> [N, d]
  var forward(var x) const;

  parameter& gain() const { return *gain_; }
  parameter& bias() const { return *bias_; }

 private:
  parameter* gain_ = nullptr;
  parameter* bias_ = nullptr;
  float eps_ = 1e-5f;
};

}  // namespace attn::nn
