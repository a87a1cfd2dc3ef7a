#include "plan_report.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/text_codec.h"
#include "models/memory_estimate.h"

namespace attn::cli {

namespace {

std::string fixed(double x, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

// "0.412 s", "3 min 12 s", "2 h 05 min".
std::string duration(double s) {
  char buf[64];
  if (s < 60)
    std::snprintf(buf, sizeof buf, s < 1 ? "%.3f s" : "%.1f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s / 60), static_cast<int>(std::fmod(s, 60)));
  else
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s / 3600),
                  static_cast<int>(std::fmod(s, 3600) / 60));
  return buf;
}

nlohmann::ordered_json to_json(const training_plan& p, const std::string& command) {
  nlohmann::ordered_json j;
  j["command"] = command;
  j["family"] = p.family;
  const plan_parameters& q = p.parameters;
  j["parameters"] = {
      {"total", q.total}, {"trainable", q.trainable}, {"frozen", q.frozen}, {"lora", q.lora}, {"tensors", q.tensors}};
  j["parameters"]["modules"] = nlohmann::ordered_json::array();
  for (const plan_module& m : q.modules)
    j["parameters"]["modules"].push_back(
        {{"name", m.name}, {"trainable", m.trainable}, {"frozen", m.frozen}, {"lora", m.lora}});
  j["optimizer"] = {{"kind", p.optimizer}, {"slots", p.optimizer_slots}, {"state_bytes", p.optimizer_state_bytes}};
  const plan_updates& u = p.updates;
  j["batches"] = {{"processes", u.processes},
                  {"accum_steps", u.accum_steps},
                  {"examples_per_update", u.examples_per_update},
                  {"tokens_per_update", u.tokens_per_update},
                  {"padded_tokens_per_update", u.padded_tokens_per_update},
                  {"updates_per_epoch", u.updates_per_epoch}};
  j["run"] = {{"start_step", u.start_step},
              {"updates", u.updates},
              {"epochs", u.epochs},
              {"limit", u.limit},
              {"validations", u.validations}};
  const plan_memory& m = p.memory;
  j["memory"] = {{"parameters", m.parameters},
                 {"gradients", m.gradients},
                 {"optimizer_state", m.optimizer},
                 {"activations", m.activations},
                 {"validation", m.validation},
                 {"checkpoint", m.checkpoint},
                 {"blas_other", m.other},
                 {"loading", m.loading},
                 {"peak", m.peak},
                 {"formula_activations", m.formula_activations},
                 {"measured", m.measured}};
  const plan_time& t = p.time;
  j["time"] = {{"calibration_steps", t.calibration_steps},
               {"warmup_seconds", t.warmup_seconds},
               {"seconds_per_update", t.seconds_per_update},
               {"validation_seconds", t.validation_seconds},
               {"run_seconds", t.run_seconds}};
  return j;
}

}  // namespace

void print_plan(std::ostream& out, const training_plan& p, const std::string& command, bool json) {
  if (json) {
    out << to_json(p, command).dump(2) << "\n";
    return;
  }
  const plan_parameters& q = p.parameters;
  out << "plan of attn " << command << " (" << p.family << " model); nothing was trained or written\n";
  out << "parameters: " << format_count(q.total) << " in " << q.tensors << " tensors: " << format_count(q.trainable)
      << " trainable, " << format_count(q.frozen) << " frozen, " << format_count(q.lora) << " LoRA\n";
  out << "  " << std::left << std::setw(28) << "module" << std::right << std::setw(13) << "trainable" << std::setw(13)
      << "frozen" << std::setw(11) << "LoRA"
      << "\n";
  for (const plan_module& m : q.modules)
    out << "  " << std::left << std::setw(28) << m.name << std::right << std::setw(13) << format_count(m.trainable)
        << std::setw(13) << format_count(m.frozen) << std::setw(11) << format_count(m.lora) << "\n";
  out << "optimizer: " << p.optimizer << ", " << p.optimizer_slots << " slots per trainable value, state "
      << format_bytes(p.optimizer_state_bytes) << "\n";
  const plan_updates& u = p.updates;
  out << "one update: " << fixed(u.examples_per_update, 1) << " examples, " << fixed(u.tokens_per_update, 0)
      << " tokens (" << fixed(u.padded_tokens_per_update, 0) << " padded), mean over an epoch; " << u.processes
      << " process x " << u.accum_steps << " accumulation step" << (u.accum_steps == 1 ? "" : "s") << "\n";
  out << "updates: " << u.updates_per_epoch << " per epoch; this run: " << u.updates << " updates ("
      << fixed(u.epochs, 2) << " epochs, limit --" << u.limit << ")"
      << (u.start_step > 0 ? " from step " + std::to_string(u.start_step) : "")
      << (u.validations > 0 ? ", " + std::to_string(u.validations) + " validations" : "") << "\n";
  const plan_memory& m = p.memory;
  out << "peak memory: " << format_bytes(m.peak) << (m.measured ? " (calibrated)" : " (formula)") << "\n";
  auto part = [&](const char* what, double bytes, const std::string& note = "") {
    out << "  " << std::left << std::setw(18) << what << std::right << std::setw(10) << format_bytes(bytes)
        << (note.empty() ? "" : "  " + note) << "\n";
  };
  part("parameters", m.parameters);
  part("gradients", m.gradients);
  part("optimizer state", m.optimizer);
  part("activations", m.activations, "largest batch (formula: " + format_bytes(m.formula_activations) + ")");
  if (m.validation > 0) part("validation", m.validation);
  part("checkpoint copies", m.checkpoint, "while saving");
  part("BLAS/other", m.other, "program, data, checkpoints read, BLAS buffers, heap");
  if (m.loading >= m.peak) part("loading", m.loading, "the peak before training, reached already");
  const plan_time& t = p.time;
  if (t.calibration_steps > 0) {
    out << "time: " << duration(t.seconds_per_update) << " per update (a calibration of " << t.calibration_steps
        << " updates; the first ones took " << duration(t.warmup_seconds) << " more: warm-up)";
    if (u.validations > 0) out << ", " << duration(t.validation_seconds) << " per validation";
    out << "; the run: " << duration(t.run_seconds) << "\n";
  }
}

}  // namespace attn::cli
