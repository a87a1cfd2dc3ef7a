// attn merge ADAPTER.ckpt [--base BASE.ckpt] -o MERGED.ckpt: folds a LoRA adapter into its base
// (W += (alpha/R)·A·B for every adapted layer, trained biases taken over) and writes a plain
// checkpoint that decodes like the adapter on its base, without it. Lineage is kept in metadata:
// merged_from (the adapter), merged_base and merged_base_hash (its base).
#include <iostream>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "models/loaded_model.h"
#include "models/lora.h"
#include "options.h"

namespace attn::cli {

int cmd_merge(const args& argv) {
  command_line cl;
  cl.name = "merge";
  cl.usage = "attn merge ADAPTER.ckpt [--base BASE.ckpt] -o MERGED.ckpt";
  std::string adapter_path, base_override, output;
  cl.options.add_options()
      ("adapter", po::value(&adapter_path), "the LoRA adapter checkpoint (attn finetune --lora); also positional")
      ("base", po::value(&base_override), "its base checkpoint (default: the path the adapter stores)")
      ("output,o", po::value(&output), "the merged checkpoint to write (atomically)");
  cl.positional.add("adapter", 1);
  cl.positional_noun = "the adapter";
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return 0;
  if (adapter_path.empty()) throw usage_error("which adapter? attn merge ADAPTER.ckpt -o MERGED.ckpt");
  if (output.empty()) throw usage_error("-o/--output is required");
  if (output == "-") throw usage_error("-o -: a checkpoint is a file, not a stream; give -o a file name");
  refuse_overwrite({{"", adapter_path}, {"--base", base_override}}, {{"-o", output}});

  const checkpoint adapter = load_checkpoint(adapter_path);
  const std::optional<lora_reference> ref = read_lora_reference(adapter, adapter_path);
  if (!ref) throw attn::error("'" + adapter_path + "' is not a LoRA adapter (attn finetune --lora writes them)");
  loaded_model m = load_model(adapter, adapter_path, base_override);
  // the base the adapter stores (with --base, checked above) is an input too
  if (base_override.empty()) refuse_overwrite({adapter_base_input(base_override, m.base_path)}, {{"-o", output}});
  const std::size_t folded = merge_lora(m.net->params());

  checkpoint merged;
  merged.model_config = adapter.model_config;
  write_checkpoint_record(m, merged);
  merged.params = base_parameters(m.net->params());
  merged.train_config = adapter.train_config;
  merged.metadata["merged_from"] = adapter_path;
  merged.metadata["merged_base"] = m.base_path;
  merged.metadata["merged_base_hash"] = ref->base_hash;
  stamp_checkpoint(merged);
  save_checkpoint(output, merged);
  if (!cl.quiet)
    std::cerr << "merged " << folded << " adapters of " << adapter_path << " into " << m.base_path << ": " << output
              << "\n";
  return 0;
}

}  // namespace attn::cli
