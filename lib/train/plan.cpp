// The training plan (plan.h): parameters by module, the arithmetic of batches and limits, and a
// calibration of memory and time on a copy of the model.
#include "train/plan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/process_memory.h"
#include "core/tape.h"
#include "data/batching.h"
#include "models/lora.h"
#include "models/memory_estimate.h"
#include "train/gradient_sync.h"
#include "train/schedule.h"

namespace attn {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr double float_bytes = 4;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Padded tokens of one shard: its examples x the longest one's batching length.
double shard_cost(const dataset& d, const std::vector<std::size_t>& part) {
  std::size_t longest = 0;
  for (const std::size_t i : part) longest = std::max(longest, d.lengths[i]);
  return static_cast<double>(part.size()) * static_cast<double>(longest);
}

// A global batch's padded tokens (the sum over its shards) and its largest shard's.
struct batch_cost {
  double total = 0, largest_shard = 0;
  std::size_t longest = 0;  // the longest example's batching length
};
batch_cost cost_of(const dataset& d, const std::vector<std::size_t>& global, std::size_t shards) {
  batch_cost c;
  for (const std::size_t i : global) c.longest = std::max(c.longest, d.lengths[i]);
  if (shards <= 1) {
    c.total = c.largest_shard = shard_cost(d, global);
    return c;
  }
  for (const auto& part : split_batch(global, shards)) {
    const double x = shard_cost(d, part);
    c.total += x;
    c.largest_shard = std::max(c.largest_shard, x);
  }
  return c;
}

double tape_bytes(const tape& t) {
  return static_cast<double>(t.memory().total());
}

double state_bytes(const optimizer_state& s) {
  double n = 0;
  for (const auto& kv : s.tensors) n += static_cast<double>(kv.second.size());
  return n * float_bytes;
}

}  // namespace

plan_parameters plan_parameters_of(const parameter_store& params) {
  plan_parameters out;
  std::map<std::string, std::size_t> where;
  for (const parameter* p : params.all()) {
    const std::string name = parameter_module(p->name);
    auto it = where.find(name);
    if (it == where.end()) {
      it = where.emplace(name, out.modules.size()).first;
      out.modules.push_back(plan_module{name, 0, 0, 0});
    }
    plan_module& m = out.modules[it->second];
    const std::size_t n = p->value.size();
    if (is_lora_parameter(p->name)) {
      m.lora += n;
      out.lora += n;
    } else if (p->trainable) {
      m.trainable += n;
      out.trainable += n;
    } else {
      m.frozen += n;
      out.frozen += n;
    }
    out.total += n;
    ++out.tensors;
  }
  return out;
}

plan_updates plan_updates_for(std::int64_t per_epoch, const train_options& o, const train_state& from, bool validates) {
  if (per_epoch <= 0) throw error("the training set makes no batch");
  if (o.epochs <= 0 && o.steps <= 0) throw error("set a limit: --epochs or --steps");
  constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();
  const std::int64_t by_steps = o.steps > 0 ? std::max<std::int64_t>(0, o.steps - from.step) : none;
  const std::int64_t by_epochs =
      o.epochs > 0 ? std::max<std::int64_t>(0, (o.epochs - from.epoch) * per_epoch - from.batch_in_epoch) : none;
  plan_updates u;
  u.accum_steps = std::max<std::int64_t>(o.accum_steps, 1);
  u.updates_per_epoch = per_epoch;
  u.start_step = from.step;
  u.updates = std::min(by_steps, by_epochs);
  u.limit = by_steps <= by_epochs ? "steps" : "epochs";
  u.epochs = static_cast<double>(u.updates) / static_cast<double>(per_epoch);
  if (validates && u.updates > 0) {
    // As the loop does: every valid_every steps, or at every epoch end; and once more at the
    // limit unless the last update was already validated.
    const std::int64_t end = from.step + u.updates;
    std::int64_t periodic = 0;
    bool last_validated = false;
    if (o.valid_every > 0) {
      periodic = end / o.valid_every - from.step / o.valid_every;
      last_validated = end % o.valid_every == 0;
    } else {
      const std::int64_t position = from.batch_in_epoch + u.updates;
      periodic = position / per_epoch;
      last_validated = position % per_epoch == 0;
    }
    u.validations = periodic + (last_validated ? 0 : 1);
    u.validations_in_loop = periodic;
  }
  return u;
}

