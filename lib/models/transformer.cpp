// Encoder-decoder Transformer (Vaswani et al. 2017).
//
//   src ids [B*S] -> E_src·(√d) + PE -> dropout -> N × encoder_layer -> (pre-LN: encoder.ln) = memory [B*S, d]
//   tgt_in  [B*T] -> E_tgt·(√d) + PE -> dropout -> N × decoder_layer(memory) -> (pre-LN: decoder.ln) = h [B*T, d]
//   logits = h·E_tgtᵀ (tie_output) or h·W_out + b_out  [B*T, V_tgt]
//
// The √d scale applies with sinusoidal (and hyperbolic) positions, as in the paper: embeddings are
// N(0, 1/d), so after ·√d their elements are O(1) like the table's.
//
// Parameters: src_embed.weight and tgt_embed.weight, or embed.weight when share_embeddings;
// src_pos.weight / tgt_pos.weight with learned positions; encoder.layers.<i>.* (encoder_layer),
// encoder.ln.*; decoder.layers.<i>.* (decoder_layer: self_attn, cross_attn, ff, ln1..3), decoder.ln.*;
// out.weight [d, V], out.bias without tie_output.
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/recompute.h"
#include "models/common.h"
#include "nn/decoder_layer.h"
#include "nn/embedding.h"
#include "nn/encoder_layer.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/positional.h"
#include "text/special_tokens.h"

namespace attn::models_detail {
namespace {

class transformer_model : public model {
 public:
  transformer_model(const model_config& c, rng& gen) : cfg_(c) {
    if (c.src_vocab == 0 || c.tgt_vocab == 0) throw error("transformer: src_vocab and tgt_vocab must be set");
    if (c.layers == 0) throw error("transformer: layers must be at least 1");
    if (c.share_embeddings && c.src_vocab != c.tgt_vocab)
      throw error("transformer: share_embeddings needs src_vocab == tgt_vocab (got " + std::to_string(c.src_vocab) +
                  " and " + std::to_string(c.tgt_vocab) + ")");
    const std::size_t d = c.d_model;
    const nn::positional pk = nn::parse_positional(c.pos_encoding);
    scale_ = pk == nn::positional::sinusoidal || pk == nn::positional::hyperbolic;
    if (c.share_embeddings) {
      src_embed_ = nn::embedding(params_, "embed", c.src_vocab, d, gen);
      tgt_embed_ = src_embed_;
    } else {
      src_embed_ = nn::embedding(params_, "src_embed", c.src_vocab, d, gen);
      tgt_embed_ = nn::embedding(params_, "tgt_embed", c.tgt_vocab, d, gen);
    }
    src_pos_ = nn::positional_encoding(params_, "src_pos", pk, c.max_len, d, gen);
    tgt_pos_ = nn::positional_encoding(params_, "tgt_pos", pk, c.max_len, d, gen);
    nn::block_config enc = block_settings(c), dec = enc;
    for (std::size_t i = 0; i < c.layers; ++i)
      encoder_.emplace_back(params_, "encoder.layers." + std::to_string(i), enc, gen);
    pre_ = enc.norm == nn::norm_position::pre;
    if (pre_) enc_ln_ = nn::layer_norm(params_, "encoder.ln", d);
    for (std::size_t i = 0; i < c.layers; ++i)
      decoder_.emplace_back(params_, "decoder.layers." + std::to_string(i), dec, gen);
    if (pre_) dec_ln_ = nn::layer_norm(params_, "decoder.ln", d);
    if (!c.tie_output) {
      out_ = nn::linear(params_, "out", d, c.tgt_vocab, gen);
      out_.weight().adaptable = false;  // trained through the fused output loss: no LoRA
    }
    drop_.p = c.dropout;
  }

  const model_config& config() const override { return cfg_; }
  void set_recompute(bool on) override { recompute_ = on; }

  loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing) override {
    check_batch(b, true, "transformer");
    tgt_rows_ = packing_if_padded(b.size, b.tgt_len, b.tgt_lengths);
    const row_packing* packed = tgt_rows_ ? &*tgt_rows_ : nullptr;
    var h = decoder_output(t, b, gen, packed);  // [n, d]: the output layer skips the padding too
    const std::vector<std::int32_t> packed_targets =
        packed ? pack_ids(b.tgt_out, *packed, pad_id) : std::vector<std::int32_t>{};
    const std::vector<std::int32_t>& targets = packed ? packed_targets : b.tgt_out;
    if (cfg_.tie_output)
      return output_token_loss(h, tgt_embed_.weight(), nullptr, true, targets, pad_id, label_smoothing);
    return output_token_loss(h, out_.weight(), out_.bias(), false, targets, pad_id, label_smoothing);
  }

