// Beam search and sampling (lib/decode/beam.h, lib/decode/sampling.h): against a model with a
// hand-made next-token table where the answers are known, and against tiny real models where beam 1
// and top-k 1 sampling must equal greedy and n-best scores must equal teacher-forced log-probs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>

#include "core/threads.h"
#include "decode/beam.h"
#include "decode/greedy.h"
#include "decode/sampling.h"
#include "models/model_helpers.h"
#include "text/vocab.h"

namespace {

using attn::eos_id;
using tokens = std::vector<std::int32_t>;
using dist = std::map<std::int32_t, double>;  // token -> probability

constexpr std::int32_t a = 4, b = 5, c = 6;

// Next-token probabilities from a table keyed by the item's source (its first id) and the tokens
// produced so far; prefixes missing from the table end the sentence (<eos>). Every token the
// table does not mention gets probability eps before renormalising, so no log-prob is -inf.
// Each row carries its own history, so a wrong reorder_decoding shows up as wrong answers.
class table_model : public attn::model {
 public:
  static constexpr double eps = 1e-4;
  std::map<std::int32_t, std::map<tokens, dist>> table;
  dist fallback = {{eos_id, 1.0}};
  std::size_t vocab = 10;
  std::vector<std::size_t> rows_per_step;  // what each decode_step was fed

  const attn::model_config& config() const override { return cfg_; }
  attn::loss_result loss(attn::tape&, const attn::batch&, attn::rng&, float) override { return {}; }
  void start_decoding(attn::tape&, const attn::batch& bt) override {
    rows_.clear();
    for (std::size_t i = 0; i < bt.size; ++i) rows_.push_back({bt.src[i * bt.src_len], {}});
    step_ = 0;
    rows_per_step.clear();
  }
  attn::matrix decode_step(attn::tape& t, const std::vector<std::int32_t>& last) override {
    CHECK_FALSE(t.recording());
    REQUIRE(last.size() == rows_.size());
    rows_per_step.push_back(last.size());
    attn::matrix lp = attn::matrix::from_shape({last.size(), vocab});  // [rows, V]
    for (std::size_t r = 0; r < last.size(); ++r) {
      if (step_ > 0) rows_[r].history.push_back(last[r]);
      const auto p = probs(rows_[r].key, rows_[r].history);
      for (std::size_t v = 0; v < vocab; ++v) lp(r, v) = static_cast<float>(std::log(p[v]));
    }
    ++step_;
    return lp;
  }
  void reorder_decoding(const std::vector<std::int32_t>& order) override {
    std::vector<row> picked;
    for (std::int32_t i : order) picked.push_back(rows_.at(static_cast<std::size_t>(i)));
    rows_ = picked;
  }

  // The distribution after `history` for source key.
  std::vector<double> probs(std::int32_t key, const tokens& history) const {
    const dist* d = &fallback;
    auto k = table.find(key);
    if (k != table.end()) {
      auto h = k->second.find(history);
      if (h != k->second.end()) d = &h->second;
    }
    std::vector<double> p(vocab, eps);
    for (const auto& [token, prob] : *d) p[static_cast<std::size_t>(token)] = prob;
    const double total = std::accumulate(p.begin(), p.end(), 0.0);
    for (double& x : p) x /= total;
    return p;
  }
  // Summed log-prob of producing `out` (then <eos> if ended) for source key.
  double log_prob(std::int32_t key, const tokens& out, bool ended) const {
    double sum = 0.0;
    tokens prefix;
    for (std::int32_t tok : out) {
      sum += std::log(probs(key, prefix)[static_cast<std::size_t>(tok)]);
      prefix.push_back(tok);
    }
    if (ended) sum += std::log(probs(key, prefix)[eos_id]);
    return sum;
  }

