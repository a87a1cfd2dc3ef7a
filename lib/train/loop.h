#pragma once
// The training loop: batches from a dataset, forward and backward on the tape, clipping, the
// optimizer step with the scheduled LR, periodic validation, early stopping and checkpoints.
// It never prints: everything the user may want to see arrives through the event callback.
//
// Exact resume: batches are a pure function of (seed, epoch) (data/batching.h), and a
// checkpoint holds the step, the data position (epoch, batch_in_epoch), the optimizer state and
// the RNG state, so a run stopped after step k and resumed from its checkpoint computes the same
// parameters, bit for bit, as one that never stopped (given a deterministic BLAS: one thread).
//
// Data parallelism and gradient accumulation: one update's global batch is made with the
// per-process batch × processes × accum_steps (data/batching.h: global_batching), so the data
// order depends on the seed and the global batch only, and dealt into that many parts (shards).
// Each process runs forward and backward on its accum_steps shards, summing gradients of
// summed (not mean) losses; the gradients, the loss and the token count are then summed over the
// processes (gradient_sync) and divided by the global token count, so every process applies the
// same update from the same gradients, clipped on their global norm. 1 process × 2b, 1 process
// × b × 2 accumulation steps and 2 processes × b therefore train on the same examples and reach
// the same parameters up to the order of floating-point sums. Dropout draws from one stream per
// shard (seeded from the run's rng once per update), so even its masks do not depend on how the
// shards are spread. Checkpoints, logs and events that write are rank 0's (the caller's job for
// events); validation is shared out by batch and summed.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "core/config_fields.h"
#include "core/process_group.h"
#include "core/rng.h"
#include "data/batching.h"
#include "data/dataset.h"
#include "io/checkpoint.h"
#include "models/model.h"
#include "core/tape.h"
#include "train/gradient_sync.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace attn {

struct train_options {
  schedule_config schedule;  // LR as a function of the step
  batching_config batching;  // token budget or sentence count; shuffled per epoch
  std::uint64_t seed = 1;    // data order (with the epoch) and, through the rng, dropout
  std::int64_t epochs = 0;   // stop after this many epochs (0: no limit)
  std::int64_t steps = 0;    // stop after this many updates (0: no limit); one of the two must be set
  float clip = 1.0f;         // global gradient-norm limit (<= 0: no clipping)
  float label_smoothing = 0.0f;
  std::int64_t valid_every = 0;     // validate every N steps (0: at the end of each epoch)
  std::int64_t early_stopping = 0;  // stop after N validations without improvement (0: never)
  std::int64_t save_every = 0;      // also save the last checkpoint every N steps (0: only at the end)
  std::int64_t accum_steps = 1;     // forward/backward passes summed into one update (>= 1)
  bool recompute = false;           // activation checkpointing per block (model::set_recompute)
  std::string checkpoint_path;      // last state; the best validation's goes to PATH.best ("" = no files)
};

// The loop's own fields once (lib/core/config_fields.h); schedule and batching have their own
// visitors. attn train's loop options come from it.
template <class F>
void visit_fields(train_options& o, F&& f) {
  f("epochs", o.epochs, field_about("stop after N epochs (0: no limit; 10 when neither --epochs nor --steps is set)"));
  f("steps", o.steps, field_about("stop after N updates (0: no limit)"));
  f("clip", o.clip, field_about("global gradient-norm clipping (0: off)"));
  f("label_smoothing", o.label_smoothing, field_about("label smoothing epsilon"));
  f("seed", o.seed, field_about("random seed: initialisation, data order, dropout"));
  f("valid_every", o.valid_every, field_about("validate every N steps (0: after every epoch)"));
  f("early_stopping", o.early_stopping, field_about("stop after N validations without improvement (0: never)"));
  f("save_every", o.save_every, field_about("also save the checkpoint every N steps (0: only at the end)"));
  f("accum_steps", o.accum_steps,
    field_about("gradient accumulation: N forward/backward passes of one batch each per update (global batch = "
                "batch x processes x N)"));
  f("recompute", o.recompute,
    field_about("recompute each Transformer block's activations in the backward pass instead of keeping them "
                "(less memory, about a third more compute; not rnn)"));
  f("checkpoint_path", o.checkpoint_path, field_about("where the checkpoint goes (-o)").not_an_option());
}

// Where the best validation's checkpoint goes: PATH.best.
std::string best_path(const std::string& checkpoint_path);

// Where training stands; stored in checkpoint counters/metadata and restored by resume.
struct train_state {
  std::int64_t step = 0;                                        // updates applied
  std::int64_t epoch = 0;                                       // 0-based epoch of the next batch
  std::int64_t batch_in_epoch = 0;                              // index of the next batch within that epoch's order
  std::int64_t tokens_seen = 0;                                 // target tokens trained on
  double best_valid = std::numeric_limits<double>::infinity();  // lowest validation loss
  std::int64_t best_valid_step = 0;
  std::int64_t bad_validations = 0;  // validations since the best one
};

