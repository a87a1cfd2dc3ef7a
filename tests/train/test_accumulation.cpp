// Gradient accumulation and the gradient exchange of data-parallel training (train/loop.h,
// train/gradient_sync.h). Several processes are covered end to end under mpirun
// (tests/e2e/test_distributed.sh); here one process, and a stand-in group whose other rank
// holds the same gradients.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "core/ops.h"
#include "core/tape.h"
#include "core/threads.h"
#include "test_helpers.h"
#include "train/gradient_sync.h"
#include "train/loop.h"

using namespace attn;

namespace {

// embedding -> dropout -> linear -> cross-entropy over an lm stream.
class bigram_model : public model {
 public:
  bigram_model(rng& gen, float dropout_p) : p_(dropout_p) {
    cfg_.family = "lm";
    cfg_.src_vocab = 12;
    parameter& e = params_.add("embed.weight", 12, 6);
    parameter& w = params_.add("out.weight", 6, 12);
    params_.add("out.bias", 1, 12, false);
    for (float& x : e.value) x = gen.normal(0.0f, 0.5f);
    for (float& x : w.value) x = gen.normal(0.0f, 0.5f);
  }
  const model_config& config() const override { return cfg_; }
  loss_result loss(tape& t, const batch& b, rng& gen, float label_smoothing) override {
    var x = dropout(embedding(t.param(params_.at("embed.weight")), b.src), p_, gen);  // [B*T, 6]
    var logits = linear(x, t.param(params_.at("out.weight")), t.param(params_.at("out.bias")));  // [B*T, 12]
    loss_result r;
    r.loss = softmax_cross_entropy(logits, b.tgt_out, pad_id, label_smoothing, &r.tokens);
    return r;
  }
  void start_decoding(tape&, const batch&) override {}
  matrix decode_step(tape&, const std::vector<std::int32_t>&) override { return {}; }

