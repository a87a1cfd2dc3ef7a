#include "eval/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "core/error.h"
#include "eval/text.h"

namespace attn {

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  std::size_t start = 0, at;
  while ((at = s.find(from, start)) != std::string::npos) {
    out.append(s, start, at - start);
    out.append(to);
    start = at + from.size();
  }
  if (start == 0) return;
  out.append(s, start, std::string::npos);
  s.swap(out);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_period_or_comma(char c) {
  return c == '.' || c == ',';
}

// The class [\{-\~\[-\` -\&\(-\+\:-\@\/] of the first 13a regex: ASCII symbols and space,
// without the apostrophe, period, comma and hyphen (handled by the other rules or kept).
bool is_13a_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

// One pass of re.sub with a two-character pattern `(a)(b)` and the replacement "\1 \2 " (or,
// with `lead`, " \1 \2"): scans left to right and continues behind a match (matches never
// overlap), as Python's re.sub does. The rules only test ASCII bytes, and a UTF-8 continuation
// byte is never a digit, period or comma, so bytes give the same result as Python's code points.
template <typename Match>
std::string sub_pairs(const std::string& s, bool lead, Match match) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  std::size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      if (lead) out.push_back(' ');
      out.append({s[i], ' ', s[i + 1]});
      if (!lead) out.push_back(' ');
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

using ngram_counts = std::unordered_map<std::string, std::size_t>;

// Counts of all n-grams (n = 1..4, keyed by their tokens joined with spaces) of tokenized text;
// returns the token count.
std::size_t count_ngrams(const std::string& tokenized, std::array<ngram_counts, bleu_max_order>& counts) {
  const std::vector<std::string_view> tokens = split_space(tokenized);
  for (std::size_t n = 1; n <= bleu_max_order; ++n) {
    for (std::size_t i = 0; i + n <= tokens.size(); ++i) {
      std::string key(tokens[i]);
      for (std::size_t j = i + 1; j < i + n; ++j) key.append(" ").append(tokens[j]);
      ++counts[n - 1][key];
    }
  }
  return tokens.size();
}

}  // namespace

std::string tokenize_13a(std::string_view line) {
  std::string s(line);
  replace_all(s, "<skipped>", "");
  replace_all(s, "-\n", "");
  replace_all(s, "\n", " ");
  replace_all(s, "&quot;", "\"");
  replace_all(s, "&amp;", "&");
  replace_all(s, "&lt;", "<");
  replace_all(s, "&gt;", ">");

  // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 " on " line "
  std::string t;
  t.reserve(s.size() * 2 + 2);
  t.push_back(' ');
  for (const char c : s) {
    if (is_13a_symbol(c)) {
      t.push_back(' ');
      t.push_back(c);
      t.push_back(' ');
    } else {
      t.push_back(c);
    }
  }
  t.push_back(' ');
  // ([^0-9])([\.,]) -> "\1 \2 ": a period or comma not after a digit
  t = sub_pairs(t, false, [](char a, char b) { return !is_digit(a) && is_period_or_comma(b); });
  // ([\.,])([^0-9]) -> " \1 \2": a period or comma not before a digit
  t = sub_pairs(t, true, [](char a, char b) { return is_period_or_comma(a) && !is_digit(b); });
  // ([0-9])(-) -> "\1 \2 ": a dash after a digit
  t = sub_pairs(t, false, [](char a, char b) { return is_digit(a) && b == '-'; });

  std::string out;
  out.reserve(t.size());
  for (const std::string_view w : split_space(t)) {
    if (!out.empty()) out.push_back(' ');
    out.append(w);
  }
  return out;
}

bleu_stats& bleu_stats::operator+=(const bleu_stats& o) {
  hyp_len += o.hyp_len;
  ref_len += o.ref_len;
  for (std::size_t n = 0; n < bleu_max_order; ++n) {
    correct[n] += o.correct[n];
    total[n] += o.total[n];
  }
  return *this;
}

