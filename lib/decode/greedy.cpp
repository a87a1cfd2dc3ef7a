#include "decode/greedy.h"

#include <numeric>

#include "decode/forbidden_tokens.h"
#include "text/special_tokens.h"

namespace attn {

std::vector<std::vector<std::int32_t>> greedy_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                     std::int32_t start_token) {
  std::vector<std::vector<std::int32_t>> out(b.size);
  no_grad off(t);
  t.reset();
  m.start_decoding(t, b);
  // One model row per unfinished item; finished items leave the model state (reorder_decoding).
  // The next_* buffers are the following step's, swapped in after each step.
  std::vector<std::int32_t> item(b.size), last(b.size, start_token), keep, next_item, next_last;
  std::iota(item.begin(), item.end(), 0);
  for (std::size_t step = 0; step < max_len && !last.empty(); ++step) {
    t.reset();  // the model keeps its caches outside the tape
    const matrix lp = m.decode_step(t, last);  // [rows, V]
    const std::size_t rows = last.size(), V = cols(lp);
    keep.clear();
    next_item.clear();
    next_last.clear();
    for (std::size_t r = 0; r < rows; ++r) {
      const std::int32_t token = best_producible(lp.data() + r * V, V);  // never <pad> or <bos>
      if (token == eos_id) continue;
      out[static_cast<std::size_t>(item[r])].push_back(token);
      keep.push_back(static_cast<std::int32_t>(r));
      next_item.push_back(item[r]);
      next_last.push_back(token);
    }
    if (!keep.empty() && keep.size() != rows) m.reorder_decoding(keep);
    item.swap(next_item);
    last.swap(next_last);
  }
  return out;
}

}  // namespace attn
