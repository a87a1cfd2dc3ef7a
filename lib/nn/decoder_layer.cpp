#include "nn/decoder_layer.h"

namespace attn::nn {

decoder_layer::decoder_layer(parameter_store& store, const std::string& prefix, const block_config& cfg, rng& gen)
    : cfg_(cfg), drop_{cfg.dropout} {
  const std::size_t d = cfg.d_model;
  attention_config self_cfg;
  self_cfg.d_model = d;
  self_cfg.heads = cfg.heads;
  self_cfg.scoring = cfg.scoring;
  self_cfg.causal = true;
  self_cfg.rope = cfg.rope;
  self_attn_ = multi_head_attention(store, prefix + ".self_attn", self_cfg, gen);
  ln1_ = layer_norm(store, prefix + ".ln1", d);
  if (cfg.combine == combine_mode::concat) self_combine_ = linear(store, prefix + ".self_combine", 2 * d, d, gen);

  attention_config cross_cfg;
  cross_cfg.d_model = d;
  cross_cfg.heads = cfg.heads;
  cross_cfg.scoring = cfg.scoring;
  cross_cfg.cross = true;
  cross_cfg.d_memory = cfg.d_memory;
  cross_attn_ = multi_head_attention(store, prefix + ".cross_attn", cross_cfg, gen);
  ln2_ = layer_norm(store, prefix + ".ln2", d);
  if (cfg.combine == combine_mode::concat) cross_combine_ = linear(store, prefix + ".cross_combine", 2 * d, d, gen);

  ff_ = feed_forward(store, prefix + ".ff", d, cfg.d_ff, cfg.act, cfg.dropout, gen);
  ln3_ = layer_norm(store, prefix + ".ln3", d);
}

// x [B*T, d], memory [B*S, dm] -> [B*T, d] (packed: x and the result [n, d], memory [n_mem, dm])
var decoder_layer::forward(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths,
                           var memory, std::size_t mem_time, const std::vector<std::int32_t>& mem_lengths, rng& gen,
                           decoder_cache* cache, const row_packing* packed, const row_packing* mem_packed) {
  const bool pre = cfg_.norm == norm_position::pre;
  var a = self_attn_.forward_self(pre ? ln1_.forward(x) : x, batch, time, lengths, cache ? &cache->self : nullptr, &gen,
                                  packed);
  x = combine_sublayer(x, a, cfg_.combine, self_combine_, drop_, gen);
  if (!pre) x = ln1_.forward(x);

  var c = cross_attn_.forward_cross(pre ? ln2_.forward(x) : x, batch, time, memory, mem_time, mem_lengths,
                                    cache ? &cache->cross : nullptr, &gen, packed, mem_packed);
  x = combine_sublayer(x, c, cfg_.combine, cross_combine_, drop_, gen);
  if (!pre) x = ln2_.forward(x);

  var f = ff_.forward(pre ? ln3_.forward(x) : x, gen);
  x = drop_.add_to(x, f, gen);
  x.t->discard(f);  // read by nothing after the sum (see combine_sublayer)
  if (!pre) x = ln3_.forward(x);
  return x;
}

}  // namespace attn::nn
