#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "core/flash_attention.h"
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

TEST_CASE("kv_cache: appends write in place, a page every page_rows positions; reorder copies nothing") {
  kv_cache c;
  append_step(c, {0, 1, 2}, 0);
  const std::size_t P = kv_cache::default_page_rows;
  CHECK(c.page_rows() == P);
  CHECK(c.pages_per_item() == 1);
  std::size_t moves = 0;
  for (std::size_t pos = 1; pos < 40; ++pos) {
    const float* before = c.k().data();
    append_step(c, {0, 1, 2}, pos);
    CHECK(c.pages_per_item() == (pos + P) / P);  // ceil((pos + 1) / P)
    if (c.k().data() != before) ++moves;         // the storage grew (geometrically)
  }
  CHECK(moves <= 2);  // 3 pages -> 6 -> 12
  CHECK(c.pages_in_use() == 9);
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t pos = 0; pos < 40; ++pos) {
      CHECK(c.k_row(b, pos)[2] == 100.0f * b + pos);
      CHECK(c.v_row(b, pos)[1] == -(100.0f * b + pos));
    }
  // Beam back-pointers: item 2 twice, item 0 once. The page lists change, the storage does not.
  const float* storage = c.k().data();
  c.reorder({2, 0, 2});
  CHECK(c.k().data() == storage);
  for (std::size_t p = 0; p < 3; ++p) CHECK(c.pages()[0 * 3 + p] == c.pages()[2 * 3 + p]);  // shared
  CHECK(c.pages_in_use() == 6);  // item 1's pages went back to the free list
  CHECK(c.k_row(1, 39)[0] == 39.0f);
  CHECK(c.k_row(2, 5)[0] == 205.0f);
}

TEST_CASE("kv_cache: a shared last page is copied when its readers append (copy on write), full pages stay shared") {
  kv_cache c;
  for (std::size_t pos = 0; pos < 20; ++pos) append_step(c, {0, 1}, pos);  // pages of 16: one full, one with 4 rows
  c.reorder({1, 1, 1, 0});                                                 // grows the batch
  CHECK(c.pages_in_use() == 4);
  append_step(c, {10, 11, 12, 13}, 20);
  CHECK(c.pages()[0 * 2] == c.pages()[1 * 2]);  // the full first page: still one copy for three beams
  CHECK(c.pages()[1 * 2] == c.pages()[2 * 2]);
  std::set<std::int32_t> last;
  for (std::size_t b = 0; b < 4; ++b) last.insert(c.pages()[b * 2 + 1]);
  CHECK(last.size() == 4);       // each beam writes its own last page
  CHECK(c.pages_in_use() == 6);  // 2 first pages + 4 last pages
  for (std::size_t b = 0; b < 4; ++b) {
    const float src = b < 3 ? 100.0f : 0.0f;
    for (std::size_t pos = 0; pos < 20; ++pos) CHECK(c.k_row(b, pos)[0] == src + pos);
    CHECK(c.k_row(b, 20)[0] == 100.0f * (10 + b) + 20);
    CHECK(c.v_row(b, 20)[0] == -(100.0f * (10 + b) + 20));
  }
  // shrinking (finished sentences leave) frees pages; growing again reuses them, across a new page
  c.reorder({3});
  CHECK(c.pages_in_use() == 2);
  const float* storage = c.k().data();
  append_step(c, {20}, 21);
  c.reorder({0, 0});
  for (std::size_t pos = 22; pos < 34; ++pos) append_step(c, {30, 31}, pos);
  CHECK(c.k().data() == storage);
  CHECK(c.pages_per_item() == 3);
  CHECK(c.pages()[0] == c.pages()[3]);  // the first page is still shared
  for (std::size_t b = 0; b < 2; ++b) {
    CHECK(c.k_row(b, 4)[0] == 4.0f);
    CHECK(c.k_row(b, 20)[0] == 1320.0f);
    CHECK(c.k_row(b, 21)[0] == 2021.0f);
    for (std::size_t pos = 22; pos < 34; ++pos) CHECK(c.k_row(b, pos)[0] == 100.0f * (30 + b) + pos);
  }
}

