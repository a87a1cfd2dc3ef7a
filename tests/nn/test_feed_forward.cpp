#include <doctest/doctest.h>

#include "core/error.h"
#include "nn/feed_forward.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("feed_forward: names and gradients (gelu, relu, dropout)") {
  for (activation act : {activation::gelu, activation::relu})
    for (float p : {0.0f, 0.25f}) {
      rng gen(3);
      parameter_store store, inputs;
      feed_forward ff(store, "enc.layers.1.ff", 4, 7, act, p, gen);
      CHECK(store.at("enc.layers.1.ff.in.weight").value.shape()[1] == 7);
      CHECK(store.at("enc.layers.1.ff.out.weight").value.shape()[0] == 7);
      CHECK_FALSE(store.at("enc.layers.1.ff.out.bias").decay);
      CHECK(store.size() == 4);
      parameter& x = input_param(inputs, "x", 5, 4, gen);
      INFO(activation_name(act) << " p " << p);
      check_gradients({&store, &inputs}, [&](tape& t) {
        rng mask(11);
        return ff.forward(t.param(x), mask);
      });
    }
  CHECK(parse_activation("relu") == activation::relu);
  CHECK_THROWS_AS(parse_activation("swish"), attn::error);
}
