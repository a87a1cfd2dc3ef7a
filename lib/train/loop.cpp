#include "train/loop.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/ops.h"
#include "core/tape.h"
#include "models/lora.h"
#include "train/clip.h"
#include "train/gradient_sync.h"

namespace attn {

std::string best_path(const std::string& path) { return path + ".best"; }

namespace {

using clock_type = std::chrono::steady_clock;

train_event event_of(train_event_kind kind) {
  train_event e;
  e.kind = kind;
  return e;
}

// One dropout stream per shard of an update: splitmix64 of (the update's seed, the shard).
std::uint64_t shard_seed(std::uint64_t update_seed, std::size_t shard) {
  std::uint64_t z = update_seed + 0x9E3779B97F4A7C15ULL * (shard + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// FNV-1a over what every process of a run must agree on.
struct fingerprint {
  std::uint64_t h = 1469598103934665603ULL;
  void add(const std::string& s) {
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    add(static_cast<std::uint64_t>(s.size()));
  }
  void add(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ULL;
  }
  void add(const std::map<std::string, std::string>& m) {
    for (const auto& [k, v] : m) {
      add(k);
      add(v);
    }
  }
  void add(const dataset& d) {
    add(static_cast<std::uint64_t>(d.examples.size()));
    add(static_cast<std::uint64_t>(d.tokens()));
    add(static_cast<std::uint64_t>(d.bytes));
  }
};

// Throws, on every process alike, when the processes were not given the same configuration,
// vocabulary, data and position.
void agree_on_run(process_group& group, const train_inputs& in, const train_state& state, const model& m) {
  fingerprint f;
  f.add(in.base.model_config);
  f.add(in.base.train_config);
  f.add(in.base.vocabularies);
  f.add(*in.train);
  if (in.valid) f.add(*in.valid);
  f.add(static_cast<std::uint64_t>(state.step));
  f.add(static_cast<std::uint64_t>(state.epoch));
  f.add(static_cast<std::uint64_t>(state.batch_in_epoch));
  f.add(static_cast<std::uint64_t>(m.params().element_count()));
  const std::vector<std::uint64_t> all = group.gather_all(f.h);
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw attn::error("process " + std::to_string(r) + " of " + std::to_string(all.size()) +
                        " was given another configuration, vocabulary, data or checkpoint than process 0: every "
                        "process must run the same command on the same files");
}

std::int64_t counter(const checkpoint& c, const char* key) {
  const auto it = c.counters.find(key);
  if (it == c.counters.end()) throw attn::error(std::string("checkpoint has no '") + key + "' counter");
  if (it->second < 0) throw attn::error(std::string("checkpoint counter '") + key + "' is negative");
  return it->second;
}

}  // namespace

valid_result validate(model& m, const dataset& d, const batching_config& batching,
                      const std::function<void(std::size_t examples_done)>& progress, process_group* group) {
  batching_config cfg = batching;
  cfg.shuffle = false;
  const std::size_t ranks = group ? static_cast<std::size_t>(group->size()) : 1;
  const std::size_t rank = group ? static_cast<std::size_t>(group->rank()) : 0;
  tape t;
  no_grad off(t);
  rng unused(0);  // dropout is off without recording; a private rng keeps the run's stream untouched
  // loss sum, tokens, correct, examples: summed over the processes at the end.
  double sums[4] = {0, 0, 0, 0};
  const auto batches = make_batches(d.lengths, cfg, 0, 0);
  for (std::size_t i = rank; i < batches.size(); i += ranks) {
    t.reset();
    const batch b = make_batch(d, batches[i]);
    const loss_result r = m.loss(t, b, unused, 0.0f);
    sums[0] += static_cast<double>(r.loss.value()(0, 0)) * static_cast<double>(r.tokens);
    sums[1] += static_cast<double>(r.tokens);
    sums[2] += static_cast<double>(r.correct);
    sums[3] += static_cast<double>(batches[i].size());
    if (progress) progress(static_cast<std::size_t>(sums[3]));
  }
  if (group) group->sum(sums, 4);
  valid_result v;
  v.tokens = static_cast<std::size_t>(sums[1]);
  if (v.tokens > 0) {
    v.loss = sums[0] / sums[1];
    v.accuracy = sums[2] / sums[1];
  }
  v.perplexity = std::exp(v.loss);
  if (d.bytes > 0) v.bits_per_byte = sums[0] / std::log(2.0) / static_cast<double>(d.bytes);
  return v;
}

std::int64_t checkpoint_shards(const checkpoint& c) {
  const auto it = c.counters.find("shards");
  return it == c.counters.end() ? 1 : it->second;
}

checkpoint make_training_checkpoint(const checkpoint& base, const model& m, const optimizer& opt, const rng& gen,
                                    const train_state& state, const schedule_config& schedule) {
  checkpoint c = base;
  // A LoRA run (models/lora.h) stores only what trains: the adapters and trained biases.
  c.params = base.metadata.count("lora_base_hash") ? adapter_parameters(m.params()) : export_parameters(m.params());
  c.optimizer = opt.state();
  c.schedule = schedule_config_to_map(schedule);
  c.counters["step"] = state.step;
  c.counters["epoch"] = state.epoch;
  c.counters["batch_in_epoch"] = state.batch_in_epoch;
  c.counters["tokens_seen"] = state.tokens_seen;
  c.counters["best_valid_step"] = state.best_valid_step;
  c.counters["bad_validations"] = state.bad_validations;
  c.rng_state = gen.state();
  if (std::isfinite(state.best_valid)) {
    std::ostringstream s;
    s.precision(17);
    s << state.best_valid;
    c.metadata["best_valid"] = s.str();
    c.metadata["best_valid_step"] = std::to_string(state.best_valid_step);
  }
  stamp_checkpoint(c);
  return c;
}

train_state restore_training(const checkpoint& c, model& m, optimizer& opt, rng& gen) {
  train_state s;
  s.step = counter(c, "step");
  s.epoch = counter(c, "epoch");
  s.batch_in_epoch = counter(c, "batch_in_epoch");
  s.tokens_seen = counter(c, "tokens_seen");
  if (c.counters.count("best_valid_step")) s.best_valid_step = counter(c, "best_valid_step");
  if (c.counters.count("bad_validations")) s.bad_validations = counter(c, "bad_validations");
  if (const auto it = c.metadata.find("best_valid"); it != c.metadata.end()) {
    std::size_t used = 0;  // the whole text: std::stod alone stops at anything after a number
    try {
      s.best_valid = std::stod(it->second, &used);
    } catch (const std::exception&) {
    }
    if (used == 0 || used != it->second.size())
      throw attn::error("checkpoint metadata best_valid is not a number: '" + it->second + "'");
  }
  // A LoRA run's checkpoint holds only the adapters: the base's parameters are already in m.
  import_parameters(m.params(), c.params, import_options{c.metadata.count("lora_base_hash") > 0});
  opt.set_state(c.optimizer);
  gen.set_state(c.rng_state);
  return s;
}

update_outcome apply_update(model& m, optimizer& opt, rng& gen, tape& t, const dataset& data,
                            const std::vector<std::size_t>& global, const train_options& opts, std::int64_t step,
                            process_group& group, gradient_sync& sync) {
  const auto accum = static_cast<std::size_t>(std::max<std::int64_t>(opts.accum_steps, 1));
  const std::size_t shards = static_cast<std::size_t>(group.size()) * accum;
  parameter_store& params = m.params();
  update_outcome u;
  params.zero_grad();
  float loss = 0;
  if (shards == 1) {  // the whole batch here: the mean loss's gradient directly
    t.reset();
    const batch b = make_batch(data, global);
    const loss_result r = m.loss(t, b, gen, opts.label_smoothing);
    loss = r.loss.value()(0, 0);
    u.tokens = r.tokens;
    if (std::isfinite(loss)) t.backward(r.loss);
  } else {  // this process's shards: gradients of summed losses, summed over processes, / tokens
    const std::vector<std::vector<std::size_t>> parts = split_batch(global, shards);
    const std::uint64_t update_seed = gen.next_u64();
    double totals[2] = {0, 0};  // loss sum, tokens
    for (std::size_t a = 0; a < accum; ++a) {
      const std::size_t shard = static_cast<std::size_t>(group.rank()) * accum + a;
      if (parts[shard].empty()) continue;
      rng shard_gen(shard_seed(update_seed, shard));
      t.reset();
      const batch b = make_batch(data, parts[shard]);
      const loss_result r = m.loss(t, b, shard_gen, opts.label_smoothing);
      const float mean = r.loss.value()(0, 0);
      totals[0] += static_cast<double>(mean) * static_cast<double>(r.tokens);
      totals[1] += static_cast<double>(r.tokens);
      if (std::isfinite(mean) && r.tokens > 0) t.backward(scale(r.loss, static_cast<float>(r.tokens)));
    }
    group.sum(totals, 2);
    u.tokens = static_cast<std::size_t>(totals[1]);
    loss = totals[1] > 0 ? static_cast<float>(totals[0] / totals[1]) : 0.0f;
    if (std::isfinite(loss)) sync.sum_and_scale(totals[1] > 0 ? static_cast<float>(1.0 / totals[1]) : 0.0f);
  }
  u.loss = loss;
  if (!std::isfinite(loss)) {
    u.diverged = "loss is " + std::to_string(loss) + " at step " + std::to_string(step + 1);
    return u;
  }
  u.grad_norm = clip_grad_norm(params, opts.clip);
  if (!std::isfinite(u.grad_norm)) {
    u.diverged = "gradient norm is " + std::to_string(u.grad_norm) + " at step " + std::to_string(step + 1);
    return u;
  }
  u.lr = schedule_lr(opts.schedule, step + 1);
  opt.step(params, u.lr);
  return u;
}

train_result train(model& m, optimizer& opt, rng& gen, train_state& state, const train_options& opts,
                   const train_inputs& in) {
  if (!in.train || in.train->examples.empty()) throw attn::error("the training set holds no usable examples");
  if (opts.epochs <= 0 && opts.steps <= 0) throw attn::error("set a limit: --epochs or --steps");
  if (opts.accum_steps < 1) throw attn::error("--accum-steps must be at least 1");
  schedule_check(opts.schedule);
  m.set_recompute(opts.recompute);  // throws for a family without blocks (rnn)
  single_process alone;
  process_group& group = in.group ? *in.group : alone;
  const bool writer = group.rank() == 0;  // only rank 0 writes checkpoints
  const auto accum = static_cast<std::size_t>(opts.accum_steps);
  const std::size_t shards = static_cast<std::size_t>(group.size()) * accum;
  const batching_config batching = global_batching(opts.batching, shards);
  const dataset& data = *in.train;
  const auto start = clock_type::now();
  const std::int64_t start_tokens = state.tokens_seen;
  auto seconds = [&] { return std::chrono::duration<double>(clock_type::now() - start).count(); };
  auto emit = [&](train_event e) {
    e.state = &state;
    e.seconds = seconds();
    if (in.on_event) in.on_event(e);
  };
  auto save = [&](const std::string& path) {
    if (path.empty() || !writer) return;
    checkpoint c = make_training_checkpoint(in.base, m, opt, gen, state, opts.schedule);
    c.counters["shards"] = static_cast<std::int64_t>(shards);
    c.counters["processes"] = group.size();
    save_checkpoint(path, c);
    train_event e = event_of(train_event_kind::saved);
    e.path = path;
    emit(e);
  };
  auto steps_done = [&] { return opts.steps > 0 && state.step >= opts.steps; };
  auto epochs_done = [&] { return opts.epochs > 0 && state.epoch >= opts.epochs; };
  // A checkpoint at the limit was saved after the limit's validation (below), so resuming it
  // (e.g. after a kill between that save and the exit) does not validate the same step twice.
  std::int64_t last_valid_step = steps_done() || epochs_done() ? state.step : -1;
  // Returns true when early stopping says to stop.
  tape t;  // the training steps' buffers
  auto run_validation = [&]() {
    if (!in.valid || in.valid->examples.empty() || last_valid_step == state.step) return false;
    last_valid_step = state.step;
    // The validation pass (and a best checkpoint's copies) reuse the training buffers' memory
    // instead of stacking on it; the next step allocates them again from the same heap.
    t.release(/*give_back=*/false);
    train_event e = event_of(train_event_kind::validation);
    e.valid = validate(m, *in.valid, opts.batching, {}, &group);
    e.improved = e.valid.loss < state.best_valid;
    if (e.improved) {
      state.best_valid = e.valid.loss;
      state.best_valid_step = state.step;
      state.bad_validations = 0;
    } else {
      ++state.bad_validations;
    }
    emit(e);
    if (e.improved && !opts.checkpoint_path.empty()) save(best_path(opts.checkpoint_path));
    return opts.early_stopping > 0 && state.bad_validations >= opts.early_stopping;
  };

  parameter_store& params = m.params();
  gradient_sync sync(params, group);
  if (group.size() > 1) {
    agree_on_run(group, in, state, m);
    sync.broadcast_values(0);
  }
  std::vector<std::vector<std::size_t>> order;
  std::int64_t order_epoch = -1;
  train_result result;
  auto finish = [&](train_result r) {
    r.seconds = seconds();
    r.sync_seconds = sync.seconds();
    return r;
  };
  while (!steps_done() && !epochs_done()) {
    if (order_epoch != state.epoch) {
      order = make_batches(data.lengths, batching, opts.seed, static_cast<std::uint64_t>(state.epoch));
      order_epoch = state.epoch;
      if (state.batch_in_epoch > static_cast<std::int64_t>(order.size()))
        throw attn::error("the checkpoint's data position (batch " + std::to_string(state.batch_in_epoch) +
                          " of epoch " + std::to_string(state.epoch) + ") is past this data's " +
                          std::to_string(order.size()) + " batches: different data or batching options");
    }
    const std::vector<std::size_t>& global = order[static_cast<std::size_t>(state.batch_in_epoch)];
    const update_outcome u = apply_update(m, opt, gen, t, data, global, opts, state.step, group, sync);
    if (!u.diverged.empty()) {
      result.status = train_status::diverged;
      result.message = u.diverged;
      return finish(result);
    }
    const float loss = u.loss, norm = u.grad_norm, lr = u.lr;
    const std::size_t tokens = u.tokens;
    ++state.step;
    ++state.batch_in_epoch;
    state.tokens_seen += static_cast<std::int64_t>(tokens);

    train_event e = event_of(train_event_kind::step);
    e.epoch_batches = static_cast<std::int64_t>(order.size());
    e.loss = loss;
    e.lr = lr;
    e.grad_norm = norm;
    e.tokens = tokens;
    const double secs = seconds();
    e.tokens_per_second = secs > 0 ? static_cast<double>(state.tokens_seen - start_tokens) / secs : 0.0;
    emit(e);

    bool stop = false;
    if (state.batch_in_epoch >= static_cast<std::int64_t>(order.size())) {
      ++state.epoch;
      state.batch_in_epoch = 0;
      emit(event_of(train_event_kind::epoch_end));
      if (opts.valid_every <= 0) stop = run_validation();
    }
    if (opts.valid_every > 0 && state.step % opts.valid_every == 0) stop = run_validation() || stop;
    if (stop) {
      result.status = train_status::early_stopped;
      break;
    }
    if (opts.save_every > 0 && state.step % opts.save_every == 0 && !steps_done() && !epochs_done())
      save(opts.checkpoint_path);
    // A stop request on any process stops them all at this step boundary.
    double requested = in.stop_requested && in.stop_requested() ? 1.0 : 0.0;
    if (group.size() > 1) group.sum(&requested, 1);
    if (requested > 0) {
      result.status = train_status::interrupted;
      break;
    }
  }
  t.release();  // the step's buffers, before the checkpoint's copy of the model is made
  // The limit's validation, also when a stop request came with the last step (see last_valid_step).
  if ((steps_done() || epochs_done()) && run_validation() && result.status == train_status::finished)
    result.status = train_status::early_stopped;
  save(opts.checkpoint_path);
  return finish(result);
}

}  // namespace attn