 private:
  struct row {
    std::int32_t key;
    tokens history;
  };
  std::vector<row> rows_;
  std::size_t step_ = 0;
  attn::model_config cfg_;
};

// Source 1: greedy takes a (0.5), whose continuations are flat, and ends with "a a" (0.5 · 0.26 = 0.13);
// "b b" has 0.4 · 0.9 = 0.36. Source 2: "" has 0.6, "c" 0.4 — the best under raw log-prob, but
// per token (length penalty 1) "c" wins: log 0.4 / 2 = -0.46 > log 0.6 / 1 = -0.51.
table_model classic_model() {
  table_model m;
  m.table[1] = {{{}, {{a, 0.5}, {b, 0.4}, {eos_id, 0.1}}},
                {{a}, {{a, 0.26}, {b, 0.26}, {c, 0.26}, {eos_id, 0.22}}},
                {{b}, {{b, 0.9}, {eos_id, 0.1}}}};
  m.table[2] = {{{}, {{eos_id, 0.6}, {c, 0.4}}}};
  return m;
}

attn::batch keys_batch(const std::vector<std::int32_t>& keys) {
  attn::batch bt;
  bt.size = keys.size();
  bt.src_len = 1;
  bt.src = keys;
  bt.src_lengths.assign(keys.size(), 1);
  return bt;
}

}  // namespace

TEST_CASE("beam search finds the more probable sequence greedy misses, per sentence of a batch") {
  table_model m = classic_model();
  attn::tape t;
  const attn::batch bt = keys_batch({1, 2});
  CHECK(attn::greedy_decode(m, t, bt, 10)[0] == tokens{a, a});

  attn::beam_config cfg;
  cfg.beam_size = 2;
  cfg.length_penalty = 0.0f;
  cfg.n_best = 2;
  const auto hyps = attn::beam_decode(m, t, bt, 10, cfg);
  REQUIRE(hyps.size() == 2);
  REQUIRE(hyps[0].size() == 2);
  CHECK(hyps[0][0].tokens == tokens{b, b});
  CHECK(hyps[0][1].tokens == tokens{a, a});
  CHECK(hyps[0][0].ended);
  REQUIRE(hyps[1].size() == 2);
  CHECK(hyps[1][0].tokens.empty());
  CHECK(hyps[1][1].tokens == tokens{c});
  for (std::size_t s = 0; s < 2; ++s)
    for (const auto& h : hyps[s]) {
      CHECK(h.log_prob == doctest::Approx(m.log_prob(static_cast<std::int32_t>(s + 1), h.tokens, true)).epsilon(1e-5));
      CHECK(h.score == h.log_prob);  // length penalty 0
    }
  CHECK(hyps[0][0].log_prob == doctest::Approx(std::log(0.36)).epsilon(1e-2));  // eps mass aside
  // Started with one row per sentence, expanded to two beams each; sentence 2 is done after two
  // steps (two finished, nothing live can beat ""), so the third step feeds sentence 1's beams only.
  REQUIRE(m.rows_per_step.size() == 3);
  CHECK(m.rows_per_step[0] == 2);
  CHECK(m.rows_per_step[1] == 4);
  CHECK(m.rows_per_step[2] == 2);
  CHECK(t.recording());
}

TEST_CASE("beam search: length normalisation ranks by log-prob per token") {
  table_model m = classic_model();
  attn::tape t;
  attn::beam_config cfg;
  cfg.beam_size = 2;
  cfg.n_best = 2;
  cfg.length_penalty = 1.0f;
  const auto hyps = attn::beam_decode(m, t, keys_batch({2}), 10, cfg);
  REQUIRE(hyps[0].size() == 2);
  CHECK(hyps[0][0].tokens == tokens{c});
  CHECK(hyps[0][0].score == doctest::Approx(std::log(0.4) / 2).epsilon(1e-3));
  CHECK(hyps[0][1].tokens.empty());
  CHECK(hyps[0][1].score == doctest::Approx(std::log(0.6)).epsilon(1e-3));
  CHECK(attn::beam_score(-3.0f, 3, 0.5f) == doctest::Approx(-3.0 / std::sqrt(3.0)));
  CHECK(attn::beam_score(-3.0f, 3, 0.0f) == -3.0f);
}

