// The table of model families: {name, factory, one-line summary}. Adding a family = one file
// with its factory plus one row here.
#include <iterator>

#include "core/error.h"
#include "core/text_codec.h"
#include "models/common.h"
#include "models/model.h"

namespace attn {
namespace {

struct family_entry {
  const char* name;
  std::unique_ptr<model> (*make)(const model_config&, rng&);
  const char* summary;
};

const family_entry families[] = {
    {"transformer", models_detail::make_transformer,
     "encoder-decoder Transformer (Vaswani et al.): self-, masked self- and cross-attention"},
    {"rnn", models_detail::make_rnn, "LSTM encoder-decoder with additive (Bahdanau) or dot/general (Luong) attention"},
    {"lm", models_detail::make_lm, "decoder-only Transformer language model (GPT style)"},
    {"classifier", models_detail::make_classifier, "Transformer encoder + pooling + linear head over classes"},
};

}  // namespace

std::unique_ptr<model> make_model(const model_config& cfg, rng& gen) {
  for (const family_entry& f : families)
    if (cfg.family == f.name) return f.make(cfg, gen);
  std::vector<std::string> known;
  for (const family_entry& f : families) known.push_back(f.name);
  throw error(unknown_name_message("model family", cfg.family, known));
}

std::vector<std::string> model_families() {
  std::vector<std::string> names;
  for (const family_entry& f : families) names.push_back(f.name);
  return names;
}

std::vector<std::pair<std::string, std::string>> model_family_summaries() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const family_entry& f : families) out.emplace_back(f.name, f.summary);
  return out;
}

}  // namespace attn
