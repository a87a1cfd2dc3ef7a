#include "models/loaded_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "models/memory_estimate.h"
#include "models/vocab_remap.h"

namespace attn {

namespace {

// The base's model with c's adapters attached and c's adapter parameters (and trained biases).
loaded_model load_adapter(const checkpoint& c, const std::string& name, const lora_reference& ref,
                          const std::string& base_override) {
  std::string base_path;
  const checkpoint base = load_lora_base(ref, name, base_override, base_path);
  loaded_model out = load_model(base, base_path);
  // An adapter trained with a new vocabulary (finetune --lora --vocab) carries its embedding and
  // output tensors whole, and its model config has the new vocabulary sizes.
  const bool remapped = holds_vocabulary_parameters(c.params);
  if (remapped)
    out.net = make_model_on_base(checked_model_config(c.model_config, "checkpoint '" + name + "'"), base.params);
  rng init_gen(0);  // A's initial values are overwritten by the adapter's
  attach_lora(out.net->params(), ref.options, init_gen);
  if (remapped) {
    train_vocabulary_parameters(out.net->params());
    for (const parameter* p : out.net->params().all())
      if (is_vocabulary_parameter(p->name) &&
          std::none_of(c.params.begin(), c.params.end(), [&](const checkpoint_param& q) { return q.name == p->name; }))
        throw error("'" + name + "': holds a new vocabulary's tensors but not '" + p->name + "'");
  }
  std::size_t adapters = 0;
  for (const parameter* p : out.net->params().all()) adapters += is_lora_parameter(p->name);
  std::size_t stored = 0;
  for (const checkpoint_param& p : c.params) stored += is_lora_parameter(p.name);
  if (stored != adapters)
    throw error("'" + name + "': holds " + std::to_string(stored) + " adapter tensors but its targets make " +
                std::to_string(adapters) + " on the base '" + base_path + "'");
  import_parameters(out.net->params(), c.params, import_options{true, false, false});
  static_cast<checkpoint_record&>(out) = read_checkpoint_record(c, name);
  out.adapter = ref;
  out.base_path = base_path;
  return out;
}

}  // namespace

loaded_model load_model(const checkpoint& c, const std::string& name, const std::string& base_override) {
  if (const auto ref = read_lora_reference(c, name)) return load_adapter(c, name, *ref, base_override);
  if (!base_override.empty()) throw error("--base " + base_override + ": '" + name + "' is not a LoRA adapter");
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
