#pragma once
// A training run's library side, between the parsed options and the loop: the data read with
// the model's tokenizers (training_data), the schedule completed from the data, the fixed part
// of every checkpoint the run writes, and the run itself (run_training). The command line opens
// the files, prints, handles signals and writes the CSV log through the run's callbacks
// (training_run_callbacks::on_event, stop_requested), and turns the returned status into
// messages and exit codes.
#include <functional>
#include <iosfwd>
#include <map>
#include <string>

#include "data/dataset.h"
#include "io/checkpoint.h"
#include "models/checkpoint_record.h"
#include "models/model_config.h"
#include "train/loop.h"

namespace attn {

// The tokenized --train and --valid data, with the tokenizers and labels of the model
// (checkpoint_record: what its checkpoints will carry).
struct training_data : checkpoint_record {
  dataset train, valid;
};

using warning_sink = std::function<void(const std::string&)>;

// Reads one data file, open as `in` (`path` names it in messages), with d's tokenizers into a
// dataset; a classifier's labels (d.labels) grow when opts.grow_labels. Malformed, truncated and
// skipped lines are reported through `warn`, one line each ("3 malformed lines of 10 in x.tsv
// skipped:", then the first problems). Throws attn::error, one line, when the file holds no usable
// example (no_examples_message: no warnings then).
dataset read_training_file(std::istream& in, const std::string& path, const dataset_options& opts, training_data& d,
                           const warning_sink& warn);

// The options the loop runs with: `o`, with the cosine schedule's total steps taken from the
// data (--steps, or --epochs × the global batches of one epoch, for `processes` processes;
// at least warmup + 1).
train_options with_schedule_total(train_options o, const dataset& train, int processes = 1);

// The fixed part of every checkpoint the run writes: `base` (other metadata) with the model
// config, the options as text (train_config) and d's record (vocabularies, labels, lineage).
checkpoint run_checkpoint_base(checkpoint base, const model_config& mc,
                               const std::map<std::string, std::string>& train_config, const training_data& d);

// What one run trains on and records: the data (valid used when has_valid), the model config
// and the options as text (train_config) stored in every checkpoint, the loop's options (the
// cosine total is filled in from the data), and `base`: other checkpoint metadata.
struct training_run_inputs {
  const training_data* data = nullptr;
  bool has_valid = false;
  model_config model;
  std::map<std::string, std::string> train_config;
  train_options options;
  checkpoint base;
  process_group* group = nullptr;  // the processes training together; nullptr: this one alone
};

struct training_run_callbacks {
  // Every loop event, with the options the loop runs with (the cosine total filled in). Optional.
  std::function<void(const train_event&, const train_options&)> on_event;
  std::function<bool()> stop_requested;  // optional, polled after every step
};

struct run_result {
  train_status status = train_status::finished;
  std::string message;    // diverged: what and where
  train_options options;  // the options the loop ran with
  double seconds = 0, sync_seconds = 0;  // the loop's wall time, and its gradient exchange's
};

// The effective options of run_training (with_schedule_total of in.options and in.data's train set).
train_options run_options_for(const training_run_inputs& in);

// Runs the loop on prepared objects from `state` (fresh or restored): the effective options,
// checkpoints with run_checkpoint_base(in.base, ...), events and stop requests through `cb`.
// Never prints; throws attn::error for inconsistent options.
run_result run_training(const training_run_inputs& in, model& m, optimizer& opt, rng& gen, train_state& state,
                        const training_run_callbacks& cb);

}  // namespace attn
