// model_config <-> key = value text. One visitor lists every field once, so to_map and from_map
// cannot drift apart; enumerated settings carry their choices and are validated on reading.
#include "models/model_config.h"

#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/text_codec.h"

namespace attn {
namespace {

using choices = std::initializer_list<const char*>;

// What a field means, for --help texts. `values` (strings only; empty = free text) are the
// values accepted; `aliases`, older spellings among them, are not offered in --help.
struct about {
  const char* help;
  choices values = {};
  choices aliases = {};
};

// f(name, field, about) for every field, once: to_map, from_map and model_config_fields() follow it.
template <class C, class F>
void visit_fields(C& c, F&& f) {
  // family: any text here; make_model checks it against the registered families (model_families()).
  f("family", c.family, about{"model family"});
  f("layers", c.layers, about{"Transformer layers (encoder and decoder each)"});
  f("d_model", c.d_model, about{"Transformer width"});
  f("heads", c.heads, about{"attention heads"});
  f("ff", c.ff, about{"feed-forward inner width"});
  f("activation", c.activation, about{"feed-forward activation", {"gelu", "relu"}});
  f("norm", c.norm, about{"LayerNorm position", {"pre", "post"}});
  f("combine", c.combine, about{"sublayer combination", {"residual", "concat"}});
  f("pos_encoding", c.pos_encoding, about{"positions", {"sinusoidal", "learned", "rope", "none", "hyperbolic"}});
  f("attention", c.attention, about{"attention scoring", {"scaled-dot", "scaled_dot", "dot", "general", "additive"}, {"scaled_dot"}});
  f("dropout", c.dropout, about{"dropout probability"});
  f("share_embeddings", c.share_embeddings, about{"transformer: one embedding table for source and target"});
  f("tie_output", c.tie_output, about{"output projection = target embedding transposed (=false to untie)"});
  f("max_len", c.max_len, about{"longest sequence in tokens (lm: window length)"});
  f("embed", c.embed, about{"rnn: embedding width"});
  f("hidden", c.hidden, about{"rnn: LSTM hidden width"});
  f("bidirectional", c.bidirectional, about{"rnn: bidirectional encoder"});
  f("pooling", c.pooling, about{"classifier: pooling of the encoder states", {"mean", "first"}});
  f("num_classes", c.num_classes, about{"classifier: classes (from the data)"});
  f("src_vocab", c.src_vocab, about{"source vocabulary size (from the vocabulary)"});
  f("tgt_vocab", c.tgt_vocab, about{"target vocabulary size (from the vocabulary)"});
}

std::string format(std::size_t v) {
  return std::to_string(v);
}
std::string format(bool v) {
  return format_bool(v);
}
std::string format(float v) {
  return format_float(v);
}

[[noreturn]] void bad_value(const std::string& key, const std::string& value, const std::string& want) {
  throw model_config_error(key, value, want);
}

void parse(const std::string& key, const std::string& s, std::size_t& out) {
  const auto v = read_count(s);
  if (!v) bad_value(key, s, "a non-negative integer");
  out = *v;
}
void parse(const std::string& key, const std::string& s, float& out) {
  const auto v = read_float(s);
  if (!v) bad_value(key, s, "a number");
  out = *v;
}
void parse(const std::string& key, const std::string& s, bool& out) {
  const auto v = read_bool(s);
  if (!v) bad_value(key, s, "true or false");
  out = *v;
}

std::string format(const std::string& v) {
  return v;
}

struct map_writer {
  std::map<std::string, std::string>& m;
  template <class T>
  void operator()(const char* k, const T& v, const about&) {
    m[k] = format(v);
  }
};

struct field_lister {
  std::vector<config_field>& out;
  template <class T>
  void operator()(const char* k, const T& v, const about& a) {
    config_field f;
    f.key = k;
    f.default_text = format(v);
    f.help = a.help;
    for (const char* c : a.values)
      if (!is_one_of(c, std::vector<std::string>(a.aliases.begin(), a.aliases.end()))) f.choices.emplace_back(c);
    f.is_flag = std::is_same<T, bool>::value;
    out.push_back(std::move(f));
  }
};

struct map_reader {
  const std::map<std::string, std::string>& m;
  std::size_t& used;
  void operator()(const char* k, std::string& v, const about& a) {
    auto it = m.find(k);
    if (it == m.end()) return;
    ++used;
    if (a.values.size() != 0) {
      const std::vector<std::string> accepted(a.values.begin(), a.values.end());
      if (!is_one_of(it->second, accepted)) bad_value(k, it->second, "one of " + join_names(accepted));
    }
    v = it->second;
  }
  template <class T>
  void operator()(const char* k, T& v, const about&) {
    auto it = m.find(k);
    if (it == m.end()) return;
    ++used;
    parse(k, it->second, v);
  }
};

}  // namespace

std::map<std::string, std::string> model_config::to_map() const {
  std::map<std::string, std::string> m;
  visit_fields(*this, map_writer{m});
  return m;
}

model_config model_config::from_map(const std::map<std::string, std::string>& m) {
  model_config c;
  std::size_t used = 0;
  visit_fields(c, map_reader{m, used});
  if (used != m.size()) {
    const std::map<std::string, std::string> known = c.to_map();
    for (const auto& kv : m)
      if (!known.count(kv.first)) throw error("model config: unknown key '" + kv.first + "'");
  }
  return c;
}

std::vector<config_field> model_config_fields() {
  model_config defaults;
  std::vector<config_field> out;
  visit_fields(defaults, field_lister{out});
  return out;
}

model_config_error::model_config_error(std::string k, std::string v, std::string e)
    : error("model config: bad value '" + v + "' for '" + k + "' (expected " + e + ")"),
      key(std::move(k)),
      value(std::move(v)),
      expected(std::move(e)) {}

bool model_config_uses(const std::string& family, const std::string& field) {
  static const std::map<std::string, std::vector<std::string>> own = {
      {"transformer",
       {"layers", "d_model", "heads", "ff", "activation", "norm", "combine", "pos_encoding", "share_embeddings",
        "tie_output", "tgt_vocab"}},
      {"lm", {"layers", "d_model", "heads", "ff", "activation", "norm", "combine", "pos_encoding", "tie_output"}},
      {"classifier",
       {"layers", "d_model", "heads", "ff", "activation", "norm", "combine", "pos_encoding", "pooling", "num_classes"}},
      {"rnn", {"embed", "hidden", "bidirectional", "share_embeddings", "tgt_vocab"}},
  };
  for (const char* every : {"family", "attention", "dropout", "max_len", "src_vocab"})
    if (field == every) return true;
  const auto it = own.find(family);
  if (it == own.end()) return true;  // an unknown family: make_model says so
  for (const auto& f : it->second)
    if (f == field) return true;
  return false;
}

std::vector<config_problem> model_config_problems(const model_config& c, const field_describer& describe,
                                                  bool with_data_sizes) {
  std::vector<config_problem> out;
  auto need = [&](const char* field, bool ok, std::string rule) {
    if (!ok && model_config_uses(c.family, field)) out.push_back({field, std::move(rule)});
  };
  const char* at_least_1 = "must be at least 1";
  need("layers", c.layers >= 1, at_least_1);
  need("d_model", c.d_model >= 1, at_least_1);
  need("heads", c.heads >= 1, at_least_1);
  if (c.heads >= 1 && c.d_model >= 1) {
    need("heads", c.d_model % c.heads == 0, "must divide " + describe("d_model"));
    const bool additive = c.attention == "additive";
    need("heads", !additive || c.heads == 1, "must be 1 with " + describe("attention"));
    if (c.d_model % c.heads == 0 && c.pos_encoding == "rope")
      need("d_model", (c.d_model / c.heads) % 2 == 0,
           "divided by " + describe("heads") + " must be even for " + describe("pos_encoding"));
  }
  need("ff", c.ff >= 1, at_least_1);
  need("dropout", c.dropout >= 0.0f && c.dropout < 1.0f, "must be in [0, 1)");  // NaN fails too
  need("max_len", c.max_len >= 2, "must be at least 2");
  need("embed", c.embed >= 1, at_least_1);
  need("hidden", c.hidden >= 1, at_least_1);
  if (c.bidirectional && c.hidden >= 1)
    need("hidden", c.hidden % 2 == 0, "must be even for " + describe("bidirectional") + " (half per direction)");
  if (with_data_sizes) {
    need("num_classes", c.num_classes >= 2, "must be at least 2");
    need("src_vocab", c.src_vocab >= 1, at_least_1);
    need("tgt_vocab", c.tgt_vocab >= 1, at_least_1);
    if (c.share_embeddings)
      need("tgt_vocab", c.tgt_vocab == c.src_vocab,
           "must equal " + describe("src_vocab") + " for " + describe("share_embeddings"));
  }
  return out;
}

model_config checked_model_config(const std::map<std::string, std::string>& m, const std::string& source) {
  model_config c;
  try {
    c = model_config::from_map(m);
  } catch (const error& e) {
    const std::string what = e.what();
    const std::string prefix = "model config: ";
    throw error(source + ": " + (what.compare(0, prefix.size(), prefix) == 0 ? what.substr(prefix.size()) : what));
  }
  const std::map<std::string, std::string> text = c.to_map();
  const auto describe = [&](const std::string& field) { return field + " = " + text.at(field); };
  const auto problems = model_config_problems(c, describe, true);
  if (!problems.empty())
    throw error(source + " holds " + describe(problems.front().field) + " (" + problems.front().rule + ")");
  return c;
}

}  // namespace attn
