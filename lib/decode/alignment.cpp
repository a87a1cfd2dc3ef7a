#include "decode/alignment.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"

namespace attn {

alignment_kind parse_alignment_kind(const std::string& name) {
  if (name == "hard") return alignment_kind::hard;
  if (name == "soft") return alignment_kind::soft;
  throw error("unknown alignment '" + name + "' (choose hard or soft)");
}

// w [rows*H, S], row r*H + h -> mean over h of row r, first src_len columns [src_len]
std::vector<float> head_mean(const matrix& w, std::size_t rows, std::size_t row, std::size_t src_len) {
  const std::size_t n = attn::rows(w), S = cols(w);
  if (rows == 0 || n == 0 || n % rows != 0 || row >= rows || src_len > S)
    throw error("alignment: step attention of shape [" + std::to_string(n) + ", " + std::to_string(S) +
                "] does not fit " + std::to_string(rows) + " rows of " + std::to_string(src_len) + " source positions");
  const std::size_t H = n / rows;
  std::vector<float> mean(src_len, 0.0f);
  for (std::size_t h = 0; h < H; ++h) {
    const float* head = w.data() + (row * H + h) * S;
    for (std::size_t s = 0; s < src_len; ++s) mean[s] += head[s];
  }
  for (float& x : mean) x /= static_cast<float>(H);
  return mean;
}

std::size_t source_length(const batch& b, std::size_t i) {
  return b.src_lengths.empty() ? b.src_len : static_cast<std::size_t>(b.src_lengths.at(i));
}

void record_step_alignment(const model& m, const batch& b, const running_items& running,
                           std::vector<soft_alignment>& out) {
  const matrix& w = m.step_attention();
  for (std::size_t r = 0; r < running.rows(); ++r) {
    const std::size_t item = running.item(r);
    out.at(item).push_back(head_mean(w, running.rows(), r, source_length(b, item)));
  }
}

std::vector<std::pair<std::size_t, std::size_t>> hard_alignment(const soft_alignment& a) {
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (std::size_t t = 0; t < a.size(); ++t) {
    if (a[t].empty()) continue;                                    // no source position to point at
    const auto best = std::max_element(a[t].begin(), a[t].end());  // the first maximum
    pairs.emplace_back(static_cast<std::size_t>(best - a[t].begin()), t);
  }
  std::sort(pairs.begin(), pairs.end());  // by source, then target position (Marian's order)
  return pairs;
}

std::string hard_alignment_text(const soft_alignment& a) {
  std::string out;
  for (const auto& [src, tgt] : hard_alignment(a)) {
    if (!out.empty()) out += ' ';
    out += std::to_string(src) + '-' + std::to_string(tgt);
  }
  return out;
}

std::string soft_alignment_text(const soft_alignment& a) {
  std::string out;
  char number[32];
  for (std::size_t t = 0; t < a.size(); ++t) {
    if (t > 0) out += ' ';
    for (std::size_t s = 0; s < a[t].size(); ++s) {
      if (s > 0) out += ',';
      std::snprintf(number, sizeof number, "%.6g", static_cast<double>(a[t][s]));  // as an ostream prints a float
      out += number;
    }
  }
  return out;
}

std::string alignment_text(alignment_kind kind, const soft_alignment& a) {
  switch (kind) {
    case alignment_kind::none:
      return "";
    case alignment_kind::hard:
      return hard_alignment_text(a);
    case alignment_kind::soft:
      return soft_alignment_text(a);
  }
  return "";
}

}  // namespace attn
