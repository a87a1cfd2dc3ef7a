#include "train_command.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/text_codec.h"
#include "core/threads.h"
#include "models/model.h"
#include "models/task.h"
#include "options.h"
#include "text/vocab.h"
#include "text/vocab_builder.h"
#include "train/run_config.h"
#include "train/settings.h"

namespace attn::cli {

namespace {

// The options' descriptions: lib/train/run_config.h.
// How an option's value is shown in messages: "--d-model 256" when given, "--d-model 256 (in
// 'run.cfg')" from a config file, "--d-model 256 (the default)" when not given, "d_model = 256"
// when it came from a checkpoint.
std::string describe(const train_command& cmd, const std::string& option) {
  if (const auto it = cmd.from_checkpoint.find(option); it != cmd.from_checkpoint.end())
    return it->second.second + " = " + cmd.values.at(option);
  const auto v = cmd.values.find(option);
  if (v == cmd.values.end()) {  // finetune: an architecture field, the base model's
    const auto m = cmd.model.to_map();
    const std::string key = field_of_option(option);
    return key + " = " + (m.count(key) ? m.at(key) : std::string("?"));
  }
  const char* origin = cmd.config_keys.count(option)     ? " (in '"
                       : cmd.explicit_keys.count(option) ? ""
                                                         : " (the default)";
  return "--" + option + " " + v->second + origin + (cmd.config_keys.count(option) ? cmd.config_path + "')" : "");
}

// An option outside its range: usage_error "--max-len 0 must be at least 2", or attn::error
// naming the checkpoint the value came from.
[[noreturn]] void reject(const train_command& cmd, const std::string& option, const std::string& rule) {
  if (const auto it = cmd.from_checkpoint.find(option); it != cmd.from_checkpoint.end())
    throw attn::error("checkpoint '" + it->second.first + "' holds " + describe(cmd, option) + " (" + rule + ")");
  throw usage_error(describe(cmd, option) + " " + rule);
}

// A value that does not parse: "--lr takes a number, not 'fast'".
[[noreturn]] void reject_text(const train_command* cmd, const std::string& option, const std::string& value,
                              const std::string& expected) {
  if (cmd)
    if (const auto it = cmd->from_checkpoint.find(option); it != cmd->from_checkpoint.end())
      throw attn::error("checkpoint '" + it->second.first + "' holds " + it->second.second + " = " + value + " (not " +
                        expected + ")");
  throw usage_error("--" + option + " takes " + expected + ", not '" + value + "'" +
                    (cmd && cmd->config_keys.count(option) ? " (in '" + cmd->config_path + "')" : ""));
}

// Text -> typed values; errors name the option (cmd: where each value came from, for blame).
struct typed {
  const std::map<std::string, std::string>& v;
  const train_command* cmd = nullptr;
  const std::string& text(const std::string& k) const { return v.at(k); }
  std::int64_t integer(const std::string& k, std::int64_t min) const {
    std::int64_t x = 0;
    try {
      x = settings::parse_int(k, text(k));
    } catch (const attn::error&) {
      reject_text(cmd, k, text(k), "an integer");
    }
    if (x < min) {
      const std::string rule = "must be at least " + std::to_string(min);
      if (cmd) reject(*cmd, k, rule);
      throw usage_error("--" + k + " " + rule);
    }
    return x;
  }
  float number(const std::string& k) const {
    try {
      return settings::parse_float(k, text(k));
    } catch (const attn::error&) {
      reject_text(cmd, k, text(k), "a number");
    }
  }
  bool flag(const std::string& k) const {
    try {
      return settings::parse_bool(k, text(k));
    } catch (const attn::error&) {
      reject_text(cmd, k, text(k), "true or false");
    }
  }
};

// Adds the options `use` selects to cl, as run_options() describes them; default_of gives each
// one's default (nullopt: none).
template <class Use, class Default>
void add_rows(command_line& cl, Use use, Default default_of) {
  for (const run_option& r : run_options()) {
    if (!use(r)) continue;
    auto* v = po::value<std::string>();
    const std::optional<std::string> d = default_of(r);
    if (d) v->default_value(*d);
    if (r.is_flag) v->implicit_value("true");  // `--strict` alone means true
    const std::string name = r.name + (r.short_name ? std::string(",") + r.short_name : "");
    cl.options.add_options()(name.c_str(), v, r.help.c_str());
  }
}

// The layers of a parse: the options given (command line, --config FILE) as Boost stored them.
option_layers given_layers(const po::variables_map& vm, const std::set<std::string>& config_keys) {
  option_layers layers;
  for (const run_option& r : run_options()) {
    if (r.role == option_role::path || !vm.count(r.name) || vm[r.name].defaulted()) continue;
    (config_keys.count(r.name) ? layers.config_file : layers.command_line)[r.name] = vm[r.name].as<std::string>();
  }
  return layers;
}

// Sets cmd's values and their origins from merged layers.
void take_layers(train_command& cmd, layered_options merged) {
  cmd.values = std::move(merged.values);
  cmd.explicit_keys = std::move(merged.explicit_keys);
  cmd.config_keys = std::move(merged.config_keys);
  cmd.from_checkpoint = std::move(merged.from_checkpoint);
}

// --config FILE, stored under the command line (which Boost keeps: the first store wins).
// Returns the options the file set that the command line did not.
std::set<std::string> read_config_file(const command_line& cl, po::variables_map& vm) {
  if (!vm.count("config")) return {};
  const std::string path = vm["config"].as<std::string>();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw attn::error("cannot read config file '" + path + "': it is a directory");
  std::ifstream in(path);
  if (!in) throw attn::error("cannot open config file '" + path + "': " + std::strerror(errno));
  std::set<std::string> from_file;
  try {
    const po::parsed_options parsed = po::parse_config_file(in, cl.options);
    refuse_plus_signs(parsed);  // threads = +2, as on the command line
    for (const auto& o : parsed.options)
      if (!vm.count(o.string_key) || vm[o.string_key].defaulted()) from_file.insert(o.string_key);
    po::store(parsed, vm);
  } catch (const po::error& e) {
    throw usage_error(path + ": " + option_error_message(e));
  }
  if (vm.count("threads") && !vm["threads"].defaulted()) {
    const int threads = vm["threads"].as<int>();
    if (threads < 0)
      throw usage_error(path + ": threads must be 0 (all cores) or more, not " + std::to_string(threads));
    set_threads(threads);
  }
  return from_file;
}

// Fails before any work when a data file cannot be read.
void check_readable(const std::map<std::string, std::string>& values, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    const auto it = values.find(k);
    if (it == values.end() || it->second.empty() || it->second == "-") continue;
    const std::string& path = it->second;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) throw attn::error("cannot read '" + path + "': it is a directory");
    if (!std::ifstream(path)) throw attn::error("cannot open '" + path + "': " + std::strerror(errno));
  }
}

