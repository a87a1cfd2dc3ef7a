// Word alignments (lib/decode/alignment.h): the extraction and printing on hand-made weights, and
// on tiny real models the alignments greedy and beam search record: one row per target position,
// each the teacher-forced cross-attention of the chosen layer averaged over heads.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "decode/alignment.h"
#include "decode/beam.h"
#include "decode/greedy.h"
#include "decode/sampling.h"
#include "models/model_helpers.h"

using namespace attn;
using namespace attn::models_testing;

namespace {

using tokens = std::vector<std::int32_t>;

matrix from_rows(const std::vector<std::vector<float>>& rows) {
  matrix m = matrix::from_shape({rows.size(), rows.at(0).size()});
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) m(r, c) = rows[r][c];
  return m;
}

// Sources of different lengths (padded), without targets.
batch sources() {
  batch bt = seq2seq_batch({{4, 5, 6, 7}, {10, 4}, {7, 7, 8}, {6}, {5, 9, 4, 8, 7}});
  bt.tgt_len = 0;
  bt.tgt_in.clear();
  bt.tgt_out.clear();
  bt.tgt_lengths.clear();
  return bt;
}

std::unique_ptr<model> random_model(const std::string& family, const std::string& attention = "") {
  model_config c = tiny_config(family);
  c.layers = 2;
  if (!attention.empty()) c.attention = attention;
  if (attention == "additive") c.heads = 1;
  rng gen(3);
  return make_model(c, gen);
}

// The cross-attention of `layer` averaged over heads, teacher-forced on hypothesis `out` of source
// item i (without padding): [out.size() + 1][its source length], the last row the <eos> step's.
soft_alignment teacher_forced(model& m, const batch& src, std::size_t i, const tokens& out, std::size_t layer) {
  batch one;
  one.size = 1;
  one.src_len = static_cast<std::size_t>(src.src_lengths[i]);
  one.src.assign(src.src.begin() + static_cast<std::ptrdiff_t>(i * src.src_len),
                 src.src.begin() + static_cast<std::ptrdiff_t>(i * src.src_len + one.src_len));
  one.src_lengths = {static_cast<std::int32_t>(one.src_len)};
  one.tgt_in = {bos_id};
  one.tgt_in.insert(one.tgt_in.end(), out.begin(), out.end());
  one.tgt_out = out;
  one.tgt_out.push_back(eos_id);
  one.tgt_len = one.tgt_in.size();
  one.tgt_lengths = {static_cast<std::int32_t>(one.tgt_len)};
  tape t;
  for (const attention_map& a : m.attention_maps(t, one)) {
    if (a.kind != "cross" || a.layer != layer) continue;
    // weights [H*Tq, Tk] of one item, row h*Tq + q (head-major, unlike a step's [rows*H, S])
    soft_alignment mean(a.q_len, std::vector<float>(a.k_len));
    for (std::size_t q = 0; q < a.q_len; ++q)
      for (std::size_t k = 0; k < a.k_len; ++k) {
        float sum = 0.0f;
        for (std::size_t h = 0; h < a.heads; ++h) sum += a.weights(h * a.q_len + q, k);
        mean[q][k] = sum / static_cast<float>(a.heads);
      }
    return mean;
  }
  FAIL("no cross-attention map of layer " << layer);
  return {};
}

// Recorded alignment `got` of hypothesis `out` (ended or not) of item i: a row per token and one for
// <eos> if it ended, each the teacher-forced weights over the item's own source positions.
void check_faithful(model& m, const batch& src, std::size_t i, const tokens& out, bool ended, const soft_alignment& got,
                    std::size_t layer) {
  CAPTURE(i);
  REQUIRE(got.size() == out.size() + (ended ? 1 : 0));
  const soft_alignment want = teacher_forced(m, src, i, out, layer);
  for (std::size_t q = 0; q < got.size(); ++q) {
    CAPTURE(q);
    REQUIRE(got[q].size() == static_cast<std::size_t>(src.src_lengths[i]));
    CHECK(std::accumulate(got[q].begin(), got[q].end(), 0.0) == doctest::Approx(1.0).epsilon(1e-4));
    for (std::size_t k = 0; k < got[q].size(); ++k) CHECK(got[q][k] == doctest::Approx(want[q][k]).epsilon(1e-4));
  }
}

}  // namespace