TEST_CASE("kv_cache: a first append of more rows than a page makes one page per item (cross-attention)") {
  kv_cache c;
  matrix k = matrix::from_shape({2 * 30, 4}), v = matrix::from_shape({2 * 30, 4});
  for (std::size_t i = 0; i < k.size(); ++i) k.data()[i] = v.data()[i] = static_cast<float>(i);
  c.append(k, v, 2, 30);
  CHECK(c.page_rows() == 30);
  CHECK(c.pages_per_item() == 1);
  c.reorder({1, 1, 0});
  attention_shape s;
  c.describe_keys(s);
  CHECK(s.k_len == 30);
  CHECK(s.k_item_rows == 30);
  REQUIRE(s.k_items.size() == 3);
  CHECK(s.k_items[0] == s.k_items[1]);
  CHECK(c.k_row(2, 29)[3] == static_cast<float>(29 * 4 + 3));
}

TEST_CASE("kv_cache: attention over the cache's pages equals attention over compact K/V") {
  rng gen(4);
  const std::size_t B = 3, H = 2, d = 4, T = 40, Tq = 2, Tk = T + Tq;  // 3 pages of 16 per item
  const std::vector<std::int32_t> order = {2, 0, 2, 1};
  const std::size_t N = order.size();
  auto random = [&gen](std::size_t r, std::size_t c) {
    matrix m = matrix::from_shape({r, c});
    for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = gen.uniform(-1.0f, 1.0f);
    return m;
  };
  const matrix all_k = random(B * T, d), all_v = random(B * T, d);    // [b*T + pos]
  const matrix new_k = random(N * Tq, d), new_v = random(N * Tq, d);  // the block after reorder
  kv_cache c;
  for (std::size_t pos = 0; pos < T; ++pos) {
    matrix k = matrix::from_shape({B, d}), v = matrix::from_shape({B, d});
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < d; ++j) {
        k(b, j) = all_k(b * T + pos, j);
        v(b, j) = all_v(b * T + pos, j);
      }
    c.append(k, v, B, 1);
  }
  c.reorder(order);
  c.append(new_k, new_v, N, Tq);  // two shared items write their own copy of the last page
  REQUIRE(c.pages_per_item() == 3);
  // the same keys, one contiguous run per batch item
  matrix ck = matrix::from_shape({N * Tk, d}), cv = matrix::from_shape({N * Tk, d});
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t pos = 0; pos < Tk; ++pos)
      for (std::size_t j = 0; j < d; ++j) {
        const bool old = pos < T;
        const std::size_t from = old ? static_cast<std::size_t>(order[i]) * T + pos : i * Tq + pos - T;
        ck(i * Tk + pos, j) = old ? all_k(from, j) : new_k(from, j);
        cv(i * Tk + pos, j) = old ? all_v(from, j) : new_v(from, j);
      }
  const matrix q = random(N * Tq, d);
  tape t;
  no_grad ng(t);
  for (const bool causal : {false, true}) {
    CAPTURE(causal);
    attention_shape compact{N, Tq, Tk, H, causal, {Tk, 17, Tk, 5}};
    attention_shape paged = compact;
    c.describe_keys(paged);
    CHECK(paged.k_len == Tk);
    CHECK(paged.k_items.size() == N * 3);
    attention_weights wa, wb;
    const matrix a =
        attention(t.constant(q), t.constant(ck), t.constant(cv), compact, scoring::scaled_dot, &wa).value();
    const matrix b = attention(t.constant(q), c.k_var(t), c.v_var(t), paged, scoring::scaled_dot, &wb).value();
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-5));
    REQUIRE(wa.w.shape() == wb.w.shape());
    for (std::size_t i = 0; i < wa.w.size(); ++i)
      CHECK(wb.w.data()[i] == doctest::Approx(wa.w.data()[i]).epsilon(1e-5));
    const matrix b2 = attention(t.constant(q), c.k_var(t), c.v_var(t), paged, scoring::scaled_dot).value();
    CHECK(std::equal(b.begin(), b.end(), b2.begin()));  // the same without weights
  }
}

