// attn train: options -> vocabularies -> datasets -> model -> lib/train/loop, with the
// printing, signals and files the library leaves to the CLI. Exit codes: 0 done (limit reached
// or early stopping), 1 error or divergence (NaN/Inf loss: the last good checkpoint is kept),
// 2 usage error, 130 / 143 interrupted by SIGINT / SIGTERM (a checkpoint was saved first).
// --plan stops before the first update and prints what the run would cost (plan_report.h).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.h"
#include "core/error.h"
#include "models/checkpoint_record.h"
#include "models/memory_estimate.h"
#include "models/task.h"
#include "options.h"
#include "plan_report.h"
#include "processes.h"
#include "progress.h"
#include "run_outputs.h"
#include "signals.h"
#include "text/line_reader.h"
#include "text/vocab_builder.h"
#include "text/vocab_file.h"
#include "train/loop.h"
#include "train_command.h"

namespace attn::cli {

namespace {

// A BPE vocabulary built from the training file: lm = whole lines, pairs = both fields
// (one shared vocabulary), labeled = the text field.
vocab build_vocab_from(const std::string& path, data_format format, std::size_t size) {
  vocab_options o;
  o.kind = tokenizer_kind::bpe;
  o.size = size;
  if (const std::string problem = vocab_options_problem(o); !problem.empty())
    throw usage_error("--vocab-size: " + problem);
  vocab_builder b(o);
  input in(path);
  line_reader lines(in.stream(), path);
  std::string_view line;
  while (lines.next(line)) {
    if (format == data_format::lm) {
      b.add(line);
      continue;
    }
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    if (format == data_format::pairs) b.add(line.substr(0, tab));
    b.add(line.substr(tab + 1));
  }
  return b.build();
}

// The tokenizers: the resumed checkpoint's, the files given (-v, or --src-vocab and
// --tgt-vocab), or a BPE vocabulary built from --train. With labels, when resuming.
checkpoint_record vocabularies(const train_command& cmd, progress& out) {
  checkpoint_record given;
  if (!cmd.vocab_path.empty()) given.src = make_tokenizer(load_vocab(cmd.vocab_path));
  if (!cmd.src_vocab_path.empty() || !cmd.tgt_vocab_path.empty()) {
    if (cmd.data.format != data_format::pairs)
      throw usage_error("--src-vocab/--tgt-vocab are for transformer and rnn; use -v for " + cmd.model.family);
    if (cmd.src_vocab_path.empty() || cmd.tgt_vocab_path.empty())
      throw usage_error("--src-vocab and --tgt-vocab go together");
    given.src = make_tokenizer(load_vocab(cmd.src_vocab_path));
    given.tgt_own = make_tokenizer(load_vocab(cmd.tgt_vocab_path));
  }
  if (cmd.loaded.resumed) {
    // Only vocabularies given explicitly are read on resume (parse_train_command): compare those.
    const std::string named =
        !cmd.vocab_path.empty() ? "-v '" + cmd.vocab_path + "'"
                                : "--src-vocab/--tgt-vocab '" + cmd.src_vocab_path + "', '" + cmd.tgt_vocab_path + "'";
    if (given.src && vocabulary_texts(given) != cmd.loaded.resumed->vocabularies)
      throw attn::error("the vocabulary given with " + named + " differs from the one stored in checkpoint '" +
                        cmd.resume_path + "'");
    if (cmd.loaded.resumed->vocabularies.empty())
      throw attn::error("checkpoint '" + cmd.resume_path + "' holds no vocabulary");
    return read_checkpoint_record(*cmd.loaded.resumed, cmd.resume_path);
  }
  if (given.src) return given;
  out.note("building a " + std::to_string(cmd.vocab_size) + "-token BPE vocabulary from " + cmd.train_path);
  given.src = make_tokenizer(build_vocab_from(cmd.train_path, cmd.data.format, cmd.vocab_size));
  return given;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

}  // namespace

training_data read_training_data(const train_command& cmd, checkpoint_record model, bool grow_labels, progress& out) {
  training_data d;
  static_cast<checkpoint_record&>(d) = std::move(model);
  if (!d.src) throw attn::error("no vocabulary");
  const warning_sink warn = [&](const std::string& w) { out.warn(w); };
  dataset_options dopts = cmd.data;
  dopts.grow_labels = grow_labels;
  {
    input in(cmd.train_path);
    d.train = read_training_file(in.stream(), cmd.train_path, dopts, d, warn);
  }
  if (!cmd.valid_path.empty()) {
    dopts.grow_labels = false;
    input in(cmd.valid_path);
    d.valid = read_training_file(in.stream(), cmd.valid_path, dopts, d, warn);
  }
  return d;
}

int train_and_report(const train_command& cmd, const training_data& d, const model_config& mc, model& m, optimizer& opt,
                     rng& gen, train_state& state, checkpoint base, progress& out) {
  training_run_inputs run;
  run.data = &d;
  run.has_valid = !cmd.valid_path.empty();
  run.model = mc;
  run.train_config = cmd.values;
  run.options = cmd.train;
  run.base = std::move(base);
  run.group = &processes();
  if (cmd.plan) {  // everything up to the first update is done: print what the run would cost
    print_plan(std::cout, plan_training(run, m, opt, gen, state), cmd.command, cmd.plan_json);
    return 0;
  }
  out.note(mc.family + " model: " + std::to_string(m.params().element_count()) + " parameters, " +
           std::to_string(d.train.examples.size()) + " training examples" +
           (cmd.valid_path.empty() ? "" : ", " + std::to_string(d.valid.examples.size()) + " validation") +
           (cmd.loaded.resumed ? ", resuming at step " + std::to_string(state.step) : ""));

  std::unique_ptr<csv_log> log;
  if (!cmd.log_path.empty() && process_rank() == 0) log = std::make_unique<csv_log>(cmd.log_path, cmd.loaded.resumed ? state.step : -1);
  training_run_callbacks cb;
  cb.on_event = [&](const train_event& e, const train_options& effective) {
    out.event(e, effective);
    if (log) log->event(e);
  };
  cb.stop_requested = [] { return graceful_stop::requested(); };

  run_result r;
  {
    graceful_stop signals;
    r = run_training(run, m, opt, gen, state, cb);
  }
  out.done();
  if (log) log->close();
  if (process_count() > 1 && r.seconds > 0)
    out.note(std::to_string(process_count()) + " processes: " + seconds_text(r.sync_seconds) + " of " +
             seconds_text(r.seconds) + " (" + std::to_string(static_cast<int>(100 * r.sync_seconds / r.seconds + 0.5)) +
             " %) spent summing gradients");
  switch (r.status) {
    case train_status::diverged:
      throw attn::error(r.message +
                        ": training diverged (lower --lr, set --clip or --warmup); the last good "
                        "checkpoint, if any, is kept");
    case train_status::interrupted: {
      const int sig = graceful_stop::signal();
      out.warn(std::string("interrupted by ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + " at step " +
               std::to_string(state.step) + "; saved " + cmd.output + " (continue with attn " + cmd.command +
               " --resume " + cmd.output + ")");
      return sig == SIGTERM ? 143 : 130;
    }
    case train_status::early_stopped:
      out.note("early stopping at step " + std::to_string(state.step) + ": best validation loss at step " +
               std::to_string(state.best_valid_step) + " (" + cmd.output + ".best)");
      return 0;
    case train_status::finished:
      out.note("done: " + std::to_string(state.step) + " steps (" + std::to_string(state.epoch) +
               " full epochs); saved " + cmd.output);
      return 0;
  }
  return 0;
}

int cmd_train(const args& argv) {
  train_command cmd;
  if (!parse_train_command(argv, cmd)) return 0;
  progress out(cmd.quiet, cmd.log_every, cmd.command);
  const std::optional<run_outputs> claimed = claim_outputs(cmd, out);
  if (const std::string note = keep_global_batch(cmd, process_count()); !note.empty()) out.note(note);
  out.config(cmd.values);

  // Vocabularies, tokenizers and data (a resumed classifier's labels are fixed).
  checkpoint_record record = vocabularies(cmd, out);
  const bool grow_labels = record.labels.empty();
  const training_data d = read_training_data(cmd, std::move(record), grow_labels, out);

  // Model.
  model_config mc = cmd.model;
  mc.src_vocab = d.src->size();
  mc.tgt_vocab = d.tgt().size();
  if (cmd.data.format == data_format::labeled) {
    if (d.labels.size() < 2) throw attn::error("a classifier needs at least 2 labels in the training data");
    mc.num_classes = d.labels.size();
  }
  if (cmd.loaded.resumed) {
    const auto mine = mc.to_map();
    for (const auto& [k, v] : cmd.loaded.resumed->model_config)
      if (mine.count(k) && mine.at(k) != v)
        throw attn::error("the checkpoint's model has " + k + " = " + v + " but this data and options give " +
                          mine.at(k));
  }
  // A batch never holds more than the whole training set, whatever --batch-size or --batch-tokens say.
  const std::size_t examples = d.train.examples.size();
  const std::size_t longest =
      d.train.lengths.empty() ? 0 : *std::max_element(d.train.lengths.begin(), d.train.lengths.end());
  check_memory(
      estimate_training(mc, std::min(cmd.train.batching.batch_tokens, examples * longest),
                        std::min(cmd.train.batching.batch_size, examples), cmd.data.max_len,
                        optimizer_slot_count(cmd.optimizer.kind, cmd.optimizer.momentum, cmd.optimizer.centered),
                        cmd.train.recompute),
      "the " + mc.family + " model",
      "lower --batch-tokens, --batch-size, --max-len or the model's size" +
          std::string(task_for(mc.family).has_blocks && !cmd.train.recompute ? ", or add --recompute" : ""));
  rng gen(cmd.train.seed);
  std::unique_ptr<model> m = make_model(mc, gen);
  std::unique_ptr<optimizer> opt = make_optimizer(cmd.optimizer);
  train_state state;
  if (cmd.loaded.resumed) state = restore_training(*cmd.loaded.resumed, *m, *opt, gen);
  return train_and_report(cmd, d, mc, *m, *opt, gen, state, checkpoint{}, out);
}

}  // namespace attn::cli