// Log-probs on a grid of quarters (many exact ties), some tokens forbidden (-inf, as <pad> and
// <bos> always are), from a hash of the row's history: V = 53 is three SIMD batches and a tail.
class grid_model : public attn::model {
 public:
  static constexpr std::size_t vocab = 53;
  static float log_prob(const tokens& history, std::int32_t token) {
    if (token == attn::pad_id || token == attn::bos_id) return -INFINITY;
    std::uint32_t h = 2166136261u;
    for (std::int32_t x : history) h = (h ^ static_cast<std::uint32_t>(x)) * 16777619u;
    h = (h ^ static_cast<std::uint32_t>(token)) * 16777619u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    if (h % 11 == 0) return -INFINITY;
    return -0.25f * static_cast<float>(h % 29);  // 0 .. -7, in steps of 0.25
  }
  const attn::model_config& config() const override { return cfg_; }
  attn::loss_result loss(attn::tape&, const attn::batch&, attn::rng&, float) override { return {}; }
  void start_decoding(attn::tape&, const attn::batch& bt) override {
    rows_.assign(bt.size, {});
    started_ = false;
  }
  attn::matrix decode_step(attn::tape&, const std::vector<std::int32_t>& last) override {
    REQUIRE(last.size() == rows_.size());
    attn::matrix lp = attn::matrix::from_shape({last.size(), vocab});
    for (std::size_t r = 0; r < last.size(); ++r) {
      if (started_) rows_[r].push_back(last[r]);
      for (std::size_t v = 0; v < vocab; ++v) lp(r, v) = log_prob(rows_[r], static_cast<std::int32_t>(v));
    }
    started_ = true;
    return lp;
  }
  void reorder_decoding(const std::vector<std::int32_t>& order) override {
    std::vector<tokens> picked;
    for (std::int32_t i : order) picked.push_back(rows_.at(static_cast<std::size_t>(i)));
    rows_ = picked;
  }

 private:
  std::vector<tokens> rows_;
  bool started_ = false;
  attn::model_config cfg_;
};

TEST_CASE("beam search keeps the exact best extensions among many tied and forbidden log-probs") {
  // Two steps with a beam as wide as the vocabulary: every first token stays live and the last
  // step keeps the best K of all two-token outputs, so the n-best list must be the top of an
  // exhaustive ranking: the same summed log-probs, tie for tie.
  grid_model m;
  attn::tape t;
  const std::size_t V = grid_model::vocab;
  std::vector<double> all;  // every output's summed log-prob (the scores with length penalty 0)
  for (std::int32_t first = 0; first < static_cast<std::int32_t>(V); ++first) {
    const double lp1 = grid_model::log_prob({}, first);
    if (std::isinf(lp1)) continue;
    if (first == eos_id) {
      all.push_back(lp1);
      continue;
    }
    for (std::int32_t second = 0; second < static_cast<std::int32_t>(V); ++second) {
      const double lp2 = grid_model::log_prob({first}, second);
      if (!std::isinf(lp2)) all.push_back(lp1 + lp2);
    }
  }
  std::sort(all.begin(), all.end(), std::greater<>());
  attn::beam_config cfg;
  cfg.beam_size = V;
  cfg.n_best = V;
  cfg.length_penalty = 0.0f;
  const auto hyps = attn::beam_decode(m, t, keys_batch({7}), 2, cfg);
  REQUIRE(hyps[0].size() == V);
  for (std::size_t i = 0; i < V; ++i) {
    const attn::hypothesis& h = hyps[0][i];
    CHECK(h.log_prob == static_cast<float>(all[i]));  // the i-th best of all, ties included
    double own = 0.0;                                 // and its own tokens have that log-prob
    tokens prefix;
    for (std::int32_t tok : h.tokens) {
      own += grid_model::log_prob(prefix, tok);
      prefix.push_back(tok);
    }
    if (h.ended) own += grid_model::log_prob(prefix, eos_id);
    CHECK(static_cast<float>(own) == h.log_prob);
  }
}