// The options shared by train and finetune: data limits, optimizer, schedule, loop, progress.
// Only conversions here (text -> typed, choices); ranges: validate_train_command.
// cmd.data.format and cmd.output are set.
void resolve_run_options(const typed& t, train_command& cmd) {
  constexpr std::int64_t any = std::numeric_limits<std::int64_t>::min();  // signed: ranges checked later
  cmd.train_path = t.text("train");
  cmd.valid_path = t.text("valid");
  cmd.data.max_len = static_cast<std::size_t>(t.integer("max-len", 2));
  const std::string& lp = t.text("long");
  if (lp != "truncate" && lp != "skip") throw usage_error("--long must be truncate or skip, not '" + lp + "'");
  cmd.data.too_long = lp == "skip" ? long_policy::skip : long_policy::truncate;
  cmd.data.strict = t.flag("strict");

  // The optimizer, schedule, batching and loop fields: through their visitors (run_config.h).
  if (const auto p = take_training_options(t.v, cmd.optimizer, cmd.train)) {
    if (!p->rule.empty()) reject(cmd, p->option, p->rule);
    reject_text(&cmd, p->option, p->value, p->expected);
  }
  train_options& o = cmd.train;
  if (o.batching.batch_size > 0) o.batching.batch_tokens = 0;
  if (o.epochs == 0 && o.steps == 0) o.epochs = 10;
  o.checkpoint_path = cmd.output;
  cmd.log_every = t.integer("log-every", any);
}

bool every_row(const run_option&) {
  return true;
}
std::optional<std::string> table_default(const run_option& r) {
  return r.default_text;
}

bool flag_option(const po::variables_map& vm, const char* name) {
  const std::map<std::string, std::string> v{{name, vm.count(name) ? vm[name].as<std::string>() : ""}};
  return typed{v}.flag(name);
}

bool quiet_flag(const po::variables_map& vm) {
  return flag_option(vm, "quiet");
}

// --plan and --json (plan.h); --json alone is a mistake, not a request for another output.
void take_plan_flags(const po::variables_map& vm, train_command& cmd) {
  cmd.plan = flag_option(vm, "plan");
  cmd.plan_json = flag_option(vm, "json");
  if (cmd.plan_json && !cmd.plan)
    throw usage_error("--json goes with --plan (attn " + cmd.command + " ... --plan --json)");
}

// `attn train -m/--model X`: the model family is --arch; a checkpoint goes to --resume or finetune.
[[noreturn]] void reject_model_option(const std::string& value) {
  const auto families = model_families();
  if (std::find(families.begin(), families.end(), value) != families.end())
    throw usage_error("--model names a checkpoint; the model family is --arch " + value);
  throw usage_error("--model names a checkpoint (continue a run with --resume " + value +
                    ", start from one with attn finetune -m " + value +
                    "); the model family is --arch transformer|rnn|lm|classifier");
}

void warn_ignored(const train_command& cmd) {
  for (const std::string& w : ignored_options(cmd)) std::cerr << "attn " << cmd.command << ": warning: " << w << "\n";
}

}  // namespace

