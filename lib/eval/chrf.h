#pragma once
// Corpus chrF exactly as sacrebleu 2.x computes it by default (CHRF(): char_order=6,
// word_order=0, beta=2, whitespace=False, eps_smoothing=False), printed as "chrF2":
//   1. whitespace is removed from each line and its character (code point) n-grams counted,
//      n = 1..6;
//   2. per order the line contributes [hypothesis n-grams, reference n-grams, matches] with
//      matches = sum of min(hyp count, ref count); the hypothesis count is taken as 0 when the
//      reference has no n-gram of that order. With several references the line uses the one
//      whose own chrF is highest (the first on a tie). The triples are summed over the corpus;
//   3. precision and recall are averaged over the orders where both counts are > 0, and
//      chrF = 100 * (1 + beta^2) P R / (beta^2 P + R) (0 when P + R = 0).
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

constexpr std::size_t chrf_char_order = 6;
constexpr int chrf_beta = 2;

struct chrf_options {
  bool lowercase = false;
};

// Per order n = 1..6: hypothesis n-grams, reference n-grams, matches (counts[3 * (n - 1) + k]).
struct chrf_stats {
  std::array<std::size_t, 3 * chrf_char_order> counts{};
  chrf_stats& operator+=(const chrf_stats& o);
};

// Statistics of one line against the best of its references (at least one).
chrf_stats chrf_line_stats(std::string_view hyp, const std::vector<std::string_view>& refs);

// chrF (0..100) from statistics.
double chrf_score(const chrf_stats& s);

// Parallel reference streams as for corpus_bleu (empty reference lines left out).
double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                   const chrf_options& opts = {});

// sacrebleu's text line: "chrF2 = 59.73".
std::string format_chrf(double score);

}  // namespace attn
