#include <doctest/doctest.h>

#include "core/error.h"
#include "model_helpers.h"

using namespace attn;
using namespace attn::models_testing;

namespace {
model_config rnn_config(const char* attention, bool bidirectional) {
  model_config c = tiny_config("rnn");
  c.attention = attention;
  c.bidirectional = bidirectional;
  return c;
}
}  // namespace

TEST_CASE("rnn: parameter names and settings") {
  rng gen(1);
  auto add = make_model(rnn_config("additive", true), gen);
  for (const char* n : {"src_embed.weight", "tgt_embed.weight", "encoder.lstm.fwd.w_ih", "encoder.lstm.bwd.w_hh",
                        "decoder.lstm.fwd.w_ih", "attention.keys.weight", "attention.v", "out.weight"})
    CHECK_MESSAGE(add->params().find(n), n);
  // input feeding: the decoder reads [embedding ; context]; bidirectional: h/2 units per direction
  CHECK(add->params().at("decoder.lstm.fwd.w_ih").value.shape()[0] == 6 + 8);
  CHECK(add->params().at("encoder.lstm.fwd.w_hh").value.shape()[0] == 4);
  auto gen_m = make_model(rnn_config("general", false), gen);
  CHECK(gen_m->params().find("attention.general.weight"));
  CHECK(gen_m->params().at("decoder.lstm.fwd.w_ih").value.shape()[0] == 6);
  CHECK(make_model(rnn_config("scaled-dot", false), gen)->params().size() == gen_m->params().size() - 1);
  CHECK_THROWS_WITH_AS(make_model(rnn_config("cosine", false), gen), doctest::Contains("additive, dot, general"),
                       error);
  model_config odd = rnn_config("dot", true);
  odd.hidden = 7;
  CHECK_THROWS_AS(make_model(odd, gen), error);
}

TEST_CASE("rnn: loss gradients (additive, dot, general, scaled-dot; uni- and bidirectional)") {
  for (const char* att : {"additive", "dot", "general", "scaled-dot"})
    for (bool bi : {false, true}) {
      INFO(att << " bidirectional " << bi);
      model_config c = rnn_config(att, bi);
      c.dropout = 0.1f;
      rng gen(2);
      auto m = make_model(c, gen);
      check_loss_gradients(*m, seq2seq_batch(small_data));
    }
}

// Single-threaded (tests/doctest_main.cpp) the final losses are 0.0005-0.0008 (bound 0.05).
TEST_CASE("rnn: learns to reverse a handful of sequences" * doctest::test_suite("convergence")) {
  for (const char* att : {"additive", "dot", "general"}) {
    INFO(att);
    model_config c = rnn_config(att, true);
    c.hidden = 16;
    c.embed = 12;
    rng gen(3);
    auto m = make_model(c, gen);
    CHECK(overfit(*m, seq2seq_batch(overfit_data), 300, 2e-2f) < 0.05f);
  }
}

TEST_CASE("rnn: decode_step equals the teacher-forced forward") {
  for (const char* att : {"additive", "dot", "general", "scaled-dot"})
    for (bool bi : {false, true}) {
      INFO(att << " bidirectional " << bi);
      rng gen(4);
      auto m = make_model(rnn_config(att, bi), gen);
      check_incremental_decoding(*m, seq2seq_batch(overfit_data));
    }
}

TEST_CASE("rnn: reorder_decoding keeps states, keys and context consistent") {
  for (const char* att : {"additive", "general", "dot"}) {
    INFO(att);
    rng gen(5);
    auto m = make_model(rnn_config(att, true), gen);
    check_reorder(*m, seq2seq_batch(small_data), {{2, 2}, {6, 8}, {5, 7}});
  }
}

TEST_CASE("rnn: the loss of a padded batch is the mean log-loss of its non-pad targets") {
  // loss() runs the output layer over the non-pad rows only; log_probs() over all of them.
  for (const char* att : {"additive", "dot"}) {
    INFO(att);
    rng gen(4);
    auto m = make_model(rnn_config(att, false), gen);
    const batch b = seq2seq_batch(overfit_data);
    tape t;
    rng unused(0);
    const loss_result r = m->loss(t, b, unused);
    t.reset();
    const matrix lp = m->log_probs(t, b);
    double sum = 0;
    std::size_t n = 0, correct = 0;
    for (std::size_t i = 0; i < b.tgt_out.size(); ++i) {
      if (b.tgt_out[i] == 0) continue;
      sum -= lp(i, static_cast<std::size_t>(b.tgt_out[i]));
      ++n;
      std::size_t best = 0;
      for (std::size_t v = 1; v < lp.shape()[1]; ++v)
        if (lp(i, v) > lp(i, best)) best = v;
      correct += best == static_cast<std::size_t>(b.tgt_out[i]);
    }
    REQUIRE(n < b.tgt_out.size());  // the batch has padding
    CHECK(r.tokens == n);
    CHECK(r.correct == correct);
    CHECK(r.loss.value()(0, 0) == doctest::Approx(sum / static_cast<double>(n)).epsilon(1e-5));
  }
}