struct valid_result {
  double loss = 0;        // mean per target token
  double perplexity = 0;  // exp(loss)
  double accuracy = 0;    // correct / targets (argmax), e.g. classifier accuracy
  double bits_per_byte = 0;  // lm: total loss / ln 2 / dataset::bytes, comparable across tokenizers (0: n/a)
  std::size_t tokens = 0;
};

enum class train_event_kind {
  step,        // an update was applied
  validation,  // a validation finished (valid set, improved)
  saved,       // a checkpoint was written (path)
  epoch_end,   // an epoch was completed (state.epoch is the next one)
};

struct train_event {
  train_event_kind kind = train_event_kind::step;
  const train_state* state = nullptr;
  std::int64_t epoch_batches = 0;  // batches in the current epoch
  double loss = 0;                 // step: this batch's mean loss
  float lr = 0;
  float grad_norm = 0;           // before clipping
  std::size_t tokens = 0;        // step: target tokens in the batch
  double seconds = 0;            // since train() started
  double tokens_per_second = 0;  // step: since train() started
  valid_result valid;            // validation
  bool improved = false;         // validation: a new best
  std::string path;              // saved
};

enum class train_status {
  finished,       // the step or epoch limit was reached
  early_stopped,  // early_stopping validations without improvement
  interrupted,    // stop_requested() returned true; the last checkpoint was saved
  diverged,       // a non-finite loss or gradient norm; nothing was saved for that step
};

struct train_result {
  train_status status = train_status::finished;
  std::string message;        // diverged: what and where
  double seconds = 0;         // wall time of train()
  double sync_seconds = 0;    // of which summing gradients over the processes
};

struct train_inputs {
  const dataset* train = nullptr;
  const dataset* valid = nullptr;  // optional
  // Fixed parts of every checkpoint written: model_config, vocabularies, train_config, metadata.
  checkpoint base;
  std::function<void(const train_event&)> on_event;  // optional
  std::function<bool()> stop_requested;              // optional, polled after every step
  // The processes training together (lib/dist under mpirun); nullptr: this process alone.
  process_group* group = nullptr;
};

// One update, the body of train()'s loop: zero the gradients; forward and backward on the
// global batch `global` of example indices (this process's accum_steps shards of it when
// processes x accum_steps > 1, their gradients summed over the group by `sync` and divided by the
// global token count); clip; and the optimizer's step with the LR of update step + 1. The plan's
// calibration (train/plan.h) runs the same function on a copy of the model.
struct update_outcome {
  float loss = 0;          // mean per target token over the global batch
  std::size_t tokens = 0;  // target tokens in the global batch
  float grad_norm = 0;     // before clipping
  float lr = 0;
  std::string diverged;    // non-empty: a non-finite loss or norm, and where; nothing was applied
};
update_outcome apply_update(model& m, optimizer& opt, rng& gen, tape& t, const dataset& data,
                            const std::vector<std::size_t>& global, const train_options& opts, std::int64_t step,
                            process_group& group, gradient_sync& sync);

// Runs training from `state` (fresh or restored by restore_training) until a limit, early
// stopping, an interruption or divergence. Throws attn::error for inconsistent options or an
// empty training set.
train_result train(model& m, optimizer& opt, rng& gen, train_state& state, const train_options& opts,
                   const train_inputs& in);

// Validation loss, perplexity and accuracy over d, without recording (dropout off). progress
// (optional) is called after every batch with the number of examples scored so far.
// With a group, each process scores every size()-th batch and the sums are combined, so every
// process returns the same result.
valid_result validate(model& m, const dataset& d, const batching_config& batching,
                      const std::function<void(std::size_t examples_done)>& progress = {},
                      process_group* group = nullptr);

// How many shards (processes × accumulation steps) the global batches of checkpoint c were
// dealt into: its "shards" counter, 1 for checkpoints written before data parallelism.
std::int64_t checkpoint_shards(const checkpoint& c);

// The checkpoint of the current state: base + parameters, optimizer, schedule, counters, rng.
checkpoint make_training_checkpoint(const checkpoint& base, const model& m, const optimizer& opt, const rng& gen,
                                    const train_state& state, const schedule_config& schedule);

// Restores parameters, optimizer and rng from c into existing objects and returns its state.
// Throws attn::error if the parameters do not match the model. A LoRA adapter checkpoint holds
// only the adapters: m must already hold its base's parameters with the adapters attached.
train_state restore_training(const checkpoint& c, model& m, optimizer& opt, rng& gen);

}  // namespace attn