TEST_CASE("beam 1 is greedy; max_len finishes live hypotheses as they are; bad configurations throw") {
  table_model m = classic_model();
  attn::tape t;
  const attn::batch bt = keys_batch({1, 2});
  for (float lp : {0.0f, 1.0f, -0.5f}) {
    attn::beam_config cfg;
    cfg.beam_size = 1;
    cfg.length_penalty = lp;
    const auto hyps = attn::beam_decode(m, t, bt, 10, cfg);
    const auto greedy = attn::greedy_decode(m, t, bt, 10);
    for (std::size_t i = 0; i < 2; ++i) CHECK(hyps[i].at(0).tokens == greedy[i]);
  }
  attn::beam_config cfg;
  cfg.beam_size = 2;
  cfg.n_best = 2;
  const auto cut = attn::beam_decode(m, t, keys_batch({1}), 1, cfg);
  REQUIRE(cut[0].size() == 2);
  CHECK(cut[0][0].tokens == tokens{a});
  CHECK_FALSE(cut[0][0].ended);
  CHECK(cut[0][0].log_prob == doctest::Approx(std::log(0.5)).epsilon(1e-3));
  CHECK(cut[0][1].tokens == tokens{b});
  CHECK(attn::beam_decode(m, t, keys_batch({1}), 0, cfg)[0].at(0).tokens.empty());
  cfg.n_best = 3;
  CHECK_THROWS_AS(attn::beam_decode(m, t, bt, 10, cfg), attn::error);
  cfg.beam_size = 0;
  cfg.n_best = 1;
  CHECK_THROWS_AS(attn::beam_decode(m, t, bt, 10, cfg), attn::error);
}

namespace {

using namespace attn::models_testing;

// A tiny model of `family` trained briefly to reverse overfit_data, so that it emits <eos>.
std::unique_ptr<attn::model> trained(const std::string& family) {
  attn::rng gen(11);
  auto m = attn::make_model(tiny_config(family), gen);
  const attn::batch train = family == "lm" ? lm_batch(overfit_data) : seq2seq_batch(overfit_data);
  overfit(*m, train, 60, 2e-2f);
  return m;
}

// Sources for decoding: training items and unseen ones, of different lengths.
attn::batch decode_sources() {
  attn::batch bt = seq2seq_batch({{4, 5, 6, 7}, {10, 4}, {7, 7, 8}, {9, 4, 10, 5}, {6}, {5, 9, 4, 8, 7}});
  bt.tgt_len = 0;
  bt.tgt_in.clear();
  bt.tgt_out.clear();
  bt.tgt_lengths.clear();
  return bt;
}

// The teacher-forced log-prob of producing h from source item i of src (its <eos> included if it ended).
double teacher_forced(attn::model& m, const attn::batch& src, std::size_t i, const attn::hypothesis& h) {
  attn::batch one;
  one.size = 1;
  one.src_len = static_cast<std::size_t>(src.src_lengths[i]);
  one.src.assign(src.src.begin() + static_cast<std::ptrdiff_t>(i * src.src_len),
                 src.src.begin() + static_cast<std::ptrdiff_t>(i * src.src_len + one.src_len));
  one.src_lengths = {static_cast<std::int32_t>(one.src_len)};
  one.tgt_in = {attn::bos_id};
  one.tgt_in.insert(one.tgt_in.end(), h.tokens.begin(), h.tokens.end());
  one.tgt_out = h.tokens;
  one.tgt_out.push_back(eos_id);
  one.tgt_len = one.tgt_in.size();
  one.tgt_lengths = {static_cast<std::int32_t>(one.tgt_len)};
  attn::tape t;
  const attn::matrix lp = m.log_probs(t, one);  // [T, V]
  double sum = 0.0;
  const std::size_t n = h.tokens.size() + (h.ended ? 1 : 0);
  for (std::size_t s = 0; s < n; ++s) sum += lp(s, static_cast<std::size_t>(one.tgt_out[s]));
  return sum;
}

// Item i of a source batch as a batch of its own (its source without padding). Decoded alone,
// greedy and beam 1 feed the model the very same rows at every step, so their log-probs are
// bit-identical and beam 1 must pick greedy's tokens exactly. In one batch they need not: the
// searches keep different rows in the model state (beam search K per sentence), and a different
// number of rows may round a matrix product's last bit differently and flip a near tie.
attn::batch item(const attn::batch& bt, std::size_t i) {
  attn::batch one;
  one.size = 1;
  one.src_len = static_cast<std::size_t>(bt.src_lengths[i]);
  one.src.assign(bt.src.begin() + static_cast<std::ptrdiff_t>(i * bt.src_len),
                 bt.src.begin() + static_cast<std::ptrdiff_t>(i * bt.src_len + one.src_len));
  one.src_lengths = {static_cast<std::int32_t>(one.src_len)};
  return one;
}

// Sources (and for an lm, equal-length prompts) and the start token for decoding with `family`.
std::pair<attn::batch, std::int32_t> sources_for(const std::string& family) {
  if (family != "lm") return {decode_sources(), attn::bos_id};
  attn::batch bt = lm_batch({{4, 5}, {10, 4}, {7, 7}, {9, 4}});
  bt.tgt_out.clear();
  return {bt, eos_id};
}

}  // namespace

