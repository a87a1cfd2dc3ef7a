#include <doctest/doctest.h>

#include "core/error.h"
#include "model_helpers.h"

using namespace attn;
using namespace attn::models_testing;

TEST_CASE("transformer: parameter names") {
  model_config c = tiny_config("transformer");
  c.layers = 2;
  c.tie_output = false;
  rng gen(1);
  auto m = make_model(c, gen);
  for (const char* n : {"src_embed.weight", "tgt_embed.weight", "encoder.layers.0.attn.qkv.weight",
                        "encoder.layers.1.ff.out.bias", "encoder.ln.gain", "decoder.layers.1.cross_attn.q.weight",
                        "decoder.layers.0.self_attn.qkv.weight", "decoder.ln.bias", "out.weight"})
    CHECK_MESSAGE(m->params().find(n), n);
  c.share_embeddings = true;
  c.tie_output = true;
  c.norm = "post";
  auto shared = make_model(c, gen);
  CHECK(shared->params().find("embed.weight"));
  CHECK_FALSE(shared->params().find("src_embed.weight"));
  CHECK_FALSE(shared->params().find("out.weight"));
  CHECK_FALSE(shared->params().find("encoder.ln.gain"));
  c.tgt_vocab = 12;
  CHECK_THROWS_WITH_AS(make_model(c, gen), doctest::Contains("share_embeddings"), error);
}

TEST_CASE("transformer: loss gradients (pre-LN and post-LN, padding, label smoothing, dropout)") {
  for (const char* norm : {"pre", "post"}) {
    INFO("norm " << norm);
    model_config c = tiny_config("transformer");
    c.norm = norm;
    c.dropout = 0.1f;
    c.tie_output = std::string(norm) == "pre";
    rng gen(2);
    auto m = make_model(c, gen);
    check_loss_gradients(*m, seq2seq_batch(small_data));
  }
}

// Single-threaded (tests/doctest_main.cpp) the final loss is 0.00085 (bound 0.05).
TEST_CASE("transformer: learns to reverse a handful of sequences" * doctest::test_suite("convergence")) {
  model_config c = tiny_config("transformer");
  c.d_model = 16;
  c.ff = 32;
  rng gen(3);
  auto m = make_model(c, gen);
  const batch b = seq2seq_batch(overfit_data);
  CHECK(overfit(*m, b, 300) < 0.05f);
  tape t;
  rng g(0);
  loss_result r = m->loss(t, b, g);
  CHECK(r.tokens == 26);
  CHECK(r.correct == r.tokens);
}

// A padded batch runs its encoder and decoder on packed rows (models/common.h packing_if_padded).
TEST_CASE("transformer: a padded batch's loss and gradients equal its items' one by one (packed rows)") {
  for (const char* norm : {"pre", "post"}) {
    INFO("norm " << norm);
    model_config c = tiny_config("transformer");
    c.norm = norm;
    c.layers = 2;
    c.tie_output = std::string(norm) == "post";
    rng gen(6);
    auto m = make_model(c, gen);
    check_padding_changes_nothing(*m, seq2seq_batch, padded_data);
  }
}

TEST_CASE("transformer: decode_step with KV caches equals the teacher-forced forward") {
  for (const char* pos : {"sinusoidal", "learned", "rope", "none", "hyperbolic"})
    for (const char* norm : {"pre", "post"}) {
      INFO(pos << " " << norm);
      model_config c = tiny_config("transformer");
      c.pos_encoding = pos;
      c.norm = norm;
      c.layers = 2;
      rng gen(4);
      auto m = make_model(c, gen);
      check_incremental_decoding(*m, seq2seq_batch(overfit_data));
    }
}

namespace {

// Two target sequences of 20 and 17 tokens (21 and 18 positions with <bos>): the self-attention
// cache holds two pages per item.
std::vector<std::vector<std::int32_t>> long_targets() {
  std::vector<std::vector<std::int32_t>> data = {{}, {}};
  for (std::int32_t i = 0; i < 20; ++i) {
    data[0].push_back(4 + i % 7);
    if (i < 17) data[1].push_back(4 + (i * 5) % 7);
  }
  return data;
}

// The model of the cache-page tests with `scoring` (additive: one head).
std::unique_ptr<model> model_scoring(const char* scoring) {
  model_config c = tiny_config("transformer");
  c.attention = scoring;
  if (c.attention == "additive") c.heads = 1;
  rng gen(6);
  return make_model(c, gen);
}

}  // namespace

TEST_CASE("transformer: decode_step past a KV cache page (16 positions) equals the forward, for every scoring") {
  // Targets of 21 positions: the self-attention cache holds two pages per item. Additive scoring
  // reads each item's keys as one run of rows (the pages gathered; it once refused them).
  const std::vector<std::vector<std::int32_t>> long_data = long_targets();
  for (const char* scoring : {"scaled-dot", "dot", "general", "additive"}) {
    INFO(scoring);
    auto m = model_scoring(scoring);
    check_incremental_decoding(*m, seq2seq_batch(long_data));
  }
}

TEST_CASE("transformer: reorder_decoding (beam back-pointers) keeps caches and memory consistent") {
  rng gen(5);
  auto m = make_model(tiny_config("transformer"), gen);
  check_reorder(*m, seq2seq_batch(small_data), {{2, 2}, {6, 8}, {5, 7}});
}

TEST_CASE("transformer: decode_step with f16 K/V caches stays near the teacher-forced forward, and differs from f32") {
  // Targets of 21 positions (two self-attention pages per item), then beams reordered.
  const std::vector<std::vector<std::int32_t>> long_data = long_targets();
  for (const char* scoring : {"scaled-dot", "additive"}) {
    INFO(scoring);
    auto m = model_scoring(scoring);
    const batch b = seq2seq_batch(long_data);
    tape t;
    m->start_decoding(t, b);
    t.reset();
    const matrix f32_step = m->decode_step(t, {2, 2});
    CHECK(m->set_kv_precision(nn::kv_precision::f16));
    check_incremental_decoding(*m, b, 5e-3);  // K/V rounded to 11 significant bits
    t.reset();
    m->start_decoding(t, b);
    t.reset();
    const matrix f16_step = m->decode_step(t, {2, 2});
    CHECK_FALSE(std::equal(f16_step.begin(), f16_step.end(), f32_step.begin()));  // the halves were read
    check_reorder(*m, seq2seq_batch(small_data), {{2, 2}, {6, 8}, {5, 7}});
    CHECK(m->set_kv_precision(nn::kv_precision::f32));  // and back: the same steps as before
    t.reset();
    m->start_decoding(t, b);
    t.reset();
    const matrix again = m->decode_step(t, {2, 2});
    CHECK(std::equal(again.begin(), again.end(), f32_step.begin()));
  }
}
