#include "text/special_matcher.h"

namespace attn {

special_matcher::special_matcher(std::vector<std::string> specials, int32_t first_id)
    : specials_(std::move(specials)), first_id_(first_id) {}

std::size_t special_matcher::find(std::string_view text, std::size_t pos, int32_t& which) const {
  // A linear scan per special: there are a handful of them and they are rare in text.
  std::size_t best = text.size();
  which = -1;
  for (std::size_t i = 0; i < specials_.size(); ++i) {
    const std::size_t at = text.find(specials_[i], pos);
    if (at == std::string_view::npos) continue;
    if (at < best || (at == best && specials_[i].size() > specials_[which].size())) {
      best = at;
      which = static_cast<int32_t>(i);
    }
  }
  return best;
}

}  // namespace attn
