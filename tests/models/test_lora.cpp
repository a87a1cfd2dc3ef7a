#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/checkpoint.h"
#include "model_helpers.h"
#include "models/lora.h"
#include "models/memory_estimate.h"
#include "nn/layer_gradcheck.h"
#include "nn/linear.h"
#include "nn/lstm.h"
#include "test_helpers.h"

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
  // The LSTM's weights are adaptable (folded); --lora-dropout with an LSTM target is a conflict.
  auto rnn = make_model(tiny_config("rnn"), gen);
  lora_options dropped = rank(2, {"*"});
  dropped.dropout = 0.1f;
  CHECK_THROWS_WITH_AS(attach_lora(rnn->params(), dropped, gen), doctest::Contains("LSTM weight"), lora_conflict);
  dropped.targets = {"*lstm.fwd.w_hh"};
  CHECK_THROWS_AS(attach_lora(rnn->params(), dropped, gen), lora_conflict);
  dropped.dropout = 1.0f;
  dropped.targets = {"out"};
  CHECK_THROWS_AS(attach_lora(rnn->params(), dropped, gen), attn::error);
}

TEST_CASE("lora: lora_targets plans what attach_lora adapts, allocating nothing; a rank above a side is refused") {
  for (const char* family : {"lm", "transformer", "rnn"}) {
    CAPTURE(family);
    rng gen(3);
    auto m = make_model(tiny_config(family), gen);
    const lora_options o = rank(2, {"*"});
    const std::size_t before = m->params().all().size();
    const std::vector<lora_target> planned = lora_targets(m->params(), o);
    CHECK(m->params().all().size() == before);  // nothing added, nothing frozen
    for (const parameter* p : m->params().all()) CHECK(p->trainable);
    // the adapters attach_lora then makes: one per planned weight, of [in, R] and [R, out]
    const lora_attachment a = attach_lora(m->params(), o, gen);
    REQUIRE(a.adapters == planned.size());
    std::size_t values = 0, folded = 0;
    for (const lora_target& w : planned) {
      const parameter& weight = m->params().at(w.name);
      CHECK(weight.value.shape()[0] == w.in);
      CHECK(weight.value.shape()[1] == w.out);
      CHECK(weight.lora_a != nullptr);
      values += (w.in + w.out) * 2;
      folded += w.folded;
    }
    CHECK(a.adapter_values == values);
    CHECK(a.folded == folded);
    // add_lora counts exactly those values: parameters, gradients, two Adam slots
    memory_estimate e;
    add_lora(e, planned, 2, 100, 2);
    CHECK(e.parameters == doctest::Approx(static_cast<double>(values)));
    CHECK(e.parameter_bytes == doctest::Approx(4.0 * static_cast<double>(values)));
    CHECK(e.optimizer_bytes == doctest::Approx(8.0 * static_cast<double>(values)));
    CHECK(e.activation_bytes > 0);
    // the smallest side of an adapted weight bounds the rank (A·B has rank at most min(in, out))
    std::size_t narrowest = planned[0].in;
    for (const lora_target& w : planned) narrowest = std::min({narrowest, w.in, w.out});
    CHECK_NOTHROW(check_lora_rank(planned, narrowest));
    const std::string refusal = "--lora " + std::to_string(narrowest + 1) + " is above the rank";
    CHECK_THROWS_WITH_AS(check_lora_rank(planned, narrowest + 1), doctest::Contains(refusal.c_str()), lora_conflict);
  }
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
  r.options.dropout = 0.05f;
  checkpoint c;
  write_lora_reference(r, c);
  const auto back = read_lora_reference(c, "x.ckpt");
  REQUIRE(back);
  CHECK(back->options.rank == 4);
  CHECK(back->options.alpha == 8.0f);
  CHECK(back->options.targets == r.options.targets);
  CHECK(back->options.dropout == 0.05f);
  CHECK(back->base_path == "base.ckpt");
  CHECK(back->base_hash == h);
  CHECK_FALSE(read_lora_reference(checkpoint{}, "plain.ckpt"));
  checkpoint older = c;  // written before --lora-dropout: no entry, dropout 0
  older.metadata.erase("lora_dropout");
  CHECK(read_lora_reference(older, "old.ckpt")->options.dropout == 0.0f);
  older.metadata["lora_dropout"] = "1.5";
  CHECK_THROWS_AS(read_lora_reference(older, "old.ckpt"), attn::error);
  // A number followed by anything, a NUL included, is not that number.
  older.metadata["lora_dropout"] = std::string("0.1") + '\0' + "x";
  CHECK_THROWS_WITH_AS(read_lora_reference(older, "old.ckpt"),
                       "'old.ckpt': lora_dropout is not a probability in [0, 1): 0.1\\x00x", attn::error);
  older.metadata["lora_dropout"] = "0";
  older.metadata["lora_alpha"] = "8abc";
  CHECK_THROWS_AS(read_lora_reference(older, "old.ckpt"), attn::error);
  c.metadata["lora_rank"] = "x";
  CHECK_THROWS_AS(read_lora_reference(c, "x.ckpt"), attn::error);
}

