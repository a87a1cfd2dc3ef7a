#pragma once
// The unit every model consumes: a padded batch of token ids (Marian's src/data/batch.h).
// Built by data/dataset.h (make_batch) for training and by the decoders for translation;
// read by models/model.h. Padding uses pad_id and the specials are text/special_tokens.h's.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn {

// Sequences are batch-major: position t of item b is at b * len + t.
struct batch {
  std::size_t size = 0;                 // B
  std::size_t src_len = 0, tgt_len = 0; // padded lengths S, T
  std::vector<std::int32_t> src;        // [B*S]: source ids (encoder input; lm/classifier text)
  std::vector<std::int32_t> src_lengths;
  std::vector<std::int32_t> tgt_in;     // [B*T]: <bos> y1 .. yn  (teacher forcing input)
  std::vector<std::int32_t> tgt_out;    // [B*T]: y1 .. yn <eos>  (targets; pad elsewhere)
  std::vector<std::int32_t> tgt_lengths;
  std::vector<std::int32_t> labels;     // [B]: classifier labels
};

}  // namespace attn
