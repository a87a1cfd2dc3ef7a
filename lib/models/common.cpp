#include "models/common.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"
#include "core/kernels.h"
#include "core/recompute.h"
#include "core/threads.h"

namespace attn {

matrix model::log_probs(tape&, const batch&) {
  throw error("the " + config().family + " model has no teacher-forced target distribution");
}

void model::reorder_decoding(const std::vector<std::int32_t>&) {
  throw error("the " + config().family + " model does not decode");
}

std::vector<attention_map> model::attention_maps(tape&, const batch&) {
  throw error("the " + config().family + " model exposes no attention weights");
}

void model::expect_decoding(std::size_t, std::size_t) {}

bool model::set_kv_precision(nn::kv_precision) {
  return false;
}

void model::keep_step_attention(bool keep, long) {
  if (keep) throw error("the " + config().family + " model has no cross-attention to align with");
}

const matrix& model::step_attention() const {
  static const matrix none = matrix::from_shape({0, 0});
  return none;
}

void model::set_recompute(bool on) {
  if (on) throw error("the " + config().family + " model has no Transformer blocks to recompute");
  recompute_ = false;
}

matrix model::classify(tape&, const batch&) {
  throw error("only a classifier classifies (this model is a " + config().family + ")");
}

}  // namespace attn

namespace attn::models_detail {

nn::attention_scoring scoring_of(const std::string& attention) {
  if (attention == "scaled-dot") return nn::attention_scoring::scaled_dot;
  return nn::parse_scoring(attention);
}

nn::block_config block_settings(const model_config& c) {
  nn::block_config b;
  b.d_model = c.d_model;
  b.heads = c.heads;
  b.d_ff = c.ff;
  b.act = nn::parse_activation(c.activation);
  b.dropout = c.dropout;
  b.norm = nn::parse_norm_position(c.norm);
  b.combine = nn::parse_combine(c.combine);
  b.scoring = scoring_of(c.attention);
  b.rope = c.pos_encoding == "rope";
  return b;
}

namespace {
// out [N, V] = logits [N, V] - max - log Σ exp(logits - max), per row (out may be logits)
void log_softmax_rows_into(const matrix& logits, matrix& out) {
  const std::size_t n = rows(logits), v = cols(logits);
  // Decoding calls this every step on [rows still running, vocab]: the rows go to the threads
  // (each row on one thread, the same bits whichever takes it), at least ~2^15 elements a chunk.
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(v, 1));
  parallel_for(n, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) kernels::log_softmax_row(v, logits.data() + i * v, out.data() + i * v);
  });
}
}  // namespace

matrix log_softmax_rows(const matrix& logits) {
  matrix out = matrix::from_shape({rows(logits), cols(logits)});
  log_softmax_rows_into(logits, out);
  return out;
}

matrix log_softmax_rows(matrix&& logits) {
  log_softmax_rows_into(logits, logits);
  return std::move(logits);
}

std::size_t count_correct(const matrix& logits, const std::vector<std::int32_t>& targets, std::int32_t pad_id) {
  const std::size_t v = cols(logits);
  std::size_t hits = 0;
  for (std::size_t i = 0; i < targets.size() && i < rows(logits); ++i) {
    if (targets[i] == pad_id) continue;
    const float* x = logits.data() + i * v;
    if (static_cast<std::int32_t>(kernels::argmax(v, x)) == targets[i]) ++hits;
  }
  return hits;
}

loss_result token_loss(var logits, const std::vector<std::int32_t>& targets, std::int32_t pad_id,
                       float label_smoothing) {
  loss_result r;
  r.loss = softmax_cross_entropy(logits, targets, pad_id, label_smoothing, &r.tokens);
  r.correct = count_correct(logits.value(), targets, pad_id);
  return r;
}

loss_result output_token_loss(var h, parameter& weight, parameter* bias, bool tied,
                              const std::vector<std::int32_t>& targets, std::int32_t pad_id, float label_smoothing) {
  tape& t = *h.t;
  loss_result r;
  r.loss = projected_cross_entropy(h, t.param(weight), bias ? t.param(*bias) : var{}, tied, targets, pad_id,
                                   label_smoothing, &r.tokens, &r.correct);
  return r;
}

void check_batch(const batch& b, bool needs_target, const char* family) {
  auto fail = [&](const std::string& what) { throw error(std::string(family) + " batch: " + what); };
  if (b.size == 0) fail("empty batch");
  if (b.src.size() != b.size * b.src_len)
    fail("src has " + std::to_string(b.src.size()) + " ids, expected size x src_len");
  if (!b.src_lengths.empty() && b.src_lengths.size() != b.size) fail("src_lengths does not have one entry per item");
  if (needs_target) {
    if (b.tgt_in.size() != b.size * b.tgt_len || b.tgt_out.size() != b.size * b.tgt_len)
      fail("tgt_in/tgt_out do not have size x tgt_len ids");
    if (!b.tgt_lengths.empty() && b.tgt_lengths.size() != b.size) fail("tgt_lengths does not have one entry per item");
  }
}

