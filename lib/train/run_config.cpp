#include "train/run_config.h"

#include "core/error.h"
#include "core/text_codec.h"
#include "models/model.h"
#include "models/model_config.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace attn {

namespace {

std::vector<std::string> names_of(const std::vector<std::pair<std::string, std::string>>& kinds) {
  std::vector<std::string> out;
  for (const auto& k : kinds) out.push_back(k.first);
  return out;
}

run_option row(std::string name, char short_name, option_role role, std::optional<std::string> def, std::string help,
               std::vector<std::string> choices = {}) {
  run_option o;
  o.name = std::move(name);
  o.short_name = short_name;
  o.role = role;
  o.default_text = std::move(def);
  o.help = std::move(help);
  if (!choices.empty()) o.help += (o.help.empty() ? "" : ": ") + join_names(choices, " | ");
  o.choices = std::move(choices);
  o.is_flag = o.default_text && (*o.default_text == "true" || *o.default_text == "false");
  return o;
}

// The architecture rows: model_config's fields as the user sets them (not max_len, which is a
// data option too, nor the sizes that come from the data).
void add_architecture(std::vector<run_option>& out) {
  for (const config_field& f : model_config_fields()) {
    if (f.key == "family" || f.key == "max_len" || f.key == "num_classes" || f.key == "src_vocab" ||
        f.key == "tgt_vocab")
      continue;
    // A float's default as a user types it: 0.1, not 0.100000001.
    std::string def = f.default_text;
    if (def.find_first_of(".e") != std::string::npos)
      if (const auto x = read_float(def)) def = format_float_short(*x);
    out.push_back(row(option_of_field(f.key), 0, option_role::arch, def, f.help, f.choices));
  }
}

std::vector<run_option> make_run_options() {
  using r = option_role;
  const auto none = std::nullopt;
  std::vector<run_option> o;
  // what and where
  o.push_back(row("arch", 0, r::arch, none, "model family", model_families()));
  o.push_back(row("train", 0, r::layered, none,
                  "training data: lm = text lines; transformer/rnn = TSV source<TAB>target; classifier = TSV "
                  "label<TAB>text"));
  o.push_back(row("valid", 0, r::layered, "", "validation data, same format"));
  o.push_back(row("output", 'o', r::path, none,
                  "checkpoint to write (the best validation's goes to OUTPUT.best); default with --resume: that file"));
  o.push_back(row("config", 0, r::path, none,
                  "read options from FILE (key = value lines, the long option names); the command line wins"));
  o.push_back(row("resume", 0, r::path, none, "continue training this checkpoint exactly where it stopped"));
  o.push_back(row("log", 0, r::path, none, "append per-step metrics as CSV to FILE"));
  o.push_back(row("vocab", 'v', r::layered, "",
                  "shared vocabulary file (default: build a BPE vocabulary from the training data)"));
  o.push_back(row("src-vocab", 0, r::layered, "", "source vocabulary (transformer/rnn, with --tgt-vocab)"));
  o.push_back(row("tgt-vocab", 0, r::layered, "", "target vocabulary (transformer/rnn, with --src-vocab)"));
  o.push_back(row("vocab-size", 0, r::layered, "4000", "size of the BPE vocabulary built when none is given"));
  o.push_back(row("max-len", 0, r::layered, "256", "longest sequence in tokens (lm: window length)"));
  o.push_back(row("long", 0, r::layered, "truncate", "longer sequences", {"truncate", "skip"}));
  o.push_back(row("strict", 0, r::layered, "false", "a malformed data line is an error instead of being skipped"));
  // architecture (model_config)
  add_architecture(o);
  // training
  o.push_back(row("optimizer", 0, r::layered, "adamw", "", names_of(optimizer_kinds())));
  o.push_back(row("lr", 0, r::layered, "0.001", "peak learning rate"));
  o.push_back(row("weight-decay", 0, r::layered, "0.01", "weight decay (decoupled for adamw, L2 otherwise)"));
  o.push_back(row("momentum", 0, r::layered, "0", "sgd, rmsprop: momentum"));
  o.push_back(row("schedule", 0, r::layered, "constant", "LR schedule", names_of(schedule_kinds())));
  o.push_back(row("warmup", 0, r::layered, "0", "linear warmup steps (noam needs at least 1)"));
  o.push_back(row("min-lr", 0, r::layered, "0", "cosine: final learning rate"));
  o.push_back(row("batch-tokens", 0, r::layered, "4096", "padded tokens per batch (length-bucketed)"));
  o.push_back(row("batch-size", 0, r::layered, "0",
                  "sentences (examples) per batch instead of --batch-tokens (0: use --batch-tokens)"));
  o.push_back(row("epochs", 0, r::layered, "0",
                  "stop after N epochs (0: no limit; 10 when neither --epochs nor --steps is set)"));
  o.push_back(row("steps", 0, r::layered, "0", "stop after N updates (0: no limit)"));
  o.push_back(row("clip", 0, r::layered, "1", "global gradient-norm clipping (0: off)"));
  o.push_back(row("label-smoothing", 0, r::layered, "0", "label smoothing epsilon"));
  o.push_back(row("seed", 0, r::layered, "1", "random seed: initialisation, data order, dropout"));
  o.push_back(row("valid-every", 0, r::layered, "0", "validate every N steps (0: after every epoch)"));
  o.push_back(row("early-stopping", 0, r::layered, "0", "stop after N validations without improvement (0: never)"));
  o.push_back(row("save-every", 0, r::layered, "0", "also save the checkpoint every N steps (0: only at the end)"));
  o.push_back(row("log-every", 0, r::layered, "100", "a progress line every N steps when stderr is not a terminal"));
  o.push_back(row("quiet", 'q', r::path, "false", "no progress or config on stderr (warnings and errors still)"));
  return o;
}

}  // namespace