TEST_CASE("kv_cache: a paged layout is for inference, and the ops that cannot read pages say so") {
  kv_cache c;
  for (std::size_t pos = 0; pos < 20; ++pos) append_step(c, {0, 1}, pos);  // 2 pages of 16 per item
  attention_shape s{2, 1, 20, 1, false, {}};
  c.describe_keys(s);
  tape t;
  matrix q = matrix::from_shape({2, 3});
  q.fill(0.5f);
  CHECK_THROWS_WITH_AS(attention(t.leaf(q, true), c.k_var(t), c.v_var(t), s, scoring::dot),
                       doctest::Contains("inference"), attn::error);
  CHECK_THROWS_WITH_AS(flash_attention(t.constant(q), c.k_var(t), c.v_var(t), s, scoring::dot),
                       doctest::Contains("paged"), attn::error);
  matrix kp = matrix::from_shape({rows(c.k()), 3}), sv = matrix::from_shape({1, 3});
  CHECK_THROWS_WITH_AS(additive_attention(t.constant(q), t.constant(kp), t.constant(sv), c.v_var(t), s),
                       doctest::Contains("paged"), attn::error);
  attention_shape bad = s;
  bad.k_items.pop_back();  // not a whole number of pages per batch item
  CHECK_THROWS_AS(attention(t.constant(q), c.k_var(t), c.v_var(t), bad, scoring::dot), attn::error);
  bad = s;
  bad.k_len = 40;  // more keys than the pages hold
  CHECK_THROWS_AS(attention(t.constant(q), c.k_var(t), c.v_var(t), bad, scoring::dot), attn::error);
}

TEST_CASE("kv_cache: clear keeps the storage for the next sentences, release frees it") {
  kv_cache c;
  for (std::size_t pos = 0; pos < 20; ++pos) append_step(c, {0, 1, 2}, pos);
  const float* storage = c.k().data();
  c.clear();
  CHECK(c.empty());
  CHECK(c.batch() == 0);
  CHECK(c.pages_in_use() == 0);
  for (std::size_t pos = 0; pos < 10; ++pos) append_step(c, {5, 6}, pos);  // fewer items, shorter
  CHECK(c.k().data() == storage);
  CHECK(c.page_rows() == kv_cache::default_page_rows);
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t pos = 0; pos < 10; ++pos) CHECK(c.k_row(b, pos)[1] == 100.0f * (5 + b) + pos);
  c.release();
  CHECK(c.empty());
  CHECK(c.k().size() == 0);
  append_step(c, {7}, 0);
  CHECK(c.pages_in_use() == 1);
  CHECK(c.k_row(0, 0)[0] == 700.0f);
}