matrix pick_items(const matrix& m, std::size_t batch, std::size_t len, const std::vector<std::int32_t>& order) {
  const std::size_t d = cols(m), block = len * d;
  matrix out = matrix::from_shape({order.size() * len, d});
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (order[i] < 0 || static_cast<std::size_t>(order[i]) >= batch)
      throw error("reorder_decoding: item " + std::to_string(order[i]) + " outside the batch of " +
                  std::to_string(batch));
    std::copy_n(m.data() + static_cast<std::size_t>(order[i]) * block, block, out.data() + i * block);
  }
  return out;
}

std::vector<std::int32_t> pick(const std::vector<std::int32_t>& v, const std::vector<std::int32_t>& order) {
  std::vector<std::int32_t> out;
  for (std::int32_t i : order) out.push_back(v.at(static_cast<std::size_t>(i)));
  return out;
}

std::vector<std::int32_t> pack_ids(const std::vector<std::int32_t>& ids, const row_packing& p, std::int32_t pad_id) {
  if (ids.size() != p.batch * p.time)
    throw error("pack_ids: " + std::to_string(ids.size()) + " ids for a batch of " + std::to_string(p.batch) + " x " +
                std::to_string(p.time));
  std::vector<std::int32_t> out;
  out.reserve(p.rows());
  for (std::size_t b = 0; b < p.batch; ++b) {
    const std::size_t valid = static_cast<std::size_t>(p.offsets[b + 1] - p.offsets[b]);
    for (std::size_t i = 0; i < p.time; ++i) {
      const std::int32_t id = ids[b * p.time + i];
      if (i < valid)
        out.push_back(id);
      else if (id != pad_id)
        throw error("pack_ids: item " + std::to_string(b) + " has a token past its length " + std::to_string(valid));
    }
  }
  return out;
}

std::vector<std::int32_t> lengths_or_full(const std::vector<std::int32_t>& lengths, std::size_t batch,
                                          std::size_t len) {
  if (!lengths.empty()) return lengths;
  return std::vector<std::int32_t>(batch, static_cast<std::int32_t>(len));
}

keeping_weights::keeping_weights(std::vector<nn::multi_head_attention*> modules) : modules_(std::move(modules)) {
  for (auto* m : modules_) m->keep_weights(true);
}

keeping_weights::~keeping_weights() {
  for (auto* m : modules_) m->keep_weights(false);
}

attention_map map_of(const nn::multi_head_attention& a, std::string module, std::size_t layer, sequence_side queries,
                     sequence_side keys, std::size_t q_len, std::size_t k_len) {
  attention_map m;
  m.module = std::move(module);
  m.kind = a.config().cross ? "cross" : "self";
  m.layer = layer;
  m.heads = a.config().heads;
  m.queries = queries;
  m.keys = keys;
  m.q_len = q_len;
  m.k_len = k_len;
  m.weights = a.last_weights().w;
  return m;
}

std::vector<attention_map> encoder_stack_maps(std::vector<nn::encoder_layer>& layers, const std::string& prefix,
                                              std::size_t len, const std::function<void()>& forward) {
  std::vector<nn::multi_head_attention*> modules;
  for (nn::encoder_layer& l : layers) modules.push_back(&l.attention());
  {
    keeping_weights keep(modules);
    forward();
  }
  std::vector<attention_map> maps;
  for (std::size_t i = 0; i < layers.size(); ++i)
    maps.push_back(map_of(layers[i].attention(), prefix + std::to_string(i) + ".attn", i, sequence_side::source,
                          sequence_side::source, len, len));
  return maps;
}

var run_encoder_layers(std::vector<nn::encoder_layer>& layers, var x, std::size_t batch, std::size_t time,
                       const std::vector<std::int32_t>& lengths, rng& gen, bool recompute, const row_packing* packed) {
  for (nn::encoder_layer& l : layers) {
    if (recompute) {
      x = attn::recompute({x}, gen, [&l, batch, time, &lengths, packed](const std::vector<var>& in, rng& g) {
        return l.forward(in[0], batch, time, lengths, g, nullptr, packed);
      });
    } else {
      x = l.forward(x, batch, time, lengths, gen, nullptr, packed);
    }
  }
  return x;
}

std::optional<row_packing> packing_if_padded(std::size_t batch, std::size_t time,
                                             const std::vector<std::int32_t>& lengths) {
  row_packing p = pack_layout(batch, time, lengths);
  const std::size_t padding = batch * time - p.rows();
  if (padding == 0 || padding * 32 < batch * time) return std::nullopt;
  return p;
}

}  // namespace attn::models_detail
