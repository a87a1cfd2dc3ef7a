#pragma once
// Tiny configurations and padded batches for the model-family tests.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/gradcheck.h"
#include "models/model.h"
#include "train/optimizer.h"

namespace attn::models_testing {

constexpr std::size_t vocab = 11;  // 0 pad, 1 unk, 2 bos, 3 eos, 4..10 words

inline model_config tiny_config(const std::string& family) {
  model_config c;
  c.family = family;
  c.layers = 1;
  c.d_model = 8;
  c.heads = 2;
  c.ff = 12;
  c.embed = 6;
  c.hidden = 8;
  c.dropout = 0.0f;
  c.max_len = 32;
  c.src_vocab = c.tgt_vocab = vocab;
  c.num_classes = 3;
  return c;
}

// Seq2seq pairs: targets are the reversed sources. lengths: source lengths per item (padded to the max).
inline batch seq2seq_batch(const std::vector<std::vector<std::int32_t>>& sources) {
  batch b;
  b.size = sources.size();
  for (const auto& s : sources) b.src_len = std::max(b.src_len, s.size());
  b.tgt_len = b.src_len + 1;
  b.src.assign(b.size * b.src_len, 0);
  b.tgt_in.assign(b.size * b.tgt_len, 0);
  b.tgt_out.assign(b.size * b.tgt_len, 0);
  for (std::size_t i = 0; i < b.size; ++i) {
    const auto& s = sources[i];
    const std::size_t n = s.size();
    b.src_lengths.push_back(static_cast<std::int32_t>(n));
    b.tgt_lengths.push_back(static_cast<std::int32_t>(n + 1));
    b.labels.push_back(static_cast<std::int32_t>(s[0] % 3));
    for (std::size_t t = 0; t < n; ++t) b.src[i * b.src_len + t] = s[t];
    b.tgt_in[i * b.tgt_len] = 2;
    for (std::size_t t = 0; t < n; ++t) {
      b.tgt_in[i * b.tgt_len + t + 1] = s[n - 1 - t];
      b.tgt_out[i * b.tgt_len + t] = s[n - 1 - t];
    }
    b.tgt_out[i * b.tgt_len + n] = 3;
  }
  return b;
}

// lm batch: src = <bos> x_1 .. x_n, tgt_out = x_1 .. x_n <eos> (padded).
inline batch lm_batch(const std::vector<std::vector<std::int32_t>>& texts) {
  batch b;
  b.size = texts.size();
  for (const auto& s : texts) b.src_len = std::max(b.src_len, s.size() + 1);
  b.tgt_len = b.src_len;
  b.src.assign(b.size * b.src_len, 0);
  b.tgt_out.assign(b.size * b.src_len, 0);
  for (std::size_t i = 0; i < b.size; ++i) {
    const auto& s = texts[i];
    b.src_lengths.push_back(static_cast<std::int32_t>(s.size() + 1));
    b.src[i * b.src_len] = 2;
    for (std::size_t t = 0; t < s.size(); ++t) {
      b.src[i * b.src_len + t + 1] = s[t];
      b.tgt_out[i * b.src_len + t] = s[t];
    }
    b.tgt_out[i * b.src_len + s.size()] = 3;
  }
  b.tgt_lengths = b.src_lengths;
  return b;
}

inline const std::vector<std::vector<std::int32_t>> small_data = {{4, 5, 6}, {7, 8}};
inline const std::vector<std::vector<std::int32_t>> overfit_data = {{4, 5, 6, 7}, {8, 9, 10},   {5, 5, 9},
                                                                    {10, 4},      {6, 8, 7, 9}, {9, 4, 10, 5}};

// Gradient check of the whole loss (label smoothing 0.1, dropout masks reseeded per evaluation).
inline void check_loss_gradients(model& m, const batch& b) {
  attn::testing::gradcheck_options opt;
  opt.max_per_param = 12;
  attn::testing::check_gradients(
      m.params(),
      [&](tape& t) {
        rng g(5);
        return m.loss(t, b, g, 0.1f).loss;
      },
      1e-2, opt);
}

// Items of very different lengths: their batch is over half padding.
inline const std::vector<std::vector<std::int32_t>> padded_data = {{4, 5, 6, 7, 8, 9}, {7, 8}, {9}, {10, 4, 6}};

// A padded batch's loss and gradients (no dropout) against its items' one at a time, which have no
// padding: the mean loss over the batch's tokens is the token-weighted mean of the items' (the
// models that pack rows skip the padding; none may let it change the result).
template <typename MakeBatch>
void check_padding_changes_nothing(model& m, MakeBatch make_batch,
                                   const std::vector<std::vector<std::int32_t>>& items) {
  auto gradients = [&](const batch& b, double weight, std::vector<matrix>& into, double& tokens) {
    m.params().zero_grad();
    tape t;
    rng g(1);
    loss_result r = m.loss(t, b, g, 0.1f);
    t.backward(r.loss);
    const auto ps = m.params().all();
    into.resize(ps.size());
    for (std::size_t i = 0; i < ps.size(); ++i) {
      if (into[i].size() != ps[i]->grad.size()) into[i] = xt::zeros_like(ps[i]->grad);
      into[i] += static_cast<float>(weight * static_cast<double>(r.tokens)) * ps[i]->grad;
    }
    tokens = static_cast<double>(r.tokens);
    return static_cast<double>(r.loss.value()(0, 0)) * tokens;
  };
  std::vector<matrix> whole, items_sum;
  double total = 0.0, item_tokens = 0.0, item_sum = 0.0;
  const double whole_sum = gradients(make_batch(items), 1.0, whole, total);
  for (std::size_t i = 0; i < whole.size(); ++i) whole[i] /= static_cast<float>(total);
  for (const auto& item : items) item_sum += gradients(make_batch({item}), 1.0 / total, items_sum, item_tokens);
  CHECK(whole_sum == doctest::Approx(item_sum).epsilon(1e-5));
  for (std::size_t i = 0; i < whole.size(); ++i) {
    INFO("parameter " << m.params().all()[i]->name);
    CHECK(xt::amax(xt::abs(whole[i] - items_sum[i]))() <= 1e-5f + 1e-4f * xt::amax(xt::abs(items_sum[i]))());
  }
}

// Adam on one batch; returns the final loss.
inline float overfit(model& m, const batch& b, int steps, float lr = 1e-2f) {
  optimizer_config oc;
  oc.kind = "adam";
  optimizer opt(oc);
  tape t;
  rng g(3);
  float last = 0.0f;
  for (int s = 0; s < steps; ++s) {
    t.reset();
    m.params().zero_grad();
    loss_result r = m.loss(t, b, g);
    last = r.loss.value()(0, 0);
    t.backward(r.loss);
    opt.step(m.params(), lr);
  }
  return last;
}

// logits [rows, V] and log_probs [rows, V]: each row of log_probs is its logits' log-softmax
// (computed here in double).
inline void check_log_softmax_of(const matrix& logits, const matrix& log_probs) {
  REQUIRE(logits.shape() == log_probs.shape());
  const std::size_t V = cols(logits);
  for (std::size_t i = 0; i < rows(logits); ++i) {
    double m = logits(i, 0), s = 0.0;
    for (std::size_t v = 0; v < V; ++v) m = std::max(m, static_cast<double>(logits(i, v)));
    for (std::size_t v = 0; v < V; ++v) s += std::exp(logits(i, v) - m);
    for (std::size_t v = 0; v < V; ++v)
      CHECK(log_probs(i, v) == doctest::Approx(logits(i, v) - m - std::log(s)).epsilon(1e-5).scale(1.0));
  }
}

// Teacher-forced decode_step log-probs against the full forward's, at every valid target position;
// decode_step_logits, fed the same, gives the logits of those log-probs.
// epsilon: how far a step's log-probs may be from the teacher-forced ones (relative, doctest::Approx)
inline void check_incremental_decoding(model& m, const batch& b, double epsilon = 1e-4) {
  tape t;
  const matrix full = m.log_probs(t, b);
  t.reset();
  m.start_decoding(t, b);
  const std::size_t V = cols(full);
  std::size_t compared = 0;
  std::vector<matrix> steps;
  for (std::size_t s = 0; s < b.tgt_len; ++s) {
    std::vector<std::int32_t> last(b.size);
    for (std::size_t i = 0; i < b.size; ++i) last[i] = b.tgt_in[i * b.tgt_len + s];
    t.reset();
    const matrix step = m.decode_step(t, last);
    REQUIRE(rows(step) == b.size);
    REQUIRE(cols(step) == V);
    for (std::size_t i = 0; i < b.size; ++i) {
      if (s >= static_cast<std::size_t>(b.tgt_lengths[i])) continue;
      for (std::size_t v = 0; v < V; ++v) {
        CHECK(step(i, v) == doctest::Approx(full(i * b.tgt_len + s, v)).epsilon(epsilon).scale(1.0));
        ++compared;
      }
    }
    steps.push_back(step);
  }
  CHECK(compared > 0);
  t.reset();
  m.start_decoding(t, b);
  for (std::size_t s = 0; s < b.tgt_len; ++s) {
    std::vector<std::int32_t> last(b.size);
    for (std::size_t i = 0; i < b.size; ++i) last[i] = b.tgt_in[i * b.tgt_len + s];
    t.reset();
    check_log_softmax_of(m.decode_step_logits(t, last), steps[s]);
  }
}

}  // namespace attn::models_testing

