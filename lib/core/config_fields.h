#pragma once
// A settings struct described once. Next to each struct S its header declares
//
//   template <class F> void visit_fields(S& s, F&& f);
//
// which calls f(key, field, field_about{...}) for every field of S, in order. Everything that
// turns S into text and back is made from that one list: fields_to_map (checkpoints, logs),
// read_field / fields_from_map (checkpoints, --config files) and fields_of (the options of a
// training run, their help, defaults and choices). A new setting is one line in its visitor.
//
// Field types: std::string, bool, float, and signed or unsigned integers.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/text_codec.h"

namespace attn {

// What a field means, as its visitor declares it. The builders read as a sentence:
//   field_about("LR schedule", schedule_names()).called("an LR schedule").option_named("schedule")
struct field_about {
  std::string help;                           // for --help
  std::vector<std::string> values;            // accepted values (strings only); empty: any text
  std::vector<std::string> aliases;           // older spellings among `values`: read, not offered
  std::string noun;                           // "an optimizer": a value not among them "is not an optimizer"
  std::string option;                         // the command-line name; "": the key with '-' for '_'
  std::optional<std::string> option_default;  // the command line's default, where it is not the struct's
  bool is_option = true;                      // false: stored and read back, but no option sets it

  field_about(std::string h, std::vector<std::string> v = {}, std::vector<std::string> a = {})
      : help(std::move(h)), values(std::move(v)), aliases(std::move(a)) {}
  field_about called(std::string n) && {
    noun = std::move(n);
    return std::move(*this);
  }
  field_about option_named(std::string n) && {
    option = std::move(n);
    return std::move(*this);
  }
  field_about command_line_default(std::string d) && {
    option_default = std::move(d);
    return std::move(*this);
  }
  field_about not_an_option() && {
    is_option = false;
    return std::move(*this);
  }
};

// One field as its visitor declares it, with S's default as text.
struct config_field {
  std::string key;                   // "d_model"
  std::string default_text;          // the struct's default: "256"
  std::string help;                  // "Transformer width"
  std::vector<std::string> choices;  // the values offered (aliases left out); empty: any value of its type
  std::string noun;                  // "an optimizer"; "" for plain choices
  bool is_flag = false;              // a bool
  std::string option;                // "d-model"; "" when no option sets it
  std::string option_default;        // the command line's default: default_text unless the visitor says
};

// A field's value as text and back: floats with 9 significant digits (bit-exact), bools
// true/false, integers in decimal.
namespace field_text {

template <class T>
std::string format(const T& v) {
  if constexpr (std::is_same_v<T, bool>) return format_bool(v);
  else if constexpr (std::is_same_v<T, float>) return format_float(v);
  else if constexpr (std::is_integral_v<T>) return std::to_string(v);
  else return v;
}

// What text a T needs: "a number", "an integer", ...
template <class T>
std::string expected() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_same_v<T, float>) return "a number";
  else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) return "an integer";
  else if constexpr (std::is_integral_v<T>) return "a non-negative integer";
  else return "text";
}

// Reads text into out; false (out untouched) when it is not exactly one T.
template <class T>
bool parse(const std::string& text, T& out) {
  if constexpr (std::is_same_v<T, bool>) {
    const auto v = read_bool(text);
    if (v) out = *v;
    return v.has_value();
  } else if constexpr (std::is_same_v<T, float>) {
    const auto v = read_float(text);
    if (v) out = *v;
    return v.has_value();
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    const auto v = read_int(text);
    if (v) out = static_cast<T>(*v);
    return v.has_value();
  } else if constexpr (std::is_integral_v<T>) {
    const auto v = read_count(text);
    if (v) out = static_cast<T>(*v);
    return v.has_value();
  } else {
    out = text;
    return true;
  }
}

}  // namespace field_text

// The names of a registry table's (name, summary) rows: the choices of a kind field.
inline std::vector<std::string> names_of(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.first);
  return out;
}

// The command-line name of a field: the key with '-' for '_', unless the visitor names it.
inline std::string option_name_of(const std::string& key, const field_about& a) {
  if (!a.option.empty()) return a.option;
  std::string name = key;
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

// Every field of S with S's defaults, in visitor order.
template <class S>
std::vector<config_field> fields_of() {
  S defaults;
  std::vector<config_field> out;
  visit_fields(defaults, [&](const char* key, const auto& value, const field_about& a) {
    config_field f;
    f.key = key;
    f.default_text = field_text::format(value);
    f.help = a.help;
    for (const std::string& v : a.values)
      if (!is_one_of(v, a.aliases)) f.choices.push_back(v);
    f.noun = a.noun;
    f.is_flag = std::is_same_v<std::decay_t<decltype(value)>, bool>;
    if (a.is_option) f.option = option_name_of(key, a);
    f.option_default = a.option_default.value_or(f.default_text);
    out.push_back(std::move(f));
  });
  return out;
}

// s as key = value text.
template <class S>
std::map<std::string, std::string> fields_to_map(S s) {
  std::map<std::string, std::string> m;
  visit_fields(s, [&](const char* key, const auto& value, const field_about&) { m[key] = field_text::format(value); });
  return m;
}

// How reading one field went.
struct field_read {
  enum status_kind { done, unknown_key, bad_text, not_a_choice } status = unknown_key;
  std::string expected;  // bad_text: "a number"; not_a_choice: "one of gelu, relu"
};

// Sets the field called `key` of s from `text`; s is untouched unless the status is `done`.
template <class S>
field_read read_field(S& s, const std::string& key, const std::string& text) {
  field_read r;
  visit_fields(s, [&](const char* k, auto& value, const field_about& a) {
    if (r.status != field_read::unknown_key || key != k) return;
    using T = std::decay_t<decltype(value)>;
    if (!a.values.empty() && !is_one_of(text, a.values)) {
      std::vector<std::string> offered;
      for (const std::string& v : a.values)
        if (!is_one_of(v, a.aliases)) offered.push_back(v);
      r = {field_read::not_a_choice, "one of " + join_names(offered)};
    } else if (T parsed{}; field_text::parse(text, parsed)) {
      value = parsed;
      r.status = field_read::done;
    } else {
      r = {field_read::bad_text, field_text::expected<T>()};
    }
  });
  return r;
}

// S from key = value text; missing keys keep their defaults. An unknown key or a value that
// does not read throws attn::error: "unknown optimizer setting 'beta3'", "optimizer setting
// 'eps': 'x1' is not a number".
template <class S>
S fields_from_map(const std::map<std::string, std::string>& m, const std::string& what) {
  S s;
  for (const auto& [key, text] : m) {
    const field_read r = read_field(s, key, text);
    if (r.status == field_read::unknown_key) throw error("unknown " + what + " setting '" + key + "'");
    if (r.status != field_read::done)
      throw error(what + " setting '" + key + "': '" + text + "' is not " + r.expected);
  }
  return s;
}

}  // namespace attn