 private:
  model_config cfg_;
  float p_;
};

// Windows of a pseudo-random stream over ids 4..11, of lengths 3..8 (so that shards hold
// different token counts and a mean of means would be wrong).
dataset stream(std::size_t windows) {
  dataset d;
  d.format = data_format::lm;
  rng r(5);
  for (std::size_t w = 0; w < windows; ++w) {
    example e;
    const std::size_t T = 3 + r.below(6);
    for (std::size_t t = 0; t <= T; ++t) e.src.push_back(static_cast<std::int32_t>(4 + r.below(8)));
    e.tgt.assign(e.src.begin() + 1, e.src.end());
    e.src.pop_back();
    d.lengths.push_back(T);
    d.examples.push_back(std::move(e));
  }
  return d;
}

struct run {
  std::vector<double> losses;
  std::vector<std::size_t> tokens;
  parameter_store* params = nullptr;
  std::unique_ptr<bigram_model> m;
};

run train_with(std::size_t batch_size, std::int64_t accum, float dropout_p, const std::string& save_to = "") {
  rng gen(11);
  run r;
  r.m = std::make_unique<bigram_model>(gen, dropout_p);
  optimizer_config oc;
  oc.kind = "sgd";
  oc.momentum = 0.9f;
  auto opt = make_optimizer(oc);
  const dataset data = stream(60);
  train_inputs in;
  in.train = &data;
  in.base.model_config = {{"family", "lm"}};
  in.on_event = [&](const train_event& e) {
    if (e.kind != train_event_kind::step) return;
    r.losses.push_back(e.loss);
    r.tokens.push_back(e.tokens);
  };
  train_options o;
  o.schedule.lr = 0.1f;
  o.batching.batch_size = batch_size;
  o.batching.batch_tokens = 0;
  o.accum_steps = accum;
  o.steps = 25;  // past one epoch of 60 / 8 batches
  o.seed = 3;
  o.checkpoint_path = save_to;
  train_state s;
  train(*r.m, *opt, gen, s, o, in);
  return r;
}

double max_relative_difference(const parameter_store& a, const parameter_store& b) {
  double worst = 0;
  for (const parameter* p : a.all()) {
    const parameter& q = *b.find(p->name);
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < p->value.size(); ++i) {
      diff = std::max(diff, static_cast<double>(std::fabs(p->value.data()[i] - q.value.data()[i])));
      scale = std::max(scale, static_cast<double>(std::fabs(p->value.data()[i])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

// Two ranks whose other member always holds the same data as this one: a sum doubles it.
class mirrored_pair final : public process_group {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void sum(double* d, std::size_t n) override { std::for_each(d, d + n, [](double& x) { x *= 2; }); }
  void sum(float* d, std::size_t n) override {
    std::for_each(d, d + n, [](float& x) { x *= 2; });
    ++sums;
  }
  void broadcast(float*, std::size_t, int) override { ++broadcasts; }
  std::vector<std::uint64_t> gather_all(std::uint64_t v) override { return {v, v}; }
  int sums = 0, broadcasts = 0;
};

// Rank r of 2 whose collectives exchange nothing: what one rank computes on its own share.
class rank_without_exchange final : public process_group {
 public:
  explicit rank_without_exchange(int r) : rank_(r) {}
  int rank() const override { return rank_; }
  int size() const override { return 2; }
  void sum(double*, std::size_t) override {}
  void sum(float*, std::size_t) override {}
  void broadcast(float*, std::size_t, int) override {}
  std::vector<std::uint64_t> gather_all(std::uint64_t v) override { return {v, v}; }

 private:
  int rank_;
};

}  // namespace

TEST_CASE("accumulating 2 batches of b is one batch of 2b: same examples, losses and parameters") {
  set_threads(1);
  const run whole = train_with(8, 1, 0.0f);
  const run accumulated = train_with(4, 2, 0.0f);
  REQUIRE(whole.losses.size() == 25);
  REQUIRE(accumulated.losses.size() == 25);
  for (std::size_t i = 0; i < whole.losses.size(); ++i) {
    CHECK(accumulated.tokens[i] == whole.tokens[i]);  // the same examples in every update
    CHECK(accumulated.losses[i] == doctest::Approx(whole.losses[i]).epsilon(1e-5));
  }
  const double d = max_relative_difference(whole.m->params(), accumulated.m->params());
  INFO("max relative parameter difference " << d);
  CHECK(d < 1e-5);
  // ... whereas one batch of b trains on other examples.
  const run half = train_with(4, 1, 0.0f);
  CHECK(half.tokens[0] < whole.tokens[0]);
}

TEST_CASE("accumulation with dropout is deterministic for a seed, and the checkpoint records its shards") {
  set_threads(1);
  attn::testing::temp_dir dir;
  const run a = train_with(4, 3, 0.3f, dir.path("a.ckpt"));
  const run b = train_with(4, 3, 0.3f);
  CHECK(a.losses == b.losses);
  CHECK(max_relative_difference(a.m->params(), b.m->params()) == 0.0);
  const checkpoint c = load_checkpoint(dir.path("a.ckpt"));
  CHECK(checkpoint_shards(c) == 3);
  CHECK(c.counters.at("processes") == 1);
  checkpoint old = c;
  old.counters.erase("shards");  // written before data parallelism: one shard
  CHECK(checkpoint_shards(old) == 1);
}

TEST_CASE("an accumulation count below 1 is refused") {
  rng gen(1);
  bigram_model m(gen, 0.0f);
  auto opt = make_optimizer(optimizer_config{});
  const dataset data = stream(4);
  train_inputs in;
  in.train = &data;
  train_options o;
  o.steps = 1;
  o.accum_steps = 0;
  train_state s;
  CHECK_THROWS_WITH_AS(train(m, *opt, gen, s, o, in), "--accum-steps must be at least 1", error);
}

TEST_CASE("gradient_sync: buckets of whole parameters, last first; sums over ranks then scales") {
  parameter_store store;
  for (int i = 0; i < 5; ++i) {
    parameter& p = store.add("p" + std::to_string(i), 3, 4 + static_cast<std::size_t>(i));
    p.grad = matrix(p.value.shape(), 0.0f);
    for (std::size_t k = 0; k < p.grad.size(); ++k) p.grad.data()[k] = static_cast<float>(i * 100 + k);
  }
  store.at("p2").trainable = false;
  mirrored_pair pair;
  gradient_sync sync(store, pair, 20 * sizeof(float));  // at most 20 floats a bucket unless one is larger
  CHECK(sync.bucket_count() == 4);                      // p4 (24) | p3 (21) | p1 (15) | p0 (12): never split
  sync.sum_and_scale(0.5f);                             // (g + g) / 2 == g, through pack and unpack
  CHECK(pair.sums == 4);  // one allreduce a bucket
  for (const parameter* p : store.all()) {
    const int i = p->name[1] - '0';
    for (std::size_t k = 0; k < p->grad.size(); ++k) REQUIRE(p->grad.data()[k] == static_cast<float>(i * 100 + k));
  }
  sync.sum_and_scale(0.25f);  // now halved
  CHECK(store.at("p0").grad(0, 1) == 0.5f);
  CHECK(store.at("p2").grad(0, 1) == 201.0f);  // frozen: not exchanged, not scaled
  sync.broadcast_values(0);
  CHECK(pair.broadcasts == 5);  // every parameter's value, frozen ones included

  single_process alone;
  gradient_sync local(store, alone);
  local.sum_and_scale(2.0f);  // one process: only the scaling
  CHECK(store.at("p0").grad(0, 1) == 1.0f);
}

TEST_CASE("validate over a group: each rank scores its share of the batches, the sums are combined") {
  set_threads(1);
  rng gen(2);
  bigram_model m(gen, 0.0f);
  const dataset data = stream(30);
  batching_config bc;
  bc.batch_size = 4;
  const valid_result alone = validate(m, data, bc);
  // Each rank's share alone (its collectives exchange nothing), then combined by hand.
  rank_without_exchange r0(0), r1(1);
  std::size_t scored0 = 0, scored1 = 0;
  const valid_result v0 = validate(m, data, bc, [&](std::size_t n) { scored0 = n; }, &r0);
  const valid_result v1 = validate(m, data, bc, [&](std::size_t n) { scored1 = n; }, &r1);
  CHECK(scored0 + scored1 == 30);  // batches 0, 2, 4, ... and 1, 3, ...: every example once
  CHECK(v0.tokens > 0);
  CHECK(v1.tokens > 0);
  CHECK(v0.tokens + v1.tokens == alone.tokens);
  const double combined = (v0.loss * static_cast<double>(v0.tokens) + v1.loss * static_cast<double>(v1.tokens)) /
                          static_cast<double>(alone.tokens);
  CHECK(combined == doctest::Approx(alone.loss).epsilon(1e-9));
}
