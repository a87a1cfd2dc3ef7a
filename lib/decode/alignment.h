#pragma once
// Word alignments from the decoder's cross-attention (decode --alignment), printed as Marian does:
//   hard  Pharaoh `src-tgt` pairs, one per target position: the source position it attends to most
//         (the first one on a tie), pairs sorted by source then target position: `0-2 1-1 2-0 3-3`
//   soft  per target position, its weights over the source positions, comma-separated; positions
//         separated by spaces: `0.9,0.05,0.05 0.1,0.8,0.1`
// Positions index tokens as the model sees them: source = the source ids decoded (its tokens, then
// the <eos> appended to every source, at position = its token count); target = the hypothesis'
// tokens, then its <eos> when it ended (at position = its token count; a hypothesis cut at the
// length limit has none). The weights of one target position are those of the decoding step that
// produced it: the cross-attention of one layer (model::keep_step_attention), averaged over heads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "decode/running_items.h"
#include "models/model.h"

namespace attn {

enum class alignment_kind { none, hard, soft };

// "hard" | "soft"; throws attn::error naming the value otherwise.
alignment_kind parse_alignment_kind(const std::string& name);

// One hypothesis' soft alignment: [target positions][source positions].
using soft_alignment = std::vector<std::vector<float>>;

// Keeps the model's step attention of `layer` (-1: the last) while in scope (model::keep_step_attention).
class keeping_step_attention {
 public:
  keeping_step_attention(model& m, long layer) : m_(m) { m_.keep_step_attention(true, layer); }
  ~keeping_step_attention() { m_.keep_step_attention(false); }
  keeping_step_attention(const keeping_step_attention&) = delete;
  keeping_step_attention& operator=(const keeping_step_attention&) = delete;

 private:
  model& m_;
};

// Row `row` of step weights w [rows*H, S] (row r*H + h), averaged over its H heads and cut to the
// first src_len source positions -> [src_len]. Throws attn::error if w's shape does not fit.
std::vector<float> head_mean(const matrix& w, std::size_t rows, std::size_t row, std::size_t src_len);

// The source length of item i of a batch (src_lengths, or src_len for all when empty).
std::size_t source_length(const batch& b, std::size_t i);

// For the searches over running_items (greedy, sampling): appends to out[item] each running row's
// head-mean step weights (m.step_attention() after a decode_step, before the rows' picks).
void record_step_alignment(const model& m, const batch& b, const running_items& running,
                           std::vector<soft_alignment>& out);

// Hard alignment: (source, target) pairs, the argmax of each target position, sorted.
std::vector<std::pair<std::size_t, std::size_t>> hard_alignment(const soft_alignment& a);

// The printed forms (see the top of this file); "" for an empty alignment.
std::string hard_alignment_text(const soft_alignment& a);
std::string soft_alignment_text(const soft_alignment& a);
std::string alignment_text(alignment_kind kind, const soft_alignment& a);  // "" for none

}  // namespace attn
