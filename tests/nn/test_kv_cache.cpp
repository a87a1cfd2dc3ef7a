#include <doctest/doctest.h>

#include <set>

#include "core/error.h"
#include "nn/kv_cache.h"

using namespace attn;
using namespace attn::nn;

namespace {

// One position's rows for B items: k = 100*item + pos in every column, v = -(100*item + pos).
void append_step(kv_cache& c, const std::vector<float>& ids, std::size_t pos) {
  const std::size_t B = ids.size();
  matrix k = matrix::from_shape({B, 3}), v = matrix::from_shape({B, 2});
  for (std::size_t b = 0; b < B; ++b) {
    k(b, 0) = k(b, 1) = k(b, 2) = 100 * ids[b] + static_cast<float>(pos);
    v(b, 0) = v(b, 1) = -(100 * ids[b] + static_cast<float>(pos));
  }
  c.append(k, v, B, 1);
}

}  // namespace

TEST_CASE("kv_cache: append interleaves per batch item, reorder picks items") {
  kv_cache c;
  CHECK(c.empty());
  matrix k1 = {{1, 1}, {2, 2}};  // B=2, one step: item 0 -> 1, item 1 -> 2
  matrix v1 = {{10}, {20}};
  c.append(k1, v1, 2, 1);
  matrix k2 = {{3, 3}, {4, 4}};
  matrix v2 = {{30}, {40}};
  c.append(k2, v2, 2, 1);
  REQUIRE(c.len() == 2);
  CHECK(c.k_row(0, 0)[0] == 1);  // item 0, t 0
  CHECK(c.k_row(0, 1)[0] == 3);  // item 0, t 1
  CHECK(c.k_row(1, 0)[0] == 2);  // item 1, t 0
  CHECK(c.v_row(1, 1)[0] == 40);
  c.reorder({1, 1, 0});
  CHECK(c.batch() == 3);
  CHECK(c.k_row(0, 0)[0] == 2);
  CHECK(c.k_row(1, 1)[0] == 4);
  CHECK(c.k_row(2, 0)[0] == 1);
  CHECK_THROWS_AS(c.append(k2, v2, 2, 1), attn::error);  // batch mismatch
  CHECK_THROWS_AS(c.reorder({5}), attn::error);
  CHECK_THROWS_AS(c.k_row(3, 0), attn::error);
  tape t;
  var kv = c.k_var(t);
  CHECK_FALSE(kv.needs_grad());
  CHECK(kv.rows() == c.k().shape()[0]);
  c.clear();
  CHECK(c.empty());
}

TEST_CASE("kv_cache: appends write in place with doubling capacity; reorder copies nothing") {
  kv_cache c;
  append_step(c, {0, 1, 2}, 0);
  CHECK(c.item_rows() == 1);
  std::size_t regrowths = 0, last_rows = c.item_rows();
  for (std::size_t pos = 1; pos < 40; ++pos) {
    const float* before = c.k().data();
    append_step(c, {0, 1, 2}, pos);
    CHECK(c.item_rows() >= c.len());
    if (c.item_rows() != last_rows) {
      ++regrowths;
      CHECK(c.item_rows() >= 2 * last_rows);  // geometric growth
      last_rows = c.item_rows();
    } else {
      CHECK(c.k().data() == before);  // in place: the storage did not move
    }
  }
  CHECK(regrowths <= 6);  // 1 -> 8 -> 16 -> 32 -> 64
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t pos = 0; pos < 40; ++pos) {
      CHECK(c.k_row(b, pos)[2] == 100.0f * b + pos);
      CHECK(c.v_row(b, pos)[1] == -(100.0f * b + pos));
    }
  // Beam back-pointers: item 2 twice, item 0 once. The map changes, the storage does not.
  const float* storage = c.k().data();
  c.reorder({2, 0, 2});
  CHECK(c.k().data() == storage);
  CHECK(c.items()[0] == c.items()[2]);  // shared until one of them appends
  CHECK(c.k_row(1, 39)[0] == 39.0f);
  CHECK(c.k_row(2, 5)[0] == 205.0f);
}

