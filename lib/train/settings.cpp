#include "train/settings.h"

#include <cmath>

#include "core/error.h"
#include "core/text_codec.h"
#include "train/loop.h"
#include "train/optimizer.h"

namespace attn::settings {

float parse_float(const std::string& key, const std::string& text) {
  if (const auto x = read_float(text)) return *x;
  throw error("setting '" + key + "': '" + text + "' is not a number");
}

std::int64_t parse_int(const std::string& key, const std::string& text) {
  if (const auto x = read_int(text)) return *x;
  throw error("setting '" + key + "': '" + text + "' is not an integer");
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (const auto x = read_bool(text)) return *x;
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
  need("accum_steps", t.accum_steps >= 1 && t.accum_steps <= 65536, "must be between 1 and 65536");
  return out;
}

}  // namespace attn::settings
