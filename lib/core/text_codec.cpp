#include "core/text_codec.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace attn {

std::string format_float(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x));  // 9 digits: reads back bit-identical
  return buf;
}

std::string format_bool(bool x) {
  return x ? "true" : "false";
}

std::string format_float_short(float x) {
  char buf[32];
  for (int digits = 1; digits < 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(x));
    if (const auto back = read_float(buf); back && *back == x) return buf;
  }
  return format_float(x);
}

std::string format_count(std::size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The digits from `at`: advances past them and returns how many there were.
std::size_t skip_digits(const std::string& s, std::size_t& at) {
  const std::size_t from = at;
  while (at < s.size() && is_digit(s[at])) ++at;
  return at - from;
}

// [-]digits[.digits][e[+-]digits], the whole text: the only spelling read_float takes, so
// strtof never sees the spaces, '+', hex, "inf" or "nan" it would accept.
bool is_decimal_float(const std::string& s) {
  std::size_t at = s.size() > 0 && s[0] == '-' ? 1 : 0;
  std::size_t digits = skip_digits(s, at);
  if (at < s.size() && s[at] == '.') digits += skip_digits(s, ++at);
  if (digits == 0) return false;
  if (at < s.size() && (s[at] == 'e' || s[at] == 'E')) {
    ++at;
    if (at < s.size() && (s[at] == '-' || s[at] == '+')) ++at;
    if (skip_digits(s, at) == 0) return false;
  }
  return at == s.size();
}

// [-]digits, the whole text.
bool is_decimal_int(const std::string& s) {
  std::size_t at = s.size() > 0 && s[0] == '-' ? 1 : 0;
  return skip_digits(s, at) > 0 && at == s.size();
}

}  // namespace

std::optional<float> read_float(const std::string& text) {
  if (!is_decimal_float(text)) return std::nullopt;
  errno = 0;
  const float x = std::strtof(text.c_str(), nullptr);
  if (errno == ERANGE) return std::nullopt;  // beyond a float's range (1e39), or lost to underflow
  return x;
}

std::optional<std::int64_t> read_int(const std::string& text) {
  if (!is_decimal_int(text)) return std::nullopt;
  errno = 0;
  const long long x = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return static_cast<std::int64_t>(x);
}

std::optional<std::size_t> read_count(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  errno = 0;
  const unsigned long long x = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return static_cast<std::size_t>(x);
}

std::optional<bool> read_bool(const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

std::string join_names(const std::vector<std::string>& names, const std::string& separator) {
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : separator) + names[i];
  return s;
}

bool is_one_of(const std::string& name, const std::vector<std::string>& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string unknown_name_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known) {
  return "unknown " + what + " '" + name + "' (known: " + join_names(known) + ")";
}

}  // namespace attn