TEST_CASE("head_mean averages a row's heads and cuts the padded source positions") {
  // 2 rows of 2 heads over 3 source positions: rows r*H + h
  const matrix w = from_rows({{0.6f, 0.4f, 0.0f}, {0.0f, 0.5f, 0.5f}, {1.0f, 0.0f, 0.0f}, {0.5f, 0.5f, 0.0f}});
  const std::vector<float> row0 = head_mean(w, 2, 0, 3);
  REQUIRE(row0.size() == 3);
  CHECK(row0[0] == doctest::Approx(0.3));
  CHECK(row0[1] == doctest::Approx(0.45));
  CHECK(row0[2] == doctest::Approx(0.25));
  CHECK(head_mean(w, 2, 1, 2) == std::vector<float>{0.75f, 0.25f});
  CHECK(head_mean(w, 4, 3, 3) == std::vector<float>{0.5f, 0.5f, 0.0f});  // one head per row
  CHECK_THROWS_AS(head_mean(w, 3, 0, 3), error);                         // 4 rows are not 3 rows of H heads
  CHECK_THROWS_AS(head_mean(w, 2, 2, 3), error);                         // no row 2
  CHECK_THROWS_AS(head_mean(w, 2, 0, 4), error);                         // only 3 source positions
}

TEST_CASE("hard alignment: the argmax over the averaged heads, not over one head; first maximum on ties") {
  // head 0 prefers source 0 (0.6), but the mean prefers source 1 (0.45)
  const matrix w = from_rows({{0.6f, 0.4f, 0.0f}, {0.0f, 0.5f, 0.5f}});
  const soft_alignment a = {head_mean(w, 1, 0, 3)};
  CHECK(hard_alignment(a) == std::vector<std::pair<std::size_t, std::size_t>>{{1, 0}});
  CHECK(hard_alignment({{0.25f, 0.5f, 0.5f}}) == std::vector<std::pair<std::size_t, std::size_t>>{{1, 0}});
}

TEST_CASE("hard alignment text: Pharaoh src-tgt pairs sorted by source then target (Marian's order)") {
  const soft_alignment mirror = {{0.1f, 0.1f, 0.8f}, {0.1f, 0.8f, 0.1f}, {0.7f, 0.2f, 0.1f}, {0.6f, 0.1f, 0.3f}};
  CHECK(hard_alignment_text(mirror) == "0-2 0-3 1-1 2-0");
  CHECK(alignment_text(alignment_kind::hard, mirror) == "0-2 0-3 1-1 2-0");
  CHECK(hard_alignment_text({}) == "");
  CHECK(hard_alignment_text({{}, {1.0f}}) == "0-1");  // a row without source positions points nowhere
}

TEST_CASE("soft alignment text: a target position's weights comma-separated, positions space-separated") {
  const soft_alignment a = {{0.5f, 0.25f, 0.25f}, {1.0f, 0.0f, 1e-7f}};
  CHECK(soft_alignment_text(a) == "0.5,0.25,0.25 1,0,1e-07");
  CHECK(alignment_text(alignment_kind::soft, a) == "0.5,0.25,0.25 1,0,1e-07");
  CHECK(soft_alignment_text({}) == "");
  CHECK(alignment_text(alignment_kind::none, a) == "");
  CHECK(parse_alignment_kind("hard") == alignment_kind::hard);
  CHECK(parse_alignment_kind("soft") == alignment_kind::soft);
  CHECK_THROWS_AS(parse_alignment_kind("Hard"), error);
}

