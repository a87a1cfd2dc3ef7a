#include "decode/greedy.h"

#include "decode/forbidden_tokens.h"
#include "text/special_tokens.h"

namespace attn {

std::vector<std::vector<std::int32_t>> greedy_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                     std::int32_t start_token) {
  no_grad off(t);
  t.reset();
  m.start_decoding(t, b);
  std::vector<std::vector<std::int32_t>> out(b.size);
  std::vector<std::int32_t> last(b.size, start_token);
  std::vector<bool> done(b.size, false);
  std::size_t active = b.size;
  for (std::size_t step = 0; step < max_len && active > 0; ++step) {
    t.reset();  // the model keeps its caches outside the tape
    matrix lp = m.decode_step(t, last);  // [B, V]
    forbid_unproducible(lp);
    const std::size_t vocab_size = lp.shape()[1];
    for (std::size_t i = 0; i < b.size; ++i) {
      if (done[i]) {
        last[i] = pad_id;
        continue;
      }
      last[i] = best_producible(lp.data() + i * vocab_size, vocab_size);
      if (last[i] == eos_id) {
        done[i] = true;
        --active;
      } else {
        out[i].push_back(last[i]);
      }
    }
  }
  return out;
}

}  // namespace attn
