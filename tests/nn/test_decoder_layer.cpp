#include <doctest/doctest.h>

#include "nn/decoder_layer.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("decoder_layer: parameter names") {
  rng gen(1);
  parameter_store store;
  block_config c;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 16;
  c.combine = combine_mode::concat;
  c.d_memory = 6;
  decoder_layer l(store, "decoder.layers.2", c, gen);
  for (const char* n :
       {"self_attn.qkv.weight", "self_attn.out.bias", "ln1.gain", "self_combine.weight", "cross_attn.q.weight",
        "cross_attn.kv.weight", "cross_attn.out.weight", "ln2.bias", "cross_combine.bias", "ff.in.weight",
        "ff.out.bias", "ln3.gain"})
    CHECK_MESSAGE(store.find(std::string("decoder.layers.2.") + n), n);
  CHECK(store.at("decoder.layers.2.cross_attn.kv.weight").value.shape()[0] == 6);
  CHECK(store.size() == 24);
}

TEST_CASE("decoder_layer: gradients (pre/post LN x residual/concat, padding on both sides)") {
  std::uint64_t seed = 60;
  for (norm_position norm : {norm_position::pre, norm_position::post})
    for (combine_mode comb : {combine_mode::residual, combine_mode::concat})
      for (attention_scoring sc : {attention_scoring::scaled_dot, attention_scoring::dot}) {
        rng gen(++seed);
        const std::size_t B = 1 + gen.below(3), T = 1 + gen.below(3), S = 2 + gen.below(3);
        block_config c;
        c.d_model = 8;
        c.heads = 2;
        c.d_ff = 6;
        c.dropout = 0.1f;
        c.norm = norm;
        c.combine = comb;
        c.scoring = sc;
        c.d_memory = 5;
        parameter_store store, inputs;
        decoder_layer l(store, "dec", c, gen);
        parameter& x = input_param(inputs, "x", B * T, 8, gen);
        parameter& mem = input_param(inputs, "memory", B * S, 5, gen);
        std::vector<std::int32_t> lengths(B), mem_lengths(B);
        for (auto& v : lengths) v = static_cast<std::int32_t>(1 + gen.below(T));
        for (auto& v : mem_lengths) v = static_cast<std::int32_t>(1 + gen.below(S));
        INFO("post " << (norm == norm_position::post) << " concat " << (comb == combine_mode::concat));
        check_gradients({&store, &inputs}, [&](tape& t) {
          rng drop(5);
          return l.forward(t.param(x), B, T, lengths, t.param(mem), S, mem_lengths, drop);
        });
      }
}

TEST_CASE("decoder_layer: incremental decoding with caches equals the full forward") {
  rng gen(2);
  const std::size_t B = 3, T = 4, S = 5;
  block_config c;
  c.d_model = 8;
  c.heads = 2;
  c.d_ff = 12;
  c.rope = true;
  parameter_store store;
  decoder_layer l(store, "dec", c, gen);
  matrix x = matrix::from_shape({B * T, 8}), mem = matrix::from_shape({B * S, 8});
  fill_normal(x, gen);
  fill_normal(mem, gen);
  const std::vector<std::int32_t> mem_lengths = {5, 3, 4};
  tape t;
  no_grad ng(t);
  const matrix full = l.forward(t.constant(x), B, T, {}, t.constant(mem), S, mem_lengths, gen).value();
  decoder_cache cache;
  for (std::size_t s = 0; s < T; ++s) {
    matrix xs = matrix::from_shape({B, 8});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < 8; ++j) xs(b, j) = x(b * T + s, j);
    t.reset();
    const matrix step = l.forward(t.constant(xs), B, 1, {}, t.constant(mem), S, mem_lengths, gen, &cache).value();
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < 8; ++j) CHECK(step(b, j) == doctest::Approx(full(b * T + s, j)).epsilon(1e-4));
  }
}
