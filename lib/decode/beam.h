#pragma once
// Beam search over the model interface, batched over the sentences of a batch: every decode_step
// call feeds all live hypotheses of all unfinished sentences (rows = sum of live beams), and rows of
// finished sentences are dropped from the model state with reorder_decoding. docs/decoding.md gives
// the exact scoring and stopping rule.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tape.h"
#include "decode/alignment.h"
#include "models/model.h"
#include "text/special_tokens.h"

namespace attn {

struct beam_config {
  std::size_t beam_size = 5;    // K: live hypotheses per sentence
  float length_penalty = 1.0f;  // A: a hypothesis scores log P / len^A (len counts <eos>); 0 = raw log-prob
  std::size_t n_best = 1;       // hypotheses returned per sentence, best first (at most beam_size)
  bool alignment = false;       // fill hypothesis::alignment (the model must keep its step attention,
                                // keeping_step_attention in decode/alignment.h)
};

struct hypothesis {
  std::vector<std::int32_t> tokens;  // without <bos> / <eos>
  float score = 0.0f;                // log_prob / len^A: what hypotheses are ranked by
  float log_prob = 0.0f;             // sum of the log-probs of the produced tokens (with <eos> if it ended)
  bool ended = false;                // produced <eos> (false: stopped at max_len)
  soft_alignment alignment;          // with beam_config::alignment: a row per token, then one for <eos>
                                     // if it ended: the step attention of the beam it descends from
};

// Normalised score of a hypothesis with summed log-prob `log_prob` over `len` output tokens.
float beam_score(float log_prob, std::size_t len, float length_penalty);

// b holds the sources (lm: the prompts, all of one length), as for greedy_decode. Returns per item
// its best hypotheses, best first: n_best of them, fewer only when the search found fewer (a tiny
// vocabulary), at least one (max_len 0: one empty hypothesis). A hypothesis is at most max_len
// tokens long, its <eos> included. beam_size 1 gives greedy_decode's tokens. Throws attn::error if
// beam_size or n_best is 0 or n_best > beam_size.
std::vector<std::vector<hypothesis>> beam_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                 const beam_config& cfg, std::int32_t start_token = bos_id);

}  // namespace attn