  matrix log_probs(tape& t, const batch& b) override {
    check_batch(b, true, "transformer");
    no_grad ng(t);
    rng unused(0);
    return log_softmax_rows(forward(t, b, unused).value());
  }

  std::vector<attention_map> attention_maps(tape& t, const batch& b) override {
    check_batch(b, true, "transformer");
    std::vector<nn::multi_head_attention*> modules;
    for (nn::encoder_layer& l : encoder_) modules.push_back(&l.attention());
    for (nn::decoder_layer& l : decoder_) {
      modules.push_back(&l.self_attention());
      modules.push_back(&l.cross_attention());
    }
    {
      keeping_weights keep(modules);
      no_grad ng(t);
      rng unused(0);
      forward(t, b, unused);
    }
    using side = sequence_side;
    std::vector<attention_map> maps;
    for (std::size_t i = 0; i < encoder_.size(); ++i)
      maps.push_back(map_of(encoder_[i].attention(), "encoder.layers." + std::to_string(i) + ".attn", i, side::source,
                            side::source, b.src_len, b.src_len));
    for (std::size_t i = 0; i < decoder_.size(); ++i) {
      const std::string prefix = "decoder.layers." + std::to_string(i);
      maps.push_back(map_of(decoder_[i].self_attention(), prefix + ".self_attn", i, side::target, side::target,
                            b.tgt_len, b.tgt_len));
      maps.push_back(map_of(decoder_[i].cross_attention(), prefix + ".cross_attn", i, side::target, side::source,
                            b.tgt_len, b.src_len));
    }
    return maps;
  }

  void start_decoding(tape& t, const batch& b) override {
    const std::size_t rows = expected_rows_, steps = expected_steps_;  // the hint is for this search only
    expected_rows_ = expected_steps_ = 0;
    check_batch(b, false, "transformer");
    no_grad ng(t);
    rng unused(0);
    batch_ = b.size;
    src_len_ = b.src_len;
    src_lengths_ = lengths_or_full(b.src_lengths, b.size, b.src_len);
    src_rows_ = packing_if_padded(b.size, b.src_len, b.src_lengths);
    var memory = encode(t, b, unused, src_rows_ ? &*src_rows_ : nullptr);
    memory_ = (src_rows_ ? unpack_rows(memory, *src_rows_) : memory).value();  // [B*S, d]
    caches_.resize(decoder_.size());  // emptied, their storage kept from earlier batches
    for (nn::decoder_cache& c : caches_) {
      for (nn::kv_cache* k : {&c.self, &c.cross}) {
        if (k->precision() != kv_precision_) k->set_precision(kv_precision_);
        k->clear();
      }
      c.self.expect(batch_ * rows, steps);  // a position per step
    }
    step_ = 0;
  }

  void expect_decoding(std::size_t rows_per_item, std::size_t steps) override {
    expected_rows_ = rows_per_item;
    expected_steps_ = steps;
  }

  // last_tokens [B] -> log-probs [B, V]
  matrix decode_step(tape& t, const std::vector<std::int32_t>& last_tokens) override {
    return log_softmax_rows(decode_step_logits(t, last_tokens));
  }

  // last_tokens [B] -> logits [B, V]
  matrix decode_step_logits(tape& t, const std::vector<std::int32_t>& last_tokens) override {
    if (caches_.empty()) throw error("transformer: decode_step before start_decoding");
    if (last_tokens.size() != batch_) throw error("transformer: decode_step needs one token per batch item");
    no_grad ng(t);
    rng unused(0);
    var x = tgt_pos_.forward(tgt_embed_.forward(t, last_tokens, scale_), batch_, 1, step_);
    var mem = step_ == 0 ? t.constant(memory_) : var{};  // cross K/V are cached after the first step
    for (std::size_t i = 0; i < decoder_.size(); ++i)
      x = decoder_[i].forward(x, batch_, 1, {}, mem, src_len_, src_lengths_, unused, &caches_[i]);
    if (step_ == 0) memory_ = matrix::from_shape({0, 0});  // the cross caches hold all it is needed for
    ++step_;
    return t.take_value(project(pre_ ? dec_ln_.forward(x) : x));  // no copy of [B, V]
  }

  bool set_kv_precision(nn::kv_precision p) override {
    kv_precision_ = p;
    return true;
  }

  // Alignment: the chosen layer's cross-attention keeps each step's weights [rows*H, S] (one
  // copy per step); the other layers keep nothing.
  void keep_step_attention(bool keep, long layer) override {
    if (layer < -1 || layer >= static_cast<long>(decoder_.size()))
      throw error("transformer: attention layer " + std::to_string(layer) + " is past the model's " +
                  std::to_string(decoder_.size()) + " layers");
    if (aligned_) aligned_->keep_weights(false);
    aligned_ = nullptr;
    if (!keep) return;
    aligned_ = &decoder_[layer < 0 ? decoder_.size() - 1 : static_cast<std::size_t>(layer)].cross_attention();
    aligned_->keep_weights(true);
  }

