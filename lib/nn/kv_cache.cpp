#include "nn/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "core/error.h"

namespace attn::nn {

kv_cache::kv_cache() {
  k_.name = "kv_cache.k";
  v_.name = "kv_cache.v";
  k_.trainable = v_.trainable = false;
  release();
}

void kv_cache::clear() {
  batch_ = len_ = n_pages_ = 0;
  table_.clear();
  std::fill(page_refs_.begin(), page_refs_.end(), 0);
  free_.clear();  // every page free, the lowest taken first
  for (std::size_t p = page_refs_.size(); p-- > 0;) free_.push_back(static_cast<std::int32_t>(p));
}

void kv_cache::expect(std::size_t items, std::size_t positions) {
  expected_items_ = items;
  expected_positions_ = positions;
}

void kv_cache::release() {
  page_refs_.clear();
  clear();
  page_rows_ = 0;
  k_.value = matrix::from_shape({0, 0});
  v_.value = matrix::from_shape({0, 0});
  kh_ = half_matrix::from_shape({0, 0});
  vh_ = half_matrix::from_shape({0, 0});
}

void kv_cache::set_precision(kv_precision p) {
  precision_ = p;
  release();
}

void kv_cache::require(kv_precision p, const char* what) const {
  if (precision_ != p)
    throw error(std::string("kv_cache: ") + what + " holds the " + (p == kv_precision::f32 ? "f32" : "f16") +
                " storage, but the cache is " + (precision_ == kv_precision::f32 ? "f32" : "f16"));
}

const matrix& kv_cache::k() const {
  require(kv_precision::f32, "k()");
  return k_.value;
}

const matrix& kv_cache::v() const {
  require(kv_precision::f32, "v()");
  return v_.value;
}

const half_matrix& kv_cache::k_half() const {
  require(kv_precision::f16, "k_half()");
  return kh_;
}

const half_matrix& kv_cache::v_half() const {
  require(kv_precision::f16, "v_half()");
  return vh_;
}

std::size_t kv_cache::storage_rows() const {
  return precision_ == kv_precision::f32 ? rows(k_.value) : rows(kh_);
}

std::size_t kv_cache::width_k() const {
  return precision_ == kv_precision::f32 ? cols(k_.value) : cols(kh_);
}

std::size_t kv_cache::width_v() const {
  return precision_ == kv_precision::f32 ? cols(v_.value) : cols(vh_);
}

std::size_t kv_cache::row_of(std::size_t b, std::size_t t) const {
  return static_cast<std::size_t>(table_[b * n_pages_ + t / page_rows_]) * page_rows_ + t % page_rows_;
}

std::vector<float> kv_cache::k_row(std::size_t b, std::size_t t) const {
  return row_floats(k_.value, kh_, b, t);
}

std::vector<float> kv_cache::v_row(std::size_t b, std::size_t t) const {
  return row_floats(v_.value, vh_, b, t);
}

// Position t of batch item b in the storage of this precision (full or half), as floats.
std::vector<float> kv_cache::row_floats(const matrix& full, const half_matrix& half, std::size_t b,
                                        std::size_t t) const {
  if (b >= batch_ || t >= len_) throw error("kv_cache: position outside the cache");
  const std::size_t r = row_of(b, t);
  if (precision_ == kv_precision::f32) return {full.data() + r * cols(full), full.data() + (r + 1) * cols(full)};
  std::vector<float> row(cols(half));
  from_half(half.data() + r * cols(half), row.data(), row.size());
  return row;
}

namespace {

// m with `rows` rows of `width` columns, its first `keep` rows as they were.
template <class M>
void regrow(M& m, std::size_t rows, std::size_t width, std::size_t keep) {
  M grown = M::from_shape({rows, width});
  if (keep > 0) std::memcpy(grown.data(), m.data(), keep * width * sizeof(*m.data()));
  m = std::move(grown);
}

// n rows of m from row `from` to row `to` (disjoint ranges)
template <class M>
void move_rows(M& m, std::size_t from, std::size_t to, std::size_t n) {
  const std::size_t d = m.shape()[1];
  std::memcpy(m.data() + to * d, m.data() + from * d, n * d * sizeof(*m.data()));
}

}  // namespace

void kv_cache::resize_storage(std::size_t rows, std::size_t dk, std::size_t dv) {
  const std::size_t keep = pages_in_use() > 0 ? storage_rows() : 0;
  if (precision_ == kv_precision::f32) {
    regrow(k_.value, rows, dk, keep);
    regrow(v_.value, rows, dv, keep);
  } else {
    regrow(kh_, rows, dk, keep);
    regrow(vh_, rows, dv, keep);
  }
}

void kv_cache::copy_rows(std::size_t from, std::size_t to, std::size_t count) {
  if (precision_ == kv_precision::f32) {
    move_rows(k_.value, from, to, count);
    move_rows(v_.value, from, to, count);
  } else {
    move_rows(kh_, from, to, count);
    move_rows(vh_, from, to, count);
  }
}

var kv_cache::attend(var q, attention_shape s, scoring sc, attention_weights* keep) {
  describe_keys(s);
  if (precision_ == kv_precision::f16) return attention(q, kh_, vh_, s, sc, keep);
  return attention(q, q.t->param(k_), q.t->param(v_), s, sc, keep);
}

var kv_cache::k_var(tape& t) {
  return storage_var(t, k_, kh_);
}

var kv_cache::v_var(tape& t) {
  return storage_var(t, v_, vh_);
}

// The storage of this precision as a node: f32 aliased, f16 converted up to the last page read.
var kv_cache::storage_var(tape& t, parameter& full, const half_matrix& half) {
  if (precision_ == kv_precision::f32) return t.param(full);
  std::int32_t last = -1;
  for (const std::int32_t p : table_) last = std::max(last, p);
  const std::size_t n = static_cast<std::size_t>(last + 1) * page_rows_, w = cols(half);
  var floats = t.make(n, w, false);  // [pages up to the last read * P, w], converted in place
  from_half(half.data(), floats.mutable_value().data(), n * w);
  return floats;
}

void kv_cache::describe_keys(attention_shape& s) const {
  s.k_len = len_;
  s.k_item_rows = page_rows_;
  s.k_items = table_;
}

void kv_cache::reserve_pages(std::size_t count) {
  if (free_.size() >= count) return;
  const std::size_t old_pages = page_refs_.size();
  const std::size_t pages = std::max(2 * old_pages, old_pages + count - free_.size());
  resize_storage(pages * page_rows_, width_k(), width_v());  // keeps the pages in use (a prefix of the rows)
  page_refs_.resize(pages, 0);
  // the new pages go under the old free ones, lowest index taken first among them
  std::vector<std::int32_t> fresh;
  for (std::size_t p = pages; p-- > old_pages;) fresh.push_back(static_cast<std::int32_t>(p));
  free_.insert(free_.begin(), fresh.begin(), fresh.end());
}

std::int32_t kv_cache::take_page() {
  if (free_.empty()) throw error("kv_cache: no free page (reserve_pages first)");
  const std::int32_t p = free_.back();
  free_.pop_back();
  page_refs_[static_cast<std::size_t>(p)] = 1;
  return p;
}

void kv_cache::drop_page(std::int32_t page) {
  if (--page_refs_[static_cast<std::size_t>(page)] == 0) free_.push_back(page);
}

// k_new [B*time, dk], v_new [B*time, dv]
void kv_cache::append(const matrix& k_new, const matrix& v_new, std::size_t batch, std::size_t time) {
  if (k_new.shape()[0] != batch * time || v_new.shape()[0] != batch * time)
    throw error("kv_cache: new rows do not match batch x time");
  const std::size_t dk = cols(k_new), dv = cols(v_new);
  // f16: the new rows as halves first, so that a value out of range leaves the cache as it was
  if (precision_ == kv_precision::f16) {
    for (auto [from, to] : {std::pair{&k_new, &new_kh_}, std::pair{&v_new, &new_vh_}}) {
      to->resize(from->size());
      if (!to_half(from->data(), to->data(), from->size()))
        throw error(
            "kv_cache: a key or value is outside the half-precision range (|x| >= 65520); "
            "this model's cache needs f32");
    }
  }
  if (len_ == 0) {  // empty: the storage of earlier use kept if its widths match, re-cut into pages
    const std::size_t P = std::max(default_page_rows, time);
    const bool same_widths = dk == width_k() && dv == width_v();
    const std::size_t rows = same_widths ? storage_rows() : 0;
    if (!same_widths || P != page_rows_) {
      if (!same_widths) {
        page_refs_.clear();
        clear();
        resize_storage(0, dk, dv);
      }
      page_rows_ = P;
      page_refs_.assign(rows / P, 0);
    }
    clear();
    batch_ = batch;
    // expect(): the whole storage at once, unless it is past what page ids can number (then the
    // storage grows as it would without expect(), and fails where that fails)
    const double expected_pages =
        static_cast<double>(expected_items_) * (std::ceil(static_cast<double>(expected_positions_) / P) + 1);
    if (expected_items_ > 0 && expected_positions_ > 0 && expected_pages <= std::numeric_limits<std::int32_t>::max())
      reserve_pages(static_cast<std::size_t>(expected_pages));
    expected_items_ = expected_positions_ = 0;  // for this fill only
  } else if (batch != batch_ || dk != width_k() || dv != width_v()) {
    throw error("kv_cache: appended rows do not match the cached batch or widths (reorder or clear first)");
  }
  const std::size_t P = page_rows_, new_len = len_ + time, n_new = (new_len + P - 1) / P;
  const bool partial = len_ % P != 0;  // the last page of each item takes rows
  // Worst case: every item's partial page copied, and the new pages.
  reserve_pages(batch * ((partial ? 1 : 0) + n_new - n_pages_));
  if (partial) {  // copy on write of a last page shared with other batch items
    const std::size_t used = len_ % P;
    for (std::size_t b = 0; b < batch; ++b) {
      std::int32_t& page = table_[b * n_pages_ + n_pages_ - 1];
      if (page_refs_[static_cast<std::size_t>(page)] == 1) continue;
      const std::int32_t copy = take_page();
      copy_rows(static_cast<std::size_t>(page) * P, static_cast<std::size_t>(copy) * P, used);
      drop_page(page);
      page = copy;
    }
  }
  if (n_new > n_pages_) {  // fresh pages at the end of every item's list
    scratch_.resize(batch * n_new);
    for (std::size_t b = 0; b < batch; ++b) {
      std::copy_n(table_.begin() + static_cast<std::ptrdiff_t>(b * n_pages_), n_pages_,
                  scratch_.begin() + static_cast<std::ptrdiff_t>(b * n_new));
      for (std::size_t p = n_pages_; p < n_new; ++p) scratch_[b * n_new + p] = take_page();
    }
    table_.swap(scratch_);
    n_pages_ = n_new;
  }
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t r = 0; r < time; ++r) {
      const std::size_t row = row_of(b, len_ + r), from = b * time + r;
      if (precision_ == kv_precision::f32) {
        std::memcpy(k_.value.data() + row * dk, k_new.data() + from * dk, dk * sizeof(float));
        std::memcpy(v_.value.data() + row * dv, v_new.data() + from * dv, dv * sizeof(float));
      } else {
        std::memcpy(kh_.data() + row * dk, new_kh_.data() + from * dk, dk * sizeof(std::uint16_t));
        std::memcpy(vh_.data() + row * dv, new_vh_.data() + from * dv, dv * sizeof(std::uint16_t));
      }
    }
  len_ = new_len;
}

void kv_cache::reorder(const std::vector<std::int32_t>& order) {
  if (len_ == 0) return;
  for (const std::int32_t i : order)
    if (i < 0 || static_cast<std::size_t>(i) >= batch_) throw error("kv_cache: reorder index out of range");
  const std::size_t n = n_pages_;
  scratch_.resize(order.size() * n);
  for (std::size_t i = 0; i < order.size(); ++i)
    std::copy_n(table_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(order[i]) * n), n,
                scratch_.begin() + static_cast<std::ptrdiff_t>(i * n));
  for (const std::int32_t p : scratch_) ++page_refs_[static_cast<std::size_t>(p)];  // before any drop
  for (const std::int32_t p : table_) drop_page(p);
  table_.swap(scratch_);
  batch_ = order.size();
}

}  // namespace attn::nn