TEST_CASE("kv_cache: an item shared by several beams is copied when they append (copy on write)") {
  kv_cache c;
  for (std::size_t pos = 0; pos < 5; ++pos) append_step(c, {0, 1}, pos);
  c.reorder({1, 1, 1, 0});  // grows the batch: one storage item per distinct source first
  append_step(c, {10, 11, 12, 13}, 5);
  std::set<std::int32_t> distinct(c.items().begin(), c.items().end());
  CHECK(distinct.size() == 4);
  for (std::size_t b = 0; b < 4; ++b) {
    const float src = b < 3 ? 100.0f : 0.0f;
    for (std::size_t pos = 0; pos < 5; ++pos) CHECK(c.k_row(b, pos)[0] == src + pos);
    CHECK(c.k_row(b, 5)[0] == 100.0f * (10 + b) + 5);
    CHECK(c.v_row(b, 5)[0] == -(100.0f * (10 + b) + 5));
  }
  // shrinking (finished sentences leave) then growing again reuses the freed storage items
  c.reorder({3});
  append_step(c, {20}, 6);
  c.reorder({0, 0});
  append_step(c, {30, 31}, 7);
  for (std::size_t b = 0; b < 2; ++b) {
    CHECK(c.k_row(b, 4)[0] == 4.0f);
    CHECK(c.k_row(b, 5)[0] == 1305.0f);
    CHECK(c.k_row(b, 6)[0] == 2006.0f);
    CHECK(c.k_row(b, 7)[0] == 100.0f * (30 + b) + 7);
  }
}

TEST_CASE("kv_cache: attention over the cache's layout equals attention over compact K/V") {
  rng gen(4);
  const std::size_t B = 3, H = 2, d = 4, T = 6;
  kv_cache c;
  matrix all_k = matrix::from_shape({B * T, d}), all_v = matrix::from_shape({B * T, d});
  for (std::size_t i = 0; i < all_k.size(); ++i) {
    all_k.data()[i] = gen.uniform(-1.0f, 1.0f);
    all_v.data()[i] = gen.uniform(-1.0f, 1.0f);
  }
  for (std::size_t pos = 0; pos < T; ++pos) {
    matrix k = matrix::from_shape({B, d}), v = matrix::from_shape({B, d});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < d; ++j) {
        k(b, j) = all_k(b * T + pos, j);
        v(b, j) = all_v(b * T + pos, j);
      }
    c.append(k, v, B, 1);
  }
  c.reorder({2, 0, 2, 1});
  const std::vector<std::int32_t> order = {2, 0, 2, 1};
  matrix ck = matrix::from_shape({4 * T, d}), cv = matrix::from_shape({4 * T, d});
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t pos = 0; pos < T; ++pos)
      for (std::size_t j = 0; j < d; ++j) {
        ck(i * T + pos, j) = all_k(static_cast<std::size_t>(order[i]) * T + pos, j);
        cv(i * T + pos, j) = all_v(static_cast<std::size_t>(order[i]) * T + pos, j);
      }
  matrix q = matrix::from_shape({4, d});
  for (std::size_t i = 0; i < q.size(); ++i) q.data()[i] = gen.uniform(-1.0f, 1.0f);
  tape t;
  no_grad ng(t);
  attention_shape compact{4, 1, T, H, true, {}};
  attention_shape cached = compact;
  c.describe_keys(cached);
  CHECK(cached.k_len == T);
  const matrix a = attention(t.constant(q), t.constant(ck), t.constant(cv), compact, scoring::scaled_dot).value();
  const matrix b = attention(t.constant(q), c.k_var(t), c.v_var(t), cached, scoring::scaled_dot).value();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-6));
}

TEST_CASE("kv_cache: clear keeps the storage for the next sentences, release frees it") {
  kv_cache c;
  for (std::size_t pos = 0; pos < 20; ++pos) append_step(c, {0, 1, 2}, pos);
  const float* storage = c.k().data();
  const std::size_t item_rows = c.item_rows();
  c.clear();
  CHECK(c.empty());
  CHECK(c.batch() == 0);
  for (std::size_t pos = 0; pos < 10; ++pos) append_step(c, {5, 6}, pos);  // fewer items, shorter
  CHECK(c.k().data() == storage);
  CHECK(c.item_rows() == item_rows);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t pos = 0; pos < 10; ++pos) CHECK(c.k_row(b, pos)[1] == 100.0f * (5 + b) + pos);
  c.release();
  CHECK(c.empty());
  CHECK(c.k().size() == 0);
  append_step(c, {7}, 0);
  CHECK(c.item_rows() == 1);
  CHECK(c.k_row(0, 0)[0] == 700.0f);
}
