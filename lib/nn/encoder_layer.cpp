#include "nn/encoder_layer.h"

#include "core/error.h"

namespace attn::nn {

norm_position parse_norm_position(const std::string& name) {
  if (name == "pre") return norm_position::pre;
  if (name == "post") return norm_position::post;
  throw error("unknown norm position '" + name + "' (choose pre or post)");
}

combine_mode parse_combine(const std::string& name) {
  if (name == "residual") return combine_mode::residual;
  if (name == "concat") return combine_mode::concat;
  throw error("unknown combine mode '" + name + "' (choose residual or concat)");
}

// x [N, d], a [N, d] -> x + drop(a), or [drop(a) ; x]·W_c + b_c. In residual mode nothing reads
// the sublayer's output a after the sum (add_dropout's backward pass reads neither operand), so its
// buffer goes back to the tape at once.
var combine_sublayer(var x, var a, combine_mode mode, const linear& combine, const dropout& drop, rng& gen) {
  if (mode == combine_mode::residual) {
    var y = drop.add_to(x, a, gen);
    a.t->discard(a);
    return y;
  }
  return combine.forward(concat_cols({drop.forward(a, gen), x}), &gen);  // [N, 2d] -> [N, d]
}

encoder_layer::encoder_layer(parameter_store& store, const std::string& prefix, const block_config& cfg, rng& gen)
    : cfg_(cfg), drop_{cfg.dropout} {
  attention_config ac;
  ac.d_model = cfg.d_model;
  ac.heads = cfg.heads;
  ac.scoring = cfg.scoring;
  ac.causal = cfg.causal;
  ac.rope = cfg.rope;
  attn_ = multi_head_attention(store, prefix + ".attn", ac, gen);
  ln1_ = layer_norm(store, prefix + ".ln1", cfg.d_model);
  if (cfg.combine == combine_mode::concat) combine_ = linear(store, prefix + ".combine", 2 * cfg.d_model, cfg.d_model, gen);
  ff_ = feed_forward(store, prefix + ".ff", cfg.d_model, cfg.d_ff, cfg.act, cfg.dropout, gen);
  ln2_ = layer_norm(store, prefix + ".ln2", cfg.d_model);
}

// x [B*T, d] -> [B*T, d] (packed: [n, d] -> [n, d])
var encoder_layer::forward(var x, std::size_t batch, std::size_t time, const std::vector<std::int32_t>& lengths,
                           rng& gen, kv_cache* cache, const row_packing* packed) {
  const bool pre = cfg_.norm == norm_position::pre;
  // self-attention sublayer
  var a = attn_.forward_self(pre ? ln1_.forward(x) : x, batch, time, lengths, cache, &gen, packed);
  x = combine_sublayer(x, a, cfg_.combine, combine_, drop_, gen);
  if (!pre) x = ln1_.forward(x);
  // feed-forward sublayer (always residual)
  var f = ff_.forward(pre ? ln2_.forward(x) : x, gen);
  x = drop_.add_to(x, f, gen);
  x.t->discard(f);  // read by nothing after the sum (see combine_sublayer)
  if (!pre) x = ln2_.forward(x);
  return x;
}

}  // namespace attn::nn
