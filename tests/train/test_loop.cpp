// The training loop with a tiny bigram model (embedding -> dropout -> linear -> cross-entropy),
// so these tests do not depend on the real model families.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/ops.h"
#include "core/tape.h"
#include "core/threads.h"
#include "test_helpers.h"
#include "train/loop.h"

using namespace attn;

namespace {

class bigram_model : public model {
 public:
  explicit bigram_model(rng& gen, std::size_t vocab = 8, std::size_t dim = 6, float dropout_p = 0.1f) : p_(dropout_p) {
    cfg_.family = "lm";
    cfg_.src_vocab = vocab;
    parameter& e = params_.add("embed.weight", vocab, dim);
    parameter& w = params_.add("out.weight", dim, vocab);
    params_.add("out.bias", 1, vocab, false);
    for (float& x : e.value) x = gen.normal(0.0f, 0.5f);
    for (float& x : w.value) x = gen.normal(0.0f, 0.5f);
  }
  const model_config& config() const override { return cfg_; }
  loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing) override {
    // src [B*T] -> embed [B*T, d] -> logits [B*T, V]; targets tgt_out [B*T] (pad ignored).
    var x = embedding(t.param(params_.at("embed.weight")), b.src);
    x = dropout(x, p_, gen);
    var logits = linear(x, t.param(params_.at("out.weight")), t.param(params_.at("out.bias")));
    loss_result r;
    r.loss = softmax_cross_entropy(logits, b.tgt_out, pad_id, label_smoothing, &r.tokens);
    if (poison_at_ > 0 && ++calls_ >= poison_at_) r.loss.mutable_value()(0, 0) = std::nanf("");
    return r;
  }
  void start_decoding(tape&, const batch&) override {}
  matrix decode_step(tape&, const std::vector<std::int32_t>&) override { return {}; }
  int poison_at_ = 0;  // the n-th loss() call returns NaN

 private:
  model_config cfg_;
  float p_;
  int calls_ = 0;
};

// A cyclic sequence 4 5 6 7 4 5 6 7 ... cut into lm windows: perfectly predictable.
dataset cyclic_lm(std::size_t windows, std::size_t T) {
  dataset d;
  d.format = data_format::lm;
  for (std::size_t w = 0; w < windows; ++w) {
    example e;
    for (std::size_t t = 0; t < T; ++t) {
      e.src.push_back(static_cast<std::int32_t>(4 + (w + t) % 4));
      e.tgt.push_back(static_cast<std::int32_t>(4 + (w + t + 1) % 4));
    }
    d.lengths.push_back(T);
    d.examples.push_back(std::move(e));
  }
  return d;
}

train_options small_options() {
  train_options o;
  o.schedule.lr = 0.05f;
  o.batching.batch_size = 4;
  o.steps = 40;
  o.seed = 7;
  return o;
}

std::vector<double> losses_of(std::vector<train_event>& events) {
  std::vector<double> out;
  for (const auto& e : events)
    if (e.kind == train_event_kind::step) out.push_back(e.loss);
  return out;
}

// 40 steps of the bigram model on a cyclic stream, validating every 10.
struct bigram_run {
  train_result result;
  train_state state;
  std::vector<double> losses;
  std::vector<valid_result> valids;
};

bigram_run run_bigram() {
  rng gen(1);
  bigram_model m(gen);
  auto opt = make_optimizer(optimizer_config{});
  const dataset data = cyclic_lm(20, 5), valid = cyclic_lm(4, 5);
  bigram_run r;
  train_inputs in;
  in.train = &data;
  in.valid = &valid;
  in.on_event = [&](const train_event& e) {
    if (e.kind == train_event_kind::step) r.losses.push_back(e.loss);
    if (e.kind == train_event_kind::validation) r.valids.push_back(e.valid);
  };
  train_options o = small_options();
  o.valid_every = 10;
  r.result = train(m, *opt, gen, r.state, o, in);
  return r;
}

}  // namespace

TEST_CASE("the loop counts steps and epochs; validation reports perplexity and keeps the best") {
  const bigram_run r = run_bigram();
  CHECK(r.result.status == train_status::finished);
  CHECK(r.state.step == 40);
  CHECK(r.state.epoch == 8);  // 20 windows / 4 per batch = 5 batches per epoch
  CHECK(r.losses.size() == 40);
  REQUIRE(r.valids.size() == 4);
  double best = r.valids.front().loss;
  for (const auto& v : r.valids) {
    CHECK(v.perplexity == doctest::Approx(std::exp(v.loss)));
    CHECK(v.tokens == 20);
    best = std::min(best, v.loss);
  }
  CHECK(r.state.best_valid == doctest::Approx(best));
}

TEST_CASE("validate reports the examples scored after every batch, and the same result without a callback") {
  rng gen(1);
  bigram_model m(gen);
  const dataset valid = cyclic_lm(10, 5);
  batching_config b;
  b.batch_size = 4;
  std::vector<std::size_t> seen;
  const valid_result with = validate(m, valid, b, [&](std::size_t done) { seen.push_back(done); });
  CHECK(seen == std::vector<std::size_t>{4, 8, 10});
  const valid_result without = validate(m, valid, b);
  CHECK(with.loss == without.loss);
  CHECK(with.tokens == without.tokens);
}

// Single-threaded (tests/doctest_main.cpp) the step loss goes from 2.30 to 0.054 (bound: half the
// first, 1.15) and the validation loss from 0.21 to 0.00066 (bound: any fall).
TEST_CASE("training the bigram model lowers the loss" * doctest::test_suite("convergence")) {
  const bigram_run r = run_bigram();
  REQUIRE(r.losses.size() == 40);
  CHECK(r.losses.back() < 0.5 * r.losses.front());
  REQUIRE(r.valids.size() == 4);
  CHECK(r.valids.back().loss < r.valids.front().loss);
}

