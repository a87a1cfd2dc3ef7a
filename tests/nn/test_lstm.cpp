#include <doctest/doctest.h>

#include "core/error.h"
#include "nn/lstm.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

namespace {

// Everything an lstm returns stacked into one matrix-valued node, for the gradient check:
// y [B*T, hd] on top of final h and c per direction ([B, h] each, side by side).
var stack_outputs(const lstm_output& o) {
  std::vector<var> hs, cs;
  for (const auto& s : o.final) {
    hs.push_back(s.h);
    cs.push_back(s.c);
  }
  var h = hs.size() == 1 ? hs[0] : concat_cols(hs);
  var c = cs.size() == 1 ? cs[0] : concat_cols(cs);
  return concat_rows({o.y, h, c});
}

}  // namespace

TEST_CASE("lstm: parameter names, shapes, forget-gate bias") {
  parameter_store store;
  rng gen(1);
  lstm l(store, "encoder.rnn", 3, 5, /*bidirectional=*/true, gen);
  CHECK(store.size() == 6);
  for (const char* dir : {"fwd", "bwd"}) {
    const std::string p = std::string("encoder.rnn.") + dir;
    CHECK(store.at(p + ".w_ih").value.shape()[0] == 3);
    CHECK(store.at(p + ".w_ih").value.shape()[1] == 20);
    CHECK(store.at(p + ".w_hh").value.shape()[0] == 5);
    const parameter& b = store.at(p + ".bias");
    CHECK_FALSE(b.decay);
    CHECK(b.value(0, 0) == 0.0f);
    CHECK(b.value(0, 5) == 1.0f);
    CHECK(b.value(0, 10) == 0.0f);
  }
  CHECK(l.output_width() == 10);
}

TEST_CASE("lstm: gradients, uni- and bidirectional, with padding and initial state") {
  std::uint64_t seed = 20;
  for (bool bi : {false, true})
    for (bool pad : {false, true})
      for (bool with_init : {false, true}) {
        rng gen(++seed);
        const std::size_t B = 1 + gen.below(3), T = 1 + gen.below(4), in = 1 + gen.below(4), h = 1 + gen.below(3);
        parameter_store store, inputs;
        lstm l(store, "rnn", in, h, bi, gen);
        parameter& x = input_param(inputs, "x", B * T, in, gen);
        std::vector<parameter*> h0, c0;
        for (std::size_t d = 0; d < (bi ? 2u : 1u); ++d) {
          h0.push_back(&input_param(inputs, "h0." + std::to_string(d), B, h, gen));
          c0.push_back(&input_param(inputs, "c0." + std::to_string(d), B, h, gen));
        }
        std::vector<std::int32_t> lengths;
        if (pad) {
          for (std::size_t b = 0; b < B; ++b) lengths.push_back(static_cast<std::int32_t>(gen.below(T + 1)));
          lengths[B - 1] = static_cast<std::int32_t>(T);  // longest last: exercises the sort
        }
        INFO("bi " << bi << " pad " << pad << " init " << with_init << " B " << B << " T " << T);
        if (!with_init)
          for (auto* p : h0) p->trainable = false;
        if (!with_init)
          for (auto* p : c0) p->trainable = false;
        check_gradients({&store, &inputs}, [&](tape& t) {
          std::vector<lstm_state> init;
          if (with_init)
            for (std::size_t d = 0; d < h0.size(); ++d) init.push_back({t.param(*h0[d]), t.param(*c0[d])});
          return stack_outputs(l.forward(t.param(x), B, T, lengths, init));
        });
      }
}

TEST_CASE("lstm: padded batch equals each sequence run alone; outputs past length are zero") {
  rng gen(4);
  const std::size_t B = 4, T = 5, in = 3, h = 4;
  parameter_store store;
  lstm l(store, "rnn", in, h, /*bidirectional=*/true, gen);
  matrix x = matrix::from_shape({B * T, in});
  fill_normal(x, gen);
  const std::vector<std::int32_t> lengths = {2, 5, 0, 3};
  tape t;
  no_grad ng(t);
  lstm_output all = l.forward(t.constant(x), B, T, lengths);
  REQUIRE(all.y.cols() == 2 * h);
  for (std::size_t b = 0; b < B; ++b) {
    const std::size_t L = static_cast<std::size_t>(lengths[b]);
    for (std::size_t s = L; s < T; ++s)
      for (std::size_t j = 0; j < 2 * h; ++j) CHECK(all.y.value()(b * T + s, j) == 0.0f);
    if (L == 0) {
      for (std::size_t j = 0; j < h; ++j) CHECK(all.final[0].h.value()(b, j) == 0.0f);
      continue;
    }
    matrix xb = matrix::from_shape({L, in});
    for (std::size_t s = 0; s < L; ++s)
      for (std::size_t j = 0; j < in; ++j) xb(s, j) = x(b * T + s, j);
    lstm_output one = l.forward(t.constant(xb), 1, L);
    for (std::size_t s = 0; s < L; ++s)
      for (std::size_t j = 0; j < 2 * h; ++j)
        CHECK(all.y.value()(b * T + s, j) == doctest::Approx(one.y.value()(s, j)).epsilon(1e-5));
    for (std::size_t d = 0; d < 2; ++d)
      for (std::size_t j = 0; j < h; ++j) {
        CHECK(all.final[d].h.value()(b, j) == doctest::Approx(one.final[d].h.value()(0, j)).epsilon(1e-5));
        CHECK(all.final[d].c.value()(b, j) == doctest::Approx(one.final[d].c.value()(0, j)).epsilon(1e-5));
      }
    // forward final h is the output at the last valid step; backward final h is the output at step 0
    for (std::size_t j = 0; j < h; ++j) {
      CHECK(all.final[0].h.value()(b, j) == all.y.value()(b * T + L - 1, j));
      CHECK(all.final[1].h.value()(b, j) == all.y.value()(b * T, h + j));
    }
  }
}

TEST_CASE("lstm: step() reproduces the forward direction") {
  rng gen(5);
  const std::size_t B = 2, T = 4, in = 3, h = 3;
  parameter_store store;
  lstm l(store, "dec.rnn", in, h, false, gen);
  matrix x = matrix::from_shape({B * T, in});
  fill_normal(x, gen);
  tape t;
  no_grad ng(t);
  lstm_output full = l.forward(t.constant(x), B, T);
  lstm_state s = l.zero_state(t, B);
  for (std::size_t step = 0; step < T; ++step) {
    matrix xs = matrix::from_shape({B, in});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < in; ++j) xs(b, j) = x(b * T + step, j);
    s = l.step(t.constant(xs), s);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < h; ++j)
        CHECK(s.h.value()(b, j) == doctest::Approx(full.y.value()(b * T + step, j)).epsilon(1e-5));
  }
  CHECK_THROWS_AS(l.forward(t.constant(x), B, T, {1, 9}), attn::error);
}
