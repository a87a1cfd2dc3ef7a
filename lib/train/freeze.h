#pragma once
// Freezing parameters by name (fine-tuning). A frozen parameter has trainable == false: the tape
// keeps no gradient for it, and clipping and the optimizer skip it, so it comes out bit-identical.
//
// Patterns address parameters the way `attn inspect` groups them, by dotted name:
//   "encoder"            every parameter under encoder (encoder.x, encoder.layers.0.y; not encoder2.z)
//   "encoder."           the same
//   "layers.1"           layers.1.*, but not layers.10.* (a match ends at a dot or the end of the name)
//   "embed*", "*.bias"   '*' matches any characters, dots included
// A pattern matches a name when it matches the whole name or a leading part of it that ends just
// before or just after a dot.
#include <cstddef>
#include <string>
#include <vector>

#include "core/parameter.h"

namespace attn {

// True when `pattern` selects the parameter called `name` (rules above; core/name_pattern.h).
bool freeze_pattern_matches(const std::string& pattern, const std::string& name);

struct freeze_result {
  std::size_t tensors = 0;             // parameters frozen (each counted once)
  std::size_t values = 0;              // their scalars
  std::vector<std::string> unmatched;  // patterns that selected no parameter, in the order given
};

// Sets trainable = false on every parameter selected by any pattern; others are left as they are.
freeze_result freeze_parameters(parameter_store& params, const std::vector<std::string>& patterns);

}  // namespace attn
