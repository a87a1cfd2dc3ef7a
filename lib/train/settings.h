#pragma once
// Settings as text: the optimizer and schedule configs travel through checkpoints and logs as
// std::map<string, string>, with the codecs of core/text_codec.h; these parse errors name the key.
#include <cstdint>
#include <string>
#include <vector>

#include "core/text_codec.h"
#include "models/model_config.h"  // config_problem, field_describer

namespace attn {
struct optimizer_config;
struct train_options;
}  // namespace attn

namespace attn::settings {

using attn::format_bool;   // "true" / "false"
using attn::format_float;  // 9 significant digits: reads back bit-identical

float parse_float(const std::string& key, const std::string& text);
std::int64_t parse_int(const std::string& key, const std::string& text);
bool parse_bool(const std::string& key, const std::string& text);  // true/false/1/0

// The range problems of a training run's settings, checked before any data is read. Fields are
// named as the options spell them with '_' for '-' (lr, min_lr, warmup, weight_decay, momentum,
// clip, label_smoothing, batch_tokens, epochs, steps, valid_every, early_stopping, save_every;
// schedule and optimizer for the kinds), so a caller maps each back to its option:
// a finite lr > 0; min_lr >= 0 (cosine: <= lr); warmup >= 0 (noam: >= 1); a finite
// weight_decay >= 0 and clip >= 0; momentum and label_smoothing in [0, 1); the counts >= 0;
// batch_tokens >= 1 unless batch_size is set. The optimizer's own checks (make_optimizer) and
// the schedule kind are the caller's.
std::vector<config_problem> train_settings_problems(const optimizer_config& o, const train_options& t,
                                                    const field_describer& describe);

}  // namespace attn::settings
