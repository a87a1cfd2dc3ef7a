#include <doctest/doctest.h>

#include "core/error.h"
#include "nn/embedding.h"
#include "layer_gradcheck.h"

using namespace attn;
using namespace attn::nn;
using namespace attn::nn::testing;

TEST_CASE("embedding: names, lookup, scaling and range check") {
  parameter_store store;
  rng gen(1);
  nn::embedding e(store, "src_embed", 7, 4, gen);
  REQUIRE(store.find("src_embed.weight"));
  CHECK(store.at("src_embed.weight").value.shape()[0] == 7);
  tape t;
  var y = e.forward(t, {3, 0, 3});
  REQUIRE(y.rows() == 3);
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(y.value()(0, j) == store.at("src_embed.weight").value(3, j));
    CHECK(y.value()(2, j) == y.value()(0, j));
  }
  var s = e.forward(t, {3}, /*scale_sqrt_d=*/true);
  CHECK(s.value()(0, 1) == doctest::Approx(2.0f * y.value()(0, 1)));
  CHECK_THROWS_AS(e.forward(t, {7}), attn::error);
  CHECK_THROWS_AS(e.forward(t, {-1}), attn::error);
}

TEST_CASE("embedding: gradient scatter-adds into the table") {
  parameter_store store;
  rng gen(2);
  nn::embedding e(store, "emb", 6, 3, gen);
  check_gradients({&store}, [&](tape& t) { return e.forward(t, {1, 4, 1, 5, 0}, true); });
}
