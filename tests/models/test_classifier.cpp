#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "model_helpers.h"

using namespace attn;
using namespace attn::models_testing;

TEST_CASE("classifier: loss gradients (mean and first pooling, pre/post LN)") {
  for (const char* pooling : {"mean", "first"})
    for (const char* norm : {"pre", "post"}) {
      INFO(pooling << " " << norm);
      model_config c = tiny_config("classifier");
      c.pooling = pooling;
      c.norm = norm;
      c.dropout = 0.1f;
      rng gen(2);
      auto m = make_model(c, gen);
      check_loss_gradients(*m, seq2seq_batch(small_data));
    }
}

// Its encoder runs on packed rows (models/common.h packing_if_padded); the pooling sees them unpacked.
TEST_CASE("classifier: a padded batch's loss and gradients equal its items' one by one (packed rows)") {
  for (const char* pooling : {"mean", "first"}) {
    INFO(pooling);
    model_config c = tiny_config("classifier");
    c.pooling = pooling;
    c.layers = 2;
    rng gen(8);
    auto m = make_model(c, gen);
    check_padding_changes_nothing(*m, seq2seq_batch, padded_data);
  }
}

// Single-threaded (tests/doctest_main.cpp) the final loss is 0.00013 (bound 0.05) and every true
// label gets a log-prob above -0.0002 (bound log 0.9 = -0.105).
TEST_CASE("classifier: fits a handful of labelled sequences; classify gives log-probs" *
          doctest::test_suite("convergence")) {
  model_config c = tiny_config("classifier");
  c.d_model = 16;
  c.ff = 32;
  rng gen(3);
  auto m = make_model(c, gen);
  const batch b = seq2seq_batch(overfit_data);
  CHECK(overfit(*m, b, 200) < 0.05f);
  tape t;
  rng g(0);
  loss_result r = m->loss(t, b, g);
  CHECK(r.tokens == b.size);
  CHECK(r.correct == b.size);
  t.reset();
  const matrix lp = m->classify(t, b);
  REQUIRE(rows(lp) == b.size);
  REQUIRE(cols(lp) == 3);
  for (std::size_t i = 0; i < b.size; ++i) {
    double s = 0.0;
    for (std::size_t k = 0; k < 3; ++k) s += std::exp(static_cast<double>(lp(i, k)));
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(lp(i, static_cast<std::size_t>(b.labels[i])) > std::log(0.9f));
  }
}

TEST_CASE("classifier: classify gives log-probs (each row's probabilities sum to 1), untrained too") {
  rng gen(4);
  auto m = make_model(tiny_config("classifier"), gen);
  tape t;
  const batch b = seq2seq_batch(overfit_data);
  const matrix lp = m->classify(t, b);  // [B, classes]
  REQUIRE(rows(lp) == b.size);
  REQUIRE(cols(lp) == 3);
  for (std::size_t i = 0; i < b.size; ++i) {
    double s = 0.0;
    for (std::size_t k = 0; k < 3; ++k) {
      CHECK(lp(i, k) <= 0.0f);
      s += std::exp(static_cast<double>(lp(i, k)));
    }
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("classifier: does not generate; other families do not classify") {
  rng gen(1);
  auto m = make_model(tiny_config("classifier"), gen);
  tape t;
  const batch b = seq2seq_batch(small_data);
  CHECK_THROWS_WITH_AS(m->start_decoding(t, b), "a classifier does not generate text", error);
  CHECK_THROWS_WITH_AS(m->decode_step(t, {2, 2}), "a classifier does not generate text", error);
  auto lm = make_model(tiny_config("lm"), gen);
  CHECK_THROWS_AS(lm->classify(t, b), error);
  CHECK_THROWS_AS(m->log_probs(t, b), error);
}