TEST_CASE("kv_cache: expect sizes the storage once at the first append; the rows are those of a growing cache") {
  kv_cache grown, expected;
  expected.expect(3, 40);  // 3 items of up to 40 positions: 3 pages each, and one more for copies
  for (std::size_t f16 = 0; f16 < 2; ++f16) {
    if (f16 == 1) {  // the same in half precision (set_precision frees the storage, not the hint)
      grown.set_precision(kv_precision::f16);
      expected.set_precision(kv_precision::f16);
      expected.expect(3, 40);
    }
    append_step(expected, {0, 1, 2}, 0);
    const std::size_t rows = expected.storage_rows();
    CHECK(rows == 3 * (3 + 1) * kv_cache::default_page_rows);
    const void* storage = f16 ? static_cast<const void*>(expected.k_half().data()) : expected.k().data();
    append_step(grown, {0, 1, 2}, 0);
    for (std::size_t pos = 1; pos < 40; ++pos) {
      append_step(grown, {0, 1, 2}, pos);
      append_step(expected, {0, 1, 2}, pos);
      if (pos == 20) {  // a beam reorder: items 0 and 2 share item 1's pages, copies on write follow
        grown.reorder({1, 1, 2});
        expected.reorder({1, 1, 2});
      }
    }
    CHECK(expected.storage_rows() == rows);  // never grown: no copy, no fresh memory
    if (f16 == 1) {  // as floats (additive attention): the pages up to the last one read, not the reservation
      tape t;
      no_grad off(t);
      const var k = expected.k_var(t);
      const std::size_t P = expected.page_rows(), n = expected.pages_per_item();
      CHECK(k.rows() < rows);
      CHECK(k.rows() % P == 0);
      for (std::size_t b = 0; b < 3; ++b)
        for (std::size_t pos = 0; pos < 40; ++pos) {
          const std::size_t row = static_cast<std::size_t>(expected.pages()[b * n + pos / P]) * P + pos % P;
          REQUIRE(row < k.rows());
          CHECK(k.value()(row, 0) == expected.k_row(b, pos)[0]);
        }
    }
    CHECK((f16 ? static_cast<const void*>(expected.k_half().data()) : expected.k().data()) == storage);
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t pos = 0; pos < 40; ++pos) {
        CHECK(expected.k_row(b, pos) == grown.k_row(b, pos));
        CHECK(expected.v_row(b, pos) == grown.v_row(b, pos));
      }
    grown.clear();
    expected.clear();
  }
  // expect(0, 0): grows as needed again
  kv_cache c;
  c.expect(0, 0);
  append_step(c, {0}, 0);
  CHECK(c.storage_rows() == kv_cache::default_page_rows);
}

TEST_CASE("kv_cache: storage kept from shorter pages is re-cut into longer ones, and attention reads it") {
  // Decoding batch after batch: one batch's self-attention-like steps leave storage in
  // pages of 16; the next batch's cross-attention K/V (35 positions) cuts them into pages of
  // 35 and leaves rows over that make no page. Attention over the pages must equal attention over compact
  // K/V (it once refused storage that is no whole number of pages of 35).
  kv_cache c;
  for (std::size_t pos = 0; pos < 20; ++pos) append_step(c, {0, 1, 2}, pos);
  REQUIRE(rows(c.k()) % 35 != 0);  // pages of 16
  c.clear();
  rng gen(9);
  const std::size_t B = 2, S = 35, H = 1, d = 3;
  matrix k = matrix::from_shape({B * S, d}), v = matrix::from_shape({B * S, 2}), q = matrix::from_shape({B, d});
  for (matrix* m : {&k, &v, &q})
    for (std::size_t i = 0; i < m->size(); ++i) m->data()[i] = gen.uniform(-1.0f, 1.0f);
  c.append(k, v, B, S);
  CHECK(c.page_rows() == S);
  CHECK(rows(c.k()) % S != 0);
  attention_shape compact{B, 1, S, H, false, {S, 20}};
  attention_shape paged = compact;
  c.describe_keys(paged);
  tape t;
  no_grad ng(t);
  const matrix a = attention(t.constant(q), t.constant(k), t.constant(v), compact, scoring::dot).value();
  const matrix b = attention(t.constant(q), c.k_var(t), c.v_var(t), paged, scoring::dot).value();
  REQUIRE(a.shape() == b.shape());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-6));
  c.reorder({1, 0, 1});  // beams of the sentences, reading the same pages
  attention_shape three{3, 1, S, H, false, {20, S, 20}};
  c.describe_keys(three);
  matrix q3 = matrix::from_shape({3, d});
  for (std::size_t i = 0; i < q3.size(); ++i) q3.data()[i] = q.data()[(i + d) % q.size()];
  const matrix b3 = attention(t.constant(q3), c.k_var(t), c.v_var(t), three, scoring::dot).value();
  for (std::size_t j = 0; j < 2; ++j) CHECK(b3(0, j) == doctest::Approx(b(1, j)).epsilon(1e-6));
}

