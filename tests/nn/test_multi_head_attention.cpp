#include <doctest/doctest.h>

#include "core/error.h"
#include "nn/multi_head_attention.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

namespace {

std::vector<std::int32_t> random_lengths(std::size_t batch, std::size_t time, rng& gen) {
  std::vector<std::int32_t> l(batch);
  for (auto& v : l) v = static_cast<std::int32_t>(1 + gen.below(time));
  l[0] = static_cast<std::int32_t>(time);  // at least one full-length item
  return l;
}

const attention_scoring all_scorings[] = {attention_scoring::scaled_dot, attention_scoring::dot,
                                          attention_scoring::general, attention_scoring::additive};

}  // namespace

TEST_CASE("multi_head_attention: parameter names and shapes") {
  rng gen(1);
  {
    parameter_store store;
    attention_config c;
    c.d_model = 8;
    c.heads = 2;
    multi_head_attention m(store, "encoder.layers.0.attn", c, gen);
    CHECK(store.size() == 4);
    CHECK(store.at("encoder.layers.0.attn.qkv.weight").value.shape()[1] == 24);
    CHECK(store.at("encoder.layers.0.attn.qkv.bias").value.shape()[1] == 24);
    CHECK(store.at("encoder.layers.0.attn.out.weight").value.shape()[0] == 8);
    CHECK(store.find("encoder.layers.0.attn.out.bias"));
  }
  {
    parameter_store store;
    attention_config c;
    c.d_model = 8;
    c.heads = 1;
    c.cross = true;
    c.d_memory = 6;
    c.scoring = attention_scoring::general;
    multi_head_attention m(store, "dec.cross", c, gen);
    CHECK(store.at("dec.cross.q.weight").value.shape()[1] == 8);
    CHECK(store.at("dec.cross.kv.weight").value.shape()[0] == 6);
    CHECK(store.at("dec.cross.kv.weight").value.shape()[1] == 16);
    CHECK(store.at("dec.cross.general.weight").value.shape()[0] == 8);
    CHECK(store.find("dec.cross.out.weight"));
    CHECK(store.size() == 7);
  }
  {
    parameter_store store;
    attention_config c;
    c.d_model = 8;
    c.scoring = attention_scoring::additive;
    multi_head_attention m(store, "a", c, gen);
    CHECK(store.at("a.v").value.shape()[1] == 8);
    c.heads = 2;
    CHECK_THROWS_AS(multi_head_attention(store, "b", c, gen), attn::error);
  }
  attention_config bad;
  bad.d_model = 6;
  bad.heads = 4;
  parameter_store s2;
  CHECK_THROWS_AS(multi_head_attention(s2, "x", bad, gen), attn::error);
  CHECK(parse_scoring("general") == attention_scoring::general);
  CHECK_THROWS_AS(parse_scoring("cosine"), attn::error);
}

TEST_CASE("multi_head_attention: self-attention gradients (scorings x causal x padding x rope)") {
  std::uint64_t seed = 10;
  for (attention_scoring sc : all_scorings)
    for (bool causal : {false, true})
      for (bool pad : {false, true})
        for (bool use_rope : {false, true}) {
          if (use_rope && sc == attention_scoring::additive) continue;
          rng gen(++seed);
          const std::size_t heads = sc == attention_scoring::additive ? 1 : 1 + gen.below(2);
          const std::size_t dh = 2 * (1 + gen.below(2));
          const std::size_t B = 1 + gen.below(3), T = 2 + gen.below(3);
          attention_config c;
          c.d_model = heads * dh;
          c.heads = heads;
          c.scoring = sc;
          c.causal = causal;
          c.rope = use_rope;
          parameter_store store, inputs;
          multi_head_attention m(store, "attn", c, gen);
          parameter& x = input_param(inputs, "x", B * T, c.d_model, gen);
          const auto lengths = pad ? random_lengths(B, T, gen) : std::vector<std::int32_t>{};
          INFO("scoring " << std::string(scoring_name(sc)) << " causal " << causal << " pad " << pad << " rope " << use_rope
                          << " B " << B << " T " << T << " H " << heads);
          check_gradients({&store, &inputs}, [&](tape& t) { return m.forward_self(t.param(x), B, T, lengths); });
        }
}

TEST_CASE("multi_head_attention: cross-attention gradients (scorings x padding)") {
  std::uint64_t seed = 100;
  for (attention_scoring sc : all_scorings)
    for (bool pad : {false, true}) {
      rng gen(++seed);
      const std::size_t heads = sc == attention_scoring::additive ? 1 : 2;
      const std::size_t B = 1 + gen.below(3), Tq = 1 + gen.below(3), Tk = 2 + gen.below(3);
      attention_config c;
      c.d_model = 4 * heads;
      c.heads = heads;
      c.scoring = sc;
      c.cross = true;
      c.d_memory = 5;
      parameter_store store, inputs;
      multi_head_attention m(store, "cross", c, gen);
      parameter& x = input_param(inputs, "x", B * Tq, c.d_model, gen);
      parameter& mem = input_param(inputs, "memory", B * Tk, 5, gen);
      const auto lengths = pad ? random_lengths(B, Tk, gen) : std::vector<std::int32_t>{};
      INFO("scoring " << std::string(scoring_name(sc)) << " pad " << pad);
      check_gradients({&store, &inputs},
                      [&](tape& t) { return m.forward_cross(t.param(x), B, Tq, t.param(mem), Tk, lengths); });
    }
}

