#include <doctest/doctest.h>

#include <algorithm>

#include "core/error.h"
#include "nn/encoder_layer.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("encoder_layer: parameter names") {
  rng gen(1);
  parameter_store store;
  block_config c;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  encoder_layer l(store, "encoder.layers.0", c, gen);
  std::vector<std::string> names;
  for (const parameter* p : store.all()) names.push_back(p->name);
  const std::vector<std::string> expected = {
      "encoder.layers.0.attn.qkv.weight", "encoder.layers.0.attn.qkv.bias", "encoder.layers.0.attn.out.weight",
      "encoder.layers.0.attn.out.bias",   "encoder.layers.0.ln1.gain",      "encoder.layers.0.ln1.bias",
      "encoder.layers.0.ff.in.weight",    "encoder.layers.0.ff.in.bias",    "encoder.layers.0.ff.out.weight",
      "encoder.layers.0.ff.out.bias",     "encoder.layers.0.ln2.gain",      "encoder.layers.0.ln2.bias"};
  CHECK(names == expected);

  parameter_store s2;
  c.combine = combine_mode::concat;
  encoder_layer l2(s2, "enc", c, gen);
  CHECK(s2.at("enc.combine.weight").value.shape()[0] == 16);
  CHECK(s2.at("enc.combine.weight").value.shape()[1] == 8);
  CHECK(parse_norm_position("post") == norm_position::post);
  CHECK(parse_combine("concat") == combine_mode::concat);
  CHECK_THROWS_AS(parse_combine("sum"), attn::error);
}

TEST_CASE("encoder_layer: gradients (pre/post LN x residual/concat x causal/padding x scorings)") {
  std::uint64_t seed = 40;
  for (norm_position norm : {norm_position::pre, norm_position::post})
    for (combine_mode comb : {combine_mode::residual, combine_mode::concat})
      for (bool causal : {false, true})
        for (attention_scoring sc : {attention_scoring::scaled_dot, attention_scoring::general,
                                     attention_scoring::additive}) {
          rng gen(++seed);
          const std::size_t B = 1 + gen.below(3), T = 2 + gen.below(3);
          block_config c;
          c.heads = sc == attention_scoring::additive ? 1 : 2;
          c.d_model = 8;
          c.d_ff = 6;
          c.dropout = 0.2f;
          c.norm = norm;
          c.combine = comb;
          c.causal = causal;
          c.scoring = sc;
          c.rope = causal && sc == attention_scoring::scaled_dot;
          parameter_store store, inputs;
          encoder_layer l(store, "enc", c, gen);
          parameter& x = input_param(inputs, "x", B * T, c.d_model, gen);
          std::vector<std::int32_t> lengths(B);
          for (auto& v : lengths) v = static_cast<std::int32_t>(1 + gen.below(T));
          INFO("post " << (norm == norm_position::post) << " concat " << (comb == combine_mode::concat) << " causal "
                       << causal << " scoring " << std::string(scoring_name(sc)));
          check_gradients({&store, &inputs}, [&](tape& t) {
            rng drop(3);
            return l.forward(t.param(x), B, T, lengths, drop);
          });
        }
}

TEST_CASE("encoder_layer: causal KV-cached decoding equals the full forward") {
  for (norm_position norm : {norm_position::pre, norm_position::post}) {
    rng gen(9);
    const std::size_t B = 2, T = 5;
    block_config c;
    c.d_model = 8;
    c.heads = 2;
    c.d_ff = 12;
    c.causal = true;
    c.norm = norm;
    c.combine = combine_mode::concat;
    parameter_store store;
    encoder_layer l(store, "lm.layers.0", c, gen);
    matrix x = matrix::from_shape({B * T, 8});
    fill_normal(x, gen);
    tape t;
    no_grad ng(t);
    const matrix full = l.forward(t.constant(x), B, T, {}, gen).value();
    kv_cache cache;
    for (std::size_t s = 0; s < T; ++s) {
      matrix xs = matrix::from_shape({B, 8});
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < 8; ++j) xs(b, j) = x(b * T + s, j);
      t.reset();
      const matrix step = l.forward(t.constant(xs), B, 1, {}, gen, &cache).value();
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < 8; ++j) CHECK(step(b, j) == doctest::Approx(full(b * T + s, j)).epsilon(1e-4));
    }
  }
}
