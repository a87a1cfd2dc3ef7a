#pragma once
// The items of a batch still decoding, one model row each, for the searches that pick one token
// per row (greedy, sampling): an item that picks <eos> is finished and leaves the model's state
// through reorder_decoding, so later steps compute only the rows still running. The buffers are
// reused from step to step.
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "models/model.h"
#include "text/special_tokens.h"

namespace attn {

class running_items {
 public:
  running_items(std::size_t n, std::int32_t start_token) : item_(n), last_(n, start_token) {
    std::iota(item_.begin(), item_.end(), 0);
  }

  bool empty() const { return last_.empty(); }
  std::size_t rows() const { return last_.size(); }
  const std::vector<std::int32_t>& last_tokens() const { return last_; }  // what the next step feeds
  std::size_t item(std::size_t row) const { return static_cast<std::size_t>(item_[row]); }

  // Row `row` picked `token`: <eos> finishes its item; anything else goes to out[item] and is fed
  // next. Call for the rows in order, once each, between two end_step()s.
  void pick(std::size_t row, std::int32_t token, std::vector<std::vector<std::int32_t>>& out) {
    if (token == eos_id) return;
    out[item(row)].push_back(token);
    keep_.push_back(static_cast<std::int32_t>(row));
    next_item_.push_back(item_[row]);
    next_last_.push_back(token);
  }

  // Drops the finished rows from the model's state and makes the picks the next step's input.
  void end_step(model& m) {
    if (!keep_.empty() && keep_.size() != last_.size()) m.reorder_decoding(keep_);
    item_.swap(next_item_);
    last_.swap(next_last_);
    keep_.clear();
    next_item_.clear();
    next_last_.clear();
  }

 private:
  std::vector<std::int32_t> item_, last_;              // per row: its batch item, its last token
  std::vector<std::int32_t> keep_, next_item_, next_last_;
};

}  // namespace attn