TEST_CASE("beam 1 and top-k 1 sampling equal greedy on real tiny models (transformer, rnn, lm with a prompt)") {
  for (const char* family : {"transformer", "rnn", "lm"}) {
    CAPTURE(family);
    auto m = trained(family);
    const auto [bt, start] = sources_for(family);
    attn::tape t;
    for (std::size_t i = 0; i < bt.size; ++i) {
      CAPTURE(i);
      const attn::batch one = item(bt, i);
      const auto greedy = attn::greedy_decode(*m, t, one, 12, start);
      attn::beam_config cfg;
      cfg.beam_size = 1;
      CHECK(attn::beam_decode(*m, t, one, 12, cfg, start)[0].at(0).tokens == greedy[0]);
      attn::sampling_config sc;
      sc.top_k = 1;
      CHECK(attn::sample_decode(*m, t, one, 12, sc, {i}, start) == greedy);
      sc.top_k = 0;
      sc.temperature = 0.0f;
      CHECK(attn::sample_decode(*m, t, one, 12, sc, {i}, start) == greedy);
    }
  }
}

TEST_CASE("beam search picks the same hypotheses on one thread and on two (sentences selected side by side)") {
  const int before = attn::threads();
  for (const char* family : {"transformer", "rnn"}) {
    CAPTURE(family);
    auto m = trained(family);
    const attn::batch bt = decode_sources();  // 6 sentences: their selections split over the threads
    attn::tape t;
    attn::beam_config cfg;
    cfg.beam_size = 4;
    cfg.n_best = 4;
    attn::set_threads(1);
    const auto one = attn::beam_decode(*m, t, bt, 9, cfg, attn::bos_id);
    attn::set_threads(2);
    const auto two = attn::beam_decode(*m, t, bt, 9, cfg, attn::bos_id);
    REQUIRE(one.size() == bt.size);
    REQUIRE(two.size() == bt.size);
    for (std::size_t i = 0; i < bt.size; ++i) {
      REQUIRE(one[i].size() == two[i].size());
      for (std::size_t j = 0; j < one[i].size(); ++j) {
        CHECK(one[i][j].tokens == two[i][j].tokens);
        CHECK(one[i][j].score == two[i][j].score);
      }
    }
  }
  attn::set_threads(before);
}

TEST_CASE("n-best scores are sorted and equal teacher-forced log-probs (length penalty 0)") {
  for (const char* family : {"transformer", "rnn"}) {
    CAPTURE(family);
    auto m = trained(family);
    const attn::batch bt = decode_sources();
    attn::tape t;
    attn::beam_config cfg;
    cfg.beam_size = 4;
    cfg.n_best = 4;
    cfg.length_penalty = 0.0f;
    const auto hyps = attn::beam_decode(*m, t, bt, 5, cfg);  // the longest needs 6
    for (std::size_t i = 0; i < bt.size; ++i) {
      REQUIRE(hyps[i].size() == 4);
      for (std::size_t j = 0; j < hyps[i].size(); ++j) {
        if (j > 0) CHECK(hyps[i][j].score <= hyps[i][j - 1].score);
        CHECK(hyps[i][j].score == hyps[i][j].log_prob);
        CHECK(hyps[i][j].log_prob <= 0.0f);
        CHECK(hyps[i][j].log_prob == doctest::Approx(teacher_forced(*m, bt, i, hyps[i][j])).epsilon(1e-4).scale(1.0));
      }
    }
  }
}

