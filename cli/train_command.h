#pragma once
// The options of `attn train` and `attn finetune`, resolved in layers: command line > --config
// FILE > the resumed checkpoint's train_config > (finetune: the base model's) > defaults. Every
// option is declared once, in lib/train/run_config.h (run_options(), merged by
// merge_option_layers()). Three steps: parse argv (no file access), load (the --config file,
// the resumed or base checkpoint), resolve (merge the layers into typed structs and validate).
// The run itself (data, loop, progress, signals) is shared too: read_training_data() and
// train_and_report() (around lib/train's run_training), in cmd_train.cpp.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "models/checkpoint_record.h"
#include "models/lora.h"
#include "models/model_config.h"
#include "options.h"
#include "progress.h"
#include "text/tokenizer.h"
#include "train/loop.h"
#include "train/optimizer.h"
#include "train/training_run.h"

namespace attn::cli {

// What the user asked for: the options, resolved through their layers, as text and typed.
struct train_request {
  std::string command = "train";  // "train" or "finetune": messages and the --resume hint
  // Every layered option (long name -> value text), as printed at start and stored as train_config.
  std::map<std::string, std::string> values;
  std::set<std::string> explicit_keys;  // given on the command line or in --config
  std::set<std::string> config_keys;    // those of explicit_keys that came from --config
  // Layered values that came from a checkpoint (the resumed run's train_config, finetune's base
  // model): option -> (checkpoint path, the key as stored there). Their errors blame that file.
  std::map<std::string, std::pair<std::string, std::string>> from_checkpoint;

  model_config model;  // train: family + architecture (vocab sizes, classes: later); finetune: the base's
  optimizer_config optimizer;
  train_options train;  // checkpoint_path = output; cosine total: later
  std::string train_path, valid_path, output, log_path;
  std::string config_path, resume_path;  // --config FILE, --resume CKPT (inputs: never written over)
  std::string vocab_path, src_vocab_path, tgt_vocab_path;
  std::size_t vocab_size = 4000;
  dataset_options data;  // format, max_len, long policy, strict
  std::int64_t log_every = 100;
  bool quiet = false;
  bool plan = false;       // --plan: print what the run will cost and exit (lib/train/plan.h)
  bool plan_json = false;  // --json: the plan as one JSON object

  // attn finetune only
  std::string base_path;            // -m BASE (empty when resuming)
  std::vector<std::string> freeze;  // --freeze patterns (train/freeze.h)
  bool keep_optimizer = false;      // start from BASE's optimizer state
  lora_options lora;                // --lora R (rank 0: a full fine-tuning), --lora-alpha, -targets, -train-bias
  std::string lora_base;            // --base: an adapter's base when resuming (default: the stored path)
};

// What was loaded for it: the checkpoints the run starts from.
struct loaded_checkpoints {
  std::optional<checkpoint> resumed;  // --resume CKPT
  std::optional<checkpoint> base;     // finetune: -m BASE (fresh runs)
};

struct train_command : train_request {
  loaded_checkpoints loaded;
};

// The command line as parsed, before any file is read: Boost's values (argv alone until
// load_train_inputs adds the --config file's), the table they were parsed against, and the
// options the --config file set (filled by load_train_inputs).
struct train_args {
  std::string command = "train";  // "train" or "finetune"
  command_line cl{"train", "", po::options_description{"options"}, po::positional_options_description{}, false, "", {}};
  po::variables_map vm;
  std::set<std::string> config_keys;
};

// Step 1, no file access: parses argv (after `train` / `finetune`) into a. Returns false when
// --help was printed. Throws usage_error for unknown options, missing values, `train -m`, and
// finetune's architecture or vocabulary flags.
bool parse_train_args(const args& argv, train_args& a);
bool parse_finetune_args(const args& argv, train_args& a);

// Step 2, the files the options name: reads the --config file into a (its errors name the
// file), sets cmd's paths, and loads the resumed checkpoint (--resume) or finetune's base (-m;
// finetune first checks that exactly one of the two is given). Opens no data file.
void load_train_inputs(train_args& a, train_command& cmd);

// Step 3, no file access: merges the layers (merge_option_layers), checks them against the
// loaded checkpoints, fills cmd's typed structs and validates them (validate_train_command).
void resolve_train_command(const train_args& a, train_command& cmd);

// Fails before any work when --train, --valid or a vocabulary file cannot be read.
void check_data_readable(const train_command& cmd);

// All of the above for `attn train`, then the ignored-option warnings on stderr. Returns false
// when --help was printed. Throws usage_error for unknown options, bad values and conflicts
// with a resumed checkpoint.
bool parse_train_command(const args& argv, train_command& cmd);

// Checks every option of cmd against its range and the others (model_config_problems,
// settings::train_settings_problems, and the CLI's own: --vocab-size, --log-every, --max-len,
// --train -), before any data file is opened. Throws usage_error naming the option as the user
// wrote it ("--heads 3 must divide --d-model 256"), "(the default)" when it was not given, the
// config file when it came from one; a value taken from a checkpoint throws attn::error naming
// the checkpoint instead ("checkpoint 'x.ckpt' holds max_len = 0 (must be at least 2)").
// resolve_train_command calls it.
void validate_train_command(const train_command& cmd);

// One message per option given explicitly that this run ignores ("--heads does not apply to an
// rnn model"); the parse functions print them as warnings.
std::vector<std::string> ignored_options(const train_command& cmd);

// The same for `attn finetune`: the training options of `train` (--lr defaults to 1e-4) without
// architecture or vocabulary flags, plus -m BASE, --freeze PATTERN and --keep-optimizer. Loads
// BASE (or the resumed checkpoint) and takes cmd.model from it, with --dropout applied.
bool parse_finetune_command(const args& argv, train_command& cmd);

// Opens cmd's --train and --valid and reads them (lib/train/training_run.h) with model's tokenizers, reporting
// malformed, truncated and skipped lines through `out`. A classifier's labels grow from the training data when
// `grow_labels`; otherwise model.labels is the fixed list and other labels make malformed lines.
// Throws attn::error when a file holds no usable example.
// A resumed run continues its data order only with the global batches it was trained with
// (lib/train/loop.h): run by another number of processes, its --accum-steps, unless given,
// becomes the checkpoint's shards / processes. Returns a note saying so ("" when nothing
// changed); throws usage_error when the global batch cannot be kept.
std::string keep_global_batch(train_command& cmd, int processes);

training_data read_training_data(const train_command& cmd, checkpoint_record model, bool grow_labels, progress& out);

// Runs lib/train's run_training (training_run.h) on prepared objects with progress, --log,
// SIGINT/SIGTERM handling, and turns its status into the final message and exit code: 0, or
// 130 / 143 when interrupted after saving; throws attn::error on divergence. `base` holds
// what to store besides the model config, train_config and d's record.
int train_and_report(const train_command& cmd, const training_data& d, const model_config& mc, model& m, optimizer& opt,
                     rng& gen, train_state& state, checkpoint base, progress& out);

}  // namespace attn::cli