namespace {

matrix random_matrix(rng& gen, std::size_t r, std::size_t c, float scale = 1.0f) {
  matrix m = matrix::from_shape({r, c});
  for (std::size_t i = 0; i < m.size(); ++i) m.data()[i] = scale * gen.uniform(-1.0f, 1.0f);
  return m;
}

// m with every value rounded to a half and back
matrix rounded_to_half(const matrix& m) {
  matrix r = matrix::from_shape({rows(m), cols(m)});
  for (std::size_t i = 0; i < m.size(); ++i) r.data()[i] = from_half(to_half(m.data()[i]));
  return r;
}

}  // namespace

TEST_CASE("kv_cache f16: appends, reorders and copies on write as f32 does, each value its nearest half") {
  // The same steps into an f32 cache fed values rounded to halves and into an f16 cache fed the
  // values themselves: every position holds the same floats, and the page tables agree.
  rng gen(21);
  const std::size_t dk = 24, dv = 8;  // one width a multiple of 8 (F16C's runs), one not
  kv_cache full, half;
  half.set_precision(kv_precision::f16);
  CHECK(half.precision() == kv_precision::f16);
  std::size_t batch = 3;
  for (std::size_t pos = 0; pos < 37; ++pos) {
    const matrix k = random_matrix(gen, batch, dk, 8.0f), v = random_matrix(gen, batch, dv, 8.0f);
    full.append(rounded_to_half(k), rounded_to_half(v), batch, 1);
    half.append(k, v, batch, 1);
    if (pos == 5 || pos == 20) {  // beams: repeats (a shared partial page is copied at the next append)
      const std::vector<std::int32_t> order =
          pos == 5 ? std::vector<std::int32_t>{2, 2, 0, 1} : std::vector<std::int32_t>{3, 0, 0};
      full.reorder(order);
      half.reorder(order);
      batch = order.size();
    }
  }
  REQUIRE(half.len() == full.len());
  CHECK(half.pages() == full.pages());
  CHECK(half.storage_rows() == full.storage_rows());
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < half.len(); ++t) {
      CHECK(half.k_row(b, t) == full.k_row(b, t));
      CHECK(half.v_row(b, t) == full.v_row(b, t));
    }
  CHECK(rows(half.k_half()) == half.storage_rows());
  CHECK_THROWS_WITH_AS(half.k(), doctest::Contains("f16"), attn::error);  // the float storage is f32's
  CHECK_THROWS_WITH_AS(full.v_half(), doctest::Contains("f32"), attn::error);

  // attend: the f16 cache gives the f32 cache's attention over the rounded values
  const std::size_t H = 2;
  const matrix q = random_matrix(gen, batch, dk);
  tape t;
  no_grad ng(t);
  for (const bool causal : {false, true}) {
    CAPTURE(causal);
    attention_shape s{batch, 1, 1, H, causal, {37, 30, 12}};
    attention_weights wf, wh;
    const matrix a = full.attend(t.constant(q), s, scoring::scaled_dot, &wf).value();
    const matrix b = half.attend(t.constant(q), s, scoring::scaled_dot, &wh).value();
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-6));
    REQUIRE(wf.w.shape() == wh.w.shape());
    for (std::size_t i = 0; i < wf.w.size(); ++i)
      CHECK(wh.w.data()[i] == doctest::Approx(wf.w.data()[i]).epsilon(1e-6));
    // k_var / v_var: the halves as floats, for the ops that read only floats
    const matrix c = attention(
                         t.constant(q), half.k_var(t), half.v_var(t),
                         [&] {
                           attention_shape p = s;
                           half.describe_keys(p);
                           return p;
                         }(),
                         scoring::scaled_dot)
                         .value();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(c.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-6));
  }
}