TEST_CASE("greedy and sampling record the step attention of the chosen layer, as teacher forcing computes it") {
  for (const char* family : {"transformer", "rnn"}) {
    for (const char* attention : {"", "additive"}) {
      if (std::string(family) == "transformer" && std::string(attention) == "additive") continue;
      CAPTURE(family);
      CAPTURE(attention);
      auto m = random_model(family, attention);
      const std::size_t layers = std::string(family) == "rnn" ? 1 : 2;
      const batch src = sources();
      for (long layer = -1; layer < static_cast<long>(layers); ++layer) {
        CAPTURE(layer);
        const std::size_t used = layer < 0 ? layers - 1 : static_cast<std::size_t>(layer);
        tape t;
        std::vector<soft_alignment> got;
        std::vector<tokens> hyps;
        {
          keeping_step_attention keep(*m, layer);
          hyps = greedy_decode(*m, t, src, 6, bos_id, &got);
        }
        CHECK(hyps == greedy_decode(*m, t, src, 6));  // recording changes nothing
        REQUIRE(got.size() == src.size);
        for (std::size_t i = 0; i < src.size; ++i)
          check_faithful(*m, src, i, hyps[i], hyps[i].size() < 6, got[i], used);
        sampling_config greedy_sampling;
        greedy_sampling.temperature = 0.0f;
        std::vector<soft_alignment> sampled;
        keeping_step_attention keep(*m, layer);
        CHECK(sample_decode(*m, t, src, 6, greedy_sampling, {0, 1, 2, 3, 4}, bos_id, &sampled) == hyps);
        CHECK(sampled == got);
      }
      CHECK(rows(m->step_attention()) == 0);  // nothing kept once the guards are gone
    }
  }
}

TEST_CASE("layers differ: the default is the last layer, another layer gives other weights") {
  auto m = random_model("transformer");
  const batch src = sources();
  tape t;
  auto aligned = [&](long layer) {
    std::vector<soft_alignment> got;
    keeping_step_attention keep(*m, layer);
    greedy_decode(*m, t, src, 6, bos_id, &got);
    return got;
  };
  CHECK(aligned(-1) == aligned(1));
  CHECK(aligned(0) != aligned(1));
  CHECK_THROWS_AS(m->keep_step_attention(true, 2), error);
  CHECK_THROWS_AS(random_model("rnn")->keep_step_attention(true, 1), error);
  CHECK_THROWS_AS(random_model("lm")->keep_step_attention(true, -1), error);  // no cross-attention
}

TEST_CASE("beam search: each n-best hypothesis carries the alignment of its own path; beam 1 is greedy's") {
  std::size_t ended = 0, cut = 0;  // hypotheses with an <eos> row, and cut at max_len without one
  for (const char* family : {"transformer", "rnn"}) {
    CAPTURE(family);
    auto m = random_model(family, std::string(family) == "rnn" ? "additive" : "");
    const batch src = sources();
    tape t;
    keeping_step_attention keep(*m, -1);
    beam_config cfg;
    cfg.beam_size = 3;
    cfg.n_best = 3;
    cfg.alignment = true;
    const auto hyps = beam_decode(*m, t, src, 6, cfg);
    const std::size_t last = std::string(family) == "rnn" ? 0 : 1;
    for (std::size_t i = 0; i < src.size; ++i)
      for (const hypothesis& h : hyps[i]) {
        check_faithful(*m, src, i, h.tokens, h.ended, h.alignment, last);
        ++(h.ended ? ended : cut);
      }
    cfg.alignment = false;
    for (const auto& per_item : beam_decode(*m, t, src, 6, cfg))
      for (const hypothesis& h : per_item) CHECK(h.alignment.empty());  // only when asked

    for (std::size_t i = 0; i < src.size; ++i) {  // one item alone: beam 1 feeds greedy's very rows
      batch one = src;
      one.size = 1;
      one.src_len = static_cast<std::size_t>(src.src_lengths[i]);
      one.src.assign(src.src.begin() + static_cast<std::ptrdiff_t>(i * src.src_len),
                     src.src.begin() + static_cast<std::ptrdiff_t>(i * src.src_len + one.src_len));
      one.src_lengths = {static_cast<std::int32_t>(one.src_len)};
      std::vector<soft_alignment> greedy;
      const auto g = greedy_decode(*m, t, one, 6, bos_id, &greedy);
      beam_config one_beam;
      one_beam.beam_size = 1;
      one_beam.alignment = true;
      const hypothesis h = beam_decode(*m, t, one, 6, one_beam).at(0).at(0);
      CHECK(h.tokens == g[0]);
      CHECK(h.alignment == greedy[0]);
    }
  }
  CHECK(ended > 0);  // both kinds were checked (with these seeds: 18 and 12)
  CHECK(cut > 0);
}
