#include "train/settings.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"
#include "train/loop.h"
#include "train/optimizer.h"

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

std::vector<config_problem> train_settings_problems(const optimizer_config& o, const train_options& t,
                                                    const field_describer& describe) {
  std::vector<config_problem> out;
  auto need = [&](const char* field, bool ok, std::string rule) {
    if (!ok) out.push_back({field, std::move(rule)});
  };
  const schedule_config& s = t.schedule;
  need("lr", std::isfinite(s.lr) && s.lr > 0.0f, "must be a finite number > 0");
  need("min_lr", std::isfinite(s.min_lr) && s.min_lr >= 0.0f, "must be a finite number >= 0");
  if (s.kind == "cosine" && std::isfinite(s.lr) && s.min_lr > s.lr)
    need("min_lr", false, "must not exceed " + describe("lr"));
  need("warmup", s.warmup >= 0, "must be 0 or more");
  if (s.kind == "noam" && s.warmup >= 0)
    need("warmup", s.warmup >= 1, "must be at least 1 for " + describe("schedule"));
  need("weight_decay", std::isfinite(o.weight_decay) && o.weight_decay >= 0.0f, "must be a finite number >= 0");
  need("momentum", o.momentum >= 0.0f && o.momentum < 1.0f, "must be in [0, 1)");  // NaN fails too
  need("clip", std::isfinite(t.clip) && t.clip >= 0.0f, "must be a finite number >= 0 (0: off)");
  need("label_smoothing", t.label_smoothing >= 0.0f && t.label_smoothing < 1.0f, "must be in [0, 1)");
  if (t.batching.batch_size == 0) need("batch_tokens", t.batching.batch_tokens >= 1, "must be at least 1");
  need("epochs", t.epochs >= 0, "must be 0 (no limit) or more");
  need("steps", t.steps >= 0, "must be 0 (no limit) or more");
  need("valid_every", t.valid_every >= 0, "must be 0 (every epoch) or more");
  need("early_stopping", t.early_stopping >= 0, "must be 0 (never) or more");
  need("save_every", t.save_every >= 0, "must be 0 (only at the end) or more");
  return out;
}

}  // namespace attn::settings
