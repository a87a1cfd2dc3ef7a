#include "models/vocab_remap.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "text/special_tokens.h"
#include "text/tokenizer.h"

namespace attn {

namespace {

enum class role { src, tgt };
enum class token_axis { rows, columns };  // [V, d] embeddings; [d, V] output weight, [1, V] bias

struct vocabulary_tensor {
  const char* name;
  role r;
  token_axis axis;
};

// Every family's vocabulary-indexed tensors (vocab_remap.h); a family has a subset of them.
constexpr vocabulary_tensor vocabulary_tensors[] = {
    {"embed.weight", role::src, token_axis::rows},     {"src_embed.weight", role::src, token_axis::rows},
    {"tgt_embed.weight", role::tgt, token_axis::rows}, {"out.weight", role::tgt, token_axis::columns},
    {"out.bias", role::tgt, token_axis::columns},
};

const vocabulary_tensor* vocabulary_tensor_named(const std::string& name) {
  for (const vocabulary_tensor& t : vocabulary_tensors)
    if (name == t.name) return &t;
  return nullptr;
}

// Where each new token's row comes from: base ids (one for a kept token, its pieces for a new
// one, <unk> for the fallback); `kept` marks the rows copied bit for bit.
struct token_sources {
  std::vector<std::vector<std::int32_t>> ids;
  std::vector<bool> kept;
  vocab_remap_counts counts;
};

token_sources plan(const vocab& base, const vocab& next) {
  const std::unique_ptr<tokenizer> base_tok = make_tokenizer(base);
  token_sources s;
  s.ids.resize(next.size());
  s.kept.assign(next.size(), false);
  std::vector<bool> used(base.size(), false);
  std::vector<std::int32_t> pieces;
  for (std::size_t i = 0; i < next.size(); ++i) {
    const std::string& text = next.tokens[i];
    if (const std::int32_t id = base_tok->find(text); id >= 0) {
      s.ids[i] = {id};
      s.kept[i] = true;
      used[static_cast<std::size_t>(id)] = true;
      ++s.counts.kept;
      continue;
    }
    ++s.counts.added;
    pieces.clear();
    if (!next.is_special(static_cast<std::int32_t>(i))) base_tok->encode(text, pieces);
    for (std::int32_t p : pieces)
      if (p != unk_id) s.ids[i].push_back(p);
    if (s.ids[i].empty()) {
      s.ids[i] = {unk_id};
      ++s.counts.fallback;
    }
  }
  for (bool u : used) s.counts.dropped += !u;
  return s;
}

// new token t's values: element (t, f) of a tensor with `tokens` token slots and `features`
// values per token sits at t*features + f (rows) or f*tokens + t (columns).
matrix remap_tensor(const matrix& base, token_axis axis, const token_sources& s) {
  const std::size_t r = base.shape()[0], c = base.shape()[1];
  const std::size_t base_tokens = axis == token_axis::rows ? r : c;
  const std::size_t features = axis == token_axis::rows ? c : r;
  const std::size_t tokens = s.ids.size();
  matrix out = axis == token_axis::rows ? matrix({tokens, features}) : matrix({features, tokens});
  const float* in = base.data();
  float* o = out.data();
  auto at = [&](std::size_t n_tokens, std::size_t t, std::size_t f) {
    return axis == token_axis::rows ? t * features + f : f * n_tokens + t;
  };
  for (std::size_t t = 0; t < tokens; ++t) {
    const std::vector<std::int32_t>& ids = s.ids[t];
    for (std::size_t f = 0; f < features; ++f) {
      if (s.kept[t]) {
        o[at(tokens, t, f)] = in[at(base_tokens, static_cast<std::size_t>(ids[0]), f)];
        continue;
      }
      double sum = 0;
      for (std::int32_t id : ids) sum += in[at(base_tokens, static_cast<std::size_t>(id), f)];
      o[at(tokens, t, f)] = static_cast<float>(sum / static_cast<double>(ids.size()));
    }
  }
  return out;
}

std::string shape_text(std::size_t r, std::size_t c) {
  return "[" + std::to_string(r) + ", " + std::to_string(c) + "]";
}

}  // namespace

bool is_vocabulary_parameter(const std::string& name) {
  return vocabulary_tensor_named(name) != nullptr;
}

bool holds_vocabulary_parameters(const std::vector<checkpoint_param>& params) {
  // Weights only: an adapter trained with --lora-train-bias holds out.bias without a new vocabulary.
  for (const checkpoint_param& p : params)
    if (is_vocabulary_parameter(p.name) && p.name.compare(p.name.size() - 7, 7, ".weight") == 0) return true;
  return false;
}

vocab_remap_result remap_vocabularies(const model_config& cfg, const std::vector<checkpoint_param>& params,
                                      const vocab_roles& base, const vocab_roles& next) {
  if (base.src.size() != cfg.src_vocab || base.target().size() != cfg.tgt_vocab)
    throw error("the model's vocabulary sizes (" + std::to_string(cfg.src_vocab) + ", " +
                std::to_string(cfg.tgt_vocab) + ") do not match its vocabularies (" + std::to_string(base.src.size()) +
                ", " + std::to_string(base.target().size()) + ")");
  if (cfg.share_embeddings && next.tgt)
    throw error("the model shares one embedding between source and target (share_embeddings): it takes one vocabulary");
  check_vocab(next.src);
  if (next.tgt) check_vocab(*next.tgt);

  vocab_remap_result r;
  r.config = cfg;
  r.config.src_vocab = next.src.size();
  r.config.tgt_vocab = next.target().size();
  const bool one = !base.tgt && !next.tgt;
  const token_sources src = plan(base.src, next.src);
  const token_sources tgt = one ? src : plan(base.target(), next.target());
  if (one) {
    r.counts["shared"] = src.counts;
  } else {
    r.counts["src"] = src.counts;
    r.counts["tgt"] = tgt.counts;
  }

  r.params = params;
  for (checkpoint_param& p : r.params) {
    const vocabulary_tensor* t = vocabulary_tensor_named(p.name);
    if (!t) continue;
    const std::size_t expected = t->r == role::src ? cfg.src_vocab : cfg.tgt_vocab;
    const std::size_t got = t->axis == token_axis::rows ? p.value.shape()[0] : p.value.shape()[1];
    if (got != expected)
      throw error("parameter '" + p.name + "' has shape " + shape_text(p.value.shape()[0], p.value.shape()[1]) +
                  ": it should index " + std::to_string(expected) + " tokens");
    p.value = remap_tensor(p.value, t->axis, t->r == role::src ? src : tgt);
  }

  // The result must be exactly the parameter set of the new model: same names, same shapes.
  rng gen(0);
  const std::unique_ptr<model> fresh = make_model(r.config, gen);
  const std::vector<const parameter*> want = static_cast<const parameter_store&>(fresh->params()).all();
  if (want.size() != r.params.size())
    throw error("the remapped parameters (" + std::to_string(r.params.size()) + ") are not the " + cfg.family +
                " model's (" + std::to_string(want.size()) + ")");
  for (std::size_t i = 0; i < want.size(); ++i)
    if (want[i]->name != r.params[i].name || want[i]->value.shape() != r.params[i].value.shape())
      throw error("remapped parameter '" + r.params[i].name + "' " +
                  shape_text(r.params[i].value.shape()[0], r.params[i].value.shape()[1]) + " does not fit the " +
                  cfg.family + " model's '" + want[i]->name + "' " +
                  shape_text(want[i]->value.shape()[0], want[i]->value.shape()[1]));
  return r;
}

std::string describe_remap(const std::map<std::string, vocab_remap_counts>& counts) {
  std::string s;
  for (const char* role_name : {"shared", "src", "tgt"}) {
    const auto it = counts.find(role_name);
    if (it == counts.end()) continue;
    const vocab_remap_counts& c = it->second;
    s += (s.empty() ? "" : "; ") + std::string(role_name) + ": " + std::to_string(c.kept) + " kept, " +
         std::to_string(c.added) + " new" +
         (c.fallback ? " (" + std::to_string(c.fallback) + " from <unk>)" : std::string()) + ", " +
         std::to_string(c.dropped) + " dropped";
  }
  return s;
}

std::unique_ptr<model> make_model_on_base(const model_config& cfg, const std::vector<checkpoint_param>& base) {
  rng gen(0);  // the vocabulary tensors' initial values are overwritten by the caller
  std::unique_ptr<model> m = make_model(cfg, gen);
  std::vector<checkpoint_param> rest;
  for (const checkpoint_param& p : base)
    if (!is_vocabulary_parameter(p.name)) rest.push_back(p);
  for (const parameter* p : m->params().all())
    if (!is_vocabulary_parameter(p->name) &&
        !std::any_of(rest.begin(), rest.end(), [&](const checkpoint_param& q) { return q.name == p->name; }))
      throw error("the base has no parameter '" + p->name + "', which the model needs");
  import_parameters(m->params(), rest, import_options{true, false, false});
  return m;
}

std::size_t train_vocabulary_parameters(parameter_store& store) {
  std::size_t values = 0;
  for (parameter* p : store.all())
    if (is_vocabulary_parameter(p->name)) {
      p->trainable = true;
      values += p->value.size();
    }
  return values;
}

}  // namespace attn
