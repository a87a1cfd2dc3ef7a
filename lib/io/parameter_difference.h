#pragma once
// How far apart two checkpoints' parameters are, tensor by tensor: what `attn inspect
// --compare` prints, e.g. to check that a data-parallel run reached the parameters of a
// single-process one up to the order of floating-point sums.
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace attn {

struct parameter_difference {
  std::string name;
  double max_abs = 0;   // max |a - b| over the tensor's values
  double max_a = 0;     // max |a|
  double relative = 0;  // max_abs / max_a (0 when both are all zero). A tensor whose values are
                        // rounding noise (e.g. an attention key bias, whose gradient is zero)
                        // has a large one however close the runs: see overall_relative.
};

// max |a - b| over every value / max |a| over every value: how far apart two runs' parameters
// are as a whole.
double overall_relative(const std::vector<parameter_difference>& rows);

// One row per parameter of a, in a's order. Throws attn::error (naming the parameter) when the
// two do not hold the same parameter names and shapes; b_name names b in that message.
std::vector<parameter_difference> compare_parameters(const checkpoint& a, const checkpoint& b,
                                                     const std::string& b_name);

}  // namespace attn
