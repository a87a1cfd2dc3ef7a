// The BLEU and chrF tokenizers and line statistics (eval/bleu.h, eval/chrf.h, eval/text.h).
// The payload is `hypothesis \n reference [\n reference...]`; mode & 1 lowercases first.
// Asserts, for any bytes:
//   - tokenize_13a's output is its own whitespace-normalized form (words joined by single
//     spaces, no leading or trailing space) and is valid UTF-8 when its input was. (It is not
//     idempotent, in sacrebleu either: ",.1" gives ", .1", which gives ", . 1", because the
//     period rules scan without overlapping matches.)
//   - split_space / remove_space / rstrip_space agree with each other (no word holds a space,
//     remove_space is the words joined, rstrip keeps the words); lowercase keeps the byte length;
//   - the hypothesis against itself: every BLEU n-gram matches, corpus BLEU is 100 when it has four
//     tokens or more, chrF is 100 when it has a non-space character;
//   - against the references: matches never exceed n-gram counts, BLEU and chrF lie in [0, 100].
#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/bleu.h"
#include "eval/chrf.h"
#include "eval/text.h"
#include "fuzz_common.h"
#include "text/utf8.h"

using namespace attn;

namespace {

void check_13a(std::string_view line) {
  const std::string t = tokenize_13a(line);
  std::string joined;
  for (const auto w : split_space(t)) joined += (joined.empty() ? "" : " ") + std::string(w);
  fuzz::require(joined == t, "tokenize_13a output is not whitespace-normalized");
  if (utf8_valid(line)) fuzz::require(utf8_valid(t), "tokenize_13a broke valid UTF-8");
}

void check_space(std::string_view line) {
  const auto words = split_space(line);
  std::string joined;
  for (const auto w : words) {
    fuzz::require(!w.empty(), "split_space gave an empty word");
    fuzz::require(remove_space(w) == w, "a split_space word holds whitespace");
    joined += w;
  }
  fuzz::require(remove_space(line) == joined, "remove_space differs from the joined words");
  const std::string_view r = rstrip_space(line);
  fuzz::require(line.substr(0, r.size()) == r, "rstrip_space is not a prefix");
  fuzz::require(split_space(r) == words, "rstrip_space lost a word");
  fuzz::require(lowercase(line).size() == line.size(), "lowercase changed the byte length");
}

void check_self(const std::string& line) {
  const bleu_stats s = bleu_line_stats(line, {line});
  fuzz::require(s.hyp_len == s.ref_len, "self BLEU lengths differ");
  for (std::size_t n = 0; n < bleu_max_order; ++n)
    fuzz::require(s.correct[n] == s.total[n], "self BLEU misses an n-gram");
  if (s.hyp_len >= bleu_max_order) {
    const double b = corpus_bleu({line}, {{line}}).score;
    if (std::fabs(b - 100.0) > 1e-9) fuzz::finding("self BLEU is " + std::to_string(b) + ", not 100");
  }
  const double c = chrf_score(chrf_line_stats(line, {line}));
  if (!remove_space(line).empty() && std::fabs(c - 100.0) > 1e-9)
    fuzz::finding("self chrF is " + std::to_string(c) + ", not 100");
}

void check_pair(const std::string& hyp, const std::vector<std::string>& refs) {
  std::vector<std::string_view> views(refs.begin(), refs.end());
  const bleu_stats s = bleu_line_stats(hyp, views);
  for (std::size_t n = 0; n < bleu_max_order; ++n) fuzz::require(s.correct[n] <= s.total[n], "BLEU matches > n-grams");
  fuzz::require(s.total[0] == s.hyp_len, "BLEU unigrams != hypothesis length");
  const bleu_score b = compute_bleu(s);
  fuzz::require(b.score >= 0 && b.score <= 100 + 1e-9, "BLEU outside [0, 100]");
  const chrf_stats c = chrf_line_stats(hyp, views);
  for (std::size_t n = 0; n < chrf_char_order; ++n)
    fuzz::require(c.counts[3 * n + 2] <= std::min(c.counts[3 * n], c.counts[3 * n + 1]) || c.counts[3 * n] == 0,
                  "chrF matches > n-grams");
  const double f = chrf_score(c);
  fuzz::require(f >= 0 && f <= 100 + 1e-9, "chrF outside [0, 100]");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fuzz::input in = fuzz::split_input(data, size);
  std::vector<std::string> lines;
  std::string_view rest = in.payload;
  for (;;) {
    const std::size_t nl = rest.find('\n');
    lines.emplace_back(rest.substr(0, nl));
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  if (in.mode & 1)
    for (auto& l : lines) l = lowercase(l);
  try {
    for (const auto& l : lines) {
      check_13a(l);
      check_space(l);
    }
    check_self(lines[0]);  // the costly checks once per input: more inputs per second
    std::vector<std::string> refs(lines.begin() + 1, lines.end());
    if (!refs.empty()) check_pair(lines[0], refs);
    // The corpus functions with the lines as references, empty ones left out (all empty: error).
    try {
      corpus_bleu({lines[0]}, {{lines.back()}});
      corpus_chrf({lines[0]}, {{lines.back()}});
    } catch (const attn::error&) {
    }
  } catch (const std::exception& e) {
    fuzz::finding(fuzz::unexpected("eval", e));
  }
  return 0;
}