TEST_CASE(
    "lora: a stored base not found from here is read next to the adapter; one found nowhere names the adapter and "
    "--base") {
  attn::testing::temp_dir d;
  std::filesystem::create_directory(d.dir() / "v8");
  rng gen(5);
  auto m = make_model(tiny_config("lm"), gen);
  checkpoint base;
  base.model_config = tiny_config("lm").to_map();
  base.params = export_parameters(m->params());
  const std::string base_file = d.path("v8/base.ckpt"), adapter = d.path("v8/ad.ckpt");
  save_checkpoint(base_file, base);
  // finetune ran in v8 with -m base.ckpt; the adapter is used from elsewhere (the test's directory).
  const lora_reference r{rank(2), "base.ckpt", parameters_hash(base.params)};
  CHECK(stored_base_path(r, adapter) == base_file);
  CHECK(stored_base_path(r, "ad.ckpt") == "base.ckpt");  // the adapter's directory is the current one
  std::string used;
  CHECK(load_lora_base(r, adapter, "", used).params.size() == base.params.size());
  CHECK(used == base_file);
  const lora_reference absolute{rank(2), d.path("elsewhere.ckpt"), r.base_hash};
  CHECK(stored_base_path(absolute, adapter) == d.path("elsewhere.ckpt"));

  const std::string fix = "; give the base with --base";
  d.write("v8/base.ckpt", "not a checkpoint");
  CHECK_THROWS_WITH_AS(load_lora_base(r, adapter, "", used),
                       ("adapter '" + adapter + "': its base 'base.ckpt' (the path given to finetune -m), found as '" +
                        base_file + "', cannot be used: '" + base_file + "' is not an attn checkpoint" + fix)
                           .c_str(),
                       error);
  std::filesystem::remove(base_file);
  CHECK_THROWS_WITH_AS(load_lora_base(r, adapter, "", used),
                       ("adapter '" + adapter +
                        "': its base 'base.ckpt' (the path given to finetune -m) cannot be opened from the current "
                        "directory or next to the adapter: No such file or directory" +
                        fix)
                           .c_str(),
                       error);
  CHECK_THROWS_WITH_AS(load_lora_base(absolute, adapter, "", used),
                       ("adapter '" + adapter + "': its base '" + d.path("elsewhere.ckpt") +
                        "' (the path given to finetune -m) cannot be opened: No such file or directory" + fix)
                           .c_str(),
                       error);
}

// ---- LoRA dropout (peft's lora_dropout) -------------------------------------------------------

TEST_CASE("lora dropout: an adapted linear layer's gradients through a fixed mask") {
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    rng gen(seed);
    const std::size_t n = 2 + gen.below(5), in = 2 + gen.below(6), out = 1 + gen.below(6);
    parameter_store store, inputs;
    nn::linear l(store, "l", in, out, gen);
    lora_options o = rank(1 + gen.below(3), {"l"});
    o.dropout = 0.3f;
    attach_lora(store, o, gen);
    randomize_adapters(store, gen);
    for (parameter* p : store.all()) p->trainable = true;
    parameter& x = nn::testing::input_param(inputs, "x", n, in, gen);
    nn::testing::check_gradients({&store, &inputs}, [&](tape& t) {
      rng g(99);  // the same mask on every evaluation
      return l.forward(t.param(x), &g);
    });
  }
}