bleu_stats bleu_line_stats(std::string_view hyp, const std::vector<std::string_view>& refs) {
  if (refs.empty()) throw error("BLEU needs at least one reference per line");
  // Reference n-gram counts: per n-gram the largest count in any one reference.
  std::array<ngram_counts, bleu_max_order> ref_counts;
  std::vector<std::size_t> ref_lens;
  for (const std::string_view r : refs) {
    std::array<ngram_counts, bleu_max_order> one;
    ref_lens.push_back(count_ngrams(tokenize_13a(rstrip_space(r)), one));
    for (std::size_t n = 0; n < bleu_max_order; ++n)
      for (const auto& [gram, c] : one[n]) {
        std::size_t& best = ref_counts[n][gram];
        best = std::max(best, c);
      }
  }
  std::array<ngram_counts, bleu_max_order> hyp_counts;
  bleu_stats s;
  s.hyp_len = count_ngrams(tokenize_13a(rstrip_space(hyp)), hyp_counts);
  // The closest reference length; the shorter one on a tie.
  std::size_t best_diff = 0;
  for (std::size_t k = 0; k < ref_lens.size(); ++k) {
    const std::size_t r = ref_lens[k];
    const std::size_t diff = r > s.hyp_len ? r - s.hyp_len : s.hyp_len - r;
    if (k == 0 || diff < best_diff || (diff == best_diff && r < s.ref_len)) {
      best_diff = diff;
      s.ref_len = r;
    }
  }
  for (std::size_t n = 0; n < bleu_max_order; ++n)
    for (const auto& [gram, c] : hyp_counts[n]) {
      s.total[n] += c;
      const auto it = ref_counts[n].find(gram);
      if (it != ref_counts[n].end()) s.correct[n] += std::min(c, it->second);
    }
  return s;
}

bleu_score compute_bleu(const bleu_stats& s) {
  bleu_score b;
  b.stats = s;
  const auto c = static_cast<double>(s.hyp_len), r = static_cast<double>(s.ref_len);
  b.bp = s.hyp_len < s.ref_len ? (s.hyp_len > 0 ? std::exp(1.0 - r / c) : 0.0) : 1.0;
  b.ratio = s.ref_len > 0 ? c / r : 0.0;
  if (std::all_of(s.correct.begin(), s.correct.end(), [](std::size_t x) { return x == 0; })) return b;

  double smooth = 1.0;
  for (std::size_t n = 0; n < bleu_max_order; ++n) {
    if (s.total[n] == 0) break;  // no hypothesis n-grams of this order: p stays 0, so BLEU = 0
    const auto total = static_cast<double>(s.total[n]);
    if (s.correct[n] == 0) {
      smooth *= 2;
      b.precisions[n] = 100.0 / (smooth * total);
    } else {
      b.precisions[n] = 100.0 * static_cast<double>(s.correct[n]) / total;
    }
  }
  // sacrebleu's my_log: log(0) is taken as -9999999999, which makes the score 0.
  double log_sum = 0;
  for (const double p : b.precisions) log_sum += p == 0.0 ? -9999999999.0 : std::log(p);
  b.score = b.bp * std::exp(log_sum / static_cast<double>(bleu_max_order));
  return b;
}

bleu_score corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                       const bleu_options& opts) {
  if (refs.empty()) throw error("BLEU needs at least one reference stream");
  bleu_stats total;
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    std::vector<std::string_view> line_refs = line_references(refs, i);
    if (!opts.lowercase) {
      total += bleu_line_stats(hyps[i], line_refs);
      continue;
    }
    std::vector<std::string> lowered;
    lowered.reserve(line_refs.size());
    for (const auto r : line_refs) lowered.push_back(lowercase(r));
    total += bleu_line_stats(lowercase(hyps[i]), std::vector<std::string_view>(lowered.begin(), lowered.end()));
  }
  return compute_bleu(total);
}

std::string format_bleu(const bleu_score& b) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %zu ref_len = %zu)",
                b.score, b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp, b.ratio,
                b.stats.hyp_len, b.stats.ref_len);
  return buf;
}

}  // namespace attn
