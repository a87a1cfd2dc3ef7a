#include <doctest/doctest.h>

#include <cstring>

#include "core/error.h"
#include "models/lora.h"
#include "model_helpers.h"
#include "nn/layer_gradcheck.h"
#include "nn/linear.h"

using namespace attn;
using namespace attn::models_testing;

namespace {

lora_options rank(std::size_t r, std::vector<std::string> targets = {}) {
  lora_options o;
  o.rank = r;
  o.alpha = 2.0f * static_cast<float>(r);
  o.targets = std::move(targets);
  return o;
}

// Gives every adapter's B random values (a trained adapter; B starts at zero).
void randomize_adapters(parameter_store& s, rng& gen) {
  for (parameter* p : s.all())
    if (p->name.size() > 7 && p->name.compare(p->name.size() - 7, 7, ".lora_b") == 0)
      attn::testing::fill_normal(p->value, gen, 0.3f);
}

float loss_of(model& m, const batch& b) {
  tape t;
  t.set_recording(false);
  rng g(1);
  return m.loss(t, b, g).loss.value()(0, 0);
}

}  // namespace

TEST_CASE("lora: an adapted linear layer's gradients (x, W, b, A, B) check against finite differences") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    rng gen(seed);
    const std::size_t n = 1 + gen.below(5), in = 1 + gen.below(6), out = 1 + gen.below(6);
    parameter_store store, inputs;
    nn::linear l(store, "l", in, out, gen);
    const lora_attachment a = attach_lora(store, rank(1 + gen.below(3), {"l"}), gen);
    CHECK(a.adapters == 1);
    CHECK(store.at("l.lora_a").value.shape()[0] == in);   // A [in, R]
    CHECK(store.at("l.lora_b").value.shape()[1] == out);  // B [R, out]
    randomize_adapters(store, gen);
    for (parameter* p : store.all()) p->trainable = true;  // W and b too, for the check
    parameter& x = nn::testing::input_param(inputs, "x", n, in, gen);
    nn::testing::check_gradients({&store, &inputs}, [&](tape& t) { return l.forward(t.param(x)); });
  }
}

TEST_CASE("lora: a fresh adapter reproduces the base's loss exactly, for every family") {
  for (const char* family : {"lm", "transformer", "classifier", "rnn"}) {
    INFO(family);
    model_config c = tiny_config(family);
    if (std::string(family) == "rnn") c.attention = "additive";
    rng gen(4);
    auto m = make_model(c, gen);
    const batch b = std::string(family) == "lm" ? lm_batch(small_data) : seq2seq_batch(small_data);
    const float before = loss_of(*m, b);
    const lora_attachment a = attach_lora(m->params(), rank(2), gen);
    CHECK(a.adapters > 0);
    CHECK(loss_of(*m, b) == before);  // B = 0: bit for bit
    for (const parameter* p : m->params().all()) CHECK_MESSAGE(p->trainable == is_lora_parameter(p->name), p->name);
  }
}

TEST_CASE("lora: merging folds the adapters into the weights (same log-probs within 1e-5)") {
  for (const char* family : {"lm", "transformer"}) {
    INFO(family);
    model_config c = tiny_config(family);
    c.tie_output = false;
    rng gen(5);
    auto m = make_model(c, gen);
    attach_lora(m->params(), rank(3, {"*"}), gen);
    randomize_adapters(m->params(), gen);
    const batch b = std::string(family) == "lm" ? lm_batch(small_data) : seq2seq_batch(small_data);
    tape t;
    const matrix adapted = m->log_probs(t, b);
    CHECK(merge_lora(m->params()) > 0);
    t.reset();
    const matrix merged = m->log_probs(t, b);
    REQUIRE(merged.size() == adapted.size());
    for (std::size_t i = 0; i < merged.size(); ++i)
      CHECK(merged.data()[i] == doctest::Approx(adapted.data()[i]).epsilon(1e-5).scale(1.0));
  }
}

TEST_CASE("lora: training changes only the adapters; the frozen base keeps no gradient and stays bit-identical") {
  model_config c = tiny_config("lm");
  rng gen(6);
  auto m = make_model(c, gen);
  const std::vector<checkpoint_param> base = export_parameters(m->params());
  attach_lora(m->params(), rank(2), gen);
  const batch b = lm_batch(overfit_data);
  const float before = loss_of(*m, b);
  overfit(*m, b, 30);
  CHECK(loss_of(*m, b) < before);
  for (const checkpoint_param& p : base) {
    const parameter& now = m->params().at(p.name);
    CHECK_MESSAGE(std::memcmp(now.value.data(), p.value.data(), p.value.size() * sizeof(float)) == 0, p.name);
    CHECK_MESSAGE(now.grad.size() == 0, p.name);  // no gradient buffer for a frozen weight
  }
  bool moved = false;
  for (const checkpoint_param& p : adapter_parameters(m->params())) {
    CHECK(is_lora_parameter(p.name));
    for (float v : p.value) moved = moved || v != 0.0f;
  }
  CHECK(moved);
}

TEST_CASE("lora: train_bias unfreezes biases and norms; targets that select nothing or an LSTM are refused") {
  rng gen(7);
  auto lm = make_model(tiny_config("lm"), gen);
  lora_options o = rank(2);
  o.train_bias = true;
  attach_lora(lm->params(), o, gen);
  CHECK(lm->params().at("layers.0.attn.qkv.bias").trainable);
  CHECK(lm->params().at("ln_f.gain").trainable);
  CHECK_FALSE(lm->params().at("layers.0.attn.qkv.weight").trainable);

  auto other = make_model(tiny_config("lm"), gen);
  CHECK_THROWS_WITH_AS(attach_lora(other->params(), rank(2, {"nothing"}), gen),
                       doctest::Contains("selects no linear layer"), attn::error);
  auto rnn = make_model(tiny_config("rnn"), gen);
  CHECK_THROWS_WITH_AS(attach_lora(rnn->params(), rank(2, {"*"}), gen), doctest::Contains("LSTM"), attn::error);
}

TEST_CASE("lora: the reference to the base round-trips; the hash tells parameters apart") {
  rng gen(8);
  auto m = make_model(tiny_config("lm"), gen);
  std::vector<checkpoint_param> p = export_parameters(m->params());
  const std::string h = parameters_hash(p);
  CHECK(h.size() == 16);
  CHECK(parameters_hash(p) == h);
  p[0].value.data()[0] += 1e-3f;
  CHECK(parameters_hash(p) != h);

  lora_reference r{rank(4, {"*attn.qkv", "layers.1"}), "base.ckpt", h};
  checkpoint c;
  write_lora_reference(r, c);
  const auto back = read_lora_reference(c, "x.ckpt");
  REQUIRE(back);
  CHECK(back->options.rank == 4);
  CHECK(back->options.alpha == 8.0f);
  CHECK(back->options.targets == r.options.targets);
  CHECK(back->base_path == "base.ckpt");
  CHECK(back->base_hash == h);
  CHECK_FALSE(read_lora_reference(checkpoint{}, "plain.ckpt"));
  c.metadata["lora_rank"] = "x";
  CHECK_THROWS_AS(read_lora_reference(c, "x.ckpt"), attn::error);
}
