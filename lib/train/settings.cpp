#include "train/settings.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace attn::settings {

std::string format_float(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(x));
  return buf;
}

std::string format_bool(bool x) { return x ? "true" : "false"; }

float parse_float(const std::string& key, const std::string& text) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  float x = std::strtof(s, &end);
  if (text.empty() || end != s + text.size() || errno == ERANGE)
    throw error("setting '" + key + "': '" + text + "' is not a number");
  return x;
}

std::int64_t parse_int(const std::string& key, const std::string& text) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(s, &end, 10);
  if (text.empty() || end != s + text.size() || errno == ERANGE)
    throw error("setting '" + key + "': '" + text + "' is not an integer");
  return static_cast<std::int64_t>(x);
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw error("setting '" + key + "': '" + text + "' is not true or false");
}

}  // namespace attn::settings
