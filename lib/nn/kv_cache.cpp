#include "nn/kv_cache.h"

#include <algorithm>
#include <cstring>

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

void kv_cache::release() {
  page_refs_.clear();
  clear();
  page_rows_ = 0;
  k_.value = matrix::from_shape({0, 0});
  v_.value = matrix::from_shape({0, 0});
}

std::size_t kv_cache::row_of(std::size_t b, std::size_t t) const {
  return static_cast<std::size_t>(table_[b * n_pages_ + t / page_rows_]) * page_rows_ + t % page_rows_;
}

const float* kv_cache::k_row(std::size_t b, std::size_t t) const {
  if (b >= batch_ || t >= len_) throw error("kv_cache: position outside the cache");
  return k_.value.data() + row_of(b, t) * cols(k_.value);
}

const float* kv_cache::v_row(std::size_t b, std::size_t t) const {
  if (b >= batch_ || t >= len_) throw error("kv_cache: position outside the cache");
  return v_.value.data() + row_of(b, t) * cols(v_.value);
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
  const std::size_t rows = pages * page_rows_;
  for (parameter* p : {&k_, &v_}) {  // keep the pages in use (a prefix of the rows)
    matrix grown = matrix::from_shape({rows, cols(p->value)});
    if (pages_in_use() > 0) std::memcpy(grown.data(), p->value.data(), p->value.size() * sizeof(float));
    p->value = std::move(grown);
  }
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
  if (len_ == 0) {  // empty: the storage of earlier use kept if its widths match, re-cut into pages
    const std::size_t P = std::max(default_page_rows, time);
    const bool same_widths = dk == cols(k_.value) && dv == cols(v_.value);
    const std::size_t rows = same_widths ? attn::rows(k_.value) : 0;
    if (!same_widths || P != page_rows_) {
      if (!same_widths) {
        k_.value = matrix::from_shape({0, dk});
        v_.value = matrix::from_shape({0, dv});
      }
      page_rows_ = P;
      page_refs_.assign(rows / P, 0);
    }
    clear();
    batch_ = batch;
  } else if (batch != batch_ || dk != cols(k_.value) || dv != cols(v_.value)) {
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
      for (parameter* p : {&k_, &v_}) {
        const std::size_t d = cols(p->value);
        std::memcpy(p->value.data() + static_cast<std::size_t>(copy) * P * d,
                    p->value.data() + static_cast<std::size_t>(page) * P * d, used * d * sizeof(float));
      }
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
      std::memcpy(k_.value.data() + row * dk, k_new.data() + from * dk, dk * sizeof(float));
      std::memcpy(v_.value.data() + row * dv, v_new.data() + from * dv, dv * sizeof(float));
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
