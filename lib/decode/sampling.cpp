#include "decode/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "decode/forbidden_tokens.h"
#include "decode/running_items.h"
#include "text/special_tokens.h"

namespace attn {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform double in [0, 1) from 53 random bits.
double uniform01(rng& gen) {
  return static_cast<double>(gen.next_u64() >> 11) * (1.0 / 9007199254740992.0);
}

}  // namespace

rng sampling_stream(std::uint64_t seed, std::uint64_t stream) {
  return rng(splitmix64(splitmix64(seed) ^ stream));
}

// log_probs [V]
void sampling_distribution(const float* log_probs, std::size_t V, const sampling_config& cfg,
                           std::vector<std::int32_t>& tokens, std::vector<float>& probs, sampling_scratch& scratch) {
  if (!(cfg.temperature >= 0.0f) || std::isinf(cfg.temperature))
    throw error("sampling: the temperature must be a finite number >= 0");
  if (!(cfg.top_p > 0.0f && cfg.top_p <= 1.0f)) throw error("sampling: top-p must be in (0, 1]");
  tokens.clear();
  probs.clear();
  if (V == 0) return;
  const std::size_t top = static_cast<std::size_t>(std::max_element(log_probs, log_probs + V) - log_probs);
  // A temperature so small that 1/T overflows (below ~3e-39) is 0 in effect.
  const float inv_t = 1.0f / cfg.temperature;
  if (cfg.temperature == 0.0f || !std::isfinite(inv_t) || cfg.top_k == 1) {  // the argmax (first maximum, as greedy)
    tokens.push_back(static_cast<std::int32_t>(top));
    probs.push_back(1.0f);
    return;
  }
  // weights exp((lp - max) / T): the max weighs 1, nothing overflows
  const float mx = log_probs[top];
  auto weight = [&](std::size_t v) { return std::exp((log_probs[v] - mx) * inv_t); };
  const std::size_t k = cfg.top_k > 0 ? std::min(cfg.top_k, V) : V;
  if (k == V && cfg.top_p >= 1.0f) {  // no truncation: every token in id order
    double total = 0.0;
    for (std::size_t v = 0; v < V; ++v) {
      tokens.push_back(static_cast<std::int32_t>(v));
      probs.push_back(weight(v));
      total += probs.back();
    }
    for (float& p : probs) p = static_cast<float>(p / total);
    return;
  }
  // Most probable first, ties to the lower id; only the first k need to be in order.
  auto& order = scratch.order;
  order.resize(V);
  std::iota(order.begin(), order.end(), 0);
  auto more_probable = [&](std::int32_t a, std::int32_t b) {
    return log_probs[a] > log_probs[b] || (log_probs[a] == log_probs[b] && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), more_probable);
  double total = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    tokens.push_back(order[i]);
    probs.push_back(weight(static_cast<std::size_t>(order[i])));
    total += probs.back();
  }
  // top-p: the shortest prefix whose (renormalised) mass reaches p
  std::size_t n = k;
  if (cfg.top_p < 1.0f) {
    const double target = static_cast<double>(cfg.top_p) * total;
    double mass = 0.0;
    for (n = 0; n < k;) {
      mass += probs[n++];
      if (mass >= target) break;
    }
    tokens.resize(n);
    probs.resize(n);
    total = mass;
  }
  for (float& p : probs) p = static_cast<float>(p / total);
}

std::int32_t pick_token(const std::vector<std::int32_t>& tokens, const std::vector<float>& probs, double u) {
  if (tokens.empty()) throw error("sampling: nothing to sample from");
  double cum = 0.0;
  std::size_t last_possible = 0;  // never return a token of probability 0
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!(probs[i] > 0.0f)) continue;  // 0, or NaN
    cum += probs[i];
    last_possible = i;
    if (u < cum) return tokens[i];
  }
  return tokens[last_possible];
}

std::vector<std::vector<std::int32_t>> sample_decode(model& m, tape& t, const batch& b, std::size_t max_len,
                                                     const sampling_config& cfg,
                                                     const std::vector<std::uint64_t>& streams,
                                                     std::int32_t start_token,
                                                     std::vector<soft_alignment>* alignments) {
  if (streams.size() != b.size) throw error("sampling: one random stream per batch item is needed");
  std::vector<std::vector<std::int32_t>> out(b.size);
  if (alignments) alignments->assign(b.size, {});
  if (max_len == 0 || b.size == 0) return out;
  no_grad off(t);
  t.reset();
  m.expect_decoding(1, max_len);
  m.start_decoding(t, b);
  std::vector<rng> gens;
  for (std::uint64_t s : streams) gens.push_back(sampling_stream(cfg.seed, s));
  running_items running(b.size, start_token);
  std::vector<std::int32_t> tokens;
  std::vector<float> probs;
  sampling_scratch scratch;
  for (std::size_t step = 0; step < max_len && !running.empty(); ++step) {
    // the model keeps its caches outside the tape
    t.reset();
    matrix lp = m.decode_step(t, running.last_tokens());  // [rows, V]
    forbid_unproducible(lp);
    const std::size_t V = cols(lp);
    if (alignments) record_step_alignment(m, b, running, *alignments);
    for (std::size_t r = 0; r < running.rows(); ++r) {
      const std::size_t i = running.item(r);
      sampling_distribution(lp.data() + r * V, V, cfg, tokens, probs, scratch);
      std::int32_t token = pick_token(tokens, probs, uniform01(gens[i]));
      // only a row without any finite producible score (a broken model) leaves nothing else to pick
      if (is_unproducible(token)) token = best_producible(lp.data() + r * V, V);
      running.pick(r, token, out);
    }
    running.end_step(m);
  }
  return out;
}

}  // namespace attn
