#include "decode/beam.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <xsimd/xsimd.hpp>

#include "core/error.h"
#include "core/threads.h"
#include "decode/forbidden_tokens.h"
#include "text/special_tokens.h"

namespace attn {

namespace {

// Scores are summed in double: a float sum could round two different next-token log-probs of one
// row to the same value and break beam 1 == greedy on a near tie.
struct candidate {
  double score;        // summed log-prob of the extended hypothesis
  std::int32_t index;  // row-in-sentence * V + token
};

// Candidates ranked by score, ties to the lower index (the lower row, then the lower token id),
// so that beam 1 breaks ties like greedy's first-maximum argmax.
bool better(const candidate& a, const candidate& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

// The best score a live hypothesis (summed log-prob lp over len tokens, no <eos> yet) can still reach.
// Its further tokens only lower lp, and it ends with more than len tokens. A <= 0: exact,
// lp / (len + 1)^A. A > 0: a longer hypothesis could in principle overtake (its later tokens being
// more probable than its average so far); like the usual beam search (Hugging Face's default) we do
// not wait for that and take its score as if it ended now, lp / len^A, which is what makes beam 1
// exactly greedy.
float live_bound(double lp, std::size_t len, float length_penalty) {
  return beam_score(static_cast<float>(lp), length_penalty > 0.0f ? len : len + 1, length_penalty);
}

// A float below which a log-prob x cannot make base + x (in double) beat `worst`: their
// difference, less a slack far above the roundings of the float conversion (2^-24 relative) and
// of the double sum, so that the filter it makes skips only what the exact test would reject.
float beat_bound(double worst, double base) {
  const double slack = 1e-6 * (1.0 + std::abs(worst) + std::abs(base));
  return static_cast<float>(worst - base - slack);
}

// The best k of one sentence's extensions, best first, into top: its rows [begin, end) of
// logp [rows, V] (log-probs, forbidden tokens at -inf), each row's summed log-prob in lp. A bounded
// heap; once it holds k, a row is scanned a SIMD batch at a time for values that could beat its
// k-th best (beat_bound), and only those take the exact test, in index order as before. Most of
// a row's V values cost a vector compare.
void best_extensions(const matrix& logp, const std::vector<double>& lp, std::size_t begin, std::size_t end,
                     std::size_t k, std::vector<candidate>& top) {
  using batch = xsimd::batch<float>;
  constexpr std::size_t W = batch::size;
  const std::size_t V = cols(logp);
  k = std::min(k, (end - begin) * V);
  top.clear();
  for (std::size_t r = begin; r < end; ++r) {
    const double base = lp[r];
    const float* row = logp.data() + r * V;  // [V]
    const std::int32_t offset = static_cast<std::int32_t>((r - begin) * V);
    auto consider = [&](std::size_t v) {
      if (row[v] == -std::numeric_limits<float>::infinity()) return;  // forbidden: never a candidate
      const candidate c{base + row[v], offset + static_cast<std::int32_t>(v)};
      if (top.size() < k) {
        top.push_back(c);
        std::push_heap(top.begin(), top.end(), better);
      } else if (c.score > top.front().score) {  // equal scores: the earlier index stays
        std::pop_heap(top.begin(), top.end(), better);
        top.back() = c;
        std::push_heap(top.begin(), top.end(), better);
      }
    };
    std::size_t v = 0;
    for (; v < V && top.size() < k; ++v) consider(v);
    if (v == V) continue;
    float bound = beat_bound(top.front().score, base);
    for (; v + W <= V; v += W) {
      if (!xsimd::any(batch::load_unaligned(row + v) >= batch(bound))) continue;
      for (std::size_t u = v; u < v + W; ++u) consider(u);
      bound = beat_bound(top.front().score, base);
    }
    for (; v < V; ++v) consider(v);
  }
  std::sort_heap(top.begin(), top.end(), better);  // best first
}

}  // namespace

float beam_score(float log_prob, std::size_t len, float length_penalty) {
  if (length_penalty == 0.0f || len == 0) return log_prob;
  return log_prob / std::pow(static_cast<float>(len), length_penalty);
}

std::vector<std::vector<hypothesis>> beam_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                 const beam_config& cfg, std::int32_t start_token) {
  const std::size_t K = cfg.beam_size;
  if (K == 0) throw error("beam search: the beam size must be at least 1");
  if (cfg.n_best == 0 || cfg.n_best > K)
    throw error("beam search: n_best must be between 1 and the beam size " + std::to_string(K));
  std::vector<std::vector<hypothesis>> finished(b.size);
  if (max_len == 0 || b.size == 0) {
    for (auto& f : finished) f.emplace_back();
    return finished;
  }
  no_grad off(t);
  t.reset();
  m.expect_decoding(K, max_len);
  m.start_decoding(t, b);

  // Live hypotheses, one per model row, grouped by sentence in sentence order. All have `step`
  // tokens; hist holds them row-major with stride max_len. The next_* buffers are the following
  // step's, swapped in after each step, so the loop reuses its memory.
  std::vector<std::int32_t> last(b.size, start_token), sent(b.size), hist(b.size * max_len);
  std::vector<double> lp(b.size, 0.0);
  for (std::size_t i = 0; i < b.size; ++i) sent[i] = static_cast<std::int32_t>(i);
  std::vector<std::int32_t> order, next_last, next_sent, next_hist;
  std::vector<double> next_lp;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // each live sentence's rows [begin, end)
  std::vector<std::vector<candidate>> tops;                // per span: its best extensions, best first
  std::vector<float> best_finished(b.size, -INFINITY);
  // With cfg.alignment: per step, each row's head-mean step attention [rows][S], and the row of the
  // step before each row descends from (that step's order): a finished hypothesis traces its own.
  std::vector<std::vector<std::vector<float>>> step_weights;
  std::vector<std::vector<std::int32_t>> parents;

  auto finish = [&](std::size_t s, std::size_t row, std::int32_t token, double score, std::size_t step) {
    hypothesis h;
    const std::int32_t* tokens = hist.data() + row * max_len;
    h.tokens.assign(tokens, tokens + step);
    h.ended = token == eos_id;
    if (!h.ended) h.tokens.push_back(token);
    h.log_prob = static_cast<float>(score);
    h.score = beam_score(h.log_prob, step + 1, cfg.length_penalty);
    if (cfg.alignment) {  // one row per step: its tokens, and its <eos> if it ended
      h.alignment.resize(step + 1);
      for (std::size_t at = step + 1, r = row; at-- > 0;) {
        h.alignment[at] = step_weights[at][r];
        if (at > 0) r = static_cast<std::size_t>(parents[at - 1][r]);
      }
    }
    best_finished[s] = std::max(best_finished[s], h.score);
    finished[s].push_back(std::move(h));
  };

  for (std::size_t step = 0; step < max_len && !last.empty(); ++step) {
    // the model keeps its caches outside the tape
    t.reset();
    matrix logp = m.decode_step(t, last);  // [rows, V]
    forbid_unproducible(logp);
    const std::size_t rows = last.size(), V = cols(logp);
    if (attn::rows(logp) != rows) throw error("beam search: decode_step returned the wrong number of rows");
    if (cfg.alignment) {
      const matrix& w = m.step_attention();
      auto& here = step_weights.emplace_back(rows);
      for (std::size_t r = 0; r < rows; ++r)
        here[r] = head_mean(w, rows, r, source_length(b, static_cast<std::size_t>(sent[r])));
    }
    const bool last_step = step + 1 == max_len;  // every selected candidate ends here, as it is
    order.clear();
    next_last.clear();
    next_sent.clear();
    next_lp.clear();
    // at most K live hypotheses per sentence (not per row: rows * K * max_len grew as K^2)
    next_hist.resize(std::max(next_hist.size(), b.size * K * max_len));
    spans.clear();
    for (std::size_t begin = 0; begin < rows;) {
      std::size_t end = begin + 1;
      while (end < rows && sent[end] == sent[begin]) ++end;
      spans.emplace_back(begin, end);
      begin = end;
    }
    // Each sentence's best extensions, the sentences on the threads (one sentence on one thread:
    // the same result whichever takes it); then, in sentence order, which finish and which live.
    if (tops.size() < spans.size()) tops.resize(spans.size());
    const std::size_t k_best = (last_step ? 1 : 2) * K;
    parallel_for(spans.size(), std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(K * V, 1)),
                 [&](std::size_t first, std::size_t past) {
                   for (std::size_t i = first; i < past; ++i)
                     best_extensions(logp, lp, spans[i].first, spans[i].second, k_best, tops[i]);
                 });
    for (std::size_t i = 0; i < spans.size(); ++i) {
      const auto [begin, end] = spans[i];
      const std::size_t s = static_cast<std::size_t>(sent[begin]);
      const std::vector<candidate>& heap = tops[i];

      // Ending candidates among the best K finish; the best K others stay live.
      std::size_t live = 0;
      for (std::size_t j = 0; j < heap.size(); ++j) {
        const std::size_t r = begin + static_cast<std::size_t>(heap[j].index) / V;
        const std::int32_t token = heap[j].index % static_cast<std::int32_t>(V);
        if (last_step || token == eos_id) {
          if (j < K) finish(s, r, token, heap[j].score, step);
          continue;
        }
        if (live == K) continue;
        const std::size_t to = order.size();
        order.push_back(static_cast<std::int32_t>(r));
        next_last.push_back(token);
        next_sent.push_back(static_cast<std::int32_t>(s));
        next_lp.push_back(heap[j].score);
        std::copy_n(hist.data() + r * max_len, step, next_hist.data() + to * max_len);
        next_hist[to * max_len + step] = token;
        ++live;
      }
      // Done: K finished and the best live hypothesis (the first) cannot beat the best finished one.
      const double best_live = live > 0 ? next_lp[order.size() - live] : 0.0;
      const bool done = live == 0 || (finished[s].size() >= K &&
                                      live_bound(best_live, step + 1, cfg.length_penalty) <= best_finished[s]);
      if (done) {  // its rows leave the model state
        order.resize(order.size() - live);
        next_last.resize(order.size());
        next_sent.resize(order.size());
        next_lp.resize(order.size());
      }
    }
    if (cfg.alignment) parents.push_back(order);
    bool identity = order.size() == rows;
    for (std::size_t i = 0; identity && i < order.size(); ++i) identity = order[i] == static_cast<std::int32_t>(i);
    if (!order.empty() && !identity) m.reorder_decoding(order);
    last.swap(next_last);
    sent.swap(next_sent);
    lp.swap(next_lp);
    hist.swap(next_hist);
  }

  for (auto& f : finished) {
    std::stable_sort(f.begin(), f.end(), [](const hypothesis& a, const hypothesis& c) { return a.score > c.score; });
    if (f.size() > cfg.n_best) f.resize(cfg.n_best);
  }
  return finished;
}

}  // namespace attn
