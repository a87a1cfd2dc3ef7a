// <pad> and <bos> are never produced, even by a model that prefers them: greedy, beam search
// and sampling all mask them (decode/forbidden_tokens.h).
#include <doctest/doctest.h>

#include <cmath>

#include "core/rng.h"
#include "core/threads.h"
#include "decode/beam.h"
#include "decode/forbidden_tokens.h"
#include "decode/greedy.h"
#include "decode/sampling.h"
#include "models/model_helpers.h"
#include "text/vocab.h"

namespace {

// A model that puts most of its mass on <pad> and <bos> at every step, then on token 5, then
// on <eos>: an untrained model's worst habits.
class special_loving_model : public attn::model {
 public:
  const attn::model_config& config() const override { return cfg_; }
  attn::loss_result loss(attn::tape&, const attn::batch&, attn::rng&, float) override { return {}; }
  void start_decoding(attn::tape&, const attn::batch&) override { step_ = 0; }
  attn::matrix decode_step(attn::tape&, const std::vector<std::int32_t>& last) override {
    attn::matrix lp = attn::matrix::from_shape({last.size(), vocab});
    for (std::size_t i = 0; i < last.size(); ++i) {
      for (std::size_t v = 0; v < vocab; ++v) lp(i, v) = std::log(0.01f);
      lp(i, attn::pad_id) = std::log(0.4f);
      lp(i, attn::bos_id) = std::log(0.3f);
      lp(i, step_ < 3 ? 5 : attn::eos_id) = std::log(0.2f);
    }
    ++step_;
    return lp;
  }
  void reorder_decoding(const std::vector<std::int32_t>&) override {}
  static constexpr std::size_t vocab = 8;

 private:
  std::size_t step_ = 0;
  attn::model_config cfg_;
};

// A broken model: every score is -inf (or NaN), so masking leaves no finite choice at all.
class hopeless_model : public attn::model {
 public:
  explicit hopeless_model(float score) : score_(score) {}
  const attn::model_config& config() const override { return cfg_; }
  attn::loss_result loss(attn::tape&, const attn::batch&, attn::rng&, float) override { return {}; }
  void start_decoding(attn::tape&, const attn::batch&) override {}
  attn::matrix decode_step(attn::tape&, const std::vector<std::int32_t>& last) override {
    attn::matrix lp = attn::matrix::from_shape({last.size(), 6});
    lp.fill(score_);
    return lp;
  }
  void reorder_decoding(const std::vector<std::int32_t>&) override {}

 private:
  float score_;
  attn::model_config cfg_;
};

// A real tiny Transformer whose untied output bias makes <pad> and <bos> by far the most probable.
std::unique_ptr<attn::model> special_loving_transformer() {
  attn::model_config c = attn::models_testing::tiny_config("transformer");
  c.tie_output = false;
  attn::rng gen(3);
  auto m = attn::make_model(c, gen);
  attn::matrix& bias = m->params().at("out.bias").value;  // [1, V]
  bias(0, attn::pad_id) = 50.0f;
  bias(0, attn::bos_id) = 40.0f;
  return m;
}

attn::batch three_sources() {
  return attn::models_testing::seq2seq_batch({{4, 5, 6}, {7, 8}, {9, 10, 4, 5}});
}

bool clean(const std::vector<std::int32_t>& tokens) {
  for (const auto id : tokens)
    if (id == attn::pad_id || id == attn::bos_id) return false;
  return true;
}

}  // namespace

TEST_CASE("forbid_unproducible masks exactly the <pad> and <bos> columns") {
  attn::matrix lp = attn::matrix::from_shape({2, 6});
  lp.fill(-1.0f);
  attn::forbid_unproducible(lp);
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t v = 0; v < 6; ++v) {
      const bool forbidden = v == static_cast<std::size_t>(attn::pad_id) || v == static_cast<std::size_t>(attn::bos_id);
      CHECK((forbidden ? std::isinf(lp(r, v)) && lp(r, v) < 0 : lp(r, v) == -1.0f));
    }
}

TEST_CASE("best_producible is the first maximum outside <pad> and <bos>, even when nothing is finite") {
  const float row[] = {9.0f, -1.0f, 8.0f, -2.0f, 0.5f, 0.5f};
  CHECK(attn::best_producible(row, 6) == 4);
  const float none[] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  CHECK(attn::best_producible(none, 4) == attn::unk_id);
  const float nan[] = {NAN, NAN, NAN, NAN};
  CHECK(!attn::is_unproducible(attn::best_producible(nan, 4)));
  CHECK(attn::is_unproducible(attn::pad_id));
  CHECK(attn::is_unproducible(attn::bos_id));
  CHECK_FALSE(attn::is_unproducible(attn::eos_id));
  CHECK_THROWS_AS(attn::best_producible(row, 2), attn::error);
}

