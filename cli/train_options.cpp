#include "train_options.h"

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
#include "core/threads.h"
#include "models/model.h"
#include "options.h"
#include "text/vocab.h"
#include "text/vocab_builder.h"
#include "train/settings.h"

namespace attn::cli {

namespace {

// path: not layered and not stored in the checkpoint; arch: a model_config key.
enum class kind { path, layered, arch, flag };

struct row {
  const char* name;  // "long,short" as Boost.Program_options spells it
  kind k;
  const char* def;  // nullptr: no default
  const char* help;
};

// clang-format off
const row table[] = {
  // what and where
  {"arch", kind::arch, nullptr, "model family: transformer | rnn | lm | classifier"},
  {"train", kind::layered, nullptr, "training data: lm = text lines; transformer/rnn = TSV source<TAB>target; classifier = TSV label<TAB>text"},
  {"valid", kind::layered, "", "validation data, same format"},
  {"output,o", kind::path, nullptr, "checkpoint to write (the best validation's goes to OUTPUT.best); default with --resume: that file"},
  {"config", kind::path, nullptr, "read options from FILE (key = value lines, the long option names); the command line wins"},
  {"resume", kind::path, nullptr, "continue training this checkpoint exactly where it stopped"},
  {"log", kind::path, nullptr, "append per-step metrics as CSV to FILE"},
  {"vocab,v", kind::layered, "", "shared vocabulary file (default: build a BPE vocabulary from the training data)"},
  {"src-vocab", kind::layered, "", "source vocabulary (transformer/rnn, with --tgt-vocab)"},
  {"tgt-vocab", kind::layered, "", "target vocabulary (transformer/rnn, with --src-vocab)"},
  {"vocab-size", kind::layered, "4000", "size of the BPE vocabulary built when none is given"},
  {"max-len", kind::layered, "256", "longest sequence in tokens (lm: window length)"},
  {"long", kind::layered, "truncate", "longer sequences: truncate | skip"},
  {"strict", kind::flag, "false", "a malformed data line is an error instead of being skipped"},
  // architecture (model_config)
  {"layers", kind::arch, "2", "Transformer layers (encoder and decoder each)"},
  {"d-model", kind::arch, "256", "Transformer width"},
  {"heads", kind::arch, "4", "attention heads"},
  {"ff", kind::arch, "1024", "feed-forward inner width"},
  {"activation", kind::arch, "gelu", "feed-forward activation: gelu | relu"},
  {"dropout", kind::arch, "0.1", "dropout probability"},
  {"attention", kind::arch, "scaled-dot", "attention scoring: scaled-dot | dot | general | additive"},
  {"pos-encoding", kind::arch, "sinusoidal", "positions: sinusoidal | learned | rope | none | hyperbolic"},
  {"combine", kind::arch, "residual", "sublayer combination: residual | concat"},
  {"norm", kind::arch, "pre", "LayerNorm position: pre | post"},
  {"embed", kind::arch, "128", "rnn: embedding width"},
  {"hidden", kind::arch, "256", "rnn: LSTM hidden width"},
  {"bidirectional", kind::arch, "false", "rnn: bidirectional encoder"},
  {"share-embeddings", kind::arch, "false", "transformer: one embedding table for source and target"},
  {"tie-output", kind::arch, "true", "output projection = target embedding transposed (--tie-output=false to untie)"},
  {"pooling", kind::arch, "mean", "classifier: mean | first"},
  // training
  {"optimizer", kind::layered, "adamw", "sgd | rmsprop | adam | adamw"},
  {"lr", kind::layered, "0.001", "peak learning rate"},
  {"weight-decay", kind::layered, "0.01", "weight decay (decoupled for adamw, L2 otherwise)"},
  {"momentum", kind::layered, "0", "sgd, rmsprop: momentum"},
  {"schedule", kind::layered, "constant", "LR schedule: constant | noam | cosine"},
  {"warmup", kind::layered, "0", "linear warmup steps (noam needs at least 1)"},
  {"min-lr", kind::layered, "0", "cosine: final learning rate"},
  {"batch-tokens", kind::layered, "4096", "padded tokens per batch (length-bucketed)"},
  {"batch-size", kind::layered, "0", "sentences per batch instead of --batch-tokens (0: use --batch-tokens)"},
  {"epochs", kind::layered, "0", "stop after N epochs (0: no limit; 10 when neither --epochs nor --steps is set)"},
  {"steps", kind::layered, "0", "stop after N updates (0: no limit)"},
  {"clip", kind::layered, "1", "global gradient-norm clipping (0: off)"},
  {"label-smoothing", kind::layered, "0", "label smoothing epsilon"},
  {"seed", kind::layered, "1", "random seed: initialisation, data order, dropout"},
  {"valid-every", kind::layered, "0", "validate every N steps (0: after every epoch)"},
  {"early-stopping", kind::layered, "0", "stop after N validations without improvement (0: never)"},
  {"save-every", kind::layered, "0", "also save the checkpoint every N steps (0: only at the end)"},
  {"log-every", kind::layered, "100", "a progress line every N steps when stderr is not a terminal"},
  {"quiet,q", kind::path, "false", "no progress or config on stderr (warnings and errors still)"},
};
// clang-format on

std::string long_name(const char* name) {
  const std::string s = name;
  return s.substr(0, s.find(','));
}

// "d-model" -> "d_model"; "arch" -> "family".
std::string config_key(const std::string& option) {
  if (option == "arch") return "family";
  std::string k = option;
  for (char& c : k)
    if (c == '-') c = '_';
  return k;
}

// "max_len" (a model_config or settings field) -> "max-len" (its option); "family" -> "arch".
std::string option_of(const std::string& field) {
  if (field == "family") return "arch";
  std::string k = field;
  for (char& c : k)
    if (c == '_') c = '-';
  return k;
}

// How an option's value is shown in messages: "--d-model 256" when given, "--d-model 256 (in
// 'run.cfg')" from a config file, "--d-model 256 (the default)" when not given, "d_model = 256"
// when it came from a checkpoint.
std::string describe(const train_command& cmd, const std::string& option) {
  if (const auto it = cmd.from_checkpoint.find(option); it != cmd.from_checkpoint.end())
    return it->second.second + " = " + cmd.values.at(option);
  const auto v = cmd.values.find(option);
  if (v == cmd.values.end()) {  // finetune: an architecture field, the base model's
    const auto m = cmd.model.to_map();
    const std::string key = config_key(option);
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

// Adds the rows `use` selects to cl; default_of gives each row's default (nullptr: none).
template <class Use, class Default>
void add_rows(command_line& cl, Use use, Default default_of) {
  for (const row& r : table) {
    if (!use(r)) continue;
    auto* v = po::value<std::string>();
    const char* d = default_of(r);
    const std::string def = d ? d : "";
    if (d) v->default_value(def);
    if (def == "false" || def == "true") v->implicit_value("true");  // `--strict` alone means true
    cl.options.add_options()(r.name, v, r.help);
  }
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
    for (const auto& o : parsed.options)
      if (!vm.count(o.string_key) || vm[o.string_key].defaulted()) from_file.insert(o.string_key);
    po::store(parsed, vm);
  } catch (const po::error& e) {
    throw usage_error(path + ": " + option_error_message(e));
  }
  if (vm.count("threads") && !vm["threads"].defaulted()) {
    const int threads = vm["threads"].as<int>();
    if (threads < 0) throw usage_error(path + ": threads must be 0 (all cores) or more, not " + std::to_string(threads));
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

  cmd.optimizer.kind = t.text("optimizer");
  cmd.optimizer.weight_decay = t.number("weight-decay");
  cmd.optimizer.momentum = t.number("momentum");
  train_options& o = cmd.train;
  o.schedule.kind = t.text("schedule");
  o.schedule.lr = t.number("lr");
  o.schedule.warmup = t.integer("warmup", any);
  o.schedule.min_lr = t.number("min-lr");
  if (o.schedule.kind != "constant" && o.schedule.kind != "noam" && o.schedule.kind != "cosine")
    throw usage_error("--schedule must be constant, noam or cosine, not '" + o.schedule.kind + "'");
  o.batching.batch_size = static_cast<std::size_t>(t.integer("batch-size", 0));
  const auto batch_tokens = static_cast<std::size_t>(t.integer("batch-tokens", 0));
  o.batching.batch_tokens = o.batching.batch_size > 0 ? 0 : batch_tokens;
  o.epochs = t.integer("epochs", any);
  o.steps = t.integer("steps", any);
  if (o.epochs == 0 && o.steps == 0) o.epochs = 10;
  o.clip = t.number("clip");
  o.label_smoothing = t.number("label-smoothing");
  o.seed = static_cast<std::uint64_t>(t.integer("seed", 0));
  o.valid_every = t.integer("valid-every", any);
  o.early_stopping = t.integer("early-stopping", any);
  o.save_every = t.integer("save-every", any);
  o.checkpoint_path = cmd.output;
  cmd.log_every = t.integer("log-every", any);
}

bool every_row(const row&) {
  return true;
}
const char* table_default(const row& r) {
  return r.def;
}

bool quiet_flag(const po::variables_map& vm) {
  const std::map<std::string, std::string> quiet{{"quiet", vm.count("quiet") ? vm["quiet"].as<std::string>() : ""}};
  return typed{quiet}.flag("quiet");
}

// The key under which a resumed checkpoint's train_config holds option k ("" when it does not):
// checkpoints written before --arch hold the family as "model".
std::string stored_key(const std::optional<checkpoint>& resumed, const std::string& k) {
  if (!resumed) return "";
  if (resumed->train_config.count(k)) return k;
  if (k == "arch" && resumed->train_config.count("model")) return "model";
  return "";
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
  const auto name = [&](const std::string& field) { return describe(cmd, option_of(field)); };
  // The architecture (finetune: only --dropout is new; the base's config was checked on loading).
  for (const config_problem& p : model_config_problems(cmd.model, name)) reject(cmd, option_of(p.field), p.rule);
  if (cmd.data.max_len < 2) reject(cmd, "max-len", "must be at least 2");
  if (cmd.command == "finetune" && cmd.data.max_len > cmd.model.max_len)
    reject(cmd, "max-len", "must not exceed the base model's max_len = " + std::to_string(cmd.model.max_len));
  // Optimizer, schedule, loop.
  {
    const auto kinds = optimizer_kinds();
    std::string known;
    bool found = false;
    for (const auto& k : kinds) {
      known += (known.empty() ? "" : ", ") + k.first;
      found = found || k.first == cmd.optimizer.kind;
    }
    if (!found) reject(cmd, "optimizer", "is not an optimizer (known: " + known + ")");
  }
  for (const config_problem& p : settings::train_settings_problems(cmd.optimizer, cmd.train, name))
    reject(cmd, option_of(p.field), p.rule);
  try {
    make_optimizer(cmd.optimizer);  // its own checks, on settings no option reaches today
  } catch (const attn::error& e) {
    throw usage_error(std::string("--optimizer ") + cmd.optimizer.kind + ": " + e.what());
  }
  if (cmd.log_every < 1) reject(cmd, "log-every", "must be at least 1");
  // Data and vocabularies (train: finetune's are the base checkpoint's).
  if (cmd.train_path == "-" && cmd.valid_path == "-") throw usage_error("--train and --valid cannot both be - (stdin)");
  if (cmd.command != "train" || cmd.resumed) return;
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
  const std::string a_family = (family == "rnn" || family == "lm" ? "an " : "a ") + family + " model";
  for (const row& r : table) {
    const std::string k = long_name(r.name);
    if (r.k == kind::arch && k != "arch" && cmd.explicit_keys.count(k) && !model_config_uses(family, config_key(k)))
      out.push_back("--" + k + " does not apply to " + a_family + " (ignored)");
  }
  const std::string& opt = cmd.optimizer.kind;
  if (given("momentum") && opt != "sgd" && opt != "rmsprop")
    out.push_back("--momentum applies to sgd and rmsprop, not " + opt + " (ignored)");
  if (given("min-lr") && cmd.train.schedule.kind != "cosine")
    out.push_back("--min-lr applies to --schedule cosine, not " + cmd.train.schedule.kind + " (ignored)");
  if (given("batch-tokens") && cmd.train.batching.batch_size > 0)
    out.push_back("--batch-tokens does not apply with --batch-size (ignored)");
  if (given("vocab-size") && (cmd.resumed || !cmd.vocab_path.empty() || !cmd.src_vocab_path.empty()))
    out.push_back(std::string("--vocab-size applies when a vocabulary is built, not ") +
                  (cmd.resumed ? "when resuming" : "with a vocabulary file") + " (ignored)");
  if (cmd.valid_path.empty())
    for (const char* k : {"valid-every", "early-stopping"})
      if (given(k)) out.push_back(std::string("--") + k + " needs --valid (ignored)");
  return out;
}

bool parse_train_command(const args& argv, train_command& cmd) {
  command_line cl;
  cl.name = "train";
  cl.usage =
      "attn train --arch transformer|rnn|lm|classifier --train FILE [--valid FILE] [options] -o CKPT\n"
      "       attn train --resume CKPT [options]";
  add_rows(cl, every_row, table_default);
  // -m/--model names a checkpoint in every other subcommand: here it only earns a hint (and a
  // --config file's old `model = FAMILY` key still means --arch).
  cl.options.add_options()("model,m", po::value<std::string>(), "(not a train option: the model family is --arch)");
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return false;
  if (vm.count("model")) reject_model_option(vm["model"].as<std::string>());
  cmd.config_keys = read_config_file(cl, vm);
  if (cmd.config_keys.count("model")) {  // `model = FAMILY` in the --config file: the old name of arch
    cmd.config_keys.erase("model");
    if (!vm.count("arch") || vm["arch"].defaulted()) {
      vm.erase("arch");
      vm.emplace("arch", po::variable_value(boost::any(vm["model"].as<std::string>()), false));
      cmd.config_keys.insert("arch");
    }
  }
  auto given = [&](const std::string& k) { return vm.count(k) && !vm[k].defaulted(); };
  auto path_of = [&](const std::string& k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  cmd.output = path_of("output");
  cmd.log_path = path_of("log");
  cmd.config_path = path_of("config");
  cmd.resume_path = path_of("resume");
  const std::string resume = path_of("resume");
  if (!resume.empty()) {
    cmd.resumed = load_checkpoint(resume);
    if (cmd.resumed->metadata.count("finetuned_from"))
      throw usage_error("'" + resume + "' is a fine-tuning run: continue it with attn finetune --resume " + resume);
    if (cmd.output.empty()) cmd.output = resume;
  }
  // Layers: explicit (command line, --config) > the resumed checkpoint's > defaults.
  for (const row& r : table) {
    const std::string k = long_name(r.name);
    if (r.k == kind::path) continue;
    if (given(k)) {
      cmd.values[k] = vm[k].as<std::string>();
      cmd.explicit_keys.insert(k);
    } else if (const std::string stored = stored_key(cmd.resumed, k); !stored.empty()) {
      cmd.values[k] = cmd.resumed->train_config.at(stored);
      cmd.from_checkpoint[k] = {resume, stored};
    } else if (vm.count(k)) {
      cmd.values[k] = vm[k].as<std::string>();
    }
  }
  if (!cmd.values.count("arch")) throw usage_error("--arch is required (transformer, rnn, lm or classifier)");
  if (!cmd.values.count("train")) throw usage_error("--train is required");
  if (cmd.output.empty()) throw usage_error("-o/--output is required");
  {
    const auto families = model_families();
    if (std::find(families.begin(), families.end(), cmd.values["arch"]) == families.end()) {
      std::string known;
      for (const auto& f : families) known += (known.empty() ? "" : ", ") + f;
      throw usage_error("--arch must be one of " + known + ", not '" + cmd.values["arch"] + "'");
    }
  }
  if (cmd.resumed) {
    if (cmd.resumed->counters.count("step") == 0)
      throw attn::error("'" + resume + "' holds no training state (a bare model?): it cannot be resumed");
    const auto& saved = cmd.resumed->model_config;
    if (saved.count("family") && saved.at("family") != cmd.values["arch"])
      throw usage_error("--arch " + cmd.values["arch"] + " conflicts with the checkpoint's family " +
                        saved.at("family"));
  }
  const typed t{cmd.values, &cmd};
  std::map<std::string, std::string> arch;
  for (const row& r : table)
    if (r.k == kind::arch) arch[config_key(long_name(r.name))] = t.text(long_name(r.name));
  arch["max_len"] = t.text("max-len");
  for (const auto& [key, value] : arch) {  // one at a time, so a bad value names its option
    try {
      model_config::from_map({{key, value}});
    } catch (const model_config_error& e) {
      reject_text(&cmd, option_of(key), value, e.expected);
    }
  }
  cmd.model = model_config::from_map(arch);
  if (cmd.resumed) {  // explicit architecture flags must agree with the checkpoint's model
    const auto mine = cmd.model.to_map();
    for (const row& r : table) {
      const std::string k = long_name(r.name), key = config_key(k);
      if (r.k != kind::arch || !cmd.explicit_keys.count(k)) continue;
      const auto it = cmd.resumed->model_config.find(key);
      if (it != cmd.resumed->model_config.end() && it->second != mine.at(key))
        throw usage_error("--" + k + " " + t.text(k) + " conflicts with the checkpoint's " + key + " = " + it->second);
    }
  }

  // A resumed run's vocabularies are the checkpoint's: the paths it stored are not read again.
  auto vocab_option = [&](const char* k) {
    return cmd.resumed && !cmd.explicit_keys.count(k) ? std::string() : t.text(k);
  };
  cmd.vocab_path = vocab_option("vocab");
  cmd.src_vocab_path = vocab_option("src-vocab");
  cmd.tgt_vocab_path = vocab_option("tgt-vocab");
  if (!cmd.vocab_path.empty() && (!cmd.src_vocab_path.empty() || !cmd.tgt_vocab_path.empty()))
    throw usage_error("give either -v/--vocab or --src-vocab/--tgt-vocab, not both");
  cmd.vocab_size = static_cast<std::size_t>(t.integer("vocab-size", 0));
  cmd.data.format = format_for_family(cmd.model.family);
  resolve_run_options(t, cmd);
  cmd.quiet = quiet_flag(vm);
  validate_train_command(cmd);
  check_readable({{"train", cmd.train_path},
                  {"valid", cmd.valid_path},
                  {"vocab", cmd.vocab_path},
                  {"src-vocab", cmd.src_vocab_path},
                  {"tgt-vocab", cmd.tgt_vocab_path}},
                 {"train", "valid", "vocab", "src-vocab", "tgt-vocab"});
  warn_ignored(cmd);
  return true;
}

namespace {

// Rows of the table that finetune takes: everything but the architecture (except --dropout) and
// the vocabularies, which are the base checkpoint's.
bool finetune_row(const row& r) {
  const std::string k = long_name(r.name);
  if (r.k == kind::arch) return k == "dropout";
  return k != "vocab" && k != "src-vocab" && k != "tgt-vocab" && k != "vocab-size";
}

// Finetune's own defaults: a lower LR; dropout and max-len come from the model (no default here).
const char* finetune_default(const row& r) {
  const std::string k = long_name(r.name);
  if (k == "lr") return "0.0001";
  if (k == "dropout" || k == "max-len") return nullptr;
  return r.def;
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

bool parse_finetune_command(const args& argv, train_command& cmd) {
  cmd.command = "finetune";
  // The model and its vocabularies are the base checkpoint's: say so rather than "unrecognised option".
  for (const std::string& a : argv) {
    if (a.rfind("--", 0) != 0) continue;
    const std::string k = a.substr(2, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 2);
    for (const row& r : table) {
      if (long_name(r.name) != k || finetune_row(r)) continue;
      throw usage_error("--" + k + ": a fine-tuned model keeps the base checkpoint's " +
                        (r.k == kind::arch ? "architecture (only --dropout may change)" : "vocabularies"));
    }
  }
  command_line cl;
  cl.name = "finetune";
  cl.usage =
      "attn finetune -m BASE.ckpt --train FILE [--valid FILE] [--freeze PATTERN]... [options] -o CKPT\n"
      "       attn finetune --resume CKPT [options]";
  // clang-format off
  cl.options.add_options()
      ("model,m", po::value<std::string>(), "base checkpoint: its model config, vocabularies, labels and parameters")
      ("freeze", po::value<std::vector<std::string>>()->composing(),
       "keep parameters fixed: a name prefix ending at a dot (encoder, layers.0.) or a pattern with * (embed*, "
       "*.bias); repeatable")
      ("keep-optimizer", po::value<std::string>()->default_value("false")->implicit_value("true"),
       "start from the base checkpoint's optimizer state (moments, step counts) instead of a fresh one");
  // clang-format on
  add_rows(cl, finetune_row, finetune_default);
  po::variables_map vm;
  if (!parse(cl, argv, vm)) return false;
  cmd.config_keys = read_config_file(cl, vm);
  auto given = [&](const std::string& k) { return vm.count(k) && !vm[k].defaulted(); };
  auto path_of = [&](const std::string& k) { return vm.count(k) ? vm[k].as<std::string>() : std::string(); };
  cmd.output = path_of("output");
  cmd.log_path = path_of("log");
  cmd.config_path = path_of("config");
  cmd.resume_path = path_of("resume");
  cmd.base_path = path_of("model");
  const std::string resume = path_of("resume");
  if (!resume.empty() && !cmd.base_path.empty())
    throw usage_error("give -m BASE (start fine-tuning) or --resume CKPT (continue a fine-tuning run), not both");
  if (resume.empty() && cmd.base_path.empty()) throw usage_error("-m/--model BASE.ckpt is required");
  {
    const std::map<std::string, std::string> keep{{"keep-optimizer", vm["keep-optimizer"].as<std::string>()}};
    cmd.keep_optimizer = typed{keep}.flag("keep-optimizer");
  }
  const std::string& source = resume.empty() ? cmd.base_path : resume;
  if (!resume.empty()) {
    cmd.resumed = load_checkpoint(resume);
    if (!cmd.resumed->metadata.count("finetuned_from"))
      throw usage_error("'" + resume + "' was not written by attn finetune: continue it with attn train --resume " +
                        resume);
    if (cmd.resumed->counters.count("step") == 0)
      throw attn::error("'" + resume + "' holds no training state: it cannot be resumed");
    if (cmd.output.empty()) cmd.output = resume;
    if (cmd.keep_optimizer) throw usage_error("--keep-optimizer is for a new run; --resume restores the run's own");
  } else {
    cmd.base = load_checkpoint(cmd.base_path);
  }
  const checkpoint& src = cmd.resumed ? *cmd.resumed : *cmd.base;
  if (!src.model_config.count("family") || src.params.empty())
    throw attn::error("'" + source + "' holds no model (no model config or no parameters)");
  cmd.model = checked_model_config(src.model_config, "checkpoint '" + source + "'");

  // What the model decides when neither the command line nor a resumed run does.
  std::map<std::string, std::string> inherited{{"dropout", settings::format_float(cmd.model.dropout)},
                                               {"max-len", std::to_string(cmd.model.max_len)}};
  if (cmd.keep_optimizer) {
    const std::string kind = optimizer_kind_of(cmd.base->optimizer);
    if (kind.empty()) throw attn::error("'" + cmd.base_path + "' holds no optimizer state for --keep-optimizer");
    if (given("optimizer") && vm["optimizer"].as<std::string>() != kind)
      throw usage_error("--keep-optimizer: the base checkpoint's optimizer state is " + kind + "'s, not " +
                        vm["optimizer"].as<std::string>() + "'s");
    inherited["optimizer"] = kind;
  }
  // Layers: explicit (command line, --config) > the resumed checkpoint's > the model's > defaults.
  for (const row& r : table) {
    const std::string k = long_name(r.name);
    if (r.k == kind::path || !finetune_row(r)) continue;
    if (given(k)) {
      cmd.values[k] = vm[k].as<std::string>();
      cmd.explicit_keys.insert(k);
    } else if (const std::string stored = stored_key(cmd.resumed, k); !stored.empty()) {
      cmd.values[k] = cmd.resumed->train_config.at(stored);
      cmd.from_checkpoint[k] = {resume, stored};
    } else if (inherited.count(k)) {
      cmd.values[k] = inherited.at(k);
      if (k != "optimizer") cmd.from_checkpoint[k] = {source, config_key(k)};
    } else if (vm.count(k)) {
      cmd.values[k] = vm[k].as<std::string>();
    }
  }
  if (vm.count("freeze")) {
    cmd.freeze = vm["freeze"].as<std::vector<std::string>>();
    cmd.explicit_keys.insert("freeze");
  } else if (cmd.resumed && cmd.resumed->train_config.count("freeze")) {
    cmd.freeze = split_words(cmd.resumed->train_config.at("freeze"));
  }
  for (const auto& p : cmd.freeze)
    if (p.empty() || p.find_first_of(" \t") != std::string::npos)
      throw usage_error("--freeze takes a parameter name or pattern, not '" + p + "'");
  cmd.values["freeze"] = join_words(cmd.freeze);
  if (cmd.keep_optimizer) cmd.values["keep-optimizer"] = "true";
  if (!cmd.values.count("train")) throw usage_error("--train is required");
  if (cmd.output.empty()) throw usage_error("-o/--output is required");

  const typed t{cmd.values, &cmd};
  const float dropout = t.number("dropout");
  if (cmd.resumed && cmd.explicit_keys.count("dropout") &&
      settings::format_float(dropout) != settings::format_float(cmd.model.dropout))
    throw usage_error("--dropout " + t.text("dropout") +
                      " conflicts with the checkpoint's dropout = " + settings::format_float(cmd.model.dropout));
  cmd.model.dropout = dropout;
  cmd.data.format = format_for_family(cmd.model.family);
  resolve_run_options(t, cmd);
  cmd.quiet = quiet_flag(vm);
  validate_train_command(cmd);
  check_readable(cmd.values, {"train", "valid"});
  warn_ignored(cmd);
  return true;
}

}  // namespace attn::cli