  const matrix& step_attention() const override {
    return aligned_ ? aligned_->last_weights().w : model::step_attention();
  }

  // Copies no K/V: self-attention caches remap their items (copy on write at the next append),
  // and the beams of a sentence keep reading its one copy of the cross-attention K/V.
  void reorder_decoding(const std::vector<std::int32_t>& order) override {
    for (const std::int32_t i : order)
      if (i < 0 || static_cast<std::size_t>(i) >= batch_)
        throw error("reorder_decoding: item " + std::to_string(i) + " outside the batch of " + std::to_string(batch_));
    if (step_ == 0) memory_ = pick_items(memory_, batch_, src_len_, order);  // still to be read by step 0
    src_lengths_ = pick(src_lengths_, order);
    for (nn::decoder_cache& c : caches_) {
      if (!c.self.empty()) c.self.reorder(order);
      if (!c.cross.empty()) c.cross.reorder(order);
    }
    batch_ = order.size();
  }

 private:
  // src -> memory [B*S, d], or its valid rows [n_src, d] as packed by `packed`
  var encode(tape& t, const batch& b, rng& gen, const row_packing* packed) {
    var x = src_pos_.forward(src_embed_.forward(t, b.src, scale_), b.size, b.src_len);
    x = drop_.forward(packed ? pack_rows(x, *packed) : x, gen);
    x = run_encoder_layers(encoder_, x, b.size, b.src_len, b.src_lengths, gen, recompute_, packed);
    return pre_ ? enc_ln_.forward(x) : x;
  }

  // h [N, d] -> logits [N, V]
  var project(var h) const {
    if (cfg_.tie_output) return matmul(h, h.t->param(tgt_embed_.weight()), false, true);
    return out_.forward(h);
  }

  // teacher forcing: -> the decoder's output [B*T, d] (after the final norm), or its valid rows
  // [n, d] as packed by tgt_packed. The encoder skips the source padding when it is worth it.
  // The packings live in members: a recomputed block runs again in the backward pass.
  var decoder_output(tape& t, const batch& b, rng& gen, const row_packing* tgt_packed) {
    src_rows_ = packing_if_padded(b.size, b.src_len, b.src_lengths);
    const row_packing* src_packed = src_rows_ ? &*src_rows_ : nullptr;
    var memory = encode(t, b, gen, src_packed);  // [B*S, d] or [n_src, d]
    var y = tgt_pos_.forward(tgt_embed_.forward(t, b.tgt_in, scale_), b.size, b.tgt_len);
    y = drop_.forward(tgt_packed ? pack_rows(y, *tgt_packed) : y, gen);
    for (nn::decoder_layer& l : decoder_) {
      if (recompute_) {
        y = attn::recompute({y, memory}, gen, [&l, &b, tgt_packed, src_packed](const std::vector<var>& in, rng& g) {
          return l.forward(in[0], b.size, b.tgt_len, b.tgt_lengths, in[1], b.src_len, b.src_lengths, g, nullptr,
                           tgt_packed, src_packed);
        });
      } else {
        y = l.forward(y, b.size, b.tgt_len, b.tgt_lengths, memory, b.src_len, b.src_lengths, gen, nullptr, tgt_packed,
                      src_packed);
      }
    }
    return pre_ ? dec_ln_.forward(y) : y;
  }

  // teacher forcing: -> logits [B*T, V]
  var forward(tape& t, const batch& b, rng& gen) { return project(decoder_output(t, b, gen, nullptr)); }

  model_config cfg_;
  bool scale_ = false, pre_ = true;
  nn::embedding src_embed_, tgt_embed_;
  nn::positional_encoding src_pos_, tgt_pos_;
  std::vector<nn::encoder_layer> encoder_;
  std::vector<nn::decoder_layer> decoder_;
  nn::layer_norm enc_ln_, dec_ln_;
  nn::linear out_;
  nn::dropout drop_;
  // decoding state
  std::size_t batch_ = 0, src_len_ = 0, step_ = 0;
  std::size_t expected_rows_ = 0, expected_steps_ = 0;  // expect_decoding(), until start_decoding
  std::vector<std::int32_t> src_lengths_;
  matrix memory_;
  std::vector<nn::decoder_cache> caches_;
  nn::kv_precision kv_precision_ = nn::kv_precision::f32;
  nn::multi_head_attention* aligned_ = nullptr;  // keeps its decode_step weights (keep_step_attention)
  // the packings of the batch in flight (source and, for the loss, target), for the backward pass
  std::optional<row_packing> src_rows_, tgt_rows_;
};

}  // namespace

std::unique_ptr<model> make_transformer(const model_config& c, rng& gen) {
  return std::make_unique<transformer_model>(c, gen);
}

}  // namespace attn::models_detail
