#pragma once
// Hand-made attention maps for the viz tests: tokens that need escaping, two heads, two modules.
#include <string>
#include <vector>

#include "viz/attention_pictures.h"

namespace attn::viz_testing {

// A Tq x Tk map whose rows are distributions (row q puts most weight on key (q * 7) % Tk).
inline viz::picture_map make_map(const std::string& module, long head, std::vector<std::string> queries,
                                 std::vector<std::string> keys) {
  viz::picture_map m;
  m.module = module;
  m.kind = module.find("cross") != std::string::npos ? "cross" : "self";
  m.layer = module.find(".1.") != std::string::npos ? 1 : 0;
  m.head = head;
  m.heads = 2;
  m.query_tokens = std::move(queries);
  m.key_tokens = std::move(keys);
  const std::size_t Q = m.query_tokens.size(), K = m.key_tokens.size();
  m.weights.assign(Q * K, 0.5f / static_cast<float>(K));
  for (std::size_t q = 0; q < Q; ++q) m.weights[q * K + (q * 7 + static_cast<std::size_t>(head)) % K] += 0.5f;
  return m;
}

// Sentence 0: a cross-attention module with heads 0 and 1 (3 queries x 4 keys), then a
// self-attention module with head 0 (4 x 4); sentence 3: one map of 2 x 5.
inline std::vector<viz::sentence_pictures> sample_pictures() {
  const std::vector<std::string> src = {"<&\">", "▁b", "c'", "<eos>"}, tgt = {"x", "▁y", "<eos>"};
  std::vector<viz::sentence_pictures> s(2);
  s[0].sentence = 0;
  s[0].maps = {make_map("decoder.layers.0.cross_attn", 0, tgt, src),
               make_map("decoder.layers.0.cross_attn", 1, tgt, src), make_map("encoder.layers.1.attn", 0, src, src)};
  s[1].sentence = 3;
  s[1].maps = {make_map("decoder.layers.1.cross_attn", -1, {"p", "<eos>"}, {"a", "b", "c", "d", "<eos>"})};
  return s;
}

}  // namespace attn::viz_testing
