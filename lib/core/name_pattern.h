#pragma once
// Selecting parameters by dotted name, as --freeze and --lora-targets do:
//   "encoder"            every parameter under encoder (encoder.x, encoder.layers.0.y; not encoder2.z)
//   "encoder."           the same
//   "layers.1"           layers.1.*, but not layers.10.* (a match ends at a dot or the end of the name)
//   "embed*", "*.bias"   '*' matches any characters, dots included
// A pattern matches a name when it matches the whole name or a leading part of it that ends just
// before or just after a dot.
#include <string>

namespace attn {

// True when `pattern` selects the parameter called `name` (rules above). "" selects nothing.
bool name_pattern_matches(const std::string& pattern, const std::string& name);

}  // namespace attn
