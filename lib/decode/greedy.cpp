#include "decode/greedy.h"

#include "decode/forbidden_tokens.h"
#include "decode/running_items.h"

namespace attn {

std::vector<std::vector<std::int32_t>> greedy_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                     std::int32_t start_token,
                                                     std::vector<soft_alignment>* alignments) {
  std::vector<std::vector<std::int32_t>> out(b.size);
  if (alignments) alignments->assign(b.size, {});
  no_grad off(t);
  t.reset();
  m.expect_decoding(1, max_len);
  m.start_decoding(t, b);
  running_items running(b.size, start_token);
  std::vector<std::int32_t> best;
  for (std::size_t step = 0; step < max_len && !running.empty(); ++step) {
    t.reset();  // the model keeps its caches outside the tape
    // the argmax of a row's logits is its log-probs' argmax: no log-softmax needed
    const matrix logits = m.decode_step_logits(t, running.last_tokens());  // [rows, V]
    if (alignments) record_step_alignment(m, b, running, *alignments);
    best_producible_rows(logits, best);  // never <pad> or <bos>
    for (std::size_t r = 0; r < running.rows(); ++r) running.pick(r, best[r], out);
    running.end_step(m);
  }
  return out;
}

}  // namespace attn