double plan_peak(plan_memory& m, bool validates_in_loop, bool saves_in_loop) {
  // A validation inside the loop may save .best: both come while the update's tape is held.
  const double in_loop =
      std::max(validates_in_loop ? m.validation : 0.0, validates_in_loop || saves_in_loop ? m.checkpoint : 0.0);
  const double varying = std::max({m.activations + in_loop, m.checkpoint, m.validation});
  m.peak = std::max(m.loading, m.parameters + m.gradients + m.optimizer + m.other + varying);
  return m.peak;
}

training_plan plan_training(const training_run_inputs& in, const model& m, const optimizer& opt, const rng& gen,
                            const train_state& state, const plan_settings& settings) {
  if (in.group && in.group->size() > 1)
    throw error(
        "a training plan is made in one process: run it without mpirun (with --accum-steps N it plans "
        "the same global batch)");
  const train_options o = run_options_for(in);
  if (o.accum_steps < 1) throw error("--accum-steps must be at least 1");
  schedule_check(o.schedule);
  const dataset& data = in.data->train;
  if (data.examples.empty()) throw error("the training set holds no usable examples");
  const bool validates = in.has_valid && !in.data->valid.examples.empty();
  const auto shards = static_cast<std::size_t>(o.accum_steps);

  training_plan plan;
  plan.family = in.model.family;
  plan.parameters = plan_parameters_of(m.params());
  plan.optimizer = opt.config().kind;
  plan.optimizer_slots = optimizer_slot_count(opt.config().kind, opt.config().momentum, opt.config().centered);

  // Batches: the epoch the run starts in, in the loop's order.
  const std::vector<std::vector<std::size_t>> order =
      make_batches(data.lengths, global_batching(o.batching, shards), o.seed, static_cast<std::uint64_t>(state.epoch));
  const auto per_epoch = static_cast<std::int64_t>(order.size());
  if (state.batch_in_epoch > per_epoch)
    throw error("the checkpoint's data position (batch " + std::to_string(state.batch_in_epoch) + " of epoch " +
                std::to_string(state.epoch) + ") is past this data's " + std::to_string(per_epoch) +
                " batches: different data or batching options");
  plan_updates& u = plan.updates;
  u = plan_updates_for(per_epoch, o, state, validates);
  double epoch_cost = 0;
  std::vector<batch_cost> costs;
  for (const auto& b : order) {
    costs.push_back(cost_of(data, b, shards));
    epoch_cost += costs.back().total;
  }
  u.examples_per_update = static_cast<double>(data.examples.size()) / static_cast<double>(per_epoch);
  u.tokens_per_update = static_cast<double>(data.tokens()) / static_cast<double>(per_epoch);
  u.padded_tokens_per_update = epoch_cost / static_cast<double>(per_epoch);

  // The batches the run will see: the rest of this epoch's order up to its limit, or (when it
  // goes on into later epochs, whose batches are alike) the whole order.
  std::vector<std::size_t> visited;
  const auto first = static_cast<std::size_t>(state.batch_in_epoch);
  if (state.batch_in_epoch + std::max<std::int64_t>(u.updates, 1) > per_epoch) {
    for (std::size_t i = 0; i < order.size(); ++i) visited.push_back((first + i) % order.size());
  } else {
    for (std::int64_t i = 0; i < std::max<std::int64_t>(u.updates, 1); ++i)
      visited.push_back(first + static_cast<std::size_t>(i));
  }
  // Batches that shape the tape's memory: the largest (the biggest activations) and the longest
  // (the most nodes, for an rnn's steps).
  std::size_t largest = visited.front(), longest = visited.front();
  double visited_cost = 0;
  for (const std::size_t i : visited) {
    visited_cost += costs[i].total;
    if (costs[i].largest_shard > costs[largest].largest_shard) largest = i;
    if (costs[i].longest > costs[longest].longest ||
        (costs[i].longest == costs[longest].longest && costs[i].total > costs[longest].total))
      longest = i;
  }
  // When the longest batch is the largest: the largest of another shape instead, run before it,
  // so that the largest batch's backward pass meets the gradient buffers another batch's left in
  // the tape's pool (freed at the end of a backward pass that did not use them).
  if (longest == largest) {
    const auto shape = [&](std::size_t i) { return std::make_pair(order[i].size(), costs[i].longest); };
    for (const std::size_t i : visited)
      if (shape(i) != shape(largest) && (longest == largest || costs[i].total > costs[longest].total)) longest = i;
  }
  const double mean_visited_cost = visited_cost / static_cast<double>(visited.size());

  // The parts that are arithmetic.
  plan_memory& mem = plan.memory;
  const double trainable_values = static_cast<double>(plan.parameters.trainable + plan.parameters.lora);
  mem.parameters = static_cast<double>(plan.parameters.total) * float_bytes;
  mem.gradients = trainable_values * float_bytes;
  const double existing_state = state_bytes(opt.state());
  mem.optimizer = std::max(existing_state, static_cast<double>(plan.optimizer_slots) * trainable_values * float_bytes);
  {
    std::size_t max_length = 1;
    for (const std::size_t l : data.lengths) max_length = std::max(max_length, l);
    mem.formula_activations =
        estimate_training(in.model, o.batching.batch_tokens, o.batching.batch_size, max_length, plan.optimizer_slots,
                          o.recompute)
            .activation_bytes;
    // and the LoRA adapters' (models/lora.h), per token of a batch and per step
    const double tokens = o.batching.batch_tokens > 0
                              ? static_cast<double>(o.batching.batch_tokens)
                              : static_cast<double>(o.batching.batch_size) * static_cast<double>(max_length);
    for (const parameter* p : m.params().all())
      if (p->lora_a) {
        const lora_target w{p->name, p->value.shape()[0], p->value.shape()[1], p->lora_folded};
        mem.formula_activations +=
            (tokens * lora_floats_per_token(w, p->lora_a->value.shape()[1]) + lora_floats_per_step(w)) * float_bytes;
      }
  }
  mem.loading = peak_resident_bytes();
  const double resident = resident_bytes();
  // The process before the first update, less the model and the optimizer state it already holds.
  mem.other = std::max(0.0, resident - mem.parameters - existing_state);

  plan_time& time = plan.time;
  if (settings.calibration_steps <= 0) {
    mem.activations = mem.formula_activations;
  } else {
    // Calibration: a copy of the model, optimizer and rng, trained on real batches. The tape
    // keeps its buffers from step to step (core/tape.h), each node's sized by the last batch that
    // reached it, and its pool keeps the previous batch's gradient buffers until the end of a
    // backward pass, so what it holds after many batches is more than one batch's activations.
    // The first two updates set that up and are not timed: the longest batch (the most nodes: an
    // rnn has ops per step) or, when that is the largest, the largest of another shape (a short
    // last batch: reallocated buffers leave heap slack, measured +5 MB of a 40 MB lm
    // fine-tuning), then the largest over what it left; the first is also the warm-up. The
    // others are timed on the first batches of the run, in its order, so that they change shape
    // as often as its batches do (an update on a new shape reallocates the tape's buffers:
    // measured 0.040 s against 0.025 s for the same batch once the shape repeats). Their seconds
    // per padded token, times the run's mean padded tokens per update, give the time per update
    // (a batch under half the mean is left out when another was timed: its fixed costs weigh on
    // few tokens).
    // The first full-sized updates of a process are slower than the rest (the kernel maps in and
    // zeroes the pages of the buffers; measured 1.0-1.3 s against 0.22 s for an enc-dec with
    // glibc's default malloc policy, for its first two such updates and 0.38 s for the third):
    // while the first timed update is more than 1.25x the second per padded token, it counts
    // as warm-up and one more update of the run's order is timed, at most `settle_steps` times.
    std::vector<std::size_t> picks;
    if (longest != largest) picks.push_back(longest);
    picks.push_back(largest);
    const auto steps = static_cast<std::size_t>(settings.calibration_steps);
    const std::size_t untimed = std::max<std::size_t>(1, std::min(picks.size(), steps - 1));
    const std::size_t most = steps + static_cast<std::size_t>(std::max<std::int64_t>(0, settings.settle_steps));
    for (std::size_t i = 0; picks.size() < most; ++i) picks.push_back(visited[i % visited.size()]);
    const bool peak_reset = reset_peak_resident();
    const double before = resident_bytes();
    std::unique_ptr<model> copy = copy_model(m);
    copy->set_recompute(o.recompute);
    optimizer opt_copy = opt;
    rng gen_copy = gen;
    single_process alone;
    gradient_sync sync(copy->params(), alone);
    tape t;
    struct calibration_update {
      double seconds, cost, steps;
    };
    std::vector<calibration_update> warmup, timed;
    // The sequential steps of a global batch: its longest example's length, per shard.
    const auto steps_of = [&](std::size_t b) {
      return static_cast<double>(costs[b].longest) * static_cast<double>(shards);
    };
    const auto per_token = [](const calibration_update& u) { return u.cost > 0 ? u.seconds / u.cost : 0.0; };
    // Whether timed[i] takes part in the fit: a batch under half the mean does when no other can.
    const double regular_cost = mean_visited_cost / 2;
    double activations = 0;
    std::int64_t step = state.step;
    std::size_t k = 0;
    const auto run_update = [&]() {
      const std::size_t b = picks[k++];
      const auto start = clock_type::now();
      const update_outcome r = apply_update(*copy, opt_copy, gen_copy, t, data, order[b], o, step++, alone, sync);
      const double secs = seconds_since(start);
      if (!r.diverged.empty()) throw error("the plan's calibration diverged: " + r.diverged);
      activations = std::max(activations, tape_bytes(t));
      return calibration_update{secs, costs[b].total, steps_of(b)};
    };
    while (k < untimed) warmup.push_back(run_update());  // setting up the tape's memory, not timed
    while (k < steps) timed.push_back(run_update());
    while (timed.size() >= 2 && k < most && timed[0].cost >= regular_cost && timed[1].cost >= regular_cost &&
           per_token(timed[0]) > 1.25 * per_token(timed[1])) {
      warmup.push_back(timed.front());
      timed.erase(timed.begin());
      timed.push_back(run_update());
    }
    time.calibration_steps = static_cast<std::int64_t>(k);
    mem.activations = activations;
    std::vector<calibration_update> fit;
    for (const calibration_update& u : timed)
      if (u.cost >= regular_cost) fit.push_back(u);
    if (fit.empty()) fit = timed;   // only short batches timed: they are the best there is
    if (fit.empty()) fit = warmup;  // only the warm-up: the best there is
    // Seconds per padded token, times the run's mean padded tokens per update; or, from two or
    // more timed updates of different shapes, seconds = a x sequential steps + b x padded tokens
    // (least squares), averaged over the run's batches. An rnn's time follows its steps (its
    // recurrence is sequential) as much as its tokens: per token alone, two short-sentence
    // batches predicted half its time per update. A negative coefficient (noise) keeps the
    // per-token figure.
    double fit_seconds = 0, fit_cost = 0;
    for (const calibration_update& u : fit) {
      fit_seconds += u.seconds;
      fit_cost += u.cost;
    }
    const double rate = fit_cost > 0 ? fit_seconds / fit_cost : 0;
    double a = 0, b = rate;
    if (fit.size() >= 2) {
      double ss = 0, sc = 0, cc = 0, st = 0, ct = 0;
      for (const calibration_update& u : fit) {
        ss += u.steps * u.steps;
        sc += u.steps * u.cost;
        cc += u.cost * u.cost;
        st += u.steps * u.seconds;
        ct += u.cost * u.seconds;
      }
      const double det = ss * cc - sc * sc;
      if (std::abs(det) > 1e-9 * std::max(1.0, ss * cc)) {
        const double fa = (st * cc - ct * sc) / det;
        const double fb = (ss * ct - sc * st) / det;
        if (fa >= 0 && fb >= 0) {
          a = fa;
          b = fb;
        }
      }
    }
    double total = 0;
    for (const std::size_t i : visited) total += a * steps_of(i) + b * costs[i].total;
    time.seconds_per_update = total / static_cast<double>(visited.size());
    // What the warm-up took beyond the same updates in steady state: the run pays it too.
    for (const calibration_update& u : warmup) time.warmup_seconds += std::max(0.0, u.seconds - (a * u.steps + b * u.cost));
    mem.optimizer = std::max(mem.optimizer, state_bytes(opt_copy.state()));
    t.release();

    // A validation: its largest batch's forward pass, timed and measured, scaled to the whole set.
    if (validates) {
      const dataset& valid = in.data->valid;
      batching_config vb = o.batching;
      vb.shuffle = false;
      const auto vorder = make_batches(valid.lengths, vb, 0, 0);
      double total = 0;
      std::size_t vlargest = 0;
      for (std::size_t i = 0; i < vorder.size(); ++i) {
        const double c = shard_cost(valid, vorder[i]);
        total += c;
        if (c > shard_cost(valid, vorder[vlargest])) vlargest = i;
      }
      tape tv;
      no_grad off(tv);
      rng unused(0);
      const auto start = clock_type::now();
      copy->loss(tv, make_batch(valid, vorder[vlargest]), unused, 0.0f);
      const double secs = seconds_since(start);
      mem.validation = tape_bytes(tv);
      const double c = shard_cost(valid, vorder[vlargest]);
      time.validation_seconds = c > 0 ? secs * total / c : 0;
    }
    // What the updates took beyond the parts counted: BLAS buffers, threads, heap slack. (The
    // validation's tape came after the updates' was released.)
    if (peak_reset) {
      const double counted = mem.parameters + existing_state + mem.gradients + (mem.optimizer - existing_state) +
                             std::max(mem.activations, mem.validation);
      mem.other += std::max(0.0, peak_resident_bytes() - before - counted);
      mem.measured = true;
    }
  }

  // Writing a checkpoint: the checkpoint's copy of what it stores (save_checkpoint streams its
  // encoding to the file through a 1 MiB buffer).
  {
    const checkpoint base = run_checkpoint_base(in.base, in.model, in.train_config, *in.data);
    double text = 0;
    for (const auto& kv : base.vocabularies) text += static_cast<double>(kv.second.size());
    const bool adapter = base.metadata.count("lora_base_hash") > 0;
    const double stored = adapter ? trainable_values * float_bytes : mem.parameters;
    mem.checkpoint = stored + mem.optimizer + text + (1 << 20);
  }
  const std::int64_t end = u.start_step + u.updates;  // --save-every saves before the limit's step
  plan_peak(mem, u.validations_in_loop > 0,
            o.save_every > 0 && end > 0 && (end - 1) / o.save_every > u.start_step / o.save_every);
  plan.optimizer_state_bytes = mem.optimizer;
  time.run_seconds = static_cast<double>(u.updates) * time.seconds_per_update +
                     static_cast<double>(u.validations) * time.validation_seconds +
                     (u.updates > 0 ? time.warmup_seconds : 0.0);
  return plan;
}

}  // namespace attn