void validate_train_command(const train_command& cmd) {
  const auto name = [&](const std::string& field) { return describe(cmd, option_of_field(field)); };
  // The architecture (finetune: only --dropout is new; the base's config was checked on loading).
  for (const config_problem& p : model_config_problems(cmd.model, name)) reject(cmd, option_of_field(p.field), p.rule);
  if (cmd.data.max_len < 2) reject(cmd, "max-len", "must be at least 2");
  if (cmd.command == "finetune" && cmd.data.max_len > cmd.model.max_len)
    reject(cmd, "max-len", "must not exceed the base model's max_len = " + std::to_string(cmd.model.max_len));
  // Optimizer, schedule, loop.
  for (const config_problem& p : settings::train_settings_problems(cmd.optimizer, cmd.train, name))
    reject(cmd, option_of_field(p.field), p.rule);
  try {
    make_optimizer(cmd.optimizer);  // its own checks, on settings no option reaches today
  } catch (const attn::error& e) {
    throw usage_error(std::string("--optimizer ") + cmd.optimizer.kind + ": " + e.what());
  }
  if (cmd.log_every < 1) reject(cmd, "log-every", "must be at least 1");
  if (cmd.train.recompute && !task_for(cmd.model.family).has_blocks)
    throw usage_error("--recompute: " + task_for(cmd.model.family).a_model(cmd.model.family) +
                      " has no Transformer blocks to recompute");
  // Data and vocabularies (train: finetune's are the base checkpoint's).
  if (cmd.train_path == "-" && cmd.valid_path == "-") throw usage_error("--train and --valid cannot both be - (stdin)");
  if (cmd.command != "train" || cmd.loaded.resumed) return;
  if (!cmd.src_vocab_path.empty() || !cmd.tgt_vocab_path.empty()) {
    if (cmd.data.format != data_format::pairs)
      throw usage_error("--src-vocab/--tgt-vocab are for transformer and rnn; use -v for " + cmd.model.family);
    if (cmd.src_vocab_path.empty() || cmd.tgt_vocab_path.empty())
      throw usage_error("--src-vocab and --tgt-vocab go together");
  }
  if (cmd.vocab_path.empty() && cmd.src_vocab_path.empty()) {  // a BPE vocabulary is built from --train
    vocab_options v;
    v.kind = tokenizer_kind::bpe;
    v.size = cmd.vocab_size;
    if (!vocab_options_problem(v).empty())
      reject(cmd, "vocab-size",
             "must be between " + std::to_string(fixed_specials + 256) + " (4 specials + 256 bytes) and " +
                 std::to_string(std::size_t(1) << 28));
    if (cmd.train_path == "-")
      throw usage_error(
          "--train - needs a vocabulary (-v, or --src-vocab and --tgt-vocab): building one from the training data "
          "would read stdin to its end before training starts");
  }
}

std::vector<std::string> ignored_options(const train_command& cmd) {
  std::vector<std::string> out;
  auto given = [&](const char* k) { return cmd.explicit_keys.count(k) > 0; };
  const std::string& family = cmd.model.family;
  const std::string a_family = task_for(family).a_model(family);
  for (const run_option& r : run_options()) {
    const std::string& k = r.name;
    if (r.role == option_role::arch && k != "arch" && cmd.explicit_keys.count(k) &&
        !model_config_uses(family, field_of_option(k)))
      out.push_back("--" + k + " does not apply to " + a_family + " (ignored)");
  }
  const std::string& opt = cmd.optimizer.kind;
  if (given("momentum") && opt != "sgd" && opt != "rmsprop")
    out.push_back("--momentum applies to sgd and rmsprop, not " + opt + " (ignored)");
  if (given("min-lr") && cmd.train.schedule.kind != "cosine")
    out.push_back("--min-lr applies to --schedule cosine, not " + cmd.train.schedule.kind + " (ignored)");
  if (given("batch-tokens") && cmd.train.batching.batch_size > 0)
    out.push_back("--batch-tokens does not apply with --batch-size (ignored)");
  if (given("vocab-size") && (cmd.loaded.resumed || !cmd.vocab_path.empty() || !cmd.src_vocab_path.empty()))
    out.push_back(std::string("--vocab-size applies when a vocabulary is built, not ") +
                  (cmd.loaded.resumed ? "when resuming" : "with a vocabulary file") + " (ignored)");
  if (cmd.valid_path.empty())
    for (const char* k : {"valid-every", "early-stopping"})
      if (given(k)) out.push_back(std::string("--") + k + " needs --valid (ignored)");
  return out;
}