namespace attn::models_testing {

// After two steps, reorder_decoding({1, 0, 0}) continues as if decoding had started from a batch
// holding items 1, 0, 0: the next step's rows equal the corresponding rows of the original decoding.
inline void check_reorder(model& m, const batch& b, const std::vector<std::vector<std::int32_t>>& feed) {
  tape t;
  m.start_decoding(t, b);
  std::vector<matrix> plain;
  for (const auto& f : feed) {
    t.reset();
    plain.push_back(m.decode_step(t, f));
  }
  t.reset();
  m.start_decoding(t, b);
  for (std::size_t s = 0; s + 1 < feed.size(); ++s) {
    t.reset();
    m.decode_step(t, feed[s]);
  }
  const std::vector<std::int32_t> order = {1, 0, 0};
  m.reorder_decoding(order);
  std::vector<std::int32_t> last;
  for (std::int32_t i : order) last.push_back(feed.back()[static_cast<std::size_t>(i)]);
  t.reset();
  const matrix step = m.decode_step(t, last);
  REQUIRE(rows(step) == 3);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t v = 0; v < cols(step); ++v)
      CHECK(step(r, v) == doctest::Approx(plain.back()(static_cast<std::size_t>(order[r]), v)).epsilon(1e-5));
  CHECK_THROWS_AS(m.reorder_decoding({7}), error);
}

}  // namespace attn::models_testing
