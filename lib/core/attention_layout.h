#pragma once
// Internal to the attention ops (ops_attention.cpp, flash_attention.cpp): checks of an
// attention_shape against its inputs, and where a batch item's keys are and which it may see.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/ops_util.h"

namespace attn::detail {

// Valid keys per batch item (padding), checked against the shape.
inline std::vector<std::int32_t>& key_lengths(const char* op, tape& t, const attention_shape& s) {
  if (!(s.k_lengths.empty() || s.k_lengths.size() == s.batch))
    fail(op, std::to_string(s.k_lengths.size()) + " key lengths for a batch of " + std::to_string(s.batch));
  std::vector<std::int32_t>& len = t.scratch_ints(s.batch);
  for (std::size_t b = 0; b < s.batch; ++b) {
    const std::int32_t L = s.k_lengths.empty() ? static_cast<std::int32_t>(s.k_len) : s.k_lengths[b];
    if (!(L >= 0 && static_cast<std::size_t>(L) <= s.k_len))
      fail(op, "key length " + std::to_string(L) + " outside [0," + std::to_string(s.k_len) + "]");
    len[b] = L;
  }
  return len;
}

// K/V items (pages) per batch item: k_items.size() / batch, 1 without k_items.
inline std::size_t pages_per_item(const char* op, const attention_shape& s) {
  if (s.k_items.empty()) return 1;
  if (s.batch == 0 || s.k_items.size() % s.batch != 0)
    fail(op, std::to_string(s.k_items.size()) + " K/V items for a batch of " + std::to_string(s.batch));
  return s.k_items.size() / s.batch;
}

// Rows from one K/V item to the next: s.k_item_rows, or k_len by default. The items of a batch
// item must hold its k_len keys.
inline std::size_t item_rows(const char* op, const attention_shape& s) {
  const std::size_t R = s.k_item_rows == 0 ? s.k_len : s.k_item_rows, n = pages_per_item(op, s);
  if (R * n < s.k_len)
    fail(op, std::to_string(n) + " K/V item(s) of k_item_rows " + std::to_string(R) + " hold less than k_len " +
                 std::to_string(s.k_len));
  return R;
}

// Checks that k and v hold whole K/V items of R rows: B of them without s.k_items, else at least
// one more than the largest item read (paged storage may end in rows that make no whole item: a
// KV cache re-cut into longer pages for the next sentences keeps its rows). `what` names k and v
// with their shapes.
inline void check_kv_rows(const char* op, const attention_shape& s, std::size_t R, std::size_t k_rows,
                          std::size_t v_rows, const std::string& what) {
  if (s.k_items.empty()) {
    if (!(k_rows == s.batch * R && v_rows == s.batch * R))
      fail(op, what + " need batch*" + (R == s.k_len ? "k_len" : "k_item_rows") + " = " +
                   std::to_string(s.batch * R) + " rows");
    return;
  }
  pages_per_item(op, s);
  const std::size_t n = R == 0 ? 0 : k_rows / R;  // whole items
  if (k_rows != v_rows) fail(op, what + " need equal rows");
  for (const std::int32_t i : s.k_items)
    if (!(i >= 0 && static_cast<std::size_t>(i) < n))
      fail(op, "K/V item " + std::to_string(i) + " outside the " + std::to_string(n) + " items of " + what);
}

// The ops that address a batch item's keys as one run of rows (all but the paged path) refuse a
// paged layout with one line.
inline void require_one_item_each(const char* op, const attention_shape& s) {
  if (pages_per_item(op, s) != 1)
    fail(op, "paged K/V (" + std::to_string(pages_per_item(op, s)) +
                 " items per batch item) go through attention() without gradients");
}

// The K/V item of batch item b (one item per batch item).
inline std::size_t kv_item(const attention_shape& s, std::size_t b) {
  return s.k_items.empty() ? b : static_cast<std::size_t>(s.k_items[b]);
}

// Whether some K/V item is read by several batch items (their gradients then add into the same
// rows, so the backward pass runs serially).
inline bool shares_items(const attention_shape& s) {
  std::vector<std::int32_t> sorted = s.k_items;
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

// Query t sees keys [0, limit): the first nk (padding), and with a causal mask only keys
// j <= t + (Tk - Tq), so that a query block at the end of a KV cache sees its own past.
// Non-decreasing in t.
inline std::size_t key_limit(std::size_t t, std::size_t nk, const attention_shape& s) {
  if (!s.causal) return nk;
  const long lim = static_cast<long>(t) + static_cast<long>(s.k_len) - static_cast<long>(s.q_len) + 1;
  return lim <= 0 ? 0 : std::min(nk, static_cast<std::size_t>(lim));
}

// Items per parallel chunk so that a chunk holds at least ~256k flops: waking a pool thread
// costs microseconds, more than a decoding step's per-head products.
inline std::size_t work_grain(std::size_t flops_per_item) {
  return std::max<std::size_t>(1, (std::size_t{1} << 18) / std::max<std::size_t>(flops_per_item, 1));
}

// The sizes of a dot-product attention: q [B*Tq, H*dh], k [n*R, H*dh], v [n*R, H*dv].
struct dot_attention_dims {
  std::size_t B, Tq, Tk, H, dh, dv, R;
  float alpha;  // the score scale: 1/√dh for scaled_dot, else 1
};

// The K/V a dot-product attention reads: their rows and columns, and how a message names them.
struct kv_sizes {
  std::size_t k_rows, k_cols, v_rows, v_cols;
  std::string what;  // "k [r, c] and v [r, c]"
};

inline kv_sizes sizes_of(const var& k, const var& v) {
  return {k.rows(), k.cols(), v.rows(), v.cols(), "k " + shape_of(k) + " and v " + shape_of(v)};
}

// Checks q and the K/V against s for the op `op` (throws naming it and the shapes).
inline dot_attention_dims check_dot_attention(const char* op, const var& q, const kv_sizes& kv,
                                              const attention_shape& s, scoring sc) {
  const std::size_t B = s.batch, Tq = s.q_len, Tk = s.k_len, H = s.heads;
  if (!(H > 0 && q.cols() % H == 0 && kv.v_cols % H == 0))
    fail(op, "q " + shape_of(q) + " and " + kv.what + ": q's and v's columns must divide into " + std::to_string(H) +
                 " heads");
  if (q.rows() != B * Tq) fail(op, "q is " + shape_of(q) + " but batch*q_len = " + std::to_string(B * Tq));
  const std::size_t R = item_rows(op, s);
  check_kv_rows(op, s, R, kv.k_rows, kv.v_rows, kv.what);
  if (kv.k_cols != q.cols()) fail(op, "q is " + shape_of(q) + " but " + kv.what + ": k needs q's columns");
  const std::size_t dh = q.cols() / H, dv = kv.v_cols / H;
  const float alpha = sc == scoring::scaled_dot ? 1.0f / std::sqrt(static_cast<float>(dh)) : 1.0f;
  return {B, Tq, Tk, H, dh, dv, R, alpha};
}

inline dot_attention_dims check_dot_attention(const char* op, const var& q, const var& k, const var& v,
                                              const attention_shape& s, scoring sc) {
  return check_dot_attention(op, q, sizes_of(k, v), s, sc);
}

// attention() for decoding, in direct loops: per batch item and query row, every head's scores
// against each K/V item's keys, one softmax per head, and the weighted sum of the values. A
// decoding step has one query row, whose products are too small for GEMM calls (thousands of them
// a step); and only this path reads a paged layout (more than one item per batch item,
// attention_shape). Inference only: fails if q, k or v needs a gradient. Weights into `keep` as
// attention() does.
var decode_attention(const char* op, var q, var k, var v, const attention_shape& s, scoring sc,
                     attention_weights* keep);
// Whether attention() takes decode_attention() for an unpaged layout: at most 4 query rows and no
// gradients.
bool decode_attention_pays(const var& q, const var& k, const var& v, const attention_shape& s);
// decode_attention() over K/V stored as halves (core/half.h): the same loops, each key and value
// turned into its float on load.
var decode_attention(const char* op, var q, const half_matrix& k, const half_matrix& v, const attention_shape& s,
                     scoring sc, attention_weights* keep);

// attention() as it was before flash_attention(): one pair of products per (batch item, head)
// over the whole [Tq, Tk] score matrix, whose weights it keeps for the backward pass (and for
// `keep`). attention() takes it when weights are asked for or flash_attention_pays() is false;
// benchmarks call it to compare.
var untiled_attention(var q, var k, var v, const attention_shape& s, scoring sc, attention_weights* keep);

}  // namespace attn::detail
