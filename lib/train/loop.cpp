#include "train/loop.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "core/tape.h"
#include "train/clip.h"

namespace attn {

std::string best_path(const std::string& path) { return path + ".best"; }

namespace {

using clock_type = std::chrono::steady_clock;

train_event event_of(train_event_kind kind) {
  train_event e;
  e.kind = kind;
  return e;
}

std::int64_t counter(const checkpoint& c, const char* key) {
  const auto it = c.counters.find(key);
  if (it == c.counters.end()) throw attn::error(std::string("checkpoint has no '") + key + "' counter");
  if (it->second < 0) throw attn::error(std::string("checkpoint counter '") + key + "' is negative");
  return it->second;
}

}  // namespace

valid_result validate(model& m, const dataset& d, const batching_config& batching,
                      const std::function<void(std::size_t examples_done)>& progress) {
  batching_config cfg = batching;
  cfg.shuffle = false;
  tape t;
  no_grad off(t);
  rng unused(0);  // dropout is off without recording; a private rng keeps the run's stream untouched
  double sum = 0;
  std::size_t tokens = 0, correct = 0, examples = 0;
  for (const auto& idx : make_batches(d.lengths, cfg, 0, 0)) {
    t.reset();
    const batch b = make_batch(d, idx);
    const loss_result r = m.loss(t, b, unused, 0.0f);
    sum += static_cast<double>(r.loss.value()(0, 0)) * static_cast<double>(r.tokens);
    tokens += r.tokens;
    correct += r.correct;
    examples += idx.size();
    if (progress) progress(examples);
  }
  valid_result v;
  v.tokens = tokens;
  if (tokens > 0) {
    v.loss = sum / static_cast<double>(tokens);
    v.accuracy = static_cast<double>(correct) / static_cast<double>(tokens);
  }
  v.perplexity = std::exp(v.loss);
  if (d.bytes > 0) v.bits_per_byte = sum / std::log(2.0) / static_cast<double>(d.bytes);
  return v;
}

checkpoint make_training_checkpoint(const checkpoint& base, const model& m, const optimizer& opt, const rng& gen,
                                    const train_state& state, const schedule_config& schedule) {
  checkpoint c = base;
  c.params = export_parameters(m.params());
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
    try {
      s.best_valid = std::stod(it->second);
    } catch (const std::exception&) {
      throw attn::error("checkpoint metadata best_valid is not a number: '" + it->second + "'");
    }
  }
  import_parameters(m.params(), c.params);
  opt.set_state(c.optimizer);
  gen.set_state(c.rng_state);
  return s;
}

train_result train(model& m, optimizer& opt, rng& gen, train_state& state, const train_options& opts,
                   const train_inputs& in) {
  if (!in.train || in.train->examples.empty()) throw attn::error("the training set holds no usable examples");
  if (opts.epochs <= 0 && opts.steps <= 0) throw attn::error("set a limit: --epochs or --steps");
  schedule_check(opts.schedule);
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
    if (path.empty()) return;
    save_checkpoint(path, make_training_checkpoint(in.base, m, opt, gen, state, opts.schedule));
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
  auto run_validation = [&]() {
    if (!in.valid || in.valid->examples.empty() || last_valid_step == state.step) return false;
    last_valid_step = state.step;
    train_event e = event_of(train_event_kind::validation);
    e.valid = validate(m, *in.valid, opts.batching);
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

  tape t;
  parameter_store& params = m.params();
  std::vector<std::vector<std::size_t>> order;
  std::int64_t order_epoch = -1;
  train_result result;
  while (!steps_done() && !epochs_done()) {
    if (order_epoch != state.epoch) {
      order = make_batches(data.lengths, opts.batching, opts.seed, static_cast<std::uint64_t>(state.epoch));
      order_epoch = state.epoch;
      if (state.batch_in_epoch > static_cast<std::int64_t>(order.size()))
        throw attn::error("the checkpoint's data position (batch " + std::to_string(state.batch_in_epoch) +
                          " of epoch " + std::to_string(state.epoch) + ") is past this data's " +
                          std::to_string(order.size()) + " batches: different data or batching options");
    }
    const batch b = make_batch(data, order[static_cast<std::size_t>(state.batch_in_epoch)]);
    t.reset();
    params.zero_grad();
    const loss_result r = m.loss(t, b, gen, opts.label_smoothing);
    const float loss = r.loss.value()(0, 0);
    if (!std::isfinite(loss)) {
      result.status = train_status::diverged;
      result.message = "loss is " + std::to_string(loss) + " at step " + std::to_string(state.step + 1);
      return result;
    }
    t.backward(r.loss);
    const float norm = clip_grad_norm(params, opts.clip);
    if (!std::isfinite(norm)) {
      result.status = train_status::diverged;
      result.message = "gradient norm is " + std::to_string(norm) + " at step " + std::to_string(state.step + 1);
      return result;
    }
    const float lr = schedule_lr(opts.schedule, state.step + 1);
    opt.step(params, lr);
    ++state.step;
    ++state.batch_in_epoch;
    state.tokens_seen += static_cast<std::int64_t>(r.tokens);

    train_event e = event_of(train_event_kind::step);
    e.epoch_batches = static_cast<std::int64_t>(order.size());
    e.loss = loss;
    e.lr = lr;
    e.grad_norm = norm;
    e.tokens = r.tokens;
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
    if (in.stop_requested && in.stop_requested()) {
      result.status = train_status::interrupted;
      break;
    }
  }
  t.release();  // the step's buffers, before the checkpoint's copy of the model is made
  // The limit's validation, also when a stop request came with the last step (see last_valid_step).
  if ((steps_done() || epochs_done()) && run_validation() && result.status == train_status::finished)
    result.status = train_status::early_stopped;
  save(opts.checkpoint_path);
  return result;
}

}  // namespace attn
