#pragma once
// A loaded_model of each family with random weights and a letter vocabulary, for the tests of
// translate() and attend() (what `attn decode` / `attn attention` run on a checkpoint).
#include <memory>
#include <string>

#include "models/loaded_model.h"
#include "models/model_helpers.h"
#include "text/tokenizer.h"
#include "text/vocab_builder.h"

namespace attn::decode_testing {

// A character vocabulary over a..g (and the specials).
inline std::unique_ptr<tokenizer> letters() {
  vocab_options o;
  o.kind = tokenizer_kind::char_level;
  o.size = 100;
  vocab_builder b(o);
  b.add("abcdefg");
  return make_tokenizer(b.build());
}

// family's tiny random model (2 layers of 2 heads; max_len 10); a classifier has labels x, y, z.
inline loaded_model random_model(const std::string& family, std::uint64_t seed = 5) {
  loaded_model m;
  m.src = letters();
  model_config c = models_testing::tiny_config(family);
  c.layers = 2;
  c.max_len = 10;
  c.src_vocab = c.tgt_vocab = m.src->size();
  rng gen(seed);
  m.net = make_model(c, gen);
  if (family == "classifier") m.labels = {"x", "y", "z"};
  return m;
}

}  // namespace attn::decode_testing
