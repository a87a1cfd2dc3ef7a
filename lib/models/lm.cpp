// Decoder-only Transformer language model (GPT style).
//
//   src ids [B*S] -> E[src]·(√d with sinusoidal/hyperbolic) + PE -> dropout
//     -> N × encoder_layer(causal) -> (pre-LN: ln_f) = h [B*S, d]
//   logits = h·Eᵀ (tie_output) or h·W_out + b_out    [B*S, V]
// Data: src = x_0 .. x_{n-1} and tgt_out = x_1 .. x_n (the loader shifts; src_len == tgt_len); the
// loss is the mean cross-entropy over non-pad tgt_out. tgt_in is not used.
//
// Parameters: embed.weight [V, d], pos.weight [max_len, d] (learned positions only),
// layers.<i>.* (encoder_layer with causal self-attention), ln_f.* (pre-LN), out.* without tie_output.
#include <memory>
#include <optional>

#include "core/error.h"
#include "core/recompute.h"
#include "models/common.h"
#include "nn/embedding.h"
#include "nn/encoder_layer.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/positional.h"
#include "text/special_tokens.h"

namespace attn::models_detail {
namespace {

class lm_model : public model {
 public:
  lm_model(const model_config& c, rng& gen) : cfg_(c) {
    if (c.src_vocab == 0) throw error("lm: src_vocab must be set");
    if (c.layers == 0) throw error("lm: layers must be at least 1");
    const std::size_t d = c.d_model;
    const nn::positional pk = nn::parse_positional(c.pos_encoding);
    scale_ = pk == nn::positional::sinusoidal || pk == nn::positional::hyperbolic;
    embed_ = nn::embedding(params_, "embed", c.src_vocab, d, gen);
    pos_ = nn::positional_encoding(params_, "pos", pk, c.max_len, d, gen);
    nn::block_config bc = block_settings(c);
    bc.causal = true;
    for (std::size_t i = 0; i < c.layers; ++i) layers_.emplace_back(params_, "layers." + std::to_string(i), bc, gen);
    pre_ = bc.norm == nn::norm_position::pre;
    if (pre_) ln_f_ = nn::layer_norm(params_, "ln_f", d);
    if (!c.tie_output) {
      out_ = nn::linear(params_, "out", d, c.src_vocab, gen);
      out_.weight().adaptable = false;  // trained through the fused output loss: no LoRA
    }
    drop_.p = c.dropout;
  }

  const model_config& config() const override { return cfg_; }
  void set_recompute(bool on) override { recompute_ = on; }

  loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing) override {
    check(b);
    rows_ = packing_if_padded(b.size, b.src_len, b.src_lengths);  // a short last window; the others are full
    const row_packing* packed = rows_ ? &*rows_ : nullptr;
    var h = hidden(t, b.src, b.size, b.src_len, 0, b.src_lengths, gen, nullptr, packed);  // [n, d] when packed
    const std::vector<std::int32_t> packed_targets =
        packed ? pack_ids(b.tgt_out, *packed, pad_id) : std::vector<std::int32_t>{};
    const std::vector<std::int32_t>& targets = packed ? packed_targets : b.tgt_out;
    if (cfg_.tie_output) return output_token_loss(h, embed_.weight(), nullptr, true, targets, pad_id, label_smoothing);
    return output_token_loss(h, out_.weight(), out_.bias(), false, targets, pad_id, label_smoothing);
  }

  matrix log_probs(tape& t, const batch& b) override {
    check_batch(b, false, "lm");
    no_grad ng(t);
    rng unused(0);
    return log_softmax_rows(forward(t, b.src, b.size, b.src_len, 0, b.src_lengths, unused, nullptr).value());
  }

  std::vector<attention_map> attention_maps(tape& t, const batch& b) override {
    check_batch(b, false, "lm");
    return encoder_stack_maps(layers_, "layers.", b.src_len, [&] {
      no_grad ng(t);
      rng unused(0);
      forward(t, b.src, b.size, b.src_len, 0, b.src_lengths, unused, nullptr);
    });
  }

  void start_decoding(tape&, const batch& b) override {
    const std::size_t rows = expected_rows_, steps = expected_steps_;  // the hint is for this search only
    expected_rows_ = expected_steps_ = 0;
    if (b.size == 0) throw error("lm batch: empty batch");
    if (b.src.size() != b.size * b.src_len) throw error("lm batch: src does not have size x src_len ids");
    for (std::int32_t len : b.src_lengths)
      if (static_cast<std::size_t>(len) != b.src_len)
        throw error("lm: the prompts of one decoding batch must have equal lengths (decode them in separate batches)");
    batch_ = b.size;
    prompt_ = b.src;
    prompt_len_ = b.src_len;
    caches_.resize(layers_.size());  // emptied, their storage kept from earlier batches
    for (nn::kv_cache& c : caches_) {
      if (c.precision() != kv_precision_) c.set_precision(kv_precision_);
      c.clear();
      // the first step's <bos> and prompt, then a position per step
      c.expect(batch_ * rows, steps > 0 ? prompt_len_ + steps : 0);
    }
    pos_index_ = 0;
  }

  void expect_decoding(std::size_t rows_per_item, std::size_t steps) override {
    expected_rows_ = rows_per_item;
    expected_steps_ = steps;
  }

  // last_tokens [B] (first call: last_tokens then the prompt) -> log-probs [B, V] after the last fed token
  matrix decode_step(tape& t, const std::vector<std::int32_t>& last_tokens) override {
    return log_softmax_rows(decode_step_logits(t, last_tokens));
  }