// What the two tests above exercise depends on the briefly trained models: they end some
// hypotheses with <eos> (greedy and beam), and with max_len 5 cut others. Single-threaded
// (tests/doctest_main.cpp) beam 1 ends all sentences (transformer 6/6, rnn 6/6, lm 4/4) and 4-best
// at max_len 5 ends 21/24 and 23/24 hypotheses (bounds: some, and not all).
TEST_CASE("the briefly trained decoding models end some hypotheses" * doctest::test_suite("convergence")) {
  for (const char* family : {"transformer", "rnn", "lm"}) {
    CAPTURE(family);
    auto m = trained(family);
    const auto [bt, start] = sources_for(family);
    attn::tape t;
    attn::beam_config cfg;
    cfg.beam_size = 1;
    std::size_t ended = 0;
    for (const auto& h : attn::beam_decode(*m, t, bt, 12, cfg, start)) ended += h.at(0).ended;
    MESSAGE(std::string(family), ": beam 1 ended ", ended, " of ", bt.size);
    CHECK(ended > 0);
    if (std::string(family) == "lm") continue;
    cfg.beam_size = 4;
    cfg.n_best = 4;
    cfg.length_penalty = 0.0f;
    std::size_t all = 0;
    ended = 0;
    for (const auto& hs : attn::beam_decode(*m, t, bt, 5, cfg))
      for (const auto& h : hs) {
        ++all;
        ended += h.ended;
      }
    MESSAGE(std::string(family), ": 4-best at max_len 5 ended ", ended, " of ", all);
    CHECK(ended > 0);  // both kinds of hypotheses: ended with <eos> and cut at max_len
    CHECK(ended < all);
  }
}

// ---- sampling ----

TEST_CASE("top-p keeps the smallest most-probable set whose mass reaches p, then renormalises") {
  const std::vector<float> lp = {std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f)};  // [V]
  std::vector<std::int32_t> kept;
  std::vector<float> probs;
  attn::sampling_scratch scratch;
  attn::sampling_config cfg;
  auto run = [&](float p, std::size_t k = 0, float temperature = 1.0f) {
    cfg.top_p = p;
    cfg.top_k = k;
    cfg.temperature = temperature;
    attn::sampling_distribution(lp.data(), lp.size(), cfg, kept, probs, scratch);
    REQUIRE(kept.size() == probs.size());
    CHECK(std::accumulate(probs.begin(), probs.end(), 0.0) == doctest::Approx(1.0));
  };
  run(0.4f);
  CHECK(kept == tokens{1});
  run(0.75f);  // 0.5 < 0.75 <= 0.5 + 0.3
  CHECK(kept == tokens{1, 3});
  CHECK(probs[0] == doctest::Approx(0.625));
  CHECK(probs[1] == doctest::Approx(0.375));
  run(0.9f);
  CHECK(kept == tokens{1, 3, 0});
  run(0.99f);
  CHECK(kept == tokens{1, 3, 0, 2});
  run(1.0f);  // off: every token, in id order
  CHECK(kept == tokens{0, 1, 2, 3});
  CHECK(probs[1] == doctest::Approx(0.5));
  run(1.0f, 2);  // top-k
  CHECK(kept == tokens{1, 3});
  CHECK(probs[0] == doctest::Approx(0.625));
  run(0.9f, 3);  // top-k first, then top-p of the renormalised rest: 0.5/0.95 + 0.3/0.95 = 0.84 < 0.9
  CHECK(kept == tokens{1, 3, 0});
  run(1.0f, 0, 2.0f);  // temperature 2: p ∝ sqrt(p)
  const double z = std::sqrt(0.15) + std::sqrt(0.5) + std::sqrt(0.05) + std::sqrt(0.3);
  CHECK(probs[1] == doctest::Approx(std::sqrt(0.5) / z));
  run(1.0f, 0, 0.0f);  // temperature 0: the argmax
  CHECK(kept == tokens{1});
  for (const float tiny : {1e-30f, 1e-39f, 1e-45f}) {  // 1/T overflows below ~3e-39: the argmax too
    CAPTURE(tiny);
    run(1.0f, 0, tiny);  // all the mass on token 1 (kept alone, or with the rest at 0)
    const auto heaviest = std::max_element(probs.begin(), probs.end()) - probs.begin();
    CHECK(kept[static_cast<std::size_t>(heaviest)] == 1);
    CHECK(probs[static_cast<std::size_t>(heaviest)] == doctest::Approx(1.0));
    run(0.5f, 3, tiny);
    CHECK(kept == tokens{1});
  }
  CHECK_THROWS_AS(run(1.5f), attn::error);
  CHECK_THROWS_AS(run(0.0f), attn::error);
  CHECK_THROWS_AS(run(1.0f, 0, -1.0f), attn::error);
}

