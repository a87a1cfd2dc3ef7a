#include "train/run_config.h"

#include "core/error.h"
#include "core/text_codec.h"
#include "models/model.h"
#include "models/model_config.h"
#include "train/loop.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace attn {

namespace {

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

// A float's default as a user types it: 0.1, not 0.100000001.
std::string as_typed(const std::string& text) {
  if (text.find_first_of(".e") != std::string::npos)
    if (const auto x = read_float(text)) return format_float_short(*x);
  return text;
}

// The architecture rows: model_config's fields that are options (family and max_len have rows
// of their own: --arch with the registered families, --max-len among the data options).
void add_architecture(std::vector<run_option>& out) {
  for (const config_field& f : model_config_fields()) {
    if (f.option.empty() || f.key == "family" || f.key == "max_len") continue;
    out.push_back(row(f.option, 0, option_role::arch, as_typed(f.option_default), f.help, f.choices));
  }
}

// The rows of a settings struct S: its fields that are options, as its visitor describes them.
template <class S>
void add_settings(std::vector<run_option>& out) {
  for (const config_field& f : fields_of<S>())
    if (!f.option.empty())
      out.push_back(row(f.option, 0, option_role::layered, as_typed(f.option_default), f.help, f.choices));
}

// Reads the options of S that `values` holds into s; the first that does not read is returned.
template <class S>
std::optional<option_value_problem> take_settings(const std::map<std::string, std::string>& values, S& s) {
  for (const config_field& f : fields_of<S>()) {
    if (f.option.empty()) continue;
    const auto it = values.find(f.option);
    if (it == values.end()) continue;
    const field_read r = read_field(s, f.key, it->second);
    if (r.status == field_read::done) continue;
    option_value_problem p{f.option, it->second, "", ""};
    if (r.status == field_read::not_a_choice)
      p.rule = f.noun.empty() ? "is not " + r.expected : "is not " + f.noun + " (known: " + join_names(f.choices) + ")";
    else if (const auto x = read_int(it->second); x && *x < 0 && r.expected == "a non-negative integer")
      p.rule = "must be at least 0";
    else
      p.expected = r.expected;
    return p;
  }
  return std::nullopt;
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
  // training: the optimizer, schedule, batching and loop fields their visitors make options of
  add_settings<optimizer_config>(o);
  add_settings<schedule_config>(o);
  add_settings<batching_config>(o);
  add_settings<train_options>(o);
  o.push_back(row("log-every", 0, r::layered, "100", "a progress line every N steps when stderr is not a terminal"));
  o.push_back(row("quiet", 'q', r::path, "false", "no progress or config on stderr (warnings and errors still)"));
  o.push_back(row("plan", 0, r::path, "false",
                  "do everything up to the first update, then print what the run will cost (parameters, optimizer "
                  "state, peak memory, batches, updates, time from a short calibration) and exit; writes no file"));
  o.push_back(row("json", 0, r::path, "false", "with --plan: print the plan as one JSON object"));
  return o;
}

}  // namespace

std::optional<option_value_problem> take_training_options(const std::map<std::string, std::string>& values,
                                                          optimizer_config& optimizer, train_options& train) {
  if (auto p = take_settings(values, optimizer)) return p;
  if (auto p = take_settings(values, train.schedule)) return p;
  if (auto p = take_settings(values, train.batching)) return p;
  return take_settings(values, train);
}

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