TEST_CASE("resume: N steps straight == N/2, save, load, N/2 (bit-identical)") {
  set_threads(1);
  const dataset data = cyclic_lm(18, 5);  // 5 batches per epoch (last one short): crosses epochs
  attn::testing::temp_dir d;
  const std::string path = d.path("resume.ckpt");
  optimizer_config oc;
  oc.kind = "adamw";
  oc.weight_decay = 0.01f;

  // Straight run.
  rng g1(3);
  bigram_model m1(g1);
  auto o1 = make_optimizer(oc);
  train_state s1;
  std::vector<train_event> ev1;
  train_inputs in1;
  in1.train = &data;
  in1.on_event = [&](const train_event& e) { ev1.push_back(e); };
  train_options opts = small_options();
  opts.steps = 24;
  opts.schedule.kind = "cosine";
  opts.schedule.warmup = 3;
  opts.schedule.total = 24;
  train(m1, *o1, g1, s1, opts, in1);

  // Interrupted after 12 steps (stop_requested), then resumed in fresh objects.
  rng g2(3);
  bigram_model m2(g2);
  auto o2 = make_optimizer(oc);
  train_state s2;
  std::vector<train_event> ev2;
  train_inputs in2;
  in2.train = &data;
  in2.base.model_config = {{"family", "lm"}};
  in2.on_event = [&](const train_event& e) { ev2.push_back(e); };
  in2.stop_requested = [&] { return s2.step == 11; };
  train_options half = opts;
  half.checkpoint_path = path;
  CHECK(train(m2, *o2, g2, s2, half, in2).status == train_status::interrupted);
  CHECK(s2.step == 11);

  const checkpoint c = load_checkpoint(path);
  CHECK(c.counters.at("step") == 11);
  CHECK(c.model_config.at("family") == "lm");
  rng g3(999);
  bigram_model m3(g3);  // different initial values: all must come from the checkpoint
  auto o3 = make_optimizer(oc);
  train_state s3 = restore_training(c, m3, *o3, g3);
  CHECK(s3.epoch == 2);
  CHECK(s3.batch_in_epoch == 1);
  in2.stop_requested = nullptr;
  half.checkpoint_path.clear();
  train(m3, *o3, g3, s3, half, in2);

  CHECK(s3.step == 24);
  CHECK(s3.tokens_seen == s1.tokens_seen);
  const auto l1 = losses_of(ev1), l2 = losses_of(ev2);
  REQUIRE(l1.size() == l2.size());
  for (std::size_t i = 0; i < l1.size(); ++i) CHECK(l1[i] == l2[i]);
  for (const parameter* p : m1.params().all()) {
    const parameter& q = m3.params().at(p->name);
    for (std::size_t i = 0; i < p->value.size(); ++i) REQUIRE(p->value.data()[i] == q.value.data()[i]);
  }
}

TEST_CASE("a NaN loss stops the run as diverged and saves nothing for it") {
  set_threads(1);
  attn::testing::temp_dir d;
  const std::string path = d.path("nan.ckpt");
  rng gen(1);
  bigram_model m(gen);
  m.poison_at_ = 6;
  auto opt = make_optimizer(optimizer_config{});
  const dataset data = cyclic_lm(8, 4);
  train_state state;
  train_inputs in;
  in.train = &data;
  train_options o = small_options();
  o.checkpoint_path = path;
  o.save_every = 2;
  const train_result r = train(m, *opt, gen, state, o, in);
  CHECK(r.status == train_status::diverged);
  CHECK(r.message.find("step 6") != std::string::npos);
  CHECK(state.step == 5);
  CHECK(load_checkpoint(path).counters.at("step") == 4);  // the last good save
}

TEST_CASE("early stopping and the best checkpoint") {
  set_threads(1);
  attn::testing::temp_dir d;
  const std::string path = d.path("best.ckpt");
  rng gen(1);
  bigram_model m(gen);
  auto opt = make_optimizer(optimizer_config{});
  const dataset data = cyclic_lm(8, 4);
  dataset valid = cyclic_lm(4, 4);
  for (auto& e : valid.examples)  // targets the model can never learn: validation gets worse
    for (auto& t : e.tgt) t = 1;
  train_state state;
  train_inputs in;
  in.train = &data;
  in.valid = &valid;
  train_options o = small_options();
  o.steps = 100;
  o.valid_every = 2;
  o.early_stopping = 3;
  o.checkpoint_path = path;
  const train_result r = train(m, *opt, gen, state, o, in);
  CHECK(r.status == train_status::early_stopped);
  CHECK(state.best_valid_step == 2);
  CHECK(state.step == 8);
  CHECK(load_checkpoint(path + ".best").counters.at("step") == 2);
  CHECK(load_checkpoint(path).counters.at("step") == 8);
}

TEST_CASE("an empty training set or no limit is a clear error") {
  rng gen(1);
  bigram_model m(gen);
  auto opt = make_optimizer(optimizer_config{});
  const dataset empty;
  train_state state;
  train_inputs in;
  in.train = &empty;
  CHECK_THROWS_WITH_AS(train(m, *opt, gen, state, small_options(), in), "the training set holds no usable examples",
                       attn::error);
  const dataset data = cyclic_lm(4, 4);
  in.train = &data;
  train_options o = small_options();
  o.steps = 0;
  CHECK_THROWS_AS(train(m, *opt, gen, state, o, in), attn::error);
}
