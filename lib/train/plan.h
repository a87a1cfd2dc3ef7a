#pragma once
// What a training run will cost, before it runs (`attn train|finetune ... --plan`): its
// parameters by module (trainable, frozen, LoRA), its optimizer state, its predicted peak memory
// by component, the batches of one update, how many updates and epochs its options imply, and its
// time per update and for the whole run, from a short calibration: a few real updates on real
// batches, on a copy of the model and optimizer (models/model.h: copy_model), then discarded.
// The model, optimizer and rng the run would use are not changed. Nothing is written or printed:
// the CLI formats the plan.
//
// The peak memory is predicted from the process as it stands before the first update (its
// resident size already holds the program, the libraries, the data, the vocabularies, any
// checkpoint read and the model) plus what training adds: gradients of the trainable parameters,
// the optimizer's state, the tape's activations for the largest batch the run will see (measured
// in the calibration, tape::memory()), the copies made while writing a checkpoint, and what the
// calibration shows the rest of an update takes (BLAS buffers, threads, heap slack: the growth of
// the peak resident size, core/process_memory.h, beyond the parts counted). Without
// calibration (calibration_steps = 0) the activations come from memory_estimate's formula.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "train/training_run.h"

namespace attn {

struct plan_module {
  std::string name;                                 // core/parameter.h: parameter_module
  std::size_t trainable = 0, frozen = 0, lora = 0;  // scalars (LoRA adapters: counted in lora only)
};

// The parameters by module, in creation order, and their totals.
struct plan_parameters {
  std::vector<plan_module> modules;
  std::size_t total = 0, trainable = 0, frozen = 0, lora = 0, tensors = 0;
};
plan_parameters plan_parameters_of(const parameter_store& params);

// One update's batches and how many updates the options imply, from where the run stands.
struct plan_updates {
  std::int64_t processes = 1, accum_steps = 1;
  std::int64_t updates_per_epoch = 0;    // global batches of one epoch
  double examples_per_update = 0;        // mean over an epoch
  double tokens_per_update = 0;          // target tokens (classifier: examples), mean over an epoch
  double padded_tokens_per_update = 0;   // examples x their batching length, mean over an epoch
  std::int64_t start_step = 0;           // the step the run starts from (--resume: the checkpoint's)
  std::int64_t updates = 0;              // updates the run will apply (from start_step to its limit)
  double epochs = 0;                     // the epochs those updates cover
  std::string limit;                     // "steps" or "epochs": the limit reached first
  std::int64_t validations = 0;          // with --valid: validations the run will make
  std::int64_t validations_in_loop = 0;  // of which inside the loop (not only the one at the limit)
};

// The arithmetic of the limits: `per_epoch` global batches per epoch, the loop's options, the
// state the run starts from, and whether it validates. Early stopping may end a run sooner.
plan_updates plan_updates_for(std::int64_t per_epoch, const train_options& o, const train_state& from, bool validates);

// The predicted peak and its parts, in bytes.
struct plan_memory {
  double parameters = 0;           // every parameter's value (base, frozen, adapters)
  double gradients = 0;            // trainable parameters only (frozen ones keep no gradient)
  double optimizer = 0;            // the optimizer's state after the first update
  double activations = 0;          // the tape's buffers for the largest batch of the run (one shard)
  double validation = 0;           // a validation batch's forward pass (its own tape), 0 without --valid
  double checkpoint = 0;           // the copies made while a checkpoint is written
  double other = 0;                // program, libraries, data, vocabularies, checkpoints read, BLAS buffers, heap slack
  double peak = 0;                 // predicted peak resident size (what GNU time's %M reports)
  double formula_activations = 0;  // memory_estimate's formula for the same batches, for comparison
  bool measured = false;           // activations and `other` were measured by a calibration
  // The phases whose peaks compete: an update (+ a validation or a save inside the loop) and the
  // final save or validation after the tape is released; and `loading`: the peak reached before
  // the plan (reading checkpoints and data).
  double loading = 0;
};

// The peak of the parts: max(loading, parameters + gradients + optimizer + other +
// max(activations + max(validation if it validates inside the loop, checkpoint if it validates
// or saves inside the loop), checkpoint, validation)): a validation or a save inside the loop
// comes while the update's tape is held; the last save and validation come after it is released.
// validation is 0 for a run without --valid. Sets m.peak and returns it.
double plan_peak(plan_memory& m, bool validates_in_loop, bool saves_in_loop);

struct plan_time {
  std::int64_t calibration_steps = 0;  // updates run; the first (two, or more to settle) not timed

  double warmup_seconds = 0;      // what the untimed first updates took beyond steady state
  double seconds_per_update = 0;  // timed updates, scaled to the run's mean padded tokens per update
  double validation_seconds = 0;  // one validation over --valid (forward passes), 0 without
  // updates x seconds_per_update + validations x validation_seconds + warmup_seconds
  double run_seconds = 0;
};

struct training_plan {
  std::string family;
  plan_parameters parameters;
  std::string optimizer;  // its kind
  std::size_t optimizer_slots = 0;
  double optimizer_state_bytes = 0;
  plan_updates updates;
  plan_memory memory;
  plan_time time;
};

struct plan_settings {
  // Updates of the calibration: the first two set up the tape's memory (the first also the
  // warm-up; only that one when every batch of the run has one shape) and are not timed, the
  // others are; 0: no calibration (no time, formula activations).
  std::int64_t calibration_steps = 4;
  // Updates the calibration may add while its first timed update is still warming up (more
  // than 1.25x the next one's time per padded token): that one then counts as warm-up.
  std::int64_t settle_steps = 4;
};

// The plan of run_training(in, m, opt, gen, state, ...), without running it: m, opt, gen and
// state are left as they are. Throws attn::error as run_training would for inconsistent options
// or a diverging calibration step. Single process only (in.group of size 1 or nullptr): the CLI
// refuses --plan under mpirun.
training_plan plan_training(const training_run_inputs& in, const model& m, const optimizer& opt, const rng& gen,
                            const train_state& state, const plan_settings& settings = {});

}  // namespace attn
