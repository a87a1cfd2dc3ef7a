#pragma once
// Helpers shared by the model families (internal to lib/models).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/ops.h"
#include "models/model.h"
#include "nn/block_config.h"
#include "nn/encoder_layer.h"
#include "nn/multi_head_attention.h"

namespace attn::models_detail {

// Block settings of the Transformer families from the model config (d_model, heads, ff, activation,
// dropout, norm, combine, attention scoring; rope when pos_encoding = rope).
nn::block_config block_settings(const model_config& c);
// "scaled-dot" | "scaled_dot" | "dot" | "general" | "additive"
nn::attention_scoring scoring_of(const std::string& attention);

// Row-wise log-softmax of logits [N, V] -> [N, V].
matrix log_softmax_rows(const matrix& logits);
// The same in logits' own buffer (a decoding step's, moved out of the tape): no second [rows, V].
matrix log_softmax_rows(matrix&& logits);
// Rows whose target is not pad_id and whose argmax logit equals the target. logits [N, V], targets N.
std::size_t count_correct(const matrix& logits, const std::vector<std::int32_t>& targets, std::int32_t pad_id);
// Mean cross-entropy of logits [N,V] against targets (pad rows skipped), with token count and accuracy.
loss_result token_loss(var logits, const std::vector<std::int32_t>& targets, std::int32_t pad_id, float label_smoothing);
// The same loss for the output layer applied to h [N,d], without a logits node
// (projected_cross_entropy): `weight` is a tied embedding [V,d] when `tied`, else the layer's
// [d,V] with its `bias` (may be null).
loss_result output_token_loss(var h, parameter& weight, parameter* bias, bool tied,
                              const std::vector<std::int32_t>& targets, std::int32_t pad_id, float label_smoothing);
// Checks a batch's vectors against its sizes; family names the model in the message.
void check_batch(const batch& b, bool needs_target, const char* family);
// Whole batch items of m [B*len, d] in the given order -> [order.size()*len, d]; out-of-range items throw.
matrix pick_items(const matrix& m, std::size_t batch, std::size_t len, const std::vector<std::int32_t>& order);
// v[order[0]], v[order[1]], ...
std::vector<std::int32_t> pick(const std::vector<std::int32_t>& v, const std::vector<std::int32_t>& order);

// lengths, or all `len` when empty.
// The ids of a padded batch's valid rows, in packed order (core/ops.h row_packing); throws when a
// row left out is not pad_id (lengths that disagree with the ids).
std::vector<std::int32_t> pack_ids(const std::vector<std::int32_t>& ids, const row_packing& p, std::int32_t pad_id);
std::vector<std::int32_t> lengths_or_full(const std::vector<std::int32_t>& lengths, std::size_t batch, std::size_t len);

// Turns keep_weights on for some attention modules for its lifetime (attention_maps).
class keeping_weights {
 public:
  explicit keeping_weights(std::vector<nn::multi_head_attention*> modules);
  ~keeping_weights();
  keeping_weights(const keeping_weights&) = delete;
  keeping_weights& operator=(const keeping_weights&) = delete;

 private:
  std::vector<nn::multi_head_attention*> modules_;
};

// The map of a module whose forward ran with keep_weights on (its last_weights).
attention_map map_of(const nn::multi_head_attention& a, std::string module, std::size_t layer, sequence_side queries,
                     sequence_side keys, std::size_t q_len, std::size_t k_len);

// Self-attention maps of a stack of encoder layers (queries and keys on the source side, length
// len), named <prefix><i>.attn; their weights are kept while `forward` runs the model.
std::vector<attention_map> encoder_stack_maps(std::vector<nn::encoder_layer>& layers, const std::string& prefix,
                                              std::size_t len, const std::function<void()>& forward);

// One factory per family (transformer.cpp, rnn.cpp, lm.cpp, classifier.cpp).
std::unique_ptr<model> make_transformer(const model_config& c, rng& gen);
std::unique_ptr<model> make_rnn(const model_config& c, rng& gen);
std::unique_ptr<model> make_lm(const model_config& c, rng& gen);
std::unique_ptr<model> make_classifier(const model_config& c, rng& gen);

// x [batch*time, d] through every encoder layer in order; with recompute, each layer as a block
// computed again in the backward pass (core/recompute.h, model::set_recompute). packed: x and the
// result hold only the valid rows [n, d] (see packing_if_padded).
var run_encoder_layers(std::vector<nn::encoder_layer>& layers, var x, std::size_t batch, std::size_t time,
                       const std::vector<std::int32_t>& lengths, rng& gen, bool recompute,
                       const row_packing* packed = nullptr);

// The packing of a padded batch's rows (core/ops.h) when its padding is worth skipping: at least
// 1/32 of the rows. A layer on packed rows runs its position-wise products on the valid rows only,
// at the cost of copying q/k/v out and the attention's output back once per attention (a few
// hundred bytes a row against ~1.5 MFLOP a row for a d=256, ff=1024 layer). Empty otherwise.
std::optional<row_packing> packing_if_padded(std::size_t batch, std::size_t time,
                                             const std::vector<std::int32_t>& lengths);

}  // namespace attn::models_detail
