// <pad> and <bos> are never produced, even by a model that prefers them: greedy, beam search
// and sampling all mask them (decode/forbidden_tokens.h).
#include <doctest/doctest.h>

#include <cmath>

#include "decode/beam.h"
#include "decode/forbidden_tokens.h"
#include "decode/greedy.h"
#include "decode/sampling.h"
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

TEST_CASE("no search produces <pad> or <bos>, whatever the model prefers") {
  special_loving_model m;
  attn::tape t;
  attn::batch b;
  b.size = 3;
  const auto greedy = attn::greedy_decode(m, t, b, 10);
  for (const auto& h : greedy) {
    CHECK(clean(h));
    CHECK(h == std::vector<std::int32_t>{5, 5, 5});
  }
  for (const std::size_t beam : {1, 2, 7}) {
    attn::beam_config cfg{beam, 1.0f, beam};
    const auto hyps = attn::beam_decode(m, t, b, 10, cfg);
    for (const auto& sentence : hyps) {
      REQUIRE(!sentence.empty());
      for (const auto& h : sentence) {
        CHECK(clean(h.tokens));
        CHECK(std::isfinite(h.score));
      }
    }
  }
  for (const float temperature : {0.5f, 1.0f, 5.0f}) {
    attn::sampling_config cfg;
    cfg.temperature = temperature;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      cfg.seed = seed;
      const auto drawn = attn::sample_decode(m, t, b, 10, cfg, {0, 1, 2});
      for (const auto& h : drawn) CHECK(clean(h));
    }
  }
}
