#pragma once
// The options of a training run (attn train, attn finetune), described once: name, default,
// help and allowed values, the architecture rows made from model_config_fields() and the
// choices taken from the registry tables (model_families(), optimizer_kinds(), schedule_kinds()).
// The architecture, optimizer, schedule, batching and loop rows are made from those structs'
// visitors (visit_fields, lib/core/config_fields.h), and so is the conversion of their values
// (take_training_options): a new setting is one line in its struct's visitor. The data and path
// rows are written here. The command line's option table is generated from run_options().
//
// Every layered option is resolved by merge_option_layers(): command line > --config FILE >
// the resumed checkpoint's train_config > what a base model decides (finetune) > defaults.
// Nothing here reads a file: the caller loads the config file and the checkpoint and passes
// their values in.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace attn {

struct optimizer_config;
struct train_options;

enum class option_role {
  path,     // where things are (-o, --config, --resume, --log, -q): not layered, not stored
  layered,  // data and training settings: layered and stored in the checkpoint's train_config
  arch,     // a model_config field: layered, stored, and checked against a resumed model
};

struct run_option {
  std::string name;                         // long name: "d-model"
  char short_name = 0;                      // 'o' for -o; 0: none
  option_role role = option_role::layered;
  std::optional<std::string> default_text;  // nullopt: no default
  std::string help;                         // ends with the choices when there are some
  std::vector<std::string> choices;         // allowed values; empty: any value of its type
  bool is_flag = false;                     // true/false, and `--name` alone means true
};

// Every option of attn train, in --help order: data and paths, architecture, training.
const std::vector<run_option>& run_options();

// A training option's value that its field cannot take: either a text that does not read
// (`expected`: "--lr takes a number, not 'fast'") or a value outside what the field allows
// (`rule`: "--optimizer adagrad is not an optimizer (known: ...)", "--seed -1 must be at least 0").
struct option_value_problem {
  std::string option, value;
  std::string expected;  // "a number"; "" when `rule` says it
  std::string rule;
};

// Sets the optimizer's, the schedule's, the batching's and the loop's fields from option values
// (long option name -> text) through their visitors; fields whose options `values` does not
// hold keep their values. Ranges are not checked here (train_settings_problems does). Returns
// the first value that cannot be taken.
std::optional<option_value_problem> take_training_options(const std::map<std::string, std::string>& values,
                                                          optimizer_config& optimizer, train_options& train);

// The option called `name`; throws attn::error for a name that is not one.
const run_option& run_option_named(const std::string& name);

// "d-model" -> "d_model" (the model_config / settings field); "arch" -> "family". And back.
std::string field_of_option(const std::string& option);
std::string option_of_field(const std::string& field);

// The layers, highest first. Keys are long option names except in `checkpoint`, which holds a
// train_config as stored (checkpoints written before --arch hold the family as "model").
struct option_layers {
  std::map<std::string, std::string> command_line;
  std::map<std::string, std::string> config_file;  // --config FILE's values
  std::string checkpoint_path;                      // the resumed run, for blame
  std::map<std::string, std::string> checkpoint;    // its train_config
  std::string base_path;                            // finetune: the base model, for blame
  std::map<std::string, std::string> inherited;     // what the base decides (dropout, max-len)
  std::set<std::string> inherited_unblamed;         // of those, values not to blame on the base
  std::map<std::string, std::string> defaults;
};

// The merged values and where each came from, for messages that blame the right source.
struct layered_options {
  std::map<std::string, std::string> values;  // option -> value text (what train_config stores)
  std::set<std::string> explicit_keys;        // given on the command line or in --config
  std::set<std::string> config_keys;          // those of explicit_keys that came from --config
  // Values that came from a checkpoint: option -> (checkpoint path, the key as stored there).
  std::map<std::string, std::pair<std::string, std::string>> from_checkpoint;
};

// The key under which a stored train_config holds `option` ("" when it does not).
std::string stored_option_key(const std::map<std::string, std::string>& train_config, const std::string& option);

// Resolves each of `options` through the layers; an option no layer sets is left out.
layered_options merge_option_layers(const std::vector<std::string>& options, const option_layers& layers);

}  // namespace attn