TEST_CASE("pick_token walks the cumulative distribution and never returns a token of probability 0") {
  const tokens kept = {7, 8, 9};
  CHECK(attn::pick_token(kept, {0.25f, 0.75f, 0.0f}, 0.0) == 7);
  CHECK(attn::pick_token(kept, {0.25f, 0.75f, 0.0f}, 0.3) == 8);
  CHECK(attn::pick_token(kept, {0.25f, 0.74f, 0.0f}, 0.999) == 8);  // rounding slack: the last possible one
  CHECK(attn::pick_token(kept, {0.25f, 0.74f, NAN}, 0.999) == 8);   // NaN is no probability
  // frequencies follow the distribution
  attn::rng gen = attn::sampling_stream(1, 0);
  std::vector<int> counts(3);
  for (int i = 0; i < 20000; ++i)
    ++counts[static_cast<std::size_t>(attn::pick_token(kept, {0.2f, 0.5f, 0.3f}, gen.uniform()) - 7)];
  CHECK(counts[0] / 20000.0 == doctest::Approx(0.2).epsilon(0.1));
  CHECK(counts[1] / 20000.0 == doctest::Approx(0.5).epsilon(0.05));
  CHECK(counts[2] / 20000.0 == doctest::Approx(0.3).epsilon(0.1));
}

TEST_CASE("sampling is deterministic per seed and line, whatever the batch; seeds differ") {
  table_model m;  // flat: six words of 0.15 and <eos> 0.1 after any prefix
  m.fallback = {{4, 0.15}, {5, 0.15}, {6, 0.15}, {7, 0.15}, {8, 0.15}, {9, 0.15}, {eos_id, 0.1}};
  attn::tape t;
  const attn::batch all = keys_batch({1, 1, 1, 1, 1});
  const std::vector<std::uint64_t> streams = {10, 11, 12, 13, 14};
  attn::sampling_config cfg;
  cfg.seed = 7;
  const auto first = attn::sample_decode(m, t, all, 30, cfg, streams);
  CHECK(attn::sample_decode(m, t, all, 30, cfg, streams) == first);
  std::size_t produced = 0;
  for (std::size_t i = 0; i < all.size; ++i) {
    CHECK(attn::sample_decode(m, t, keys_batch({1}), 30, cfg, {streams[i]})[0] == first[i]);  // alone
    produced += first[i].size();
  }
  CHECK(produced > 10);
  CHECK(first[0] != first[1]);  // lines draw from different streams
  cfg.seed = 8;
  CHECK(attn::sample_decode(m, t, all, 30, cfg, streams) != first);
  CHECK_THROWS_AS(attn::sample_decode(m, t, all, 30, cfg, {1, 2}), attn::error);
}
