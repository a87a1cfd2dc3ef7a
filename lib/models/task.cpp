#include "models/task.h"

#include <algorithm>

namespace attn {

std::vector<std::int32_t> task::source_ids(tokenizer& tok, std::string_view line, std::size_t max_len,
                                           bool& cut) const {
  std::vector<std::int32_t> ids;
  if (source == source_form::bos_text) ids.push_back(bos_id);
  tok.encode(line, ids);
  cut = false;
  if (source == source_form::text_eos) {  // x <eos>, at most max_len with its <eos>
    if (ids.size() >= max_len) {
      ids.resize(max_len - 1);
      cut = true;
    }
    ids.push_back(eos_id);
  } else {
    // an lm's prompt follows the start token it is fed after: at most max_len - 1 of its own
    const std::size_t limit = budget_includes_source ? max_len - 1 : max_len;
    if (ids.size() > limit) {
      ids.resize(limit);
      cut = true;
    }
  }
  return ids;
}

std::size_t task::decode_budget(std::size_t max_len, std::size_t src_len) const {
  return budget_includes_source ? max_len - std::min(max_len - 1, src_len) : max_len;
}

bool task::allows_max_len(const model_config& c, std::size_t max_len) const {
  return !(positions_bound_length && c.pos_encoding == "learned" && max_len > c.max_len);
}

bool task::has_attention_kind(const std::string& kind) const {
  return (kind == "self" && has_self_attention) || (kind == "cross" && has_cross_attention);
}

const task& task_of(const model& m) {
  return task_for(m.config().family);
}

}  // namespace attn
