#pragma once
// A training run's library side, between the parsed options and the loop: the data read with
// the model's tokenizers (training_data), the schedule completed from the data, and the fixed
// part of every checkpoint the run writes. The command line opens the files, prints, handles
// signals and writes the CSV log through the loop's callbacks (train_inputs::on_event,
// stop_requested).
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
// skipped:", then the first problems). Throws attn::error when the file holds no usable example.
dataset read_training_file(std::istream& in, const std::string& path, const dataset_options& opts,
                           training_data& d, const warning_sink& warn);

// The options the loop runs with: `o`, with the cosine schedule's total steps taken from the
// data (--steps, or --epochs × the batches of one epoch; at least warmup + 1).
train_options with_schedule_total(train_options o, const dataset& train);

// The fixed part of every checkpoint the run writes: `base` (other metadata) with the model
// config, the options as text (train_config) and d's record (vocabularies, labels, lineage).
checkpoint run_checkpoint_base(checkpoint base, const model_config& mc,
                               const std::map<std::string, std::string>& train_config, const training_data& d);

}  // namespace attn
