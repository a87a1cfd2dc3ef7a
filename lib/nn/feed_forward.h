#pragma once
// Position-wise feed-forward block: y = linear_out(dropout(act(linear_in(x)))), act = gelu or relu.
// Parameters: <prefix>.in.weight [d, ff], <prefix>.in.bias [1, ff], <prefix>.out.weight [ff, d],
// <prefix>.out.bias [1, d].
#include <cstddef>
#include <string>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/rng.h"
#include "nn/dropout.h"
#include "nn/linear.h"

namespace attn::nn {

enum class activation { gelu, relu };

activation parse_activation(const std::string& name);  // "gelu" | "relu"
const char* activation_name(activation a);

class feed_forward {
 public:
  feed_forward() = default;
  feed_forward(parameter_store& store, const std::string& prefix, std::size_t d, std::size_t ff, activation act,
               float dropout_p, rng& gen);

  // x [N, d] -> [N, d]; gen draws the dropout mask (unused when not recording).
  var forward(var x, rng& gen) const;

 private:
  linear in_, out_;
  activation act_ = activation::gelu;
  dropout drop_;
};

}  // namespace attn::nn
