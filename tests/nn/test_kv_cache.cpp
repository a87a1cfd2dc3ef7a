#include <doctest/doctest.h>

#include "core/error.h"
#include "nn/kv_cache.h"

using namespace attn;
using namespace attn::nn;

TEST_CASE("kv_cache: append interleaves per batch item, reorder picks items") {
  kv_cache c;
  CHECK(c.empty());
  matrix k1 = {{1, 1}, {2, 2}};        // B=2, one step: item 0 -> 1, item 1 -> 2
  matrix v1 = {{10}, {20}};
  c.append(k1, v1, 2, 1);
  matrix k2 = {{3, 3}, {4, 4}};
  matrix v2 = {{30}, {40}};
  c.append(k2, v2, 2, 1);
  REQUIRE(c.len() == 2);
  REQUIRE(c.k().shape()[0] == 4);
  CHECK(c.k()(0, 0) == 1);  // item 0, t 0
  CHECK(c.k()(1, 0) == 3);  // item 0, t 1
  CHECK(c.k()(2, 0) == 2);  // item 1, t 0
  CHECK(c.v()(3, 0) == 40);
  c.reorder({1, 1, 0});
  CHECK(c.batch() == 3);
  CHECK(c.k()(0, 0) == 2);
  CHECK(c.k()(3, 0) == 4);
  CHECK(c.k()(4, 0) == 1);
  CHECK_THROWS_AS(c.append(k2, v2, 2, 1), attn::error);  // batch mismatch
  CHECK_THROWS_AS(c.reorder({5}), attn::error);
  tape t;
  var kv = c.k_var(t);
  CHECK_FALSE(kv.needs_grad());
  CHECK(kv.rows() == 6);
  c.clear();
  CHECK(c.empty());
}
