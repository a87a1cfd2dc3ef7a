#pragma once
// Corpus BLEU exactly as sacrebleu 2.x computes it by default (BLEU(): tokenize="13a",
// smooth_method="exp", max_ngram_order=4, case-sensitive, effective_order off):
//   1. each line is (optionally lowercased,) right-stripped and tokenized by tokenize_13a;
//   2. per line, n-gram counts for n = 1..4 are clipped by the reference's counts (with several
//      references: the largest count of that n-gram in any one reference) and summed over the
//      corpus, as are the hypothesis length c and the reference length r (with several
//      references: the one closest to the hypothesis length, the shorter on a tie);
//   3. BLEU = BP * exp(mean over n of log p_n), BP = exp(1 - r/c) if c < r else 1 (0 if c = 0),
//      p_n = correct_n / total_n; an order with no match gets 1 / (2^k * total_n), k counting
//      such orders (mteval's "exp" smoothing); no match at any order gives 0, and so does an
//      order with no hypothesis n-gram at all (sacrebleu stops there, leaving p = 0).
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

constexpr std::size_t bleu_max_order = 4;

// mteval-v13a.pl's tokenization as sacrebleu's Tokenizer13a does it: removes "<skipped>",
// unescapes &quot; &amp; &lt; &gt; (in that order), separates punctuation and symbols, periods
// and commas except next to digits ("3.14", "1,000" stay) and a dash after a digit, then
// collapses whitespace. "Hello, world." -> "Hello , world ."
std::string tokenize_13a(std::string_view line);

struct bleu_options {
  bool lowercase = false;  // lowercase hypotheses and references first
};

// Sufficient statistics of one line or, summed, of a corpus.
struct bleu_stats {
  std::size_t hyp_len = 0, ref_len = 0;               // tokens
  std::array<std::size_t, bleu_max_order> correct{};  // clipped matches per order
  std::array<std::size_t, bleu_max_order> total{};    // hypothesis n-grams per order
  bleu_stats& operator+=(const bleu_stats& o);
};

struct bleu_score {
  double score = 0;                                 // 0..100
  std::array<double, bleu_max_order> precisions{};  // percent, smoothed (0 past a missing order)
  double bp = 0;                                    // brevity penalty
  double ratio = 0;                                 // hyp_len / ref_len (0 when ref_len = 0)
  bleu_stats stats;
};

// Statistics of one line: hyp against its references (at least one), lines as given
// (no lowercasing; tokenized here).
bleu_stats bleu_line_stats(std::string_view hyp, const std::vector<std::string_view>& refs);

// The score from corpus statistics (sacrebleu's BLEU.compute_bleu with smooth_method="exp").
bleu_score compute_bleu(const bleu_stats& s);

// hyps[i] is scored against refs[k][i] for every reference stream k. An empty reference line is
// left out (that line has fewer references); a line whose references are all empty throws
// attn::error, as sacrebleu does.
bleu_score corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                       const bleu_options& opts = {});

// sacrebleu's text line:
// "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
std::string format_bleu(const bleu_score& b);

}  // namespace attn
