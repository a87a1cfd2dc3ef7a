// model_config <-> key = value text. One visitor lists every field once, so to_map and from_map
// cannot drift apart; enumerated settings carry their choices and are validated on reading.
#include "models/model_config.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

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
  throw error("model config: bad value '" + value + "' for '" + key + "' (expected " + want + ")");
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

}  // namespace attn
