#pragma once
// Key/value cache of one attention layer for incremental decoding.
//
// Self-attention: each decoding step appends its new K/V rows for every batch item, so step t
// attends to positions 0..t without recomputing earlier projections. Cross-attention: K/V of the
// encoder output are computed on the first step and reused for the rest of the sentence.
// K is stored after rope and after the `general` projection, i.e. exactly what the attention op
// consumes.
//
// Layout (attention_shape's K/V layout fields, core/ops.h): the rows live in *storage items* of
// item_rows() rows each (the capacity per item, grown by doubling), and batch item b reads storage
// item items()[b]; position t of batch item b is row items()[b] * item_rows() + t. So
// - append writes only the new rows (amortised O(new rows); growing copies each item once);
// - reorder (beam back-pointers) only remaps batch items to storage items, copying nothing:
//   beams of one sentence share their cross-attention K/V for the whole sentence, and an item
//   shared by several batch items is copied (len rows) only when one of them appends (copy on write).
//
// The cache is for inference: the tape sees cached K/V as constants (no gradient flows into
// earlier steps). Stored as non-trainable parameters so that tape::param aliases them without a copy.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/tape.h"

namespace attn::nn {

class kv_cache {
 public:
  kv_cache();

  bool empty() const { return len_ == 0; }
  std::size_t batch() const { return batch_; }
  std::size_t len() const { return len_; }            // cached positions per batch item
  std::size_t item_rows() const { return cap_; }      // rows per storage item (>= len)
  const std::vector<std::int32_t>& items() const { return item_of_; }  // storage item of each batch item [B]
  const matrix& k() const { return k_.value; }  // storage [n_items*item_rows, dk]
  const matrix& v() const { return v_.value; }  // storage [n_items*item_rows, dv]
  // Position t of batch item b: [dk] and [dv].
  const float* k_row(std::size_t b, std::size_t t) const;
  const float* v_row(std::size_t b, std::size_t t) const;

  // Appends `time` new positions per batch item: k_new [B*time, dk], v_new [B*time, dv].
  void append(const matrix& k_new, const matrix& v_new, std::size_t batch, std::size_t time);
  // Keeps batch items order[0], order[1], ... in that order (beam back-pointers; may shrink or
  // grow the batch, repeats allowed). Copies no rows.
  void reorder(const std::vector<std::int32_t>& order);
  // Empties the cache; its storage stays for the next sentences (no new pages to touch).
  void clear();
  // Empties the cache and frees its storage.
  void release();

  // Sets the key fields of an attention over the cache: k_len = len, and the K/V layout.
  void describe_keys(attention_shape& s) const;

  // Leaves on t aliasing the cached storage (no copy, no gradient); rows per describe_keys.
  var k_var(tape& t) { return t.param(k_); }
  var v_var(tape& t) { return t.param(v_); }

 private:
  // Gives every batch item a storage item of its own, copying shared ones (copy on write).
  void unshare();
  void grow_items(std::size_t n_items);  // storage items, keeping the rows
  void grow_rows(std::size_t cap);       // rows per storage item, keeping the rows

  parameter k_, v_;
  std::size_t batch_ = 0, len_ = 0, cap_ = 0, n_items_ = 0;
  std::vector<std::int32_t> item_of_;  // [B] storage item of each batch item
  std::vector<std::int32_t> owner_;    // scratch of unshare: [n_items] batch item owning it, -1 = free
};

// The caches of one Transformer decoder layer.
struct decoder_cache {
  kv_cache self, cross;
};

}  // namespace attn::nn
