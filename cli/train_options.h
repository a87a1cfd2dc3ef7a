#pragma once
// The options of `attn train`, resolved in layers: command line > --config FILE > the resumed
// checkpoint's train_config > defaults. Every option is declared once, in the table of
// train_options.cpp, as text; resolve_train_command() turns the merged text into typed structs.
#include <map>
#include <optional>
#include <set>
#include <string>

#include "commands.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "models/model_config.h"
#include "train/loop.h"
#include "train/optimizer.h"

namespace attn::cli {

struct train_command {
  // Every layered option (long name -> value text), as printed at start and stored as train_config.
  std::map<std::string, std::string> values;
  std::set<std::string> explicit_keys;  // given on the command line or in --config
  std::optional<checkpoint> resumed;    // --resume CKPT, loaded

  model_config model;  // family + architecture (vocab sizes, classes: later)
  optimizer_config optimizer;
  train_options train;  // checkpoint_path = output; cosine total: later
  std::string train_path, valid_path, output, log_path;
  std::string vocab_path, src_vocab_path, tgt_vocab_path;
  std::size_t vocab_size = 4000;
  dataset_options data;  // format, max_len, long policy, strict
  std::int64_t log_every = 100;
  bool quiet = false;
};

// Parses argv (after `train`) into cmd. Returns false when --help was printed. Throws
// usage_error for unknown options, bad values and conflicts with a resumed checkpoint.
bool parse_train_command(const args& argv, train_command& cmd);

}  // namespace attn::cli
