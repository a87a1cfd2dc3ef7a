#pragma once
// Settings as text: the optimizer and schedule configs travel through checkpoints and logs as
// std::map<string, string>. Floats are printed with 9 significant digits, which reads back
// bit-identical; parse errors name the key.
#include <cstdint>
#include <string>

namespace attn::settings {

std::string format_float(float x);
std::string format_bool(bool x);  // "true" / "false"

float parse_float(const std::string& key, const std::string& text);
std::int64_t parse_int(const std::string& key, const std::string& text);
bool parse_bool(const std::string& key, const std::string& text);  // true/false/1/0

}  // namespace attn::settings
