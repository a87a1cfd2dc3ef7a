#pragma once
// Greedy decoding: at every step, the most probable next token of every item, until <eos> or a
// length limit. Finished items leave the model's batch (reorder_decoding), so every decode_step
// feeds only unfinished ones. Beam search and sampling share the same model interface.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tape.h"
#include "decode/alignment.h"
#include "models/model.h"
#include "text/special_tokens.h"

namespace attn {

// b holds the sources (src, src_lengths; for lm the prompts). Returns, per item, the produced
// tokens without <bos>/<eos>. Decoding of an item stops at <eos> or after max_len tokens.
// start_token is fed first: <bos> for encoder-decoders; an lm trained on <eos>-separated lines
// starts a new line after <eos>. alignments (optional; the model must keep its step attention,
// keeping_step_attention): receives per item its soft alignment (decode/alignment.h), one row per
// produced token and one for its <eos>.
std::vector<std::vector<std::int32_t>> greedy_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                     std::int32_t start_token = bos_id,
                                                     std::vector<soft_alignment>* alignments = nullptr);

}  // namespace attn
