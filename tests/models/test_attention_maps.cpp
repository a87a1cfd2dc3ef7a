// model::attention_maps for every family: which modules, shapes, rows that are distributions over
// the valid keys (padding and the causal future exactly 0), and the same weights for an item
// whether it is padded in a batch or alone; and keep_step_attention, the step weights decoding keeps
// for word alignments.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model_helpers.h"
#include "text/special_tokens.h"

using namespace attn;
using namespace attn::models_testing;

namespace {

std::size_t valid_length(const batch& b, sequence_side side, std::size_t item) {
  const auto& lengths = side == sequence_side::source ? b.src_lengths : b.tgt_lengths;
  return static_cast<std::size_t>(lengths.at(item));
}

// Rows of every map: valid queries sum to 1 over valid keys; invalid keys (and, for causal
// self-attention, future keys) are exactly 0.
void check_distributions(const std::vector<attention_map>& maps, const batch& b, bool causal_self) {
  for (const attention_map& m : maps) {
    CAPTURE(m.module);
    REQUIRE(m.weights.shape()[0] == b.size * m.heads * m.q_len);
    REQUIRE(m.weights.shape()[1] == m.k_len);
    for (std::size_t i = 0; i < b.size; ++i) {
      const std::size_t nq = valid_length(b, m.queries, i), nk = valid_length(b, m.keys, i);
      for (std::size_t h = 0; h < m.heads; ++h)
        for (std::size_t q = 0; q < nq; ++q) {
          const float* row = m.weights.data() + ((i * m.heads + h) * m.q_len + q) * m.k_len;
          double sum = 0;
          for (std::size_t k = 0; k < m.k_len; ++k) {
            const bool future = causal_self && m.kind == "self" && k > q;
            if (k >= nk || future)
              CHECK(row[k] == 0.0f);
            else
              CHECK(row[k] >= 0.0f);
            sum += row[k];
          }
          CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
        }
    }
  }
}

// Item `item` of the padded batch's maps equals the maps of that item alone (unpadded batch).
void check_padding_invariance(const std::vector<attention_map>& padded, const batch& b, std::size_t item,
                              const std::vector<attention_map>& alone) {
  REQUIRE(padded.size() == alone.size());
  for (std::size_t n = 0; n < padded.size(); ++n) {
    const attention_map &p = padded[n], &a = alone[n];
    CAPTURE(p.module);
    CHECK(p.module == a.module);
    const std::size_t nq = valid_length(b, p.queries, item), nk = valid_length(b, p.keys, item);
    REQUIRE(a.q_len == nq);
    REQUIRE(a.k_len == nk);
    for (std::size_t h = 0; h < p.heads; ++h)
      for (std::size_t q = 0; q < nq; ++q)
        for (std::size_t k = 0; k < nk; ++k)
          CHECK(p.weights((item * p.heads + h) * p.q_len + q, k) ==
                doctest::Approx(a.weights(h * a.q_len + q, k)).epsilon(1e-4));
  }
}

std::vector<std::string> modules(const std::vector<attention_map>& maps) {
  std::vector<std::string> out;
  for (const auto& m : maps) out.push_back(m.module + "/" + m.kind);
  return out;
}

}  // namespace

TEST_CASE("attention_maps: transformer encoder self, decoder self (causal) and cross, every layer") {
  model_config c = tiny_config("transformer");
  c.layers = 2;
  rng gen(4);
  auto m = make_model(c, gen);
  const batch b = seq2seq_batch(small_data);
  tape t;
  const auto maps = m->attention_maps(t, b);
  CHECK(modules(maps) == std::vector<std::string>{"encoder.layers.0.attn/self", "encoder.layers.1.attn/self",
                                                  "decoder.layers.0.self_attn/self", "decoder.layers.0.cross_attn/cross",
                                                  "decoder.layers.1.self_attn/self",
                                                  "decoder.layers.1.cross_attn/cross"});
  CHECK(maps[3].queries == sequence_side::target);
  CHECK(maps[3].keys == sequence_side::source);
  CHECK(maps[3].heads == 2);
  check_distributions({maps[0], maps[1]}, b, false);
  check_distributions({maps[2], maps[3], maps[4], maps[5]}, b, true);
  t.reset();
  check_padding_invariance(maps, b, 1, m->attention_maps(t, seq2seq_batch({small_data[1]})));
  // keeping weights is switched off again: later forwards are unaffected
  t.reset();
  const matrix before = m->log_probs(t, b);
  t.reset();
  m->attention_maps(t, b);
  t.reset();
  CHECK(m->log_probs(t, b) == before);
}

