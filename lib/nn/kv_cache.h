#pragma once
// Key/value cache of one attention layer for incremental decoding.
//
// Self-attention: each decoding step appends its new K/V rows for every batch item, so step t
// attends to positions 0..t without recomputing earlier projections. Cross-attention: K/V of the
// encoder output are computed on the first step and reused for the rest of the sentence.
// K is stored after rope and after the `general` projection, i.e. exactly what the attention op
// consumes.
//
// Layout (attention_shape's K/V layout fields, core/ops.h): the rows live in *pages* of
// page_rows() rows (16, or the first append's rows if more: a cross-attention cache, filled once,
// is one page per sentence), and batch item b's positions are its pages_per_item() pages
// pages()[b*n ..]: position t is row pages()[b*n + t/P]*P + t%P. Pages are reference-counted:
// - append writes only the new rows (a fresh page every page_rows() positions; the storage grows
//   geometrically, copying each page once);
// - reorder (beam back-pointers) only remaps batch items' page lists: beams of one sentence share
//   their cross-attention K/V and every page of the prefix they have in common, and a page freed
//   by all its readers returns to a free list;
// - the last, partly filled page of a batch item that shares it is copied when it appends (copy on
//   write): at most page_rows() - 1 rows, whatever the length of the output.
// Attention reads the pages in place (attention() over a paged layout, inference only).
//
// Precision: f32 (the default) stores K/V as floats, non-trainable parameters that tape::param
// aliases without a copy. f16 stores them as halves (core/half.h; `attn decode --kv-cache f16`):
// half the memory and half the bytes the attention of every later step reads, each key and
// value rounded to the nearest half (relative error <= 2^-11). attend() reads either in place.
//
// The cache is for inference: the tape sees cached K/V as constants (no gradient flows into
// earlier steps).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ops.h"
#include "core/parameter.h"
#include "core/tape.h"

namespace attn::nn {

enum class kv_precision { f32, f16 };

class kv_cache {
 public:
  static constexpr std::size_t default_page_rows = 16;

  kv_cache();

  // The storage's precision; setting it frees the storage (release()).
  kv_precision precision() const { return precision_; }
  void set_precision(kv_precision p);

  bool empty() const { return len_ == 0; }
  std::size_t batch() const { return batch_; }
  std::size_t len() const { return len_; }                           // cached positions per batch item
  std::size_t page_rows() const { return page_rows_; }               // rows per page (P)
  std::size_t pages_per_item() const { return n_pages_; }            // ceil(len / P) (n)
  const std::vector<std::int32_t>& pages() const { return table_; }  // [B*n] page of each (item, page)
  std::size_t pages_in_use() const { return page_refs_.size() - free_.size(); }
  std::size_t storage_rows() const;  // n_storage_pages*P, in either precision
  // f32 storage [n_storage_pages*P, dk] and [.., dv] (throws in f16)
  const matrix& k() const;
  const matrix& v() const;
  // f16 storage, the same rows as halves (throws in f32)
  const half_matrix& k_half() const;
  const half_matrix& v_half() const;
  // Position t of batch item b as floats: [dk] and [dv].
  std::vector<float> k_row(std::size_t b, std::size_t t) const;
  std::vector<float> v_row(std::size_t b, std::size_t t) const;

  // Appends `time` new positions per batch item: k_new [B*time, dk], v_new [B*time, dv]. In f16,
  // throws (the cache unchanged) if a value is out of the half range (|x| >= 65520).
  void append(const matrix& k_new, const matrix& v_new, std::size_t batch, std::size_t time);
  // Keeps batch items order[0], order[1], ... in that order (beam back-pointers; may shrink or
  // grow the batch, repeats allowed). Copies no rows.
  void reorder(const std::vector<std::int32_t>& order);
  // Empties the cache; its storage stays for the next sentences (no new pages to touch).
  void clear();
  // At the next append to an empty cache (when the page size is known), once: storage for `items`
  // batch items of up to `positions` positions each, allocated at once, and one page more per
  // item (a beam's copies on write). Growing as the outputs do instead copies every page at each
  // doubling, into memory the kernel must zero first: at 256 positions, most of a greedy
  // decoding's page faults. Only what is written is touched. (0, 0): grow as needed.
  void expect(std::size_t items, std::size_t positions);
  // Empties the cache and frees its storage.
  void release();

  // Sets the key fields of an attention over the cache: k_len = len, and the K/V layout.
  void describe_keys(attention_shape& s) const;

  // Dot-product attention of q [B*Tq, H*dh] over every cached position (attention() with
  // describe_keys' layout in s, whose other fields the caller sets), reading the storage in place
  // in either precision -> [B*Tq, H*dv].
  var attend(var q, attention_shape s, scoring sc, attention_weights* keep = nullptr);

  // Leaves on t holding the storage as floats (rows per describe_keys), without gradients: f32
  // aliases it (no copy); f16 converts it (a copy, for the ops that read only floats: additive
  // attention), up to the last page a batch item reads — pages are taken lowest first, so about
  // what was written, not a storage sized by expect() for the whole search.
  var k_var(tape& t);
  var v_var(tape& t);

 private:
  std::size_t row_of(std::size_t b, std::size_t t) const;  // storage row of position t of item b
  void reserve_pages(std::size_t count);                   // at least `count` free pages
  std::int32_t take_page();                                // a free page, referenced once
  void drop_page(std::int32_t page);                       // one reference less

  std::size_t width_k() const;  // dk of the storage, in either precision
  std::size_t width_v() const;
  void resize_storage(std::size_t rows, std::size_t dk, std::size_t dv);  // keeps the pages in use
  void copy_rows(std::size_t from, std::size_t to, std::size_t count);    // storage rows, K and V
  void require(kv_precision p, const char* what) const;
  std::vector<float> row_floats(const matrix& full, const half_matrix& half, std::size_t b, std::size_t t) const;
  var storage_var(tape& t, parameter& full, const half_matrix& half);

  kv_precision precision_ = kv_precision::f32;
  parameter k_, v_;                             // f32 storage
  half_matrix kh_, vh_;                         // f16 storage
  std::vector<std::uint16_t> new_kh_, new_vh_;  // append's new rows as halves
  std::size_t batch_ = 0, len_ = 0, page_rows_ = 0, n_pages_ = 0;
  std::size_t expected_items_ = 0, expected_positions_ = 0;  // expect()
  std::vector<std::int32_t> table_;      // [B*n] storage page of each (batch item, page)
  std::vector<std::int32_t> page_refs_;  // [storage pages] batch items reading each page
  std::vector<std::int32_t> free_;       // pages nobody reads, the next to take last
  std::vector<std::int32_t> scratch_;    // reorder's new table
};

// The caches of one Transformer decoder layer.
struct decoder_cache {
  kv_cache self, cross;
};

}  // namespace attn::nn