bool parse_train_args(const args& argv, train_args& a) {
  a.command = "train";
  command_line& cl = a.cl;
  cl.name = "train";
  cl.usage =
      "attn train --arch transformer|rnn|lm|classifier --train FILE [--valid FILE] [options] -o CKPT\n"
      "       attn train --resume CKPT [options]";
  add_rows(cl, every_row, table_default);
  // -m/--model names a checkpoint in every other subcommand: here it only earns a hint (and a
  // --config file's old `model = FAMILY` key still means --arch).
  cl.options.add_options()("model,m", po::value<std::string>(), "(not a train option: the model family is --arch)");
  if (!parse(cl, argv, a.vm)) return false;
  if (a.vm.count("model")) reject_model_option(a.vm["model"].as<std::string>());
  return true;
}

void load_train_inputs(train_args& a, train_command& cmd) {
  cmd.command = a.command;
  a.config_keys = read_config_file(a.cl, a.vm);
  const po::variables_map& vm = a.vm;
  auto path_of = [&](const std::string& k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  cmd.output = path_of("output");
  cmd.log_path = path_of("log");
  cmd.config_path = path_of("config");
  cmd.resume_path = path_of("resume");
  if (a.command == "train") {
    if (!cmd.resume_path.empty()) cmd.loaded.resumed = load_checkpoint(cmd.resume_path);
    return;
  }
  // finetune: -m BASE or --resume CKPT, one of them.
  cmd.base_path = path_of("model");
  if (!cmd.resume_path.empty() && !cmd.base_path.empty())
    throw usage_error("give -m BASE (start fine-tuning) or --resume CKPT (continue a fine-tuning run), not both");
  if (cmd.resume_path.empty() && cmd.base_path.empty()) throw usage_error("-m/--model BASE.ckpt is required");
  {
    const std::map<std::string, std::string> keep{{"keep-optimizer", vm["keep-optimizer"].as<std::string>()}};
    cmd.keep_optimizer = typed{keep}.flag("keep-optimizer");
  }
  if (!cmd.resume_path.empty())
    cmd.loaded.resumed = load_checkpoint(cmd.resume_path);
  else
    cmd.loaded.base = load_checkpoint(cmd.base_path);
}

namespace {

void resolve_train(const train_args& a, train_command& cmd) {
  const po::variables_map& vm = a.vm;
  option_layers layers = given_layers(vm, a.config_keys);
  if (a.config_keys.count("model") && !layers.command_line.count("arch") && !layers.config_file.count("arch"))
    layers.config_file["arch"] = vm["model"].as<std::string>();  // `model = FAMILY`: the old name of arch
  const std::string& resume = cmd.resume_path;
  if (cmd.loaded.resumed) {
    if (cmd.loaded.resumed->metadata.count("finetuned_from"))
      throw usage_error("'" + resume + "' is a fine-tuning run: continue it with attn finetune --resume " + resume);
    if (cmd.output.empty()) cmd.output = resume;
    layers.checkpoint_path = resume;
    layers.checkpoint = cmd.loaded.resumed->train_config;
  }
  // Layers: explicit (command line, --config) > the resumed checkpoint's > defaults.
  std::vector<std::string> names;
  for (const run_option& r : run_options()) {
    if (r.role == option_role::path) continue;
    names.push_back(r.name);
    if (r.default_text) layers.defaults[r.name] = *r.default_text;
  }
  take_layers(cmd, merge_option_layers(names, layers));
  if (!cmd.values.count("arch")) throw usage_error("--arch is required (transformer, rnn, lm or classifier)");
  if (!cmd.values.count("train")) throw usage_error("--train is required");
  if (cmd.output.empty()) throw usage_error("-o/--output is required");
  {
    const auto& families = run_option_named("arch").choices;
    if (!is_one_of(cmd.values["arch"], families))
      throw usage_error("--arch must be one of " + join_names(families) + ", not '" + cmd.values["arch"] + "'");
  }
  if (cmd.loaded.resumed) {
    if (cmd.loaded.resumed->counters.count("step") == 0)
      throw attn::error("'" + resume + "' holds no training state (a bare model?): it cannot be resumed");
    const auto& saved = cmd.loaded.resumed->model_config;
    if (saved.count("family") && saved.at("family") != cmd.values["arch"])
      throw usage_error("--arch " + cmd.values["arch"] + " conflicts with the checkpoint's family " +
                        saved.at("family"));
    // the optimizer's state is resumed with it: another optimizer is another run
    const auto& run = cmd.loaded.resumed->train_config;
    if (cmd.explicit_keys.count("optimizer") && run.count("optimizer") &&
        run.at("optimizer") != cmd.values["optimizer"])
      throw usage_error("--optimizer " + cmd.values["optimizer"] + " conflicts with the checkpoint's optimizer " +
                        run.at("optimizer") + ", whose state it resumes (a new optimizer: attn finetune -m " + resume +
                        ")");
  }
  const typed t{cmd.values, &cmd};
  std::map<std::string, std::string> arch;
  for (const run_option& r : run_options())
    if (r.role == option_role::arch) arch[field_of_option(r.name)] = t.text(r.name);
  arch["max_len"] = t.text("max-len");
  for (const auto& [key, value] : arch) {  // one at a time, so a bad value names its option
    try {
      model_config::from_map({{key, value}});
    } catch (const model_config_error& e) {
      reject_text(&cmd, option_of_field(key), value, e.expected);
    }
  }
  cmd.model = model_config::from_map(arch);
  if (cmd.loaded.resumed) {  // explicit architecture flags must agree with the checkpoint's model
    const auto mine = cmd.model.to_map();
    for (const run_option& r : run_options()) {
      const std::string& k = r.name;
      const std::string key = field_of_option(k);
      // --max-len is listed with the data options, but it is the model's max_len too (the
      // positions it has): given explicitly, it is checked like --heads.
      const bool sets_model = r.role == option_role::arch || k == "max-len";
      if (!sets_model || !cmd.explicit_keys.count(k)) continue;
      const auto it = cmd.loaded.resumed->model_config.find(key);
      if (it != cmd.loaded.resumed->model_config.end() && it->second != mine.at(key))
        throw usage_error("--" + k + " " + t.text(k) + " conflicts with the checkpoint's " + key + " = " + it->second);
    }
  }

  // A resumed run's vocabularies are the checkpoint's: the paths it stored are not read again.
  auto vocab_option = [&](const char* k) {
    return cmd.loaded.resumed && !cmd.explicit_keys.count(k) ? std::string() : t.text(k);
  };
  cmd.vocab_path = vocab_option("vocab");
  cmd.src_vocab_path = vocab_option("src-vocab");
  cmd.tgt_vocab_path = vocab_option("tgt-vocab");
  if (!cmd.vocab_path.empty() && (!cmd.src_vocab_path.empty() || !cmd.tgt_vocab_path.empty()))
    throw usage_error("give either -v/--vocab or --src-vocab/--tgt-vocab, not both");
  cmd.vocab_size = static_cast<std::size_t>(t.integer("vocab-size", 0));
  cmd.data.format = task_for(cmd.model.family).format;
  resolve_run_options(t, cmd);
  cmd.quiet = quiet_flag(vm);
  take_plan_flags(vm, cmd);
  validate_train_command(cmd);
}

// Rows of the table that finetune takes: everything but the architecture (except --dropout) and
// the vocabularies, which are the base checkpoint's.
// (--vocab, --src-vocab and --tgt-vocab are finetune's own options: a new vocabulary, remapped.)
bool finetune_row(const run_option& r) {
  const std::string& k = r.name;
  if (r.role == option_role::arch) return k == "dropout";
  return k != "vocab" && k != "src-vocab" && k != "tgt-vocab" && k != "vocab-size";
}

// Finetune's own defaults: a lower LR; dropout and max-len come from the model (no default here).
std::optional<std::string> finetune_default(const run_option& r) {
  const std::string& k = r.name;
  if (k == "lr") return std::string("0.0001");
  if (k == "dropout" || k == "max-len") return std::nullopt;
  return r.default_text;
}

// "adamw" from optimizer state keys such as "adamw.steps"; "" when there is no state.
std::string optimizer_kind_of(const optimizer_state& s) {
  for (const auto& [key, value] : s.scalars)
    if (key.find('/') == std::string::npos && key.size() > 6 && key.compare(key.size() - 6, 6, ".steps") == 0)
      return key.substr(0, key.size() - 6);
  return "";
}

std::string join_words(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

}  // namespace

bool parse_finetune_args(const args& argv, train_args& a) {
  a.command = "finetune";
  // The model and its vocabularies are the base checkpoint's: say so rather than "unrecognised option".
  for (const std::string& arg : argv) {
    if (arg.rfind("--", 0) != 0) continue;
    const std::string k = arg.substr(2, arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
    for (const run_option& r : run_options()) {
      if (r.name != k || finetune_row(r) || k == "vocab" || k == "src-vocab" || k == "tgt-vocab") continue;
      throw usage_error("--" + k + ": a fine-tuned model keeps the base checkpoint's " +
                        (r.role == option_role::arch ? "architecture (only --dropout may change)"
                                                     : "vocabularies unless --vocab FILE gives a new one"));
    }
  }
  command_line& cl = a.cl;
  cl.name = "finetune";
  cl.usage =
      "attn finetune -m BASE.ckpt --train FILE [--valid FILE] [--freeze PATTERN]... [options] -o CKPT\n"
      "       attn finetune -m BASE.ckpt --vocab V | --src-vocab S | --tgt-vocab T --train FILE [options] -o CKPT\n"
      "       attn finetune --resume CKPT [options]";
  // clang-format off
  cl.options.add_options()
      ("model,m", po::value<std::string>(), "base checkpoint: its model config, vocabularies, labels and parameters")
      ("freeze", po::value<std::vector<std::string>>()->composing(),
       "keep parameters fixed: a name prefix ending at a dot (encoder, layers.0.) or a pattern with * (embed*, "
       "*.bias); repeatable")
      ("keep-optimizer", po::value<std::string>()->default_value("false")->implicit_value("true"),
       "start from the base checkpoint's optimizer state (moments, step counts) instead of a fresh one")
      ("lora", po::value<std::string>(),
       "train LoRA adapters of rank R on the frozen base instead of the whole model; -o then writes an "
       "adapter checkpoint (docs/finetuning.md)")
      ("lora-alpha", po::value<std::string>(), "LoRA scale numerator: updates are scaled by alpha/R (default: R, scale 1)")
      ("lora-targets", po::value<std::vector<std::string>>()->composing(),
       "the linear layers LoRA adapts, by name pattern as --freeze takes them (default: the attention projections "
       "*attn.qkv *attn.q *attn.kv *attn.out attention.keys attention.query; * = every linear layer and the "
       "LSTMs' w_ih/w_hh); repeatable")
      ("lora-train-bias", po::value<std::string>()->implicit_value("true"),
       "with --lora, biases and layer-norm parameters train too (stored in the adapter)")
      ("lora-dropout", po::value<std::string>(),
       "with --lora, dropout probability P in [0, 1) on each adapter's input while training (peft's lora_dropout; "
       "default 0; not with LSTM targets)")
      ("base", po::value<std::string>(), "with --resume of a LoRA run: its base checkpoint (default: the path it stores)")
      ("vocab,v", po::value<std::string>(),
       "a new vocabulary for the model: embedding and output rows are rebuilt by token string (kept tokens keep "
       "their rows; new ones start from the mean of their pieces' rows; docs/finetuning.md)")
      ("src-vocab", po::value<std::string>(), "a new source vocabulary (transformer/rnn; the target side keeps its own)")
      ("tgt-vocab", po::value<std::string>(), "a new target vocabulary (transformer/rnn; the source side keeps its own)");

  // clang-format on
  add_rows(cl, finetune_row, finetune_default);
  return parse(cl, argv, a.vm);
}

namespace {

// --lora and its options: the command line's, else (resuming) the run's train_config. Stored in
// cmd.values (the checkpoint's train_config) only for a LoRA run.
void resolve_lora(const po::variables_map& vm, train_command& cmd) {
  const std::map<std::string, std::string> stored =
      cmd.loaded.resumed ? cmd.loaded.resumed->train_config : std::map<std::string, std::string>{};
  auto value = [&](const std::string& k) -> std::optional<std::string> {
    if (vm.count(k)) return vm[k].as<std::string>();
    if (const auto it = stored.find(k); it != stored.end()) return it->second;
    return std::nullopt;
  };
  const bool resumed_lora = stored.count("lora") > 0;
  if (cmd.loaded.resumed && vm.count("lora") && !resumed_lora)
    throw usage_error("--lora: '" + cmd.resume_path + "' is a full fine-tuning run; --resume continues it as one");
  if (vm.count("base") && !resumed_lora)
    throw usage_error("--base is for --resume of a LoRA run (a new run's base is -m)");
  if (vm.count("base")) cmd.lora_base = vm["base"].as<std::string>();
  const auto rank = value("lora");
  for (const char* k : {"lora-alpha", "lora-targets", "lora-train-bias", "lora-dropout"})
    if (!rank && vm.count(k)) throw usage_error(std::string("--") + k + " needs --lora R");
  if (!rank) return;
  std::map<std::string, std::string> v{{"lora", *rank}};
  v["lora-alpha"] = value("lora-alpha").value_or(*rank);
  v["lora-train-bias"] = value("lora-train-bias").value_or("false");
  v["lora-dropout"] = value("lora-dropout").value_or("0");
  const typed t{v};
  cmd.lora.rank = static_cast<std::size_t>(t.integer("lora", 1));
  // One message for any value out of range, whether it reads or not ('inf', 'nan', '1e39', '0'):
  // an infinite alpha would only surface as "training diverged" once the data is read.
  const auto alpha = read_float(v["lora-alpha"]);
  if (!alpha || !(*alpha > 0))
    throw usage_error("--lora-alpha must be a finite number > 0, not '" + v["lora-alpha"] + "'");
  cmd.lora.alpha = *alpha;
  cmd.lora.train_bias = t.flag("lora-train-bias");
  const auto drop = read_float(v["lora-dropout"]);
  if (!drop || !(*drop >= 0 && *drop < 1))
    throw usage_error("--lora-dropout must be in [0, 1), not '" + v["lora-dropout"] + "'");
  cmd.lora.dropout = *drop;
  if (vm.count("lora-targets"))
    cmd.lora.targets = vm["lora-targets"].as<std::vector<std::string>>();
  else if (stored.count("lora-targets"))
    cmd.lora.targets = split_words(stored.at("lora-targets"));
  for (const auto& p : cmd.lora.targets)
    if (p.empty() || p.find_first_of(" \t") != std::string::npos)
      throw usage_error("--lora-targets takes a parameter name or pattern, not '" + p + "'");
  if (cmd.lora.targets.empty()) cmd.lora.targets = default_lora_targets();
  if (!cmd.freeze.empty()) throw usage_error("--freeze: with --lora the whole base is frozen already");
  if (cmd.keep_optimizer) throw usage_error("--keep-optimizer: a LoRA run trains new parameters from a fresh state");
  cmd.values["lora"] = std::to_string(cmd.lora.rank);
  cmd.values["lora-alpha"] = v["lora-alpha"];
  cmd.values["lora-targets"] = join_words(cmd.lora.targets);
  cmd.values["lora-train-bias"] = cmd.lora.train_bias ? "true" : "false";
  cmd.values["lora-dropout"] = v["lora-dropout"];
}

// --vocab / --src-vocab / --tgt-vocab: new vocabularies for the base's model, remapped by
// cmd_finetune (models/vocab_remap.h). Only for a new run; which flags fit the base's model.
void resolve_new_vocabularies(const po::variables_map& vm, train_command& cmd) {
  auto path = [&](const char* k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  cmd.vocab_path = path("vocab");
  cmd.src_vocab_path = path("src-vocab");
  cmd.tgt_vocab_path = path("tgt-vocab");
  const bool one = !cmd.vocab_path.empty(), two = !cmd.src_vocab_path.empty() || !cmd.tgt_vocab_path.empty();
  if (!one && !two) return;
  const std::string first = one ? "--vocab" : !cmd.src_vocab_path.empty() ? "--src-vocab" : "--tgt-vocab";
  if (cmd.loaded.resumed)
    throw usage_error(first + ": a resumed run keeps its checkpoint's vocabularies (remapped when the run began)");
  if (one && two) throw usage_error("give either --vocab or --src-vocab/--tgt-vocab, not both");
  if (cmd.keep_optimizer)
    throw usage_error(first + " with --keep-optimizer: the base's optimizer state does not fit the rebuilt embedding "
                              "and output");
  const std::string& family = cmd.model.family;
  const bool pairs = task_for(family).format == data_format::pairs;
  if (two && !pairs)
    throw usage_error(first + " is for transformer and rnn; use --vocab for " + task_for(family).a_model(family));
  if (two && cmd.model.share_embeddings)
    throw usage_error(
        first + ": '" + cmd.base_path +
        "' shares one embedding between source and target (share_embeddings); give one vocabulary with --vocab");
  if (one && pairs && !cmd.loaded.base->vocabularies.count("shared"))
    throw usage_error("--vocab: '" + cmd.base_path +
                      "' has separate source and target vocabularies; give --src-vocab and/or --tgt-vocab");
  for (const auto& [k, v] : {std::pair<const char*, const std::string&>{"vocab", cmd.vocab_path},
                             {"src-vocab", cmd.src_vocab_path},
                             {"tgt-vocab", cmd.tgt_vocab_path}})
    if (!v.empty()) cmd.values[k] = v;  // the run's train_config records them
}

void resolve_finetune(const train_args& a, train_command& cmd) {
  const po::variables_map& vm = a.vm;
  auto given = [&](const std::string& k) { return vm.count(k) && !vm[k].defaulted(); };
  const std::string& resume = cmd.resume_path;
  const std::string& source = resume.empty() ? cmd.base_path : resume;
  if (cmd.loaded.resumed) {
    if (!cmd.loaded.resumed->metadata.count("finetuned_from"))
      throw usage_error("'" + resume + "' was not written by attn finetune: continue it with attn train --resume " +
                        resume);
    if (cmd.loaded.resumed->counters.count("step") == 0)
      throw attn::error("'" + resume + "' holds no training state: it cannot be resumed");
    if (cmd.output.empty()) cmd.output = resume;
    if (cmd.keep_optimizer) throw usage_error("--keep-optimizer is for a new run; --resume restores the run's own");
  }
  const checkpoint& src = cmd.loaded.resumed ? *cmd.loaded.resumed : *cmd.loaded.base;
  if (!src.model_config.count("family") || src.params.empty())
    throw attn::error("'" + source + "' holds no model (no model config or no parameters)");
  cmd.model = checked_model_config(src.model_config, "checkpoint '" + source + "'");

  // What the model decides when neither the command line nor a resumed run does.
  std::map<std::string, std::string> inherited{{"dropout", settings::format_float(cmd.model.dropout)},
                                               {"max-len", std::to_string(cmd.model.max_len)}};
  if (cmd.keep_optimizer) {
    const std::string kind = optimizer_kind_of(cmd.loaded.base->optimizer);
    if (kind.empty()) throw attn::error("'" + cmd.base_path + "' holds no optimizer state for --keep-optimizer");
    if (given("optimizer") && vm["optimizer"].as<std::string>() != kind)
      throw usage_error("--keep-optimizer: the base checkpoint's optimizer state is " + kind + "'s, not " +
                        vm["optimizer"].as<std::string>() + "'s");
    inherited["optimizer"] = kind;
  }
  // Layers: explicit (command line, --config) > the resumed checkpoint's > the model's > defaults.
  option_layers layers = given_layers(vm, a.config_keys);
  if (cmd.loaded.resumed) {
    layers.checkpoint_path = resume;
    layers.checkpoint = cmd.loaded.resumed->train_config;
  }
  layers.base_path = source;
  layers.inherited = inherited;
  layers.inherited_unblamed = {"optimizer"};  // --keep-optimizer's kind: no value to blame on the base
  std::vector<std::string> names;
  for (const run_option& r : run_options()) {
    if (r.role == option_role::path || !finetune_row(r)) continue;
    names.push_back(r.name);
    if (const auto d = finetune_default(r)) layers.defaults[r.name] = *d;
  }
  take_layers(cmd, merge_option_layers(names, layers));
  if (vm.count("freeze")) {
    cmd.freeze = vm["freeze"].as<std::vector<std::string>>();
    cmd.explicit_keys.insert("freeze");
  } else if (cmd.loaded.resumed && cmd.loaded.resumed->train_config.count("freeze")) {
    cmd.freeze = split_words(cmd.loaded.resumed->train_config.at("freeze"));
  }
  for (const auto& p : cmd.freeze)
    if (p.empty() || p.find_first_of(" \t") != std::string::npos)
      throw usage_error("--freeze takes a parameter name or pattern, not '" + p + "'");
  cmd.values["freeze"] = join_words(cmd.freeze);
  if (cmd.keep_optimizer) cmd.values["keep-optimizer"] = "true";
  resolve_lora(vm, cmd);
  resolve_new_vocabularies(vm, cmd);
  if (!cmd.values.count("train")) throw usage_error("--train is required");
  if (cmd.output.empty()) throw usage_error("-o/--output is required");

  const typed t{cmd.values, &cmd};
  const float dropout = t.number("dropout");
  if (cmd.loaded.resumed && cmd.explicit_keys.count("dropout") &&
      settings::format_float(dropout) != settings::format_float(cmd.model.dropout))
    throw usage_error("--dropout " + t.text("dropout") +
                      " conflicts with the checkpoint's dropout = " + settings::format_float(cmd.model.dropout));
  cmd.model.dropout = dropout;
  cmd.data.format = task_for(cmd.model.family).format;
  resolve_run_options(t, cmd);
  cmd.quiet = quiet_flag(vm);
  take_plan_flags(vm, cmd);
  validate_train_command(cmd);
}

}  // namespace

void resolve_train_command(const train_args& a, train_command& cmd) {
  if (a.command == "finetune")
    resolve_finetune(a, cmd);
  else
    resolve_train(a, cmd);
}

std::string keep_global_batch(train_command& cmd, int processes) {
  if (!cmd.loaded.resumed) return "";
  const std::int64_t stored = checkpoint_shards(*cmd.loaded.resumed);
  const std::int64_t mine = processes * cmd.train.accum_steps;
  if (stored == mine) return "";
  const std::string was = "'" + cmd.resume_path + "' was trained with global batches of " + std::to_string(stored) +
                          " per-process batches (processes x --accum-steps)";
  if (cmd.explicit_keys.count("accum-steps") || stored % processes != 0)
    throw usage_error(was + ", but this run has " + std::to_string(processes) + " x " +
                      std::to_string(cmd.train.accum_steps) + ": its data order would change; run it with a " +
                      "number of processes that divides " + std::to_string(stored) + " and without --accum-steps");
  cmd.train.accum_steps = stored / processes;
  cmd.values["accum-steps"] = std::to_string(cmd.train.accum_steps);
  return was + ": --accum-steps " + std::to_string(cmd.train.accum_steps) + " with " + std::to_string(processes) +
         (processes == 1 ? " process" : " processes") + " keeps them";
}

void check_data_readable(const train_command& cmd) {
  if (cmd.command == "finetune") {
    check_readable(cmd.values, {"train", "valid", "vocab", "src-vocab", "tgt-vocab"});
    return;
  }
  check_readable({{"train", cmd.train_path},
                  {"valid", cmd.valid_path},
                  {"vocab", cmd.vocab_path},
                  {"src-vocab", cmd.src_vocab_path},
                  {"tgt-vocab", cmd.tgt_vocab_path}},
                 {"train", "valid", "vocab", "src-vocab", "tgt-vocab"});
}

namespace {

bool parse_load_resolve(bool (*parse_args)(const args&, train_args&), const args& argv, train_command& cmd) {
  train_args a;
  if (!parse_args(argv, a)) return false;
  load_train_inputs(a, cmd);
  resolve_train_command(a, cmd);
  check_data_readable(cmd);
  warn_ignored(cmd);
  return true;
}

}  // namespace

bool parse_train_command(const args& argv, train_command& cmd) {
  return parse_load_resolve(parse_train_args, argv, cmd);
}

bool parse_finetune_command(const args& argv, train_command& cmd) {
  return parse_load_resolve(parse_finetune_args, argv, cmd);
}

}  // namespace attn::cli