TEST_CASE("attention_maps: rnn, one cross map per attention kind, step by step for additive") {
  for (const char* kind : {"additive", "dot", "general", "scaled-dot"}) {
    CAPTURE(kind);
    model_config c = tiny_config("rnn");
    c.attention = kind;
    rng gen(6);
    auto m = make_model(c, gen);
    const batch b = seq2seq_batch(small_data);
    tape t;
    const auto maps = m->attention_maps(t, b);
    REQUIRE(maps.size() == 1);
    CHECK(maps[0].module == "attention");
    CHECK(maps[0].kind == "cross");
    CHECK(maps[0].q_len == b.tgt_len);
    check_distributions(maps, b, false);
    t.reset();
    check_padding_invariance(maps, b, 1, m->attention_maps(t, seq2seq_batch({small_data[1]})));
  }
}

TEST_CASE("attention_maps: lm (causal) and classifier self-attention") {
  {
    model_config c = tiny_config("lm");
    c.layers = 2;
    rng gen(7);
    auto m = make_model(c, gen);
    const batch b = lm_batch(small_data);
    tape t;
    const auto maps = m->attention_maps(t, b);
    CHECK(modules(maps) == std::vector<std::string>{"layers.0.attn/self", "layers.1.attn/self"});
    check_distributions(maps, b, true);
    t.reset();
    check_padding_invariance(maps, b, 1, m->attention_maps(t, lm_batch({small_data[1]})));
  }
  {
    rng gen(8);
    auto m = make_model(tiny_config("classifier"), gen);
    const batch b = seq2seq_batch(small_data);
    tape t;
    const auto maps = m->attention_maps(t, b);
    CHECK(modules(maps) == std::vector<std::string>{"encoder.layers.0.attn/self"});
    check_distributions(maps, b, false);
    t.reset();
    check_padding_invariance(maps, b, 1, m->attention_maps(t, seq2seq_batch({small_data[1]})));
  }
}

TEST_CASE("keep_step_attention: only when asked, decode_step keeps one layer's cross weights [rows*H, S]") {
  const batch b = seq2seq_batch({{4, 5, 6}, {7}, {8, 9}});  // padded sources: 3, 1, 2 valid positions
  for (const char* family : {"transformer", "rnn"}) {
    CAPTURE(family);
    model_config c = tiny_config(family);
    c.layers = 2;
    rng gen(4);
    auto m = make_model(c, gen);
    const std::size_t H = std::string(family) == "rnn" ? 1 : c.heads;
    tape t;
    m->start_decoding(t, b);
    m->decode_step(t, {bos_id, bos_id, bos_id});
    CHECK(rows(m->step_attention()) == 0);  // nothing kept by default
    m->keep_step_attention(true, 0);
    m->reorder_decoding({2, 0});  // rows leave: the kept weights follow the rows fed
    m->decode_step(t, {5, 6});
    const matrix& w = m->step_attention();
    REQUIRE(rows(w) == 2 * H);
    REQUIRE(cols(w) == b.src_len);
    const std::size_t valid[] = {2, 3};  // rows 0, 1 are items 2, 0
    for (std::size_t r = 0; r < 2 * H; ++r) {
      double sum = 0;
      for (std::size_t k = 0; k < b.src_len; ++k) {
        if (k >= valid[r / H]) CHECK(w(r, k) == 0.0f);
        sum += w(r, k);
      }
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    }
    m->keep_step_attention(false);
    CHECK(rows(m->step_attention()) == 0);
    CHECK_THROWS_AS(m->keep_step_attention(true, std::string(family) == "rnn" ? 1 : 2), error);
  }
  for (const char* family : {"lm", "classifier"}) {
    rng gen(4);
    CHECK_THROWS_AS(make_model(tiny_config(family), gen)->keep_step_attention(true, -1), error);
  }
}
