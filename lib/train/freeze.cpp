#include "train/freeze.h"

#include "core/name_pattern.h"

namespace attn {

bool freeze_pattern_matches(const std::string& pattern, const std::string& name) {
  return name_pattern_matches(pattern, name);
}

freeze_result freeze_parameters(parameter_store& params, const std::vector<std::string>& patterns) {
  freeze_result r;
  std::vector<bool> used(patterns.size(), false);
  for (parameter* p : params.all()) {
    bool hit = false;
    for (std::size_t i = 0; i < patterns.size(); ++i)
      if (freeze_pattern_matches(patterns[i], p->name)) used[i] = hit = true;
    if (!hit) continue;
    p->trainable = false;
    ++r.tensors;
    r.values += p->value.size();
  }
  for (std::size_t i = 0; i < patterns.size(); ++i)
    if (!used[i]) r.unmatched.push_back(patterns[i]);
  return r;
}

}  // namespace attn
