#include "models/loaded_model.h"

#include <cmath>

#include "core/error.h"
#include "models/memory_estimate.h"

namespace attn {

loaded_model load_model(const checkpoint& c, const std::string& name) {
  loaded_model out;
  const model_config cfg = checked_model_config(c.model_config, "checkpoint '" + name + "'");
  // A checkpoint's stored sizes are trusted only after they fit: its checksum may be valid and
  // its layers = 100,000,000. The checkpoint itself is already in memory; the model is not.
  check_memory(estimate_loading(cfg), "'" + name + "': its model");
  double stored = 0;
  for (const checkpoint_param& p : c.params) stored += static_cast<double>(p.value.size());
  if (stored != parameter_count(cfg))
    throw error("'" + name + "': its model config describes " + std::to_string(std::llround(parameter_count(cfg))) +
                " parameters but it holds " + std::to_string(std::llround(stored)) +
                " (a damaged or forged checkpoint)");
  rng init_gen(0);  // initial values are overwritten by the checkpoint's
  out.net = make_model(cfg, init_gen);
  import_parameters(out.net->params(), c.params, import_options{false, false, true});
  if (c.vocabularies.empty()) throw error(name + ": the checkpoint holds no 'src' vocabulary");
  static_cast<checkpoint_record&>(out) = read_checkpoint_record(c, name);
  if (cfg.family == "classifier" && out.labels.size() != cfg.num_classes)
    throw error(name + ": the checkpoint's label list does not match its " + std::to_string(cfg.num_classes) +
                " classes");
  return out;
}

}  // namespace attn
