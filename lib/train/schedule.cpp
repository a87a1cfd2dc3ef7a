#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/text_codec.h"
#include "train/settings.h"

namespace attn {

namespace {

// Each kind's shape after the warmup; s >= warmup, s >= 1. Computed in double, returned as float.
double constant_after(const schedule_config& c, double) { return c.lr; }

double noam_after(const schedule_config& c, double s) {
  return c.lr * std::sqrt(static_cast<double>(c.warmup) / s);
}

double cosine_after(const schedule_config& c, double s) {
  double span = static_cast<double>(c.total - c.warmup);
  double p = std::clamp((s - static_cast<double>(c.warmup)) / span, 0.0, 1.0);
  return c.min_lr + (static_cast<double>(c.lr) - c.min_lr) * 0.5 * (1.0 + std::cos(M_PI * p));
}

struct schedule_kind {
  const char* name;
  const char* summary;
  double (*after_warmup)(const schedule_config&, double step);
};

const schedule_kind kinds[] = {
    {"constant", "the peak LR throughout (after an optional linear warmup)", constant_after},
    {"noam", "linear warmup, then LR * sqrt(warmup / step) (inverse square root)", noam_after},
    {"cosine", "linear warmup, then half a cosine down to min_lr at step total", cosine_after},
};

const schedule_kind& find_kind(const std::string& name) {
  for (const auto& k : kinds)
    if (name == k.name) return k;
  std::vector<std::string> known;
  for (const auto& k : kinds) known.push_back(k.name);
  throw error(unknown_name_message("LR schedule", name, known));
}

}  // namespace

void schedule_check(const schedule_config& c) {
  find_kind(c.kind);
  if (!std::isfinite(c.lr) || c.lr < 0.0f) throw error("LR schedule: lr must be a finite number >= 0");
  if (c.warmup < 0) throw error("LR schedule: warmup must be >= 0");
  if (c.kind == "noam" && c.warmup < 1) throw error("LR schedule 'noam' needs warmup >= 1");
  if (c.kind == "cosine") {
    if (c.total <= c.warmup) throw error("LR schedule 'cosine' needs total steps > warmup");
    if (!std::isfinite(c.min_lr) || c.min_lr < 0.0f || c.min_lr > c.lr)
      throw error("LR schedule 'cosine' needs 0 <= min_lr <= lr");
  }
}

float schedule_lr(const schedule_config& c, std::int64_t step) {
  const schedule_kind& k = find_kind(c.kind);
  double s = static_cast<double>(std::max<std::int64_t>(step, 0));
  if (c.warmup > 0 && step < c.warmup) return static_cast<float>(static_cast<double>(c.lr) * s / static_cast<double>(c.warmup));
  return static_cast<float>(k.after_warmup(c, std::max(s, 1.0)));
}

float noam_peak_lr(float factor, std::int64_t d_model, std::int64_t warmup) {
  return static_cast<float>(factor / std::sqrt(static_cast<double>(d_model) * static_cast<double>(warmup)));
}

std::map<std::string, std::string> schedule_config_to_map(const schedule_config& c) { return fields_to_map(c); }

schedule_config schedule_config_from_map(const std::map<std::string, std::string>& m) {
  return fields_from_map<schedule_config>(m, "LR schedule");
}

std::vector<std::pair<std::string, std::string>> schedule_kinds() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : kinds) out.emplace_back(k.name, k.summary);
  return out;
}

}  // namespace attn
