#include "nn/additive_attention.h"

#include "core/error.h"
#include "core/init.h"

namespace attn::nn {

additive_attention::additive_attention(parameter_store& store, const std::string& prefix, std::size_t d_query,
                                       std::size_t d_key, std::size_t d_attn, rng& gen)
    : keys_(store, prefix + ".keys", d_key, d_attn, gen, /*bias=*/false),
      query_(store, prefix + ".query", d_query, d_attn, gen) {
  v_ = &store.add(prefix + ".v", 1, d_attn);
  init_xavier_uniform(v_->value, gen);
}

// memory [B*Tk, dk] -> {W₁x [B*Tk, a], x}
additive_attention::keys additive_attention::precompute_keys(var memory, std::size_t batch, std::size_t k_len,
                                                             const std::vector<std::int32_t>& lengths, rng* gen) const {
  if (memory.rows() != batch * k_len) throw error("additive attention: memory rows do not match batch x length");
  return keys{keys_.forward(memory, gen), memory, batch, k_len, lengths};
}

// query [B*Tq, dq] -> [B*Tq, dk]
var additive_attention::attend(const keys& k, var query, attention_weights* keep, rng* gen) const {
  if (k.batch == 0 || query.rows() % k.batch != 0)
    throw error("additive attention: query rows are not a multiple of the batch");
  attention_shape s;
  s.batch = k.batch;
  s.q_len = query.rows() / k.batch;
  s.k_len = k.k_len;
  s.heads = 1;
  s.k_lengths = k.lengths;
  return attn::additive_attention(query_.forward(query, gen), k.projected, query.t->param(*v_), k.values, s, keep);
}

}  // namespace attn::nn