  // last_tokens [B] -> logits [B, V], as decode_step
  matrix decode_step_logits(tape& t, const std::vector<std::int32_t>& last_tokens) override {
    if (caches_.empty()) throw error("lm: decode_step before start_decoding");
    if (last_tokens.size() != batch_) throw error("lm: decode_step needs one token per batch item");
    no_grad ng(t);
    rng unused(0);
    std::vector<std::int32_t> ids = last_tokens;
    std::size_t n = 1;
    if (pos_index_ == 0 && prompt_len_ > 0) {  // [B*(1+P)]: last token then the prompt, per item
      n = 1 + prompt_len_;
      ids.assign(batch_ * n, pad_id);  // every entry is set below
      for (std::size_t b = 0; b < batch_; ++b) {
        ids[b * n] = last_tokens[b];
        for (std::size_t j = 0; j < prompt_len_; ++j) ids[b * n + 1 + j] = prompt_[b * prompt_len_ + j];
      }
    }
    if (pos_index_ + n > cfg_.max_len && pos_.kind() == nn::positional::learned)
      throw error("lm: sequence longer than max_len = " + std::to_string(cfg_.max_len));
    var logits = forward(t, ids, batch_, n, pos_index_, {}, unused, &caches_);
    pos_index_ += n;
    // only each item's last row: [B*n, V] -> [B, V]
    std::vector<std::int32_t> last(batch_);
    for (std::size_t b = 0; b < batch_; ++b) last[b] = static_cast<std::int32_t>(b * n + n - 1);
    return t.take_value(n == 1 ? logits : gather_rows(logits, last));  // no copy of [B, V]
  }

  bool set_kv_precision(nn::kv_precision p) override {
    kv_precision_ = p;
    return true;
  }

  void reorder_decoding(const std::vector<std::int32_t>& order) override {
    prompt_ = reorder_prompt(order);  // validates order
    for (nn::kv_cache& c : caches_)
      if (!c.empty()) c.reorder(order);
    batch_ = order.size();
  }

 private:
  std::vector<std::int32_t> reorder_prompt(const std::vector<std::int32_t>& order) const {
    std::vector<std::int32_t> out;
    for (std::int32_t i : order) {
      if (i < 0 || static_cast<std::size_t>(i) >= batch_) throw error("reorder_decoding: item outside the batch");
      out.insert(out.end(), prompt_.begin() + i * static_cast<std::ptrdiff_t>(prompt_len_),
                 prompt_.begin() + (i + 1) * static_cast<std::ptrdiff_t>(prompt_len_));
    }
    return out;
  }

  void check(const batch& b) const {
    check_batch(b, false, "lm");
    if (b.tgt_out.size() != b.src.size()) throw error("lm batch: tgt_out must be src shifted by one (same size)");
  }

  // ids [B*T] at positions offset.. -> the last layer's output [B*T, d] (after the final norm), or
  // its valid rows [n, d] as packed by `packed` (no caches then; it must live until the backward
  // pass, which runs recomputed blocks again)
  var hidden(tape& t, const std::vector<std::int32_t>& ids, std::size_t B, std::size_t T, std::size_t offset,
             const std::vector<std::int32_t>& lengths, rng& gen, std::vector<nn::kv_cache>* caches,
             const row_packing* packed = nullptr) {
    var x = pos_.forward(embed_.forward(t, ids, scale_), B, T, offset);
    x = drop_.forward(packed ? pack_rows(x, *packed) : x, gen);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      nn::encoder_layer& l = layers_[i];
      if (recompute_ && !caches) {
        x = attn::recompute({x}, gen, [&l, B, T, &lengths, packed](const std::vector<var>& in, rng& g) {
          return l.forward(in[0], B, T, lengths, g, nullptr, packed);
        });
      } else {
        x = l.forward(x, B, T, lengths, gen, caches ? &(*caches)[i] : nullptr, packed);
      }
    }
    return pre_ ? ln_f_.forward(x) : x;
  }

  // ids [B*T] at positions offset.. -> logits [B*T, V]
  var forward(tape& t, const std::vector<std::int32_t>& ids, std::size_t B, std::size_t T, std::size_t offset,
              const std::vector<std::int32_t>& lengths, rng& gen, std::vector<nn::kv_cache>* caches) {
    var x = hidden(t, ids, B, T, offset, lengths, gen, caches);
    if (cfg_.tie_output) return matmul(x, t.param(embed_.weight()), false, true);
    return out_.forward(x);
  }

  model_config cfg_;
  bool scale_ = false, pre_ = true;
  nn::embedding embed_;
  nn::positional_encoding pos_;
  std::vector<nn::encoder_layer> layers_;
  nn::layer_norm ln_f_;
  nn::linear out_;
  nn::dropout drop_;
  // decoding state
  std::size_t batch_ = 0, prompt_len_ = 0, pos_index_ = 0;
  std::size_t expected_rows_ = 0, expected_steps_ = 0;  // expect_decoding(), until start_decoding
  std::vector<std::int32_t> prompt_;
  std::vector<nn::kv_cache> caches_;
  nn::kv_precision kv_precision_ = nn::kv_precision::f32;
  std::optional<row_packing> rows_;  // the packing of the batch in flight (loss), for the backward pass
};

}  // namespace

std::unique_ptr<model> make_lm(const model_config& c, rng& gen) {
  return std::make_unique<lm_model>(c, gen);
}

}  // namespace attn::models_detail
