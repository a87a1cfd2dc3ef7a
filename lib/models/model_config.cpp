// model_config <-> key = value text. One visitor lists every field once, so to_map and from_map
// cannot drift apart; enumerated settings carry their choices and are validated on reading.
#include "models/model_config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <utility>
#include <vector>

#include "core/error.h"

namespace attn {
namespace {

using choices = std::initializer_list<const char*>;

// f(name, field) for numbers and bools, f(name, field, choices) for strings (empty choices = free text).
template <class C, class F>
void visit_fields(C& c, F&& f) {
  f("family", c.family, choices{});  // checked by make_model, which lists the registered families
  f("layers", c.layers);
  f("d_model", c.d_model);
  f("heads", c.heads);
  f("ff", c.ff);
  f("activation", c.activation, choices{"gelu", "relu"});
  f("norm", c.norm, choices{"pre", "post"});
  f("combine", c.combine, choices{"residual", "concat"});
  f("pos_encoding", c.pos_encoding, choices{"sinusoidal", "learned", "rope", "none", "hyperbolic"});
  f("attention", c.attention, choices{"scaled-dot", "scaled_dot", "dot", "general", "additive"});
  f("dropout", c.dropout);
  f("share_embeddings", c.share_embeddings);
  f("tie_output", c.tie_output);
  f("max_len", c.max_len);
  f("embed", c.embed);
  f("hidden", c.hidden);
  f("bidirectional", c.bidirectional);
  f("pooling", c.pooling, choices{"mean", "first"});
  f("num_classes", c.num_classes);
  f("src_vocab", c.src_vocab);
  f("tgt_vocab", c.tgt_vocab);
}

std::string format(std::size_t v) {
  return std::to_string(v);
}
std::string format(bool v) {
  return v ? "true" : "false";
}
std::string format(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));  // 9 digits: reads back bit-identical
  return buf;
}

[[noreturn]] void bad_value(const std::string& key, const std::string& value, const std::string& want) {
  throw model_config_error(key, value, want);
}

void parse(const std::string& key, const std::string& s, std::size_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) bad_value(key, s, "a non-negative integer");
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
  if (errno == ERANGE) bad_value(key, s, "a non-negative integer");
  out = static_cast<std::size_t>(v);
}
void parse(const std::string& key, const std::string& s, float& out) {
  char* end = nullptr;
  errno = 0;
  const float v = std::strtof(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE) bad_value(key, s, "a number");
  out = v;
}
void parse(const std::string& key, const std::string& s, bool& out) {
  if (s == "true" || s == "1")
    out = true;
  else if (s == "false" || s == "0")
    out = false;
  else
    bad_value(key, s, "true or false");
}

struct map_writer {
  std::map<std::string, std::string>& m;
  void operator()(const char* k, const std::string& v, choices) { m[k] = v; }
  template <class T>
  void operator()(const char* k, const T& v) {
    m[k] = format(v);
  }
};

struct map_reader {
  const std::map<std::string, std::string>& m;
  std::size_t& used;
  void operator()(const char* k, std::string& v, choices ch) {
    auto it = m.find(k);
    if (it == m.end()) return;
    ++used;
    if (ch.size() != 0) {
      bool ok = false;
      std::string list;
      for (const char* x : ch) {
        ok = ok || it->second == x;
        list += std::string(list.empty() ? "" : ", ") + x;
      }
      if (!ok) bad_value(k, it->second, "one of " + list);
    }
    v = it->second;
  }
  template <class T>
  void operator()(const char* k, T& v) {
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