TEST_CASE("best_producible_rows gives every row's best_producible, on one thread or several") {
  // 300 rows of 4,000 scores: rows split over the threads in chunks of at least 8 rows
  const std::size_t R = 300, V = 4000;
  attn::matrix scores = attn::matrix::from_shape({R, V});
  attn::rng gen(3);
  for (std::size_t i = 0; i < scores.size(); ++i) scores.data()[i] = gen.uniform(-5.0f, 5.0f);
  for (std::size_t r = 0; r < R; r += 7) scores(r, r % 3 == 0 ? attn::pad_id : attn::bos_id) = 100.0f;
  scores(5, 17) = scores(5, 900) = 50.0f;  // a tie: the first
  const int before = attn::threads();
  for (const int n : {1, 2, 3}) {
    CAPTURE(n);
    attn::set_threads(n);
    std::vector<std::int32_t> best = {42};  // resized
    attn::best_producible_rows(scores, best);
    REQUIRE(best.size() == R);
    for (std::size_t r = 0; r < R; ++r) {
      CHECK(best[r] == attn::best_producible(scores.data() + r * V, V));
      std::size_t want = attn::unk_id;  // the first maximum over the producible ids, directly
      for (std::size_t v = 0; v < V; ++v)
        if (!attn::is_unproducible(static_cast<std::int32_t>(v)) && scores(r, v) > scores(r, want)) want = v;
      CHECK(best[r] == static_cast<std::int32_t>(want));
    }
    CHECK(best[5] == 17);
  }
  attn::set_threads(before);
}

TEST_CASE("greedy never produces <pad> or <bos>, whatever the model prefers") {
  attn::tape t;
  special_loving_model m;
  attn::batch b;
  b.size = 3;
  for (const auto& h : attn::greedy_decode(m, t, b, 10)) CHECK(h == std::vector<std::int32_t>{5, 5, 5});
  auto tf = special_loving_transformer();
  const auto real = attn::greedy_decode(*tf, t, three_sources(), 12);
  for (const auto& h : real) {
    CHECK(h.size() > 0);
    CHECK(clean(h));
  }
  for (const float score : {-INFINITY, NAN}) {
    hopeless_model broken(score);
    for (const auto& h : attn::greedy_decode(broken, t, b, 4)) CHECK(clean(h));
  }
}

TEST_CASE("beam search never produces <pad> or <bos>, whatever the model prefers") {
  attn::tape t;
  special_loving_model m;
  auto tf = special_loving_transformer();
  attn::batch b;
  b.size = 3;
  for (const std::size_t beam : {1, 2, 7}) {
    CAPTURE(beam);
    attn::beam_config cfg{beam, 1.0f, beam};
    for (const auto& result : {attn::beam_decode(m, t, b, 10, cfg), attn::beam_decode(*tf, t, three_sources(), 12, cfg)}) {
      for (const auto& sentence : result) {
        REQUIRE(!sentence.empty());
        for (const auto& h : sentence) {
          CHECK(clean(h.tokens));
          CHECK(std::isfinite(h.score));
        }
      }
    }
  }
}

TEST_CASE("sampling never produces <pad> or <bos>, with or without top-k / top-p truncation") {
  attn::tape t;
  special_loving_model m;
  auto tf = special_loving_transformer();
  attn::batch b;
  b.size = 3;
  struct setting {
    float temperature;
    std::size_t top_k;
    float top_p;
  };
  for (const setting st : {setting{0.5f, 0, 1.0f}, setting{1.0f, 0, 1.0f}, setting{5.0f, 0, 1.0f},
                           setting{0.0f, 0, 1.0f}, setting{1.0f, 1, 1.0f}, setting{5.0f, 3, 1.0f},
                           setting{5.0f, 0, 0.5f}, setting{100.0f, 4, 0.9f}}) {
    CAPTURE(st.temperature);
    CAPTURE(st.top_k);
    CAPTURE(st.top_p);
    attn::sampling_config cfg;
    cfg.temperature = st.temperature;
    cfg.top_k = st.top_k;
    cfg.top_p = st.top_p;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      cfg.seed = seed;
      for (const auto& h : attn::sample_decode(m, t, b, 10, cfg, {0, 1, 2})) CHECK(clean(h));
      for (const auto& h : attn::sample_decode(*tf, t, three_sources(), 12, cfg, {0, 1, 2})) CHECK(clean(h));
    }
  }
  for (const float score : {-INFINITY, NAN}) {
    hopeless_model broken(score);
    attn::sampling_config cfg;
    for (const auto& h : attn::sample_decode(broken, t, b, 4, cfg, {0, 1, 2})) CHECK(clean(h));
  }
}