TEST_CASE("lora dropout: p = 0 is today's adapted layer bit for bit and draws nothing; p > 0 drops while training") {
  rng gen(21);
  const std::size_t n = 6, in = 5, out = 4;
  parameter_store store, inputs;
  nn::linear l(store, "l", in, out, gen);
  attach_lora(store, rank(2, {"l"}), gen);
  randomize_adapters(store, gen);
  parameter& x = nn::testing::input_param(inputs, "x", n, in, gen);
  parameter& w = store.at("l.weight");
  // Reference: the adapted layer as main computes it, linear_low_rank over matmul(x, A).
  auto run = [&](bool reference, rng* g) {
    store.zero_grad();
    inputs.zero_grad();
    tape t;
    var y = reference ? linear_low_rank(t.param(x), t.param(w), t.param(store.at("l.bias")),
                                        matmul(t.param(x), t.param(*w.lora_a)), t.param(*w.lora_b), w.lora_scale)
                      : l.forward(t.param(x), g);
    std::vector<float> got(y.value().begin(), y.value().end());
    t.backward(attn::testing::project_to_scalar(t, y, matrix(y.value())));
    for (const parameter* p : {w.lora_a, w.lora_b, &x}) got.insert(got.end(), p->grad.begin(), p->grad.end());
    return got;
  };
  const std::vector<float> reference = run(true, nullptr);
  rng g(5), untouched(5);
  CHECK(w.lora_dropout == 0.0f);
  CHECK(run(false, &g) == reference);           // bit for bit: values and gradients of A, B and x
  CHECK(g.next_u64() == untouched.next_u64());  // no draw from the run's rng
  w.lora_dropout = 0.5f;
  CHECK(run(false, &g) != reference);
  {  // not recording (evaluation, decoding): no dropout, no generator needed
    tape t;
    no_grad ng(t);
    const matrix y = l.forward(t.param(x)).value();
    w.lora_dropout = 0.0f;
    const matrix y0 = l.forward(t.param(x)).value();
    CHECK(std::memcmp(y.data(), y0.data(), y.size() * sizeof(float)) == 0);
  }
  w.lora_dropout = 0.5f;
  tape t;
  CHECK_THROWS_WITH_AS(l.forward(t.param(x)), doctest::Contains("random generator"), attn::error);
}

TEST_CASE("lora dropout: every family trains with it on every linear adapter; evaluation is unaffected") {
  for (const char* family : {"lm", "transformer", "classifier", "rnn"}) {
    INFO(family);
    model_config c = tiny_config(family);
    if (std::string(family) == "rnn") c.attention = "additive";
    if (std::string(family) == "transformer") c.combine = "concat";  // the combine layers too
    const batch b = std::string(family) == "lm" ? lm_batch(small_data) : seq2seq_batch(small_data);
    // rnn: every linear layer but not the LSTM (its adapters take no dropout)
    const std::vector<std::string> targets =
        std::string(family) == "rnn" ? std::vector<std::string>{"attention", "out"} : std::vector<std::string>{"*"};
    auto make = [&](float p) {
      rng gen(9);
      auto m = make_model(c, gen);
      lora_options o = rank(2, targets);
      o.dropout = p;
      attach_lora(m->params(), o, gen);
      rng fill(10);
      randomize_adapters(m->params(), fill);
      return m;
    };
    auto plain = make(0.0f), dropped = make(0.4f);
    // evaluation (no_grad) and log-probs: bit for bit the same
    CHECK(loss_of(*dropped, b) == loss_of(*plain, b));
    if (std::string(family) != "classifier") {
      tape t1, t2;
      const matrix a = plain->log_probs(t1, b), d = dropped->log_probs(t2, b);
      CHECK(std::memcmp(a.data(), d.data(), a.size() * sizeof(float)) == 0);
    }
    // training (recording): the masks change the loss, and gradients reach the adapters
    auto train_loss = [&](model& m) {
      tape t;
      rng g(11);
      m.params().zero_grad();
      var l = m.loss(t, b, g).loss;
      t.backward(l);
      return l.value()(0, 0);
    };
    CHECK(train_loss(*dropped) != train_loss(*plain));
    for (const parameter* p : dropped->params().all())
      if (is_lora_parameter(p->name)) CHECK_MESSAGE(p->grad.size() == p->value.size(), p->name);
  }
}

// ---- LoRA on the LSTM (folded adapters) --------------------------------------------------------

