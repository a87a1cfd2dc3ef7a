#include "nn/multi_head_attention.h"

#include "core/error.h"
#include "core/init.h"

namespace attn::nn {

attention_scoring parse_scoring(const std::string& name) {
  if (name == "scaled_dot") return attention_scoring::scaled_dot;
  if (name == "dot") return attention_scoring::dot;
  if (name == "general") return attention_scoring::general;
  if (name == "additive") return attention_scoring::additive;
  throw error("unknown attention scoring '" + name + "' (choose scaled_dot, dot, general or additive)");
}

const char* scoring_name(attention_scoring s) {
  switch (s) {
    case attention_scoring::scaled_dot: return "scaled_dot";
    case attention_scoring::dot: return "dot";
    case attention_scoring::general: return "general";
    case attention_scoring::additive: return "additive";
  }
  return "?";
}

multi_head_attention::multi_head_attention(parameter_store& store, const std::string& prefix,
                                           const attention_config& cfg, rng& gen)
    : cfg_(cfg) {
  const std::size_t d = cfg_.d_model;
  if (d == 0 || cfg_.heads == 0 || d % cfg_.heads != 0)
    throw error(prefix + ": d_model " + std::to_string(d) + " is not divisible by " + std::to_string(cfg_.heads) +
                " heads");
  if (cfg_.scoring == attention_scoring::additive && cfg_.heads != 1)
    throw error(prefix + ": additive attention has a single head (got " + std::to_string(cfg_.heads) + ")");
  if (cfg_.rope && (cfg_.cross || (d / cfg_.heads) % 2 != 0))
    throw error(prefix + ": rope needs self-attention and an even head width");
  if (cfg_.d_memory == 0) cfg_.d_memory = d;
  if (!cfg_.cross) {
    qkv_ = linear(store, prefix + ".qkv", d, 3 * d, gen);
  } else {
    q_ = linear(store, prefix + ".q", d, d, gen);
    kv_ = linear(store, prefix + ".kv", cfg_.d_memory, 2 * d, gen);
  }
  if (cfg_.scoring == attention_scoring::general) {
    general_ = &store.add(prefix + ".general.weight", d, d);
    init_xavier_uniform(general_->value, gen);
  }
  if (cfg_.scoring == attention_scoring::additive) {
    score_v_ = &store.add(prefix + ".v", 1, d);
    init_xavier_uniform(score_v_->value, gen);
  }
  out_ = linear(store, prefix + ".out", d, d, gen);
}

namespace {

// Additive scoring reads a batch item's keys as one run of rows; a decoding cache of several pages
// per item (a self-attention cache past its first 16 positions) is gathered into that layout:
// k, v [B*k_len, d], and s without its K/V items. Decoding only (a cache takes no gradients).
void gather_pages(var& k, var& v, attention_shape& s) {
  if (s.batch == 0 || s.k_items.size() <= s.batch) return;  // one item per batch item: read in place
  const std::size_t n = s.k_items.size() / s.batch, R = s.k_item_rows == 0 ? s.k_len : s.k_item_rows;
  std::vector<std::int32_t> rows(s.batch * s.k_len);
  for (std::size_t b = 0; b < s.batch; ++b)
    for (std::size_t j = 0; j < s.k_len; ++j)
      rows[b * s.k_len + j] = static_cast<std::int32_t>(static_cast<std::size_t>(s.k_items[b * n + j / R]) * R + j % R);
  k = gather_rows(k, rows);
  v = gather_rows(v, rows);
  s.k_items.clear();
  s.k_item_rows = 0;
}

}  // namespace

// q [B*Tq, d], k [B*Tk, d], v [B*Tk, d] -> [B*Tq, d] (packed: [n, d]); with a cache, k and v are
// unused and the keys are the cache's (its layout filled into s)
var multi_head_attention::attend(var q, var k, var v, const attention_shape& s, rng* gen, const row_packing* packed,
                                 kv_cache* cache) {
  attention_weights* keep = keep_ ? &weights_ : nullptr;
  var ctx;
  switch (cfg_.scoring) {
    case attention_scoring::additive: {
      attention_shape one_run = s;
      if (cache) {
        k = cache->k_var(*q.t);
        v = cache->v_var(*q.t);
        cache->describe_keys(one_run);
      }
      gather_pages(k, v, one_run);
      ctx = attn::additive_attention(q, k, q.t->param(*score_v_), v, one_run, keep);
      break;
    }
    case attention_scoring::scaled_dot:
    case attention_scoring::dot:
    case attention_scoring::general: {
      const scoring sc = cfg_.scoring == attention_scoring::scaled_dot ? scoring::scaled_dot : scoring::dot;
      ctx = cache ? cache->attend(q, s, sc, keep) : attn::attention(q, k, v, s, sc, keep);
      break;
    }
  }
  return out_.forward(packed ? pack_rows(ctx, *packed) : ctx, gen);
}

// x [B*T, d] -> [B*T, d]
var multi_head_attention::forward_self(var x, std::size_t batch, std::size_t time,
                                       const std::vector<std::int32_t>& lengths, kv_cache* cache, rng* gen,
                                       const row_packing* packed) {
  if (cfg_.cross) throw error("forward_self called on a cross-attention layer");
  if (packed && cache) throw error("forward_self: packed rows with a KV cache");
  tape& t = *x.t;
  const std::size_t d = cfg_.d_model;
  var fused = qkv_.forward(x, gen);                             // [B*T, 3d] (packed: [n, 3d])
  std::vector<var> qkv = split_cols(fused, {d, d, d}, packed);  // -> 3 x [B*T, d]
  t.discard(fused);  // only copied out of: neither linear's nor split_cols' backward pass reads it
  var q = qkv[0], k = qkv[1], v = qkv[2];
  const std::size_t offset = cache ? cache->len() : 0;
  if (cfg_.rope) {
    q = rope(q, batch, time, cfg_.heads, offset);
    k = rope(k, batch, time, cfg_.heads, offset);
  }
  if (general_) k = matmul(k, t.param(*general_));
  attention_shape s;
  s.k_len = time;
  if (cache) cache->append(k.value(), v.value(), batch, time);  // keys: every cached position, read in place
  s.batch = batch;
  s.q_len = time;
  s.heads = cfg_.heads;
  s.causal = cfg_.causal;
  s.k_lengths = lengths;
  return attend(q, k, v, s, gen, packed, cache);
}

// x [B*Tq, d], memory [B*Tk, dm] -> [B*Tq, d]
var multi_head_attention::forward_cross(var x, std::size_t batch, std::size_t q_len, var memory, std::size_t k_len,
                                        const std::vector<std::int32_t>& mem_lengths, kv_cache* cache, rng* gen,
                                        const row_packing* packed, const row_packing* mem_packed) {
  if (!cfg_.cross) throw error("forward_cross called on a self-attention layer");
  if ((packed || mem_packed) && cache) throw error("forward_cross: packed rows with a KV cache");
  tape& t = *x.t;
  const std::size_t d = cfg_.d_model;
  var q = q_.forward(x, gen);  // [B*Tq, d] (packed: [n, d])
  if (packed) {
    var full = unpack_rows(q, *packed);  // [B*Tq, d]
    t.discard(q);  // only copied out of (as the fused projections below)
    q = full;
  }
  var k, v;
  attention_shape s;
  s.k_len = k_len;
  if (!cache || cache->empty()) {
    var fused = kv_.forward(memory, gen);                         // [B*Tk, 2d] (packed: [n_mem, 2d])
    std::vector<var> kv = split_cols(fused, {d, d}, mem_packed);  // -> 2 x [B*Tk, d]
    t.discard(fused);  // only copied out of (as in forward_self)
    k = kv[0];
    v = kv[1];
    if (general_) k = matmul(k, t.param(*general_));
    if (cache) cache->append(k.value(), v.value(), batch, k_len);  // reused from the next call on
  }
  // with a cache: read in place; beams of one sentence share its K/V (the cache's K/V layout)
  s.batch = batch;
  s.q_len = q_len;
  s.heads = cfg_.heads;
  s.causal = false;
  s.k_lengths = mem_lengths;
  return attend(q, k, v, s, gen, packed, cache);
}

}  // namespace attn::nn
