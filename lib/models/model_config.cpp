// model_config <-> key = value text, through its one visitor (model_config.h), so to_map and
// from_map cannot drift apart; enumerated settings carry their choices and are validated on reading.
#include "models/model_config.h"

#include <initializer_list>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/text_codec.h"

namespace attn {

std::map<std::string, std::string> model_config::to_map() const { return fields_to_map(*this); }

model_config model_config::from_map(const std::map<std::string, std::string>& m) {
  model_config c;
  for (const auto& [key, text] : m) {
    const field_read r = read_field(c, key, text);
    if (r.status == field_read::unknown_key) throw error("model config: unknown key '" + key + "'");
    if (r.status != field_read::done) throw model_config_error(key, text, r.expected);
  }
  return c;
}

std::vector<config_field> model_config_fields() { return fields_of<model_config>(); }

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
