#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "model_helpers.h"

using namespace attn;
using namespace attn::models_testing;

TEST_CASE("lm: parameter names; tied output has no out.weight") {
  model_config c = tiny_config("lm");
  c.pos_encoding = "learned";
  rng gen(1);
  auto m = make_model(c, gen);
  for (const char* n : {"embed.weight", "pos.weight", "layers.0.attn.qkv.weight", "layers.0.ff.in.weight", "ln_f.gain"})
    CHECK_MESSAGE(m->params().find(n), n);
  CHECK_FALSE(m->params().find("out.weight"));
}

TEST_CASE("lm: loss gradients (pre/post LN, tied and untied output)") {
  for (const char* norm : {"pre", "post"}) {
    INFO(norm);
    model_config c = tiny_config("lm");
    c.norm = norm;
    c.layers = 2;
    c.dropout = 0.1f;
    c.tie_output = std::string(norm) == "post";
    rng gen(2);
    auto m = make_model(c, gen);
    check_loss_gradients(*m, lm_batch(small_data));
  }
}

// Lines of text of different lengths run on packed rows (models/common.h packing_if_padded).
TEST_CASE("lm: a padded batch's loss and gradients equal its lines' one by one (packed rows)") {
  for (const char* pos : {"learned", "rope"}) {
    INFO(pos);
    model_config c = tiny_config("lm");
    c.layers = 2;
    c.pos_encoding = pos;
    rng gen(7);
    auto m = make_model(c, gen);
    check_padding_changes_nothing(*m, lm_batch, padded_data);
  }
}

TEST_CASE("lm: memorises a handful of sequences" * doctest::test_suite("convergence")) {
  model_config c = tiny_config("lm");
  c.d_model = 16;
  c.ff = 32;
  rng gen(3);
  auto m = make_model(c, gen);
  // After <bos> the first token is one of 4 equally frequent ones: that prediction cannot beat
  // ln 4 per text; every later token is determined by its prefix. 16 targets in all.
  const std::vector<std::vector<std::int32_t>> texts = {{4, 5, 6, 7}, {8, 9, 10}, {5, 5, 9}, {10, 4}};
  const float floor = 4.0f * std::log(4.0f) / 16.0f;
  const float final_loss = overfit(*m, lm_batch(texts), 300);
  // Single-threaded (tests/doctest_main.cpp) the final loss is 0.3475, the floor 0.3466 (bound +0.05).
  CHECK(final_loss > floor - 1e-3f);
  CHECK(final_loss < floor + 0.05f);
}

TEST_CASE("lm: decode_step with KV caches equals the full forward, with and without a prompt") {
  for (const char* pos : {"sinusoidal", "learned", "rope"}) {
    INFO(pos);
    model_config c = tiny_config("lm");
    c.pos_encoding = pos;
    c.layers = 2;
    rng gen(4);
    auto m = make_model(c, gen);
    const batch b = lm_batch({{4, 5, 6, 7}, {8, 9, 10, 4}});  // equal lengths: no padding
    tape t;
    const matrix full = m->log_probs(t, b);
    const std::size_t T = b.src_len, V = cols(full);

    batch none;  // no prompt: the first decode_step gets <bos>
    none.size = b.size;
    m->start_decoding(t, none);
    for (std::size_t s = 0; s < T; ++s) {
      std::vector<std::int32_t> last = {b.src[s], b.src[T + s]};
      t.reset();
      const matrix step = m->decode_step(t, last);
      for (std::size_t i = 0; i < b.size; ++i)
        for (std::size_t v = 0; v < V; ++v) CHECK(step(i, v) == doctest::Approx(full(i * T + s, v)).epsilon(1e-4));
    }

    batch prompt;  // prompt x_1 x_2: the first decode_step(<bos>) returns the distribution after x_2
    prompt.size = b.size;
    prompt.src_len = 2;
    prompt.src = {b.src[1], b.src[2], b.src[T + 1], b.src[T + 2]};
    t.reset();
    m->start_decoding(t, prompt);
    t.reset();
    const matrix first = m->decode_step(t, {2, 2});
    t.reset();
    const matrix next = m->decode_step(t, {b.src[3], b.src[T + 3]});
    for (std::size_t i = 0; i < b.size; ++i)
      for (std::size_t v = 0; v < V; ++v) {
        CHECK(first(i, v) == doctest::Approx(full(i * T + 2, v)).epsilon(1e-4));
        CHECK(next(i, v) == doctest::Approx(full(i * T + 3, v)).epsilon(1e-4));
      }
    t.reset();
    m->start_decoding(t, prompt);  // the same steps' logits
    t.reset();
    check_log_softmax_of(m->decode_step_logits(t, {2, 2}), first);
    t.reset();
    check_log_softmax_of(m->decode_step_logits(t, {b.src[3], b.src[T + 3]}), next);
  }
}

TEST_CASE("lm: reorder_decoding, before and after the prompt is fed") {
  rng gen(5);
  auto m = make_model(tiny_config("lm"), gen);
  batch prompt;
  prompt.size = 2;
  prompt.src_len = 2;
  prompt.src = {4, 5, 8, 9};
  check_reorder(*m, prompt, {{2, 2}, {6, 10}, {5, 7}});
  check_reorder(*m, prompt, {{2, 2}});  // reordered before the first step: the prompts move too
}

TEST_CASE("lm: decode_step with f16 K/V caches stays near the full forward; rnn keeps no cache") {
  model_config c = tiny_config("lm");
  c.layers = 2;
  rng gen(4);
  auto m = make_model(c, gen);
  const batch b = lm_batch({{4, 5, 6, 7}, {8, 9, 10, 4}});
  tape t;
  const matrix full = m->log_probs(t, b);
  const std::size_t T = b.src_len, V = cols(full);
  CHECK(m->set_kv_precision(nn::kv_precision::f16));
  batch none;
  none.size = b.size;
  t.reset();
  m->start_decoding(t, none);
  bool differs = false;
  for (std::size_t s = 0; s < T; ++s) {
    t.reset();
    const matrix step = m->decode_step(t, {b.src[s], b.src[T + s]});
    for (std::size_t i = 0; i < b.size; ++i)
      for (std::size_t v = 0; v < V; ++v) {
        CHECK(step(i, v) == doctest::Approx(full(i * T + s, v)).epsilon(5e-3).scale(1.0));
        differs = differs || std::fabs(step(i, v) - full(i * T + s, v)) > 1e-5f;
      }
  }
  CHECK(differs);  // the halves were read (f32 agrees within 1e-4 relative)
  rng gen2(1);
  auto rnn = make_model(tiny_config("rnn"), gen2);
  CHECK_FALSE(rnn->set_kv_precision(nn::kv_precision::f16));
}