TEST_CASE("lora on the LSTM: W + s·A·B gradients of A, B and x through the recurrence and through step()") {
  for (bool bidirectional : {false, true}) {
    INFO(bidirectional);
    rng gen(bidirectional ? 31 : 32);
    const std::size_t B = 3, T = 4, in = 3, h = 4;
    parameter_store store, inputs;
    nn::lstm l(store, "lstm", in, h, bidirectional, gen);
    const lora_attachment a = attach_lora(store, rank(2, {"*"}), gen);
    CHECK(a.adapters == (bidirectional ? 4u : 2u));
    CHECK(a.folded == a.adapters);
    CHECK(store.at("lstm.fwd.w_ih.lora_a").value.shape()[0] == in);  // A [in, R]
    CHECK(store.at("lstm.fwd.w_hh.lora_a").value.shape()[0] == h);
    CHECK(store.at("lstm.fwd.w_hh.lora_b").value.shape()[1] == 4 * h);  // B [R, 4h]
    randomize_adapters(store, gen);
    parameter& x = nn::testing::input_param(inputs, "x", B * T, in, gen);
    const std::vector<std::int32_t> lengths = {4, 2, 3};
    // only A and B train in store (the base stays frozen): the check covers A, B and x
    nn::testing::check_gradients({&store, &inputs}, [&](tape& t) { return l.forward(t.param(x), B, T, lengths).y; });
    if (!bidirectional) {
      parameter& x1 = nn::testing::input_param(inputs, "x1", B, in, gen);
      nn::testing::check_gradients({&store, &inputs}, [&](tape& t) {
        const nn::lstm::step_weights w = l.weights(t);
        nn::lstm_state s = l.zero_state(t, B);
        s = l.step(t.param(x1), s, w);
        s = l.step(t.param(x1), s, w);  // two steps share the folded weights
        return concat_cols({s.h, s.c});
      });
    }
  }
}

TEST_CASE("lora on the LSTM: '*' adapts w_ih and w_hh; a fresh adapter is the base exactly; merge folds them") {
  for (const char* attention : {"additive", "scaled-dot"}) {
    for (bool bidirectional : {false, true}) {
      INFO(attention, " bidirectional ", bidirectional);
      model_config c = tiny_config("rnn");
      c.attention = attention;
      c.bidirectional = bidirectional;
      rng gen(12);
      auto m = make_model(c, gen);
      const batch b = seq2seq_batch(small_data);
      const float before = loss_of(*m, b);
      tape t0;
      const matrix base_lp = m->log_probs(t0, b);
      const lora_attachment a = attach_lora(m->params(), rank(2, {"*"}), gen);
      CHECK(a.folded == (bidirectional ? 6u : 4u));  // encoder fwd (+bwd), decoder: w_ih and w_hh each
      for (const char* name :
           {"encoder.lstm.fwd.w_ih", "encoder.lstm.fwd.w_hh", "decoder.lstm.fwd.w_ih", "decoder.lstm.fwd.w_hh"})
        CHECK_MESSAGE(m->params().at(name).lora_a != nullptr, name);
      CHECK(loss_of(*m, b) == before);  // B = 0: W + s·A·0 is W, bit for bit
      tape t1;
      const matrix fresh = m->log_probs(t1, b);
      CHECK(std::memcmp(fresh.data(), base_lp.data(), fresh.size() * sizeof(float)) == 0);

      randomize_adapters(m->params(), gen);
      tape t2;
      const matrix adapted = m->log_probs(t2, b);
      CHECK(loss_of(*m, b) != before);
      CHECK(merge_lora(m->params()) == a.adapters);
      tape t3;
      const matrix merged = m->log_probs(t3, b);
      REQUIRE(merged.size() == adapted.size());
      for (std::size_t i = 0; i < merged.size(); ++i)
        CHECK(merged.data()[i] == doctest::Approx(adapted.data()[i]).epsilon(1e-5).scale(1.0));
    }
  }
}

TEST_CASE("lora on the LSTM: decoding step by step equals the teacher-forced pass with folded adapters") {
  model_config c = tiny_config("rnn");
  c.attention = "additive";
  rng gen(13);
  auto m = make_model(c, gen);
  attach_lora(m->params(), rank(2, {"*"}), gen);
  randomize_adapters(m->params(), gen);
  check_incremental_decoding(*m, seq2seq_batch(small_data));
}

TEST_CASE("lora on the LSTM: training moves only the adapters; frozen LSTM weights keep no gradient buffer") {
  model_config c = tiny_config("rnn");
  c.attention = "additive";
  rng gen(14);
  auto m = make_model(c, gen);
  const std::vector<checkpoint_param> base = export_parameters(m->params());
  attach_lora(m->params(), rank(2, {"*"}), gen);
  const batch b = seq2seq_batch(overfit_data);
  const float before = loss_of(*m, b);
  overfit(*m, b, 30);
  CHECK(loss_of(*m, b) < before);
  for (const checkpoint_param& p : base) {
    const parameter& now = m->params().at(p.name);
    CHECK_MESSAGE(std::memcmp(now.value.data(), p.value.data(), p.value.size() * sizeof(float)) == 0, p.name);
    CHECK_MESSAGE(now.grad.size() == 0, p.name);
  }
  bool moved = false;
  for (const char* name : {"encoder.lstm.fwd.w_hh.lora_b", "decoder.lstm.fwd.w_ih.lora_b"})
    for (float v : m->params().at(name).value) moved = moved || v != 0.0f;
  CHECK(moved);
}
