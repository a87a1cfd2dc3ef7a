#pragma once
// A training log as `attn train --log FILE` writes it (cli/progress.cpp, docs/training.md):
//   step,epoch,loss,lr,tokens,tokens_per_s,grad_norm,perplexity,accuracy,bits_per_byte,split
// one "train" row per step and one "valid" row per validation, read back into series for plotting.
// Columns are found by name, so logs with extra or reordered columns read too; empty fields
// (a validation row has no lr) are skipped.
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace attn::viz {

struct series {
  std::vector<double> step, value;  // the same length, steps in file order
};

struct training_log {
  std::string label;  // the run's name in legends (the file name)
  // "train loss", "lr", "tokens/s", "valid loss", "valid perplexity", "valid accuracy",
  // "valid bits per byte": each present only when the log has a value for it.
  std::map<std::string, series> metrics;
};

// Reads a log from `in`; `name` (the file as the user wrote it) labels the run and the errors.
// Throws attn::error naming it when the header lacks step, loss or split ("'x.csv' is not an attn
// training log: no 'split' column"), or for a row with a number that does not parse (naming the line).
training_log read_training_log(std::istream& in, const std::string& name);

}  // namespace attn::viz
