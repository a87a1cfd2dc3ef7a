#include "eval/chrf.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "core/error.h"
#include "eval/text.h"
#include "text/utf8.h"

namespace attn {

namespace {

// Character n-gram counts of one line, keyed by the n-gram's bytes (views into `text`).
struct char_ngrams {
  std::string text;  // the line without whitespace
  std::array<std::unordered_map<std::string_view, std::size_t>, chrf_char_order> counts;
};

void extract(std::string_view line, char_ngrams& g) {
  g.text = remove_space(line);
  std::vector<std::size_t> starts;  // byte offset of every code point, then the end
  const char* p = g.text.data();
  const char* end = p + g.text.size();
  while (p < end) {
    starts.push_back(static_cast<std::size_t>(p - g.text.data()));
    uint32_t cp;
    p += utf8_decode(p, end, cp);
  }
  starts.push_back(g.text.size());
  const std::size_t chars = starts.size() - 1;
  const std::string_view text(g.text);
  for (std::size_t n = 1; n <= chrf_char_order; ++n)
    for (std::size_t i = 0; i + n <= chars; ++i) ++g.counts[n - 1][text.substr(starts[i], starts[i + n] - starts[i])];
}

chrf_stats match(const char_ngrams& hyp, const char_ngrams& ref) {
  chrf_stats s;
  for (std::size_t n = 0; n < chrf_char_order; ++n) {
    std::size_t hyp_count = 0, ref_count = 0, matches = 0;
    for (const auto& [gram, c] : hyp.counts[n]) {
      hyp_count += c;
      const auto it = ref.counts[n].find(gram);
      if (it != ref.counts[n].end()) matches += std::min(c, it->second);
    }
    for (const auto& [gram, c] : ref.counts[n]) ref_count += c;
    s.counts[3 * n] = ref.counts[n].empty() ? 0 : hyp_count;  // as sacrebleu: no reference n-grams, no hits
    s.counts[3 * n + 1] = ref_count;
    s.counts[3 * n + 2] = matches;
  }
  return s;
}

}  // namespace

chrf_stats& chrf_stats::operator+=(const chrf_stats& o) {
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  return *this;
}

double chrf_score(const chrf_stats& s) {
  const double factor = static_cast<double>(chrf_beta * chrf_beta);
  double avg_prec = 0, avg_rec = 0;
  int effective_order = 0;
  for (std::size_t n = 0; n < chrf_char_order; ++n) {
    const std::size_t n_hyp = s.counts[3 * n], n_ref = s.counts[3 * n + 1], n_match = s.counts[3 * n + 2];
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += static_cast<double>(n_match) / static_cast<double>(n_hyp);
      avg_rec += static_cast<double>(n_match) / static_cast<double>(n_ref);
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  avg_prec /= effective_order;
  avg_rec /= effective_order;
  if (avg_prec + avg_rec == 0.0) return 0.0;
  double score = (1 + factor) * avg_prec * avg_rec;
  score /= factor * avg_prec + avg_rec;
  return 100 * score;
}

chrf_stats chrf_line_stats(std::string_view hyp, const std::vector<std::string_view>& refs) {
  if (refs.empty()) throw error("chrF needs at least one reference per line");
  char_ngrams h;
  extract(hyp, h);
  chrf_stats best;
  double best_f = -1.0;
  for (const std::string_view ref : refs) {
    char_ngrams r;  // fresh: its maps hold views into its own text
    extract(ref, r);
    const chrf_stats s = match(h, r);
    const double f = chrf_score(s);
    if (f > best_f) {
      best_f = f;
      best = s;
    }
  }
  return best;
}

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                   const chrf_options& opts) {
  if (refs.empty()) throw error("chrF needs at least one reference stream");
  chrf_stats total;
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    const std::vector<std::string_view> line_refs = line_references(refs, i);
    if (!opts.lowercase) {
      total += chrf_line_stats(hyps[i], line_refs);
      continue;
    }
    std::vector<std::string> lowered;
    for (const auto r : line_refs) lowered.push_back(lowercase(r));
    total += chrf_line_stats(lowercase(hyps[i]), std::vector<std::string_view>(lowered.begin(), lowered.end()));
  }
  return chrf_score(total);
}

std::string format_chrf(double score) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "chrF%d = %.2f", chrf_beta, score);
  return buf;
}

}  // namespace attn
