// Transformer encoder classifier.
//
//   src ids [B*S] -> E[src]·(√d with sinusoidal/hyperbolic) + PE -> dropout -> N × encoder_layer
//     -> (pre-LN: encoder.ln) = h [B*S, d]
//   pooled = mean over each item's first src_lengths[b] rows (pooling = mean) or row b*S (first)  [B, d]
//   logits = dropout(pooled)·W_head + b_head   [B, C]; loss = mean cross-entropy against labels.
//
// Parameters: embed.weight [V, d], pos.weight (learned only), encoder.layers.<i>.*, encoder.ln.*,
// head.weight [d, C], head.bias.
#include <memory>
#include <optional>

#include "core/error.h"
#include "models/common.h"
#include "nn/embedding.h"
#include "nn/encoder_layer.h"
#include "nn/layer_norm.h"
#include "nn/linear.h"
#include "nn/positional.h"

namespace attn::models_detail {
namespace {

class classifier_model : public model {
 public:
  classifier_model(const model_config& c, rng& gen) : cfg_(c) {
    if (c.src_vocab == 0) throw error("classifier: src_vocab must be set");
    if (c.num_classes < 2) throw error("classifier: num_classes must be at least 2");
    if (c.pooling != "mean" && c.pooling != "first") throw error("classifier: pooling must be mean or first");
    const std::size_t d = c.d_model;
    const nn::positional pk = nn::parse_positional(c.pos_encoding);
    scale_ = pk == nn::positional::sinusoidal || pk == nn::positional::hyperbolic;
    embed_ = nn::embedding(params_, "embed", c.src_vocab, d, gen);
    pos_ = nn::positional_encoding(params_, "pos", pk, c.max_len, d, gen);
    nn::block_config bc = block_settings(c);
    for (std::size_t i = 0; i < c.layers; ++i)
      layers_.emplace_back(params_, "encoder.layers." + std::to_string(i), bc, gen);
    pre_ = bc.norm == nn::norm_position::pre;
    if (pre_) ln_ = nn::layer_norm(params_, "encoder.ln", d);
    head_ = nn::linear(params_, "head", d, c.num_classes, gen);
    drop_.p = c.dropout;
  }

  const model_config& config() const override { return cfg_; }
  void set_recompute(bool on) override { recompute_ = on; }

  loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing) override {
    check_batch(b, false, "classifier");
    if (b.labels.size() != b.size) throw error("classifier batch: needs one label per item");
    for (std::int32_t l : b.labels)
      if (l < 0 || static_cast<std::size_t>(l) >= cfg_.num_classes)
        throw error("classifier batch: label " + std::to_string(l) + " outside [0, " +
                    std::to_string(cfg_.num_classes) + ")");
    var logits = forward(t, b, gen);
    loss_result r;
    r.loss = softmax_cross_entropy(logits, b.labels, -1, label_smoothing, &r.tokens);
    r.correct = count_correct(logits.value(), b.labels, -1);
    return r;
  }

  matrix classify(tape& t, const batch& b) override {
    check_batch(b, false, "classifier");
    no_grad ng(t);
    rng unused(0);
    return log_softmax_rows(forward(t, b, unused).value());
  }

  std::vector<attention_map> attention_maps(tape& t, const batch& b) override {
    check_batch(b, false, "classifier");
    return encoder_stack_maps(layers_, "encoder.layers.", b.src_len, [&] {
      no_grad ng(t);
      rng unused(0);
      forward(t, b, unused);
    });
  }

  void start_decoding(tape&, const batch&) override { throw error("a classifier does not generate text"); }
  matrix decode_step(tape&, const std::vector<std::int32_t>&) override {
    throw error("a classifier does not generate text");
  }

 private:
  // -> logits [B, C]
  // The layers skip the padding when it is worth it (packed rows, models/common.h); the packing is
  // a member because recomputed blocks run again in the backward pass.
  var forward(tape& t, const batch& b, rng& gen) {
    rows_ = packing_if_padded(b.size, b.src_len, b.src_lengths);
    const row_packing* packed = rows_ ? &*rows_ : nullptr;
    var x = pos_.forward(embed_.forward(t, b.src, scale_), b.size, b.src_len);
    x = drop_.forward(packed ? pack_rows(x, *packed) : x, gen);
    x = run_encoder_layers(layers_, x, b.size, b.src_len, b.src_lengths, gen, recompute_, packed);
    if (pre_) x = ln_.forward(x);
    if (packed) x = unpack_rows(x, *packed);  // [B*T, d] for the pooling
    var pooled;
    if (cfg_.pooling == "mean") {
      pooled = mean_pool(x, b.size, b.src_len, lengths_or_full(b.src_lengths, b.size, b.src_len));
    } else {
      std::vector<std::int32_t> first(b.size);
      for (std::size_t i = 0; i < b.size; ++i) first[i] = static_cast<std::int32_t>(i * b.src_len);
      pooled = gather_rows(x, first);
    }
    return head_.forward(drop_.forward(pooled, gen), &gen);
  }

  model_config cfg_;
  bool scale_ = false, pre_ = true;
  nn::embedding embed_;
  nn::positional_encoding pos_;
  std::vector<nn::encoder_layer> layers_;
  nn::layer_norm ln_;
  nn::linear head_;
  nn::dropout drop_;
  std::optional<row_packing> rows_;  // the packing of the batch in flight
};

}  // namespace

std::unique_ptr<model> make_classifier(const model_config& c, rng& gen) {
  return std::make_unique<classifier_model>(c, gen);
}

}  // namespace attn::models_detail