const std::vector<run_option>& run_options() {
  static const std::vector<run_option> options = make_run_options();
  return options;
}

const run_option& run_option_named(const std::string& name) {
  for (const run_option& o : run_options())
    if (o.name == name) return o;
  throw error("no training option '" + name + "'");
}

std::string field_of_option(const std::string& option) {
  if (option == "arch") return "family";
  std::string k = option;
  for (char& c : k)
    if (c == '-') c = '_';
  return k;
}

std::string option_of_field(const std::string& field) {
  if (field == "family") return "arch";
  std::string k = field;
  for (char& c : k)
    if (c == '_') c = '-';
  return k;
}

std::string stored_option_key(const std::map<std::string, std::string>& train_config, const std::string& option) {
  if (train_config.count(option)) return option;
  if (option == "arch" && train_config.count("model")) return "model";
  return "";
}

layered_options merge_option_layers(const std::vector<std::string>& options, const option_layers& layers) {
  layered_options out;
  for (const std::string& k : options) {
    if (const auto it = layers.command_line.find(k); it != layers.command_line.end()) {
      out.values[k] = it->second;
      out.explicit_keys.insert(k);
    } else if (const auto c = layers.config_file.find(k); c != layers.config_file.end()) {
      out.values[k] = c->second;
      out.explicit_keys.insert(k);
      out.config_keys.insert(k);
    } else if (const std::string stored = stored_option_key(layers.checkpoint, k); !stored.empty()) {
      out.values[k] = layers.checkpoint.at(stored);
      out.from_checkpoint[k] = {layers.checkpoint_path, stored};
    } else if (const auto i = layers.inherited.find(k); i != layers.inherited.end()) {
      out.values[k] = i->second;
      if (!layers.inherited_unblamed.count(k)) out.from_checkpoint[k] = {layers.base_path, field_of_option(k)};
    } else if (const auto d = layers.defaults.find(k); d != layers.defaults.end()) {
      out.values[k] = d->second;
    }
  }
  return out;
}

}  // namespace attn