TEST_CASE("multi_head_attention: weights of unmasked rows sum to 1, masked keys get 0") {
  for (attention_scoring sc : all_scorings) {
    rng gen(5);
    const std::size_t B = 3, T = 5, H = sc == attention_scoring::additive ? 1 : 2;
    attention_config c;
    c.d_model = 4 * H;
    c.heads = H;
    c.scoring = sc;
    c.causal = true;
    parameter_store store;
    multi_head_attention m(store, "attn", c, gen);
    m.keep_weights(true);
    matrix x = matrix::from_shape({B * T, c.d_model});
    fill_normal(x, gen);
    const std::vector<std::int32_t> lengths = {5, 3, 1};
    tape t;
    m.forward_self(t.constant(x), B, T, lengths);
    const matrix& w = m.last_weights().w;
    REQUIRE(w.shape()[0] == B * H * T);
    REQUIRE(w.shape()[1] == T);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t h = 0; h < H; ++h)
        for (std::size_t q = 0; q < T; ++q) {
          const std::size_t row = (b * H + h) * T + q;
          double sum = 0;
          for (std::size_t k = 0; k < T; ++k) {
            const bool visible = k <= q && static_cast<std::int32_t>(k) < lengths[b];
            if (!visible) CHECK(w(row, k) == 0.0f);
            sum += w(row, k);
          }
          CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
        }
  }
}

TEST_CASE("multi_head_attention: KV-cached incremental self-attention equals the full causal forward") {
  for (attention_scoring sc : all_scorings)
    for (bool use_rope : {false, true}) {
      if (use_rope && sc == attention_scoring::additive) continue;
      rng gen(7);
      const std::size_t B = 2, T = 6, H = sc == attention_scoring::additive ? 1 : 2;
      attention_config c;
      c.d_model = 4 * H;
      c.heads = H;
      c.scoring = sc;
      c.causal = true;
      c.rope = use_rope;
      parameter_store store;
      multi_head_attention m(store, "attn", c, gen);
      matrix x = matrix::from_shape({B * T, c.d_model});
      fill_normal(x, gen);
      tape t;
      no_grad ng(t);
      const matrix full = m.forward_self(t.constant(x), B, T).value();
      // step by step, then in chunks of 1, 2 and 3 rows
      for (std::size_t chunk : {1, 2, 3}) {
        kv_cache cache;
        for (std::size_t s = 0; s < T; s += chunk) {
          const std::size_t n = std::min(chunk, T - s);
          matrix xs = matrix::from_shape({B * n, c.d_model});
          for (std::size_t b = 0; b < B; ++b)
            for (std::size_t i = 0; i < n; ++i)
              for (std::size_t j = 0; j < c.d_model; ++j) xs(b * n + i, j) = x(b * T + s + i, j);
          t.reset();
          const matrix step = m.forward_self(t.constant(xs), B, n, {}, &cache).value();
          CHECK(cache.len() == s + n);
          for (std::size_t b = 0; b < B; ++b)
            for (std::size_t i = 0; i < n; ++i)
              for (std::size_t j = 0; j < c.d_model; ++j) {
                INFO(scoring_name(sc) << " rope " << use_rope << " chunk " << chunk << " b " << b << " t " << s + i);
                CHECK(step(b * n + i, j) == doctest::Approx(full(b * T + s + i, j)).epsilon(1e-4));
              }
        }
      }
    }
}

TEST_CASE("multi_head_attention: cross-attention cache reuses memory K/V") {
  rng gen(8);
  const std::size_t B = 2, Tq = 3, Tk = 4;
  attention_config c;
  c.d_model = 8;
  c.heads = 2;
  c.cross = true;
  parameter_store store;
  multi_head_attention m(store, "cross", c, gen);
  matrix x = matrix::from_shape({B * Tq, 8}), mem = matrix::from_shape({B * Tk, 8});
  fill_normal(x, gen);
  fill_normal(mem, gen);
  const std::vector<std::int32_t> lengths = {4, 2};
  tape t;
  no_grad ng(t);
  const matrix full = m.forward_cross(t.constant(x), B, Tq, t.constant(mem), Tk, lengths).value();
  kv_cache cache;
  for (std::size_t s = 0; s < Tq; ++s) {
    matrix xs = matrix::from_shape({B, 8});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < 8; ++j) xs(b, j) = x(b * Tq + s, j);
    t.reset();
    var memory = s == 0 ? t.constant(mem) : var{};  // later steps need no memory at all
    const matrix step = m.forward_cross(t.constant(xs), B, 1, memory, Tk, lengths, &cache).value();
    CHECK(cache.len() == Tk);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < 8; ++j) CHECK(step(b, j) == doctest::Approx(full(b * Tq + s, j)).epsilon(1e-4));
  }
}
