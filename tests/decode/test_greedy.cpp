// Greedy decoding against a scripted model: each item has a fixed sequence it wants to emit.
#include <doctest/doctest.h>

#include "decode/greedy.h"
#include "text/vocab.h"

namespace {

// Emits script[i][step] for item i (eos_id after the script ends) with log-prob 0, others -10.
// Records what decode_step was fed, to check the loop feeds back its own argmax.
class scripted_model : public attn::model {
 public:
  scripted_model(std::vector<std::vector<std::int32_t>> script, std::size_t vocab)
      : script_(std::move(script)), vocab_(vocab) {}
  const attn::model_config& config() const override { return cfg_; }
  attn::loss_result loss(attn::tape&, const attn::batch&, attn::rng&, float) override { return {}; }
  void start_decoding(attn::tape&, const attn::batch& b) override {
    step_ = 0;
    started_with_ = b.size;
    rows_.resize(b.size);
    for (std::size_t i = 0; i < b.size; ++i) rows_[i] = i;
  }
  void reorder_decoding(const std::vector<std::int32_t>& order) override {
    reorders.push_back(order);
    std::vector<std::size_t> next;
    for (const std::int32_t r : order) next.push_back(rows_.at(static_cast<std::size_t>(r)));
    rows_ = next;
  }
  attn::matrix decode_step(attn::tape& t, const std::vector<std::int32_t>& last) override {
    CHECK_FALSE(t.recording());
    fed.push_back(last);
    attn::matrix lp = attn::matrix::from_shape({last.size(), vocab_});
    lp.fill(-10.0f);
    REQUIRE(last.size() == rows_.size());
    for (std::size_t i = 0; i < last.size(); ++i) {
      const auto& s = script_[rows_[i]];
      lp(i, step_ < s.size() ? static_cast<std::size_t>(s[step_]) : static_cast<std::size_t>(attn::eos_id)) = 0.0f;
    }
    ++step_;
    return lp;
  }
  std::vector<std::vector<std::int32_t>> fed, reorders;
  std::size_t started_with_ = 0;

 private:
  std::vector<std::size_t> rows_;  // the script item of each model row
  std::vector<std::vector<std::int32_t>> script_;
  std::size_t vocab_;
  std::size_t step_ = 0;
  attn::model_config cfg_;
};

}  // namespace

TEST_CASE("greedy decoding follows the argmax, stops each item at <eos>, feeds tokens back") {
  scripted_model m({{5, 6, 7}, {8}, {}}, 10);
  attn::tape t;
  attn::batch b;
  b.size = 3;
  auto out = attn::greedy_decode(m, t, b, 50);
  CHECK(m.started_with_ == 3);
  REQUIRE(out.size() == 3);
  CHECK(out[0] == std::vector<std::int32_t>{5, 6, 7});
  CHECK(out[1] == std::vector<std::int32_t>{8});
  CHECK(out[2].empty());
  REQUIRE(m.fed.size() == 4);  // 3 tokens + <eos> for the longest item, then all are done
  CHECK(m.fed[0] == std::vector<std::int32_t>{attn::bos_id, attn::bos_id, attn::bos_id});
  // finished items leave the batch: item 2 ends at once, item 1 after one token
  CHECK(m.fed[1] == std::vector<std::int32_t>{5, 8});
  CHECK(m.fed[2] == std::vector<std::int32_t>{6});
  CHECK(m.fed[3] == std::vector<std::int32_t>{7});
  CHECK(m.reorders == std::vector<std::vector<std::int32_t>>{{0, 1}, {0}});
  CHECK(t.recording());  // recording restored after decoding
}

TEST_CASE("greedy decoding stops at max_len") {
  scripted_model m({{4, 4, 4, 4, 4, 4, 4, 4}}, 6);
  attn::tape t;
  attn::batch b;
  b.size = 1;
  auto out = attn::greedy_decode(m, t, b, 3);
  CHECK(out[0] == std::vector<std::int32_t>{4, 4, 4});
}
