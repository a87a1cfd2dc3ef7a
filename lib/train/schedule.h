#pragma once
// Learning-rate schedules: the LR is a pure function of (config, step), so a schedule's whole
// state is its config plus the step counter that the checkpoint already holds.
//
// `step` is the 1-based number of the update about to be applied (updates done so far + 1):
// the first update uses step 1. All kinds share a linear warmup lr·step/warmup for
// step < warmup (with warmup == 0 there is none); at step == warmup the LR is the peak `lr`.
//   constant  lr after the warmup
//   noam      lr · min(step/warmup, sqrt(warmup/step)): linear warmup, then inverse square root
//             (fairseq's inverse_sqrt). This is the "peak" form: the d_model form of Vaswani
//             et al., factor · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5), is the same
//             curve with lr = noam_peak_lr(factor, d_model, warmup).
//   cosine    warmup, then min_lr + (lr − min_lr) · (1 + cos(π·p)) / 2 with
//             p = (step − warmup) / (total − warmup), clamped to [0, 1]: min_lr from `total` on.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/config_fields.h"

namespace attn {

struct schedule_config {
  std::string kind = "constant";  // constant | noam | cosine
  float lr = 1e-3f;               // peak learning rate
  std::int64_t warmup = 0;        // linear warmup steps (noam needs >= 1)
  std::int64_t total = 0;         // cosine: step at which min_lr is reached (> warmup)
  float min_lr = 0.0f;            // cosine: final learning rate
};

// Throws attn::error for an unknown kind or inconsistent values.
void schedule_check(const schedule_config& c);
// The learning rate for update number `step` (see above); step <= 0 counts as the warmup's start.
// Does not validate: call schedule_check once.
float schedule_lr(const schedule_config& c, std::int64_t step);
// The peak LR of the d_model form of the Noam schedule: factor · d_model^-0.5 · warmup^-0.5.
float noam_peak_lr(float factor, std::int64_t d_model, std::int64_t warmup);

std::vector<std::pair<std::string, std::string>> schedule_kinds();  // name, one-line summary

// Every field once (lib/core/config_fields.h): the text form below and attn train's schedule
// options come from it. `total` is derived from the run's length, not set by an option.
template <class F>
void visit_fields(schedule_config& c, F&& f) {
  f("kind", c.kind, field_about("LR schedule", names_of(schedule_kinds())).called("an LR schedule").option_named("schedule"));
  f("lr", c.lr, field_about("peak learning rate"));
  f("warmup", c.warmup, field_about("linear warmup steps (noam needs at least 1)"));
  f("min_lr", c.min_lr, field_about("cosine: final learning rate"));
  f("total", c.total, field_about("cosine: the step at which min_lr is reached").not_an_option());
}

// Settings as text, for checkpoints and logs (bit-exact floats); unknown keys throw attn::error.
std::map<std::string, std::string> schedule_config_to_map(const schedule_config& c);
schedule_config schedule_config_from_map(const std::map<std::string, std::string>& m);

}  // namespace attn