TEST_CASE("kv_cache f16: a value beyond the half range is refused and the cache is left as it was") {
  kv_cache c;
  c.set_precision(kv_precision::f16);
  matrix k = {{1.0f, 2.0f}}, v = {{3.0f}};
  c.append(k, v, 1, 1);
  matrix big = {{1.0f, 70000.0f}};
  CHECK_THROWS_WITH_AS(c.append(big, v, 1, 1), doctest::Contains("half-precision range"), attn::error);
  CHECK(c.len() == 1);
  CHECK(c.k_row(0, 0) == std::vector<float>{1.0f, 2.0f});
  matrix huge_v = {{-1e6f}};
  CHECK_THROWS_AS(c.append(k, huge_v, 1, 1), attn::error);
  CHECK(c.len() == 1);
  c.append(k, v, 1, 1);  // still usable
  CHECK(c.len() == 2);
  c.set_precision(kv_precision::f32);  // frees the storage
  CHECK(c.empty());
  CHECK(c.storage_rows() == 0);
  c.append(big, v, 1, 1);  // f32 keeps any float
  CHECK(c.k_row(0, 0)[1] == 70000.0f);
}

TEST_CASE("attention over half K/V equals attention over their floats, for every head width and paged") {
  // Head widths 16·C for the register kernels (C = 1, 2, 4, 8 with AVX-512; other multiples of the
  // SIMD width elsewhere) and 12, 20 for the any-width loops; 3 heads, so head groups leave one over.
  rng gen(23);
  for (const std::size_t dh : {12, 16, 20, 32, 64, 128}) {
    CAPTURE(dh);
    const std::size_t H = 3, d = H * dh, B = 4, P = 16, n = 3, Tk = 40;
    attention_shape s{B, 1, Tk, H, false, {40, 17, 33, 1}};
    s.k_item_rows = P;
    s.k_items = {0, 1, 2, 0, 1, 3, 4, 5, 6, 4, 5, 7};  // items 0, 1 and 2, 3 share their first pages
    REQUIRE(s.k_items.size() == B * n);
    const matrix k = random_matrix(gen, 8 * P, d, 4.0f), v = random_matrix(gen, 8 * P, d, 4.0f);
    const matrix q = random_matrix(gen, B, d);
    half_matrix kh = half_matrix::from_shape({8 * P, d}), vh = kh;
    to_half(k.data(), kh.data(), k.size());
    to_half(v.data(), vh.data(), v.size());
    tape t;
    no_grad ng(t);
    attention_weights wf, wh;
    const matrix a =
        attention(t.constant(q), t.constant(rounded_to_half(k)), t.constant(rounded_to_half(v)), s, scoring::dot, &wf)
            .value();
    const matrix b = attention(t.constant(q), kh, vh, s, scoring::dot, &wh).value();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-6));
    for (std::size_t i = 0; i < wf.w.size(); ++i)
      CHECK(wh.w.data()[i] == doctest::Approx(wf.w.data()[i]).epsilon(1e-6));
    // and near attention over the unrounded values: halves keep 11 significant bits
    const matrix exact = attention(t.constant(q), t.constant(k), t.constant(v), s, scoring::dot).value();
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      worst = std::max(worst, std::fabs(double(b.data()[i]) - exact.data()[i]));
    CHECK(worst < 0.05);
    CHECK(worst > 0);  // the halves were read, not the floats
  }
  tape t;
  half_matrix kh = half_matrix::from_shape({16, 8}), vh = kh;
  matrix q = matrix::from_shape({1, 8});
  q.fill(1.0f);
  attention_shape s{1, 1, 16, 2, false, {}};
  CHECK_THROWS_WITH_AS(attention(t.leaf(q, true), kh, vh, s, scoring::dot), doctest::Contains("inference"),
                       attn::error);
  attention_shape wrong{1, 1, 16, 3, false, {}};  // 8 columns do not divide into 3 heads
  CHECK_THROWS_WITH_AS(attention(t.constant(q), kh, vh, wrong, scoring::dot), doctest::Contains("(halves)"),
                       attn::error);
}
